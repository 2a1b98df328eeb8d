// What evaluation of paths, templates and conditions reads (the run context)
// and how it fails.
#ifndef SAGAFLOW_DSL_EVAL_H_
#define SAGAFLOW_DSL_EVAL_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "dsl/json.h"

namespace sagaflow::dsl {

// Index of a step in a Plan; the compiler resolves every step name to one.
using StepIndex = uint32_t;
// "No step": a scope ends here.
inline constexpr StepIndex kNoStep = UINT32_MAX;

// Workflow error names the DSL's evaluator produces; a `catch` can name them.
inline constexpr std::string_view kPathNotFound = "PathNotFound";
inline constexpr std::string_view kNoChoiceMatched = "NoChoiceMatched";
inline constexpr std::string_view kInvalidItems = "InvalidItems";
inline constexpr std::string_view kInvalidTimestamp = "InvalidTimestamp";
inline constexpr std::string_view kRegexTooComplex = "RegexTooComplex";
inline constexpr std::string_view kPayloadTooLarge = "PayloadTooLarge";

// A workflow-level failure: a name a `catch` can match, and a message for
// people.
struct StepError {
  std::string error;
  std::string message;
};

template <typename T>
using EvalResult = Result<T, StepError>;

// Bounds on every value evaluation builds (a step input, a succeed output, a
// fail message, a condition's right-hand side). ParseJson bounds what enters
// the system, but a template can nest a context value inside its own structure
// or repeat a large one, so its result is bounded again: without that, a
// value could grow deeper with every step that passes it on (nlohmann copies,
// dumps and compares recursively) or grow to hundreds of MB from a short
// definition. Exceeding a bound fails the evaluation with PayloadTooLarge,
// which a `catch` can take. The defaults equal the payload limits of
// dsl::Limits, so whatever ParseJson accepted as a payload passes here too.
struct EvalLimits {
  // Containers nested in one another: a scalar is 0 deep, [] and {} 1, [[]] 2
  // (as ParseJson counts).
  int max_depth = 64;
  // Approximate serialized size; see MeasurePayload.
  size_t max_bytes = 2 << 20;
};

enum class PayloadCheck : uint8_t { kOk, kTooDeep, kTooLarge };

// Adds the approximate serialized size of `value` to `*bytes` and checks the
// result against `limits`: `depth` (the containers `value` sits in) plus the
// value's own nesting must stay <= limits.max_depth, and `*bytes` <=
// limits.max_bytes. The size is the compact JSON text with strings counted
// without escapes and floats at 3 characters, a lower bound of any JSON text
// that parses to `value`, so a document ParseJson accepted under a byte limit
// measures within it. Walks with an explicit stack (no recursion) and stops at
// the first bound crossed, so the cost is bounded by the limits, not by the
// value. `*bytes` holds the running total when it returns.
PayloadCheck MeasurePayload(const Json& value, int depth,
                            const EvalLimits& limits, size_t* bytes);

// The nesting depth and approximate size (as above) of `value`, measured in
// full: for values already known to be bounded, such as definition literals.
struct PayloadSize {
  int depth = 0;
  size_t bytes = 0;
};
PayloadSize MeasurePayloadSize(const Json& value);

// The PayloadTooLarge error for a failed check (`check` != kOk). `inserting`,
// when not empty, names what was being inserted ("$.input.items").
StepError PayloadTooLargeError(PayloadCheck check, const EvalLimits& limits,
                               std::string_view inserting);

// Checks a whole value against `limits`, as the engine must for every value it
// stores from outside the evaluator (activity outputs, signal payloads), so
// that later evaluations never meet an unbounded value.
std::optional<StepError> CheckPayload(const Json& value,
                                      const EvalLimits& limits = {});

// The run context that `$...` paths read. The engine implements it over its run
// state without building a JSON document per evaluation; JsonContext (below) is
// a document-backed version for tests and tools. Pointers returned stay valid
// while the context is not modified.
class EvalContext {
 public:
  virtual ~EvalContext() = default;
  virtual const Json* Input() const = 0;
  // nullptr when the step has no output (not completed) or no recorded error.
  virtual const Json* StepOutput(StepIndex step) const = 0;
  virtual const Json* StepError(StepIndex step) const = 0;
  // The last payload received for signal `name`, or nullptr.
  virtual const Json* Signal(std::string_view name) const = 0;
  virtual std::string_view RunId() const = 0;
  virtual std::string_view WorkflowName() const = 0;
  // The current map element and its position; nullptr / nullopt outside a map
  // iteration.
  virtual const Json* Item() const = 0;
  virtual std::optional<int64_t> Index() const = 0;
  // Whole objects for the rare paths "$", "$.steps" and "$.signals": {"NAME":
  // {"output": ..., "error": ...}} and {"NAME": payload}. They can be far
  // larger than any one value (every step's output), so an implementation must
  // fail with PayloadTooLarge (see PayloadTooLargeError) as soon as what it
  // builds crosses `limits`, rather than build it whole and let the evaluator
  // reject it afterwards.
  virtual EvalResult<Json> StepsObject(const EvalLimits& limits) const = 0;
  virtual EvalResult<Json> SignalsObject(const EvalLimits& limits) const = 0;
};

class Plan;

// An EvalContext over one JSON document shaped like the context itself:
// {"input": ..., "steps": {"NAME": {"output": ..., "error": ...}}, "signals":
// {...},
//  "run": {"id": ..., "workflow": ...}, "item": ..., "index": N}. Step indexes
//  are mapped to
// names through `plan`, which must outlive this object.
class JsonContext final : public EvalContext {
 public:
  JsonContext(const Plan* plan, Json document);

  const Json* Input() const override;
  const Json* StepOutput(StepIndex step) const override;
  const Json* StepError(StepIndex step) const override;
  const Json* Signal(std::string_view name) const override;
  std::string_view RunId() const override;
  std::string_view WorkflowName() const override;
  const Json* Item() const override;
  std::optional<int64_t> Index() const override;
  EvalResult<Json> StepsObject(const EvalLimits& limits) const override;
  EvalResult<Json> SignalsObject(const EvalLimits& limits) const override;

  Json& document() { return document_; }

 private:
  const Json* Find(const Json& object, std::string_view key) const;
  const Json* StepField(StepIndex step, std::string_view field) const;
  std::string_view StringAt(std::string_view key) const;

  const Plan* plan_;
  Json document_;
};

}  // namespace sagaflow::dsl

#endif  // SAGAFLOW_DSL_EVAL_H_
