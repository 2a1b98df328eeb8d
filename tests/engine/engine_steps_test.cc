// The engine end to end, step type by step type: choice, wait, signal,
// parallel, map, succeed, fail, retries, catch, the step-transition limit,
// idempotent starts and the remote worker API.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/engine/engine_harness.h"

namespace sagaflow::engine::testing {
namespace {

using storage::RUN_STATUS_COMPENSATED;
using storage::RUN_STATUS_COMPLETED;
using storage::RUN_STATUS_FAILED;
using storage::RUN_STATUS_RUNNING;
using storage::RUN_STATUS_SUSPENDED;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

using EngineStepsTest = EngineTest;

// --------------------------------------------------------------- choice

TEST_F(EngineStepsTest, ChoiceRoutesByFirstMatchThenDefault) {
  Open();
  Register(R"({"name": "route", "start_at": "pick", "steps": {
    "pick": {"type": "choice", "choices": [
        {"when": {"path": "$.input.n", "op": ">", "value": 10}, "next": "big"},
        {"when": {"all": [{"path": "$.input.kind", "op": "exists"},
                          {"path": "$.input.kind", "op": "==", "value": "x"}]},
         "next": "xs"}],
      "default": "small"},
    "big": {"type": "succeed", "output": {"route": "big", "n": "$.input.n"}},
    "xs": {"type": "succeed", "output": {"route": "x"}},
    "small": {"type": "succeed", "output": {"route": "small"}}}})");
  const std::string big = Start("route", R"({"n": 20, "kind": "x"})");
  const std::string xs = Start("route", R"({"n": 1, "kind": "x"})");
  const std::string small = Start("route", R"({"n": 1})");
  auto r = Await(big);
  EXPECT_EQ(r.status(), RUN_STATUS_COMPLETED);
  EXPECT_EQ(J(r.output_json()), J(R"({"route": "big", "n": 20})"));
  r = Await(xs);
  EXPECT_EQ(r.status(), RUN_STATUS_COMPLETED);
  EXPECT_EQ(J(r.output_json()), J(R"({"route": "x"})"));
  r = Await(small);
  EXPECT_EQ(r.status(), RUN_STATUS_COMPLETED);
  EXPECT_EQ(J(r.output_json()), J(R"({"route": "small"})"));
  // The choice records where it went.
  auto done = Events(small, "STEP_COMPLETED", "pick");
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(J(done[0].detail_json())["next"], "small");
  EXPECT_THAT(EventTypes(small),
              ElementsAre("RUN_STARTED", "STEP_COMPLETED", "STEP_COMPLETED",
                          "RUN_COMPLETED"));
}

TEST_F(EngineStepsTest, ChoiceWithoutMatchOrDefaultFailsNoChoiceMatched) {
  Open();
  Register(R"({"name": "nomatch", "start_at": "pick", "on_failure": "fail",
    "steps": {
    "pick": {"type": "choice", "choices": [
        {"when": {"path": "$.input.n", "op": "==", "value": 1}, "next": "one"}]},
    "one": {"type": "succeed"}}})");
  const std::string id = Start("nomatch", R"({"n": 2})");
  auto r = Await(id);
  EXPECT_EQ(r.status(), RUN_STATUS_FAILED);
  EXPECT_EQ(r.error(), "NoChoiceMatched");
  EXPECT_THAT(EventTypes(id),
              ElementsAre("RUN_STARTED", "STEP_FAILED", "RUN_FAILED"));
}

TEST_F(EngineStepsTest, NoChoiceMatchedIsCatchable) {
  Open();
  Register(R"({"name": "nomatch_caught", "start_at": "pick", "steps": {
    "pick": {"type": "choice", "choices": [
        {"when": {"path": "$.input.n", "op": "==", "value": 1}, "next": "one"}],
      "catch": [{"errors": ["NoChoiceMatched"], "next": "fallback"}]},
    "one": {"type": "succeed"},
    "fallback": {"type": "task", "activity": "builtin.echo",
                 "input": {"why": "$.steps.pick.error.error"}}}})");
  const std::string id = Start("nomatch_caught", R"({"n": 2})");
  auto r = Await(id);
  EXPECT_EQ(r.status(), RUN_STATUS_COMPLETED);
  EXPECT_EQ(J(r.output_json()), J(R"({"why": "NoChoiceMatched"})"));
  EXPECT_EQ(CountEvents(id, "STEP_CAUGHT", "pick"), 1u);
}

// --------------------------------------------------------------- wait

