// The engine's sagas end to end: compensation order, compensate_on_failure,
// parallel and map compensation, compensation retries and
// COMPENSATION_FAILED, cancel, and resume from every resumable status.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/engine/engine_harness.h"

namespace sagaflow::engine::testing {
namespace {

using storage::RUN_STATUS_CANCELLED;
using storage::RUN_STATUS_COMPENSATED;
using storage::RUN_STATUS_COMPENSATION_FAILED;
using storage::RUN_STATUS_COMPLETED;
using storage::RUN_STATUS_FAILED;
using storage::RUN_STATUS_SUSPENDED;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::UnorderedElementsAre;

using EngineSagaTest = EngineTest;

// The steps of the run's history events of `type`, in order.
std::vector<std::string> StepsOf(
    const std::vector<persistence::HistoryEventRecord>& events) {
  std::vector<std::string> out;
  for (const auto& e : events) out.push_back(e.step());
  return out;
}

// --------------------------------------------------------------- order

// s1..s5, each with a compensation; step `failing` fails for good.
class FiveStepSagaTest : public EngineTest,
                         public ::testing::WithParamInterface<int> {};

TEST_P(FiveStepSagaTest, CompensatesCompletedStepsInReverse) {
  const int failing = GetParam();
  Open();
  std::string steps;
  for (int i = 1; i <= 5; ++i) {
    const std::string name = "s" + std::to_string(i);
    if (!steps.empty()) steps += ",";
    steps += "\"" + name + R"(": {"type": "task", "activity": "test.record",)";
    steps +=
        i == failing
            ? R"("input": {"error": "Boom"}, "retry": {"max_attempts": 1},)"
            : R"("input": {"output": {"id": ")" + name + "\"}},";
    steps += R"("compensate": {"activity": "test.record",
                 "input": {"undo": "$.steps.)" +
             name + R"(.output.id"}})";
    if (i < 5) steps += R"(, "next": "s)" + std::to_string(i + 1) + "\"";
    steps += "}";
  }
  Register(R"({"name": "five", "start_at": "s1", "steps": {)" + steps + "}}");
  const std::string id = Start("five");
  auto r = Await(id);
  EXPECT_EQ(r.status(), RUN_STATUS_COMPENSATED);
  EXPECT_EQ(r.error(), "Boom");
  std::vector<std::string> expected;
  for (int i = 1; i <= failing; ++i)
    expected.push_back("s" + std::to_string(i));
  for (int i = failing - 1; i >= 1; --i) {
    expected.push_back("~s" + std::to_string(i));
  }
  EXPECT_THAT(journal_.Steps(id), ElementsAreArray(expected));
  // Compensation inputs read the context: each undoes its own step.
  for (const Execution& e : journal_.All()) {
    if (e.run_id == id && e.compensation) {
      EXPECT_EQ(J(e.input_json), J(R"({"undo": ")" + e.step + "\"}"));
    }
  }
  std::vector<std::string> compensated;
  for (int i = failing - 1; i >= 1; --i) {
    compensated.push_back("s" + std::to_string(i));
  }
  EXPECT_THAT(StepsOf(Events(id, "COMPENSATION_STARTED")),
              ElementsAreArray(compensated));
  EXPECT_THAT(StepsOf(Events(id, "COMPENSATION_COMPLETED")),
              ElementsAreArray(compensated));
  EXPECT_EQ(CountEvents(id, "COMPENSATION_FAILED"), 0u);
  EXPECT_EQ(EventTypes(id).back(), "RUN_COMPENSATED");
  EXPECT_TRUE(r.current_steps().empty());
}

INSTANTIATE_TEST_SUITE_P(FailingStep, FiveStepSagaTest,
                         ::testing::Values(1, 2, 3, 4, 5));

