// Fuzzes the whole DSL front end with arbitrary bytes: parse (limits),
// validate, compile, draw, and evaluate every compiled template and condition
// against a fixed run context. Any crash, sanitizer report, hang or unbounded
// allocation is a bug.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "dsl/compiler.h"
#include "dsl/graph.h"

namespace sagaflow::dsl {
namespace {

const Json& ContextDocument() {
  static const Json* const doc = new Json(Json::parse(R"json({
    "input": {"order_id": "o-1", "amount": 12.5, "items": [{"sku": "a"}, {"sku": "b"}],
              "nested": {"deep": [1, [2, [3]]]}},
    "signals": {"approval": {"approved": true, "comment": "ok"}},
    "run": {"id": "r-1", "workflow": "fuzz"},
    "item": {"url": "http://x"}, "index": 1
  })json"));
  return *doc;
}

void Exercise(const Plan& plan) {
  (void)RenderGraph(plan, GraphFormat::kMermaid);
  (void)RenderGraph(plan, GraphFormat::kDot);
  Json doc = ContextDocument();
  doc["steps"] = Json::object();
  for (const Step& step : plan.steps())
    doc["steps"][step.name]["output"] = {{"id", step.index}};
  JsonContext context(&plan, std::move(doc));
  for (const Step& step : plan.steps()) {
    switch (step.type) {
      case StepType::kTask:
        (void)step.task().input.Evaluate(context);
        if (step.task().compensate)
          (void)step.task().compensate->input.Evaluate(context);
        break;
      case StepType::kChoice:
        for (const ChoiceRule& rule : step.choice().choices)
          (void)rule.when.Evaluate(context);
        break;
      case StepType::kMap:
        (void)step.map().items.Evaluate(context);
        break;
      case StepType::kSucceed:
        if (step.succeed().output)
          (void)step.succeed().output->Evaluate(context);
        break;
      case StepType::kFail:
        (void)step.fail().message.Evaluate(context);
        break;
      default:
        break;
    }
  }
}

}  // namespace
}  // namespace sagaflow::dsl

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sagaflow::dsl;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto result = CompileDefinition(text);
  if (result.ok()) {
    Exercise(*result.value());
  } else {
    (void)FormatErrors(result.error());
  }
  return 0;
}
