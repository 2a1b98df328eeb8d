// Validation of workflow definitions (CONTRACT.md §1): one test per rule, each
// checking both where the error is reported and what it says.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <string_view>

#include "dsl/compiler.h"
#include "dsl/limits.h"

namespace sagaflow::dsl {
namespace {

// The errors of compiling `text`; empty when it compiled.
ValidationErrors Errors(std::string_view text,
                        const Limits& limits = Limits()) {
  CompileResult result = CompileDefinition(text, limits);
  if (result.ok()) return {};
  EXPECT_FALSE(result.error().empty())
      << "a failed compilation must report an error";
  return result.error();
}

// A definition named "wf" starting at `start_at` with `steps` (JSON object
// text).
std::string Def(std::string_view start_at, std::string_view steps) {
  return R"json({"name": "wf", "start_at": ")json" + std::string(start_at) +
         R"json(", "steps": )json" + std::string(steps) + "}";
}

::testing::AssertionResult HasError(const ValidationErrors& errors,
                                    std::string_view path,
                                    std::string_view message_part) {
  for (const ValidationError& e : errors) {
    if (e.path == path && e.message.find(message_part) != std::string::npos) {
      return ::testing::AssertionSuccess();
    }
  }
  return ::testing::AssertionFailure()
         << "no error at \"" << path << "\" containing \"" << message_part
         << "\"; got " << errors.size() << " error(s):\n"
         << FormatErrors(errors);
}

// Exactly one error, at `path`, whose message contains `message_part`.
::testing::AssertionResult HasOnlyError(const ValidationErrors& errors,
                                        std::string_view path,
                                        std::string_view message_part) {
  if (errors.size() != 1) {
    return ::testing::AssertionFailure()
           << "expected exactly one error at \"" << path << "\" containing \""
           << message_part << "\"; got " << errors.size() << " error(s):\n"
           << FormatErrors(errors);
  }
  return HasError(errors, path, message_part);
}

// ---------------------------------------------------------------------------------------------
// A valid baseline, so that each test below differs from something that
// compiles.

TEST(ValidationTest, MinimalDefinitionCompiles) {
  EXPECT_TRUE(Errors(R"json({"name": "wf", "start_at": "a",
                             "steps": {"a": {"type": "task", "activity": "x.y"}}})json")
                  .empty());
}

// ---------------------------------------------------------------------------------------------
// The document and the top level.

TEST(ValidationTest, DocumentNotAnObject) {
  EXPECT_TRUE(
      HasOnlyError(Errors(R"json([1, 2])json"), "$",
                   "a workflow definition is a JSON object, got array"));
  EXPECT_TRUE(
      HasOnlyError(Errors(R"json("wf")json"), "$",
                   "a workflow definition is a JSON object, got string"));
}

TEST(ValidationTest, TopLevelUnknownFieldWithDidYouMean) {
  auto errors =
      Errors(R"json({"name": "wf", "desciption": "typo", "start_at": "a",
                               "steps": {"a": {"type": "succeed"}}})json");
  EXPECT_TRUE(
      HasOnlyError(errors, "desciption",
                   "unknown field \"desciption\" in the workflow definition "
                   "(did you mean \"description\"?)"));
}

TEST(ValidationTest, TopLevelUnknownFieldWithoutCloseMatchHasNoHint) {
  auto errors = Errors(R"json({"name": "wf", "zzzzzzzz": 1, "start_at": "a",
                               "steps": {"a": {"type": "succeed"}}})json");
  ASSERT_TRUE(HasOnlyError(errors, "zzzzzzzz", "unknown field \"zzzzzzzz\""));
  EXPECT_EQ(errors[0].message.find("did you mean"), std::string::npos)
      << errors[0].message;
}

TEST(ValidationTest, MissingName) {
  EXPECT_TRUE(HasOnlyError(
      Errors(
          R"json({"start_at": "a", "steps": {"a": {"type": "succeed"}}})json"),
      "name", "required field is missing"));
}

TEST(ValidationTest, MissingStartAt) {
  EXPECT_TRUE(HasOnlyError(
      Errors(R"json({"name": "wf", "steps": {"a": {"type": "succeed"}}})json"),
      "start_at", "required field is missing"));
}

TEST(ValidationTest, MissingSteps) {
  EXPECT_TRUE(HasOnlyError(Errors(R"json({"name": "wf", "start_at": "a"})json"),
                           "steps", "required field is missing"));
}

TEST(ValidationTest, InvalidWorkflowName) {
  EXPECT_TRUE(HasOnlyError(Errors(R"json({"name": "1st flow", "start_at": "a",
                                          "steps": {"a": {"type": "succeed"}}})json"),
                           "name", "invalid workflow name \"1st flow\""));
  // 129 characters: one too many.
  const std::string long_name(129, 'w');
  EXPECT_TRUE(HasOnlyError(
      Errors(
          R"json({"name": ")json" + long_name +
          R"json(", "start_at": "a", "steps": {"a": {"type": "succeed"}}})json"),
      "name", "invalid workflow name"));
  // 128 is fine, and so are '.', '_' and '-' after the first letter.
  EXPECT_TRUE(
      Errors(
          R"json({"name": ")json" + std::string(128, 'w') +
          R"json(", "start_at": "a", "steps": {"a": {"type": "succeed"}}})json")
          .empty());
  EXPECT_TRUE(Errors(R"json({"name": "Order.v2_x-y", "start_at": "a",
                             "steps": {"a": {"type": "succeed"}}})json")
                  .empty());
}

TEST(ValidationTest, EmptyStepsObject) {
  EXPECT_TRUE(HasOnlyError(
      Errors(R"json({"name": "wf", "start_at": "a", "steps": {}})json"),
      "steps", "expected at least one step"));
}

// ---------------------------------------------------------------------------------------------
// Wrong types.

TEST(ValidationTest, NameAsNumber) {
  EXPECT_TRUE(HasOnlyError(Errors(R"json({"name": 42, "start_at": "a",
                                          "steps": {"a": {"type": "succeed"}}})json"),
                           "name", "expected a string, got number"));
}

TEST(ValidationTest, TimeoutAsNumber) {
  EXPECT_TRUE(
      HasOnlyError(Errors(R"json({"name": "wf", "start_at": "a", "timeout": 30,
                                          "steps": {"a": {"type": "succeed"}}})json"),
                   "timeout", "expected a string, got number"));
  EXPECT_TRUE(HasOnlyError(
      Errors(Def(
          "a",
          R"json({"a": {"type": "task", "activity": "x", "timeout": 30}})json")),
      "steps.a.timeout", "expected a string, got number"));
}

TEST(ValidationTest, StepsAsArray) {
  EXPECT_TRUE(HasOnlyError(
      Errors(
          R"json({"name": "wf", "start_at": "a", "steps": [{"type": "succeed"}]})json"),
      "steps", "expected an object of steps, got array"));
}

TEST(ValidationTest, RetryAsString) {
  EXPECT_TRUE(HasOnlyError(
      Errors(Def(
          "a",
          R"json({"a": {"type": "task", "activity": "x", "retry": "3"}})json")),
      "steps.a.retry", "expected an object, got string"));
}

