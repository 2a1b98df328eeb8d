// The schedule runner over a real engine and RocksDB store, with a manual
// clock: fire times, each overlap policy, catch-up after downtime, pause,
// trigger, validation, and no double fire across a restart.
#include "schedules/runner.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <mutex>
#include <string>
#include <vector>

#include "tests/engine/engine_harness.h"

namespace sagaflow::schedules {
namespace {

using engine::testing::EngineTest;
using engine::testing::J;
using persistence::RunRecord;
using storage::RUN_STATUS_CANCELLED;
using storage::RUN_STATUS_COMPLETED;
using storage::RUN_STATUS_RUNNING;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr int64_t kMinute = 60'000;

// "quick" completes at once; "held" waits for signal "go", so its run stays
// RUNNING until the test lets it finish.
constexpr char kQuick[] = R"({"name": "quick", "start_at": "a",
  "steps": {"a": {"type": "task", "activity": "builtin.noop"}}})";
constexpr char kHeld[] = R"({"name": "held", "start_at": "wait",
  "steps": {"wait": {"type": "signal", "signal": "go"}}})";

enum Outcome { kStarted = 1, kSkipped = 2, kMissed = 3, kBuffered = 4 };

class RunnerTest : public EngineTest {
 protected:
  void SetUp() override {
    EngineTest::SetUp();
    // The engine's threads call the hook while CloseRunner may destroy the
    // runner: the lock keeps a call in flight from outliving it.
    options_.on_run_stopped = [this](const RunRecord& run) {
      std::lock_guard<std::mutex> lock(hook_mu_);
      if (runner_ != nullptr) runner_->OnRunStopped(run);
    };
    Open(/*manual_clock=*/true);
    Register(kQuick);
    Register(kHeld);
    OpenRunner();
  }
  void TearDown() override {
    CloseRunner();
    EngineTest::TearDown();
  }

  void OpenRunner() {
    RunnerOptions options;
    options.clock = manual_clock_.get();
    options.start_thread = false;
    auto runner = Runner::Open(store_.get(), engine_.get(), options);
    ASSERT_TRUE(runner.ok()) << runner.status().ToString();
    std::lock_guard<std::mutex> lock(hook_mu_);
    runner_ = std::move(runner).value();
  }
  void CloseRunner() {
    std::unique_ptr<Runner> closing;
    {
      std::lock_guard<std::mutex> lock(hook_mu_);
      closing = std::move(runner_);
    }
  }
  // The server restarts: runner, engine and store.
  void RestartAll() {
    CloseRunner();
    Reopen();
    OpenRunner();
  }

  // A schedule every `interval_ms` (fire times on whole multiples of it).
  ScheduleRecord Every(const std::string& id, int64_t interval_ms,
                       const std::string& workflow = "quick",
                       Overlap overlap = Overlap::kSkip) {
    ScheduleRecord spec;
    spec.set_schedule_id(id);
    spec.set_workflow(workflow);
    spec.set_interval_ms(interval_ms);
    spec.set_overlap(static_cast<int32_t>(overlap));
    spec.set_input_json(R"({"from": "schedule"})");
    return spec;
  }

  ScheduleRecord Create(ScheduleRecord spec) {
    auto created = runner_->Create(std::move(spec));
    EXPECT_TRUE(created.ok()) << created.status().ToString();
    return created.ok() ? *created : ScheduleRecord();
  }

  ScheduleRecord Get(const std::string& id) {
    auto got = runner_->Get(id);
    EXPECT_TRUE(got.ok()) << got.status().ToString();
    return got.ok() ? *got : ScheduleRecord();
  }

  // Moves the clock to the schedule's next fire time and ticks.
  int64_t FireNext(const std::string& id) {
    const int64_t next = Get(id).next_fire_ms();
    EXPECT_NE(next, 0);
    manual_clock_->Set(FromUnixMillis(next));
    engine_->Wake();
    runner_->Tick();
    return next;
  }

  // Every run of a workflow, oldest first.
  std::vector<RunRecord> Runs(const std::string& workflow) {
    persistence::RunFilter filter;
    filter.workflow = workflow;
    auto page = store_->ListRuns(filter, 1000, "");
    EXPECT_TRUE(page.ok());
    std::vector<RunRecord> runs(page->items.rbegin(), page->items.rend());
    return runs;
  }

