#include "activities/registry.h"

#include <algorithm>

#include "activities/builtin.h"

namespace sagaflow::activities {
namespace {

// The DSL's activity-name rule: [A-Za-z][A-Za-z0-9_.-]{0,127}.
bool IsActivityName(std::string_view s) {
  if (s.empty() || s.size() > 128) return false;
  auto alpha = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  };
  if (!alpha(s[0])) return false;
  return std::all_of(s.begin(), s.end(), [&](char c) {
    return alpha(c) || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
           c == '-';
  });
}

}  // namespace

ActivityRegistry ActivityRegistry::WithBuiltins() {
  ActivityRegistry registry;
  registry.activities_.emplace("builtin.noop", NewNoop());
  registry.activities_.emplace("builtin.echo", NewEcho());
  registry.activities_.emplace("builtin.sleep", NewSleep());
  registry.activities_.emplace("builtin.fail", NewFail());
  return registry;
}

Status ActivityRegistry::Register(std::string name,
                                  std::unique_ptr<Activity> activity) {
  if (!IsActivityName(name)) {
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