TEST_F(EngineStepsTest, WaitDurationFiresOnlyWhenTheClockPassesIt) {
  Open(/*manual_clock=*/true);
  Register(R"({"name": "waiter", "start_at": "a", "steps": {
    "a": {"type": "task", "activity": "test.record",
          "input": {"output": {"v": 7}}, "next": "w"},
    "w": {"type": "wait", "duration": "10s", "next": "b"},
    "b": {"type": "task", "activity": "builtin.echo", "input": "$.steps.w.output"}}})");
  const std::string id = Start("waiter");
  AwaitUntil(id, AtStep("w"));
  EXPECT_THAT(EventTypes(id, "w"), ElementsAre("TIMER_STARTED"));
  Advance(Duration(9'999));
  // Not due yet: another step proves the partition looked at its timers.
  EXPECT_EQ(engine_->SignalRun(id, "nudge", "{}").code(), StatusCode::kOk);
  EXPECT_EQ(CountEvents(id, "SIGNAL_RECEIVED"), 1u);
  EXPECT_EQ(CountEvents(id, "TIMER_FIRED"), 0u);
  Advance(Duration(1));
  auto r = Await(id);
  EXPECT_EQ(r.status(), RUN_STATUS_COMPLETED);
  // A wait passes the previous step's output on.
  EXPECT_EQ(J(r.output_json()), J(R"({"v": 7})"));
  EXPECT_THAT(journal_.Steps(id), ElementsAre("a"));
  EXPECT_THAT(EventTypes(id, "w"),
              ElementsAre("TIMER_STARTED", "TIMER_FIRED", "STEP_COMPLETED"));
  auto started = Events(id, "TIMER_STARTED", "w");
  EXPECT_EQ(J(started[0].detail_json())["due"], "2023-11-14T22:13:30Z");
}

TEST_F(EngineStepsTest, WaitUntilTimestampLiteralPathAndPast) {
  Open(/*manual_clock=*/true);  // Starts at 2023-11-14T22:13:20Z.
  Register(R"({"name": "until", "start_at": "past", "steps": {
    "past": {"type": "wait", "until": "2020-01-01T00:00:00Z", "next": "w1"},
    "w1": {"type": "wait", "until": "2023-11-14T22:13:50Z", "next": "w2"},
    "w2": {"type": "wait", "until": "$.input.at", "next": "end"},
    "end": {"type": "succeed", "output": {"ok": true}}}})");
  const std::string id =
      Start("until", R"({"at": "2023-11-14T23:14:20+01:00"})");
  AwaitUntil(id, AtStep("w1"));
  // A timestamp in the past fires at once.
  EXPECT_THAT(EventTypes(id, "past"),
              ElementsAre("TIMER_STARTED", "TIMER_FIRED", "STEP_COMPLETED"));
  Advance(Duration(30'000));
  AwaitUntil(id, AtStep("w2"));
  Advance(Duration(29'000));
  EXPECT_EQ(engine_->SignalRun(id, "nudge", "{}").code(), StatusCode::kOk);
  EXPECT_EQ(engine_->GetRun(id)->status(), RUN_STATUS_RUNNING);
  Advance(Duration(1'000));
  auto r = Await(id);
  EXPECT_EQ(r.status(), RUN_STATUS_COMPLETED);
  EXPECT_EQ(J(r.output_json()), J(R"({"ok": true})"));
  EXPECT_EQ(CountEvents(id, "TIMER_FIRED"), 3u);
}

TEST_F(EngineStepsTest, WaitUntilPathThatIsNotATimestampFails) {
  Open();
  Register(R"({"name": "bad_until", "start_at": "w", "on_failure": "fail",
    "steps": {"w": {"type": "wait", "until": "$.input.at"}}})");
  const std::string id = Start("bad_until", R"({"at": "tomorrow"})");
  auto r = Await(id);
  EXPECT_EQ(r.status(), RUN_STATUS_FAILED);
  EXPECT_EQ(r.error(), "InvalidTimestamp");
}

// --------------------------------------------------------------- signal

TEST_F(EngineStepsTest, SignalDeliveredWhileWaiting) {
  Open();
  Register(R"({"name": "approve", "start_at": "a", "steps": {
    "a": {"type": "task", "activity": "test.record", "next": "s"},
    "s": {"type": "signal", "signal": "approval", "next": "b"},
    "b": {"type": "task", "activity": "builtin.echo",
          "input": {"sig": "$.signals.approval", "out": "$.steps.s.output"}}}})");
  const std::string id = Start("approve");
  AwaitUntil(id, AtStep("s"));
  EXPECT_THAT(EventTypes(id, "s"), ElementsAre("STEP_STARTED"));
  ASSERT_TRUE(engine_->SignalRun(id, "approval", R"({"by": "ann"})").ok());
  auto r = Await(id);
  EXPECT_EQ(r.status(), RUN_STATUS_COMPLETED);
  EXPECT_EQ(J(r.output_json()),
            J(R"({"sig": {"by": "ann"}, "out": {"by": "ann"}})"));
  EXPECT_THAT(EventTypes(id, "s"),
              ElementsAre("STEP_STARTED", "STEP_COMPLETED"));
  auto received = Events(id, "SIGNAL_RECEIVED");
  ASSERT_EQ(received.size(), 1u);
  EXPECT_EQ(J(received[0].detail_json())["signal"], "approval");
  // Signals to an ended run are refused; to an unknown run, NOT_FOUND.
  EXPECT_EQ(engine_->SignalRun(id, "approval", "{}").code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(engine_->SignalRun("no-such-run", "approval", "{}").code(),
            StatusCode::kNotFound);
}

TEST_F(EngineStepsTest, SignalSentBeforeTheStepIsBuffered) {
  Open(/*manual_clock=*/true);
  Register(R"({"name": "early", "start_at": "w", "steps": {
    "w": {"type": "wait", "duration": "10s", "next": "s"},
    "s": {"type": "signal", "signal": "go", "next": "b"},
    "b": {"type": "task", "activity": "builtin.echo", "input": "$.signals.go"}}})");
  const std::string id = Start("early");
  AwaitUntil(id, AtStep("w"));
  ASSERT_TRUE(engine_->SignalRun(id, "go", R"({"n": 1})").ok());
  ASSERT_TRUE(engine_->SignalRun(id, "go", R"({"n": 2})").ok());
  EXPECT_EQ(CountEvents(id, "SIGNAL_RECEIVED"), 2u);
  Advance(Duration(10'000));
  auto r = Await(id);
  EXPECT_EQ(r.status(), RUN_STATUS_COMPLETED);
  // The first buffered signal satisfies the step.
  EXPECT_EQ(J(r.output_json()), J(R"({"n": 1})"));
  EXPECT_THAT(EventTypes(id, "s"), ElementsAre("STEP_COMPLETED"));
}

TEST_F(EngineStepsTest, SignalTimeoutIsCatchable) {
  Open(/*manual_clock=*/true);
  Register(R"({"name": "late", "start_at": "s", "steps": {
    "s": {"type": "signal", "signal": "go", "timeout": "5s", "next": "ok",
          "catch": [{"errors": ["SignalTimeout"], "next": "timed_out"}]},
    "ok": {"type": "succeed", "output": {"got": true}},
    "timed_out": {"type": "task", "activity": "builtin.echo",
                  "input": "$.steps.s.error"}}})");
  const std::string id = Start("late");
  AwaitUntil(id, AtStep("s"));
  Advance(Duration(5'000));
  auto r = Await(id);
  EXPECT_EQ(r.status(), RUN_STATUS_COMPLETED);
  auto out = J(r.output_json());
  EXPECT_EQ(out["error"], "SignalTimeout");
  EXPECT_THAT(out["message"].get<std::string>(), HasSubstr("go"));
  EXPECT_THAT(EventTypes(id, "s"),
              ElementsAre("STEP_STARTED", "STEP_FAILED", "STEP_CAUGHT"));
}

TEST_F(EngineStepsTest, SignalTimeoutUncaughtFailsTheRun) {
  Open(/*manual_clock=*/true);
  Register(R"({"name": "late2", "start_at": "s", "on_failure": "fail",
    "steps": {"s": {"type": "signal", "signal": "go", "timeout": "5s"}}})");
  const std::string id = Start("late2");
  AwaitUntil(id, AtStep("s"));
  Advance(Duration(5'000));
  auto r = Await(id);
  EXPECT_EQ(r.status(), RUN_STATUS_FAILED);
  EXPECT_EQ(r.error(), "SignalTimeout");
  // A signal after the timeout is too late.
  EXPECT_EQ(engine_->SignalRun(id, "go", "{}").code(),
            StatusCode::kFailedPrecondition);
}

// --------------------------------------------------------------- parallel

TEST_F(EngineStepsTest, ParallelOutputIsTheListOfBranchOutputs) {
  Open();
  Register(R"({"name": "par", "start_at": "fan", "steps": {
    "fan": {"type": "parallel", "next": "after", "branches": [
      {"start_at": "p1", "steps": {
        "p1": {"type": "task", "activity": "builtin.echo", "input": {"b": 1}}}},
      {"start_at": "p2", "steps": {
        "p2": {"type": "task", "activity": "test.record", "next": "p3"},
        "p3": {"type": "task", "activity": "builtin.echo",
               "input": {"b": 2, "prev": "$.steps.p2.output.step"}}}},
      {"start_at": "p4", "steps": {
        "p4": {"type": "succeed", "output": {"b": 3}}}}]},
    "after": {"type": "task", "activity": "builtin.echo",
              "input": {"all": "$.steps.fan.output"}}}})");
  const std::string id = Start("par");
  auto r = Await(id);
  EXPECT_EQ(r.status(), RUN_STATUS_COMPLETED);
  EXPECT_EQ(J(r.output_json()),
            J(R"({"all": [{"b": 1}, {"b": 2, "prev": "p2"}, {"b": 3}]})"));
  EXPECT_THAT(journal_.Steps(id), ElementsAre("p2"));
  EXPECT_THAT(EventTypes(id, "fan"),
              ElementsAre("STEP_STARTED", "STEP_COMPLETED"));
}

TEST_F(EngineStepsTest, ParallelBranchFailureCancelsTheOthers) {
  Open();
  Register(R"({"name": "par_fail", "start_at": "fan", "on_failure": "fail",
    "steps": {
    "fan": {"type": "parallel", "next": "unreached", "branches": [
      {"start_at": "blocked", "steps": {
        "blocked": {"type": "task", "activity": "test.block"}}},
      {"start_at": "gate", "steps": {
        "gate": {"type": "signal", "signal": "go", "next": "boom"},
        "boom": {"type": "task", "activity": "test.record",
                 "input": {"error": "Boom"}, "retry": {"max_attempts": 1}}}}]},
    "unreached": {"type": "succeed"}}})");
  const std::string id = Start("par_fail");
  AwaitUntil(id, AtStep("gate"));
  ASSERT_TRUE(journal_.WaitForCount(id, "blocked", 1));
  ASSERT_TRUE(engine_->SignalRun(id, "go", "{}").ok());
  auto r = Await(id);
  EXPECT_EQ(r.status(), RUN_STATUS_FAILED);
  EXPECT_EQ(r.error(), "Boom");
  EXPECT_EQ(CountEvents(id, "STEP_COMPLETED", "blocked"), 0u);
  EXPECT_EQ(CountEvents(id, "STEP_SCHEDULED", "unreached"), 0u);
  // The other branch's attempt was told to stop.
  EXPECT_TRUE(journal_.WaitForCancelled(id, "blocked"));
  EXPECT_THAT(journal_.Cancelled(id), ElementsAre("blocked"));
}

// --------------------------------------------------------------- map

TEST_F(EngineStepsTest, MapOutputsInItemOrderWithItemAndIndex) {
  Open();
  Register(R"({"name": "mapper", "start_at": "m", "steps": {
    "m": {"type": "map", "items": "$.input.items", "iterator": {
      "start_at": "one", "steps": {
        "one": {"type": "task", "activity": "builtin.echo",
                "input": {"item": "$.item", "index": "$.index",
                          "label": "{{$.item}}-{{$.index}}"}}}}}}})");
  const std::string id = Start("mapper", R"({"items": ["x", "y", "z"]})");
  auto r = Await(id);
  EXPECT_EQ(r.status(), RUN_STATUS_COMPLETED);
  EXPECT_EQ(J(r.output_json()), J(R"([
    {"item": "x", "index": 0, "label": "x-0"},
    {"item": "y", "index": 1, "label": "y-1"},
    {"item": "z", "index": 2, "label": "z-2"}])"));
  EXPECT_EQ(CountEvents(id, "STEP_COMPLETED", "one"), 3u);
}

