// What the engine tells observers (metrics, watch streams) after each commit.
#ifndef SAGAFLOW_ENGINE_OBSERVER_H_
#define SAGAFLOW_ENGINE_OBSERVER_H_

#include <cstdint>
#include <vector>

#include "common/time.h"
#include "persistence/store.h"

namespace sagaflow::engine {

// How long an attempt ran, from its start to the result an agent reported.
struct AttemptTiming {
  bool compensation = false;
  bool ok = false;
  int64_t duration_ms = 0;
};

// One committed transition of one run. References are valid only during the
// callback.
struct CommitInfo {
  // As committed: status, last_event_seq and current steps are current.
  const persistence::RunRecord& run;
  // UNSPECIFIED when the commit created the run.
  persistence::RunStatus previous_status;
  // From handing the transition to the store to its acknowledgement.
  Duration commit_latency;
  const std::vector<AttemptTiming>& attempt_timings;
};

}  // namespace sagaflow::engine

#endif  // SAGAFLOW_ENGINE_OBSERVER_H_
