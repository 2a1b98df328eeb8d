// A stand-in for sagaflowd that the CLI's tests drive over real gRPC: it keeps
// workflows and runs in memory and answers like the contract says, so the
// server commands are tested without the engine. How a run goes depends on its
// workflow's name:
//   "echo"     completes at once with its input as output;
//   "declined" fails at `charge` and compensates `reserve` (COMPENSATED);
//   anything else stays RUNNING until the test appends events and a status.
// The state outlives a server, so a test can stop one and start another on
// the same port (a restart).
#ifndef SAGAFLOW_TESTS_CLI_FAKE_SERVER_H_
#define SAGAFLOW_TESTS_CLI_FAKE_SERVER_H_

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "cli/render.h"
#include "dsl/compiler.h"
#include "sagaflow/v1/workflow_service.grpc.pb.h"

namespace sagaflow::cli::testing {

struct FakeState {
  std::mutex mu;
  std::condition_variable changed;
  std::map<std::string, std::vector<v1::WorkflowInfo>> workflows;
  std::map<std::string, v1::Run> runs;
  std::map<std::string, std::vector<v1::HistoryEvent>> history;
  std::vector<v1::SignalRunRequest> signals;
  // The next WatchRun call fails with UNAVAILABLE after sending this many
  // events (then the count is reset to -1): a stream that breaks.
  int break_watch_after = -1;
  int watch_calls = 0;
  int next_run = 1;

  // Appends an event to a run's history (locks).
  void Append(const std::string& run_id, v1::EventType type,
              const std::string& step = "", uint32_t attempt = 0,
              const std::string& detail = "") {
    std::lock_guard<std::mutex> lock(mu);
    AppendLocked(run_id, type, step, attempt, detail);
  }
  void SetStatus(const std::string& run_id, v1::RunStatus status) {
    std::lock_guard<std::mutex> lock(mu);
    SetStatusLocked(run_id, status);
  }

  void AppendLocked(const std::string& run_id, v1::EventType type,
                    const std::string& step, uint32_t attempt,
                    const std::string& detail) {
    auto& events = history[run_id];
    v1::HistoryEvent& e = events.emplace_back();
    e.set_seq(events.size());
    *e.mutable_time() = Now();
    e.set_type(type);
    e.set_step(step);
    e.set_attempt(attempt);
    e.set_detail_json(detail);
    *runs[run_id].mutable_updated_at() = e.time();
    changed.notify_all();
  }
  void SetStatusLocked(const std::string& run_id, v1::RunStatus status) {
    v1::Run& run = runs[run_id];
    run.set_status(status);
    if (IsStopped(status) && status != v1::RUN_STATUS_SUSPENDED &&
        status != v1::RUN_STATUS_COMPENSATION_FAILED)
      *run.mutable_ended_at() = Now();
    changed.notify_all();
  }

  static google::protobuf::Timestamp Now() {
    const int64_t ms = ToUnixMillis(SystemClock::Default()->Now());
    google::protobuf::Timestamp ts;
    ts.set_seconds(ms / 1000);
    ts.set_nanos(static_cast<int32_t>(ms % 1000) * 1'000'000);
    return ts;
  }
};

class FakeWorkflowService final : public v1::WorkflowService::Service {
 public:
  explicit FakeWorkflowService(FakeState* state) : s_(*state) {}

  grpc::Status RegisterWorkflow(grpc::ServerContext*,
                                const v1::RegisterWorkflowRequest* request,
                                v1::RegisterWorkflowResponse* reply) override {
    auto compiled = dsl::CompileDefinition(request->definition_json());
    if (!compiled.ok()) {
      return {grpc::StatusCode::INVALID_ARGUMENT,
              "invalid workflow definition:\n" +
                  dsl::FormatErrors(compiled.error())};
    }
    const std::string name = compiled.value()->name();
    std::lock_guard<std::mutex> lock(s_.mu);
    auto& versions = s_.workflows[name];
    reply->set_name(name);
    for (const auto& w : versions) {
      if (w.definition_json() == request->definition_json()) {
        reply->set_version(w.version());
        reply->set_created(false);
        return grpc::Status::OK;
      }
    }
    v1::WorkflowInfo& w = versions.emplace_back();
    w.set_name(name);
    w.set_version(static_cast<uint32_t>(versions.size()));
    w.set_definition_json(request->definition_json());
    w.set_step_count(static_cast<uint32_t>(compiled.value()->steps().size()));
    *w.mutable_created_at() = FakeState::Now();
    reply->set_version(w.version());
    reply->set_created(true);
    return grpc::Status::OK;
  }

  grpc::Status GetWorkflow(grpc::ServerContext*,
                           const v1::GetWorkflowRequest* request,
                           v1::WorkflowInfo* reply) override {
    std::lock_guard<std::mutex> lock(s_.mu);
    auto it = s_.workflows.find(request->name());
    if (it == s_.workflows.end() || it->second.empty() ||
        request->version() > it->second.size()) {
      return {grpc::StatusCode::NOT_FOUND,
              "workflow \"" + request->name() + "\" not found"};
    }
    *reply = request->version() == 0 ? it->second.back()
                                     : it->second[request->version() - 1];
    return grpc::Status::OK;
  }

