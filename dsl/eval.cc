#include "dsl/eval.h"

#include <limits>
#include <utility>
#include <vector>

#include "dsl/plan.h"

namespace sagaflow::dsl {
namespace {

// Characters of a JSON integer: digits and sign.
size_t IntegerChars(const Json& value) {
  uint64_t magnitude;
  size_t chars = 1;
  if (value.is_number_unsigned()) {
    magnitude = value.get<uint64_t>();
  } else {
    const int64_t v = value.get<int64_t>();
    magnitude = v < 0 ? 0 - static_cast<uint64_t>(v) : static_cast<uint64_t>(v);
    if (v < 0) ++chars;
  }
  while (magnitude >= 10) {
    magnitude /= 10;
    ++chars;
  }
  return chars;
}

// The approximate serialized size of a value that is not a container (see
// MeasurePayload for what "approximate" means).
size_t ScalarBytes(const Json& value) {
  switch (value.type()) {
    case Json::value_t::string:
      return value.get_ref<const std::string&>().size() + 2;
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
      return IntegerChars(value);
    case Json::value_t::number_float:
      return 3;  // The shortest float text: "1.5", "1e9".
    case Json::value_t::boolean:
      return value.get<bool>() ? 4 : 5;
    case Json::value_t::binary:
      return value.get_binary().size();
    default:
      return 4;  // null (and the never-seen "discarded")
  }
}

// Brackets and separating commas of a container with `n` elements.
size_t ContainerBytes(size_t n) { return 2 + (n == 0 ? 0 : n - 1); }

// MeasurePayload, also reporting in `*deepest` the deepest nesting seen.
PayloadCheck Walk(const Json& value, int depth, int max_depth, size_t max_bytes,
                  size_t* bytes, int* deepest) {
  size_t total = *bytes;
  if (!value.is_structured()) {
    total += ScalarBytes(value);
    *bytes = total;
    return total > max_bytes ? PayloadCheck::kTooLarge : PayloadCheck::kOk;
  }
  struct Frame {
    const Json* container;
    Json::const_iterator next;
  };
  std::vector<Frame> stack;
  auto enter = [&](const Json& container) {
    if (++depth > max_depth) return PayloadCheck::kTooDeep;
    if (depth > *deepest) *deepest = depth;
    total += ContainerBytes(container.size());
    if (total > max_bytes) return PayloadCheck::kTooLarge;
    stack.push_back({&container, container.cbegin()});
    return PayloadCheck::kOk;
  };
  PayloadCheck result = enter(value);
  while (result == PayloadCheck::kOk && !stack.empty()) {
    Frame& frame = stack.back();
    if (frame.next == frame.container->cend()) {
      stack.pop_back();
      --depth;
      continue;
    }
    if (frame.container->is_object()) total += frame.next.key().size() + 3;
    const Json& child = *frame.next;
    ++frame.next;  // Before enter(), whose push_back may move `frame`.
    if (child.is_structured()) {
      result = enter(child);
    } else {
      total += ScalarBytes(child);
      if (total > max_bytes) result = PayloadCheck::kTooLarge;
    }
  }
  *bytes = total;
  return result;
}

}  // namespace

PayloadCheck MeasurePayload(const Json& value, int depth,
                            const EvalLimits& limits, size_t* bytes) {
  int deepest = 0;
  return Walk(value, depth, limits.max_depth, limits.max_bytes, bytes,
              &deepest);
}

PayloadSize MeasurePayloadSize(const Json& value) {
  PayloadSize size;
  Walk(value, 0, std::numeric_limits<int>::max(),
       std::numeric_limits<size_t>::max(), &size.bytes, &size.depth);
  return size;
}

StepError PayloadTooLargeError(PayloadCheck check, const EvalLimits& limits,
                               std::string_view inserting) {
  std::string message = check == PayloadCheck::kTooDeep
                            ? "the value would nest deeper than the limit of " +
                                  std::to_string(limits.max_depth) + " levels"
                            : "the value would be larger than the limit of " +
                                  std::to_string(limits.max_bytes) + " bytes";
  if (!inserting.empty()) {
    message += " when inserting ";
    message += inserting;
  }
  return StepError{std::string(kPayloadTooLarge), std::move(message)};
}

std::optional<StepError> CheckPayload(const Json& value,
                                      const EvalLimits& limits) {
  size_t bytes = 0;
  const PayloadCheck check = MeasurePayload(value, 0, limits, &bytes);
  if (check == PayloadCheck::kOk) return std::nullopt;
  return PayloadTooLargeError(check, limits, {});
}

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

namespace {

// A copy of `object` (or {} when it is absent), measured first so that an
// oversized one is never copied.
EvalResult<Json> BoundedCopy(const Json* object, const EvalLimits& limits,
                             std::string_view what) {
  if (object == nullptr) return Json::object();
  size_t bytes = 0;
  const PayloadCheck check = MeasurePayload(*object, 0, limits, &bytes);
  if (check != PayloadCheck::kOk) {
    return PayloadTooLargeError(check, limits, what);
  }
  return *object;
}

}  // namespace

EvalResult<Json> JsonContext::StepsObject(const EvalLimits& limits) const {
  return BoundedCopy(Find(document_, "steps"), limits, "$.steps");
}

EvalResult<Json> JsonContext::SignalsObject(const EvalLimits& limits) const {
  return BoundedCopy(Find(document_, "signals"), limits, "$.signals");
}

}  // namespace sagaflow::dsl