TEST_F(EngineStepsTest, MapOfNothingAndMapOfNonArray) {
  Open();
  Register(R"({"name": "map_edge", "start_at": "m", "on_failure": "fail",
    "steps": {
    "m": {"type": "map", "items": "$.input.items", "iterator": {
      "start_at": "one", "steps": {
        "one": {"type": "task", "activity": "test.record"}}}}}})");
  const std::string empty = Start("map_edge", R"({"items": []})");
  const std::string bad = Start("map_edge", R"({"items": {"a": 1}})");
  auto r = Await(empty);
  EXPECT_EQ(r.status(), RUN_STATUS_COMPLETED);
  EXPECT_EQ(J(r.output_json()), J("[]"));
  r = Await(bad);
  EXPECT_EQ(r.status(), RUN_STATUS_FAILED);
  EXPECT_EQ(r.error(), "InvalidItems");
  EXPECT_TRUE(journal_.Steps(empty).empty());
}

TEST_F(EngineStepsTest, MapMaxConcurrencyOneRunsIterationsInTurn) {
  Open();
  Register(R"({"name": "serial_map", "start_at": "m", "steps": {
    "m": {"type": "map", "items": "$.input.items", "max_concurrency": 1,
      "iterator": {"start_at": "m1", "steps": {
        "m1": {"type": "task", "activity": "test.record",
               "input": {"i": "$.index"}, "next": "m2"},
        "m2": {"type": "task", "activity": "test.record",
               "input": {"i": "$.index", "prev": "$.steps.m1.output.step"}}}}}}})");
  const std::string id = Start("serial_map", R"({"items": [10, 20, 30]})");
  auto r = Await(id);
  EXPECT_EQ(r.status(), RUN_STATUS_COMPLETED);
  EXPECT_THAT(journal_.Steps(id),
              ElementsAre("m1", "m2", "m1", "m2", "m1", "m2"));
  std::vector<int> indexes;
  for (const Execution& e : journal_.All()) {
    if (e.run_id == id) indexes.push_back(J(e.input_json)["i"].get<int>());
  }
  EXPECT_THAT(indexes, ElementsAre(0, 0, 1, 1, 2, 2));
}

