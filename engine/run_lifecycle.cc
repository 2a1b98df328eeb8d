// The run lifecycle as a Boost.MSM machine. MSM is costly to compile: only the
// two lifecycle files include it, through lifecycle_machine.h.
#include "engine/lifecycle.h"
#include "engine/lifecycle_machine.h"

namespace sagaflow::engine {
namespace {

namespace msmf = boost::msm::front;
using Restore = lifecycle_machine::Restore<RunState>;
using msmf::none;
using msmf::Row;

// Events. Each carries the run's cancel_requested flag for the guards.
struct Event {
  bool cancel_requested = false;
};
struct Complete : Event {};
struct Fail : Event {};
struct Suspend : Event {};
struct Compensate : Event {};
struct Cancel : Event {};
struct CancelWithoutCompensation : Event {};
struct CompensationsDone : Event {};
struct CompensationFailed : Event {};
struct Resume : Event {};

struct RunMachine_ : lifecycle_machine::Definition<RunMachine_, RunState> {
  using Running = S<RunState::kRunning>;
  using Completed = S<RunState::kCompleted>;
  using Failed = S<RunState::kFailed>;
  using Compensating = S<RunState::kCompensating>;
  using Compensated = S<RunState::kCompensated>;
  using CompensationFailedState = S<RunState::kCompensationFailed>;
  using Cancelled = S<RunState::kCancelled>;
  using Suspended = S<RunState::kSuspended>;
  using initial_state = Restoring;

  // COMPLETED, COMPENSATED and CANCELLED accept nothing, so a stored one is
  // restored into a single state that has no rows, and the row's action
  // records which it was (one row instead of three keeps the table within
  // Boost.MPL's 20).
  struct Terminal : msmf::state<> {};
  struct IsTerminal {
    template <class Fsm, class Src, class Tgt>
    bool operator()(const Restore& e, Fsm&, Src&, Tgt&) const {
      return e.target == RunState::kCompleted ||
             e.target == RunState::kCompensated ||
             e.target == RunState::kCancelled;
    }
  };
  struct KeepTarget {
    template <class Fsm, class Src, class Tgt>
    void operator()(const Restore& e, Fsm& fsm, Src&, Tgt&) const {
      fsm.state = e.target;
    }
  };

  struct Cancelling {
    template <class Ev, class Fsm, class Src, class Tgt>
    bool operator()(const Ev& e, Fsm&, Src&, Tgt&) const {
      return e.cancel_requested;
    }
  };
  struct NotCancelling {
    template <class Ev, class Fsm, class Src, class Tgt>
    bool operator()(const Ev& e, Fsm&, Src&, Tgt&) const {
      return !e.cancel_requested;
    }
  };

  // clang-format off
  struct transition_table : boost::mpl::vector<
      //  Start                    | Event              | Next                     | Action | Guard
      Row<Restoring,               Restore,             Running,                   none,    Is<RunState::kRunning>>,
      Row<Restoring,               Restore,             Failed,                    none,    Is<RunState::kFailed>>,
      Row<Restoring,               Restore,             Compensating,              none,    Is<RunState::kCompensating>>,
      Row<Restoring,               Restore,             CompensationFailedState,   none,    Is<RunState::kCompensationFailed>>,
      Row<Restoring,               Restore,             Suspended,                 none,    Is<RunState::kSuspended>>,
      Row<Restoring,               Restore,             Terminal,                  KeepTarget, IsTerminal>,
      Row<Running,                 Complete,            Completed,                 none,    none>,
      Row<Running,                 Fail,                Failed,                    none,    none>,
      Row<Running,                 Suspend,             Suspended,                 none,    none>,
      Row<Running,                 Compensate,          Compensating,              none,    none>,
      Row<Running,                 Cancel,              Compensating,              none,    none>,
      Row<Running,                 CancelWithoutCompensation, Cancelled,           none,    none>,
      Row<Suspended,               Resume,              Running,                   none,    none>,
      Row<Suspended,               Cancel,              Compensating,              none,    none>,
      Row<Suspended,               CancelWithoutCompensation, Cancelled,           none,    none>,
      Row<Failed,                  Resume,              Running,                   none,    none>,
      Row<Compensating,            CompensationsDone,   Compensated,               none,    NotCancelling>,
      Row<Compensating,            CompensationsDone,   Cancelled,                 none,    Cancelling>,
      Row<Compensating,            CompensationFailed,  CompensationFailedState,   none,    none>,
      Row<CompensationFailedState, Resume,              Compensating,              none,    none>
  > {};
  // clang-format on
};

using RunMachine = boost::msm::back::state_machine<RunMachine_>;

template <class Ev>
Result<RunState> Process(RunState from, RunEvent name, bool cancel_requested) {
  Ev event;
  event.cancel_requested = cancel_requested;
  return lifecycle_machine::Apply<RunMachine>(
      from, event, "run", RunStateName(from), RunEventName(name));
}

}  // namespace

std::string_view RunStateName(RunState state) {
  switch (state) {
    case RunState::kRunning:
      return "RUNNING";
    case RunState::kCompleted:
      return "COMPLETED";
    case RunState::kFailed:
      return "FAILED";
    case RunState::kCompensating:
      return "COMPENSATING";
    case RunState::kCompensated:
      return "COMPENSATED";
    case RunState::kCompensationFailed:
      return "COMPENSATION_FAILED";
    case RunState::kCancelled:
      return "CANCELLED";
    case RunState::kSuspended:
      return "SUSPENDED";
  }
  return "UNKNOWN";
}

std::string_view RunEventName(RunEvent event) {
  switch (event) {
    case RunEvent::kComplete:
      return "complete";
    case RunEvent::kFail:
      return "fail";
    case RunEvent::kSuspend:
      return "suspend";
    case RunEvent::kCompensate:
      return "compensate";
    case RunEvent::kCancel:
      return "cancel";
    case RunEvent::kCancelWithoutCompensation:
      return "cancel without compensation";
    case RunEvent::kCompensationsDone:
      return "compensations done";
    case RunEvent::kCompensationFailed:
      return "compensation failed";
    case RunEvent::kResume:
      return "resume";
  }
  return "unknown event";
}

Result<RunState> ApplyRunEvent(RunState from, RunEvent event,
                               bool cancel_requested) {
  switch (event) {
    case RunEvent::kComplete:
      return Process<Complete>(from, event, cancel_requested);
    case RunEvent::kFail:
      return Process<Fail>(from, event, cancel_requested);
    case RunEvent::kSuspend:
      return Process<Suspend>(from, event, cancel_requested);
    case RunEvent::kCompensate:
      return Process<Compensate>(from, event, cancel_requested);
    case RunEvent::kCancel:
      return Process<Cancel>(from, event, cancel_requested);
    case RunEvent::kCancelWithoutCompensation:
      return Process<CancelWithoutCompensation>(from, event, cancel_requested);
    case RunEvent::kCompensationsDone:
      return Process<CompensationsDone>(from, event, cancel_requested);
    case RunEvent::kCompensationFailed:
      return Process<CompensationFailed>(from, event, cancel_requested);
    case RunEvent::kResume:
      return Process<Resume>(from, event, cancel_requested);
  }
  return Status::InvalidArgument("unknown run event");
}

}  // namespace sagaflow::engine
