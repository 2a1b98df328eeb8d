// The Plan a valid definition compiles to: indexes, resolved edges, merged
// defaults and the per-type specs the engine reads.
#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dsl/compiler.h"
#include "dsl/eval.h"
#include "dsl/plan.h"

namespace sagaflow::dsl {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

std::shared_ptr<const Plan> Compile(std::string_view text) {
  CompileResult result = CompileDefinition(text);
  if (!result.ok()) {
    ADD_FAILURE() << "compilation failed:\n" << FormatErrors(result.error());
    return nullptr;
  }
  return result.value();
}

const Step& StepNamed(const Plan& plan, std::string_view name) {
  auto index = plan.FindStep(name);
  if (!index) {
    ADD_FAILURE() << "no step " << name;
    return plan.step(0);
  }
  return plan.step(*index);
}

StepIndex IndexOf(const Plan& plan, std::string_view name) {
  auto index = plan.FindStep(name);
  EXPECT_TRUE(index.has_value()) << "no step " << name;
  return index.value_or(kNoStep);
}

// Evaluates `t` against a context document.
Json Eval(const Plan& plan, const Template& t, Json context = Json::object()) {
  JsonContext ctx(&plan, std::move(context));
  auto result = t.Evaluate(ctx);
  if (!result.ok()) {
    ADD_FAILURE() << result.error().error << ": " << result.error().message;
    return Json();
  }
  return result.value();
}

constexpr char kSaga[] = R"json({
  "name": "order_fulfillment",
  "description": "Reserve, charge, ship",
  "start_at": "reserve",
  "timeout": "1h",
  "steps": {
    "reserve": {"type": "task", "activity": "inventory.reserve",
                "input": {"order_id": "$.input.order_id"},
                "compensate": {"activity": "inventory.release",
                               "input": {"reservation_id": "$.steps.reserve.output.id"}},
                "next": "charge"},
    "charge": {"type": "task", "activity": "payments.charge",
               "catch": [{"errors": ["CardDeclined"], "next": "declined"}],
               "next": "ship"},
    "ship": {"type": "task", "activity": "shipping.ship", "next": "done"},
    "declined": {"type": "fail", "error": "PaymentDeclined",
                 "message": "card declined for {{$.input.order_id}}"},
    "done": {"type": "succeed", "output": {"tracking": "$.steps.ship.output.tracking"}}
  }
})json";

// ---------------------------------------------------------------------------------------------
// Steps, indexes and edges.

TEST(CompileTest, TopLevelFields) {
  auto plan = Compile(kSaga);
  ASSERT_TRUE(plan);
  EXPECT_EQ(plan->name(), "order_fulfillment");
  EXPECT_EQ(plan->description(), "Reserve, charge, ship");
  EXPECT_EQ(plan->run_timeout(), std::optional<Duration>(hours(1)));
  EXPECT_EQ(plan->on_failure(), OnFailure::kCompensate);
  EXPECT_EQ(plan->start(), IndexOf(*plan, "reserve"));
}

TEST(CompileTest, StepIndexesAndFindStep) {
  auto plan = Compile(kSaga);
  ASSERT_TRUE(plan);
  ASSERT_EQ(plan->steps().size(), 5u);
  ASSERT_EQ(plan->scopes().size(), 1u);
  for (StepIndex i = 0; i < plan->steps().size(); ++i) {
    const Step& step = plan->step(i);
    EXPECT_EQ(step.index, i);
    EXPECT_EQ(step.scope, kRootScope);
    EXPECT_EQ(step.location, "steps." + step.name);
    EXPECT_EQ(plan->FindStep(step.name), std::optional<StepIndex>(i));
  }
  for (const char* name : {"reserve", "charge", "ship", "declined", "done"}) {
    EXPECT_TRUE(plan->FindStep(name).has_value()) << name;
  }
  EXPECT_FALSE(plan->FindStep("nope").has_value());
  EXPECT_FALSE(plan->FindStep("").has_value());
  // The root scope lists every top-level step exactly once.
  EXPECT_EQ(plan->scope(kRootScope).steps.size(), 5u);
  EXPECT_EQ(plan->scope(kRootScope).owner, kNoStep);
}

TEST(CompileTest, StepTypes) {
  auto plan = Compile(kSaga);
  ASSERT_TRUE(plan);
  EXPECT_EQ(StepNamed(*plan, "reserve").type, StepType::kTask);
  EXPECT_EQ(StepNamed(*plan, "declined").type, StepType::kFail);
  EXPECT_EQ(StepNamed(*plan, "done").type, StepType::kSucceed);
  EXPECT_EQ(StepTypeName(StepType::kParallel), "parallel");
  EXPECT_EQ(StepTypeName(StepType::kMap), "map");
}

TEST(CompileTest, NextEdgesResolved) {
  auto plan = Compile(kSaga);
  ASSERT_TRUE(plan);
  EXPECT_EQ(StepNamed(*plan, "reserve").next, IndexOf(*plan, "charge"));
  EXPECT_EQ(StepNamed(*plan, "charge").next, IndexOf(*plan, "ship"));
  EXPECT_EQ(StepNamed(*plan, "ship").next, IndexOf(*plan, "done"));
  EXPECT_EQ(StepNamed(*plan, "done").next, kNoStep);
  EXPECT_EQ(StepNamed(*plan, "declined").next, kNoStep);
}

