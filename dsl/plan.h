// The compiled, immutable form of a workflow definition. The engine walks a
// Plan and never looks at definition JSON again: steps are indexed, edges
// resolved to indexes, paths and templates pre-parsed, regexes compiled, and
// retry policies and timeouts already merged with the definition's defaults. A
// Plan is shared read-only between threads.
#ifndef SAGAFLOW_DSL_PLAN_H_
#define SAGAFLOW_DSL_PLAN_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>
#include <vector>

#include "common/time.h"
#include "dsl/condition.h"
#include "dsl/template.h"

namespace sagaflow::dsl {

using ScopeIndex = uint32_t;
inline constexpr ScopeIndex kRootScope = 0;

enum class StepType : uint8_t {
  kTask,
  kChoice,
  kWait,
  kSignal,
  kParallel,
  kMap,
  kSucceed,
  kFail
};
enum class OnFailure : uint8_t { kCompensate, kFail, kSuspend };

std::string_view StepTypeName(StepType type);
std::string_view OnFailureName(OnFailure policy);

struct RetryPolicy {
  uint32_t max_attempts = 3;
  Duration initial_interval = Duration(1000);
  double backoff_coefficient = 2.0;
  Duration max_interval = Duration(100'000);
  std::vector<std::string> non_retryable_errors;

  bool IsRetryable(std::string_view error) const;
  // The wait before attempt `attempt` (2 is the first retry): initial_interval
  // * coefficient^(attempt-2), capped at max_interval. Never more than
  // max_interval (nor negative), and free of overflow for any attempt number
  // and any field values.
  Duration BackoffBefore(uint32_t attempt) const;
};

struct CatchRule {
  std::vector<std::string> errors;  // "*" matches every error.
  StepIndex next = kNoStep;
  bool Matches(std::string_view error) const;
};

struct Compensation {
  std::string activity;
  Template input;
  std::optional<Duration> timeout;
  std::optional<Duration> heartbeat_timeout;
  RetryPolicy retry;
};

struct TaskSpec {
  std::string activity;
  Template input;
  std::optional<Duration> timeout;  // Per attempt, start to close.
  std::optional<Duration> heartbeat_timeout;
  std::optional<Duration> queue_timeout;  // Scheduled to started.
  RetryPolicy retry;
  std::optional<Compensation> compensate;
  bool compensate_on_failure = false;
};

struct ChoiceRule {
  Condition when;
  StepIndex next = kNoStep;
};

struct ChoiceSpec {
  std::vector<ChoiceRule> choices;
  std::optional<StepIndex> default_next;
};

struct WaitSpec {
  std::optional<Duration> duration;
  // `until`: a fixed instant, or a path evaluated when the step starts.
  std::optional<TimePoint> until_time;
  std::optional<Path> until_path;
};

struct SignalSpec {
  std::string signal;
  std::optional<Duration> timeout;
};

struct ParallelSpec {
  std::vector<ScopeIndex> branches;
};

struct MapSpec {
  Path items;
  ScopeIndex iterator = kRootScope;
  uint32_t max_concurrency = 0;  // 0: no limit beyond the engine's own.
};

struct SucceedSpec {
  // Absent: the output of the step that led here passes through.
  std::optional<Template> output;
};

struct FailSpec {
  std::string error;
  Template message;
};

struct Step {
  std::string name;
  StepType type = StepType::kTask;
  StepIndex index = kNoStep;
  ScopeIndex scope = kRootScope;
  // kNoStep: the scope (run, branch or iteration) ends after this step.
  StepIndex next = kNoStep;
  std::vector<CatchRule> catches;
  std::string location;  // "steps.charge", for messages.
  std::variant<TaskSpec, ChoiceSpec, WaitSpec, SignalSpec, ParallelSpec,
               MapSpec, SucceedSpec, FailSpec>
      spec;

  const TaskSpec& task() const { return std::get<TaskSpec>(spec); }
  const ChoiceSpec& choice() const { return std::get<ChoiceSpec>(spec); }
  const WaitSpec& wait() const { return std::get<WaitSpec>(spec); }
  const SignalSpec& signal() const { return std::get<SignalSpec>(spec); }
  const ParallelSpec& parallel() const { return std::get<ParallelSpec>(spec); }
  const MapSpec& map() const { return std::get<MapSpec>(spec); }
  const SucceedSpec& succeed() const { return std::get<SucceedSpec>(spec); }
  const FailSpec& fail() const { return std::get<FailSpec>(spec); }

  // The first catch rule that takes `error`, or nullptr.
  const CatchRule* FindCatch(std::string_view error) const;
};

// A `steps` object: the run's top level, one parallel branch, or a map
// iterator.
struct Scope {
  StepIndex start = kNoStep;
  StepIndex owner =
      kNoStep;  // The parallel or map step; kNoStep for the root scope.
  std::vector<StepIndex> steps;
};

class Plan {
 public:
  Plan(const Plan&) = delete;
  Plan& operator=(const Plan&) = delete;

  const std::string& name() const { return name_; }
  const std::string& description() const { return description_; }
  std::optional<Duration> run_timeout() const { return run_timeout_; }
  OnFailure on_failure() const { return on_failure_; }

  StepIndex start() const { return scopes_[kRootScope].start; }
  const std::vector<Step>& steps() const { return steps_; }
  const Step& step(StepIndex index) const { return steps_[index]; }
  const std::vector<Scope>& scopes() const { return scopes_; }
  const Scope& scope(ScopeIndex index) const { return scopes_[index]; }
  std::optional<StepIndex> FindStep(std::string_view name) const;
  // Whether `step` lies inside a map iterator (at any depth), where $.item and
  // $.index exist.
  bool InsideMap(StepIndex step) const;

 private:
  friend class Compiler;
  Plan() = default;

  std::string name_;
  std::string description_;
  std::optional<Duration> run_timeout_;
  OnFailure on_failure_ = OnFailure::kCompensate;
  std::vector<Step> steps_;
  std::vector<Scope> scopes_;
  std::unordered_map<std::string, StepIndex> by_name_;
};

}  // namespace sagaflow::dsl

#endif  // SAGAFLOW_DSL_PLAN_H_