  int64_t Now() const { return ToUnixMillis(manual_clock_->Now()); }

  std::unique_ptr<Runner> runner_;
  std::mutex hook_mu_;  // Guards runner_ against the engine's hook.
};

TEST_F(RunnerTest, IntervalFiresEachNominalTimeOnce) {
  const ScheduleRecord created = Create(Every("tick", kMinute));
  EXPECT_EQ(created.revision(), 1u);
  // The first fire time is the next whole minute after now.
  EXPECT_EQ(created.next_fire_ms(), (Now() / kMinute + 1) * kMinute);
  runner_->Tick();
  EXPECT_TRUE(Runs("quick").empty());

  const int64_t first = FireNext("tick");
  runner_->Tick();  // Again at the same time: nothing new.
  const std::vector<RunRecord> runs = Runs("quick");
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].run_id(), ScheduledRunId("tick", first));
  EXPECT_EQ(runs[0].run_id(), "tick-" + FormatRfc3339(FromUnixMillis(first)));
  EXPECT_EQ(runs[0].schedule_id(), "tick");
  EXPECT_EQ(runs[0].nominal_time_ms(), first);
  EXPECT_EQ(J(runs[0].input_json()), J(R"({"from": "schedule"})"));
  EXPECT_EQ(Await(runs[0].run_id()).status(), RUN_STATUS_COMPLETED);
  const auto started = J(History(runs[0].run_id())[0].detail_json());
  EXPECT_EQ(started["schedule_id"], "tick");
  EXPECT_EQ(started["nominal_time"], FormatRfc3339(FromUnixMillis(first)));

  const ScheduleRecord after = Get("tick");
  EXPECT_EQ(after.next_fire_ms(), first + kMinute);
  EXPECT_EQ(after.runs_started(), 1u);
  EXPECT_EQ(after.last_run_id(), runs[0].run_id());
  ASSERT_EQ(after.recent_actions_size(), 1);
  EXPECT_EQ(after.recent_actions(0).outcome(), kStarted);
  EXPECT_EQ(after.recent_actions(0).nominal_time_ms(), first);

  FireNext("tick");
  Await(Runs("quick").back().run_id());
  FireNext("tick");
  EXPECT_EQ(Runs("quick").size(), 3u);
  EXPECT_EQ(Get("tick").recent_actions(0).nominal_time_ms(),
            first + 2 * kMinute);  // Newest first.
}

TEST_F(RunnerTest, SkipPolicyKeepsOneRunAtATime) {
  Create(Every("single", kMinute, "held", Overlap::kSkip));
  FireNext("single");
  const std::string first = Runs("held").at(0).run_id();
  FireNext("single");
  FireNext("single");
  EXPECT_EQ(Runs("held").size(), 1u);
  ScheduleRecord s = Get("single");
  EXPECT_EQ(s.skipped_overlap(), 2u);
  EXPECT_EQ(s.recent_actions(0).outcome(), kSkipped);
  EXPECT_EQ(s.recent_actions(0).run_id(), first);  // The run still going.

  ASSERT_TRUE(engine_->SignalRun(first, "go", "{}").ok());
  EXPECT_EQ(Await(first).status(), RUN_STATUS_COMPLETED);
  runner_->Tick();
  EXPECT_EQ(Runs("held").size(), 1u);  // A skipped fire is gone for good.
  FireNext("single");
  EXPECT_EQ(Runs("held").size(), 2u);
}

TEST_F(RunnerTest, BufferOneStartsOneFireWhenThePreviousRunEnds) {
  Create(Every("buf", kMinute, "held", Overlap::kBufferOne));
  FireNext("buf");
  const std::string first = Runs("held").at(0).run_id();
  const int64_t second = FireNext("buf");  // Buffered.
  FireNext("buf");                         // Skipped: one is buffered.
  ScheduleRecord s = Get("buf");
  EXPECT_EQ(s.buffered_nominal_ms(), second);
  EXPECT_EQ(s.skipped_overlap(), 1u);
  EXPECT_EQ(Runs("held").size(), 1u);

  ASSERT_TRUE(engine_->SignalRun(first, "go", "{}").ok());
  EXPECT_EQ(Await(first).status(), RUN_STATUS_COMPLETED);
  // The next tick sees the run ended (in the store, whether or not the
  // engine's hook has told the runner yet) and starts the buffered fire with
  // its own nominal time.
  runner_->Tick();
  const std::vector<RunRecord> runs = Runs("held");
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[1].run_id(), ScheduledRunId("buf", second));
  EXPECT_EQ(runs[1].nominal_time_ms(), second);
  EXPECT_EQ(Get("buf").buffered_nominal_ms(), 0);
}