TEST(CompileTest, StepWithoutNextEndsTheScope) {
  auto plan = Compile(R"json({"name": "wf", "start_at": "only",
                              "steps": {"only": {"type": "task", "activity": "x"}}})json");
  ASSERT_TRUE(plan);
  EXPECT_EQ(StepNamed(*plan, "only").next, kNoStep);
}

TEST(CompileTest, TaskActivityAndInput) {
  auto plan = Compile(kSaga);
  ASSERT_TRUE(plan);
  const TaskSpec& reserve = StepNamed(*plan, "reserve").task();
  EXPECT_EQ(reserve.activity, "inventory.reserve");
  EXPECT_EQ(Eval(*plan, reserve.input,
                 {{"input", {{"order_id", "o-1"}, {"other", 2}}}}),
            Json({{"order_id", "o-1"}}));
  // Without `input`, a task gets the run input.
  const TaskSpec& ship = StepNamed(*plan, "ship").task();
  ASSERT_NE(ship.input.as_path(), nullptr);
  EXPECT_EQ(ship.input.as_path()->root(), PathRoot::kInput);
  EXPECT_EQ(Eval(*plan, ship.input, {{"input", {{"a", 1}}}}), Json({{"a", 1}}));
}

// ---------------------------------------------------------------------------------------------
// Timeouts and retry policies merged with the defaults.

TEST(CompileTest, BuiltInDefaultsWhenNeitherStepNorDefinitionSetsThem) {
  auto plan = Compile(R"json({"name": "wf", "start_at": "a",
                              "steps": {"a": {"type": "task", "activity": "x"}}})json");
  ASSERT_TRUE(plan);
  const TaskSpec& task = StepNamed(*plan, "a").task();
  EXPECT_EQ(task.timeout, std::optional<Duration>(kDefaultTaskTimeout));
  EXPECT_EQ(kDefaultTaskTimeout, minutes(5));
  EXPECT_FALSE(task.heartbeat_timeout.has_value());
  EXPECT_FALSE(task.queue_timeout.has_value());
  EXPECT_FALSE(task.compensate.has_value());
  EXPECT_FALSE(task.compensate_on_failure);
  const RetryPolicy defaults;
  EXPECT_EQ(task.retry.max_attempts, defaults.max_attempts);
  EXPECT_EQ(task.retry.initial_interval, defaults.initial_interval);
  EXPECT_EQ(task.retry.backoff_coefficient, defaults.backoff_coefficient);
  EXPECT_EQ(task.retry.max_interval, defaults.max_interval);
  EXPECT_TRUE(task.retry.non_retryable_errors.empty());
  // The documented values of those defaults.
  EXPECT_EQ(defaults.max_attempts, 3u);
  EXPECT_EQ(defaults.initial_interval, seconds(1));
  EXPECT_EQ(defaults.backoff_coefficient, 2.0);
  EXPECT_EQ(defaults.max_interval, seconds(100));
  EXPECT_FALSE(plan->run_timeout().has_value());
}

constexpr char kWithDefaults[] = R"json({
  "name": "wf", "start_at": "plain",
  "defaults": {"timeout": "30s", "heartbeat_timeout": "5s",
               "retry": {"max_attempts": 7, "initial_interval": "3s",
                         "non_retryable_errors": ["Fatal"]}},
  "steps": {
    "plain": {"type": "task", "activity": "x", "next": "own_retry"},
    "own_retry": {"type": "task", "activity": "x", "retry": {"max_attempts": 2},
                  "next": "own_timeouts"},
    "own_timeouts": {"type": "task", "activity": "x", "timeout": "10s",
                     "heartbeat_timeout": "1s", "queue_timeout": "2m"}
  }
})json";

TEST(CompileTest, DefaultsAppliedToTaskWithoutItsOwn) {
  auto plan = Compile(kWithDefaults);
  ASSERT_TRUE(plan);
  const TaskSpec& task = StepNamed(*plan, "plain").task();
  EXPECT_EQ(task.timeout, std::optional<Duration>(seconds(30)));
  EXPECT_EQ(task.heartbeat_timeout, std::optional<Duration>(seconds(5)));
  EXPECT_EQ(task.retry.max_attempts, 7u);
  EXPECT_EQ(task.retry.initial_interval, seconds(3));
  // max_interval follows initial_interval when not given: 100 times it.
  EXPECT_EQ(task.retry.max_interval, seconds(300));
  EXPECT_EQ(task.retry.non_retryable_errors, std::vector<std::string>{"Fatal"});
}

TEST(CompileTest, TasksOwnRetryReplacesTheDefaultOne) {
  auto plan = Compile(kWithDefaults);
  ASSERT_TRUE(plan);
  const TaskSpec& task = StepNamed(*plan, "own_retry").task();
  EXPECT_EQ(task.retry.max_attempts, 2u);
  // Replaced as a whole, not merged field by field: the rest are the built-in
  // defaults.
  EXPECT_EQ(task.retry.initial_interval, RetryPolicy().initial_interval);
  EXPECT_EQ(task.retry.max_interval, RetryPolicy().max_interval);
  EXPECT_TRUE(task.retry.non_retryable_errors.empty());
  // Timeouts still come from the defaults.
  EXPECT_EQ(task.timeout, std::optional<Duration>(seconds(30)));
}

