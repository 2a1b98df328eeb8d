// Faults a worker or the host can cause, against the real engine and store:
// duplicate completions of one token (at once from many threads, and after a
// restart), a worker that takes a task and never heartbeats, a poison
// activity that always fails, and wall-clock jumps forward and backward.
// docs/RELIABILITY.md lists them with the chaos suite.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "engine/checkpoint.pb.h"
#include "tests/engine/engine_harness.h"

namespace sagaflow::engine::testing {
namespace {

using storage::RUN_STATUS_COMPENSATED;
using storage::RUN_STATUS_COMPLETED;
using storage::RUN_STATUS_FAILED;
using storage::RUN_STATUS_RUNNING;

using EngineFaultsTest = EngineTest;

constexpr char kOneRemoteStep[] = R"({"name": "one", "start_at": "r",
  "steps": {"r": {"type": "task", "activity": "remote.x", "timeout": "10m",
    "retry": {"max_attempts": 3, "initial_interval": "1s"}}}})";

// Sends `threads` completions (and as many failures) of one token at once;
// returns how many were accepted. The rest must be NOT_FOUND.
int RaceCompletions(Engine* engine, const std::string& token, int threads) {
  std::atomic<int> accepted{0};
  std::atomic<int> wrong{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> racers;
  for (int i = 0; i < threads; ++i) {
    racers.emplace_back([&, i] {
      while (!go.load()) std::this_thread::yield();
      const Status s =
          i % 2 == 0
              ? engine->CompleteTask(token,
                                     R"({"by": )" + std::to_string(i) + "}")
              : engine->FailTask(token, "Racer", "", /*non_retryable=*/true);
      if (s.ok()) {
        ++accepted;
      } else if (s.code() != StatusCode::kNotFound) {
        ++wrong;
      }
    });
  }
  go.store(true);
  for (auto& t : racers) t.join();
  EXPECT_EQ(wrong.load(), 0) << "a duplicate got another error than NOT_FOUND";
  return accepted.load();
}

TEST_F(EngineFaultsTest, DuplicateCompletionsFromManyThreadsApplyOnce) {
  Open();
  Register(kOneRemoteStep);
  for (int round = 0; round < 20; ++round) {
    const std::string id = Start("one");
    auto task = engine_->PollTask({"remote.x"}, "w", Duration(10'000));
    ASSERT_TRUE(task.has_value());
    EXPECT_EQ(RaceCompletions(engine_.get(), task->task_token, 16), 1);
    const auto run = Await(id);
    // Whichever won decided the run, once.
    EXPECT_EQ(CountEvents(id, "STEP_COMPLETED", "r") +
                  CountEvents(id, "STEP_FAILED", "r"),
              1u);
    EXPECT_EQ(run.status() == RUN_STATUS_COMPLETED,
              CountEvents(id, "STEP_COMPLETED", "r") == 1);
  }
}

TEST_F(EngineFaultsTest, DuplicateCompletionsAfterARestartApplyOnce) {
  Open();
  Register(kOneRemoteStep);
  // One attempt completed before the restart, one leased across it.
  const std::string done = Start("one", "{}", "done");
  auto first = engine_->PollTask({"remote.x"}, "w", Duration(10'000));
  ASSERT_TRUE(first.has_value());
  ASSERT_TRUE(engine_->CompleteTask(first->task_token, "{}").ok());
  EXPECT_EQ(Await(done).status(), RUN_STATUS_COMPLETED);
  const std::string leased = Start("one", "{}", "leased");
  auto second = engine_->PollTask({"remote.x"}, "w", Duration(10'000));
  ASSERT_TRUE(second.has_value());
  ASSERT_EQ(second->run_id, leased);

  Reopen();
  EXPECT_EQ(engine_->CompleteTask(first->task_token, "{}").code(),
            StatusCode::kNotFound);
  EXPECT_EQ(engine_->FailTask(first->task_token, "Late", "", false).code(),
            StatusCode::kNotFound);
  EXPECT_EQ(CountEvents(done, "STEP_COMPLETED", "r"), 1u);
  // The lease survived the restart: exactly one of the racers applies it.
  EXPECT_EQ(RaceCompletions(engine_.get(), second->task_token, 16), 1);
  Await(leased);
  EXPECT_EQ(CountEvents(leased, "STEP_COMPLETED", "r") +
                CountEvents(leased, "STEP_FAILED", "r"),
            1u);
  Reopen();
  EXPECT_EQ(engine_->CompleteTask(second->task_token, "{}").code(),
            StatusCode::kNotFound);
}

TEST_F(EngineFaultsTest, AWorkerThatNeverHeartbeatsLosesItsAttempt) {
  Open(/*manual_clock=*/true);
  Register(R"({"name": "silent", "start_at": "r", "steps": {
    "r": {"type": "task", "activity": "remote.x", "timeout": "1h",
          "heartbeat_timeout": "10s",
          "retry": {"max_attempts": 2, "initial_interval": "1s"}}}})");
  const std::string id = Start("silent");
  auto taken =
      engine_->PollTask({"remote.x"}, "silent-worker", Duration(10'000));
  ASSERT_TRUE(taken.has_value());
  // The worker goes quiet. Nothing happens before the heartbeat deadline...
  Advance(Duration(9'999));
  EXPECT_EQ(engine_->GetRun(id)->status(), RUN_STATUS_RUNNING);
  EXPECT_EQ(CountEvents(id, "STEP_TIMED_OUT"), 0u);
  // ...then the attempt times out and the retry goes to another worker.
  Advance(Duration(1));
  AwaitUntil(id, HasEvents(id, "STEP_TIMED_OUT", "r", 1));
  EXPECT_EQ(J(Events(id, "STEP_TIMED_OUT", "r")[0].detail_json())["error"],
            "HeartbeatTimeout");
  Advance(Duration(1'000));
  auto retry =
      engine_->PollTask({"remote.x"}, "other-worker", Duration(10'000));
  ASSERT_TRUE(retry.has_value());
  EXPECT_EQ(retry->attempt, 2u);
  // The silent worker wakes up: too late, whatever it says.
  EXPECT_EQ(engine_->HeartbeatTask(taken->task_token).status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(engine_->CompleteTask(taken->task_token, "{}").code(),
            StatusCode::kNotFound);
  ASSERT_TRUE(engine_->CompleteTask(retry->task_token, "{}").ok());
  EXPECT_EQ(Await(id).status(), RUN_STATUS_COMPLETED);
  EXPECT_EQ(CountEvents(id, "STEP_COMPLETED", "r"), 1u);
}

TEST_F(EngineFaultsTest, APoisonActivityStopsAfterItsAttemptsAndCompensates) {
  Open(/*manual_clock=*/true);
  Register(R"({"name": "poisoned", "start_at": "ok", "steps": {
    "ok": {"type": "task", "activity": "test.record", "next": "poison",
           "compensate": {"activity": "test.record"}},
    "poison": {"type": "task", "activity": "test.record",
               "input": {"error": "Poison"},
               "retry": {"max_attempts": 4, "initial_interval": "1s",
                         "backoff_coefficient": 2}}}})");
  const std::string id = Start("poisoned");
  // Each backoff (1 s, 2 s, 4 s) passes; the fourth failure is the last.
  for (int attempt = 1; attempt <= 4; ++attempt) {
    ASSERT_TRUE(journal_.WaitForCount(id, "poison", attempt));
    if (attempt < 4) {
      AwaitUntil(id, HasEvents(id, "STEP_RETRY_SCHEDULED", "poison", attempt));
      Advance(Duration(1'000 << (attempt - 1)));
    }
  }
  const auto run = Await(id);
  EXPECT_EQ(run.status(), RUN_STATUS_COMPENSATED);
  EXPECT_EQ(run.error(), "Poison");
  EXPECT_EQ(CountEvents(id, "STEP_FAILED", "poison"), 4u);
  // Time passing changes nothing: the poison is not retried again.
  Advance(Duration(3'600'000));
  EXPECT_THAT(journal_.Steps(id),
              ::testing::ElementsAre("ok", "poison", "poison", "poison",
                                     "poison", "~ok"));
}

TEST_F(EngineFaultsTest, AClockJumpForwardFiresEachOverdueTimerOnce) {
  Open(/*manual_clock=*/true);
  const std::vector<std::string> waits = {"1m", "10m", "1h", "1d"};
  std::vector<std::string> ids;
  for (const std::string& w : waits) {
    Register(R"({"name": "wait_)" + w + R"(", "start_at": "w", "steps": {
      "w": {"type": "wait", "duration": ")" +
             w + R"(", "next": "done"}, "done": {"type": "succeed"}}})");
    ids.push_back(Start("wait_" + w));
    AwaitUntil(ids.back(), AtStep("w"));
  }
  // The wall clock jumps two days ahead: every timer is overdue at once.
  Advance(Duration(2 * 86'400'000LL));
  for (const std::string& id : ids) {
    EXPECT_EQ(Await(id).status(), RUN_STATUS_COMPLETED) << id;
  }
  Advance(Duration(1'000));
  Reopen();  // Recovery must not fire them again either.
  Advance(Duration(86'400'000LL));
  for (const std::string& id : ids) {
    EXPECT_EQ(CountEvents(id, "TIMER_FIRED", "w"), 1u) << id;
  }
}

TEST_F(EngineFaultsTest, AClockJumpBackwardFiresNothingTwiceAndNoLeaseEarly) {
  Open(/*manual_clock=*/true);
  Register(R"({"name": "back", "start_at": "w", "steps": {
    "w": {"type": "wait", "duration": "10m", "next": "r"},
    "r": {"type": "task", "activity": "remote.x", "timeout": "5m",
          "retry": {"max_attempts": 2, "initial_interval": "1s"}}}})");
  const std::string id = Start("back");
  AwaitUntil(id, AtStep("w"));
  Advance(Duration(600'000));
  AwaitUntil(id, HasEvents(id, "TIMER_FIRED", "w", 1));
  auto task = engine_->PollTask({"remote.x"}, "w", Duration(10'000));
  ASSERT_TRUE(task.has_value());
  const int64_t deadline = task->deadline_ms;
  // The wall clock jumps an hour back (an NTP step, a VM restored).
  Advance(Duration(-3'600'000));
  // 4m59s of the new time later, and far more steady time than the lease:
  // the lease is an absolute time, so it has not expired.
  Advance(Duration(299'000));
  EXPECT_EQ(CountEvents(id, "TIMER_FIRED", "w"), 1u);
  auto beat = engine_->HeartbeatTask(task->task_token);
  ASSERT_TRUE(beat.ok()) << beat.status().ToString();
  EXPECT_EQ(CountEvents(id, "STEP_TIMED_OUT"), 0u);
  // Back at the lease's own deadline, it expires, once.
  manual_clock_->Set(FromUnixMillis(deadline));
  engine_->Wake();
  AwaitUntil(id, HasEvents(id, "STEP_TIMED_OUT", "r", 1));
  EXPECT_EQ(engine_->CompleteTask(task->task_token, "{}").code(),
            StatusCode::kNotFound);
  Advance(Duration(1'000));
  auto retry = engine_->PollTask({"remote.x"}, "w", Duration(10'000));
  ASSERT_TRUE(retry.has_value());
  ASSERT_TRUE(engine_->CompleteTask(retry->task_token, "{}").ok());
  EXPECT_EQ(Await(id).status(), RUN_STATUS_COMPLETED);
  EXPECT_EQ(CountEvents(id, "TIMER_FIRED", "w"), 1u);
  EXPECT_EQ(CountEvents(id, "STEP_TIMED_OUT", "r"), 1u);
}

// A checkpoint that decodes but names what its plan does not hold (here an
// exec of step 7 in a one-step plan) is refused when the run loads: recovery
// skips it and every other run goes on; a call on it gets Corruption naming
// the fault, instead of the decider indexing out of range.
TEST_F(EngineFaultsTest, ACorruptCheckpointIsRefusedAndOtherRunsGoOn) {
  Open();
  Register(kOneRemoteStep);
  const std::string bad = Start("one", "{}", "bad");
  const std::string good = Start("one", "{}", "good");
  Close();
  {
    persistence::RocksDbOptions store_options;
    store_options.path = dir_ + "/db";
    auto store = persistence::RocksDbStore::Open(store_options);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    auto record = (*store)->GetRun(bad);
    ASSERT_TRUE(record.ok()) << record.status().ToString();
    checkpoint::RunCheckpoint state;
    ASSERT_TRUE(state.ParseFromString(record->checkpoint()));
    ASSERT_GT(state.execs_size(), 0);
    state.mutable_execs(0)->set_step(7);
    persistence::Transition damage;
    damage.run = std::move(record).value();
    damage.run.set_checkpoint(state.SerializeAsString());
    ASSERT_TRUE((*store)->Commit(std::move(damage)).ok());
  }
  Open();
  auto task = engine_->PollTask({"remote.x"}, "w", Duration(10'000));
  ASSERT_TRUE(task.has_value());
  EXPECT_EQ(task->run_id, good);
  ASSERT_TRUE(engine_->CompleteTask(task->task_token, "{}").ok());
  EXPECT_EQ(Await(good).status(), RUN_STATUS_COMPLETED);
  // The damaged run was not recovered, so its task was never queued.
  EXPECT_FALSE(engine_->PollTask({"remote.x"}, "w", Duration(100)).has_value());
  const Status cancel = engine_->CancelRun(bad, "test");
  EXPECT_EQ(cancel.code(), StatusCode::kCorruption);
  EXPECT_THAT(cancel.message(),
              ::testing::HasSubstr("run bad: checkpoint: exec 0: step 7 is "
                                   "not in the plan (1 steps)"));
  EXPECT_EQ(engine_->GetRun(bad)->status(), RUN_STATUS_RUNNING);
}

}  // namespace
}  // namespace sagaflow::engine::testing