TEST_F(EngineSagaTest, CompensateOnFailureUndoesTheFailedStepToo) {
  Open();
  Register(R"({"name": "cof", "start_at": "a", "steps": {
    "a": {"type": "task", "activity": "test.record", "next": "b",
          "compensate": {"activity": "test.record"}},
    "b": {"type": "task", "activity": "test.record", "next": "c",
          "input": {"error": "Unknown"}, "retry": {"max_attempts": 1},
          "compensate": {"activity": "test.record"},
          "compensate_on_failure": true},
    "c": {"type": "task", "activity": "test.record",
          "compensate": {"activity": "test.record"}}}})");
  const std::string id = Start("cof");
  auto r = Await(id);
  EXPECT_EQ(r.status(), RUN_STATUS_COMPENSATED);
  EXPECT_EQ(r.error(), "Unknown");
  EXPECT_THAT(journal_.Steps(id), ElementsAre("a", "b", "~b", "~a"));
}

TEST_F(EngineSagaTest, StepWithoutCompensationIsSkipped) {
  Open();
  Register(R"({"name": "skip", "start_at": "a", "steps": {
    "a": {"type": "task", "activity": "test.record", "next": "b",
          "compensate": {"activity": "test.record"}},
    "b": {"type": "task", "activity": "test.record", "next": "c"},
    "c": {"type": "task", "activity": "test.record",
          "input": {"error": "Boom"}, "retry": {"max_attempts": 1}}}})");
  const std::string id = Start("skip");
  auto r = Await(id);
  EXPECT_EQ(r.status(), RUN_STATUS_COMPENSATED);
  EXPECT_THAT(journal_.Steps(id), ElementsAre("a", "b", "c", "~a"));
}

TEST_F(EngineSagaTest, ParallelFailureCompensatesBothBranches) {
  Open();
  Register(R"({"name": "par_saga", "start_at": "before", "steps": {
    "before": {"type": "task", "activity": "test.record", "next": "fan",
               "compensate": {"activity": "test.record"}},
    "fan": {"type": "parallel", "branches": [
      {"start_at": "a1", "steps": {
        "a1": {"type": "task", "activity": "test.record", "next": "gate",
               "compensate": {"activity": "test.record"}},
        "gate": {"type": "signal", "signal": "go", "next": "a2"},
        "a2": {"type": "task", "activity": "test.record",
               "input": {"error": "Boom", "non_retryable": true},
               "compensate": {"activity": "test.record"}}}},
      {"start_at": "b1", "steps": {
        "b1": {"type": "task", "activity": "test.record", "next": "b2",
               "compensate": {"activity": "test.record"}},
        "b2": {"type": "task", "activity": "test.record",
               "compensate": {"activity": "test.record"}}}}]}}})");
  const std::string id = Start("par_saga");
  // Branch b is done and branch a waits at its gate.
  AwaitUntil(id, [](const persistence::RunRecord& r) {
    return r.current_steps_size() == 1 && r.current_steps(0) == "gate";
  });
  ASSERT_TRUE(engine_->SignalRun(id, "go", "{}").ok());
  auto r = Await(id);
  EXPECT_EQ(r.status(), RUN_STATUS_COMPENSATED);
  EXPECT_EQ(r.error(), "Boom");
  std::vector<std::string> steps = journal_.Steps(id);
  ASSERT_EQ(steps.size(), 9u);
  std::vector<std::string> forward(steps.begin(), steps.begin() + 5);
  std::vector<std::string> undo(steps.begin() + 5, steps.end());
  EXPECT_EQ(forward.front(), "before");
  EXPECT_EQ(forward.back(), "a2");
  EXPECT_THAT(undo, UnorderedElementsAre("~a1", "~b1", "~b2", "~before"));
  EXPECT_EQ(undo.back(), "~before");
  // Reverse order of completion: within branch b, b2 before b1.
  const auto pos = [&](const std::string& s) {
    return std::find(undo.begin(), undo.end(), s) - undo.begin();
  };
  EXPECT_LT(pos("~b2"), pos("~b1"));
  EXPECT_THAT(EventTypes(id, "a2"),
              ElementsAre("STEP_SCHEDULED", "STEP_STARTED", "STEP_FAILED"));
  // a2 had no chance to complete; the gate is not a task.
  EXPECT_EQ(CountEvents(id, "COMPENSATION_STARTED", "a2"), 0u);
}