TEST_F(RunnerTest, AllowAllStartsEveryFire) {
  Create(Every("all", kMinute, "held", Overlap::kAllowAll));
  FireNext("all");
  FireNext("all");
  FireNext("all");
  const std::vector<RunRecord> runs = Runs("held");
  ASSERT_EQ(runs.size(), 3u);
  for (const RunRecord& r : runs) EXPECT_EQ(r.status(), RUN_STATUS_RUNNING);
  EXPECT_EQ(Get("all").runs_started(), 3u);
}

TEST_F(RunnerTest, CancelOtherCancelsThePreviousRunThenStarts) {
  Create(Every("fresh", kMinute, "held", Overlap::kCancelOther));
  FireNext("fresh");
  const std::string first = Runs("held").at(0).run_id();
  const int64_t second = FireNext("fresh");
  EXPECT_EQ(Await(first).status(), RUN_STATUS_CANCELLED);
  runner_->Tick();
  const std::vector<RunRecord> runs = Runs("held");
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[1].run_id(), ScheduledRunId("fresh", second));
  EXPECT_EQ(runs[1].status(), RUN_STATUS_RUNNING);
  EXPECT_THAT(engine_->GetRun(first)->error_message(),
              HasSubstr("cancel_other"));
}

TEST_F(RunnerTest, CatchUpAfterDowntimeRunsOnlyTheWindow) {
  ScheduleRecord spec = Every("catch", kMinute, "quick", Overlap::kAllowAll);
  spec.set_catchup_window_ms(3 * kMinute);
  const int64_t first = Create(spec).next_fire_ms();
  // The server is down for ten fire times and comes back 20 s after the
  // last one.
  CloseRunner();
  Close();
  manual_clock_->Set(FromUnixMillis(first + 9 * kMinute + 20'000));
  Open(/*manual_clock=*/true);
  OpenRunner();
  runner_->Tick();

  std::vector<std::string> ids;
  for (const RunRecord& r : Runs("quick")) ids.push_back(r.run_id());
  // Fire times within 3 minutes of now run; the seven older ones do not.
  EXPECT_THAT(ids, ElementsAre(ScheduledRunId("catch", first + 7 * kMinute),
                               ScheduledRunId("catch", first + 8 * kMinute),
                               ScheduledRunId("catch", first + 9 * kMinute)));
  const ScheduleRecord s = Get("catch");
  EXPECT_EQ(s.missed_catchup(), 7u);
  EXPECT_EQ(s.next_fire_ms(), first + 10 * kMinute);
  // Newest first: three starts, then one record for the missed lot.
  ASSERT_EQ(s.recent_actions_size(), 4);
  EXPECT_EQ(s.recent_actions(3).outcome(), kMissed);
  EXPECT_THAT(s.recent_actions(3).error(), HasSubstr("7 fire times"));
}

TEST_F(RunnerTest, CatchUpUnderSkipStartsOneRun) {
  ScheduleRecord spec = Every("catchskip", kMinute, "held", Overlap::kSkip);
  const int64_t first = Create(spec).next_fire_ms();
  CloseRunner();
  manual_clock_->Set(FromUnixMillis(first + 4 * kMinute));
  OpenRunner();
  runner_->Tick();
  EXPECT_EQ(Runs("held").size(), 1u);
  EXPECT_EQ(Get("catchskip").skipped_overlap(), 4u);
}

TEST_F(RunnerTest, RestartFiresNothingTwice) {
  Create(Every("once", kMinute));
  const ScheduleRecord before = Get("once");
  const int64_t nominal = FireNext("once");
  ASSERT_EQ(Runs("quick").size(), 1u);
  Await(Runs("quick")[0].run_id());

  // A crash after the run's start was durable but before the schedule's
  // advance was: the store still holds the schedule as it was before.
  CloseRunner();
  ASSERT_TRUE(store_->PutSchedule(before, false, std::nullopt).ok());
  RestartAll();
  EXPECT_EQ(Get("once").next_fire_ms(), nominal);
  runner_->Tick();
  EXPECT_EQ(Runs("quick").size(), 1u);  // The same run, already started.
  EXPECT_EQ(Get("once").next_fire_ms(), nominal + kMinute);

  // A plain restart at the same instant fires nothing either.
  RestartAll();
  runner_->Tick();
  EXPECT_EQ(Runs("quick").size(), 1u);
  FireNext("once");
  EXPECT_EQ(Runs("quick").size(), 2u);
}

TEST_F(RunnerTest, BufferedFireSurvivesARestart) {
  Create(Every("bufr", kMinute, "held", Overlap::kBufferOne));
  FireNext("bufr");
  const std::string first = Runs("held").at(0).run_id();
  const int64_t second = FireNext("bufr");
  // The previous run ends while the runner is gone: no hook reaches it.
  CloseRunner();
  ASSERT_TRUE(engine_->SignalRun(first, "go", "{}").ok());
  Await(first);
  OpenRunner();
  runner_->Tick();
  ASSERT_EQ(Runs("held").size(), 2u);
  EXPECT_EQ(Runs("held")[1].nominal_time_ms(), second);
}

TEST_F(RunnerTest, PausedSchedulesDoNotFireOrCatchUp) {
  Create(Every("nap", kMinute));
  auto paused = runner_->Pause("nap", "maintenance");
  ASSERT_TRUE(paused.ok());
  EXPECT_TRUE(paused->paused());
  EXPECT_EQ(paused->note(), "maintenance");
  EXPECT_EQ(paused->next_fire_ms(), 0);
  manual_clock_->Advance(std::chrono::minutes(5));
  runner_->Tick();
  EXPECT_TRUE(Runs("quick").empty());

  auto unpaused = runner_->Unpause("nap", "");
  ASSERT_TRUE(unpaused.ok());
  EXPECT_FALSE(unpaused->paused());
  EXPECT_EQ(unpaused->next_fire_ms(), (Now() / kMinute + 1) * kMinute);
  runner_->Tick();
  EXPECT_TRUE(Runs("quick").empty());
  FireNext("nap");
  EXPECT_EQ(Runs("quick").size(), 1u);
}

TEST_F(RunnerTest, TriggerStartsARunNowEvenWhenPaused) {
  ScheduleRecord spec = Every("manual", kMinute);
  spec.set_paused(true);
  Create(spec);
  auto action = runner_->Trigger("manual", 0);
  ASSERT_TRUE(action.ok()) << action.status().ToString();
  EXPECT_EQ(action->outcome(), kStarted);
  EXPECT_EQ(action->nominal_time_ms(), Now());
  EXPECT_EQ(action->run_id(), ScheduledRunId("manual", Now()));
  EXPECT_EQ(Await(action->run_id()).status(), RUN_STATUS_COMPLETED);
  EXPECT_EQ(Get("manual").next_fire_ms(), 0);  // Still paused.

  EXPECT_EQ(runner_->Trigger("nope", 0).status().code(), StatusCode::kNotFound);
}

TEST_F(RunnerTest, TriggerFollowsTheOverlapPolicyUnlessOverridden) {
  Create(Every("t", kMinute, "held", Overlap::kSkip));
  auto first = runner_->Trigger("t", 0);
  ASSERT_TRUE(first.ok());
  manual_clock_->Advance(Duration(1));
  auto skipped = runner_->Trigger("t", 0);
  ASSERT_TRUE(skipped.ok());
  EXPECT_EQ(skipped->outcome(), kSkipped);
  manual_clock_->Advance(Duration(1));
  auto forced = runner_->Trigger("t", static_cast<int32_t>(Overlap::kAllowAll));
  ASSERT_TRUE(forced.ok());
  EXPECT_EQ(forced->outcome(), kStarted);
  EXPECT_EQ(Runs("held").size(), 2u);
}

TEST_F(RunnerTest, CreateRefusesBadSpecsNamingEachField) {
  ScheduleRecord bad = Every("9lives", 10);
  bad.set_workflow("");
  bad.set_cron("* * *");
  bad.set_timezone("Mars/Olympus");
  auto created = runner_->Create(bad);
  ASSERT_FALSE(created.ok());
  EXPECT_EQ(created.status().code(), StatusCode::kInvalidArgument);
  const std::string m = created.status().message();
  EXPECT_THAT(m, HasSubstr("schedule_id:"));
  EXPECT_THAT(m, HasSubstr("workflow: required"));
  EXPECT_THAT(m, HasSubstr("not both"));
  EXPECT_THAT(m, HasSubstr("cron:"));
  EXPECT_THAT(m, HasSubstr("interval:"));
  EXPECT_THAT(m, HasSubstr("timezone:"));

  ScheduleRecord unknown = Every("ghost", kMinute, "no_such_workflow");
  auto ghost = runner_->Create(unknown);
  EXPECT_EQ(ghost.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(ghost.status().message(), HasSubstr("workflow:"));

  ScheduleRecord window = Every("w", kMinute);
  window.set_catchup_window_ms(10);
  EXPECT_THAT(runner_->Create(window).status().message(),
              HasSubstr("catchup_window"));

  Create(Every("dup", kMinute));
  EXPECT_EQ(runner_->Create(Every("dup", kMinute)).status().code(),
            StatusCode::kAlreadyExists);
}

TEST_F(RunnerTest, UpdateKeepsStateAndChecksTheRevision) {
  Create(Every("u", kMinute));
  FireNext("u");
  ScheduleRecord spec = Every("u", 0);
  spec.set_cron("0 3 * * *");
  spec.set_timezone("Europe/Paris");
  auto stale = runner_->Update(spec, 1);
  EXPECT_EQ(stale.status().code(), StatusCode::kFailedPrecondition);
  auto updated = runner_->Update(spec, Get("u").revision());
  ASSERT_TRUE(updated.ok()) << updated.status().ToString();
  EXPECT_EQ(updated->cron(), "0 3 * * *");
  EXPECT_EQ(updated->interval_ms(), 0);
  EXPECT_EQ(updated->runs_started(), 1u);
  EXPECT_EQ(updated->recent_actions_size(), 1);
  // 03:00 in Paris is 02:00Z in winter (the manual clock is in November).
  EXPECT_EQ(FormatRfc3339(FromUnixMillis(updated->next_fire_ms())).substr(10),
            "T02:00:00Z");
  EXPECT_EQ(runner_->Update(Every("missing", kMinute), 0).status().code(),
            StatusCode::kNotFound);
}

TEST_F(RunnerTest, EndTimeEndsTheSchedule) {
  ScheduleRecord spec = Every("short", kMinute);
  const int64_t first = (Now() / kMinute + 1) * kMinute;
  spec.set_end_time_ms(first + kMinute);
  Create(spec);
  FireNext("short");
  Await(Runs("quick").back().run_id());
  FireNext("short");
  EXPECT_EQ(Get("short").next_fire_ms(), 0);
  EXPECT_EQ(Runs("quick").size(), 2u);
}

TEST_F(RunnerTest, DeleteStopsFiringAndKeepsRuns) {
  Create(Every("gone", kMinute));
  FireNext("gone");
  ASSERT_TRUE(runner_->Delete("gone").ok());
  EXPECT_EQ(runner_->Get("gone").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(runner_->Delete("gone").code(), StatusCode::kNotFound);
  manual_clock_->Advance(std::chrono::minutes(3));
  runner_->Tick();
  EXPECT_EQ(Runs("quick").size(), 1u);
  RestartAll();
  EXPECT_EQ(runner_->Get("gone").status().code(), StatusCode::kNotFound);
}

TEST_F(RunnerTest, ListPagesById) {
  for (const char* id : {"c", "a", "b"}) Create(Every(id, kMinute));
  auto page = runner_->List(2, "");
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->items.size(), 2u);
  EXPECT_EQ(page->items[0].schedule_id(), "a");
  EXPECT_EQ(page->items[1].schedule_id(), "b");
  auto rest = runner_->List(2, page->next_page_token);
  ASSERT_TRUE(rest.ok());
  ASSERT_EQ(rest->items.size(), 1u);
  EXPECT_EQ(rest->items[0].schedule_id(), "c");
  EXPECT_TRUE(rest->next_page_token.empty());
}

}  // namespace
}  // namespace sagaflow::schedules
