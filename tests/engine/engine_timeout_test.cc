// The engine's timeouts (start-to-close, heartbeat, queue, run, signal), the
// remote worker API (poll, complete, fail, heartbeat, stale and malformed
// tokens) and restarts in the middle of a run.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "activities/exec.h"
#include "tests/engine/engine_harness.h"

namespace sagaflow::engine::testing {
namespace {

using storage::RUN_STATUS_CANCELLED;
using storage::RUN_STATUS_COMPENSATED;
using storage::RUN_STATUS_COMPLETED;
using storage::RUN_STATUS_FAILED;
using ::testing::ElementsAre;

using EngineTimeoutTest = EngineTest;
using EngineRemoteTest = EngineTest;
using EngineRestartTest = EngineTest;

std::string ErrorOf(const persistence::HistoryEventRecord& e) {
  return J(e.detail_json()).value("error", "");
}

// --------------------------------------------------------------- timeouts

TEST_F(EngineTimeoutTest, StartToCloseTimesOutEachAttemptAndCancelsIt) {
  Open(/*manual_clock=*/true);
  Register(R"({"name": "slow", "start_at": "b", "on_failure": "fail",
    "steps": {"b": {"type": "task", "activity": "test.block", "timeout": "1s",
      "retry": {"max_attempts": 2, "initial_interval": "5s"}}}})");
  const std::string id = Start("slow");
  ASSERT_TRUE(journal_.WaitForCount(id, "b", 1));
  Advance(Duration(1'000));
  AwaitUntil(id, HasEvents(id, "STEP_TIMED_OUT", "b", 1));
  EXPECT_TRUE(journal_.WaitForCancelled(id, "b"));
  auto timed_out = Events(id, "STEP_TIMED_OUT", "b");
  EXPECT_EQ(ErrorOf(timed_out[0]), "Timeout");
  EXPECT_EQ(timed_out[0].attempt(), 1u);
  // The retry waits for its backoff.
  Advance(Duration(5'000));
  ASSERT_TRUE(journal_.WaitForCount(id, "b", 2));
  Advance(Duration(1'000));
  auto r = Await(id);
  EXPECT_EQ(r.status(), RUN_STATUS_FAILED);
  EXPECT_EQ(r.error(), "Timeout");
  EXPECT_THAT(journal_.Steps(id), ElementsAre("b", "b"));
  EXPECT_THAT(
      EventTypes(id, "b"),
      ElementsAre("STEP_SCHEDULED", "STEP_TIMED_OUT", "STEP_RETRY_SCHEDULED",
                  "STEP_SCHEDULED", "STEP_TIMED_OUT", "RUN_FAILED"));
}

TEST_F(EngineTimeoutTest, TimeoutIsCatchableByName) {
  Open(/*manual_clock=*/true);
  Register(R"({"name": "slow_caught", "start_at": "b", "steps": {
    "b": {"type": "task", "activity": "test.block", "timeout": "1s",
          "retry": {"max_attempts": 1},
          "catch": [{"errors": ["Timeout"], "next": "late"}]},
    "late": {"type": "succeed", "output": "$.steps.b.error.error"}}})");
  const std::string id = Start("slow_caught");
  AwaitUntil(id, AtStep("b"));
  Advance(Duration(1'000));
  auto r = Await(id);
  EXPECT_EQ(r.status(), RUN_STATUS_COMPLETED);
  EXPECT_EQ(J(r.output_json()), "Timeout");
}

TEST_F(EngineTimeoutTest, HeartbeatTimeoutInProcess) {
  Open(/*manual_clock=*/true);
  Register(R"({"name": "silent", "start_at": "b", "on_failure": "fail",
    "steps": {"b": {"type": "task", "activity": "test.block",
      "timeout": "1m", "heartbeat_timeout": "2s",
      "retry": {"max_attempts": 1}}}})");
  const std::string id = Start("silent");
  ASSERT_TRUE(journal_.WaitForCount(id, "b", 1));
  Advance(Duration(2'000));
  auto r = Await(id);
  EXPECT_EQ(r.status(), RUN_STATUS_FAILED);
  EXPECT_EQ(r.error(), "HeartbeatTimeout");
  auto timed_out = Events(id, "STEP_TIMED_OUT", "b");
  ASSERT_EQ(timed_out.size(), 1u);
  EXPECT_EQ(ErrorOf(timed_out[0]), "HeartbeatTimeout");
  EXPECT_TRUE(journal_.WaitForCancelled(id, "b"));
}

// A long built-in activity heartbeats on its own (builtin.exec here, every
// 100 ms): a program running three times its heartbeat timeout completes.
TEST_F(EngineTimeoutTest, LongBuiltinActivitiesHeartbeat) {
  activities::ExecOptions exec;
  exec.allowed = {"/usr/bin", "/bin"};
  exec.heartbeat_every = Duration(100);
  ASSERT_TRUE(registry_->Register("test.exec", activities::NewExec(exec)).ok());
  Open();
  Register(R"({"name": "long", "start_at": "x", "on_failure": "fail",
    "steps": {"x": {"type": "task", "activity": "test.exec",
      "input": {"command": ["sleep", "1.5"]},
      "timeout": "1m", "heartbeat_timeout": "500ms",
      "retry": {"max_attempts": 1}}}})");
  const std::string id = Start("long");
  auto r = Await(id);
  EXPECT_EQ(r.status(), RUN_STATUS_COMPLETED) << r.error();
  EXPECT_EQ(CountEvents(id, "STEP_TIMED_OUT"), 0u);
}

TEST_F(EngineTimeoutTest, RemoteHeartbeatsExtendTheDeadline) {
  Open(/*manual_clock=*/true);
  // The wait branch is a witness: its timer is due after the heartbeat's
  // original deadline, so once it fired the heartbeat timer was looked at.
  Register(R"({"name": "beating", "start_at": "fan", "on_failure": "fail",
    "steps": {"fan": {"type": "parallel", "branches": [
      {"start_at": "hb", "steps": {
        "hb": {"type": "task", "activity": "remote.h", "timeout": "1m",
               "heartbeat_timeout": "2s", "retry": {"max_attempts": 1}}}},
      {"start_at": "w", "steps": {
        "w": {"type": "wait", "duration": "3s"}}}]}}})");
  const std::string id = Start("beating");
  auto task = engine_->PollTask({"remote.h"}, "w1", Duration(10'000));
  ASSERT_TRUE(task.has_value());
  Advance(Duration(1'500));
  auto beat = engine_->HeartbeatTask(task->task_token);
  ASSERT_TRUE(beat.ok()) << beat.status().ToString();
  EXPECT_FALSE(*beat);
  Advance(Duration(1'500));  // Past the first deadline, before the new one.
  AwaitUntil(id, HasEvents(id, "TIMER_FIRED", "w", 1));
  EXPECT_EQ(CountEvents(id, "STEP_TIMED_OUT"), 0u);
  Advance(Duration(500));  // Now past the extended one.
  auto r = Await(id);
  EXPECT_EQ(r.status(), RUN_STATUS_FAILED);
  EXPECT_EQ(r.error(), "HeartbeatTimeout");
  // The worker's late calls are refused.
  EXPECT_EQ(engine_->CompleteTask(task->task_token, "{}").code(),
            StatusCode::kNotFound);
  EXPECT_EQ(engine_->HeartbeatTask(task->task_token).status().code(),
            StatusCode::kNotFound);
}

TEST_F(EngineTimeoutTest, QueueTimeoutWhenNoWorkerPolls) {
  Open(/*manual_clock=*/true);
  Register(R"({"name": "unpolled", "start_at": "q", "on_failure": "fail",
    "steps": {"q": {"type": "task", "activity": "remote.nobody",
      "queue_timeout": "5s", "retry": {"max_attempts": 1}}}})");
  const std::string id = Start("unpolled");
  AwaitUntil(id, AtStep("q"));
  Advance(Duration(4'999));
  EXPECT_EQ(engine_->SignalRun(id, "nudge", "{}").code(), StatusCode::kOk);
  EXPECT_EQ(CountEvents(id, "STEP_TIMED_OUT"), 0u);
  Advance(Duration(1));
  auto r = Await(id);
  EXPECT_EQ(r.status(), RUN_STATUS_FAILED);
  EXPECT_EQ(r.error(), "QueueTimeout");
  EXPECT_THAT(EventTypes(id, "q"),
              ElementsAre("STEP_SCHEDULED", "STEP_TIMED_OUT", "RUN_FAILED"));
  // A worker arriving late does not get the abandoned task.
  EXPECT_FALSE(
      engine_->PollTask({"remote.nobody"}, "w1", Duration(0)).has_value());
  EXPECT_EQ(engine_->QueueDepth("remote.nobody"), 0u);
}

TEST_F(EngineTimeoutTest, RunTimeoutCompensatesAndStopsTheAttempt) {
  Open(/*manual_clock=*/true);
  Register(R"({"name": "too_long", "start_at": "a", "timeout": "10s",
    "steps": {
    "a": {"type": "task", "activity": "test.record", "next": "b",
          "compensate": {"activity": "test.record"}},
    "b": {"type": "task", "activity": "test.block",
          "compensate": {"activity": "test.record"}}}})");
  const std::string id = Start("too_long");
  AwaitUntil(id, AtStep("b"));
  ASSERT_TRUE(journal_.WaitForCount(id, "b", 1));
  Advance(Duration(10'000));
  auto r = Await(id);
  EXPECT_EQ(r.status(), RUN_STATUS_COMPENSATED);
  EXPECT_EQ(r.error(), "RunTimeout");
  EXPECT_TRUE(journal_.WaitForCancelled(id, "b"));
  EXPECT_THAT(journal_.Steps(id), ElementsAre("a", "b", "~a"));
  EXPECT_EQ(EventTypes(id).back(), "RUN_COMPENSATED");
}

TEST_F(EngineTimeoutTest, RunTimeoutWithOnFailureFail) {
  Open(/*manual_clock=*/true);
  Register(R"({"name": "too_long2", "start_at": "s", "timeout": "1m",
    "on_failure": "fail",
    "steps": {"s": {"type": "signal", "signal": "never"}}})");
  const std::string id = Start("too_long2");
  AwaitUntil(id, AtStep("s"));
  Advance(Duration(60'000));
  auto r = Await(id);
  EXPECT_EQ(r.status(), RUN_STATUS_FAILED);
  EXPECT_EQ(r.error(), "RunTimeout");
  EXPECT_EQ(EventTypes(id).back(), "RUN_FAILED");
}

TEST_F(EngineTimeoutTest, RunThatFinishesInTimeIsNotTimedOut) {
  Open(/*manual_clock=*/true);
  Register(R"({"name": "in_time", "start_at": "a", "timeout": "10s",
    "steps": {"a": {"type": "task", "activity": "test.record"}}})");
  const std::string id = Start("in_time");
  EXPECT_EQ(Await(id).status(), RUN_STATUS_COMPLETED);
  Advance(Duration(20'000));
  EXPECT_EQ(Start("in_time", "{}", "second").empty(), false);
  EXPECT_EQ(Await("second").status(), RUN_STATUS_COMPLETED);
  EXPECT_EQ(engine_->GetRun(id)->status(), RUN_STATUS_COMPLETED);
  EXPECT_EQ(EventTypes(id).back(), "RUN_COMPLETED");
}

// --------------------------------------------------------------- remote

TEST_F(EngineRemoteTest, PollCompleteFailAndStaleTokens) {
  Open();
  Register(R"({"name": "remote", "start_at": "r1", "steps": {
    "r1": {"type": "task", "activity": "remote.x",
           "input": {"n": "$.input.n"}, "next": "r2"},
    "r2": {"type": "task", "activity": "remote.x",
           "input": {"prev": "$.steps.r1.output.v"},
           "retry": {"max_attempts": 3, "initial_interval": "1ms"}}}})");
  const std::string id = Start("remote", R"({"n": 3})");
  auto t1 =
      engine_->PollTask({"remote.other", "remote.x"}, "w1", Duration(10'000));
  ASSERT_TRUE(t1.has_value());
  EXPECT_EQ(t1->run_id, id);
  EXPECT_EQ(t1->step, "r1");
  EXPECT_EQ(t1->activity, "remote.x");
  EXPECT_EQ(t1->attempt, 1u);
  EXPECT_FALSE(t1->is_compensation);
  EXPECT_GT(t1->deadline_ms, 0);
  EXPECT_EQ(J(t1->input_json), J(R"({"n": 3})"));
  auto beat = engine_->HeartbeatTask(t1->task_token);
  ASSERT_TRUE(beat.ok());
  EXPECT_FALSE(*beat);
  ASSERT_TRUE(engine_->CompleteTask(t1->task_token, R"({"v": 10})").ok());
  // The attempt is over: a second completion or a failure changes nothing.
  EXPECT_EQ(engine_->CompleteTask(t1->task_token, R"({"v": 11})").code(),
            StatusCode::kNotFound);
  EXPECT_EQ(engine_->FailTask(t1->task_token, "Late", "", false).code(),
            StatusCode::kNotFound);
  EXPECT_EQ(engine_->HeartbeatTask(t1->task_token).status().code(),
            StatusCode::kNotFound);

  auto t2 = engine_->PollTask({"remote.x"}, "w2", Duration(10'000));
  ASSERT_TRUE(t2.has_value());
  EXPECT_EQ(t2->step, "r2");
  EXPECT_EQ(J(t2->input_json), J(R"({"prev": 10})"));
  ASSERT_TRUE(
      engine_->FailTask(t2->task_token, "Transient", "try again", false).ok());
  auto t3 = engine_->PollTask({"remote.x"}, "w2", Duration(10'000));
  ASSERT_TRUE(t3.has_value());
  EXPECT_EQ(t3->step, "r2");
  EXPECT_EQ(t3->attempt, 2u);
  // The failed attempt's token is stale now.
  EXPECT_EQ(engine_->CompleteTask(t2->task_token, "{}").code(),
            StatusCode::kNotFound);
  ASSERT_TRUE(engine_->CompleteTask(t3->task_token, R"({"v": 20})").ok());
  auto r = Await(id);
  EXPECT_EQ(r.status(), RUN_STATUS_COMPLETED);
  EXPECT_EQ(J(r.output_json()), J(R"({"v": 20})"));
  EXPECT_THAT(EventTypes(id, "r1"),
              ElementsAre("STEP_SCHEDULED", "STEP_STARTED", "STEP_COMPLETED"));
  EXPECT_EQ(J(Events(id, "STEP_STARTED", "r1")[0].detail_json())["worker_id"],
            "w1");
  auto failed = Events(id, "STEP_FAILED", "r2");
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(ErrorOf(failed[0]), "Transient");
  EXPECT_EQ(J(failed[0].detail_json())["message"], "try again");
}

TEST_F(EngineRemoteTest, MalformedTokensAreInvalidArgument) {
  Open();
  for (const char* token : {"", "garbage", "c2FnYWZsb3c="}) {
    EXPECT_EQ(engine_->CompleteTask(token, "{}").code(),
              StatusCode::kInvalidArgument)
        << token;
    EXPECT_EQ(engine_->FailTask(token, "E", "", false).code(),
              StatusCode::kInvalidArgument)
        << token;
    EXPECT_EQ(engine_->HeartbeatTask(token).status().code(),
              StatusCode::kInvalidArgument)
        << token;
  }
}

TEST_F(EngineRemoteTest, FailTaskNonRetryableFailsTheStepAtOnce) {
  Open();
  Register(R"({"name": "remote_fatal", "start_at": "r", "on_failure": "fail",
    "steps": {"r": {"type": "task", "activity": "remote.x",
      "retry": {"max_attempts": 5, "initial_interval": "1ms"}}}})");
  const std::string id = Start("remote_fatal");
  auto t = engine_->PollTask({"remote.x"}, "w1", Duration(10'000));
  ASSERT_TRUE(t.has_value());
  // An error name is required.
  EXPECT_EQ(engine_->FailTask(t->task_token, "", "", true).code(),
            StatusCode::kInvalidArgument);
  ASSERT_TRUE(engine_->FailTask(t->task_token, "Fatal", "bad", true).ok());
  auto r = Await(id);
  EXPECT_EQ(r.status(), RUN_STATUS_FAILED);
  EXPECT_EQ(r.error(), "Fatal");
  EXPECT_EQ(r.error_message(), "bad");
  EXPECT_EQ(CountEvents(id, "STEP_RETRY_SCHEDULED"), 0u);
}

TEST_F(EngineRemoteTest, CompleteAfterTheAttemptTimedOutIsRefused) {
  Open(/*manual_clock=*/true);
  Register(R"({"name": "remote_slow", "start_at": "r", "steps": {
    "r": {"type": "task", "activity": "remote.x", "timeout": "2s",
          "retry": {"max_attempts": 2, "initial_interval": "1s"}}}})");
  const std::string id = Start("remote_slow");
  auto t1 = engine_->PollTask({"remote.x"}, "w1", Duration(10'000));
  ASSERT_TRUE(t1.has_value());
  Advance(Duration(2'000));
  AwaitUntil(id, HasEvents(id, "STEP_TIMED_OUT", "r", 1));
  EXPECT_EQ(ErrorOf(Events(id, "STEP_TIMED_OUT", "r")[0]), "Timeout");
  EXPECT_EQ(engine_->CompleteTask(t1->task_token, "{}").code(),
            StatusCode::kNotFound);
  EXPECT_EQ(engine_->HeartbeatTask(t1->task_token).status().code(),
            StatusCode::kNotFound);
  Advance(Duration(1'000));
  auto t2 = engine_->PollTask({"remote.x"}, "w1", Duration(10'000));
  ASSERT_TRUE(t2.has_value());
  EXPECT_EQ(t2->attempt, 2u);
  ASSERT_TRUE(engine_->CompleteTask(t2->task_token, R"({"ok": true})").ok());
  auto r = Await(id);
  EXPECT_EQ(r.status(), RUN_STATUS_COMPLETED);
  EXPECT_EQ(J(r.output_json()), J(R"({"ok": true})"));
}

TEST_F(EngineRemoteTest, CompensationRunsOnARemoteWorker) {
  Open();
  Register(R"({"name": "remote_undo", "start_at": "a", "steps": {
    "a": {"type": "task", "activity": "remote.do", "next": "b",
          "compensate": {"activity": "remote.undo",
                         "input": {"id": "$.steps.a.output.id"}}},
    "b": {"type": "task", "activity": "test.record",
          "input": {"error": "Boom"}, "retry": {"max_attempts": 1}}}})");
  const std::string id = Start("remote_undo");
  auto t = engine_->PollTask({"remote.do"}, "w1", Duration(10'000));
  ASSERT_TRUE(t.has_value());
  ASSERT_TRUE(engine_->CompleteTask(t->task_token, R"({"id": "r-1"})").ok());
  auto undo = engine_->PollTask({"remote.undo"}, "w1", Duration(10'000));
  ASSERT_TRUE(undo.has_value());
  EXPECT_TRUE(undo->is_compensation);
  EXPECT_EQ(undo->step, "a");
  EXPECT_EQ(J(undo->input_json), J(R"({"id": "r-1"})"));
  // A failed compensation attempt is retried under its policy.
  ASSERT_TRUE(engine_->FailTask(undo->task_token, "Flaky", "", false).ok());
  EXPECT_EQ(engine_->GetRun(id)->status(), storage::RUN_STATUS_COMPENSATING);
  auto undo2 = engine_->PollTask({"remote.undo"}, "w1", Duration(10'000));
  ASSERT_TRUE(undo2.has_value());
  EXPECT_EQ(undo2->attempt, 2u);
  ASSERT_TRUE(engine_->CompleteTask(undo2->task_token, "{}").ok());
  EXPECT_EQ(engine_->CompleteTask(undo2->task_token, "{}").code(),
            StatusCode::kNotFound);
  auto r = Await(id);
  EXPECT_EQ(r.status(), RUN_STATUS_COMPENSATED);
  EXPECT_THAT(
      EventTypes(id, "a"),
      ElementsAre("STEP_SCHEDULED", "STEP_STARTED", "STEP_COMPLETED",
                  "COMPENSATION_STARTED", "STEP_STARTED", "COMPENSATION_FAILED",
                  "STEP_RETRY_SCHEDULED", "COMPENSATION_STARTED",
                  "STEP_STARTED", "COMPENSATION_COMPLETED"));
}

TEST_F(EngineRemoteTest, CancelTellsTheWorkerThroughItsHeartbeat) {
  Open();
  Register(R"({"name": "remote_cancel", "start_at": "r", "steps": {
    "r": {"type": "task", "activity": "remote.x"}}})");
  const std::string id = Start("remote_cancel");
  auto t = engine_->PollTask({"remote.x"}, "w1", Duration(10'000));
  ASSERT_TRUE(t.has_value());
  ASSERT_TRUE(engine_->CancelRun(id, "stop").ok());
  auto r = Await(id);
  EXPECT_EQ(r.status(), RUN_STATUS_CANCELLED);
  auto beat = engine_->HeartbeatTask(t->task_token);
  ASSERT_TRUE(beat.ok()) << beat.status().ToString();
  EXPECT_TRUE(*beat);
  EXPECT_EQ(engine_->CompleteTask(t->task_token, "{}").code(),
            StatusCode::kNotFound);
}

// --------------------------------------------------------------- restart

TEST_F(EngineRestartTest, RunFinishesAfterARestartDuringAWait) {
  Open(/*manual_clock=*/true);
  Register(R"({"name": "durable_wait", "start_at": "a", "steps": {
    "a": {"type": "task", "activity": "test.record", "next": "w"},
    "w": {"type": "wait", "duration": "30s", "next": "b"},
    "b": {"type": "task", "activity": "test.record"}}})");
  const std::string id = Start("durable_wait");
  AwaitUntil(id, AtStep("w"));
  Reopen();
  Advance(Duration(30'000));
  auto r = Await(id);
  EXPECT_EQ(r.status(), RUN_STATUS_COMPLETED);
  EXPECT_THAT(journal_.Steps(id), ElementsAre("a", "b"));
  EXPECT_EQ(CountEvents(id, "TIMER_STARTED", "w"), 1u);
  EXPECT_EQ(CountEvents(id, "TIMER_FIRED", "w"), 1u);
}

TEST_F(EngineRestartTest, LeasedRemoteTaskSurvivesARestart) {
  Open();
  Register(R"({"name": "durable_remote", "start_at": "r", "steps": {
    "r": {"type": "task", "activity": "remote.x", "next": "q"},
    "q": {"type": "task", "activity": "remote.y"}}})");
  const std::string id = Start("durable_remote");
  auto t = engine_->PollTask({"remote.x"}, "w1", Duration(10'000));
  ASSERT_TRUE(t.has_value());
  Reopen();
  // The lease holds: the worker completes its task on the new engine.
  ASSERT_TRUE(engine_->CompleteTask(t->task_token, R"({"r": 1})").ok());
  AwaitUntil(id, AtStep("q"));
  // A task queued but not taken is queued again after a restart.
  Reopen();
  auto q = engine_->PollTask({"remote.y"}, "w2", Duration(10'000));
  ASSERT_TRUE(q.has_value());
  EXPECT_EQ(q->step, "q");
  EXPECT_EQ(q->attempt, 1u);
  ASSERT_TRUE(engine_->CompleteTask(q->task_token, R"({"q": 2})").ok());
  auto r = Await(id);
  EXPECT_EQ(r.status(), RUN_STATUS_COMPLETED);
  EXPECT_EQ(J(r.output_json()), J(R"({"q": 2})"));
  EXPECT_EQ(CountEvents(id, "STEP_TIMED_OUT"), 0u);
  EXPECT_EQ(CountEvents(id, "STEP_SCHEDULED", "r"), 1u);
}

TEST_F(EngineRestartTest, InProcessAttemptLostInARestartIsRetried) {
  Open(/*manual_clock=*/true);
  Register(R"({"name": "lost", "start_at": "b", "steps": {
    "b": {"type": "task", "activity": "test.block", "timeout": "1s",
          "retry": {"max_attempts": 2, "initial_interval": "1s"},
          "catch": [{"errors": ["*"], "next": "after"}]},
    "after": {"type": "succeed", "output": "$.steps.b.error.error"}}})");
  const std::string id = Start("lost");
  AwaitUntil(id, AtStep("b"));
  ASSERT_TRUE(journal_.WaitForCount(id, "b", 1));
  Reopen();
  AwaitUntil(id, HasEvents(id, "STEP_TIMED_OUT", "b", 1));
  auto lost = Events(id, "STEP_TIMED_OUT", "b");
  EXPECT_EQ(ErrorOf(lost[0]), "WorkerLost");
  EXPECT_EQ(lost[0].attempt(), 1u);
  // The shutdown's own cancellation is not an outcome of the attempt.
  EXPECT_EQ(CountEvents(id, "STEP_FAILED", "b"), 0u);
  Advance(Duration(1'000));
  ASSERT_TRUE(journal_.WaitForCount(id, "b", 2));
  Advance(Duration(1'000));
  auto r = Await(id);
  EXPECT_EQ(r.status(), RUN_STATUS_COMPLETED);
  EXPECT_EQ(J(r.output_json()), "Timeout");
  EXPECT_THAT(
      EventTypes(id, "b"),
      ElementsAre("STEP_SCHEDULED", "STEP_TIMED_OUT", "STEP_RETRY_SCHEDULED",
                  "STEP_SCHEDULED", "STEP_TIMED_OUT", "STEP_CAUGHT"));
}

TEST_F(EngineRestartTest, CompensationFinishesAfterARestart) {
  Open();
  Register(R"({"name": "durable_saga", "start_at": "a", "steps": {
    "a": {"type": "task", "activity": "test.record", "next": "b",
          "compensate": {"activity": "test.record"}},
    "b": {"type": "task", "activity": "test.record", "next": "c",
          "compensate": {"activity": "remote.undo"}},
    "c": {"type": "task", "activity": "test.record",
          "input": {"error": "Boom"}, "retry": {"max_attempts": 1}}}})");
  const std::string id = Start("durable_saga");
  // b's compensation waits for a remote worker while the engine restarts.
  AwaitUntil(id, [](const persistence::RunRecord& r) {
    return r.status() == storage::RUN_STATUS_COMPENSATING;
  });
  Reopen();
  auto undo = engine_->PollTask({"remote.undo"}, "w1", Duration(10'000));
  ASSERT_TRUE(undo.has_value());
  EXPECT_TRUE(undo->is_compensation);
  ASSERT_TRUE(engine_->CompleteTask(undo->task_token, "{}").ok());
  auto done = Await(id);
  EXPECT_EQ(done.status(), RUN_STATUS_COMPENSATED);
  EXPECT_THAT(journal_.Steps(id), ElementsAre("a", "b", "c", "~a"));
}

}  // namespace
}  // namespace sagaflow::engine::testing

namespace sagaflow::engine::testing {
namespace {

// Regressions from the engine review.

TEST_F(EngineRestartTest, RecoveryDoesNotTakeItsOwnCompensationForLost) {
  // b is lost in the restart and may not retry, so recovery starts the saga;
  // the compensation it schedules is new, not one lost with the process.
  Open();
  Register(R"({"name": "lost_then_undo", "start_at": "a", "steps": {
    "a": {"type": "task", "activity": "test.record", "next": "b",
          "compensate": {"activity": "test.record",
                         "retry": {"max_attempts": 1}}},
    "b": {"type": "task", "activity": "test.block",
          "retry": {"max_attempts": 1}}}})");
  const std::string id = Start("lost_then_undo");
  AwaitUntil(id, AtStep("b"));
  ASSERT_TRUE(journal_.WaitForCount(id, "b", 1));
  Reopen();
  auto r = Await(id);
  EXPECT_EQ(r.status(), storage::RUN_STATUS_COMPENSATED);
  EXPECT_EQ(r.error(), "WorkerLost");
  EXPECT_THAT(journal_.Steps(id), ElementsAre("a", "b", "~a"));
}

TEST_F(EngineTimeoutTest, CancelledRemoteTasksLeaveTheQueue) {
  Open();
  Register(R"({"name": "remote_cancel", "start_at": "x", "steps": {
    "x": {"type": "task", "activity": "ext.work"}}})");
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(Start("remote_cancel"));
  for (const std::string& id : ids) AwaitUntil(id, AtStep("x"));
  EXPECT_EQ(engine_->QueueDepth("ext.work"), 5u);
  for (const std::string& id : ids) {
    ASSERT_TRUE(engine_->CancelRun(id, "test").ok());
    EXPECT_EQ(Await(id).status(), storage::RUN_STATUS_CANCELLED);
  }
  EXPECT_EQ(engine_->QueueDepth("ext.work"), 0u);
}

}  // namespace
}  // namespace sagaflow::engine::testing