TEST(ValidationTest, NextAsNumber) {
  EXPECT_TRUE(HasOnlyError(
      Errors(Def(
          "a",
          R"json({"a": {"type": "task", "activity": "x", "next": 1}})json")),
      "steps.a.next", "expected a step name, got number"));
}

TEST(ValidationTest, StepNotAnObject) {
  EXPECT_TRUE(HasOnlyError(Errors(Def("a", R"json({"a": "task"})json")),
                           "steps.a", "expected a step object, got string"));
}

// ---------------------------------------------------------------------------------------------
// Step types and fields.

TEST(ValidationTest, UnknownStepTypeWithDidYouMean) {
  EXPECT_TRUE(HasOnlyError(
      Errors(Def("a", R"json({"a": {"type": "tsak", "activity": "x"}})json")),
      "steps.a.type",
      "unknown step type \"tsak\" (did you mean \"task\"?); expected one of "
      "task, "
      "choice, wait, signal, parallel, map, succeed, fail"));
}

TEST(ValidationTest, MissingStepType) {
  EXPECT_TRUE(HasOnlyError(
      Errors(Def("a", R"json({"a": {"activity": "x"}})json")), "steps.a.type",
      "required field is missing; one of task, choice"));
}

TEST(ValidationTest, StepTypeNotAString) {
  EXPECT_TRUE(HasOnlyError(Errors(Def("a", R"json({"a": {"type": 1}})json")),
                           "steps.a.type", "expected a string, got number"));
}

TEST(ValidationTest, UnknownFieldInTaskWithDidYouMean) {
  auto errors = Errors(
      Def("a", R"json({"a": {"type": "task", "activity": "x", "nxt": "b"},
                                        "b": {"type": "succeed"}})json"));
  // The misspelt field hides the edge, so b looks unreachable too: that second
  // error is expected to be suppressed because it only echoes the first.
  EXPECT_TRUE(HasError(
      errors, "steps.a.nxt",
      "unknown field \"nxt\" in a task step (did you mean \"next\"?)"));
}

TEST(ValidationTest, CompensateOnNonTaskStep) {
  EXPECT_TRUE(HasOnlyError(
      Errors(Def("w", R"json({"w": {"type": "wait", "duration": "1s",
                                     "compensate": {"activity": "undo"}}})json")),
      "steps.w.compensate", "\"compensate\" is only allowed on task steps"));
}

TEST(ValidationTest, RetryOnNonTaskStep) {
  EXPECT_TRUE(HasOnlyError(
      Errors(Def("s", R"json({"s": {"type": "signal", "signal": "go",
                                     "retry": {"max_attempts": 2}}})json")),
      "steps.s.retry", "\"retry\" is only allowed on task steps"));
}

TEST(ValidationTest, NextOnSucceed) {
  EXPECT_TRUE(HasOnlyError(
      Errors(Def("done",
                 R"json({"done": {"type": "succeed", "next": "done"}})json")),
      "steps.done.next",
      "\"next\" is not allowed on a succeed step, which ends its scope"));
}

TEST(ValidationTest, NextOnFail) {
  EXPECT_TRUE(HasOnlyError(
      Errors(
          Def("f",
              R"json({"f": {"type": "fail", "error": "E", "next": "f"}})json")),
      "steps.f.next",
      "\"next\" is not allowed on a fail step, which ends its scope"));
}

TEST(ValidationTest, CatchOnFail) {
  EXPECT_TRUE(
      HasOnlyError(Errors(Def("f", R"json({"f": {"type": "fail", "error": "E",
                                     "catch": [{"errors": ["*"], "next": "f"}]}})json")),
                   "steps.f.catch", "\"catch\" is not allowed on a fail step"));
}

TEST(ValidationTest, NextOnChoice) {
  EXPECT_TRUE(HasOnlyError(
      Errors(Def("route", R"json({
      "route": {"type": "choice", "next": "b",
                "choices": [{"when": {"path": "$.input.x", "op": "exists"}, "next": "b"}]},
      "b": {"type": "succeed"}})json")),
      "steps.route.next",
      "a choice step routes with \"choices\" and \"default\", not \"next\""));
}

// ---------------------------------------------------------------------------------------------
// Edges naming missing steps, with the closest existing name.

TEST(ValidationTest, StartAtNamesMissingStep) {
  EXPECT_TRUE(HasOnlyError(
      Errors(Def("chrge", R"json({"charge": {"type": "succeed"}})json")),
      "start_at", "no step named \"chrge\" (did you mean \"charge\"?)"));
}

TEST(ValidationTest, NextNamesMissingStepWithoutExtraUnreachableError) {
  auto errors = Errors(Def("charge", R"json({
      "charge": {"type": "task", "activity": "payments.charge", "next": "shp"},
      "ship": {"type": "task", "activity": "shipping.ship"}})json"));
  // Exactly one: "ship" is not also reported unreachable because of the
  // misspelt edge.
  EXPECT_TRUE(HasOnlyError(errors, "steps.charge.next",
                           "no step named \"shp\" (did you mean \"ship\"?)"));
}

TEST(ValidationTest, NextNamesMissingStepWithNoCloseNameHasNoHint) {
  auto errors = Errors(Def("a", R"json({"a": {"type": "task", "activity": "x",
                                              "next": "completely_different"}})json"));
  ASSERT_TRUE(HasOnlyError(errors, "steps.a.next",
                           "no step named \"completely_different\""));
  EXPECT_EQ(errors[0].message.find("did you mean"), std::string::npos)
      << errors[0].message;
}

TEST(ValidationTest, DefaultNamesMissingStep) {
  EXPECT_TRUE(
      HasOnlyError(Errors(Def("route", R"json({
      "route": {"type": "choice",
                "choices": [{"when": {"path": "$.input.x", "op": "exists"}, "next": "yes"}],
                "default": "fallbak"},
      "yes": {"type": "succeed"},
      "fallback": {"type": "succeed"}})json")),
                   "steps.route.default",
                   "no step named \"fallbak\" (did you mean \"fallback\"?)"));
}

TEST(ValidationTest, ChoiceNextNamesMissingStep) {
  EXPECT_TRUE(HasOnlyError(Errors(Def("route", R"json({
      "route": {"type": "choice",
                "choices": [{"when": {"path": "$.input.x", "op": "exists"}, "next": "yess"}],
                "default": "yes"},
      "yes": {"type": "succeed"}})json")),
                           "steps.route.choices[0].next",
                           "no step named \"yess\" (did you mean \"yes\"?)"));
}

TEST(ValidationTest, CatchNextNamesMissingStep) {
  EXPECT_TRUE(HasOnlyError(
      Errors(Def("charge", R"json({
      "charge": {"type": "task", "activity": "payments.charge",
                 "catch": [{"errors": ["CardDeclined"], "next": "notify_declind"}]},
      "notify_declined": {"type": "task", "activity": "email.send"}})json")),
      "steps.charge.catch[0].next",
      "no step named \"notify_declind\" (did you mean \"notify_declined\"?)"));
}

