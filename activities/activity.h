// In-process activities: what the engine's agents run inside the server. An
// activity gets its evaluated input and a context (attempt number, deadline,
// cancellation, heartbeat) and returns an output or an ActivityError.
// Activities run at least once: one may run again after a crash or a timeout,
// so side effects must be idempotent or tolerate repetition.
#ifndef SAGAFLOW_ACTIVITIES_ACTIVITY_H_
#define SAGAFLOW_ACTIVITIES_ACTIVITY_H_

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>

#include "common/result.h"
#include "common/time.h"
#include "dsl/json.h"

namespace sagaflow::activities {

using dsl::Json;

// A failed attempt: `error` is the name a retry policy or a `catch` matches.
struct ActivityError {
  std::string error;
  std::string message;
  bool non_retryable =
      false;  // Fails the step at once, whatever the retry policy says.
};

using ActivityResult = Result<Json, ActivityError>;

// The error an activity returns when it stops because it was cancelled.
inline constexpr char kCancelled[] = "Cancelled";
// The error for input an activity cannot use (never retried: the same input
// fails again).
inline constexpr char kInvalidInput[] = "InvalidInput";

// Set once, by the engine, when the run is cancelled or the attempt abandoned
// (timed out, branch failed). Activities poll it or wait on it. Thread-safe.
class Cancellation {
 public:
  void Cancel();
  bool cancelled() const;
  // Waits up to `timeout`; returns true if cancelled meanwhile (or before).
  bool WaitFor(Duration timeout) const;

 private:
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  bool cancelled_ = false;  // Guarded by mu_.
};

struct ActivityContext {
  std::string run_id;
  std::string step;
  // Which execution of the step: the root scope, a parallel branch or a map
  // iteration (with its index), so that iterations are told apart.
  uint32_t scope_instance = 0;
  std::optional<int64_t> index;
  bool is_compensation = false;  // This attempt runs the step's compensation.
  uint32_t attempt = 1;
  TimePoint deadline;  // The attempt's start-to-close deadline.
  const Cancellation* cancellation = nullptr;
  // Records progress and extends the heartbeat deadline; may be empty.
  std::function<void(const Json& details)> heartbeat;

  bool cancelled() const {
    return cancellation != nullptr && cancellation->cancelled();
  }
  // A key that stays the same across the retries and re-executions of this
  // piece of work and differs for every other (another step, iteration or the
  // compensation): for idempotent side effects.
  std::string IdempotencyKey() const;
};

class Activity {
 public:
  virtual ~Activity() = default;
  // Runs one attempt on an agent thread. Must return promptly once the context
  // is cancelled.
  virtual ActivityResult Run(const Json& input,
                             const ActivityContext& context) = 0;
  // True for an activity that returns at once without blocking, I/O or
  // locks (builtin.noop, builtin.echo): the engine may then run it on its own
  // thread right after the attempt is committed, instead of handing it to an
  // agent thread and back, as Temporal's local activities do. Everything else
  // about the attempt (commit before running, timeouts, stale-result checks)
  // is unchanged.
  virtual bool RunsInline() const { return false; }

  // Activities that wait on I/O without a thread (builtin.http) return true
  // and implement Start: it begins the attempt and returns at once; `done`
  // is called exactly once, from any thread, with the outcome. `context`
  // (and the Cancellation it points to) stays valid until then. Run is not
  // called for them.
  virtual bool RunsAsync() const { return false; }
  using Done = std::function<void(ActivityResult)>;
  virtual void Start(const Json& input, const ActivityContext& context,
                     Done done) {
    done(Run(input, context));
  }
};

}  // namespace sagaflow::activities

#endif  // SAGAFLOW_ACTIVITIES_ACTIVITY_H_
