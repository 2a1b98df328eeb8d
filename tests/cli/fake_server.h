// A stand-in for sagaflowd that the CLI's tests drive over real gRPC: it keeps
// workflows and runs in memory and answers like the contract says, so the
// server commands are tested without the engine. How a run goes depends on its
// workflow's name:
//   "echo"     completes at once with its input as output;
//   "declined" fails at `charge` and compensates `reserve` (COMPENSATED);
//   anything else stays RUNNING until the test appends events and a status.
// The state outlives a server, so a test can stop one and start another on
// the same port (a restart). FakeScheduleService keeps schedules in the same
// state: a trigger starts a run (RUNNING) of the schedule's workflow, except
// for workflow "missing", whose fires fail (START_FAILED).
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
#include "sagaflow/v1/schedule_service.grpc.pb.h"
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
  std::map<std::string, v1::Schedule> schedules;
  // Every ScheduleService call, and every UpdateSchedule request as sent.
  int schedule_calls = 0;
  std::vector<v1::UpdateScheduleRequest> schedule_updates;
  std::vector<v1::TriggerScheduleRequest> schedule_triggers;
  // The next GetSchedule changes the schedule (a new revision) right after
  // answering: a concurrent update between the CLI's read and its write.
  bool change_after_next_get = false;
  // Every StartRun request as sent.
  std::vector<v1::StartRunRequest> starts;

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
    s_.starts.push_back(*request);
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
    if (request->has_start_at()) {
      *run.mutable_start_at() = request->start_at();
    } else if (request->start_delay_ms() > 0) {
      const int64_t due = ToUnixMillis(SystemClock::Default()->Now()) +
                          request->start_delay_ms();
      run.mutable_start_at()->set_seconds(due / 1000);
      run.mutable_start_at()->set_nanos(static_cast<int32_t>(due % 1000) *
                                        1'000'000);
    }
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

class FakeScheduleService final : public v1::ScheduleService::Service {
 public:
  explicit FakeScheduleService(FakeState* state) : s_(*state) {}

  grpc::Status CreateSchedule(grpc::ServerContext*,
                              const v1::CreateScheduleRequest* request,
                              v1::Schedule* reply) override {
    std::lock_guard<std::mutex> lock(s_.mu);
    ++s_.schedule_calls;
    if (request->schedule_id().empty())
      return {grpc::StatusCode::INVALID_ARGUMENT, "schedule_id: empty"};
    if (grpc::Status bad = Check(request->spec()); !bad.ok()) return bad;
    if (s_.schedules.count(request->schedule_id())) {
      return {grpc::StatusCode::ALREADY_EXISTS,
              "schedule " + request->schedule_id() + " already exists"};
    }
    v1::Schedule& schedule = s_.schedules[request->schedule_id()];
    schedule.set_schedule_id(request->schedule_id());
    *schedule.mutable_spec() = request->spec();
    *schedule.mutable_created_at() = FakeState::Now();
    Changed(&schedule);
    *reply = schedule;
    return grpc::Status::OK;
  }

  grpc::Status GetSchedule(grpc::ServerContext*,
                           const v1::GetScheduleRequest* request,
                           v1::Schedule* reply) override {
    std::lock_guard<std::mutex> lock(s_.mu);
    ++s_.schedule_calls;
    v1::Schedule* schedule = Find(request->schedule_id());
    if (schedule == nullptr) return NoSchedule(request->schedule_id());
    *reply = *schedule;
    if (s_.change_after_next_get) {
      s_.change_after_next_get = false;
      schedule->mutable_spec()->set_note("changed by someone else");
      Changed(schedule);
    }
    return grpc::Status::OK;
  }

  grpc::Status ListSchedules(grpc::ServerContext*,
                             const v1::ListSchedulesRequest* request,
                             v1::ListSchedulesResponse* reply) override {
    std::lock_guard<std::mutex> lock(s_.mu);
    ++s_.schedule_calls;
    for (auto it = s_.schedules.upper_bound(request->page_token());
         it != s_.schedules.end(); ++it) {
      if (request->page_size() > 0 &&
          reply->schedules_size() == request->page_size()) {
        reply->set_next_page_token(reply->schedules().rbegin()->schedule_id());
        break;
      }
      *reply->add_schedules() = it->second;
    }
    return grpc::Status::OK;
  }

