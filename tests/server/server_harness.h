// Integration-test harness: the real sagaflowd as a child process (port 0, a
// temp data dir), gRPC stubs to it, and the real `sagaflow` CLI.
#ifndef SAGAFLOW_TESTS_SERVER_SERVER_HARNESS_H_
#define SAGAFLOW_TESTS_SERVER_SERVER_HARNESS_H_

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <sys/types.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sagaflow/v1/worker_service.grpc.pb.h"
#include "sagaflow/v1/workflow_service.grpc.pb.h"

namespace sagaflow::testing {

std::string BinDir();
std::string SourceDir();

// A child process (stdout and stderr to files) that is SIGTERMed, then
// SIGKILLed if need be, when it goes out of scope.
class ChildProcess {
 public:
  ChildProcess(const std::string& program, std::vector<std::string> args,
               const std::string& log_file);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  pid_t pid() const { return pid_; }
  // SIGTERM; the exit status (WEXITSTATUS), or -1.
  int Terminate(std::chrono::milliseconds timeout = std::chrono::seconds(20));

 private:
  pid_t pid_ = -1;
};

// A sagaflowd child process over one data directory, which outlives restarts.
class ServerProcess {
 public:
  explicit ServerProcess(std::vector<std::string> extra_flags = {});
  ~ServerProcess();  // SIGKILLs a running server and removes the data dir.

  // Starts sagaflowd and waits until it serves (its port file appears). The
  // first start takes a free port; a restart reuses it.
  void Start();
  // kill -9, and waits for the process to be gone.
  void Kill9();
  // SIGTERM; returns the exit status (as from waitpid's WEXITSTATUS), or -1
  // when it died of a signal or did not exit within `timeout`.
  int Terminate(std::chrono::milliseconds timeout = std::chrono::seconds(30));
  bool Running() const { return pid_ > 0; }

  const std::string& address() const { return address_; }
  const std::string& data_dir() const { return data_dir_; }
  pid_t pid() const { return pid_; }
  // The server's stderr (its log) so far.
  std::string Log() const;

  std::shared_ptr<grpc::Channel> channel() const { return channel_; }
  v1::WorkflowService::Stub& workflows() { return *workflows_; }
  v1::WorkerService::Stub& workers() { return *workers_; }

 private:
  std::vector<std::string> extra_flags_;
  std::string dir_;
  std::string data_dir_;
  std::string port_file_;
  std::string log_file_;
  pid_t pid_ = -1;
  std::string address_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::WorkflowService::Stub> workflows_;
  std::unique_ptr<v1::WorkerService::Stub> workers_;
};

// The bytes of a gRPC message buffer (empty if it holds none): raw-bytes
// calls through grpc::GenericStub need no generated code.
std::string BufferBytes(const grpc::ByteBuffer& buffer);

struct CliResult {
  int code = -1;
  std::string out;
  std::string err;
};

// Runs build/bin/sagaflow with `args` against `server` and waits for it.
CliResult RunCli(const std::string& server, std::vector<std::string> args,
                 std::chrono::milliseconds timeout = std::chrono::seconds(60));

// A context with a deadline `timeout` from now.
std::unique_ptr<grpc::ClientContext> Context(
    std::chrono::milliseconds timeout = std::chrono::seconds(30));

// Polls `condition` (real time) until it holds or `timeout` passes.
bool Eventually(const std::function<bool()>& condition,
                std::chrono::milliseconds timeout = std::chrono::seconds(30));

// --- Typed helpers over the stubs; each EXPECTs success unless it returns a
// status.
std::string Register(ServerProcess& server, const std::string& definition);
std::string Start(ServerProcess& server, const std::string& workflow,
                  const std::string& input_json = "{}",
                  const std::string& run_id = "");
v1::Run GetRun(ServerProcess& server, const std::string& run_id);
std::vector<v1::HistoryEvent> History(ServerProcess& server,
                                      const std::string& run_id);
std::vector<std::string> EventTypes(
    const std::vector<v1::HistoryEvent>& events);
// Waits until the run is neither RUNNING nor COMPENSATING; returns it.
v1::Run AwaitStopped(
    ServerProcess& server, const std::string& run_id,
    std::chrono::milliseconds timeout = std::chrono::seconds(30));
// One long poll; nullopt when it came back empty.
std::optional<v1::PollTaskResponse> Poll(
    ServerProcess& server, const std::vector<std::string>& activities,
    std::chrono::milliseconds wait = std::chrono::seconds(10));
grpc::Status Complete(ServerProcess& server, const std::string& token,
                      const std::string& output_json = "{}");
grpc::Status Fail(ServerProcess& server, const std::string& token,
                  const std::string& error, bool non_retryable = false);

std::string StatusName(v1::RunStatus status);
std::string EventName(v1::EventType type);

}  // namespace sagaflow::testing

#endif  // SAGAFLOW_TESTS_SERVER_SERVER_HARNESS_H_
