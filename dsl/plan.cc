#include "dsl/plan.h"

#include <algorithm>
#include <cmath>

namespace sagaflow::dsl {

std::string_view StepTypeName(StepType type) {
  switch (type) {
    case StepType::kTask:
      return "task";
    case StepType::kChoice:
      return "choice";
    case StepType::kWait:
      return "wait";
    case StepType::kSignal:
      return "signal";
    case StepType::kParallel:
      return "parallel";
    case StepType::kMap:
      return "map";
    case StepType::kSucceed:
      return "succeed";
    case StepType::kFail:
      return "fail";
  }
  return "?";
}

std::string_view OnFailureName(OnFailure policy) {
  switch (policy) {
    case OnFailure::kCompensate:
      return "compensate";
    case OnFailure::kFail:
      return "fail";
    case OnFailure::kSuspend:
      return "suspend";
  }
  return "?";
}

bool RetryPolicy::IsRetryable(std::string_view error) const {
  return std::find(non_retryable_errors.begin(), non_retryable_errors.end(),
                   error) == non_retryable_errors.end();
}

Duration RetryPolicy::BackoffBefore(uint32_t attempt) const {
  if (attempt < 2) return Duration(0);
  const Duration cap = std::max(max_interval, Duration(0));
  const double factor =
      std::pow(backoff_coefficient, static_cast<double>(attempt - 2));
  const double ms = static_cast<double>(initial_interval.count()) * factor;
  // The comparison is false for inf and NaN too, so the cast below only sees
  // values under the cap: converting a double beyond int64's range is
  // undefined behaviour.
  if (!(ms < static_cast<double>(cap.count()))) return cap;
  if (!(ms > 0)) return Duration(0);
  return std::min(cap, Duration(static_cast<int64_t>(ms)));
}

bool CatchRule::Matches(std::string_view error) const {
  for (const std::string& e : errors) {
    if (e == "*" || e == error) return true;
  }
  return false;
}

const CatchRule* Step::FindCatch(std::string_view error) const {
  for (const CatchRule& rule : catches) {
    if (rule.Matches(error)) return &rule;
  }
  return nullptr;
}

std::optional<StepIndex> Plan::FindStep(std::string_view name) const {
  auto it = by_name_.find(std::string(name));
  if (it == by_name_.end()) return std::nullopt;
  return it->second;
}

bool Plan::InsideMap(StepIndex step) const {
  ScopeIndex scope = steps_[step].scope;
  while (scope != kRootScope) {
    const Step& owner = steps_[scopes_[scope].owner];
    if (owner.type == StepType::kMap) return true;
    scope = owner.scope;
  }
  return false;
}

}  // namespace sagaflow::dsl
