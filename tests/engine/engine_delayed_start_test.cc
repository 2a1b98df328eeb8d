// Delayed starts (`run start --delay/--at`): the run exists at once, its
// first step waits on a durable timer that survives a restart, a cancel
// during the wait ends it, and the run timeout counts from the real start.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "tests/engine/engine_harness.h"

namespace sagaflow::engine::testing {
namespace {

using storage::RUN_STATUS_CANCELLED;
using storage::RUN_STATUS_COMPLETED;
using storage::RUN_STATUS_RUNNING;
using ::testing::ElementsAre;

using EngineDelayedStartTest = EngineTest;

constexpr char kTwoSteps[] = R"({"name": "later", "start_at": "a",
  "timeout": "1m",
  "steps": {"a": {"type": "task", "activity": "test.record", "next": "b"},
            "b": {"type": "task", "activity": "test.record"}}})";

std::string StartDelayed(Engine& engine, Clock& clock, Duration delay,
                         const std::string& run_id = "") {
  StartRunRequest request;
  request.workflow = "later";
  request.run_id = run_id;
  request.start_at_ms = ToUnixMillis(clock.Now() + delay);
  auto started = engine.StartRun(std::move(request));
  EXPECT_TRUE(started.ok()) << started.status().ToString();
  return started.ok() ? started->run_id : "";
}

TEST_F(EngineDelayedStartTest, FirstStepWaitsForTheStartTime) {
  Open(/*manual_clock=*/true);
  Register(kTwoSteps);
  const std::string id =
      StartDelayed(*engine_, *manual_clock_, std::chrono::minutes(10));
  auto run = engine_->GetRun(id);
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->status(), RUN_STATUS_RUNNING);
  EXPECT_EQ(run->start_at_ms(),
            ToUnixMillis(manual_clock_->Now()) + 10 * 60'000);
  EXPECT_TRUE(run->current_steps().empty());
  EXPECT_THAT(EventTypes(id), ElementsAre("RUN_STARTED", "TIMER_STARTED"));
  EXPECT_EQ(J(History(id)[0].detail_json())["start_at"],
            FormatRfc3339(FromUnixMillis(run->start_at_ms())));

  // Nine minutes pass (more than the run timeout): nothing runs, nothing
  // times out, since the run timeout starts with the first step.
  Advance(std::chrono::minutes(9));
  EXPECT_THAT(EventTypes(id), ElementsAre("RUN_STARTED", "TIMER_STARTED"));
  EXPECT_TRUE(journal_.Steps(id).empty());

  Advance(std::chrono::minutes(1));
  EXPECT_EQ(AwaitUntil(id, HasEvents(id, "STEP_SCHEDULED", "a", 1)).status(),
            RUN_STATUS_RUNNING);
  EXPECT_EQ(Await(id).status(), RUN_STATUS_COMPLETED);
  EXPECT_THAT(journal_.Steps(id), ElementsAre("a", "b"));
  const auto types = EventTypes(id);
  ASSERT_GE(types.size(), 4u);
  EXPECT_EQ(types[2], "TIMER_FIRED");
  EXPECT_EQ(types[3], "STEP_SCHEDULED");
}

TEST_F(EngineDelayedStartTest, StartTimeInThePastStartsAtOnce) {
  Open(/*manual_clock=*/true);
  Register(kTwoSteps);
  const std::string id =
      StartDelayed(*engine_, *manual_clock_, -std::chrono::minutes(1));
  EXPECT_EQ(Await(id).status(), RUN_STATUS_COMPLETED);
  EXPECT_EQ(CountEvents(id, "TIMER_STARTED"), 0u);
  EXPECT_EQ(engine_->GetRun(id)->start_at_ms(), 0);
}

TEST_F(EngineDelayedStartTest, TheWaitSurvivesARestart) {
  Open(/*manual_clock=*/true);
  Register(kTwoSteps);
  const std::string id =
      StartDelayed(*engine_, *manual_clock_, std::chrono::minutes(5));
  Reopen();
  Advance(std::chrono::minutes(4));
  EXPECT_EQ(CountEvents(id, "TIMER_FIRED"), 0u);
  Reopen();
  Advance(std::chrono::minutes(1));
  EXPECT_EQ(Await(id).status(), RUN_STATUS_COMPLETED);
  EXPECT_EQ(CountEvents(id, "TIMER_FIRED"), 1u);
  EXPECT_THAT(journal_.Steps(id), ElementsAre("a", "b"));
}

TEST_F(EngineDelayedStartTest, CancelDuringTheWaitEndsTheRun) {
  Open(/*manual_clock=*/true);
  Register(kTwoSteps);
  const std::string id =
      StartDelayed(*engine_, *manual_clock_, std::chrono::minutes(5));
  ASSERT_TRUE(engine_->CancelRun(id, "not needed").ok());
  EXPECT_EQ(Await(id).status(), RUN_STATUS_CANCELLED);
  Advance(std::chrono::minutes(5));
  EXPECT_EQ(CountEvents(id, "TIMER_FIRED"), 0u);
  EXPECT_TRUE(journal_.Steps(id).empty());
}

TEST_F(EngineDelayedStartTest, SameRunIdIsIdempotent) {
  Open(/*manual_clock=*/true);
  Register(kTwoSteps);
  const std::string id =
      StartDelayed(*engine_, *manual_clock_, std::chrono::minutes(5), "once");
  StartRunRequest again;
  again.workflow = "later";
  again.run_id = "once";
  again.start_at_ms = ToUnixMillis(manual_clock_->Now());
  auto second = engine_->StartRun(std::move(again));
  ASSERT_TRUE(second.ok());
  EXPECT_TRUE(second->already_started);
  EXPECT_EQ(CountEvents(id, "TIMER_STARTED"), 1u);
}

}  // namespace
}  // namespace sagaflow::engine::testing