TEST_F(EngineSagaTest, MapIterationsAreCompensatedInReverse) {
  Open();
  Register(R"({"name": "map_saga", "start_at": "m", "steps": {
    "m": {"type": "map", "items": "$.input.items", "max_concurrency": 1,
          "next": "boom", "iterator": {"start_at": "reserve", "steps": {
      "reserve": {"type": "task", "activity": "test.record",
                  "input": {"output": {"sku": "$.item"}},
                  "compensate": {"activity": "test.record",
                                 "input": {"release": "$.steps.reserve.output.sku",
                                           "index": "$.index"}}}}}},
    "boom": {"type": "fail", "error": "Boom"}}})");
  const std::string id = Start("map_saga", R"({"items": ["x", "y", "z"]})");
  auto r = Await(id);
  EXPECT_EQ(r.status(), RUN_STATUS_COMPENSATED);
  EXPECT_EQ(r.error(), "Boom");
  EXPECT_THAT(journal_.Steps(id),
              ElementsAre("reserve", "reserve", "reserve", "~reserve",
                          "~reserve", "~reserve"));
  std::vector<dsl::Json> undo;
  for (const Execution& e : journal_.All()) {
    if (e.run_id == id && e.compensation) undo.push_back(J(e.input_json));
  }
  EXPECT_THAT(undo, ElementsAre(J(R"({"release": "z", "index": 2})"),
                                J(R"({"release": "y", "index": 1})"),
                                J(R"({"release": "x", "index": 0})")));
}

// --------------------------------------------------------------- failures

TEST_F(EngineSagaTest, CompensationFailedThenResumeFinishesTheRest) {
  Open();
  Register(R"({"name": "comp_fail", "start_at": "a", "steps": {
    "a": {"type": "task", "activity": "test.record", "next": "b",
          "compensate": {"activity": "test.record"}},
    "b": {"type": "task", "activity": "test.record", "next": "c",
          "compensate": {"activity": "test.record",
                         "input": {"error": "Stuck", "fail_times": 2},
                         "retry": {"max_attempts": 2, "initial_interval": "1ms"}}},
    "c": {"type": "task", "activity": "test.record", "next": "d",
          "compensate": {"activity": "test.record"}},
    "d": {"type": "task", "activity": "test.record",
          "input": {"error": "Boom"}, "retry": {"max_attempts": 1}}}})");
  const std::string id = Start("comp_fail");
  auto r = Await(id);
  EXPECT_EQ(r.status(), RUN_STATUS_COMPENSATION_FAILED);
  EXPECT_EQ(r.error(), "Stuck");
  EXPECT_EQ(r.error_message(),
            "compensation of step b failed: failed on purpose");
  EXPECT_THAT(r.current_steps(), ElementsAre("b"));
  EXPECT_THAT(journal_.Steps(id),
              ElementsAre("a", "b", "c", "d", "~c", "~b", "~b"));
  auto failures = Events(id, "COMPENSATION_FAILED", "b");
  ASSERT_EQ(failures.size(), 2u);
  EXPECT_EQ(J(failures[0].detail_json())["final"], false);
  EXPECT_EQ(J(failures[1].detail_json())["final"], true);
  // Resume retries b's compensation (attempt 3 succeeds) and goes on with a,
  // without running c's again.
  ASSERT_TRUE(engine_->ResumeRun(id).ok());
  r = Await(id);
  EXPECT_EQ(r.status(), RUN_STATUS_COMPENSATED);
  // The run ended for its own failure, not the compensation's.
  EXPECT_EQ(r.error(), "Boom");
  EXPECT_EQ(r.error_message(), "failed on purpose");
  EXPECT_EQ(J(Events(id, "RUN_COMPENSATED")[0].detail_json())["error"], "Boom");
  EXPECT_THAT(journal_.Steps(id),
              ElementsAre("a", "b", "c", "d", "~c", "~b", "~b", "~b", "~a"));
  EXPECT_EQ(CountEvents(id, "RUN_RESUMED"), 1u);
  EXPECT_EQ(CountEvents(id, "COMPENSATION_STARTED", "c"), 1u);
  EXPECT_EQ(EventTypes(id).back(), "RUN_COMPENSATED");
  EXPECT_EQ(engine_->ResumeRun(id).code(), StatusCode::kFailedPrecondition);
}

// --------------------------------------------------------------- cancel

