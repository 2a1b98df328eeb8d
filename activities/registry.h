// The activities the server runs in-process, by name. Every activity name not
// registered here is dispatched to remote workers. Register before the engine
// starts; lookups are then lock-free reads of an immutable map.
//
// A C++ user adds an activity by implementing activities::Activity and
// registering it:
//   registry.Register("images.resize", std::make_unique<ResizeActivity>());
#ifndef SAGAFLOW_ACTIVITIES_REGISTRY_H_
#define SAGAFLOW_ACTIVITIES_REGISTRY_H_

#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "activities/activity.h"
#include "activities/exec.h"
#include "activities/http.h"

namespace sagaflow::activities {

class ActivityRegistry {
 public:
  // A registry holding the built-ins (builtin.noop, builtin.echo,
  // builtin.sleep, builtin.fail, builtin.http, and builtin.exec, which fails
  // ExecDisabled unless `exec` allows programs).
  static ActivityRegistry WithBuiltins(ExecOptions exec = {},
                                       HttpOptions http = {});

  // Fails with ALREADY_EXISTS when `name` is taken, INVALID_ARGUMENT when it is
  // not a valid activity name.
  Status Register(std::string name, std::unique_ptr<Activity> activity);
  // nullptr when `name` is not in-process (a remote worker's activity).
  Activity* Find(std::string_view name) const;

 private:
  std::map<std::string, std::unique_ptr<Activity>, std::less<>> activities_;
};

}  // namespace sagaflow::activities

#endif  // SAGAFLOW_ACTIVITIES_REGISTRY_H_
