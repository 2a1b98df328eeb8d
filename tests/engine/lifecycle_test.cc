// Every (state, event) pair of both lifecycles against a table written
// independently of the MSM machines: allowed pairs lead to the expected state,
// every other pair is refused with FAILED_PRECONDITION, never a crash.
#include "engine/lifecycle.h"

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <utility>

namespace sagaflow::engine {
namespace {

constexpr RunState kRunStates[] = {
    RunState::kRunning,     RunState::kCompleted,
    RunState::kFailed,      RunState::kCompensating,
    RunState::kCompensated, RunState::kCompensationFailed,
    RunState::kCancelled,   RunState::kSuspended};
constexpr RunEvent kRunEvents[] = {RunEvent::kComplete,
                                   RunEvent::kFail,
                                   RunEvent::kSuspend,
                                   RunEvent::kCompensate,
                                   RunEvent::kCancel,
                                   RunEvent::kCancelWithoutCompensation,
                                   RunEvent::kCompensationsDone,
                                   RunEvent::kCompensationFailed,
                                   RunEvent::kResume};

// The run lifecycle of CONTRACT.md §1 and the engine issue, as data.
std::optional<RunState> ExpectedRun(RunState from, RunEvent event,
                                    bool cancel_requested) {
  using S = RunState;
  using E = RunEvent;
  static const std::map<std::pair<S, E>, S> kTable = {
      {{S::kRunning, E::kComplete}, S::kCompleted},
      {{S::kRunning, E::kFail}, S::kFailed},
      {{S::kRunning, E::kSuspend}, S::kSuspended},
      {{S::kRunning, E::kCompensate}, S::kCompensating},
      {{S::kRunning, E::kCancel}, S::kCompensating},
      {{S::kRunning, E::kCancelWithoutCompensation}, S::kCancelled},
      {{S::kSuspended, E::kResume}, S::kRunning},
      {{S::kSuspended, E::kCancel}, S::kCompensating},
      {{S::kSuspended, E::kCancelWithoutCompensation}, S::kCancelled},
      {{S::kFailed, E::kResume}, S::kRunning},
      {{S::kCompensating, E::kCompensationFailed}, S::kCompensationFailed},
      {{S::kCompensationFailed, E::kResume}, S::kCompensating},
  };
  if (from == S::kCompensating && event == E::kCompensationsDone) {
    return cancel_requested ? S::kCancelled : S::kCompensated;
  }
  auto it = kTable.find({from, event});
  if (it == kTable.end()) return std::nullopt;
  return it->second;
}

TEST(RunLifecycleTest, EveryStateAndEventAgainstTheTable) {
  int allowed = 0;
  for (bool cancel_requested : {false, true}) {
    for (RunState from : kRunStates) {
      for (RunEvent event : kRunEvents) {
        SCOPED_TRACE(std::string(RunStateName(from)) + " + " +
                     std::string(RunEventName(event)) +
                     (cancel_requested ? " (cancel requested)" : ""));
        const auto expected = ExpectedRun(from, event, cancel_requested);
        const auto actual = ApplyRunEvent(from, event, cancel_requested);
        if (expected) {
          ASSERT_TRUE(actual.ok()) << actual.status().ToString();
          EXPECT_EQ(*actual, *expected);
          ++allowed;
        } else {
          ASSERT_FALSE(actual.ok());
          EXPECT_EQ(actual.status().code(), StatusCode::kFailedPrecondition);
          EXPECT_NE(actual.status().message().find(RunStateName(from)),
                    std::string::npos);
        }
      }
    }
  }
  EXPECT_EQ(allowed, 2 * 13);
}

TEST(RunLifecycleTest, ASagaThatFailsCompensatesAndCanBeResumed) {
  auto compensating = ApplyRunEvent(RunState::kRunning, RunEvent::kCompensate);
  ASSERT_EQ(*compensating, RunState::kCompensating);
  auto stuck = ApplyRunEvent(*compensating, RunEvent::kCompensationFailed);
  ASSERT_EQ(*stuck, RunState::kCompensationFailed);
  auto resumed = ApplyRunEvent(*stuck, RunEvent::kResume);
  ASSERT_EQ(*resumed, RunState::kCompensating);
  EXPECT_EQ(*ApplyRunEvent(*resumed, RunEvent::kCompensationsDone),
            RunState::kCompensated);
}

TEST(RunLifecycleTest, CancelWithoutCompensationEndsAtOnce) {
  EXPECT_EQ(
      *ApplyRunEvent(RunState::kRunning, RunEvent::kCancelWithoutCompensation),
      RunState::kCancelled);
  EXPECT_EQ(*ApplyRunEvent(RunState::kSuspended,
                           RunEvent::kCancelWithoutCompensation),
            RunState::kCancelled);
}

TEST(RunLifecycleTest, CancelCompensatesThenEndsCancelled) {
  auto compensating = ApplyRunEvent(RunState::kRunning, RunEvent::kCancel);
  ASSERT_EQ(*compensating, RunState::kCompensating);
  EXPECT_EQ(*ApplyRunEvent(*compensating, RunEvent::kCompensationsDone, true),
            RunState::kCancelled);
}

TEST(RunLifecycleTest, TerminalRunsRefuseEverythingButResumeOfFailed) {
  for (RunState terminal :
       {RunState::kCompleted, RunState::kCompensated, RunState::kCancelled}) {
    for (RunEvent event : kRunEvents)
      EXPECT_FALSE(ApplyRunEvent(terminal, event).ok());
  }
  EXPECT_TRUE(ApplyRunEvent(RunState::kFailed, RunEvent::kResume).ok());
}

TEST(RunLifecycleTest, AStateNumberThatDoesNotExistIsAnError) {
  auto r = ApplyRunEvent(static_cast<RunState>(0), RunEvent::kResume);
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  r = ApplyRunEvent(static_cast<RunState>(200), RunEvent::kComplete);
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
}

constexpr AttemptState kAttemptStates[] = {
    AttemptState::kScheduled, AttemptState::kStarted,
    AttemptState::kCompleted, AttemptState::kFailed,
    AttemptState::kTimedOut,  AttemptState::kWaitingToRetry,
    AttemptState::kCancelled};
constexpr AttemptEvent kAttemptEvents[] = {
    AttemptEvent::kStart,         AttemptEvent::kComplete,
    AttemptEvent::kFail,          AttemptEvent::kTimeOut,
    AttemptEvent::kScheduleRetry, AttemptEvent::kCancel};

std::optional<AttemptState> ExpectedAttempt(AttemptState from,
                                            AttemptEvent event) {
  using S = AttemptState;
  using E = AttemptEvent;
  static const std::map<std::pair<S, E>, S> kTable = {
      {{S::kScheduled, E::kStart}, S::kStarted},
      {{S::kScheduled, E::kFail}, S::kFailed},
      {{S::kScheduled, E::kTimeOut}, S::kTimedOut},
      {{S::kScheduled, E::kCancel}, S::kCancelled},
      {{S::kStarted, E::kComplete}, S::kCompleted},
      {{S::kStarted, E::kFail}, S::kFailed},
      {{S::kStarted, E::kTimeOut}, S::kTimedOut},
      {{S::kStarted, E::kCancel}, S::kCancelled},
      {{S::kFailed, E::kScheduleRetry}, S::kWaitingToRetry},
      {{S::kTimedOut, E::kScheduleRetry}, S::kWaitingToRetry},
      {{S::kFailed, E::kCancel}, S::kCancelled},
      {{S::kTimedOut, E::kCancel}, S::kCancelled},
      {{S::kWaitingToRetry, E::kCancel}, S::kCancelled},
  };
  auto it = kTable.find({from, event});
  if (it == kTable.end()) return std::nullopt;
  return it->second;
}

TEST(AttemptLifecycleTest, EveryStateAndEventAgainstTheTable) {
  int allowed = 0;
  for (AttemptState from : kAttemptStates) {
    for (AttemptEvent event : kAttemptEvents) {
      SCOPED_TRACE(std::string(AttemptStateName(from)) + " + " +
                   std::string(AttemptEventName(event)));
      const auto expected = ExpectedAttempt(from, event);
      const auto actual = ApplyAttemptEvent(from, event);
      if (expected) {
        ASSERT_TRUE(actual.ok()) << actual.status().ToString();
        EXPECT_EQ(*actual, *expected);
        ++allowed;
      } else {
        ASSERT_FALSE(actual.ok());
        EXPECT_EQ(actual.status().code(), StatusCode::kFailedPrecondition);
      }
    }
  }
  EXPECT_EQ(allowed, 13);
}

TEST(AttemptLifecycleTest, ALateCompletionIsRefused) {
  // The attempt timed out; the worker's completion arrives afterwards and must
  // change nothing.
  auto timed_out =
      ApplyAttemptEvent(AttemptState::kStarted, AttemptEvent::kTimeOut);
  ASSERT_EQ(*timed_out, AttemptState::kTimedOut);
  auto late = ApplyAttemptEvent(*timed_out, AttemptEvent::kComplete);
  EXPECT_EQ(late.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(late.status().message().find("timed out"), std::string::npos);
  EXPECT_EQ(ApplyAttemptEvent(AttemptState::kCompleted, AttemptEvent::kComplete)
                .status()
                .code(),
            StatusCode::kFailedPrecondition);
}

TEST(AttemptLifecycleTest, FinalStates) {
  EXPECT_TRUE(IsFinal(AttemptState::kCompleted));
  EXPECT_TRUE(IsFinal(AttemptState::kCancelled));
  // Still cancellable: a cancelled run must not retry them.
  EXPECT_FALSE(IsFinal(AttemptState::kWaitingToRetry));
  EXPECT_FALSE(IsFinal(AttemptState::kFailed));
  EXPECT_FALSE(IsFinal(AttemptState::kTimedOut));
  EXPECT_FALSE(IsFinal(AttemptState::kStarted));
  EXPECT_EQ(
      ApplyAttemptEvent(static_cast<AttemptState>(99), AttemptEvent::kStart)
          .status()
          .code(),
      StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace sagaflow::engine
