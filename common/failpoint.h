// Failpoints: named places in the engine and the store where a test build can
// make the process crash (as kill -9 would) or stall, to prove that no crash
// point loses or duplicates work (docs/RELIABILITY.md).
//
//   SAGAFLOW_FAILPOINT("engine.commit.before_reply");
//
// Only builds configured with -DSAGAFLOW_FAILPOINTS=ON (the default when the
// tests are built) honour them; elsewhere every failpoint is one relaxed
// atomic load that is never true. They are armed by the environment variable
// SAGAFLOW_FAILPOINTS, read once at start-up, or by Configure() in-process:
//
//   SAGAFLOW_FAILPOINTS="engine.commit.before_reply=crash(0.02);store.commit.before_write=crash@3"
//
// Actions: `crash` (every hit), `crash(P)` (each hit with probability P),
// `crash@N` (the Nth hit), `sleep(MS)` (each hit stalls MS milliseconds) and
// `off`. A crash first writes "failpoint NAME: crash" to stderr, then raises
// SIGKILL: no destructor, flush or atexit handler runs.
#ifndef SAGAFLOW_COMMON_FAILPOINT_H_
#define SAGAFLOW_COMMON_FAILPOINT_H_

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "common/status.h"

namespace sagaflow::failpoint {

namespace internal {
extern std::atomic<bool> armed;
void Hit(std::string_view name);
}  // namespace internal

// Every failpoint name placed in the code, so a misspelt configuration is
// refused instead of silently never firing.
const std::vector<std::string_view>& Known();

// Replaces the configuration (the syntax of SAGAFLOW_FAILPOINTS; empty
// disarms all). Fails, changing nothing, on a syntax error, an unknown name,
// or in a build without failpoints.
Status Configure(std::string_view spec);

// How many times `name` was reached since it was last configured.
uint64_t Hits(std::string_view name);

// Whether this build honours failpoints at all.
bool Compiled();

}  // namespace sagaflow::failpoint

#define SAGAFLOW_FAILPOINT(name)                     \
  do {                                               \
    if (::sagaflow::failpoint::internal::armed.load( \
            std::memory_order_relaxed)) {            \
      ::sagaflow::failpoint::internal::Hit(name);    \
    }                                                \
  } while (0)

#endif  // SAGAFLOW_COMMON_FAILPOINT_H_
