// WorkflowService and WorkerService end to end: the real sagaflowd, driven by
// gRPC as a client and as a remote worker.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "tests/server/server_harness.h"

namespace sagaflow::testing {
namespace {

using nlohmann::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// One server for the suite; each test uses its own workflow and activity
// names, so tests cannot take each other's tasks.
class ServerApiTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new ServerProcess();
    server_->Start();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  ServerProcess& server() { return *server_; }

  // A two-step saga: `a` (compensated by `undo_a`) then `b`, activities
  // prefixed by `prefix`.
  std::string RegisterSaga(const std::string& prefix,
                           const std::string& on_failure = "compensate",
                           const std::string& b_timeout = "30s") {
    json def = {{"name", prefix},
                {"start_at", "a"},
                {"on_failure", on_failure},
                {"steps",
                 {{"a",
                   {{"type", "task"},
                    {"activity", prefix + ".a"},
                    {"retry", {{"max_attempts", 1}}},
                    {"compensate", {{"activity", prefix + ".undo_a"}}},
                    {"next", "b"}}},
                  {"b",
                   {{"type", "task"},
                    {"activity", prefix + ".b"},
                    {"timeout", b_timeout},
                    {"retry",
                     {{"max_attempts", 2},
                      {"initial_interval", "10ms"},
                      {"non_retryable_errors", {"Fatal"}}}}}}}}};
    return Register(server(), def.dump());
  }

  v1::PollTaskResponse Take(const std::string& activity) {
    auto task = Poll(server(), {activity});
    EXPECT_TRUE(task.has_value()) << "no task for " << activity;
    return task.value_or(v1::PollTaskResponse());
  }

