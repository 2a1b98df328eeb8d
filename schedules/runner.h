// The schedule runner: keeps every schedule of the store, fires each at its
// fire times by starting a run through the engine, and applies the overlap
// policy and the catch-up window (docs/SCHEDULES.md).
//
// Durability and idempotence: a fire starts its run under a run id made of
// the schedule id and the nominal time ("nightly-2026-12-07T02:00:00Z"), and
// only once that start is durable does the schedule's advanced state get
// written. A crash between the two makes the next process fire the same
// nominal time again, which the engine answers with the existing run
// (already_started): nothing fires twice, and nothing inside the catch-up
// window is missed.
//
// Every method is thread-safe.
#ifndef SAGAFLOW_SCHEDULES_RUNNER_H_
#define SAGAFLOW_SCHEDULES_RUNNER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/result.h"
#include "common/time.h"
#include "persistence/store.h"
#include "schedules/spec.h"

namespace sagaflow::engine {
class Engine;
}

namespace sagaflow::schedules {

using persistence::ScheduleActionRecord;

struct RunnerOptions {
  Clock* clock = nullptr;  // nullptr: the system clock.
  // false: no thread; the owner calls Tick() (tests with a ManualClock).
  bool start_thread = true;
};

// The run id a schedule's fire at `nominal_ms` starts.
std::string ScheduledRunId(std::string_view schedule_id, int64_t nominal_ms);

class Runner {
 public:
  // Loads every schedule; fires that are due (after downtime) run on the
  // first Tick. `store` and `engine` must outlive the runner.
  static Result<std::unique_ptr<Runner>> Open(persistence::Store* store,
                                              engine::Engine* engine,
                                              RunnerOptions options = {});
  ~Runner();  // Shutdown()s.
  Runner(const Runner&) = delete;
  Runner& operator=(const Runner&) = delete;

  // Stops the thread; later calls answer UNAVAILABLE.
  void Shutdown();

  // `spec` carries the schedule id and the spec fields; the state fields are
  // ignored. INVALID_ARGUMENT names every wrong field (an unregistered
  // workflow too); ALREADY_EXISTS when the id is taken.
  Result<ScheduleRecord> Create(ScheduleRecord spec);
  Result<ScheduleRecord> Get(std::string_view schedule_id);
  Result<persistence::Page<ScheduleRecord>> List(size_t page_size,
                                                 std::string_view page_token);
  // Replaces the spec and keeps the state (counters, last run, buffered
  // fire); the next fire time is computed from now. expected_revision 0:
  // any.
  Result<ScheduleRecord> Update(ScheduleRecord spec,
                                uint64_t expected_revision);
  Result<ScheduleRecord> Pause(std::string_view schedule_id, std::string note);
  Result<ScheduleRecord> Unpause(std::string_view schedule_id,
                                 std::string note);
  Status Delete(std::string_view schedule_id);
  // Fires now (nominal time: now), also when paused; `overlap` 0 means the
  // schedule's own policy. The next regular fire time does not move.
  Result<ScheduleActionRecord> Trigger(std::string_view schedule_id,
                                       int32_t overlap);

  // Tells the runner a run stopped (the engine's on_run_stopped hook):
  // a buffered fire may now start. Does not block; ignores runs no schedule
  // started.
  void OnRunStopped(const persistence::RunRecord& run);

  // Acts on everything due at the clock's now: fires, and buffered fires
  // whose previous run ended. The thread calls it; tests without a thread
  // call it after moving their clock.
  void Tick();

  class Impl;

 private:
  explicit Runner(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sagaflow::schedules

#endif  // SAGAFLOW_SCHEDULES_RUNNER_H_