  grpc::Status ListWorkflows(grpc::ServerContext*,
                             const v1::ListWorkflowsRequest*,
                             v1::ListWorkflowsResponse* reply) override {
    std::lock_guard<std::mutex> lock(s_.mu);
    for (const auto& [name, versions] : s_.workflows) {
      *reply->add_workflows() = versions.back();
      reply->mutable_workflows()->rbegin()->clear_definition_json();
    }
    return grpc::Status::OK;
  }

  grpc::Status StartRun(grpc::ServerContext*,
                        const v1::StartRunRequest* request,
                        v1::StartRunResponse* reply) override {
    std::lock_guard<std::mutex> lock(s_.mu);
    const std::string id = request->run_id().empty()
                               ? "run-" + std::to_string(s_.next_run++)
                               : request->run_id();
    if (auto it = s_.runs.find(id); it != s_.runs.end()) {
      reply->set_run_id(id);
      reply->set_version(it->second.version());
      reply->set_already_started(true);
      return grpc::Status::OK;
    }
    v1::Run& run = s_.runs[id];
    run.set_run_id(id);
    run.set_workflow(request->workflow());
    run.set_version(1);
    run.set_status(v1::RUN_STATUS_RUNNING);
    run.set_input_json(request->input_json().empty() ? "{}"
                                                     : request->input_json());
    *run.mutable_created_at() = FakeState::Now();
    s_.AppendLocked(id, v1::EVENT_TYPE_RUN_STARTED, "", 0, "");
    if (request->workflow() == "echo") {
      s_.AppendLocked(id, v1::EVENT_TYPE_STEP_SCHEDULED, "echo", 1,
                      R"({"activity":"builtin.echo"})");
      s_.AppendLocked(id, v1::EVENT_TYPE_STEP_STARTED, "echo", 1, "");
      s_.AppendLocked(id, v1::EVENT_TYPE_STEP_COMPLETED, "echo", 1,
                      R"({"output":)" + run.input_json() + "}");
      s_.AppendLocked(id, v1::EVENT_TYPE_RUN_COMPLETED, "", 0, "");
      s_.runs[id].set_output_json(s_.runs[id].input_json());
      s_.SetStatusLocked(id, v1::RUN_STATUS_COMPLETED);
    } else if (request->workflow() == "declined") {
      s_.AppendLocked(id, v1::EVENT_TYPE_STEP_SCHEDULED, "reserve", 1, "");
      s_.AppendLocked(id, v1::EVENT_TYPE_STEP_COMPLETED, "reserve", 1,
                      R"({"output":{}})");
      s_.AppendLocked(id, v1::EVENT_TYPE_STEP_SCHEDULED, "charge", 1, "");
      s_.AppendLocked(id, v1::EVENT_TYPE_STEP_FAILED, "charge", 1,
                      R"({"error":"CardDeclined","message":"card declined"})");
      s_.AppendLocked(id, v1::EVENT_TYPE_COMPENSATION_STARTED, "reserve", 1,
                      "");
      s_.AppendLocked(id, v1::EVENT_TYPE_COMPENSATION_COMPLETED, "reserve", 1,
                      "");
      s_.AppendLocked(id, v1::EVENT_TYPE_RUN_COMPENSATED, "", 0, "");
      s_.runs[id].set_error("CardDeclined");
      s_.runs[id].set_error_message("card declined");
      s_.SetStatusLocked(id, v1::RUN_STATUS_COMPENSATED);
    }
    reply->set_run_id(id);
    reply->set_version(1);
    return grpc::Status::OK;
  }

  grpc::Status GetRun(grpc::ServerContext*, const v1::GetRunRequest* request,
                      v1::Run* reply) override {
    std::lock_guard<std::mutex> lock(s_.mu);
    auto it = s_.runs.find(request->run_id());
    if (it == s_.runs.end()) return NoRun(request->run_id());
    *reply = it->second;
    return grpc::Status::OK;
  }

  grpc::Status ListRuns(grpc::ServerContext*,
                        const v1::ListRunsRequest* request,
                        v1::ListRunsResponse* reply) override {
    std::lock_guard<std::mutex> lock(s_.mu);
    const size_t skip =
        request->page_token().empty() ? 0 : std::stoul(request->page_token());
    size_t index = 0;
    for (const auto& [id, run] : s_.runs) {
      if (!request->workflow().empty() && run.workflow() != request->workflow())
        continue;
      if (request->status() != v1::RUN_STATUS_UNSPECIFIED &&
          run.status() != request->status())
        continue;
      if (index++ < skip) continue;
      if (request->page_size() > 0 &&
          reply->runs_size() == request->page_size()) {
        reply->set_next_page_token(std::to_string(index - 1));
        break;
      }
      *reply->add_runs() = run;
    }
    return grpc::Status::OK;
  }