TEST(CompileTest, TasksOwnTimeoutsWin) {
  auto plan = Compile(kWithDefaults);
  ASSERT_TRUE(plan);
  const TaskSpec& task = StepNamed(*plan, "own_timeouts").task();
  EXPECT_EQ(task.timeout, std::optional<Duration>(seconds(10)));
  EXPECT_EQ(task.heartbeat_timeout, std::optional<Duration>(seconds(1)));
  EXPECT_EQ(task.queue_timeout, std::optional<Duration>(minutes(2)));
  EXPECT_EQ(task.retry.max_attempts, 7u);
}

TEST(CompileTest, FullRetryPolicy) {
  auto plan = Compile(R"json({"name": "wf", "start_at": "a", "steps": {"a": {
      "type": "task", "activity": "x",
      "retry": {"max_attempts": 5, "initial_interval": "200ms", "backoff_coefficient": 1.5,
                "max_interval": "10s", "non_retryable_errors": ["OutOfStock", "Invalid"]}}}})json");
  ASSERT_TRUE(plan);
  const RetryPolicy& retry = StepNamed(*plan, "a").task().retry;
  EXPECT_EQ(retry.max_attempts, 5u);
  EXPECT_EQ(retry.initial_interval, milliseconds(200));
  EXPECT_EQ(retry.backoff_coefficient, 1.5);
  EXPECT_EQ(retry.max_interval, seconds(10));
  EXPECT_EQ(retry.non_retryable_errors,
            (std::vector<std::string>{"OutOfStock", "Invalid"}));
}

// ---------------------------------------------------------------------------------------------
// Compensation.

TEST(CompileTest, CompensationFields) {
  auto plan = Compile(kSaga);
  ASSERT_TRUE(plan);
  const TaskSpec& reserve = StepNamed(*plan, "reserve").task();
  ASSERT_TRUE(reserve.compensate.has_value());
  const Compensation& comp = *reserve.compensate;
  EXPECT_EQ(comp.activity, "inventory.release");
  EXPECT_EQ(Eval(*plan, comp.input,
                 {{"steps", {{"reserve", {{"output", {{"id", "r-9"}}}}}}}}),
            Json({{"reservation_id", "r-9"}}));
  // Built-in defaults for what the compensation does not set.
  EXPECT_EQ(comp.timeout, std::optional<Duration>(kDefaultTaskTimeout));
  EXPECT_FALSE(comp.heartbeat_timeout.has_value());
  EXPECT_EQ(comp.retry.max_attempts, RetryPolicy().max_attempts);
  EXPECT_FALSE(StepNamed(*plan, "charge").task().compensate.has_value());
}

TEST(CompileTest, CompensationDefaultsAndOwnSettings) {
  auto plan = Compile(R"json({"name": "wf", "start_at": "a",
      "defaults": {"timeout": "30s", "heartbeat_timeout": "4s", "retry": {"max_attempts": 9}},
      "steps": {
        "a": {"type": "task", "activity": "x", "compensate": {"activity": "undo_a"},
              "next": "b"},
        "b": {"type": "task", "activity": "y", "compensate_on_failure": true,
              "compensate": {"activity": "undo_b", "input": "$.steps.b.output",
                             "timeout": "1m", "heartbeat_timeout": "2s",
                             "retry": {"max_attempts": 20, "initial_interval": "1s",
                                       "max_interval": "1m"}}}}})json");
  ASSERT_TRUE(plan);
  const Compensation& a = *StepNamed(*plan, "a").task().compensate;
  EXPECT_EQ(a.activity, "undo_a");
  // Input defaults to the run input, timeouts and retry to the definition's
  // defaults.
  ASSERT_NE(a.input.as_path(), nullptr);
  EXPECT_EQ(a.input.as_path()->root(), PathRoot::kInput);
  EXPECT_EQ(a.timeout, std::optional<Duration>(seconds(30)));
  EXPECT_EQ(a.heartbeat_timeout, std::optional<Duration>(seconds(4)));
  EXPECT_EQ(a.retry.max_attempts, 9u);
  EXPECT_FALSE(StepNamed(*plan, "a").task().compensate_on_failure);

  const TaskSpec& b_task = StepNamed(*plan, "b").task();
  EXPECT_TRUE(b_task.compensate_on_failure);
  const Compensation& b = *b_task.compensate;
  EXPECT_EQ(b.activity, "undo_b");
  ASSERT_NE(b.input.as_path(), nullptr);
  EXPECT_EQ(b.input.as_path()->root(), PathRoot::kStepOutput);
  EXPECT_EQ(b.input.as_path()->step(), IndexOf(*plan, "b"));
  EXPECT_EQ(b.timeout, std::optional<Duration>(minutes(1)));
  EXPECT_EQ(b.heartbeat_timeout, std::optional<Duration>(seconds(2)));
  EXPECT_EQ(b.retry.max_attempts, 20u);
  EXPECT_EQ(b.retry.max_interval, minutes(1));
}

