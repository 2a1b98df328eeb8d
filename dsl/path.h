// Path references into the run context: "$", "$.input.order_id",
// "$.steps.reserve.output.items[0].sku", "$.signals.approval",
// "$.item['content.type']", "$.item['it\\'s']". Parsed and resolved once at
// compile time; evaluation walks pre-split segments.
#ifndef SAGAFLOW_DSL_PATH_H_
#define SAGAFLOW_DSL_PATH_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "dsl/eval.h"

namespace sagaflow::dsl {

enum class PathRoot : uint8_t {
  kContext,      // $
  kInput,        // $.input
  kSteps,        // $.steps
  kStep,         // $.steps.NAME            -> {"output": ..., "error": ...}
  kStepOutput,   // $.steps.NAME.output
  kStepError,    // $.steps.NAME.error
  kSignals,      // $.signals
  kSignal,       // $.signals.NAME
  kRun,          // $.run                   -> {"id": ..., "workflow": ...}
  kRunId,        // $.run.id
  kRunWorkflow,  // $.run.workflow
  kItem,         // $.item
  kIndex,        // $.index
};

struct PathSegment {
  std::string key;     // When !is_index.
  uint32_t index = 0;  // When is_index.
  bool is_index = false;
};

class Path {
 public:
  // True when `text` is meant as a path: "$" alone or "$" followed by '.' or
  // '['. Such a string must then parse; any other string is a literal ("$5" is
  // a price, not a path).
  static bool LooksLikePath(std::string_view text);

  // Parses the syntax and the root; a step name stays unresolved (step() ==
  // kNoStep) until the compiler binds it. The error says what is wrong and at
  // which character.
  static Result<Path, std::string> Parse(std::string_view text);

  PathRoot root() const { return root_; }
  // For kStep/kStepOutput/kStepError: the step's name and, once bound, its
  // index.
  const std::string& step_name() const { return name_; }
  StepIndex step() const { return step_; }
  void BindStep(StepIndex step) { step_ = step; }
  // For kSignal: the signal's name.
  const std::string& signal_name() const { return name_; }
  // Segments after the root ("$.input.a[0]" -> a, 0).
  const std::vector<PathSegment>& rest() const { return rest_; }
  const std::string& text() const { return text_; }

  // The value at this path, without copying it when it lives in the context.
  // `scratch` holds values the context has to build ("$", "$.run", ...). Fails
  // with PathNotFound.
  EvalResult<const Json*> Resolve(const EvalContext& context, Json* scratch,
                                  const EvalLimits& limits = {}) const;
  // The value at this path, copied. Fails with PathNotFound, or with
  // PayloadTooLarge when the value crosses `limits` (possible for the values
  // the context builds, such as "$" and "$.steps"); it is measured before it is
  // copied.
  EvalResult<Json> Evaluate(const EvalContext& context,
                            const EvalLimits& limits = {}) const;

 private:
  PathRoot root_ = PathRoot::kContext;
  StepIndex step_ = kNoStep;
  std::string name_;
  std::vector<PathSegment> rest_;
  std::string text_;
};

}  // namespace sagaflow::dsl

#endif  // SAGAFLOW_DSL_PATH_H_