TEST_F(EngineStepsTest, MapMaxConcurrencyBoundsTasksInFlight) {
  Open();
  Register(R"({"name": "bounded_map", "start_at": "m", "steps": {
    "m": {"type": "map", "items": "$.input.items", "max_concurrency": 2,
      "iterator": {"start_at": "work", "steps": {
        "work": {"type": "task", "activity": "remote.m",
                 "input": {"item": "$.item"}}}}}}})");
  const std::string id = Start("bounded_map", R"({"items": [1, 2, 3, 4]})");
  std::vector<PolledTask> leased;
  for (int i = 0; i < 2; ++i) {
    auto task = engine_->PollTask({"remote.m"}, "w1", Duration(10'000));
    ASSERT_TRUE(task.has_value());
    leased.push_back(*task);
  }
  // Both were scheduled by one decision; a third would be queued by now.
  EXPECT_FALSE(engine_->PollTask({"remote.m"}, "w1", Duration(0)).has_value());
  EXPECT_EQ(CountEvents(id, "STEP_SCHEDULED", "work"), 2u);
  size_t completed = 0;
  while (!leased.empty()) {
    PolledTask task = leased.front();
    leased.erase(leased.begin());
    const int item = J(task.input_json)["item"].get<int>();
    ASSERT_TRUE(
        engine_->CompleteTask(task.task_token, dsl::DumpJson({{"done", item}}))
            .ok());
    ++completed;
    if (completed <= 2) {
      // Each completion lets exactly one more iteration start.
      auto next = engine_->PollTask({"remote.m"}, "w1", Duration(10'000));
      ASSERT_TRUE(next.has_value());
      leased.push_back(*next);
      EXPECT_FALSE(
          engine_->PollTask({"remote.m"}, "w1", Duration(0)).has_value());
      EXPECT_EQ(CountEvents(id, "STEP_SCHEDULED", "work"), 2u + completed);
    }
  }
  auto r = Await(id);
  EXPECT_EQ(r.status(), RUN_STATUS_COMPLETED);
  EXPECT_EQ(J(r.output_json()),
            J(R"([{"done": 1}, {"done": 2}, {"done": 3}, {"done": 4}])"));
}

// --------------------------------------------------------------- succeed/fail

TEST_F(EngineStepsTest, SucceedOutputTemplate) {
  Open();
  Register(R"({"name": "succeed", "start_at": "a", "steps": {
    "a": {"type": "task", "activity": "test.record", "next": "done"},
    "done": {"type": "succeed", "output": {
      "by": "$.steps.a.output.step", "msg": "hi {{$.input.name}}",
      "run": "$.run.workflow"}}}})");
  const std::string id = Start("succeed", R"({"name": "Bo"})");
  auto r = Await(id);
  EXPECT_EQ(r.status(), RUN_STATUS_COMPLETED);
  EXPECT_EQ(J(r.output_json()),
            J(R"({"by": "a", "msg": "hi Bo", "run": "succeed"})"));
  EXPECT_EQ(EventTypes(id).back(), "RUN_COMPLETED");
}

TEST_F(EngineStepsTest, FailStepCompensatesByDefault) {
  Open();
  Register(R"({"name": "fail_comp", "start_at": "a", "steps": {
    "a": {"type": "task", "activity": "test.record", "next": "no",
          "compensate": {"activity": "test.record"}},
    "no": {"type": "fail", "error": "Rejected", "message": "no {{$.input.x}}"}}})");
  const std::string id = Start("fail_comp", R"({"x": 5})");
  auto r = Await(id);
  EXPECT_EQ(r.status(), RUN_STATUS_COMPENSATED);
  EXPECT_EQ(r.error(), "Rejected");
  EXPECT_EQ(r.error_message(), "no 5");
  EXPECT_THAT(journal_.Steps(id), ElementsAre("a", "~a"));
  EXPECT_THAT(EventTypes(id, "no"), ElementsAre("STEP_FAILED"));
  EXPECT_EQ(EventTypes(id).back(), "RUN_COMPENSATED");
}