// ---------------------------------------------------------------------------------------------
// Catch rules.

TEST(CompileTest, CatchRulesAndFindCatch) {
  auto plan = Compile(R"json({"name": "wf", "start_at": "a", "steps": {
      "a": {"type": "task", "activity": "x", "next": "ok",
            "catch": [{"errors": ["CardDeclined", "Expired"], "next": "declined"},
                      {"errors": ["*"], "next": "other"},
                      {"errors": ["Never"], "next": "ok"}]},
      "b": {"type": "task", "activity": "x", "catch": [{"errors": ["Only"], "next": "ok"}]},
      "ok": {"type": "succeed", "output": "$.steps.b.output"},
      "declined": {"type": "fail", "error": "Declined"},
      "other": {"type": "task", "activity": "x", "next": "b"}}})json");
  ASSERT_TRUE(plan);
  const Step& a = StepNamed(*plan, "a");
  ASSERT_EQ(a.catches.size(), 3u);
  EXPECT_EQ(a.catches[0].errors,
            (std::vector<std::string>{"CardDeclined", "Expired"}));
  EXPECT_EQ(a.catches[0].next, IndexOf(*plan, "declined"));
  EXPECT_EQ(a.catches[1].next, IndexOf(*plan, "other"));

  ASSERT_NE(a.FindCatch("CardDeclined"), nullptr);
  EXPECT_EQ(a.FindCatch("CardDeclined")->next, IndexOf(*plan, "declined"));
  EXPECT_EQ(a.FindCatch("Expired")->next, IndexOf(*plan, "declined"));
  // "*" takes every other error, and it comes before the later "Never" rule.
  ASSERT_NE(a.FindCatch("Timeout"), nullptr);
  EXPECT_EQ(a.FindCatch("Timeout")->next, IndexOf(*plan, "other"));
  EXPECT_EQ(a.FindCatch("Never")->next, IndexOf(*plan, "other"));
  EXPECT_TRUE(a.catches[1].Matches("Anything"));
  EXPECT_FALSE(a.catches[0].Matches("Anything"));

  const Step& b = StepNamed(*plan, "b");
  ASSERT_NE(b.FindCatch("Only"), nullptr);
  EXPECT_EQ(b.FindCatch("Other"), nullptr);
  EXPECT_EQ(StepNamed(*plan, "ok").FindCatch("Only"), nullptr);
}

// ---------------------------------------------------------------------------------------------
// Choice, wait and signal steps.

TEST(CompileTest, ChoiceRulesAndDefault) {
  auto plan = Compile(R"json({"name": "wf", "start_at": "route", "steps": {
      "route": {"type": "choice", "choices": [
          {"when": {"path": "$.input.amount", "op": ">", "value": 100}, "next": "big"},
          {"when": {"all": [{"path": "$.input.vip", "op": "exists"},
                            {"not": {"path": "$.input.country", "op": "in",
                                     "value": ["FR"]}}]}, "next": "vip"}],
          "default": "small"},
      "no_default": {"type": "choice", "choices": [
          {"when": {"path": "$.input.x", "op": "==", "value": 1}, "next": "small"}]},
      "big": {"type": "succeed"},
      "vip": {"type": "task", "activity": "x", "next": "no_default"},
      "small": {"type": "succeed"}}})json");
  ASSERT_TRUE(plan);
  const Step& route = StepNamed(*plan, "route");
  EXPECT_EQ(route.type, StepType::kChoice);
  EXPECT_EQ(route.next, kNoStep);
  const ChoiceSpec& spec = route.choice();
  ASSERT_EQ(spec.choices.size(), 2u);
  EXPECT_EQ(spec.choices[0].next, IndexOf(*plan, "big"));
  EXPECT_EQ(spec.choices[0].when.kind(), Condition::Kind::kCompare);
  EXPECT_EQ(spec.choices[0].when.op(), CompareOp::kGt);
  EXPECT_EQ(spec.choices[0].when.path().text(), "$.input.amount");
  EXPECT_EQ(spec.choices[0].when.description(), "$.input.amount > 100");
  EXPECT_EQ(spec.choices[1].next, IndexOf(*plan, "vip"));
  EXPECT_EQ(spec.choices[1].when.kind(), Condition::Kind::kAll);
  ASSERT_EQ(spec.choices[1].when.children().size(), 2u);
  EXPECT_EQ(spec.choices[1].when.children()[1].kind(), Condition::Kind::kNot);
  EXPECT_EQ(spec.default_next,
            std::optional<StepIndex>(IndexOf(*plan, "small")));

  // The conditions evaluate.
  JsonContext big(plan.get(), {{"input", {{"amount", 150}}}});
  EXPECT_TRUE(spec.choices[0].when.Evaluate(big).value());
  JsonContext vip(
      plan.get(),
      {{"input", {{"amount", 1}, {"vip", true}, {"country", "DE"}}}});
  EXPECT_FALSE(spec.choices[0].when.Evaluate(vip).value());
  EXPECT_TRUE(spec.choices[1].when.Evaluate(vip).value());

  EXPECT_FALSE(
      StepNamed(*plan, "no_default").choice().default_next.has_value());
}

