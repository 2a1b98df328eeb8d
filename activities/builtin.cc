#include "activities/builtin.h"

#include <optional>
#include <thread>

namespace sagaflow::activities {
namespace {

ActivityError InvalidInput(std::string message) {
  return ActivityError{kInvalidInput, std::move(message),
                       /*non_retryable=*/true};
}

class Noop final : public Activity {
 public:
  bool RunsInline() const override { return true; }
  ActivityResult Run(const Json&, const ActivityContext&) override {
    return Json::object();
  }
};

class Echo final : public Activity {
 public:
  bool RunsInline() const override { return true; }
  ActivityResult Run(const Json& input, const ActivityContext&) override {
    return input;
  }
};

class Sleep final : public Activity {
 public:
  ActivityResult Run(const Json& input,
                     const ActivityContext& context) override {
    auto it = input.is_object() ? input.find("duration") : input.end();
    if (!input.is_object() || it == input.end() || !it->is_string()) {
      return InvalidInput("builtin.sleep takes {\"duration\": \"2s\"}");
    }
    auto duration = ParseDuration(it->get_ref<const std::string&>());
    if (!duration.ok()) return InvalidInput(duration.status().message());
    const bool cancelled =
        context.cancellation != nullptr
            ? context.cancellation->WaitFor(duration.value())
            : (std::this_thread::sleep_for(duration.value()), false);
    if (cancelled) return ActivityError{kCancelled, "sleep cancelled", false};
    return Json::object();
  }
};

class Fail final : public Activity {
 public:
  ActivityResult Run(const Json& input,
                     const ActivityContext& context) override {
    std::string error = "Failed", message = "builtin.fail";
    std::optional<int64_t> times;
    if (input.is_object()) {
      if (auto it = input.find("error"); it != input.end()) {
        if (!it->is_string() || it->get_ref<const std::string&>().empty()) {
          return InvalidInput("builtin.fail: \"error\" is a non-empty string");
        }
        error = it->get<std::string>();
      }
      if (auto it = input.find("message"); it != input.end()) {
        if (!it->is_string())
          return InvalidInput("builtin.fail: \"message\" is a string");
        message = it->get<std::string>();
      }
      if (auto it = input.find("times"); it != input.end()) {
        if (!it->is_number_integer() || it->get<int64_t>() < 0) {
          return InvalidInput(
              "builtin.fail: \"times\" is a non-negative integer");
        }
        times = it->get<int64_t>();
      }
    }
    if (!times || static_cast<int64_t>(context.attempt) <= *times) {
      return ActivityError{error, message, false};
    }
    return input;
  }
};

}  // namespace

std::unique_ptr<Activity> NewNoop() { return std::make_unique<Noop>(); }
std::unique_ptr<Activity> NewEcho() { return std::make_unique<Echo>(); }
std::unique_ptr<Activity> NewSleep() { return std::make_unique<Sleep>(); }
std::unique_ptr<Activity> NewFail() { return std::make_unique<Fail>(); }

}  // namespace sagaflow::activities