  grpc::Status UpdateSchedule(grpc::ServerContext*,
                              const v1::UpdateScheduleRequest* request,
                              v1::Schedule* reply) override {
    std::lock_guard<std::mutex> lock(s_.mu);
    ++s_.schedule_calls;
    s_.schedule_updates.push_back(*request);
    v1::Schedule* schedule = Find(request->schedule_id());
    if (schedule == nullptr) return NoSchedule(request->schedule_id());
    if (request->expected_revision() != 0 &&
        request->expected_revision() != schedule->revision()) {
      return {grpc::StatusCode::FAILED_PRECONDITION,
              "schedule " + request->schedule_id() + " is at revision " +
                  std::to_string(schedule->revision()) + ", not " +
                  std::to_string(request->expected_revision()) +
                  " (it changed since it was read)"};
    }
    if (grpc::Status bad = Check(request->spec()); !bad.ok()) return bad;
    *schedule->mutable_spec() = request->spec();
    Changed(schedule);
    *reply = *schedule;
    return grpc::Status::OK;
  }

  grpc::Status PauseSchedule(grpc::ServerContext*,
                             const v1::PauseScheduleRequest* request,
                             v1::Schedule* reply) override {
    return SetPaused(request->schedule_id(), true, request->note(), reply);
  }

  grpc::Status UnpauseSchedule(grpc::ServerContext*,
                               const v1::UnpauseScheduleRequest* request,
                               v1::Schedule* reply) override {
    return SetPaused(request->schedule_id(), false, request->note(), reply);
  }

  grpc::Status DeleteSchedule(grpc::ServerContext*,
                              const v1::DeleteScheduleRequest* request,
                              v1::DeleteScheduleResponse*) override {
    std::lock_guard<std::mutex> lock(s_.mu);
    ++s_.schedule_calls;
    if (s_.schedules.erase(request->schedule_id()) == 0)
      return NoSchedule(request->schedule_id());
    return grpc::Status::OK;
  }

  // Fires now under the request's overlap policy or the schedule's: a
  // RUNNING last run makes skip skip and buffer_one/cancel_other buffer.
  grpc::Status TriggerSchedule(grpc::ServerContext*,
                               const v1::TriggerScheduleRequest* request,
                               v1::TriggerScheduleResponse* reply) override {
    std::lock_guard<std::mutex> lock(s_.mu);
    ++s_.schedule_calls;
    s_.schedule_triggers.push_back(*request);
    v1::Schedule* schedule = Find(request->schedule_id());
    if (schedule == nullptr) return NoSchedule(request->schedule_id());
    const v1::ScheduleSpec& spec = schedule->spec();
    v1::OverlapPolicy policy =
        request->overlap() != 0 ? request->overlap() : spec.overlap();
    if (policy == v1::OVERLAP_POLICY_UNSPECIFIED)
      policy = v1::OVERLAP_POLICY_SKIP;
    const std::string& last = schedule->last_run_id();
    const bool running = !last.empty() && s_.runs.count(last) &&
                         !IsStopped(s_.runs[last].status());
    v1::ScheduleAction action;
    *action.mutable_nominal_time() = FakeState::Now();
    *action.mutable_actual_time() = action.nominal_time();
    if (running && policy == v1::OVERLAP_POLICY_SKIP) {
      action.set_outcome(v1::ScheduleAction::OUTCOME_SKIPPED_OVERLAP);
      action.set_run_id(last);
      schedule->set_skipped_overlap(schedule->skipped_overlap() + 1);
    } else if (running && policy != v1::OVERLAP_POLICY_ALLOW_ALL) {
      action.set_outcome(v1::ScheduleAction::OUTCOME_BUFFERED);
      *schedule->mutable_buffered_nominal_time() = action.nominal_time();
    } else if (spec.workflow() == "missing") {
      action.set_outcome(v1::ScheduleAction::OUTCOME_START_FAILED);
      action.set_error("workflow \"missing\" not found");
    } else {
      const std::string id =
          schedule->schedule_id() + "-" + std::to_string(s_.next_run++);
      v1::Run& run = s_.runs[id];
      run.set_run_id(id);
      run.set_workflow(spec.workflow());
      run.set_version(spec.version() == 0 ? 1 : spec.version());
      run.set_status(v1::RUN_STATUS_RUNNING);
      run.set_input_json(spec.input_json().empty() ? "{}" : spec.input_json());
      run.set_schedule_id(schedule->schedule_id());
      *run.mutable_nominal_time() = action.nominal_time();
      *run.mutable_created_at() = FakeState::Now();
      s_.AppendLocked(id, v1::EVENT_TYPE_RUN_STARTED, "", 0, "");
      action.set_outcome(v1::ScheduleAction::OUTCOME_STARTED);
      action.set_run_id(id);
      schedule->set_last_run_id(id);
      schedule->set_last_run_running(true);
      schedule->set_runs_started(schedule->runs_started() + 1);
    }
    // Newest first, at most 10.
    schedule->mutable_recent_actions()->Add()->Swap(&action);
    auto* actions = schedule->mutable_recent_actions();
    for (int i = actions->size() - 1; i > 0; --i)
      actions->SwapElements(i, i - 1);
    while (actions->size() > 10) actions->RemoveLast();
    schedule->set_revision(schedule->revision() + 1);
    *reply->mutable_action() = schedule->recent_actions(0);
    return grpc::Status::OK;
  }

