#include "cli/client.h"

#include <grpc/support/log.h>
#include <grpcpp/grpcpp.h>

#include <cstdlib>
#include <mutex>
#include <string_view>

#include "sagaflow/v1/schedule_service.grpc.pb.h"
#include "sagaflow/v1/workflow_service.grpc.pb.h"

namespace sagaflow::cli {
namespace {

// Replies as large as a run's whole history (50,000 events) must fit.
constexpr int kMaxMessageBytes = 64 << 20;

// gRPC logs connection failures to stderr on its own; the CLI reports them
// once, in its own words. GRPC_VERBOSITY set by the user keeps gRPC's logging.
void SilenceGrpcLogging() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (std::getenv("GRPC_VERBOSITY") == nullptr)
      gpr_set_log_function([](gpr_log_func_args*) {});
  });
}

std::string FirstLine(std::string_view text) {
  const size_t end = text.find('\n');
  return std::string(text.substr(0, end));
}

// gRPC's transport messages chain their causes ("failed to connect to all
// addresses; last error: UNKNOWN: ipv4:127.0.0.1:1: Failed to connect to
// remote host: Connection refused"); the last one is what a user needs.
std::string TransportReason(const std::string& message) {
  std::string reason = FirstLine(message);
  const size_t colon = reason.rfind(": ");
  if (colon != std::string::npos) reason = reason.substr(colon + 2);
  if (reason.empty()) reason = "unavailable";
  if (reason.size() > 200) reason.resize(200);
  return reason;
}

CallError Unreachable(const std::string& address, const std::string& reason) {
  return {
      CallError::Kind::kUnreachable, kExitUnreachable,
      "cannot reach the sagaflow server at " + address + " (" + reason + ")"};
}

// The plain word for a code, for a server error that came without a message.
std::string_view CodeWords(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::INVALID_ARGUMENT:
      return "invalid argument";
    case grpc::StatusCode::NOT_FOUND:
      return "not found";
    case grpc::StatusCode::ALREADY_EXISTS:
      return "already exists";
    case grpc::StatusCode::FAILED_PRECONDITION:
      return "not possible in the current state";
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return "a limit was reached";
    case grpc::StatusCode::PERMISSION_DENIED:
    case grpc::StatusCode::UNAUTHENTICATED:
      return "permission denied";
    default:
      return "the server failed";
  }
}

// A stream that ends with one of these broke under us (the server stopped or
// restarted) rather than being refused: the watch reconnects.
bool BrokeMidStream(const grpc::Status& status) {
  switch (status.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::CANCELLED:  // The CLI never cancels its own calls.
    case grpc::StatusCode::ABORTED:
      return true;
    case grpc::StatusCode::UNKNOWN:
    case grpc::StatusCode::INTERNAL: {
      const std::string& m = status.error_message();
      return m.find("Stream removed") != std::string::npos ||
             m.find("RST_STREAM") != std::string::npos ||
             m.find("Socket closed") != std::string::npos;
    }
    default:
      return false;
  }
}

CallError MapStatus(const grpc::Status& status, const ClientOptions& options,
                    bool streaming) {
  const grpc::StatusCode code = status.error_code();
  const std::string& message = status.error_message();
  if (code == grpc::StatusCode::UNAVAILABLE ||
      (streaming && BrokeMidStream(status))) {
    return Unreachable(options.address, TransportReason(message));
  }
  if (code == grpc::StatusCode::DEADLINE_EXCEEDED) {
    return {CallError::Kind::kTimeout, kExitFailed,
            streaming ? "gave up waiting"
                      : "the server did not answer within " +
                            FormatDuration(options.call_timeout)};
  }
  if (code == grpc::StatusCode::UNIMPLEMENTED) {
    return {CallError::Kind::kRejected, kExitFailed,
            "the server at " + options.address +
                " does not support this command (is it an older sagaflowd?)"};
  }
  std::string text = message;
  while (!text.empty() && (text.back() == '\n' || text.back() == ' '))
    text.pop_back();
  if (text.empty()) text = std::string(CodeWords(code));
  return {CallError::Kind::kRejected,
          code == grpc::StatusCode::INVALID_ARGUMENT ? kExitUsage : kExitFailed,
          std::move(text), code == grpc::StatusCode::NOT_FOUND,
          code == grpc::StatusCode::FAILED_PRECONDITION};
}

}  // namespace