TEST(CompileTest, WaitDurationUntilTimeAndUntilPath) {
  auto plan = Compile(R"json({"name": "wf", "start_at": "pause", "steps": {
      "pause": {"type": "wait", "duration": "1h30m", "next": "deadline"},
      "deadline": {"type": "wait", "until": "2030-01-02T03:04:05.250Z", "next": "dynamic"},
      "dynamic": {"type": "wait", "until": "$.input.deliver_at", "next": "now"},
      "now": {"type": "wait", "duration": "0s"}}})json");
  ASSERT_TRUE(plan);
  const WaitSpec& pause = StepNamed(*plan, "pause").wait();
  EXPECT_EQ(pause.duration, std::optional<Duration>(minutes(90)));
  EXPECT_FALSE(pause.until_time.has_value());
  EXPECT_FALSE(pause.until_path.has_value());

  const WaitSpec& deadline = StepNamed(*plan, "deadline").wait();
  EXPECT_FALSE(deadline.duration.has_value());
  ASSERT_TRUE(deadline.until_time.has_value());
  EXPECT_EQ(*deadline.until_time,
            ParseRfc3339("2030-01-02T03:04:05.250Z").value());
  EXPECT_EQ(ToUnixMillis(*deadline.until_time), 1893553445250);

  const WaitSpec& dynamic = StepNamed(*plan, "dynamic").wait();
  EXPECT_FALSE(dynamic.until_time.has_value());
  ASSERT_TRUE(dynamic.until_path.has_value());
  EXPECT_EQ(dynamic.until_path->text(), "$.input.deliver_at");
  EXPECT_EQ(dynamic.until_path->root(), PathRoot::kInput);

  EXPECT_EQ(StepNamed(*plan, "now").wait().duration,
            std::optional<Duration>(Duration(0)));
}

TEST(CompileTest, SignalNameAndTimeout) {
  auto plan = Compile(R"json({"name": "wf", "start_at": "approval", "steps": {
      "approval": {"type": "signal", "signal": "approved", "timeout": "2d",
                   "catch": [{"errors": ["SignalTimeout"], "next": "expired"}],
                   "next": "forever"},
      "forever": {"type": "signal", "signal": "go"},
      "expired": {"type": "fail", "error": "Expired"}}})json");
  ASSERT_TRUE(plan);
  const Step& approval = StepNamed(*plan, "approval");
  EXPECT_EQ(approval.signal().signal, "approved");
  EXPECT_EQ(approval.signal().timeout, std::optional<Duration>(hours(48)));
  EXPECT_EQ(approval.FindCatch("SignalTimeout")->next,
            IndexOf(*plan, "expired"));
  EXPECT_EQ(StepNamed(*plan, "forever").signal().signal, "go");
  EXPECT_FALSE(StepNamed(*plan, "forever").signal().timeout.has_value());
}

// ---------------------------------------------------------------------------------------------
// Parallel and map steps.

constexpr char kNested[] = R"json({"name": "wf", "start_at": "fan", "steps": {
  "fan": {"type": "parallel", "next": "each", "branches": [
      {"start_at": "db", "steps": {
          "db": {"type": "task", "activity": "db.create", "next": "db_check"},
          "db_check": {"type": "task", "activity": "db.check"}}},
      {"start_at": "cache", "steps": {
          "cache": {"type": "task", "activity": "cache.create"}}}]},
  "each": {"type": "map", "items": "$.steps.fan.output", "max_concurrency": 4, "next": "done",
           "iterator": {"start_at": "resize", "steps": {
               "resize": {"type": "task", "activity": "img.resize", "input": "$.item",
                          "next": "inner_fan"},
               "inner_fan": {"type": "parallel", "branches": [
                   {"start_at": "tag", "steps": {
                       "tag": {"type": "task", "activity": "img.tag",
                               "input": {"i": "$.index"}}}}]}}}},
  "done": {"type": "succeed"}}})json";

TEST(CompileTest, ParallelBranchesAreScopes) {
  auto plan = Compile(kNested);
  ASSERT_TRUE(plan);
  const StepIndex fan = IndexOf(*plan, "fan");
  const Step& fan_step = plan->step(fan);
  EXPECT_EQ(fan_step.type, StepType::kParallel);
  EXPECT_EQ(fan_step.next, IndexOf(*plan, "each"));
  const ParallelSpec& spec = fan_step.parallel();
  ASSERT_EQ(spec.branches.size(), 2u);

  const Scope& first = plan->scope(spec.branches[0]);
  EXPECT_EQ(first.owner, fan);
  EXPECT_EQ(first.start, IndexOf(*plan, "db"));
  EXPECT_EQ(first.steps.size(), 2u);
  const Scope& second = plan->scope(spec.branches[1]);
  EXPECT_EQ(second.owner, fan);
  EXPECT_EQ(second.start, IndexOf(*plan, "cache"));
  ASSERT_EQ(second.steps.size(), 1u);
  EXPECT_EQ(second.steps[0], IndexOf(*plan, "cache"));

  EXPECT_EQ(StepNamed(*plan, "db").scope, spec.branches[0]);
  EXPECT_EQ(StepNamed(*plan, "db_check").scope, spec.branches[0]);
  EXPECT_EQ(StepNamed(*plan, "cache").scope, spec.branches[1]);
  EXPECT_EQ(StepNamed(*plan, "db").next, IndexOf(*plan, "db_check"));
  // The last step of a branch ends the branch, not the run.
  EXPECT_EQ(StepNamed(*plan, "db_check").next, kNoStep);
  EXPECT_EQ(StepNamed(*plan, "db").location, "steps.fan.branches[0].steps.db");
  // Step names are unique across scopes, so FindStep reaches into branches.
  EXPECT_EQ(plan->FindStep("db_check"),
            std::optional<StepIndex>(IndexOf(*plan, "db_check")));
}

