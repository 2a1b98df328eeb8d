// The CLI's connection to sagaflowd: one gRPC channel and the WorkflowService
// and ScheduleService calls, each with a deadline, each failure mapped to a
// one-line message and an exit code (CONTRACT.md §3). gRPC itself stays inside
// client.cc; callers see only the protobuf messages.
#ifndef SAGAFLOW_CLI_CLIENT_H_
#define SAGAFLOW_CLI_CLIENT_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "cli/cli.h"
#include "common/result.h"
#include "common/time.h"
#include "sagaflow/v1/schedule_service.pb.h"
#include "sagaflow/v1/workflow_service.pb.h"

namespace sagaflow::cli {

namespace v1 = ::sagaflow::v1;

struct ClientOptions {
  std::string address = "127.0.0.1:7600";
  // How long a call waits for a connection before the server counts as
  // unreachable. A refused connection fails at once.
  Duration connect_timeout = std::chrono::seconds(5);
  // Deadline of each unary call.
  Duration call_timeout = std::chrono::seconds(30);
};

// A failed call, already put in the user's terms.
struct CallError {
  enum class Kind {
    kUnreachable,  // No connection, or it broke: worth retrying later.
    kTimeout,      // The deadline passed with the server connected.
    kRejected,     // The server answered with an error.
  };
  Kind kind = Kind::kRejected;
  ExitCode exit_code = kExitFailed;
  // Without an "error: " prefix; several lines for INVALID_ARGUMENT, which
  // lists every validation error.
  std::string message;
  // The server answered NOT_FOUND (a workflow, run or schedule that does not
  // exist).
  bool not_found = false;
  // The server answered FAILED_PRECONDITION (the wrong state, or a schedule
  // that changed since it was read).
  bool failed_precondition = false;

  bool unreachable() const { return kind == Kind::kUnreachable; }
};

template <typename T>
using CallResult = Result<T, CallError>;

// How a WatchRun stream ended without an error: the run stopped.
struct WatchEnded {};

class Client {
 public:
  explicit Client(ClientOptions options);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  const std::string& address() const { return options_.address; }

  CallResult<v1::RegisterWorkflowResponse> RegisterWorkflow(
      const v1::RegisterWorkflowRequest& request);
  CallResult<v1::WorkflowInfo> GetWorkflow(
      const v1::GetWorkflowRequest& request);
  CallResult<v1::ListWorkflowsResponse> ListWorkflows(
      const v1::ListWorkflowsRequest& request);
  CallResult<v1::StartRunResponse> StartRun(const v1::StartRunRequest& request);
  CallResult<v1::Run> GetRun(const v1::GetRunRequest& request);
  CallResult<v1::ListRunsResponse> ListRuns(const v1::ListRunsRequest& request);
  CallResult<v1::GetHistoryResponse> GetHistory(
      const v1::GetHistoryRequest& request);
  CallResult<v1::SignalRunResponse> SignalRun(
      const v1::SignalRunRequest& request);
  CallResult<v1::CancelRunResponse> CancelRun(
      const v1::CancelRunRequest& request);
  CallResult<v1::ResumeRunResponse> ResumeRun(
      const v1::ResumeRunRequest& request);

  // ScheduleService.
  CallResult<v1::Schedule> CreateSchedule(
      const v1::CreateScheduleRequest& request);
  CallResult<v1::Schedule> GetSchedule(const v1::GetScheduleRequest& request);
  CallResult<v1::ListSchedulesResponse> ListSchedules(
      const v1::ListSchedulesRequest& request);
  CallResult<v1::Schedule> UpdateSchedule(
      const v1::UpdateScheduleRequest& request);
  CallResult<v1::Schedule> PauseSchedule(
      const v1::PauseScheduleRequest& request);
  CallResult<v1::Schedule> UnpauseSchedule(
      const v1::UnpauseScheduleRequest& request);
  CallResult<v1::DeleteScheduleResponse> DeleteSchedule(
      const v1::DeleteScheduleRequest& request);
  CallResult<v1::TriggerScheduleResponse> TriggerSchedule(
      const v1::TriggerScheduleRequest& request);

  // Streams the run's events with seq > request.after_seq to `on_event` until
  // the server ends the stream (the run stopped) or it fails. A stream that
  // broke (the server restarted) fails as kUnreachable; one still open at
  // `deadline` fails as kTimeout. No deadline: waits as long as the run runs.
  CallResult<WatchEnded> WatchRun(
      const v1::WatchRunRequest& request,
      const std::function<void(const v1::HistoryEvent&)>& on_event,
      std::optional<TimePoint> deadline);

 private:
  struct Impl;
  ClientOptions options_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sagaflow::cli

#endif  // SAGAFLOW_CLI_CLIENT_H_
