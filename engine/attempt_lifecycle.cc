// The step-attempt lifecycle as a Boost.MSM machine. Included in this file
// only: MSM is costly to compile.
#include <boost/msm/back/state_machine.hpp>
#include <boost/msm/front/functor_row.hpp>
#include <boost/msm/front/state_machine_def.hpp>

#include "engine/lifecycle.h"

namespace sagaflow::engine {
namespace {

namespace msmf = boost::msm::front;
using msmf::none;
using msmf::Row;

struct Restore {
  AttemptState target;
};
struct Start {};
struct Complete {};
struct Fail {};
struct TimeOut {};
struct ScheduleRetry {};
struct Cancel {};

struct AttemptMachine_ : msmf::state_machine_def<AttemptMachine_> {
  template <AttemptState kState>
  struct S : msmf::state<> {
    template <class Ev, class Fsm>
    void on_entry(const Ev&, Fsm& fsm) {
      fsm.state = kState;
    }
  };
  struct Restoring : msmf::state<> {};
  using Scheduled = S<AttemptState::kScheduled>;
  using Started = S<AttemptState::kStarted>;
  using Completed = S<AttemptState::kCompleted>;
  using Failed = S<AttemptState::kFailed>;
  using TimedOut = S<AttemptState::kTimedOut>;
  using WaitingToRetry = S<AttemptState::kWaitingToRetry>;
  using Cancelled = S<AttemptState::kCancelled>;
  using initial_state = Restoring;

  template <AttemptState kState>
  struct Is {
    template <class Fsm, class Src, class Tgt>
    bool operator()(const Restore& e, Fsm&, Src&, Tgt&) const {
      return e.target == kState;
    }
  };

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
      Row<WaitingToRetry, Cancel,         Cancelled,        none,    none>
  > {};
  // clang-format on

  template <class Fsm, class Ev>
  void no_transition(const Ev&, Fsm&, int) {
    rejected = true;
  }
  template <class Fsm, class Ev>
  void exception_caught(const Ev&, Fsm&, std::exception&) {
    rejected = true;
  }

  AttemptState state = AttemptState::kScheduled;
  bool rejected = false;
};

using AttemptMachine = boost::msm::back::state_machine<AttemptMachine_>;

template <class Ev>
Result<AttemptState> Process(AttemptState from, AttemptEvent name) {
  AttemptMachine machine;
  machine.start();
  // A state number no Restore row accepts is rejected by every guard (not a
  // no_transition).
  if (machine.process_event(Restore{from}) != boost::msm::back::HANDLED_TRUE) {
    return Status::InvalidArgument("no attempt state numbered " +
                                   std::to_string(static_cast<int>(from)));
  }
  machine.process_event(Ev{});
  if (machine.rejected) {
    return Status::FailedPrecondition(
        "a " + std::string(AttemptStateName(from)) +
        " attempt does not accept " + std::string(AttemptEventName(name)));
  }
  return machine.state;
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
  return state == AttemptState::kCompleted ||
         state == AttemptState::kCancelled ||
         state == AttemptState::kWaitingToRetry;
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