  static ServerProcess* server_;
};
ServerProcess* ServerApiTest::server_ = nullptr;

TEST_F(ServerApiTest, RegisterIsVersionedAndIdempotent) {
  json def = {{"name", "versions"},
              {"start_at", "x"},
              {"steps", {{"x", {{"type", "succeed"}}}}}};
  v1::RegisterWorkflowRequest request;
  request.set_definition_json(def.dump());
  v1::RegisterWorkflowResponse first, again, changed;
  ASSERT_TRUE(server()
                  .workflows()
                  .RegisterWorkflow(Context().get(), request, &first)
                  .ok());
  ASSERT_TRUE(server()
                  .workflows()
                  .RegisterWorkflow(Context().get(), request, &again)
                  .ok());
  def["description"] = "changed";
  request.set_definition_json(def.dump());
  ASSERT_TRUE(server()
                  .workflows()
                  .RegisterWorkflow(Context().get(), request, &changed)
                  .ok());
  EXPECT_EQ(first.version(), 1u);
  EXPECT_TRUE(first.created());
  EXPECT_EQ(again.version(), 1u);
  EXPECT_FALSE(again.created());
  EXPECT_EQ(changed.version(), 2u);

  v1::GetWorkflowRequest get;
  get.set_name("versions");
  v1::WorkflowInfo info;
  ASSERT_TRUE(
      server().workflows().GetWorkflow(Context().get(), get, &info).ok());
  EXPECT_EQ(info.version(), 2u);
  EXPECT_EQ(info.description(), "changed");
  EXPECT_EQ(info.step_count(), 1u);
  get.set_version(1);
  ASSERT_TRUE(
      server().workflows().GetWorkflow(Context().get(), get, &info).ok());
  EXPECT_EQ(info.version(), 1u);

  v1::ListWorkflowsRequest list;
  v1::ListWorkflowsResponse listed;
  ASSERT_TRUE(
      server().workflows().ListWorkflows(Context().get(), list, &listed).ok());
  bool found = false;
  for (const auto& w : listed.workflows()) {
    if (w.name() == "versions") {
      found = true;
      EXPECT_EQ(w.version(), 2u);
    }
  }
  EXPECT_TRUE(found);
}

TEST_F(ServerApiTest, RemoteWorkerCompletesARun) {
  RegisterSaga("complete");
  const std::string run_id = Start(server(), "complete", R"({"order": 7})");
  v1::PollTaskResponse a = Take("complete.a");
  EXPECT_EQ(a.run_id(), run_id);
  EXPECT_EQ(a.step(), "a");
  EXPECT_EQ(a.attempt(), 1u);
  EXPECT_FALSE(a.is_compensation());
  EXPECT_EQ(json::parse(a.input_json()), json({{"order", 7}}));
  EXPECT_GT(a.deadline_ms(), 0);
  ASSERT_TRUE(Complete(server(), a.task_token(), R"({"reserved": true})").ok());
  v1::PollTaskResponse b = Take("complete.b");
  ASSERT_TRUE(Complete(server(), b.task_token(), R"({"done": 1})").ok());

  v1::Run run = AwaitStopped(server(), run_id);
  EXPECT_EQ(StatusName(run.status()), "COMPLETED");
  EXPECT_EQ(json::parse(run.output_json()), json({{"done", 1}}));
  EXPECT_EQ(run.workflow(), "complete");
  EXPECT_TRUE(run.has_ended_at());
  EXPECT_EQ(json::parse(run.input_json()), json({{"order", 7}}));
  EXPECT_THAT(EventTypes(History(server(), run_id)),
              ElementsAre("RUN_STARTED", "STEP_SCHEDULED", "STEP_STARTED",
                          "STEP_COMPLETED", "STEP_SCHEDULED", "STEP_STARTED",
                          "STEP_COMPLETED", "RUN_COMPLETED"));
}

TEST_F(ServerApiTest, FailureCompensatesCompletedSteps) {
  RegisterSaga("compensate");
  const std::string run_id = Start(server(), "compensate");
  ASSERT_TRUE(
      Complete(server(), Take("compensate.a").task_token(), R"({"id": "A1"})")
          .ok());
  ASSERT_TRUE(
      Fail(server(), Take("compensate.b").task_token(), "Fatal", false).ok());
  v1::PollTaskResponse undo = Take("compensate.undo_a");
  EXPECT_TRUE(undo.is_compensation());
  EXPECT_EQ(undo.step(), "a");
  EXPECT_EQ(undo.activity(), "compensate.undo_a");
  ASSERT_TRUE(Complete(server(), undo.task_token()).ok());
  v1::Run run = AwaitStopped(server(), run_id);
  EXPECT_EQ(StatusName(run.status()), "COMPENSATED");
  EXPECT_EQ(run.error(), "Fatal");
  auto types = EventTypes(History(server(), run_id));
  EXPECT_THAT(types, ::testing::Contains("COMPENSATION_COMPLETED"));
  EXPECT_EQ(types.back(), "RUN_COMPENSATED");
}

TEST_F(ServerApiTest, RetryableFailureIsRetried) {
  RegisterSaga("retry");
  const std::string run_id = Start(server(), "retry");
  ASSERT_TRUE(Complete(server(), Take("retry.a").task_token()).ok());
  v1::PollTaskResponse first = Take("retry.b");
  ASSERT_TRUE(Fail(server(), first.task_token(), "Flaky").ok());
  v1::PollTaskResponse second = Take("retry.b");
  EXPECT_EQ(second.attempt(), 2u);
  // The first attempt's token is stale now.
  EXPECT_EQ(Complete(server(), first.task_token()).error_code(),
            grpc::StatusCode::NOT_FOUND);
  ASSERT_TRUE(Complete(server(), second.task_token()).ok());
  EXPECT_EQ(StatusName(AwaitStopped(server(), run_id).status()), "COMPLETED");
  EXPECT_THAT(EventTypes(History(server(), run_id)),
              ::testing::Contains("STEP_RETRY_SCHEDULED"));
}

TEST_F(ServerApiTest, AttemptTimeoutRetriesAndRejectsTheLateCompletion) {
  RegisterSaga("timeout", "fail", "300ms");
  const std::string run_id = Start(server(), "timeout");
  ASSERT_TRUE(Complete(server(), Take("timeout.a").task_token()).ok());
  v1::PollTaskResponse slow = Take("timeout.b");
  // Nothing is reported: the attempt times out and attempt 2 is offered.
  v1::PollTaskResponse retried = Take("timeout.b");
  EXPECT_EQ(retried.attempt(), 2u);
  EXPECT_EQ(Complete(server(), slow.task_token()).error_code(),
            grpc::StatusCode::NOT_FOUND);
  // The second attempt times out too: the run fails (on_failure: fail).
  v1::Run run = AwaitStopped(server(), run_id);
  EXPECT_EQ(StatusName(run.status()), "FAILED");
  EXPECT_EQ(run.error(), "Timeout");
  EXPECT_THAT(EventTypes(History(server(), run_id)),
              ::testing::Contains("STEP_TIMED_OUT"));
}

TEST_F(ServerApiTest, SignalResumesAWaitingRun) {
  json def = {
      {"name", "signalled"},
      {"start_at", "approve"},
      {"steps",
       {{"approve",
         {{"type", "signal"}, {"signal", "approval"}, {"next", "done"}}},
        {"done",
         {{"type", "succeed"},
          {"output", {{"by", "$.signals.approval.by"}}}}}}}};
  Register(server(), def.dump());
  const std::string run_id = Start(server(), "signalled");
  v1::SignalRunRequest signal;
  signal.set_run_id(run_id);
  signal.set_name("approval");
  signal.set_payload_json(R"({"by": "ana"})");
  v1::SignalRunResponse signalled;
  ASSERT_TRUE(
      server().workflows().SignalRun(Context().get(), signal, &signalled).ok());
  v1::Run run = AwaitStopped(server(), run_id);
  EXPECT_EQ(StatusName(run.status()), "COMPLETED");
  EXPECT_EQ(json::parse(run.output_json()), json({{"by", "ana"}}));
}

TEST_F(ServerApiTest, CancelCompensatesThenEndsCancelled) {
  RegisterSaga("cancel");
  const std::string run_id = Start(server(), "cancel");
  ASSERT_TRUE(Complete(server(), Take("cancel.a").task_token()).ok());
  v1::PollTaskResponse b = Take("cancel.b");
  v1::CancelRunRequest cancel;
  cancel.set_run_id(run_id);
  cancel.set_reason("customer changed their mind");
  v1::CancelRunResponse cancelled;
  ASSERT_TRUE(
      server().workflows().CancelRun(Context().get(), cancel, &cancelled).ok());
  EXPECT_EQ(StatusName(cancelled.status()), "COMPENSATING");
  // The running attempt learns it should stop from its heartbeat.
  v1::HeartbeatTaskRequest beat;
  beat.set_task_token(b.task_token());
  v1::HeartbeatTaskResponse beat_reply;
  grpc::Status beat_status =
      server().workers().HeartbeatTask(Context().get(), beat, &beat_reply);
  if (beat_status.ok()) {
    EXPECT_TRUE(beat_reply.cancel_requested());
  } else {
    EXPECT_EQ(beat_status.error_code(), grpc::StatusCode::NOT_FOUND);
  }
  ASSERT_TRUE(Complete(server(), Take("cancel.undo_a").task_token()).ok());
  v1::Run run = AwaitStopped(server(), run_id);
  EXPECT_EQ(StatusName(run.status()), "CANCELLED");
  auto events = History(server(), run_id);
  bool reason_recorded = false;
  for (const auto& e : events) {
    if (EventName(e.type()) == "RUN_CANCEL_REQUESTED") {
      reason_recorded = json::parse(e.detail_json())["reason"] ==
                        "customer changed their mind";
    }
  }
  EXPECT_TRUE(reason_recorded);
}

TEST_F(ServerApiTest, SuspendedRunResumes) {
  RegisterSaga("suspend", "suspend");
  const std::string run_id = Start(server(), "suspend");
  ASSERT_TRUE(Complete(server(), Take("suspend.a").task_token()).ok());
  ASSERT_TRUE(
      Fail(server(), Take("suspend.b").task_token(), "Fatal", true).ok());
  EXPECT_EQ(StatusName(AwaitStopped(server(), run_id).status()), "SUSPENDED");

  v1::ResumeRunRequest resume;
  resume.set_run_id(run_id);
  v1::ResumeRunResponse resumed;
  ASSERT_TRUE(
      server().workflows().ResumeRun(Context().get(), resume, &resumed).ok());
  EXPECT_EQ(StatusName(resumed.status()), "RUNNING");
  ASSERT_TRUE(Complete(server(), Take("suspend.b").task_token()).ok());
  EXPECT_EQ(StatusName(AwaitStopped(server(), run_id).status()), "COMPLETED");

  // A completed run is not resumable.
  v1::ResumeRunResponse again;
  EXPECT_EQ(server()
                .workflows()
                .ResumeRun(Context().get(), resume, &again)
                .error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
}

TEST_F(ServerApiTest, StartWithARunIdIsIdempotent) {
  RegisterSaga("idempotent");
  v1::StartRunRequest request;
  request.set_workflow("idempotent");
  request.set_run_id("order-42");
  v1::StartRunResponse first, second;
  ASSERT_TRUE(
      server().workflows().StartRun(Context().get(), request, &first).ok());
  request.set_input_json(R"({"different": true})");
  ASSERT_TRUE(
      server().workflows().StartRun(Context().get(), request, &second).ok());
  EXPECT_EQ(first.run_id(), "order-42");
  EXPECT_FALSE(first.already_started());
  EXPECT_EQ(second.run_id(), "order-42");
  EXPECT_TRUE(second.already_started());
  EXPECT_EQ(json::parse(GetRun(server(), "order-42").input_json()),
            json::object());
  // Exactly one run: one task for its first step.
  ASSERT_TRUE(Poll(server(), {"idempotent.a"}).has_value());
  EXPECT_FALSE(Poll(server(), {"idempotent.a"}, std::chrono::milliseconds(100))
                   .has_value());
}

TEST_F(ServerApiTest, ListRunsFiltersAndPages) {
  json def = {
      {"name", "listed"},
      {"start_at", "x"},
      {"steps", {{"x", {{"type", "task"}, {"activity", "builtin.noop"}}}}}};
  Register(server(), def.dump());
  std::set<std::string> started;
  for (int i = 0; i < 7; ++i) started.insert(Start(server(), "listed"));
  for (const std::string& id : started) AwaitStopped(server(), id);

  std::set<std::string> seen;
  std::string token;
  int pages = 0;
  do {
    v1::ListRunsRequest request;
    request.set_workflow("listed");
    request.set_status(v1::RUN_STATUS_COMPLETED);
    request.set_page_size(3);
    request.set_page_token(token);
    v1::ListRunsResponse response;
    ASSERT_TRUE(server()
                    .workflows()
                    .ListRuns(Context().get(), request, &response)
                    .ok());
    EXPECT_LE(response.runs_size(), 3);
    for (const auto& run : response.runs()) {
      EXPECT_EQ(run.workflow(), "listed");
      EXPECT_EQ(StatusName(run.status()), "COMPLETED");
      EXPECT_TRUE(seen.insert(run.run_id()).second) << "listed twice";
    }
    token = response.next_page_token();
    ++pages;
  } while (!token.empty() && pages < 10);
  EXPECT_EQ(seen, started);
  EXPECT_EQ(pages, 3);

  v1::ListRunsRequest running;
  running.set_workflow("listed");
  running.set_status(v1::RUN_STATUS_RUNNING);
  v1::ListRunsResponse none;
  ASSERT_TRUE(
      server().workflows().ListRuns(Context().get(), running, &none).ok());
  EXPECT_EQ(none.runs_size(), 0);
}

TEST_F(ServerApiTest, WatchRunStreamsHistoryThenLiveEventsToTheEnd) {
  RegisterSaga("watched");
  const std::string run_id = Start(server(), "watched");
  ASSERT_TRUE(Complete(server(), Take("watched.a").task_token()).ok());

  v1::WatchRunRequest request;
  request.set_run_id(run_id);
  auto context = Context();
  auto reader = server().workflows().WatchRun(context.get(), request);
  std::vector<v1::HistoryEvent> events;
  v1::HistoryEvent event;
  // The history so far arrives first: up to STEP_SCHEDULED of b.
  while (events.size() < 5 && reader->Read(&event)) events.push_back(event);
  ASSERT_EQ(events.size(), 5u);
  EXPECT_EQ(EventName(events[4].type()), "STEP_SCHEDULED");
  // Then live events, as the worker finishes b.
  ASSERT_TRUE(Complete(server(), Take("watched.b").task_token()).ok());
  while (reader->Read(&event)) events.push_back(event);
  ASSERT_TRUE(reader->Finish().ok());
  ASSERT_EQ(events.size(), 8u);
  for (size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(events[i].seq(), i + 1);
  }
  EXPECT_EQ(EventName(events.back().type()), "RUN_COMPLETED");

  // Watching a stopped run from the middle replays the rest and ends.
  request.set_after_seq(6);
  auto late_context = Context();
  auto late = server().workflows().WatchRun(late_context.get(), request);
  std::vector<uint64_t> seqs;
  while (late->Read(&event)) seqs.push_back(event.seq());
  EXPECT_TRUE(late->Finish().ok());
  EXPECT_THAT(seqs, ElementsAre(7, 8));
}

TEST_F(ServerApiTest, WaitingPollerGetsTheTaskPromptly) {
  RegisterSaga("prompt");
  v1::PollTaskRequest request;
  request.add_activities("prompt.a");
  request.set_wait_ms(20'000);
  v1::PollTaskResponse response;
  grpc::Status status;
  std::chrono::steady_clock::time_point answered;
  std::thread poller([&] {
    status = server().workers().PollTask(Context().get(), request, &response);
    answered = std::chrono::steady_clock::now();
  });
  // The poll is parked before the run starts (the server counts waiters in
  // its queues; there is no API to observe it, so start the run a little
  // later and measure from the start's acknowledgement).
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  const std::string run_id = Start(server(), "prompt");
  const auto started = std::chrono::steady_clock::now();
  poller.join();
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.run_id(), run_id);
  // Generous for a loaded CI machine; the figures are in docs/BENCHMARKS.md.
  EXPECT_LT(answered - started, std::chrono::milliseconds(500));
}

TEST_F(ServerApiTest, StaleAndGarbageTokens) {
  RegisterSaga("tokens");
  Start(server(), "tokens");
  v1::PollTaskResponse a = Take("tokens.a");
  ASSERT_TRUE(Complete(server(), a.task_token()).ok());
  grpc::Status twice = Complete(server(), a.task_token());
  EXPECT_EQ(twice.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_FALSE(twice.error_message().empty());
  EXPECT_EQ(Fail(server(), a.task_token(), "Late").error_code(),
            grpc::StatusCode::NOT_FOUND);
  for (const std::string& garbage :
       {std::string(""), std::string("not-a-token"), std::string(300, 'x'),
        std::string("\x01\x02\x03", 3)}) {
    grpc::Status status = Complete(server(), garbage);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << "token "
        << json(garbage).dump(-1, ' ', false, json::error_handler_t::replace)
        << ": " << status.error_message();
  }
  // Not UTF-8: refused by protobuf before any handler runs (a proto3 string
  // must be UTF-8); the server carries on.
  EXPECT_FALSE(Complete(server(), std::string("\xff\xfe", 2)).ok());
  v1::HeartbeatTaskRequest beat;
  beat.set_task_token("garbage");
  v1::HeartbeatTaskResponse beat_reply;
  EXPECT_EQ(server()
                .workers()
                .HeartbeatTask(Context().get(), beat, &beat_reply)
                .error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

}  // namespace
}  // namespace sagaflow::testing

namespace sagaflow::testing {
namespace {

TEST_F(ServerApiTest, HeartbeatsExtendTheLeaseAndSilenceTimesOut) {
  json def = {{"name", "beating"},
              {"start_at", "x"},
              {"on_failure", "fail"},
              {"steps",
               {{"x",
                 {{"type", "task"},
                  {"activity", "beating.x"},
                  {"heartbeat_timeout", "400ms"},
                  {"retry", {{"max_attempts", 1}}}}}}}};
  Register(server(), def.dump());
  const std::string kept = Start(server(), "beating");
  v1::PollTaskResponse task = Take("beating.x");
  // Heartbeats every 100 ms carry the attempt well past its 400 ms timeout.
  v1::HeartbeatTaskRequest beat;
  beat.set_task_token(task.task_token());
  beat.set_details_json(R"({"progress": 0.5})");
  const auto until =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(1200);
  while (std::chrono::steady_clock::now() < until) {
    v1::HeartbeatTaskResponse reply;
    ASSERT_TRUE(
        server().workers().HeartbeatTask(Context().get(), beat, &reply).ok());
    EXPECT_FALSE(reply.cancel_requested());
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_TRUE(Complete(server(), task.task_token()).ok());
  EXPECT_EQ(StatusName(AwaitStopped(server(), kept).status()), "COMPLETED");

  const std::string silent = Start(server(), "beating");
  v1::PollTaskResponse dropped = Take("beating.x");
  v1::Run run = AwaitStopped(server(), silent);
  EXPECT_EQ(StatusName(run.status()), "FAILED");
  EXPECT_EQ(run.error(), "HeartbeatTimeout");
  EXPECT_EQ(Complete(server(), dropped.task_token()).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

}  // namespace
}  // namespace sagaflow::testing