TEST_F(EngineSagaTest, CancelledRunWhoseCompensationFailedEndsCancelled) {
  Open();
  Register(R"({"name": "cancel_comp_fail", "start_at": "a", "steps": {
    "a": {"type": "task", "activity": "test.record", "next": "b",
          "compensate": {"activity": "test.record",
                         "input": {"error": "Stuck", "fail_times": 1},
                         "retry": {"max_attempts": 1}}},
    "b": {"type": "task", "activity": "test.block"}}})");
  const std::string id = Start("cancel_comp_fail");
  AwaitUntil(id, AtStep("b"));
  ASSERT_TRUE(engine_->CancelRun(id, "").ok());
  auto r = Await(id);
  EXPECT_EQ(r.status(), RUN_STATUS_COMPENSATION_FAILED);
  EXPECT_EQ(r.error(), "Stuck");
  ASSERT_TRUE(engine_->ResumeRun(id).ok());
  r = Await(id);
  EXPECT_EQ(r.status(), RUN_STATUS_CANCELLED);
  EXPECT_EQ(r.error(), "Cancelled");
  EXPECT_EQ(r.error_message(), "cancelled");
  EXPECT_EQ(EventTypes(id).back(), "RUN_CANCELLED");
  EXPECT_EQ(CountEvents(id, "COMPENSATION_COMPLETED", "a"), 1u);
}

TEST_F(EngineSagaTest, CancelMidRunCompensatesAndStopsTheAttempt) {
  Open();
  Register(R"({"name": "cancel_me", "start_at": "a", "steps": {
    "a": {"type": "task", "activity": "test.record", "next": "b",
          "compensate": {"activity": "test.record"}},
    "b": {"type": "task", "activity": "test.block", "next": "c",
          "compensate": {"activity": "test.record"}},
    "c": {"type": "task", "activity": "test.record"}}})");
  const std::string id = Start("cancel_me");
  AwaitUntil(id, AtStep("b"));
  ASSERT_TRUE(journal_.WaitForCount(id, "b", 1));
  ASSERT_TRUE(engine_->CancelRun(id, "customer changed their mind").ok());
  auto r = Await(id);
  EXPECT_EQ(r.status(), RUN_STATUS_CANCELLED);
  EXPECT_EQ(r.error(), "Cancelled");
  EXPECT_EQ(r.error_message(), "cancelled: customer changed their mind");
  EXPECT_TRUE(journal_.WaitForCancelled(id, "b"));
  // b never completed: only a is compensated.
  EXPECT_THAT(journal_.Steps(id), ElementsAre("a", "b", "~a"));
  auto types = EventTypes(id);
  EXPECT_EQ(types.back(), "RUN_CANCELLED");
  EXPECT_EQ(CountEvents(id, "RUN_CANCEL_REQUESTED"), 1u);
  EXPECT_EQ(CountEvents(id, "STEP_COMPLETED", "b"), 0u);
  // Cancelling again, or resuming, a cancelled run is refused.
  EXPECT_EQ(engine_->CancelRun(id, "").code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(engine_->ResumeRun(id).code(), StatusCode::kFailedPrecondition);
}

TEST_F(EngineSagaTest, CancelWithOnFailureFailEndsAtOnce) {
  Open();
  Register(R"({"name": "cancel_fail", "start_at": "a", "on_failure": "fail",
    "steps": {
    "a": {"type": "task", "activity": "test.record", "next": "b",
          "compensate": {"activity": "test.record"}},
    "b": {"type": "task", "activity": "test.block"}}})");
  const std::string id = Start("cancel_fail");
  AwaitUntil(id, AtStep("b"));
  ASSERT_TRUE(journal_.WaitForCount(id, "b", 1));
  ASSERT_TRUE(engine_->CancelRun(id, "").ok());
  // Answered once durable: the run is already CANCELLED.
  auto r = engine_->GetRun(id);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status(), RUN_STATUS_CANCELLED);
  EXPECT_EQ(r->error(), "Cancelled");
  EXPECT_TRUE(journal_.WaitForCancelled(id, "b"));
  EXPECT_THAT(journal_.Steps(id), ElementsAre("a", "b"));
  EXPECT_EQ(CountEvents(id, "COMPENSATION_STARTED"), 0u);
  auto types = EventTypes(id);
  ASSERT_GE(types.size(), 2u);
  EXPECT_EQ(types[types.size() - 2], "RUN_CANCEL_REQUESTED");
  EXPECT_EQ(types.back(), "RUN_CANCELLED");
}

