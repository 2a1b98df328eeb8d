// The built-in activities of CONTRACT.md §1 that need nothing from outside the
// process: builtin.noop, builtin.echo, builtin.sleep and builtin.fail.
// builtin.exec is in exec.h; builtin.http is not built yet.
#ifndef SAGAFLOW_ACTIVITIES_BUILTIN_H_
#define SAGAFLOW_ACTIVITIES_BUILTIN_H_

#include <memory>

#include "activities/activity.h"

namespace sagaflow::activities {

// Returns {}.
std::unique_ptr<Activity> NewNoop();
// Returns its input.
std::unique_ptr<Activity> NewEcho();
// {"duration": "2s"}: sleeps, returns {} (or fails with Cancelled as soon as it
// is cancelled).
std::unique_ptr<Activity> NewSleep();
// {"error": "Boom", "message": "...", "times": N}: fails its first N attempts
// (every attempt when `times` is absent) with that error, then returns its
// input. For demos and tests.
std::unique_ptr<Activity> NewFail();

}  // namespace sagaflow::activities

#endif  // SAGAFLOW_ACTIVITIES_BUILTIN_H_