TEST(CompileTest, MapItemsIteratorAndConcurrency) {
  auto plan = Compile(kNested);
  ASSERT_TRUE(plan);
  const StepIndex each = IndexOf(*plan, "each");
  const MapSpec& spec = plan->step(each).map();
  EXPECT_EQ(spec.items.text(), "$.steps.fan.output");
  EXPECT_EQ(spec.items.root(), PathRoot::kStepOutput);
  EXPECT_EQ(spec.items.step(), IndexOf(*plan, "fan"));
  EXPECT_EQ(spec.max_concurrency, 4u);
  ASSERT_NE(spec.iterator, kRootScope);
  const Scope& iterator = plan->scope(spec.iterator);
  EXPECT_EQ(iterator.owner, each);
  EXPECT_EQ(iterator.start, IndexOf(*plan, "resize"));
  EXPECT_EQ(iterator.steps.size(), 2u);
  EXPECT_EQ(StepNamed(*plan, "resize").scope, spec.iterator);
  EXPECT_EQ(StepNamed(*plan, "resize").next, IndexOf(*plan, "inner_fan"));
  EXPECT_EQ(plan->step(each).next, IndexOf(*plan, "done"));
  // Every scope but the root has an owner; scopes list each step once in total.
  size_t total = 0;
  for (ScopeIndex s = 0; s < plan->scopes().size(); ++s) {
    total += plan->scope(s).steps.size();
    if (s != kRootScope) {
      EXPECT_NE(plan->scope(s).owner, kNoStep);
    }
  }
  EXPECT_EQ(total, plan->steps().size());
  EXPECT_EQ(plan->scopes().size(),
            5u);  // root, 2 branches, iterator, inner branch
}

TEST(CompileTest, MapConcurrencyDefaultsToUnlimited) {
  auto plan = Compile(R"json({"name": "wf", "start_at": "m", "steps": {
      "m": {"type": "map", "items": "$.input.list",
            "iterator": {"start_at": "e", "steps": {"e": {"type": "task", "activity": "x"}}}}}})json");
  ASSERT_TRUE(plan);
  EXPECT_EQ(StepNamed(*plan, "m").map().max_concurrency, 0u);
  EXPECT_EQ(StepNamed(*plan, "m").map().items.root(), PathRoot::kInput);
}

TEST(CompileTest, InsideMap) {
  auto plan = Compile(kNested);
  ASSERT_TRUE(plan);
  EXPECT_FALSE(plan->InsideMap(IndexOf(*plan, "fan")));
  EXPECT_FALSE(
      plan->InsideMap(IndexOf(*plan, "db")));  // In a parallel branch only.
  EXPECT_FALSE(
      plan->InsideMap(IndexOf(*plan, "each")));  // The map step itself.
  EXPECT_FALSE(plan->InsideMap(IndexOf(*plan, "done")));
  EXPECT_TRUE(plan->InsideMap(IndexOf(*plan, "resize")));
  EXPECT_TRUE(plan->InsideMap(IndexOf(*plan, "inner_fan")));
  EXPECT_TRUE(
      plan->InsideMap(IndexOf(*plan, "tag")));  // A branch inside an iteration.
}

// ---------------------------------------------------------------------------------------------
// Succeed and fail steps, policies.

TEST(CompileTest, SucceedOutputAndFailErrorMessage) {
  auto plan = Compile(kSaga);
  ASSERT_TRUE(plan);
  const SucceedSpec& done = StepNamed(*plan, "done").succeed();
  ASSERT_TRUE(done.output.has_value());
  EXPECT_EQ(Eval(*plan, *done.output,
                 {{"steps", {{"ship", {{"output", {{"tracking", "T1"}}}}}}}}),
            Json({{"tracking", "T1"}}));
  const FailSpec& declined = StepNamed(*plan, "declined").fail();
  EXPECT_EQ(declined.error, "PaymentDeclined");
  EXPECT_EQ(Eval(*plan, declined.message, {{"input", {{"order_id", "o-7"}}}}),
            Json("card declined for o-7"));
}

