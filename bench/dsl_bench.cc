// DSL costs: compiling a definition (registration time) and evaluating paths,
// templates and conditions (the engine's hot path: every step's input is a
// template). Results: docs/BENCHMARKS.md.
#include <benchmark/benchmark.h>

#include <fstream>
#include <sstream>

#include "dsl/compiler.h"

namespace sagaflow::dsl {
namespace {

std::string ReadSample(const char* name) {
  std::ifstream in(std::string(SAGAFLOW_SAMPLES_DIR) + "/" + name);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

const std::string& OrderSaga() {
  static const std::string* const text =
      new std::string(ReadSample("order_fulfillment.json"));
  return *text;
}

std::shared_ptr<const Plan> CompileOrDie(std::string_view text) {
  auto plan = CompileDefinition(text);
  if (!plan.ok()) std::abort();
  return plan.value();
}

Json OrderContextDocument() {
  return Json::parse(R"json({
    "input": {"order_id": "o-1842", "amount": 129.5,
              "items": [{"sku": "A-1", "qty": 2}, {"sku": "B-7", "qty": 1}]},
    "steps": {"reserve": {"output": {"reservation_id": "r-77"}},
              "charge": {"output": {"charge_id": "ch-9"}}},
    "run": {"id": "0190a8c2-1111-7000-8000-000000000000", "workflow": "order_fulfillment"}
  })json");
}

void BM_ParseJson(benchmark::State& state) {
  const std::string& text = OrderSaga();
  for (auto _ : state) {
    auto doc = ParseJson(text, {});
    benchmark::DoNotOptimize(doc);
  }
  state.SetBytesProcessed(
      static_cast<int64_t>(state.iterations() * text.size()));
}
BENCHMARK(BM_ParseJson);

void BM_CompileOrderSaga(benchmark::State& state) {
  const std::string& text = OrderSaga();
  for (auto _ : state) {
    auto plan = CompileDefinition(text);
    benchmark::DoNotOptimize(plan);
  }
}
BENCHMARK(BM_CompileOrderSaga);

struct Fixture {
  std::shared_ptr<const Plan> plan = CompileOrDie(OrderSaga());
  JsonContext context{plan.get(), OrderContextDocument()};
  const TaskSpec& task(const char* name) const {
    return plan->step(*plan->FindStep(name)).task();
  }
};

// "$.input.order_id": one simple path, as a whole-value reference.
void BM_EvaluateSimplePath(benchmark::State& state) {
  Fixture f;
  auto path = Path::Parse("$.input.order_id").value();
  for (auto _ : state) {
    auto value = path.Evaluate(f.context);
    benchmark::DoNotOptimize(value);
  }
}
BENCHMARK(BM_EvaluateSimplePath);

// The same path resolved without copying the value (what conditions do).
void BM_ResolveSimplePath(benchmark::State& state) {
  Fixture f;
  auto path = Path::Parse("$.input.order_id").value();
  Json scratch;
  for (auto _ : state) {
    auto value = path.Resolve(f.context, &scratch);
    benchmark::DoNotOptimize(value);
  }
}
BENCHMARK(BM_ResolveSimplePath);

// charge's input: {"amount": "$.input.amount", "memo": "order
// {{$.input.order_id}}"}.
void BM_EvaluateChargeInput(benchmark::State& state) {
  Fixture f;
  const Template& input = f.task("charge").input;
  for (auto _ : state) {
    auto value = input.Evaluate(f.context);
    benchmark::DoNotOptimize(value);
  }
}
BENCHMARK(BM_EvaluateChargeInput);

// reserve's compensation input: {"reservation_id":
// "$.steps.reserve.output.reservation_id"}.
void BM_EvaluateCompensationInput(benchmark::State& state) {
  Fixture f;
  const Template& input = f.task("reserve").compensate->input;
  for (auto _ : state) {
    auto value = input.Evaluate(f.context);
    benchmark::DoNotOptimize(value);
  }
}
BENCHMARK(BM_EvaluateCompensationInput);

void BM_EvaluateCondition(benchmark::State& state) {
  auto plan = CompileOrDie(R"json({
    "name": "route", "start_at": "c",
    "steps": {
      "c": {"type": "choice", "choices": [{"when": {"all": [
              {"path": "$.input.amount", "op": ">", "value": 100},
              {"path": "$.input.order_id", "op": "matches", "value": "^o-[0-9]+$"}]},
            "next": "big"}], "default": "small"},
      "big": {"type": "succeed"}, "small": {"type": "succeed"}
    }})json");
  JsonContext context(plan.get(), OrderContextDocument());
  const Condition& when =
      plan->step(*plan->FindStep("c")).choice().choices[0].when;
  for (auto _ : state) {
    auto value = when.Evaluate(context);
    benchmark::DoNotOptimize(value);
  }
}
BENCHMARK(BM_EvaluateCondition);

// `in` over a literal array of 1000 strings whose first element matches: the
// right-hand side is a literal and must not be copied per evaluation.
void BM_EvaluateInLargeLiteralArray(benchmark::State& state) {
  Json values = Json::array();
  for (int i = 0; i < 1000; ++i)
    values.push_back("o-" + std::to_string(1842 + i));
  Json definition = Json::parse(R"json({
    "name": "route", "start_at": "c",
    "steps": {
      "c": {"type": "choice", "choices": [{"when":
              {"path": "$.input.order_id", "op": "in", "value": null},
            "next": "known"}], "default": "unknown"},
      "known": {"type": "succeed"}, "unknown": {"type": "succeed"}
    }})json");
  definition["steps"]["c"]["choices"][0]["when"]["value"] = std::move(values);
  auto plan = CompileOrDie(definition.dump());
  JsonContext context(plan.get(), OrderContextDocument());
  const Condition& when =
      plan->step(*plan->FindStep("c")).choice().choices[0].when;
  for (auto _ : state) {
    auto value = when.Evaluate(context);
    if (!value.ok() || !value.value()) std::abort();
    benchmark::DoNotOptimize(value);
  }
}
BENCHMARK(BM_EvaluateInLargeLiteralArray);

}  // namespace
}  // namespace sagaflow::dsl