  grpc::Status GetHistory(grpc::ServerContext*,
                          const v1::GetHistoryRequest* request,
                          v1::GetHistoryResponse* reply) override {
    std::lock_guard<std::mutex> lock(s_.mu);
    if (!s_.runs.count(request->run_id())) return NoRun(request->run_id());
    for (const auto& e : s_.history[request->run_id()]) {
      if (e.seq() > request->after_seq()) *reply->add_events() = e;
    }
    return grpc::Status::OK;
  }

  grpc::Status WatchRun(grpc::ServerContext* context,
                        const v1::WatchRunRequest* request,
                        grpc::ServerWriter<v1::HistoryEvent>* writer) override {
    uint64_t sent = request->after_seq();
    int budget;
    {
      std::lock_guard<std::mutex> lock(s_.mu);
      if (!s_.runs.count(request->run_id())) return NoRun(request->run_id());
      ++s_.watch_calls;
      budget = s_.break_watch_after;
      s_.break_watch_after = -1;
    }
    for (bool first = true;; first = false) {
      std::vector<v1::HistoryEvent> batch;
      bool stopped;
      {
        std::unique_lock<std::mutex> lock(s_.mu);
        if (!first) s_.changed.wait_for(lock, std::chrono::milliseconds(50));
        for (const auto& e : s_.history[request->run_id()]) {
          if (e.seq() > sent) batch.push_back(e);
        }
        stopped = IsStopped(s_.runs[request->run_id()].status());
      }
      for (const auto& e : batch) {
        if (budget == 0)
          return {grpc::StatusCode::UNAVAILABLE, "stream broken on purpose"};
        if (!writer->Write(e)) return grpc::Status::CANCELLED;
        sent = e.seq();
        if (budget > 0) --budget;
      }
      if (stopped) return grpc::Status::OK;
      if (context->IsCancelled()) return grpc::Status::CANCELLED;
    }
  }

  grpc::Status SignalRun(grpc::ServerContext*,
                         const v1::SignalRunRequest* request,
                         v1::SignalRunResponse*) override {
    std::lock_guard<std::mutex> lock(s_.mu);
    if (!s_.runs.count(request->run_id())) return NoRun(request->run_id());
    s_.signals.push_back(*request);
    return grpc::Status::OK;
  }

  grpc::Status CancelRun(grpc::ServerContext*,
                         const v1::CancelRunRequest* request,
                         v1::CancelRunResponse* reply) override {
    std::lock_guard<std::mutex> lock(s_.mu);
    auto it = s_.runs.find(request->run_id());
    if (it == s_.runs.end()) return NoRun(request->run_id());
    if (IsStopped(it->second.status())) {
      return {grpc::StatusCode::FAILED_PRECONDITION,
              "run " + request->run_id() + " is " +
                  RunStatusName(it->second.status()) +
                  " and cannot be cancelled"};
    }
    s_.AppendLocked(request->run_id(), v1::EVENT_TYPE_RUN_CANCEL_REQUESTED, "",
                    0, dsl::DumpJson({{"reason", request->reason()}}));
    s_.SetStatusLocked(request->run_id(), v1::RUN_STATUS_COMPENSATING);
    reply->set_status(v1::RUN_STATUS_COMPENSATING);
    return grpc::Status::OK;
  }

  grpc::Status ResumeRun(grpc::ServerContext*,
                         const v1::ResumeRunRequest* request,
                         v1::ResumeRunResponse* reply) override {
    std::lock_guard<std::mutex> lock(s_.mu);
    auto it = s_.runs.find(request->run_id());
    if (it == s_.runs.end()) return NoRun(request->run_id());
    if (it->second.status() != v1::RUN_STATUS_SUSPENDED) {
      return {grpc::StatusCode::FAILED_PRECONDITION,
              "run " + request->run_id() + " is " +
                  RunStatusName(it->second.status()) + ", not resumable"};
    }
    s_.SetStatusLocked(request->run_id(), v1::RUN_STATUS_RUNNING);
    reply->set_status(v1::RUN_STATUS_RUNNING);
    return grpc::Status::OK;
  }

 private:
  static grpc::Status NoRun(const std::string& id) {
    return {grpc::StatusCode::NOT_FOUND, "run " + id + " not found"};
  }

  FakeState& s_;
};

// A FakeWorkflowService listening on 127.0.0.1 (a free port, or `port`).
class FakeServer {
 public:
  explicit FakeServer(FakeState* state, int port = 0) : service_(state) {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:" + std::to_string(port),
                             grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
  }
  ~FakeServer() { Stop(); }

  bool ok() const { return server_ != nullptr && port_ > 0; }
  int port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  // Stops at once: open streams are cancelled, as when the process dies.
  void Stop() {
    if (server_) {
      server_->Shutdown(std::chrono::system_clock::now());
      server_->Wait();
      server_.reset();
    }
  }

 private:
  FakeWorkflowService service_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
};

}  // namespace sagaflow::cli::testing

#endif  // SAGAFLOW_TESTS_CLI_FAKE_SERVER_H_