TEST(ValidationTest, EdgeIntoAnotherScope) {
  auto errors = Errors(Def("fan", R"json({
      "fan": {"type": "parallel", "next": "after",
              "branches": [{"start_at": "inner", "steps": {
                  "inner": {"type": "task", "activity": "x"}}}]},
      "after": {"type": "task", "activity": "y", "next": "inner"}})json"));
  EXPECT_TRUE(HasOnlyError(
      errors, "steps.after.next",
      "step \"inner\" is defined at steps.fan.branches[0].steps.inner, "
      "outside the top-level steps"));
}

TEST(ValidationTest, EdgeOutOfABranch) {
  auto errors = Errors(Def("fan", R"json({
      "fan": {"type": "parallel", "next": "after",
              "branches": [{"start_at": "inner", "steps": {
                  "inner": {"type": "task", "activity": "x", "next": "after"}}}]},
      "after": {"type": "task", "activity": "y"}})json"));
  EXPECT_TRUE(HasOnlyError(errors, "steps.fan.branches[0].steps.inner.next",
                           "step \"after\" is defined at steps.after, outside "
                           "steps.fan.branches[0]"));
}

// ---------------------------------------------------------------------------------------------
// Step names.

TEST(ValidationTest, DuplicateStepNameAsRepeatedKey) {
  auto errors = Errors(Def("a", R"json({
      "a": {"type": "task", "activity": "x"},
      "a": {"type": "task", "activity": "y"}})json"));
  EXPECT_TRUE(HasOnlyError(errors, "steps.a", "duplicate step name \"a\""));
}

TEST(ValidationTest, DuplicateStepNameAcrossBranches) {
  auto errors = Errors(Def("fan", R"json({
      "fan": {"type": "parallel", "branches": [
          {"start_at": "x", "steps": {"x": {"type": "task", "activity": "a"}}},
          {"start_at": "y", "steps": {"y": {"type": "task", "activity": "b"},
                                      "x": {"type": "task", "activity": "c"}}}]}})json"));
  EXPECT_TRUE(HasOnlyError(errors, "steps.fan.branches[1].steps.x",
                           "duplicate step name \"x\" (also defined at "
                           "steps.fan.branches[0].steps.x)"));
}

TEST(ValidationTest, DuplicateStepNameBetweenTopLevelAndBranch) {
  auto errors = Errors(Def("fan", R"json({
      "fan": {"type": "parallel", "next": "x", "branches": [
          {"start_at": "y", "steps": {"y": {"type": "task", "activity": "a"},
                                      "x": {"type": "task", "activity": "b"}}}]},
      "x": {"type": "succeed"}})json"));
  // Steps are collected in key order, so the branch's "x" (inside "fan") comes
  // first.
  EXPECT_TRUE(HasError(errors, "steps.x", "duplicate step name \"x\""));
}

TEST(ValidationTest, DuplicateNonStepKey) {
  auto errors = Errors(R"json({"name": "wf", "name": "wf2", "start_at": "a",
                               "steps": {"a": {"type": "succeed"}}})json");
  EXPECT_TRUE(HasOnlyError(errors, "name", "duplicate key \"name\""));
}

TEST(ValidationTest, DuplicateKeyInInputObjectNamedStepsIsNotAStepName) {
  // An input object that happens to have a field called "steps" holds data, not
  // steps: a repeated key there is a duplicate key, not a duplicate step name.
  auto errors = Errors(Def("a", R"json({"a": {"type": "task", "activity": "x",
                                              "input": {"steps": {"k": 1, "k": 2}}}})json"));
  EXPECT_TRUE(
      HasOnlyError(errors, "steps.a.input.steps.k", "duplicate key \"k\""));
}

TEST(ValidationTest, InvalidStepName) {
  auto errors =
      Errors(Def("has.dot", R"json({"has.dot": {"type": "succeed"}})json"));
  EXPECT_TRUE(HasOnlyError(errors, "steps[\"has.dot\"]",
                           "invalid step name \"has.dot\""));
  EXPECT_TRUE(HasOnlyError(
      Errors(Def("9lives", R"json({"9lives": {"type": "succeed"}})json")),
      "steps.9lives", "invalid step name \"9lives\""));
}

TEST(ValidationTest, UnreachableStep) {
  auto errors = Errors(Def("a", R"json({
      "a": {"type": "task", "activity": "x", "next": "b"},
      "b": {"type": "succeed"},
      "orphan": {"type": "task", "activity": "y", "next": "b"}})json"));
  EXPECT_TRUE(
      HasOnlyError(errors, "steps.orphan",
                   "step \"orphan\" is unreachable from start_at \"a\""));
}

TEST(ValidationTest, UnreachableStepInsideBranch) {
  auto errors = Errors(Def("fan", R"json({
      "fan": {"type": "parallel", "branches": [
          {"start_at": "b1", "steps": {"b1": {"type": "task", "activity": "x"},
                                       "b2": {"type": "task", "activity": "y"}}}]}})json"));
  EXPECT_TRUE(HasOnlyError(errors, "steps.fan.branches[0].steps.b2",
                           "step \"b2\" is unreachable from start_at \"b1\""));
}

TEST(ValidationTest, StepsReachedOnlyThroughCatchOrChoiceAreReachable) {
  EXPECT_TRUE(Errors(Def("a", R"json({
      "a": {"type": "task", "activity": "x", "next": "route",
            "catch": [{"errors": ["*"], "next": "handler"}]},
      "handler": {"type": "fail", "error": "Handled"},
      "route": {"type": "choice",
                "choices": [{"when": {"path": "$.input.x", "op": "exists"}, "next": "yes"}],
                "default": "no"},
      "yes": {"type": "succeed"},
      "no": {"type": "succeed"}})json"))
                  .empty());
}

TEST(ValidationTest, UnreachableStepReportedAlongsideUnrelatedError) {
  // A malformed duration has nothing to do with the graph: the orphan step must
  // still be reported, since every error is reported at once.
  auto errors = Errors(Def("a", R"json({
      "a": {"type": "task", "activity": "x", "timeout": "10x"},
      "orphan": {"type": "task", "activity": "y"}})json"));
  EXPECT_TRUE(
      HasError(errors, "steps.a.timeout", "malformed duration \"10x\""));
  EXPECT_TRUE(HasError(errors, "steps.orphan", "unreachable"));
  EXPECT_EQ(errors.size(), 2u) << FormatErrors(errors);
}

// ---------------------------------------------------------------------------------------------
// Durations.

TEST(ValidationTest, MalformedDurationUnknownUnit) {
  EXPECT_TRUE(HasOnlyError(
      Errors(Def(
          "a",
          R"json({"a": {"type": "task", "activity": "x", "timeout": "10x"}})json")),
      "steps.a.timeout", "malformed duration \"10x\": unknown unit"));
}

TEST(ValidationTest, MalformedDurationEmpty) {
  EXPECT_TRUE(HasOnlyError(
      Errors(Def(
          "a",
          R"json({"a": {"type": "task", "activity": "x", "heartbeat_timeout": ""}})json")),
      "steps.a.heartbeat_timeout", "malformed duration \"\": empty"));
}

TEST(ValidationTest, MalformedDurationNegative) {
  EXPECT_TRUE(HasOnlyError(
      Errors(R"json({"name": "wf", "start_at": "a", "timeout": "-1s",
                                          "steps": {"a": {"type": "succeed"}}})json"),
      "timeout", "malformed duration \"-1s\""));
}