TEST_F(EngineStepsTest, FailStepWithOnFailureFailDoesNotCompensate) {
  Open();
  Register(R"({"name": "fail_fail", "start_at": "a", "on_failure": "fail",
    "steps": {
    "a": {"type": "task", "activity": "test.record", "next": "no",
          "compensate": {"activity": "test.record"}},
    "no": {"type": "fail", "error": "Rejected", "message": "$.input.x"}}})");
  const std::string id = Start("fail_fail", R"({"x": {"k": 1}})");
  auto r = Await(id);
  EXPECT_EQ(r.status(), RUN_STATUS_FAILED);
  EXPECT_EQ(r.error(), "Rejected");
  EXPECT_EQ(r.error_message(), R"({"k":1})");  // Always text.
  EXPECT_THAT(journal_.Steps(id), ElementsAre("a"));
  EXPECT_EQ(EventTypes(id).back(), "RUN_FAILED");
  EXPECT_EQ(CountEvents(id, "COMPENSATION_STARTED"), 0u);
}

TEST_F(EngineStepsTest, FailStepWithOnFailureSuspendParksTheRun) {
  Open();
  Register(R"({"name": "fail_suspend", "start_at": "no",
    "on_failure": "suspend",
    "steps": {"no": {"type": "fail", "error": "Rejected"}}})");
  const std::string id = Start("fail_suspend");
  auto r = Await(id);
  EXPECT_EQ(r.status(), RUN_STATUS_SUSPENDED);
  EXPECT_EQ(r.error(), "Rejected");
  EXPECT_THAT(r.current_steps(), ElementsAre("no"));
  EXPECT_EQ(EventTypes(id).back(), "RUN_SUSPENDED");
}