 private:
  static grpc::Status NoSchedule(const std::string& id) {
    return {grpc::StatusCode::NOT_FOUND, "schedule " + id + " not found"};
  }

  static grpc::Status Check(const v1::ScheduleSpec& spec) {
    if (spec.workflow().empty())
      return {grpc::StatusCode::INVALID_ARGUMENT, "workflow: empty"};
    if (spec.cron().empty() == (spec.interval_ms() == 0)) {
      return {grpc::StatusCode::INVALID_ARGUMENT,
              "a schedule has a cron expression or an interval, not both"};
    }
    if (!spec.timezone().empty() && spec.cron().empty()) {
      return {grpc::StatusCode::INVALID_ARGUMENT,
              "timezone: only a cron expression is read in a time zone"};
    }
    return grpc::Status::OK;
  }

  v1::Schedule* Find(const std::string& id) {
    auto it = s_.schedules.find(id);
    return it == s_.schedules.end() ? nullptr : &it->second;
  }

  // A new revision and next fire time: none when paused or past end_time; an
  // interval from now, or the next whole minute for a cron expression.
  void Changed(v1::Schedule* schedule) {
    schedule->set_revision(schedule->revision() + 1);
    *schedule->mutable_updated_at() = FakeState::Now();
    const v1::ScheduleSpec& spec = schedule->spec();
    const int64_t now = ToUnixMillis(SystemClock::Default()->Now());
    const int64_t next = spec.interval_ms() > 0 ? now + spec.interval_ms()
                                                : (now / 60'000 + 1) * 60'000;
    const bool ended =
        spec.has_end_time() && spec.end_time().seconds() * 1000 < next;
    if (spec.paused() || ended) {
      schedule->clear_next_fire_time();
    } else {
      schedule->mutable_next_fire_time()->set_seconds(next / 1000);
      schedule->mutable_next_fire_time()->set_nanos(
          static_cast<int32_t>(next % 1000) * 1'000'000);
    }
  }

  grpc::Status SetPaused(const std::string& id, bool paused,
                         const std::string& note, v1::Schedule* reply) {
    std::lock_guard<std::mutex> lock(s_.mu);
    ++s_.schedule_calls;
    v1::Schedule* schedule = Find(id);
    if (schedule == nullptr) return NoSchedule(id);
    schedule->mutable_spec()->set_paused(paused);
    if (!note.empty()) schedule->mutable_spec()->set_note(note);
    Changed(schedule);
    *reply = *schedule;
    return grpc::Status::OK;
  }

  FakeState& s_;
};

// A FakeWorkflowService and a FakeScheduleService listening on 127.0.0.1 (a
// free port, or `port`).
class FakeServer {
 public:
  explicit FakeServer(FakeState* state, int port = 0)
      : service_(state), schedules_(state) {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:" + std::to_string(port),
                             grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(&service_);
    builder.RegisterService(&schedules_);
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
  FakeScheduleService schedules_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
};

}  // namespace sagaflow::cli::testing

#endif  // SAGAFLOW_TESTS_CLI_FAKE_SERVER_H_