TEST(ValidationTest, ZeroTimeoutRejected) {
  EXPECT_TRUE(HasOnlyError(
      Errors(Def(
          "a",
          R"json({"a": {"type": "task", "activity": "x", "timeout": "0s"}})json")),
      "steps.a.timeout", "must be longer than zero"));
  EXPECT_TRUE(HasOnlyError(
      Errors(
          R"json({"name": "wf", "start_at": "a", "defaults": {"timeout": "0s"},
                     "steps": {"a": {"type": "succeed"}}})json"),
      "defaults.timeout", "must be longer than zero"));
}

TEST(ValidationTest, ZeroWaitDurationAllowed) {
  EXPECT_TRUE(
      Errors(Def("w", R"json({"w": {"type": "wait", "duration": "0s"}})json"))
          .empty());
}

TEST(ValidationTest, MalformedDurationInDefaultsAndCompensate) {
  auto errors = Errors(R"json({"name": "wf", "start_at": "a",
      "defaults": {"heartbeat_timeout": "5 s"},
      "steps": {"a": {"type": "task", "activity": "x",
                      "compensate": {"activity": "undo", "timeout": "1y"}}}})json");
  EXPECT_TRUE(HasError(errors, "defaults.heartbeat_timeout",
                       "malformed duration \"5 s\""));
  EXPECT_TRUE(HasError(errors, "steps.a.compensate.timeout",
                       "malformed duration \"1y\""));
  EXPECT_EQ(errors.size(), 2u) << FormatErrors(errors);
}

// ---------------------------------------------------------------------------------------------
// Paths and templates.

TEST(ValidationTest, MalformedPathDoubleDot) {
  EXPECT_TRUE(HasOnlyError(
      Errors(Def("a", R"json({"a": {"type": "task", "activity": "x",
                                     "input": {"v": "$.input..x"}}})json")),
      "steps.a.input.v",
      "malformed path $.input..x: expected a name after '.'"));
}

TEST(ValidationTest, PathWithUnknownRoot) {
  EXPECT_TRUE(HasOnlyError(
      Errors(Def("a", R"json({"a": {"type": "task", "activity": "x",
                                     "input": {"v": "$.foo.bar"}}})json")),
      "steps.a.input.v", "unknown root \"foo\""));
}

TEST(ValidationTest, PathWithMisspeltRootHasDidYouMean) {
  EXPECT_TRUE(HasOnlyError(
      Errors(Def("a", R"json({"a": {"type": "task", "activity": "x",
                                     "input": {"v": "$.inptu.order_id"}}})json")),
      "steps.a.input.v", "unknown root \"inptu\" (did you mean \"input\"?)"));
}

TEST(ValidationTest, PathNamingUnknownStep) {
  EXPECT_TRUE(HasOnlyError(
      Errors(Def("a", R"json({"a": {"type": "task", "activity": "x",
                                     "input": {"v": "$.steps.nope.output"}}})json")),
      "steps.a.input.v", "path $.steps.nope.output names no step \"nope\""));
}

TEST(ValidationTest, PathNamingMisspeltStepHasDidYouMean) {
  EXPECT_TRUE(
      HasOnlyError(Errors(Def("reserve", R"json({
          "reserve": {"type": "task", "activity": "x", "next": "done"},
          "done": {"type": "succeed", "output": "$.steps.reserv.output"}})json")),
                   "steps.done.output",
                   "names no step \"reserv\" (did you mean \"reserve\"?)"));
}

TEST(ValidationTest, ItemPathOutsideMap) {
  EXPECT_TRUE(HasOnlyError(
      Errors(Def(
          "a",
          R"json({"a": {"type": "task", "activity": "x", "input": "$.item"}})json")),
      "steps.a.input", "path $.item is only defined inside a map iterator"));
  EXPECT_TRUE(HasOnlyError(
      Errors(Def("a", R"json({"a": {"type": "task", "activity": "x",
                                     "input": {"i": "n={{$.index}}"}}})json")),
      "steps.a.input.i", "path $.index is only defined inside a map iterator"));
}

TEST(ValidationTest, ItemPathInsideMapIsFine) {
  EXPECT_TRUE(
      Errors(Def("m", R"json({"m": {"type": "map", "items": "$.input.list",
      "iterator": {"start_at": "each", "steps": {
          "each": {"type": "task", "activity": "x",
                   "input": {"v": "$.item", "n": "#{{$.index}}"}}}}}})json"))
          .empty());
}

TEST(ValidationTest, UnterminatedTemplate) {
  EXPECT_TRUE(HasOnlyError(
      Errors(Def("a", R"json({"a": {"type": "task", "activity": "x",
                                     "input": {"memo": "order {{$.input.x"}}})json")),
      "steps.a.input.memo", "unterminated \"{{\" at character 7"));
}

TEST(ValidationTest, MalformedPathInsideTemplate) {
  EXPECT_TRUE(HasOnlyError(
      Errors(Def("a", R"json({"a": {"type": "task", "activity": "x",
                                     "input": {"memo": "order {{$.inptu.x}}"}}})json")),
      "steps.a.input.memo",
      "in template {{$.inptu.x}}: unknown root \"inptu\""));
}

TEST(ValidationTest, MalformedPathInArrayElementIsLocatedByIndex) {
  EXPECT_TRUE(HasOnlyError(
      Errors(Def("a", R"json({"a": {"type": "task", "activity": "x",
                                     "input": {"list": [1, "$.input[", 3]}}})json")),
      "steps.a.input.list[1]", "malformed path $.input["));
}

// ---------------------------------------------------------------------------------------------
// Conditions.

// A definition whose only choice rule has condition `when` (JSON text).
std::string ChoiceWith(std::string_view when) {
  return Def("route",
             R"json({"route": {"type": "choice", "choices": [{"when": )json" +
                 std::string(when) + R"json(, "next": "yes"}], "default": "no"},
                               "yes": {"type": "succeed"}, "no": {"type": "succeed"}})json");
}

constexpr char kWhen[] = "steps.route.choices[0].when";

TEST(ValidationTest, ValidConditionsCompile) {
  EXPECT_TRUE(Errors(ChoiceWith(R"json({"all": [
      {"path": "$.input.amount", "op": ">=", "value": 100},
      {"any": [{"path": "$.input.country", "op": "in", "value": ["FR", "DE"]},
               {"not": {"path": "$.input.vip", "op": "exists"}}]},
      {"path": "$.input.email", "op": "matches", "value": "^[a-z]+@example\\.com$"}]})json"))
                  .empty());
}

