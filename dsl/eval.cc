#include "dsl/eval.h"

#include <utility>

#include "dsl/plan.h"

namespace sagaflow::dsl {

JsonContext::JsonContext(const Plan* plan, Json document)
    : plan_(plan), document_(std::move(document)) {}

const Json* JsonContext::Find(const Json& object, std::string_view key) const {
  if (!object.is_object()) return nullptr;
  auto it = object.find(key);  // Heterogeneous lookup: no std::string is built.
  return it == object.end() ? nullptr : &*it;
}

const Json* JsonContext::StepField(StepIndex step,
                                   std::string_view field) const {
  if (plan_ == nullptr || step >= plan_->steps().size()) return nullptr;
  const Json* steps = Find(document_, "steps");
  if (!steps) return nullptr;
  const Json* entry = Find(*steps, plan_->step(step).name);
  return entry ? Find(*entry, field) : nullptr;
}

std::string_view JsonContext::StringAt(std::string_view key) const {
  const Json* run = Find(document_, "run");
  const Json* value = run ? Find(*run, key) : nullptr;
  if (!value || !value->is_string()) return {};
  return value->get_ref<const std::string&>();
}

const Json* JsonContext::Input() const { return Find(document_, "input"); }
const Json* JsonContext::StepOutput(StepIndex step) const {
  return StepField(step, "output");
}
const Json* JsonContext::StepError(StepIndex step) const {
  return StepField(step, "error");
}

const Json* JsonContext::Signal(std::string_view name) const {
  const Json* signals = Find(document_, "signals");
  return signals ? Find(*signals, name) : nullptr;
}

std::string_view JsonContext::RunId() const { return StringAt("id"); }
std::string_view JsonContext::WorkflowName() const {
  return StringAt("workflow");
}
const Json* JsonContext::Item() const { return Find(document_, "item"); }

std::optional<int64_t> JsonContext::Index() const {
  const Json* index = Find(document_, "index");
  if (!index || !index->is_number_integer()) return std::nullopt;
  return index->get<int64_t>();
}

Json JsonContext::StepsObject() const {
  const Json* steps = Find(document_, "steps");
  return steps ? *steps : Json::object();
}

Json JsonContext::SignalsObject() const {
  const Json* signals = Find(document_, "signals");
  return signals ? *signals : Json::object();
}

}  // namespace sagaflow::dsl