// --------------------------------------------------------------- retries

TEST_F(EngineStepsTest, RetryWaitsForTheBackoffOnTheClock) {
  Open(/*manual_clock=*/true);
  Register(R"({"name": "backoff", "start_at": "x", "steps": {
    "x": {"type": "task", "activity": "test.record",
          "input": {"error": "Flaky", "fail_times": 2},
          "retry": {"max_attempts": 3, "initial_interval": "10s",
                    "backoff_coefficient": 2.0}}}})");
  const std::string id = Start("backoff");
  AwaitUntil(id, [&](const persistence::RunRecord&) {
    return CountEvents(id, "STEP_RETRY_SCHEDULED", "x") == 1;
  });
  Advance(Duration(9'999));
  EXPECT_EQ(engine_->SignalRun(id, "nudge", "{}").code(), StatusCode::kOk);
  EXPECT_EQ(CountEvents(id, "STEP_SCHEDULED", "x"), 1u);
  EXPECT_THAT(journal_.Steps(id), ElementsAre("x"));
  Advance(Duration(1));
  AwaitUntil(id, [&](const persistence::RunRecord&) {
    return CountEvents(id, "STEP_RETRY_SCHEDULED", "x") == 2;
  });
  EXPECT_THAT(journal_.Steps(id), ElementsAre("x", "x"));
  // The second backoff doubles.
  Advance(Duration(19'999));
  EXPECT_EQ(engine_->SignalRun(id, "nudge", "{}").code(), StatusCode::kOk);
  EXPECT_EQ(CountEvents(id, "STEP_SCHEDULED", "x"), 2u);
  Advance(Duration(1));
  auto r = Await(id);
  EXPECT_EQ(r.status(), RUN_STATUS_COMPLETED);
  EXPECT_EQ(J(r.output_json()), J(R"({"step": "x", "attempt": 3})"));
  auto retries = Events(id, "STEP_RETRY_SCHEDULED", "x");
  ASSERT_EQ(retries.size(), 2u);
  EXPECT_EQ(J(retries[0].detail_json())["delay_ms"], 10'000);
  EXPECT_EQ(J(retries[1].detail_json())["delay_ms"], 20'000);
  EXPECT_EQ(retries[0].attempt(), 2u);
  EXPECT_THAT(EventTypes(id, "x"),
              ElementsAre("STEP_SCHEDULED", "STEP_STARTED", "STEP_FAILED",
                          "STEP_RETRY_SCHEDULED", "STEP_SCHEDULED",
                          "STEP_STARTED", "STEP_FAILED", "STEP_RETRY_SCHEDULED",
                          "STEP_SCHEDULED", "STEP_STARTED", "STEP_COMPLETED"));
}

TEST_F(EngineStepsTest, RetriesExhaustedFailTheRun) {
  Open();
  Register(R"({"name": "exhaust", "start_at": "x", "on_failure": "fail",
    "steps": {"x": {"type": "task", "activity": "test.record",
      "input": {"error": "Flaky"},
      "retry": {"max_attempts": 3, "initial_interval": "1ms"}}}})");
  const std::string id = Start("exhaust");
  auto r = Await(id);
  EXPECT_EQ(r.status(), RUN_STATUS_FAILED);
  EXPECT_EQ(r.error(), "Flaky");
  EXPECT_EQ(r.error_message(), "failed on purpose");
  EXPECT_THAT(journal_.Steps(id), ElementsAre("x", "x", "x"));
  EXPECT_EQ(CountEvents(id, "STEP_FAILED", "x"), 3u);
  EXPECT_EQ(CountEvents(id, "STEP_RETRY_SCHEDULED", "x"), 2u);
}

TEST_F(EngineStepsTest, NonRetryableErrorsAreNotRetried) {
  Open();
  Register(R"({"name": "nonretry", "start_at": "x", "on_failure": "fail",
    "steps": {"x": {"type": "task", "activity": "test.record",
      "input": {"error": "$.input.error", "non_retryable": "$.input.flag"},
      "retry": {"max_attempts": 5, "initial_interval": "1ms",
                "non_retryable_errors": ["OutOfStock"]}}}})");
  const std::string listed =
      Start("nonretry", R"({"error": "OutOfStock", "flag": false})");
  const std::string flagged =
      Start("nonretry", R"({"error": "Other", "flag": true})");
  const std::string retried =
      Start("nonretry", R"({"error": "Other", "flag": false})");
  auto r = Await(listed);
  EXPECT_EQ(r.status(), RUN_STATUS_FAILED);
  EXPECT_EQ(r.error(), "OutOfStock");
  EXPECT_THAT(journal_.Steps(listed), ElementsAre("x"));
  EXPECT_EQ(CountEvents(listed, "STEP_RETRY_SCHEDULED"), 0u);
  r = Await(flagged);
  EXPECT_EQ(r.status(), RUN_STATUS_FAILED);
  EXPECT_EQ(r.error(), "Other");
  EXPECT_THAT(journal_.Steps(flagged), ElementsAre("x"));
  r = Await(retried);
  EXPECT_EQ(r.status(), RUN_STATUS_FAILED);
  EXPECT_EQ(journal_.Steps(retried).size(), 5u);
}

// --------------------------------------------------------------- catch

TEST_F(EngineStepsTest, CatchRoutesAndExposesTheError) {
  Open();
  Register(R"({"name": "catcher", "start_at": "x", "steps": {
    "x": {"type": "task", "activity": "test.record",
          "input": {"error": "$.input.error"}, "retry": {"max_attempts": 1},
          "catch": [{"errors": ["Boom"], "next": "on_boom"},
                    {"errors": ["*"], "next": "on_any"}],
          "next": "unreached"},
    "unreached": {"type": "succeed"},
    "on_boom": {"type": "task", "activity": "test.record",
                "input": {"output": {"caught": "$.steps.x.error"}}},
    "on_any": {"type": "task", "activity": "builtin.echo",
               "input": {"any": "$.steps.x.error.error"}}}})");
  const std::string boom = Start("catcher", R"({"error": "Boom"})");
  const std::string other = Start("catcher", R"({"error": "Weird"})");
  auto r = Await(boom);
  EXPECT_EQ(r.status(), RUN_STATUS_COMPLETED);
  EXPECT_EQ(
      J(r.output_json()),
      J(R"({"caught": {"error": "Boom", "message": "failed on purpose"}})"));
  EXPECT_THAT(journal_.Steps(boom), ElementsAre("x", "on_boom"));
  EXPECT_THAT(EventTypes(boom, "x"),
              ElementsAre("STEP_SCHEDULED", "STEP_STARTED", "STEP_FAILED",
                          "STEP_CAUGHT"));
  EXPECT_EQ(J(Events(boom, "STEP_CAUGHT", "x")[0].detail_json())["next"],
            "on_boom");
  r = Await(other);
  EXPECT_EQ(r.status(), RUN_STATUS_COMPLETED);
  EXPECT_EQ(J(r.output_json()), J(R"({"any": "Weird"})"));
}

TEST_F(EngineStepsTest, CatchAppliesOnlyAfterRetriesAreExhausted) {
  Open();
  Register(R"({"name": "catch_retry", "start_at": "x", "steps": {
    "x": {"type": "task", "activity": "test.record",
          "input": {"error": "Boom"},
          "retry": {"max_attempts": 2, "initial_interval": "1ms"},
          "catch": [{"errors": ["*"], "next": "after"}]},
    "after": {"type": "succeed", "output": "$.steps.x.error.error"}}})");
  const std::string id = Start("catch_retry");
  auto r = Await(id);
  EXPECT_EQ(r.status(), RUN_STATUS_COMPLETED);
  EXPECT_EQ(J(r.output_json()), "Boom");
  EXPECT_THAT(journal_.Steps(id), ElementsAre("x", "x"));
}