TEST(ValidationTest, MalformedRegexInMatches) {
  EXPECT_TRUE(HasOnlyError(
      Errors(ChoiceWith(
          R"json({"path": "$.input.email", "op": "matches", "value": "([a-z"})json")),
      std::string(kWhen) + ".value", "invalid regular expression"));
}

TEST(ValidationTest, ConditionUnknownOperator) {
  EXPECT_TRUE(HasOnlyError(
      Errors(ChoiceWith(
          R"json({"path": "$.input.x", "op": "=~", "value": 1})json")),
      std::string(kWhen) + ".op",
      "unknown operator \"=~\"; expected one of ==, !="));
}

TEST(ValidationTest, ConditionMissingValue) {
  EXPECT_TRUE(HasOnlyError(
      Errors(ChoiceWith(R"json({"path": "$.input.x", "op": "=="})json")),
      std::string(kWhen) + ".value",
      "required field is missing for operator \"==\""));
}

TEST(ValidationTest, ConditionValueGivenForExists) {
  EXPECT_TRUE(HasOnlyError(
      Errors(ChoiceWith(
          R"json({"path": "$.input.x", "op": "exists", "value": true})json")),
      std::string(kWhen) + ".value", "\"exists\" takes no value"));
}

TEST(ValidationTest, ConditionInWithNonArray) {
  EXPECT_TRUE(HasOnlyError(
      Errors(ChoiceWith(
          R"json({"path": "$.input.x", "op": "in", "value": "FR"})json")),
      std::string(kWhen) + ".value",
      "\"in\" takes an array (or a path to one), got string"));
}

TEST(ValidationTest, ConditionEmptyAll) {
  EXPECT_TRUE(HasOnlyError(Errors(ChoiceWith(R"json({"all": []})json")),
                           std::string(kWhen) + ".all",
                           "expected a non-empty array of conditions"));
}

TEST(ValidationTest, ConditionWithTwoForms) {
  EXPECT_TRUE(HasOnlyError(
      Errors(ChoiceWith(R"json({"path": "$.input.x", "op": "exists",
                                "any": [{"path": "$.input.y", "op": "exists"}]})json")),
      kWhen, "a condition is exactly one of"));
}

TEST(ValidationTest, ConditionEmptyObject) {
  EXPECT_TRUE(HasOnlyError(Errors(ChoiceWith("{}")), kWhen, "empty condition"));
}

TEST(ValidationTest, ConditionUnknownFieldWithDidYouMean) {
  EXPECT_TRUE(HasError(
      Errors(ChoiceWith(
          R"json({"path": "$.input.x", "op": "==", "valeu": 1})json")),
      std::string(kWhen) + ".valeu",
      "unknown field \"valeu\" in a condition (did you mean \"value\"?)"));
}

TEST(ValidationTest, NestedConditionErrorIsLocatedInside) {
  EXPECT_TRUE(HasOnlyError(
      Errors(ChoiceWith(R"json({"any": [{"path": "$.input.x", "op": "exists"},
                                        {"not": {"path": "$.input.y", "op": "=="}}]})json")),
      std::string(kWhen) + ".any[1].not.value", "required field is missing"));
}

TEST(ValidationTest, ChoiceWithoutChoices) {
  EXPECT_TRUE(HasOnlyError(Errors(Def("route", R"json({
      "route": {"type": "choice", "default": "no"}, "no": {"type": "succeed"}})json")),
                           "steps.route.choices", "required field is missing"));
  EXPECT_TRUE(HasOnlyError(Errors(Def("route", R"json({
      "route": {"type": "choice", "choices": [], "default": "no"},
      "no": {"type": "succeed"}})json")),
                           "steps.route.choices",
                           "expected a non-empty array"));
}

// ---------------------------------------------------------------------------------------------
// Retry policies.

// A definition with one task whose retry is `retry` (JSON text).
std::string TaskWithRetry(std::string_view retry) {
  return Def("a",
             R"json({"a": {"type": "task", "activity": "x", "retry": )json" +
                 std::string(retry) + "}}");
}

TEST(ValidationTest, RetryMaxAttemptsZero) {
  EXPECT_TRUE(
      HasOnlyError(Errors(TaskWithRetry(R"json({"max_attempts": 0})json")),
                   "steps.a.retry.max_attempts",
                   "expected an integer from 1 to 1000, got 0"));
}

TEST(ValidationTest, RetryMaxAttemptsAbsurd) {
  EXPECT_TRUE(
      HasOnlyError(Errors(TaskWithRetry(R"json({"max_attempts": 100000})json")),
                   "steps.a.retry.max_attempts",
                   "expected an integer from 1 to 1000, got 100000"));
}

TEST(ValidationTest, RetryMaxAttemptsNotAnInteger) {
  EXPECT_TRUE(HasOnlyError(
      Errors(TaskWithRetry(R"json({"max_attempts": 2.5})json")),
      "steps.a.retry.max_attempts", "expected an integer from 1 to 1000"));
  EXPECT_TRUE(HasOnlyError(
      Errors(TaskWithRetry(R"json({"max_attempts": "3"})json")),
      "steps.a.retry.max_attempts", "expected an integer from 1 to 1000"));
}

TEST(ValidationTest, RetryBackoffCoefficientBelowOne) {
  EXPECT_TRUE(HasOnlyError(
      Errors(TaskWithRetry(R"json({"backoff_coefficient": 0.5})json")),
      "steps.a.retry.backoff_coefficient",
      "expected a number from 1 to 100, got 0.5"));
}

TEST(ValidationTest, RetryMaxIntervalShorterThanInitial) {
  EXPECT_TRUE(HasOnlyError(
      Errors(TaskWithRetry(
          R"json({"initial_interval": "10s", "max_interval": "1s"})json")),
      "steps.a.retry.max_interval", "is shorter than initial_interval (10s)"));
}

TEST(ValidationTest, RetryIntervalsAbove365DaysAreRejected) {
  EXPECT_TRUE(HasOnlyError(
      Errors(TaskWithRetry(R"json({"initial_interval": "366d"})json")),
      "steps.a.retry.initial_interval", "must be at most 365d, got 366d"));
  EXPECT_TRUE(HasOnlyError(
      Errors(TaskWithRetry(R"json({"max_interval": "36500d"})json")),
      "steps.a.retry.max_interval", "must be at most 365d, got 36500d"));
  auto both = Errors(TaskWithRetry(
      R"json({"initial_interval": "400d", "max_interval": "401d"})json"));
  EXPECT_EQ(both.size(), 2u) << FormatErrors(both);
  EXPECT_TRUE(HasError(both, "steps.a.retry.initial_interval", "365d"));
  EXPECT_TRUE(HasError(both, "steps.a.retry.max_interval", "365d"));
  EXPECT_TRUE(HasOnlyError(Errors(R"json({"name": "wf", "start_at": "a",
          "defaults": {"retry": {"initial_interval": "1000d"}},
          "steps": {"a": {"type": "succeed"}}})json"),
                           "defaults.retry.initial_interval",
                           "must be at most 365d"));
  EXPECT_TRUE(
      Errors(TaskWithRetry(R"json({"initial_interval": "365d"})json")).empty());
}

TEST(ValidationTest, RetryNonRetryableErrorsNotAnArray) {
  EXPECT_TRUE(HasOnlyError(
      Errors(
          TaskWithRetry(R"json({"non_retryable_errors": "OutOfStock"})json")),
      "steps.a.retry.non_retryable_errors",
      "expected an array of error names, got string"));
}

TEST(ValidationTest, RetryNonRetryableErrorNotAString) {
  EXPECT_TRUE(HasOnlyError(
      Errors(TaskWithRetry(R"json({"non_retryable_errors": ["A", 7]})json")),
      "steps.a.retry.non_retryable_errors[1]",
      "expected a non-empty error name"));
}