TEST(CompileTest, FailMessageIsAlwaysAString) {
  // A message that is exactly a path is rendered as text, like {{...}}, so
  // the run's error message is a string whatever the value's type.
  auto plan = Compile(R"json({"name": "wf", "start_at": "a", "steps": {
      "a": {"type": "task", "activity": "x", "next": "b",
            "catch": [{"errors": ["*"], "next": "obj"}]},
      "b": {"type": "task", "activity": "x", "next": "c",
            "catch": [{"errors": ["*"], "next": "num"}]},
      "c": {"type": "task", "activity": "x", "next": "d",
            "catch": [{"errors": ["*"], "next": "str"}]},
      "d": {"type": "task", "activity": "x",
            "catch": [{"errors": ["*"], "next": "mixed"}]},
      "obj": {"type": "fail", "error": "E", "message": "$.input.obj"},
      "num": {"type": "fail", "error": "E", "message": "$.input.n"},
      "str": {"type": "fail", "error": "E", "message": "$.input.s"},
      "mixed": {"type": "fail", "error": "E", "message": "n={{ $.input.n }} {{x}}"}}})json");
  ASSERT_TRUE(plan);
  const Json context = {
      {"input", {{"obj", {{"a", 1}}}, {"n", 5}, {"s", "plain"}}}};
  const Json obj = Eval(*plan, StepNamed(*plan, "obj").fail().message, context);
  EXPECT_EQ(obj, Json("{\"a\":1}"));
  EXPECT_TRUE(obj.is_string());
  EXPECT_EQ(Eval(*plan, StepNamed(*plan, "num").fail().message, context),
            Json("5"));
  EXPECT_EQ(Eval(*plan, StepNamed(*plan, "str").fail().message, context),
            Json("plain"));
  EXPECT_EQ(Eval(*plan, StepNamed(*plan, "mixed").fail().message, context),
            Json("n=5 {{x}}"));
  // A path in the message is still checked when the definition compiles.
  CompileResult bad = CompileDefinition(R"json({"name": "wf", "start_at": "f",
      "steps": {"f": {"type": "fail", "error": "E", "message": "$.inptu.x"}}})json");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error()[0].path, "steps.f.message");
}

TEST(CompileTest, SucceedWithoutOutputAndFailWithoutMessage) {
  auto plan = Compile(R"json({"name": "wf", "start_at": "a", "steps": {
      "a": {"type": "task", "activity": "x", "catch": [{"errors": ["*"], "next": "f"}],
            "next": "s"},
      "s": {"type": "succeed"},
      "f": {"type": "fail", "error": "Boom"}}})json");
  ASSERT_TRUE(plan);
  EXPECT_FALSE(StepNamed(*plan, "s").succeed().output.has_value());
  EXPECT_EQ(StepNamed(*plan, "f").fail().error, "Boom");
  EXPECT_EQ(Eval(*plan, StepNamed(*plan, "f").fail().message), Json(""));
}

TEST(CompileTest, OnFailureValues) {
  for (const auto& [text, expected] :
       std::vector<std::pair<std::string, OnFailure>>{
           {"compensate", OnFailure::kCompensate},
           {"fail", OnFailure::kFail},
           {"suspend", OnFailure::kSuspend}}) {
    auto plan =
        Compile(R"json({"name": "wf", "start_at": "a", "on_failure": ")json" +
                text + R"json(", "steps": {"a": {"type": "succeed"}}})json");
    ASSERT_TRUE(plan) << text;
    EXPECT_EQ(plan->on_failure(), expected) << text;
    EXPECT_EQ(OnFailureName(plan->on_failure()), text);
  }
  // Absent: compensate.
  auto plan = Compile(R"json({"name": "wf", "start_at": "a",
                              "steps": {"a": {"type": "succeed"}}})json");
  ASSERT_TRUE(plan);
  EXPECT_EQ(plan->on_failure(), OnFailure::kCompensate);
}

TEST(CompileTest, RunTimeout) {
  auto plan = Compile(R"json({"name": "wf", "start_at": "a", "timeout": "2h45m",
                              "steps": {"a": {"type": "succeed"}}})json");
  ASSERT_TRUE(plan);
  EXPECT_EQ(plan->run_timeout(),
            std::optional<Duration>(hours(2) + minutes(45)));
}

TEST(CompileTest, CompileParsedDefinitionMatchesText) {
  auto parsed = ParseJson(kSaga, JsonParseOptions());
  ASSERT_TRUE(parsed.ok());
  CompileResult result = CompileParsedDefinition(parsed.value());
  ASSERT_TRUE(result.ok()) << FormatErrors(result.error());
  EXPECT_EQ(result.value()->steps().size(), 5u);
  // Duplicates found while parsing are errors.
  CompileResult with_dup = CompileParsedDefinition(
      parsed.value(), Limits(), {DuplicateKey{"steps", "ship"}});
  ASSERT_FALSE(with_dup.ok());
  EXPECT_EQ(with_dup.error()[0].path, "steps.ship");
}

// ---------------------------------------------------------------------------------------------
// RetryPolicy.

TEST(RetryPolicyTest, IsRetryable) {
  RetryPolicy policy;
  EXPECT_TRUE(policy.IsRetryable("Anything"));
  policy.non_retryable_errors = {"OutOfStock", "Invalid"};
  EXPECT_FALSE(policy.IsRetryable("OutOfStock"));
  EXPECT_FALSE(policy.IsRetryable("Invalid"));
  EXPECT_TRUE(policy.IsRetryable("Timeout"));
  EXPECT_TRUE(policy.IsRetryable("outofstock"));  // Names are case-sensitive.
}