TEST_F(EngineStepsTest, PathNotFoundIsACatchableStepFailure) {
  Open();
  Register(R"({"name": "missing", "start_at": "x", "steps": {
    "x": {"type": "task", "activity": "test.record",
          "input": {"v": "$.input.nope"},
          "catch": [{"errors": ["PathNotFound"], "next": "after"}]},
    "after": {"type": "succeed", "output": {"e": "$.steps.x.error.error"}}}})");
  const std::string id = Start("missing");
  auto r = Await(id);
  EXPECT_EQ(r.status(), RUN_STATUS_COMPLETED);
  EXPECT_EQ(J(r.output_json()), J(R"({"e": "PathNotFound"})"));
  EXPECT_TRUE(journal_.Steps(id).empty());
}

// --------------------------------------------------------------- limits

class EngineStepLimitTest : public EngineTest {};

TEST_F(EngineStepLimitTest, EndlessChoiceLoopFailsWithStepLimitExceeded) {
  options_.max_step_transitions = 6;
  Open();
  Register(R"({"name": "loop", "start_at": "a", "on_failure": "fail",
    "steps": {
    "a": {"type": "task", "activity": "test.record", "next": "again"},
    "again": {"type": "choice", "choices": [
      {"when": {"path": "$.input.stop", "op": "exists"}, "next": "end"}],
      "default": "a"},
    "end": {"type": "succeed"}}})");
  const std::string id = Start("loop");
  auto r = Await(id);
  EXPECT_EQ(r.status(), RUN_STATUS_FAILED);
  EXPECT_EQ(r.error(), "StepLimitExceeded");
  // Six steps started (a, again, a, again, a, again); the seventh failed.
  EXPECT_THAT(journal_.Steps(id), ElementsAre("a", "a", "a"));
  auto failed = Events(id, "STEP_FAILED");
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].step(), "a");
  EXPECT_EQ(EventTypes(id).back(), "RUN_FAILED");
}