TEST(ValidationTest, RetryUnknownFieldWithDidYouMean) {
  EXPECT_TRUE(
      HasOnlyError(Errors(TaskWithRetry(R"json({"max_atempts": 3})json")),
                   "steps.a.retry.max_atempts",
                   "unknown field \"max_atempts\" in retry (did you mean "
                   "\"max_attempts\"?)"));
}

TEST(ValidationTest, RetryErrorsInDefaults) {
  EXPECT_TRUE(HasOnlyError(Errors(R"json({"name": "wf", "start_at": "a",
      "defaults": {"retry": {"max_attempts": 0}},
      "steps": {"a": {"type": "succeed"}}})json"),
                           "defaults.retry.max_attempts",
                           "expected an integer from 1 to 1000"));
}

// ---------------------------------------------------------------------------------------------
// Catch rules.

TEST(ValidationTest, CatchWithEmptyErrors) {
  EXPECT_TRUE(
      HasOnlyError(Errors(Def("a", R"json({
      "a": {"type": "task", "activity": "x", "catch": [{"errors": [], "next": "h"}]},
      "h": {"type": "succeed"}})json")),
                   "steps.a.catch[0].errors",
                   "expected a non-empty array of error names (or \"*\")"));
}

TEST(ValidationTest, CatchMissingNext) {
  EXPECT_TRUE(HasOnlyError(Errors(Def("a", R"json({
      "a": {"type": "task", "activity": "x", "catch": [{"errors": ["E"]}]}})json")),
                           "steps.a.catch[0].next",
                           "required field is missing"));
}

TEST(ValidationTest, CatchNotAnArray) {
  EXPECT_TRUE(HasOnlyError(Errors(Def("a", R"json({
      "a": {"type": "task", "activity": "x", "catch": {"errors": ["E"], "next": "a"}}})json")),
                           "steps.a.catch",
                           "expected an array of {\"errors\", \"next\"}"));
}

// ---------------------------------------------------------------------------------------------
// Wait and signal steps.

TEST(ValidationTest, WaitWithBothDurationAndUntil) {
  EXPECT_TRUE(HasOnlyError(
      Errors(Def("w", R"json({"w": {"type": "wait", "duration": "1s",
                                                          "until": "2030-01-01T00:00:00Z"}})json")),
      "steps.w", "a wait step has \"duration\" or \"until\", not both"));
}

TEST(ValidationTest, WaitWithNeitherDurationNorUntil) {
  EXPECT_TRUE(
      HasOnlyError(Errors(Def("w", R"json({"w": {"type": "wait"}})json")),
                   "steps.w", "a wait step needs \"duration\" or \"until\""));
}

TEST(ValidationTest, WaitUntilMalformedTimestamp) {
  EXPECT_TRUE(HasOnlyError(
      Errors(Def(
          "w",
          R"json({"w": {"type": "wait", "until": "2030-13-01T00:00:00Z"}})json")),
      "steps.w.until",
      "malformed RFC 3339 timestamp \"2030-13-01T00:00:00Z\""));
  EXPECT_TRUE(HasOnlyError(
      Errors(
          Def("w", R"json({"w": {"type": "wait", "until": "tomorrow"}})json")),
      "steps.w.until", "or a path to one"));
}

TEST(ValidationTest, WaitUntilMalformedPath) {
  EXPECT_TRUE(HasOnlyError(
      Errors(Def("w",
                 R"json({"w": {"type": "wait", "until": "$.input.[0]"}})json")),
      "steps.w.until", "malformed path $.input.[0]"));
}

TEST(ValidationTest, SignalMissingName) {
  EXPECT_TRUE(HasOnlyError(
      Errors(Def("s", R"json({"s": {"type": "signal", "timeout": "1h"}})json")),
      "steps.s.signal", "required field is missing"));
}

TEST(ValidationTest, SignalInvalidName) {
  EXPECT_TRUE(HasOnlyError(
      Errors(Def("s",
                 R"json({"s": {"type": "signal", "signal": "go ahead"}})json")),
      "steps.s.signal", "invalid signal name \"go ahead\""));
}

// ---------------------------------------------------------------------------------------------
// Parallel and map steps.

TEST(ValidationTest, ParallelWithEmptyBranches) {
  EXPECT_TRUE(HasOnlyError(
      Errors(
          Def("p", R"json({"p": {"type": "parallel", "branches": []}})json")),
      "steps.p.branches", "expected a non-empty array of branches"));
}

TEST(ValidationTest, ParallelMissingBranches) {
  EXPECT_TRUE(
      HasOnlyError(Errors(Def("p", R"json({"p": {"type": "parallel"}})json")),
                   "steps.p.branches", "required field is missing"));
}

TEST(ValidationTest, BranchMissingStartAtAndUnknownField) {
  auto errors = Errors(Def("p", R"json({"p": {"type": "parallel", "branches": [
      {"stpes": {}, "steps": {"x": {"type": "task", "activity": "a"}}}]}})json"));
  EXPECT_TRUE(HasError(errors, "steps.p.branches[0].start_at",
                       "required field is missing"));
  EXPECT_TRUE(HasError(
      errors, "steps.p.branches[0].stpes",
      "unknown field \"stpes\" in a branch (did you mean \"steps\"?)"));
  EXPECT_EQ(errors.size(), 2u) << FormatErrors(errors);
}

TEST(ValidationTest, MapItemsNotAPath) {
  EXPECT_TRUE(HasOnlyError(
      Errors(Def("m", R"json({"m": {"type": "map", "items": "input.items",
      "iterator": {"start_at": "e", "steps": {"e": {"type": "task", "activity": "x"}}}}})json")),
      "steps.m.items", "expected a path to an array"));
  EXPECT_TRUE(
      HasOnlyError(Errors(Def("m", R"json({"m": {"type": "map", "items": [1, 2],
      "iterator": {"start_at": "e", "steps": {"e": {"type": "task", "activity": "x"}}}}})json")),
                   "steps.m.items", "expected a string, got array"));
}

TEST(ValidationTest, MapMaxConcurrencyNegative) {
  EXPECT_TRUE(HasOnlyError(
      Errors(Def(
          "m",
          R"json({"m": {"type": "map", "items": "$.input.items", "max_concurrency": -1,
      "iterator": {"start_at": "e", "steps": {"e": {"type": "task", "activity": "x"}}}}})json")),
      "steps.m.max_concurrency",
      "expected an integer from 0 (no limit) to 10000, got -1"));
}

TEST(ValidationTest, MapMissingIterator) {
  EXPECT_TRUE(HasOnlyError(
      Errors(Def(
          "m", R"json({"m": {"type": "map", "items": "$.input.items"}})json")),
      "steps.m.iterator", "required field is missing"));
}

// ---------------------------------------------------------------------------------------------
// Succeed and fail steps, compensation, on_failure.

TEST(ValidationTest, FailWithoutError) {
  EXPECT_TRUE(HasOnlyError(
      Errors(Def(
          "f",
          R"json({"f": {"type": "fail", "message": "no error name"}})json")),
      "steps.f.error", "required field is missing"));
}

TEST(ValidationTest, FailWithEmptyError) {
  EXPECT_TRUE(HasOnlyError(
      Errors(Def("f", R"json({"f": {"type": "fail", "error": ""}})json")),
      "steps.f.error", "must not be empty"));
}

