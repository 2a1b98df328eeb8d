// The fixed lifecycles of the engine: a run and a step attempt. Each is a
// Boost.MSM state machine (run_lifecycle.cc, attempt_lifecycle.cc); this header
// is the small facade the rest of the engine uses, so that MSM's compile cost
// stays in those two files. States are plain enums (a run's is stored as its
// RunStatus); a machine is rebuilt at the stored state for each event. An event
// a state does not accept is an error value, never an assert or a crash.
#ifndef SAGAFLOW_ENGINE_LIFECYCLE_H_
#define SAGAFLOW_ENGINE_LIFECYCLE_H_

#include <cstdint>
#include <string_view>

#include "common/result.h"

namespace sagaflow::engine {

// The numbers are those of RunStatus (records.proto and the API), so conversion
// is by value.
enum class RunState : uint8_t {
  kRunning = 1,
  kCompleted = 2,
  kFailed = 3,
  kCompensating = 4,
  kCompensated = 5,
  kCompensationFailed = 6,
  kCancelled = 7,
  kSuspended = 8,
};

enum class RunEvent : uint8_t {
  kComplete,    // The run's last step finished.
  kFail,        // A terminal failure under on_failure: fail.
  kSuspend,     // A terminal failure under on_failure: suspend.
  kCompensate,  // A terminal failure under on_failure: compensate.
  // An operator cancels a run whose on_failure is compensate: it compensates,
  // then ends CANCELLED.
  kCancel,
  // An operator cancels a run whose on_failure is fail or suspend: it ends
  // CANCELLED at once (CONTRACT.md §1 compensates only under `compensate`).
  kCancelWithoutCompensation,
  kCompensationsDone,   // Every compensation due has completed.
  kCompensationFailed,  // A compensation exhausted its retries.
  kResume,  // An operator resumes a SUSPENDED, FAILED or COMPENSATION_FAILED
            // run.
};

std::string_view RunStateName(
    RunState state);  // "RUNNING", as the API prints it.
std::string_view RunEventName(RunEvent event);

// The state `event` leads to from `from`, or FAILED_PRECONDITION naming both
// when `from` does not accept it. `cancel_requested` (kept in the run's
// checkpoint) says where finished compensations lead: CANCELLED when the run
// was cancelled, COMPENSATED when it failed; and a resumed COMPENSATION_FAILED
// run goes back to compensating either way.
Result<RunState> ApplyRunEvent(RunState from, RunEvent event,
                               bool cancel_requested = false);

// A step attempt: scheduled (waiting for an agent), started (an agent holds
// it), and how it ended. A retry is a new attempt, which starts again at
// kScheduled.
enum class AttemptState : uint8_t {
  kScheduled,
  kStarted,
  kCompleted,
  kFailed,
  kTimedOut,
  kWaitingToRetry,
  kCancelled,
};

enum class AttemptEvent : uint8_t {
  kStart,          // An agent took it (in-process, or a worker's poll).
  kComplete,       // The agent returned an output.
  kFail,           // The agent, or evaluating its input, failed.
  kTimeOut,        // A queue, start-to-close or heartbeat timeout fired.
  kScheduleRetry,  // The retry policy allows another attempt, after a backoff
                   // timer.
  kCancel,         // The run is cancelled or the branch abandoned.
};

std::string_view AttemptStateName(AttemptState state);
std::string_view AttemptEventName(AttemptEvent event);

// The state `event` leads to from `from`, or FAILED_PRECONDITION naming both
// (for example, a completion reported for an attempt that already timed out).
Result<AttemptState> ApplyAttemptEvent(AttemptState from, AttemptEvent event);

// Whether nothing further can happen to an attempt in `state`: completed or
// cancelled. A failed or timed-out attempt may still be retried or cancelled,
// and one waiting to retry may still be cancelled (so that its backoff timer
// never starts a new attempt of a cancelled run).
bool IsFinal(AttemptState state);

}  // namespace sagaflow::engine

#endif  // SAGAFLOW_ENGINE_LIFECYCLE_H_