TEST_F(EngineSagaTest, CancelOfAFinishedRunIsRefused) {
  Open();
  Register(R"({"name": "done", "start_at": "a", "steps": {
    "a": {"type": "task", "activity": "test.record"}}})");
  const std::string id = Start("done");
  EXPECT_EQ(Await(id).status(), RUN_STATUS_COMPLETED);
  EXPECT_EQ(engine_->CancelRun(id, "too late").code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(engine_->CancelRun("no-such-run", "").code(),
            StatusCode::kNotFound);
  EXPECT_EQ(engine_->GetRun(id)->status(), RUN_STATUS_COMPLETED);
  EXPECT_EQ(CountEvents(id, "RUN_CANCEL_REQUESTED"), 0u);
}

TEST_F(EngineSagaTest, CancelOfASuspendedRunEndsIt) {
  Open();
  Register(R"({"name": "susp_cancel", "start_at": "a", "on_failure": "suspend",
    "steps": {
    "a": {"type": "task", "activity": "test.record", "next": "b",
          "compensate": {"activity": "test.record"}},
    "b": {"type": "task", "activity": "test.record",
          "input": {"error": "Boom"}, "retry": {"max_attempts": 1}}}})");
  const std::string id = Start("susp_cancel");
  EXPECT_EQ(Await(id).status(), RUN_STATUS_SUSPENDED);
  ASSERT_TRUE(engine_->CancelRun(id, "").ok());
  auto r = Await(id);
  // on_failure: suspend does not compensate; a cancel ends the run at once.
  EXPECT_EQ(r.status(), RUN_STATUS_CANCELLED);
  EXPECT_THAT(journal_.Steps(id), ElementsAre("a", "b"));
}

// --------------------------------------------------------------- resume

TEST_F(EngineSagaTest, ResumeOfSuspendedRerunsOnlyTheFailedStep) {
  Open();
  Register(R"({"name": "suspend", "start_at": "a", "on_failure": "suspend",
    "steps": {
    "a": {"type": "task", "activity": "test.record", "next": "b"},
    "b": {"type": "task", "activity": "test.record",
          "input": {"error": "NotYet", "fail_times": 3},
          "retry": {"max_attempts": 1}, "next": "c"},
    "c": {"type": "task", "activity": "test.record",
          "input": {"b": "$.steps.b.output"}}}})");
  const std::string id = Start("suspend");
  for (int i = 0; i < 3; ++i) {
    auto r = Await(id);
    ASSERT_EQ(r.status(), RUN_STATUS_SUSPENDED) << "round " << i;
    EXPECT_EQ(r.error(), "NotYet");
    EXPECT_THAT(r.current_steps(), ElementsAre("b"));
    ASSERT_TRUE(engine_->ResumeRun(id).ok());
  }
  auto r = Await(id);
  EXPECT_EQ(r.status(), RUN_STATUS_COMPLETED);
  EXPECT_TRUE(r.error().empty());
  EXPECT_THAT(journal_.Steps(id), ElementsAre("a", "b", "b", "b", "b", "c"));
  EXPECT_EQ(J(journal_.All().back().input_json),
            J(R"({"b": {"step": "b", "attempt": 4}})"));
  EXPECT_EQ(CountEvents(id, "RUN_SUSPENDED"), 3u);
  EXPECT_EQ(CountEvents(id, "RUN_RESUMED"), 3u);
  EXPECT_EQ(CountEvents(id, "STEP_SCHEDULED", "a"), 1u);
  EXPECT_EQ(CountEvents(id, "STEP_RETRY_SCHEDULED"), 0u);
  auto resumed = Events(id, "RUN_RESUMED");
  EXPECT_EQ(J(resumed[0].detail_json())["from"], "SUSPENDED");
}

