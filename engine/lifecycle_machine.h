// Scaffolding shared by the lifecycle machines. It pulls in Boost.MSM, so only
// run_lifecycle.cc and attempt_lifecycle.cc include it; everyone else uses
// lifecycle.h.
#ifndef SAGAFLOW_ENGINE_LIFECYCLE_MACHINE_H_
#define SAGAFLOW_ENGINE_LIFECYCLE_MACHINE_H_

#include <boost/msm/back/state_machine.hpp>
#include <boost/msm/front/functor_row.hpp>
#include <boost/msm/front/state_machine_def.hpp>
#include <exception>
#include <string>
#include <string_view>

#include "common/result.h"

namespace sagaflow::engine::lifecycle_machine {

namespace msmf = boost::msm::front;

// The event that rebuilds a machine at a stored state.
template <class State>
struct Restore {
  State target;
};

// Base of a lifecycle's front-end: states record themselves in `state` on
// entry; an event no row accepts (or an exception) sets `rejected` instead of
// MSM's default assert.
template <class Derived, class State>
struct Definition : msmf::state_machine_def<Derived> {
  template <State kState>
  struct S : msmf::state<> {
    template <class Ev, class Fsm>
    void on_entry(const Ev&, Fsm& fsm) {
      fsm.state = kState;
    }
  };
  // The initial pseudo-state, left by exactly one guarded Restore row per
  // state.
  struct Restoring : msmf::state<> {};
  template <State kState>
  struct Is {
    template <class Fsm, class Src, class Tgt>
    bool operator()(const Restore<State>& e, Fsm&, Src&, Tgt&) const {
      return e.target == kState;
    }
  };

  template <class Fsm, class Ev>
  void no_transition(const Ev&, Fsm&, int) {
    rejected = true;
  }
  template <class Fsm, class Ev>
  void exception_caught(const Ev&, Fsm&, std::exception&) {
    rejected = true;
  }

  State state{};
  bool rejected = false;
};

// Rebuilds `Machine` at `from` and applies `event`. `what` names the lifecycle
// ("run", "attempt"); the names are for the error message.
template <class Machine, class State, class Event>
Result<State> Apply(State from, const Event& event, std::string_view what,
                    std::string_view from_name, std::string_view event_name) {
  Machine machine;
  machine.start();
  // A state number no Restore row accepts is rejected by every guard (not a
  // no_transition).
  if (machine.process_event(Restore<State>{from}) !=
      boost::msm::back::HANDLED_TRUE) {
    return Status::InvalidArgument("no " + std::string(what) +
                                   " state numbered " +
                                   std::to_string(static_cast<int>(from)));
  }
  // Refused either by no_transition (no row) or by every guard of its rows.
  if (machine.process_event(event) != boost::msm::back::HANDLED_TRUE ||
      machine.rejected) {
    return Status::FailedPrecondition("a " + std::string(from_name) + " " +
                                      std::string(what) + " does not accept " +
                                      std::string(event_name));
  }
  return machine.state;
}

}  // namespace sagaflow::engine::lifecycle_machine

#endif  // SAGAFLOW_ENGINE_LIFECYCLE_MACHINE_H_