struct Client::Impl {
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<v1::WorkflowService::Stub> stub;
  std::unique_ptr<v1::ScheduleService::Stub> schedules;

  // Waits until the channel is connected or has failed to connect. A failed
  // channel is fine to call: the call fails at once with UNAVAILABLE and
  // gRPC's reason. Only a connection attempt with no answer at all (a
  // firewalled address) needs the timeout here, which is far shorter than
  // gRPC's own 20 s.
  std::optional<CallError> AwaitConnection(const ClientOptions& options) {
    const auto deadline =
        std::chrono::system_clock::now() + options.connect_timeout;
    grpc_connectivity_state state = channel->GetState(true);
    while (state != GRPC_CHANNEL_READY &&
           state != GRPC_CHANNEL_TRANSIENT_FAILURE &&
           state != GRPC_CHANNEL_SHUTDOWN) {
      if (!channel->WaitForStateChange(state, deadline)) {
        return Unreachable(
            options.address,
            "no answer within " + FormatDuration(options.connect_timeout));
      }
      state = channel->GetState(true);
    }
    return std::nullopt;
  }

  template <typename Stub, typename Request, typename Response>
  using Method = grpc::Status (Stub::*)(grpc::ClientContext*, const Request&,
                                        Response*);

  template <typename Stub, typename Request, typename Response>
  CallResult<Response> Call(const ClientOptions& options, Stub& target,
                            Method<Stub, Request, Response> method,
                            const Request& request) {
    if (auto error = AwaitConnection(options)) return *std::move(error);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         options.call_timeout);
    Response response;
    const grpc::Status status = (target.*method)(&context, request, &response);
    if (!status.ok()) return MapStatus(status, options, false);
    return response;
  }

  template <typename Request, typename Response>
  CallResult<Response> Unary(
      const ClientOptions& options,
      Method<v1::WorkflowService::Stub, Request, Response> method,
      const Request& request) {
    return Call(options, *stub, method, request);
  }

  template <typename Request, typename Response>
  CallResult<Response> ScheduleCall(
      const ClientOptions& options,
      Method<v1::ScheduleService::Stub, Request, Response> method,
      const Request& request) {
    return Call(options, *schedules, method, request);
  }
};

Client::Client(ClientOptions options)
    : options_(std::move(options)), impl_(std::make_unique<Impl>()) {
  SilenceGrpcLogging();
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(kMaxMessageBytes);
  args.SetMaxSendMessageSize(kMaxMessageBytes);
  // Reconnect quickly after the server restarts (gRPC's default backoff grows
  // to two minutes), so a waiting `run start --wait` resumes promptly.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 250);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 250);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 2000);
  impl_->channel = grpc::CreateCustomChannel(
      options_.address, grpc::InsecureChannelCredentials(), args);
  impl_->stub = v1::WorkflowService::NewStub(impl_->channel);
  impl_->schedules = v1::ScheduleService::NewStub(impl_->channel);
}

Client::~Client() = default;

CallResult<v1::RegisterWorkflowResponse> Client::RegisterWorkflow(
    const v1::RegisterWorkflowRequest& request) {
  return impl_->Unary(options_, &v1::WorkflowService::Stub::RegisterWorkflow,
                      request);
}

CallResult<v1::WorkflowInfo> Client::GetWorkflow(
    const v1::GetWorkflowRequest& request) {
  return impl_->Unary(options_, &v1::WorkflowService::Stub::GetWorkflow,
                      request);
}

CallResult<v1::ListWorkflowsResponse> Client::ListWorkflows(
    const v1::ListWorkflowsRequest& request) {
  return impl_->Unary(options_, &v1::WorkflowService::Stub::ListWorkflows,
                      request);
}

CallResult<v1::StartRunResponse> Client::StartRun(
    const v1::StartRunRequest& request) {
  return impl_->Unary(options_, &v1::WorkflowService::Stub::StartRun, request);
}