TEST(RetryPolicyTest, BackoffBefore) {
  RetryPolicy policy;
  policy.initial_interval = milliseconds(200);
  policy.backoff_coefficient = 2.0;
  policy.max_interval = seconds(1);
  EXPECT_EQ(policy.BackoffBefore(1),
            Duration(0));  // The first attempt does not wait.
  EXPECT_EQ(policy.BackoffBefore(2), milliseconds(200));
  EXPECT_EQ(policy.BackoffBefore(3), milliseconds(400));
  EXPECT_EQ(policy.BackoffBefore(4), milliseconds(800));
  EXPECT_EQ(policy.BackoffBefore(5), seconds(1));  // Capped.
  EXPECT_EQ(policy.BackoffBefore(6), seconds(1));
  EXPECT_EQ(policy.BackoffBefore(1000), seconds(1));  // No overflow.
  EXPECT_EQ(policy.BackoffBefore(UINT32_MAX), seconds(1));
}

TEST(RetryPolicyTest, BackoffNeverExceedsMaxIntervalNorOverflows) {
  RetryPolicy policy;
  policy.initial_interval = hours(24 * 365);
  policy.backoff_coefficient = 100;
  policy.max_interval = Duration::max();
  // 365d x 100^(n-2) passes int64's range at once; converting such a double
  // to an integer is undefined behaviour (x86 yields INT64_MIN).
  EXPECT_EQ(policy.BackoffBefore(3), hours(24 * 365 * 100));
  EXPECT_EQ(policy.BackoffBefore(100), Duration::max());
  EXPECT_EQ(policy.BackoffBefore(UINT32_MAX), Duration::max());
  for (uint32_t attempt : {2u, 3u, 10u, 1000u, UINT32_MAX}) {
    EXPECT_GE(policy.BackoffBefore(attempt), Duration(0)) << attempt;
  }
  // A max_interval below initial_interval (possible only in code) still caps.
  policy.initial_interval = seconds(10);
  policy.max_interval = seconds(1);
  EXPECT_EQ(policy.BackoffBefore(2), seconds(1));
  EXPECT_EQ(policy.BackoffBefore(UINT32_MAX), seconds(1));
}

TEST(RetryPolicyTest, DefaultMaxIntervalIsCappedAt365Days) {
  auto plan = Compile(R"json({"name": "wf", "start_at": "a", "steps": {
      "a": {"type": "task", "activity": "x", "next": "b",
            "retry": {"initial_interval": "10d"}},
      "b": {"type": "task", "activity": "x", "next": "c",
            "retry": {"initial_interval": "2s"}},
      "c": {"type": "task", "activity": "x",
            "retry": {"initial_interval": "365d", "max_interval": "365d"}}}})json");
  ASSERT_TRUE(plan);
  // 100 x 10d would be 1000d.
  EXPECT_EQ(StepNamed(*plan, "a").task().retry.max_interval, kMaxRetryInterval);
  EXPECT_EQ(kMaxRetryInterval, hours(24 * 365));
  EXPECT_EQ(StepNamed(*plan, "a").task().retry.BackoffBefore(UINT32_MAX),
            kMaxRetryInterval);
  EXPECT_EQ(StepNamed(*plan, "b").task().retry.max_interval, seconds(200));
  EXPECT_EQ(StepNamed(*plan, "c").task().retry.initial_interval,
            kMaxRetryInterval);
}

TEST(RetryPolicyTest, BackoffWithCoefficientOneIsConstant) {
  RetryPolicy policy;
  policy.initial_interval = milliseconds(300);
  policy.backoff_coefficient = 1.0;
  policy.max_interval = seconds(10);
  for (uint32_t attempt = 2; attempt < 10; ++attempt) {
    EXPECT_EQ(policy.BackoffBefore(attempt), milliseconds(300)) << attempt;
  }
}

TEST(RetryPolicyTest, BackoffFractionalCoefficient) {
  RetryPolicy policy;
  policy.initial_interval = seconds(1);
  policy.backoff_coefficient = 1.5;
  policy.max_interval = seconds(100);
  EXPECT_EQ(policy.BackoffBefore(2), milliseconds(1000));
  EXPECT_EQ(policy.BackoffBefore(3), milliseconds(1500));
  EXPECT_EQ(policy.BackoffBefore(4), milliseconds(2250));
}

TEST(RetryPolicyTest, CompiledPolicyBacksOff) {
  auto plan = Compile(R"json({"name": "wf", "start_at": "a", "steps": {"a": {
      "type": "task", "activity": "x",
      "retry": {"initial_interval": "200ms", "backoff_coefficient": 3, "max_interval": "1s",
                "non_retryable_errors": ["Fatal"]}}}})json");
  ASSERT_TRUE(plan);
  const RetryPolicy& retry = StepNamed(*plan, "a").task().retry;
  EXPECT_EQ(retry.BackoffBefore(2), milliseconds(200));
  EXPECT_EQ(retry.BackoffBefore(3), milliseconds(600));
  EXPECT_EQ(retry.BackoffBefore(4), seconds(1));
  EXPECT_FALSE(retry.IsRetryable("Fatal"));
  EXPECT_TRUE(retry.IsRetryable("Transient"));
}

}  // namespace
}  // namespace sagaflow::dsl
