// What evaluation of paths, templates and conditions reads (the run context)
// and how it fails.
#ifndef SAGAFLOW_DSL_EVAL_H_
#define SAGAFLOW_DSL_EVAL_H_

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

// A workflow-level failure: a name a `catch` can match, and a message for
// people.
struct StepError {
  std::string error;
  std::string message;
};

template <typename T>
using EvalResult = Result<T, StepError>;

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
  // {"output": ..., "error": ...}} and {"NAME": payload}.
  virtual Json StepsObject() const = 0;
  virtual Json SignalsObject() const = 0;
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
  Json StepsObject() const override;
  Json SignalsObject() const override;

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