TEST(ValidationTest, TaskMissingActivity) {
  EXPECT_TRUE(
      HasOnlyError(Errors(Def("a", R"json({"a": {"type": "task"}})json")),
                   "steps.a.activity", "required field is missing"));
}

TEST(ValidationTest, TaskInvalidActivityName) {
  EXPECT_TRUE(HasOnlyError(
      Errors(Def(
          "a", R"json({"a": {"type": "task", "activity": "pay ments"}})json")),
      "steps.a.activity", "invalid activity name \"pay ments\""));
}

TEST(ValidationTest, CompensateMissingActivity) {
  EXPECT_TRUE(HasOnlyError(
      Errors(Def("a", R"json({"a": {"type": "task", "activity": "x",
                                                          "compensate": {"input": {}}}})json")),
      "steps.a.compensate.activity", "required field is missing"));
}

TEST(ValidationTest, CompensateOnFailureWithoutCompensate) {
  EXPECT_TRUE(HasOnlyError(
      Errors(Def("a", R"json({"a": {"type": "task", "activity": "x",
                                                          "compensate_on_failure": true}})json")),
      "steps.a.compensate_on_failure",
      "is true but the step has no \"compensate\" activity to run"));
}

TEST(ValidationTest, CompensateOnFailureNotABoolean) {
  EXPECT_TRUE(HasOnlyError(
      Errors(Def(
          "a",
          R"json({"a": {"type": "task", "activity": "x", "compensate_on_failure": "yes",
                                     "compensate": {"activity": "undo"}}})json")),
      "steps.a.compensate_on_failure", "expected true or false, got string"));
}

TEST(ValidationTest, OnFailureUnknownPolicyWithDidYouMean) {
  EXPECT_TRUE(HasOnlyError(
      Errors(R"json({"name": "wf", "start_at": "a", "on_failure": "compensat",
                                          "steps": {"a": {"type": "succeed"}}})json"),
      "on_failure",
      "unknown policy \"compensat\" (did you mean \"compensate\"?); "
      "expected compensate, fail or suspend"));
}

TEST(ValidationTest, DefaultsUnknownFieldAndWrongType) {
  EXPECT_TRUE(HasOnlyError(
      Errors(R"json({"name": "wf", "start_at": "a",
                                          "defaults": {"timout": "1s"},
                                          "steps": {"a": {"type": "succeed"}}})json"),
      "defaults.timout",
      "unknown field \"timout\" in defaults (did you mean \"timeout\"?)"));
  EXPECT_TRUE(
      HasOnlyError(Errors(R"json({"name": "wf", "start_at": "a", "defaults": [],
                                          "steps": {"a": {"type": "succeed"}}})json"),
                   "defaults", "expected an object, got array"));
}

// ---------------------------------------------------------------------------------------------
// JSON syntax and size limits.

TEST(ValidationTest, JsonSyntaxError) {
  auto errors = Errors("{\"name\": \"wf\",\n  \"start_at\": \"a\",,\n}");
  ASSERT_EQ(errors.size(), 1u) << FormatErrors(errors);
  EXPECT_EQ(errors[0].path, "$");
  EXPECT_NE(errors[0].message.find("invalid JSON"), std::string::npos)
      << errors[0].message;
  EXPECT_NE(errors[0].message.find("line 2"), std::string::npos)
      << errors[0].message;
  EXPECT_NE(errors[0].message.find("column"), std::string::npos)
      << errors[0].message;
}

TEST(ValidationTest, JsonTrailingContentIsAnError) {
  auto errors =
      Errors(Def("a", R"json({"a": {"type": "succeed"}})json") + " {}");
  EXPECT_TRUE(HasOnlyError(errors, "$", "invalid JSON"));
}

TEST(ValidationTest, EmptyDocumentIsAnError) {
  EXPECT_TRUE(HasOnlyError(Errors(""), "$", "invalid JSON"));
}

// `depth` nested arrays as a task input: the document is then depth + 3 levels
// deep (the definition, its steps, the step, then the arrays).
std::string DefWithNestedInput(int depth) {
  return Def("a",
             R"json({"a": {"type": "task", "activity": "x", "input": )json" +
                 std::string(depth, '[') + std::string(depth, ']') + "}}");
}

TEST(ValidationTest, NestingAtTheLimitCompiles) {
  EXPECT_TRUE(Errors(DefWithNestedInput(61)).empty());
}

TEST(ValidationTest, NestingDeeperThan64) {
  auto errors = Errors(DefWithNestedInput(62));
  EXPECT_TRUE(HasOnlyError(errors, "$", "nesting deeper than 64 levels"));
}

TEST(ValidationTest, HugelyNestedDocumentFailsCleanly) {
  const std::string open(100000, '[');
  EXPECT_TRUE(HasOnlyError(Errors(open), "$", "64"));
  EXPECT_TRUE(HasOnlyError(Errors(open + std::string(100000, ']')), "$",
                           "nesting deeper than 64"));
  std::string objects;
  for (int i = 0; i < 100000; ++i) objects += "{\"a\":";
  EXPECT_TRUE(HasOnlyError(Errors(objects), "$", "nesting deeper than 64"));
}

TEST(ValidationTest, ConfiguredDepthLimit) {
  Limits limits;
  limits.max_json_depth = 5;
  EXPECT_TRUE(HasOnlyError(Errors(DefWithNestedInput(3), limits), "$",
                           "nesting deeper than 5"));
  EXPECT_TRUE(Errors(DefWithNestedInput(2), limits).empty());
}

TEST(ValidationTest, DefinitionOverConfiguredSizeLimit) {
  Limits limits;
  limits.max_definition_bytes = 64;
  const std::string text =
      Def("a", R"json({"a": {"type": "task", "activity": "x"}})json");
  ASSERT_GT(text.size(), 64u);
  EXPECT_TRUE(HasOnlyError(Errors(text, limits), "$",
                           "JSON document of " + std::to_string(text.size()) +
                               " bytes exceeds the limit of 64 bytes"));
  limits.max_definition_bytes = text.size();
  EXPECT_TRUE(Errors(text, limits).empty());
}

TEST(ValidationTest, DefinitionOverOneMiB) {
  const std::string prefix = R"json({"name": "wf", "description": ")json";
  const std::string suffix =
      R"json(", "start_at": "a", "steps": {"a": {"type": "succeed"}}})json";
  const size_t mib = 1 << 20;
  // Exactly 1 MiB is allowed...
  std::string text =
      prefix + std::string(mib - prefix.size() - suffix.size(), 'd') + suffix;
  ASSERT_EQ(text.size(), mib);
  EXPECT_TRUE(Errors(text).empty());
  // ...one byte more is not.
  text = prefix + std::string(mib - prefix.size() - suffix.size() + 1, 'd') +
         suffix;
  EXPECT_TRUE(
      HasOnlyError(Errors(text), "$", "exceeds the limit of 1048576 bytes"));
}

