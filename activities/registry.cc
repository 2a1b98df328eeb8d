#include "activities/registry.h"

#include "activities/builtin.h"
#include "dsl/names.h"

namespace sagaflow::activities {
ActivityRegistry ActivityRegistry::WithBuiltins(ExecOptions exec,
                                                HttpOptions http) {
  ActivityRegistry registry;
  registry.activities_.emplace("builtin.noop", NewNoop());
  registry.activities_.emplace("builtin.echo", NewEcho());
  registry.activities_.emplace("builtin.sleep", NewSleep());
  registry.activities_.emplace("builtin.fail", NewFail());
  registry.activities_.emplace("builtin.exec", NewExec(std::move(exec)));
  registry.activities_.emplace("builtin.http", NewHttp(http));
  return registry;
}

Status ActivityRegistry::Register(std::string name,
                                  std::unique_ptr<Activity> activity) {
  if (!dsl::IsQualifiedName(name)) {
    return Status::InvalidArgument("invalid activity name \"" + name + "\"");
  }
  if (activity == nullptr)
    return Status::InvalidArgument("no activity given for " + name);
  auto [it, inserted] =
      activities_.emplace(std::move(name), std::move(activity));
  if (!inserted)
    return Status::AlreadyExists("activity " + it->first +
                                 " is already registered");
  return Status::Ok();
}

Activity* ActivityRegistry::Find(std::string_view name) const {
  auto it = activities_.find(name);
  return it == activities_.end() ? nullptr : it->second.get();
}

}  // namespace sagaflow::activities