CallResult<v1::Run> Client::GetRun(const v1::GetRunRequest& request) {
  return impl_->Unary(options_, &v1::WorkflowService::Stub::GetRun, request);
}

CallResult<v1::ListRunsResponse> Client::ListRuns(
    const v1::ListRunsRequest& request) {
  return impl_->Unary(options_, &v1::WorkflowService::Stub::ListRuns, request);
}

CallResult<v1::GetHistoryResponse> Client::GetHistory(
    const v1::GetHistoryRequest& request) {
  return impl_->Unary(options_, &v1::WorkflowService::Stub::GetHistory,
                      request);
}

CallResult<v1::SignalRunResponse> Client::SignalRun(
    const v1::SignalRunRequest& request) {
  return impl_->Unary(options_, &v1::WorkflowService::Stub::SignalRun, request);
}

CallResult<v1::CancelRunResponse> Client::CancelRun(
    const v1::CancelRunRequest& request) {
  return impl_->Unary(options_, &v1::WorkflowService::Stub::CancelRun, request);
}

CallResult<v1::ResumeRunResponse> Client::ResumeRun(
    const v1::ResumeRunRequest& request) {
  return impl_->Unary(options_, &v1::WorkflowService::Stub::ResumeRun, request);
}

CallResult<v1::Schedule> Client::CreateSchedule(
    const v1::CreateScheduleRequest& request) {
  return impl_->ScheduleCall(
      options_, &v1::ScheduleService::Stub::CreateSchedule, request);
}

CallResult<v1::Schedule> Client::GetSchedule(
    const v1::GetScheduleRequest& request) {
  return impl_->ScheduleCall(options_, &v1::ScheduleService::Stub::GetSchedule,
                             request);
}

CallResult<v1::ListSchedulesResponse> Client::ListSchedules(
    const v1::ListSchedulesRequest& request) {
  return impl_->ScheduleCall(
      options_, &v1::ScheduleService::Stub::ListSchedules, request);
}

CallResult<v1::Schedule> Client::UpdateSchedule(
    const v1::UpdateScheduleRequest& request) {
  return impl_->ScheduleCall(
      options_, &v1::ScheduleService::Stub::UpdateSchedule, request);
}

CallResult<v1::Schedule> Client::PauseSchedule(
    const v1::PauseScheduleRequest& request) {
  return impl_->ScheduleCall(
      options_, &v1::ScheduleService::Stub::PauseSchedule, request);
}

CallResult<v1::Schedule> Client::UnpauseSchedule(
    const v1::UnpauseScheduleRequest& request) {
  return impl_->ScheduleCall(
      options_, &v1::ScheduleService::Stub::UnpauseSchedule, request);
}

CallResult<v1::DeleteScheduleResponse> Client::DeleteSchedule(
    const v1::DeleteScheduleRequest& request) {
  return impl_->ScheduleCall(
      options_, &v1::ScheduleService::Stub::DeleteSchedule, request);
}

CallResult<v1::TriggerScheduleResponse> Client::TriggerSchedule(
    const v1::TriggerScheduleRequest& request) {
  return impl_->ScheduleCall(
      options_, &v1::ScheduleService::Stub::TriggerSchedule, request);
}

CallResult<WatchEnded> Client::WatchRun(
    const v1::WatchRunRequest& request,
    const std::function<void(const v1::HistoryEvent&)>& on_event,
    std::optional<TimePoint> deadline) {
  if (auto error = impl_->AwaitConnection(options_)) return *std::move(error);
  grpc::ClientContext context;
  if (deadline) {
    context.set_deadline(
        std::chrono::time_point_cast<std::chrono::system_clock::duration>(
            *deadline));
  }
  std::unique_ptr<grpc::ClientReader<v1::HistoryEvent>> reader =
      impl_->stub->WatchRun(&context, request);
  v1::HistoryEvent event;
  while (reader->Read(&event)) on_event(event);
  const grpc::Status status = reader->Finish();
  if (!status.ok()) return MapStatus(status, options_, true);
  return WatchEnded{};
}

}  // namespace sagaflow::cli