TEST(ValidationTest, MoreThanMaxSteps) {
  Limits limits;
  limits.max_steps = 3;
  const std::string text = Def("a", R"json({
      "a": {"type": "task", "activity": "x", "next": "b"},
      "b": {"type": "task", "activity": "x", "next": "c"},
      "c": {"type": "succeed"},
      "d": {"type": "succeed"}})json");
  EXPECT_TRUE(HasOnlyError(Errors(text, limits), "steps",
                           "the definition has 4 steps; the limit is 3"));
  limits.max_steps = 4;
  auto errors = Errors(text, limits);
  // Within the limit, "d" is merely unreachable.
  EXPECT_TRUE(HasOnlyError(errors, "steps.d", "unreachable"));
}

TEST(ValidationTest, MoreThanMaxStepsIsTheOnlyError) {
  // Steps past the limit are not compiled; edges to them must not be
  // reported as naming no step.
  Limits limits;
  limits.max_steps = 3;
  const std::string text = Def("a", R"json({
      "a": {"type": "task", "activity": "x", "next": "b"},
      "b": {"type": "task", "activity": "x", "next": "c"},
      "c": {"type": "task", "activity": "x", "next": "d",
            "catch": [{"errors": ["*"], "next": "e"}]},
      "d": {"type": "task", "activity": "x", "next": "e"},
      "e": {"type": "succeed"}})json");
  const ValidationErrors errors = Errors(text, limits);
  EXPECT_EQ(errors.size(), 1u) << FormatErrors(errors);
  EXPECT_TRUE(HasOnlyError(errors, "steps",
                           "the definition has 5 steps; the limit is 3"));
}

TEST(ValidationTest, MaxStepsCountsBranchSteps) {
  Limits limits;
  limits.max_steps = 3;
  auto errors = Errors(Def("p", R"json({"p": {"type": "parallel", "branches": [
      {"start_at": "x", "steps": {"x": {"type": "task", "activity": "a"}}},
      {"start_at": "y", "steps": {"y": {"type": "task", "activity": "a"}}},
      {"start_at": "z", "steps": {"z": {"type": "task", "activity": "a"}}}]}})json"),
                       limits);
  EXPECT_TRUE(
      HasError(errors, "steps", "the definition has 4 steps; the limit is 3"));
}

// ---------------------------------------------------------------------------------------------
// Every error at once.

TEST(ValidationTest, ThreeMistakesReportedAtOnce) {
  auto errors = Errors(R"json({
      "name": "wf",
      "desciption": "three mistakes",
      "start_at": "charge",
      "steps": {
        "charge": {"type": "task", "activity": "payments.charge", "timeout": "10x",
                   "next": "shp"},
        "ship": {"type": "task", "activity": "shipping.ship"}
      }})json");
  ASSERT_EQ(errors.size(), 3u) << FormatErrors(errors);
  EXPECT_TRUE(HasError(errors, "desciption", "did you mean \"description\"?"));
  EXPECT_TRUE(
      HasError(errors, "steps.charge.timeout", "malformed duration \"10x\""));
  EXPECT_TRUE(HasError(errors, "steps.charge.next",
                       "no step named \"shp\" (did you mean \"ship\"?)"));
  // Reported in location order.
  EXPECT_EQ(errors[0].path, "desciption");
  EXPECT_EQ(errors[1].path, "steps.charge.next");
  EXPECT_EQ(errors[2].path, "steps.charge.timeout");
}

TEST(ValidationTest, ErrorsInDifferentScopesReportedTogether) {
  auto errors = Errors(Def("p", R"json({
      "p": {"type": "parallel", "next": "m", "branches": [
          {"start_at": "b1", "steps": {"b1": {"type": "wait"}}}]},
      "m": {"type": "map", "items": "$.input.items", "iterator": {"start_at": "e", "steps": {
          "e": {"type": "task", "activity": "x", "retry": {"max_attempts": 0}}}}}})json"));
  EXPECT_TRUE(HasError(errors, "steps.p.branches[0].steps.b1",
                       "needs \"duration\" or \"until\""));
  EXPECT_TRUE(HasError(errors, "steps.m.iterator.steps.e.retry.max_attempts",
                       "from 1 to 1000"));
  EXPECT_EQ(errors.size(), 2u) << FormatErrors(errors);
}

TEST(ValidationTest, NewlinesInKeysAndNamesAreQuoted) {
  // Text from the definition is quoted in messages (Quote escapes control
  // characters), so every error stays on one line of FormatErrors.
  const std::string text =
      R"json({"name": "wf", "start_at": "a", "on_failure": "x\ny",
    "steps": {
      "a": {"type": "task", "activity": "x", "ne\nxt": 1, "next": "b\nc",
            "input": {"p": "$.steps['s\nt'].output", "q": "$.in\nput"}},
      "b\nc": {"type": "task", "activity": "x", "next": "z\nz"},
      "d": {"type": "ta\nsk"}}})json";
  const ValidationErrors errors = Errors(text);
  ASSERT_FALSE(errors.empty());
  for (const ValidationError& e : errors) {
    EXPECT_EQ(e.message.find('\n'), std::string::npos) << e.message;
    EXPECT_EQ(e.path.find('\n'), std::string::npos) << e.path;
  }
  const std::string formatted = FormatErrors(errors);
  EXPECT_EQ(
      static_cast<size_t>(std::count(formatted.begin(), formatted.end(), '\n')),
      errors.size() - 1)
      << formatted;
  EXPECT_TRUE(HasError(errors, "steps.a[\"ne\\nxt\"]",
                       "unknown field \"ne\\nxt\" in a task step"));
  EXPECT_TRUE(HasError(errors, "steps[\"b\\nc\"]",
                       "invalid step name \"b\\nc\": use a letter"));
  EXPECT_TRUE(
      HasError(errors, "steps[\"b\\nc\"].next", "no step named \"z\\nz\""));
  EXPECT_TRUE(
      HasError(errors, "steps.d.type", "unknown step type \"ta\\nsk\""));
  EXPECT_TRUE(
      HasError(errors, "on_failure", "unknown policy \"x\\ny\"; expected"));
  EXPECT_TRUE(HasError(errors, "steps.a.input.p", "names no step \"s\\nt\""));
  // Messages that embed other definition text escape it too.
  EXPECT_TRUE(HasError(errors, "steps.a.input.q", "malformed path $.in\\nput"));
}

TEST(ValidationTest, DuplicateKeysWithNewlinesAreQuoted) {
  const ValidationErrors errors = Errors(R"json({"name": "wf", "start_at": "a",
    "steps": {"a": {"type": "task", "activity": "x", "input": {"k\nk": 1, "k\nk": 2}},
              "a": {"type": "succeed"}}})json");
  EXPECT_TRUE(
      HasError(errors, "steps.a.input[\"k\\nk\"]", "duplicate key \"k\\nk\""));
  EXPECT_TRUE(HasError(errors, "steps.a", "duplicate step name \"a\""));
}

TEST(ValidationTest, FormatErrorsOneLineEach) {
  ValidationErrors errors = {{"steps.a.next", "no step named \"b\""},
                             {"$", "bad"}};
  EXPECT_EQ(FormatErrors(errors), "steps.a.next: no step named \"b\"\n$: bad");
  EXPECT_EQ(errors[0].ToString(), "steps.a.next: no step named \"b\"");
}

}  // namespace
}  // namespace sagaflow::dsl