TEST_F(EngineSagaTest, ResumeOfSuspendedWaitKeepsItsDueTime) {
  Open(/*manual_clock=*/true);
  Register(R"({"name": "susp_wait", "start_at": "fan", "on_failure": "suspend",
    "steps": {
    "fan": {"type": "parallel", "next": "end", "branches": [
      {"start_at": "w", "steps": {
        "w": {"type": "wait", "duration": "10s"}}},
      {"start_at": "b", "steps": {
        "b": {"type": "task", "activity": "test.record",
              "input": {"error": "NotYet", "fail_times": 1},
              "retry": {"max_attempts": 1}}}}]},
    "end": {"type": "succeed", "output": "$.steps.fan.output"}}})");
  const std::string id = Start("susp_wait");
  EXPECT_EQ(Await(id).status(), RUN_STATUS_SUSPENDED);
  ASSERT_TRUE(engine_->ResumeRun(id).ok());
  AwaitUntil(id, [&](const persistence::RunRecord&) {
    return CountEvents(id, "STEP_COMPLETED", "b") == 1;
  });
  EXPECT_EQ(CountEvents(id, "TIMER_STARTED", "w"), 1u);
  Advance(Duration(10'000));
  auto r = Await(id);
  EXPECT_EQ(r.status(), RUN_STATUS_COMPLETED);
  EXPECT_EQ(J(r.output_json()), J(R"([{}, {"step": "b", "attempt": 2}])"));
  EXPECT_THAT(journal_.Steps(id), ElementsAre("b", "b"));
}

TEST_F(EngineSagaTest, ResumeOfFailedRunContinues) {
  Open();
  Register(R"({"name": "failed", "start_at": "a", "on_failure": "fail",
    "steps": {
    "a": {"type": "task", "activity": "test.record", "next": "b"},
    "b": {"type": "task", "activity": "test.record",
          "input": {"error": "Boom", "fail_times": 1},
          "retry": {"max_attempts": 1}, "next": "c"},
    "c": {"type": "succeed", "output": "$.steps.b.output"}}})");
  const std::string id = Start("failed");
  auto r = Await(id);
  EXPECT_EQ(r.status(), RUN_STATUS_FAILED);
  EXPECT_EQ(r.error(), "Boom");
  ASSERT_TRUE(engine_->ResumeRun(id).ok());
  r = Await(id);
  EXPECT_EQ(r.status(), RUN_STATUS_COMPLETED);
  EXPECT_EQ(J(r.output_json()), J(R"({"step": "b", "attempt": 2})"));
  EXPECT_THAT(journal_.Steps(id), ElementsAre("a", "b", "b"));
  auto types = EventTypes(id);
  const auto failed = std::find(types.begin(), types.end(), "RUN_FAILED");
  ASSERT_NE(failed, types.end());
  EXPECT_EQ(*(failed + 1), "RUN_RESUMED");
  EXPECT_EQ(J(Events(id, "RUN_RESUMED")[0].detail_json())["from"], "FAILED");
}

TEST_F(EngineSagaTest, ResumeOfRunningOrCompletedRunIsRefused) {
  Open();
  Register(R"({"name": "not_resumable", "start_at": "s", "steps": {
    "s": {"type": "signal", "signal": "go"}}})");
  const std::string id = Start("not_resumable");
  AwaitUntil(id, AtStep("s"));
  EXPECT_EQ(engine_->ResumeRun(id).code(), StatusCode::kFailedPrecondition);
  ASSERT_TRUE(engine_->SignalRun(id, "go", R"({"x": 1})").ok());
  auto r = Await(id);
  EXPECT_EQ(r.status(), RUN_STATUS_COMPLETED);
  EXPECT_EQ(J(r.output_json()), J(R"({"x": 1})"));
  EXPECT_EQ(engine_->ResumeRun(id).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(engine_->ResumeRun("no-such-run").code(), StatusCode::kNotFound);
  EXPECT_EQ(CountEvents(id, "RUN_RESUMED"), 0u);
}

TEST_F(EngineSagaTest, ResumeOfCompensatedRunIsRefused) {
  Open();
  Register(R"({"name": "compensated", "start_at": "a", "steps": {
    "a": {"type": "task", "activity": "test.record",
          "input": {"error": "Boom"}, "retry": {"max_attempts": 1}}}})");
  const std::string id = Start("compensated");
  EXPECT_EQ(Await(id).status(), RUN_STATUS_COMPENSATED);
  EXPECT_EQ(engine_->ResumeRun(id).code(), StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace sagaflow::engine::testing