TEST_F(EngineStepLimitTest, LongHistoryFailsWithHistoryLimitExceeded) {
  // Each task step writes three events (scheduled, started, completed), so a
  // limit of 10 is crossed during the third step, before the fourth starts.
  options_.max_history_events = 10;
  Open();
  Register(R"({"name": "long", "start_at": "a", "on_failure": "compensate",
    "steps": {
    "a": {"type": "task", "activity": "test.record", "next": "b",
          "compensate": {"activity": "test.record"}},
    "b": {"type": "task", "activity": "test.record", "next": "c"},
    "c": {"type": "task", "activity": "test.record", "next": "d"},
    "d": {"type": "task", "activity": "test.record"}}})");
  const std::string id = Start("long");
  auto r = Await(id);
  EXPECT_EQ(r.status(), RUN_STATUS_COMPENSATED);
  EXPECT_EQ(r.error(), "HistoryLimitExceeded");
  // The run stopped moving forward; its compensation still ran.
  EXPECT_THAT(journal_.Steps(id), ElementsAre("a", "b", "c", "~a"));
}

// --------------------------------------------------------------- start

TEST_F(EngineStepsTest, StartingTheSameRunIdTwiceStartsOneRun) {
  Open();
  Register(R"({"name": "once", "start_at": "a", "steps": {
    "a": {"type": "task", "activity": "test.record"}}})");
  StartRunRequest request;
  request.workflow = "once";
  request.run_id = "order-42";
  request.input_json = R"({"n": 1})";
  auto first = engine_->StartRun(request);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_FALSE(first->already_started);
  EXPECT_EQ(first->run_id, "order-42");
  EXPECT_EQ(first->version, 1u);
  request.input_json = R"({"n": 2})";
  auto second = engine_->StartRun(request);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_TRUE(second->already_started);
  EXPECT_EQ(second->run_id, "order-42");
  EXPECT_EQ(second->version, 1u);
  auto r = Await("order-42");
  EXPECT_EQ(r.status(), RUN_STATUS_COMPLETED);
  EXPECT_EQ(J(r.input_json()), J(R"({"n": 1})"));
  // Once the run ended (and left memory), a third start is still idempotent.
  auto third = engine_->StartRun(request);
  ASSERT_TRUE(third.ok()) << third.status().ToString();
  EXPECT_TRUE(third->already_started);
  EXPECT_THAT(journal_.Steps("order-42"), ElementsAre("a"));
  EXPECT_EQ(CountEvents("order-42", "RUN_STARTED"), 1u);
  ExpectSeqContiguous("order-42");
}

TEST_F(EngineStepsTest, StartOfAnUnknownWorkflowIsNotFound) {
  Open();
  StartRunRequest request;
  request.workflow = "nope";
  EXPECT_EQ(engine_->StartRun(request).status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace sagaflow::engine::testing
