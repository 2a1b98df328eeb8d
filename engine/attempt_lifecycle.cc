// The step-attempt lifecycle as a Boost.MSM machine. MSM is costly to compile:
// only the two lifecycle files include it, through lifecycle_machine.h.
#include "engine/lifecycle.h"
#include "engine/lifecycle_machine.h"

namespace sagaflow::engine {
namespace {

namespace msmf = boost::msm::front;
using Restore = lifecycle_machine::Restore<AttemptState>;
using msmf::none;
using msmf::Row;

struct Start {};
struct Complete {};
struct Fail {};
struct TimeOut {};
struct ScheduleRetry {};
struct Cancel {};

struct AttemptMachine_
    : lifecycle_machine::Definition<AttemptMachine_, AttemptState> {
  using Scheduled = S<AttemptState::kScheduled>;
  using Started = S<AttemptState::kStarted>;
  using Completed = S<AttemptState::kCompleted>;
  using Failed = S<AttemptState::kFailed>;
  using TimedOut = S<AttemptState::kTimedOut>;
  using WaitingToRetry = S<AttemptState::kWaitingToRetry>;
  using Cancelled = S<AttemptState::kCancelled>;
  using initial_state = Restoring;

  // clang-format off
  struct transition_table : boost::mpl::vector<
      //  Start         | Event         | Next            | Action | Guard
      Row<Restoring,      Restore,        Scheduled,        none,    Is<AttemptState::kScheduled>>,
      Row<Restoring,      Restore,        Started,          none,    Is<AttemptState::kStarted>>,
      Row<Restoring,      Restore,        Completed,        none,    Is<AttemptState::kCompleted>>,
      Row<Restoring,      Restore,        Failed,           none,    Is<AttemptState::kFailed>>,
      Row<Restoring,      Restore,        TimedOut,         none,    Is<AttemptState::kTimedOut>>,
      Row<Restoring,      Restore,        WaitingToRetry,   none,    Is<AttemptState::kWaitingToRetry>>,
      Row<Restoring,      Restore,        Cancelled,        none,    Is<AttemptState::kCancelled>>,
      Row<Scheduled,      Start,          Started,          none,    none>,
      Row<Scheduled,      Fail,           Failed,           none,    none>,
      Row<Scheduled,      TimeOut,        TimedOut,         none,    none>,
      Row<Scheduled,      Cancel,         Cancelled,        none,    none>,
      Row<Started,        Complete,       Completed,        none,    none>,
      Row<Started,        Fail,           Failed,           none,    none>,
      Row<Started,        TimeOut,        TimedOut,         none,    none>,
      Row<Started,        Cancel,         Cancelled,        none,    none>,
      Row<Failed,         ScheduleRetry,  WaitingToRetry,   none,    none>,
      Row<TimedOut,       ScheduleRetry,  WaitingToRetry,   none,    none>,
      Row<Failed,         Cancel,         Cancelled,        none,    none>,
      Row<TimedOut,       Cancel,         Cancelled,        none,    none>,
      Row<WaitingToRetry, Cancel,         Cancelled,        none,    none>
  > {};
  // clang-format on
};

using AttemptMachine = boost::msm::back::state_machine<AttemptMachine_>;

template <class Ev>
Result<AttemptState> Process(AttemptState from, AttemptEvent name) {
  return lifecycle_machine::Apply<AttemptMachine>(
      from, Ev{}, "attempt", AttemptStateName(from), AttemptEventName(name));
}

}  // namespace

std::string_view AttemptStateName(AttemptState state) {
  switch (state) {
    case AttemptState::kScheduled:
      return "scheduled";
    case AttemptState::kStarted:
      return "started";
    case AttemptState::kCompleted:
      return "completed";
    case AttemptState::kFailed:
      return "failed";
    case AttemptState::kTimedOut:
      return "timed out";
    case AttemptState::kWaitingToRetry:
      return "waiting to retry";
    case AttemptState::kCancelled:
      return "cancelled";
  }
  return "unknown";
}

std::string_view AttemptEventName(AttemptEvent event) {
  switch (event) {
    case AttemptEvent::kStart:
      return "start";
    case AttemptEvent::kComplete:
      return "complete";
    case AttemptEvent::kFail:
      return "fail";
    case AttemptEvent::kTimeOut:
      return "time out";
    case AttemptEvent::kScheduleRetry:
      return "schedule retry";
    case AttemptEvent::kCancel:
      return "cancel";
  }
  return "unknown event";
}

bool IsFinal(AttemptState state) {
  return state == AttemptState::kCompleted || state == AttemptState::kCancelled;
}

Result<AttemptState> ApplyAttemptEvent(AttemptState from, AttemptEvent event) {
  switch (event) {
    case AttemptEvent::kStart:
      return Process<Start>(from, event);
    case AttemptEvent::kComplete:
      return Process<Complete>(from, event);
    case AttemptEvent::kFail:
      return Process<Fail>(from, event);
    case AttemptEvent::kTimeOut:
      return Process<TimeOut>(from, event);
    case AttemptEvent::kScheduleRetry:
      return Process<ScheduleRetry>(from, event);
    case AttemptEvent::kCancel:
      return Process<Cancel>(from, event);
  }
  return Status::InvalidArgument("unknown attempt event");
}

}  // namespace sagaflow::engine
