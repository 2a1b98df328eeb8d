// Tests for dsl/template.h: compiling JSON values with paths and {{...}} into
// templates and evaluating them against a run context.
#include "dsl/template.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dsl/compiler.h"
#include "dsl/plan.h"

namespace sagaflow::dsl {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::SizeIs;

// Binds step names through a Plan (rejecting unknown steps, as the compiler
// does) and records every path it sees and every error it is told about.
class TestBinder final : public PathBinder {
 public:
  explicit TestBinder(const Plan* plan) : plan_(plan) {}

  bool Bind(Path* path, const std::string& location) override {
    bound.push_back(location + " " + path->text());
    if (reject_item &&
        (path->root() == PathRoot::kItem || path->root() == PathRoot::kIndex)) {
      Error(location,
            "path " + path->text() + " is only defined inside a map iterator");
      return false;
    }
    if (path->root() == PathRoot::kStep ||
        path->root() == PathRoot::kStepOutput ||
        path->root() == PathRoot::kStepError) {
      std::optional<StepIndex> index;
      if (plan_ != nullptr) index = plan_->FindStep(path->step_name());
      if (!index) {
        Error(location, "path " + path->text() + " names no step \"" +
                            path->step_name() + "\"");
        return false;
      }
      path->BindStep(*index);
    }
    return true;
  }

  void Error(const std::string& location, std::string message) override {
    errors.push_back(location + ": " + message);
  }

  std::vector<std::string> bound;
  std::vector<std::string> errors;
  bool reject_item = false;

 private:
  const Plan* plan_;
};

constexpr char kDefinition[] = R"({
  "name": "templates",
  "start_at": "reserve",
  "steps": {
    "reserve": {"type": "task", "activity": "inventory.reserve", "next": "charge"},
    "charge": {"type": "task", "activity": "payments.charge"}
  }
})";

class TemplateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto compiled = CompileDefinition(kDefinition);
    ASSERT_TRUE(compiled.ok()) << FormatErrors(compiled.error());
    plan_ = compiled.value();
    binder_ = std::make_unique<TestBinder>(plan_.get());
    context_ = std::make_unique<JsonContext>(plan_.get(), Json::parse(R"({
      "input": {
        "order_id": "o-1",
        "n": 5,
        "f": 1.5,
        "neg": -3,
        "t": true,
        "z": null,
        "s": "say \"hi\"",
        "obj": {"a": 1, "b": [1, 2]},
        "arr": [1, "two", null],
        "items": [{"sku": "A"}, {"sku": "B"}]
      },
      "steps": {"reserve": {"output": {"reservation_id": "res-9", "count": 2}}},
      "signals": {"approval": {"by": "ann"}},
      "run": {"id": "r-1", "workflow": "templates"},
      "item": {"sku": "A"},
      "index": 4
    })"));
  }

  // Compiles `value` expecting no error.
  Template Compile(const Json& value,
                   const std::string& location = "steps.s.input") {
    Template t = Template::Compile(value, location, binder_.get());
    EXPECT_THAT(binder_->errors, IsEmpty()) << value.dump();
    return t;
  }

  // Compiles and evaluates `value`, expecting success.
  Json Render(const Json& value) {
    Template t = Compile(value);
    auto result = t.Evaluate(*context_);
    if (!result.ok()) {
      ADD_FAILURE() << value.dump() << ": " << result.error().error << ": "
                    << result.error().message;
      return Json();
    }
    return std::move(result).value();
  }

  // Compiles `value` expecting errors; returns them.
  std::vector<std::string> CompileErrors(
      const Json& value, const std::string& location = "steps.s.input") {
    binder_->errors.clear();
    Template::Compile(value, location, binder_.get());
    EXPECT_THAT(binder_->errors, Not(IsEmpty())) << value.dump();
    std::vector<std::string> errors = binder_->errors;
    binder_->errors.clear();
    return errors;
  }

  std::shared_ptr<const Plan> plan_;
  std::unique_ptr<TestBinder> binder_;
  std::unique_ptr<JsonContext> context_;
};

// ----------------------------------------------------------------------------------------------
// Literals

TEST_F(TemplateTest, DefaultTemplateIsNull) {
  Template t;
  EXPECT_TRUE(t.is_literal());
  EXPECT_EQ(t.as_path(), nullptr);
  auto result = t.Evaluate(*context_);
  ASSERT_TRUE(result.ok());
  EXPECT_TRUE(result.value().is_null());
}

TEST_F(TemplateTest, LiteralFactory) {
  Template t = Template::Literal(Json{{"k", "$.input.n"}});
  EXPECT_TRUE(t.is_literal());
  // Literal() takes the value as it is: a path-looking string inside is not a
  // reference.
  EXPECT_EQ(t.Evaluate(*context_).value(), Json({{"k", "$.input.n"}}));
}

TEST_F(TemplateTest, ScalarLiterals) {
  for (const Json& value :
       {Json("hello"), Json(42), Json(-7), Json(2.5), Json(true), Json(false),
        Json(nullptr), Json(""), Json("{}"), Json("}} {")}) {
    Template t = Compile(value);
    EXPECT_TRUE(t.is_literal()) << value.dump();
    EXPECT_EQ(t.as_path(), nullptr);
    auto result = t.Evaluate(*context_);
    ASSERT_TRUE(result.ok());
    EXPECT_EQ(result.value(), value);
    EXPECT_EQ(result.value().type(), value.type());
  }
  EXPECT_THAT(binder_->bound, IsEmpty());
}

TEST_F(TemplateTest, ObjectsWithoutPathsCollapseToLiterals) {
  const Json value = {{"a", 1},
                      {"b", Json::array({1, "two", nullptr, {{"c", false}}})},
                      {"d", {{"e", "plain text"}, {"f", Json::object()}}}};
  Template t = Compile(value);
  EXPECT_TRUE(t.is_literal());
  EXPECT_EQ(t.as_path(), nullptr);
  EXPECT_EQ(t.Evaluate(*context_).value(), value);

  Template arr = Compile(Json::array({1, 2, 3}));
  EXPECT_TRUE(arr.is_literal());
  EXPECT_EQ(arr.Evaluate(*context_).value(), Json::array({1, 2, 3}));

  EXPECT_TRUE(Compile(Json::object()).is_literal());
  EXPECT_TRUE(Compile(Json::array()).is_literal());
  EXPECT_EQ(Render(Json::object()), Json::object());
  EXPECT_EQ(Render(Json::array()), Json::array());
}

TEST_F(TemplateTest, DollarStringsThatAreNotPathsStayLiteral) {
  for (const char* text :
       {"$5.00", "$5", "price $", "US$ 10", "$$", "costs $.50? no: $5"}) {
    Template t = Compile(Json(text));
    EXPECT_TRUE(t.is_literal()) << text;
    EXPECT_EQ(t.as_path(), nullptr) << text;
    EXPECT_EQ(t.Evaluate(*context_).value(), text);
  }
  EXPECT_EQ(Render(Json{{"price", "$5.00"}}), Json({{"price", "$5.00"}}));
  EXPECT_TRUE(Compile(Json{{"price", "$5.00"}}).is_literal());
}

TEST_F(TemplateTest, PathInsideTextWithoutBracesIsLiteral) {
  // Only a string that is exactly a path, or {{...}}, refers to the context.
  EXPECT_EQ(Render(Json("see $.input.n")), "see $.input.n");
  EXPECT_EQ(Render(Json(" $.input.n")), " $.input.n");
}

// ----------------------------------------------------------------------------------------------
// Exact paths

TEST_F(TemplateTest, ExactPathKeepsTheType) {
  Json number = Render(Json("$.input.n"));
  EXPECT_EQ(number, 5);
  EXPECT_TRUE(number.is_number_integer());

  Json fraction = Render(Json("$.input.f"));
  EXPECT_TRUE(fraction.is_number_float());
  EXPECT_DOUBLE_EQ(fraction.get<double>(), 1.5);

  Json object = Render(Json("$.input.obj"));
  EXPECT_TRUE(object.is_object());
  EXPECT_EQ(object, Json({{"a", 1}, {"b", {1, 2}}}));

  Json array = Render(Json("$.input.arr"));
  EXPECT_TRUE(array.is_array());
  EXPECT_EQ(array, Json::array({1, "two", nullptr}));

  EXPECT_EQ(Render(Json("$.input.t")), true);
  EXPECT_TRUE(Render(Json("$.input.z")).is_null());
  EXPECT_EQ(Render(Json("$.input.order_id")), "o-1");
}

TEST_F(TemplateTest, AsPath) {
  Template t = Compile(Json("$.input.items[1].sku"));
  EXPECT_FALSE(t.is_literal());
  const Path* path = t.as_path();
  ASSERT_NE(path, nullptr);
  EXPECT_EQ(path->text(), "$.input.items[1].sku");
  EXPECT_EQ(path->root(), PathRoot::kInput);
  EXPECT_EQ(t.Evaluate(*context_).value(), "B");

  EXPECT_EQ(Compile(Json("x {{$.input.n}}")).as_path(), nullptr);
  EXPECT_EQ(Compile(Json{{"a", "$.input.n"}}).as_path(), nullptr);
}

TEST_F(TemplateTest, FromPath) {
  auto parsed = Path::Parse("$.input.obj.b");
  ASSERT_TRUE(parsed.ok());
  Template t = Template::FromPath(std::move(parsed).value());
  ASSERT_NE(t.as_path(), nullptr);
  EXPECT_EQ(t.as_path()->text(), "$.input.obj.b");
  EXPECT_EQ(t.Evaluate(*context_).value(), Json::array({1, 2}));
}

TEST_F(TemplateTest, StepPathsAreBoundThroughTheBinder) {
  Template t = Compile(Json("$.steps.reserve.output.reservation_id"),
                       "steps.charge.input");
  ASSERT_NE(t.as_path(), nullptr);
  EXPECT_EQ(t.as_path()->step(), plan_->FindStep("reserve").value());
  EXPECT_EQ(t.Evaluate(*context_).value(), "res-9");
  EXPECT_THAT(
      binder_->bound,
      ElementsAre("steps.charge.input $.steps.reserve.output.reservation_id"));
}

TEST_F(TemplateTest, EveryRoot) {
  EXPECT_EQ(Render(Json("$.run.id")), "r-1");
  EXPECT_EQ(Render(Json("$.run.workflow")), "templates");
  EXPECT_EQ(Render(Json("$.signals.approval.by")), "ann");
  EXPECT_EQ(Render(Json("$.item.sku")), "A");
  EXPECT_EQ(Render(Json("$.index")), 4);
  EXPECT_EQ(Render(Json("$.steps.reserve")),
            Json({{"output", {{"reservation_id", "res-9"}, {"count", 2}}}}));
  Json whole = Render(Json("$"));
  EXPECT_EQ(whole["input"]["n"], 5);
  EXPECT_EQ(whole["run"]["id"], "r-1");
}

// ----------------------------------------------------------------------------------------------
// {{...}} inside text

TEST_F(TemplateTest, TextTemplateRendersStringsWithoutQuotes) {
  Template t = Compile(Json("order {{$.input.order_id}}"));
  EXPECT_FALSE(t.is_literal());
  EXPECT_EQ(t.as_path(), nullptr);
  EXPECT_EQ(t.Evaluate(*context_).value(), "order o-1");
  EXPECT_EQ(Render(Json("<{{$.input.s}}>")), "<say \"hi\">");
}

TEST_F(TemplateTest, TextTemplateRendersNumbersAndOthersAsJson) {
  EXPECT_EQ(Render(Json("n={{$.input.n}}")), "n=5");
  EXPECT_EQ(Render(Json("f={{$.input.f}}")), "f=1.5");
  EXPECT_EQ(Render(Json("neg={{$.input.neg}}")), "neg=-3");
  EXPECT_EQ(Render(Json("t={{$.input.t}}")), "t=true");
  EXPECT_EQ(Render(Json("z={{$.input.z}}")), "z=null");
  EXPECT_EQ(Render(Json("obj={{$.input.obj}}")), "obj={\"a\":1,\"b\":[1,2]}");
  EXPECT_EQ(Render(Json("arr={{$.input.arr}}")), "arr=[1,\"two\",null]");
  EXPECT_EQ(Render(Json("#{{$.index}}")), "#4");
}

TEST_F(TemplateTest, TextTemplateIsAlwaysAString) {
  Json rendered = Render(Json("{{$.input.n}} items"));
  EXPECT_TRUE(rendered.is_string());
  EXPECT_EQ(rendered, "5 items");
}

TEST_F(TemplateTest, SeveralTemplatesInOneString) {
  EXPECT_EQ(Render(Json("{{$.input.order_id}}/{{$.input.n}}/{{$.run.id}}")),
            "o-1/5/r-1");
  EXPECT_EQ(Render(Json("a{{$.input.n}}b{{$.input.n}}c")), "a5b5c");
  EXPECT_EQ(Render(Json("{{$.input.n}}{{$.input.order_id}}")), "5o-1");
  EXPECT_EQ(
      Render(
          Json("run {{$.run.id}} of {{$.run.workflow}} reserved "
               "{{$.steps.reserve.output.reservation_id}} for {{$.item.sku}}")),
      "run r-1 of templates reserved res-9 for A");
}

TEST_F(TemplateTest, WhitespaceInsideBraces) {
  EXPECT_EQ(Render(Json("x={{ $.input.n }}")), "x=5");
  EXPECT_EQ(Render(Json("x={{\t$.input.order_id\t}}")), "x=o-1");
  EXPECT_EQ(Render(Json("{{   $.input.order_id}}!")), "o-1!");
  // Newlines and carriage returns too: a template may be split over lines.
  EXPECT_EQ(Render(Json("x={{\n$.input.n\r\n}}")), "x=5");
  EXPECT_EQ(Render(Json("x={{\r\n  $.input.order_id \n}}")), "x=o-1");
}

TEST_F(TemplateTest, TextOutsideBracesIsKeptVerbatim) {
  EXPECT_EQ(Render(Json("  spaced  {{$.input.n}}  ")), "  spaced  5  ");
  EXPECT_EQ(Render(Json("close }} first {{$.input.n}}")), "close }} first 5");
  EXPECT_EQ(Render(Json("no templates }} here")), "no templates }} here");
  EXPECT_EQ(Render(Json("$ {{$.input.n}}")), "$ 5");
}

TEST_F(TemplateTest, TextTemplatePathsAreBound) {
  binder_->bound.clear();
  Template t = Compile(
      Json("id {{$.steps.reserve.output.reservation_id}} n {{$.input.n}}"),
      "steps.charge.input.memo");
  EXPECT_THAT(
      binder_->bound,
      ElementsAre(
          "steps.charge.input.memo $.steps.reserve.output.reservation_id",
          "steps.charge.input.memo $.input.n"));
  EXPECT_EQ(t.Evaluate(*context_).value(), "id res-9 n 5");
}

// ----------------------------------------------------------------------------------------------
// Nested values

TEST_F(TemplateTest, NestedObjectsAndArraysMixLiteralsAndPaths) {
  const Json value = Json::parse(R"({
    "order": "$.input.order_id",
    "count": "$.steps.reserve.output.count",
    "memo": "order {{$.input.order_id}} x{{$.input.n}}",
    "fixed": {"currency": "EUR", "flags": [true, false]},
    "lines": [
      1,
      "$.input.items[0]",
      {"sku": "$.input.items[1].sku", "qty": 2, "price": "$5.00"},
      ["$.input.n", "lit", "{{$.input.n}}"]
    ]
  })");
  Template t = Compile(value);
  EXPECT_FALSE(t.is_literal());
  EXPECT_EQ(t.as_path(), nullptr);
  auto result = t.Evaluate(*context_);
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(result.value(), Json::parse(R"({
    "order": "o-1",
    "count": 2,
    "memo": "order o-1 x5",
    "fixed": {"currency": "EUR", "flags": [true, false]},
    "lines": [
      1,
      {"sku": "A"},
      {"sku": "B", "qty": 2, "price": "$5.00"},
      [5, "lit", "5"]
    ]
  })"));
}

TEST_F(TemplateTest, EvaluatesRepeatedlyAgainstDifferentContexts) {
  Template t = Compile(Json{{"v", "$.input.n"}, {"s", "n={{$.input.n}}"}});
  EXPECT_EQ(t.Evaluate(*context_).value(), Json({{"v", 5}, {"s", "n=5"}}));
  JsonContext other(plan_.get(), Json{{"input", {{"n", "five"}}}});
  EXPECT_EQ(t.Evaluate(other).value(), Json({{"v", "five"}, {"s", "n=five"}}));
  EXPECT_EQ(t.Evaluate(*context_).value(), Json({{"v", 5}, {"s", "n=5"}}));
}

TEST_F(TemplateTest, KeysAreNeverTemplated) {
  EXPECT_EQ(Render(Json{{"$.input.n", "$.input.n"}, {"{{$.input.n}}", 1}}),
            Json({{"$.input.n", 5}, {"{{$.input.n}}", 1}}));
}

// ----------------------------------------------------------------------------------------------
// Evaluation errors

TEST_F(TemplateTest, PathNotFoundFromAnExactPath) {
  Template t = Compile(Json("$.input.missing"));
  auto result = t.Evaluate(*context_);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().error, "PathNotFound");
  EXPECT_THAT(result.error().message, HasSubstr("$.input.missing"));
}

TEST_F(TemplateTest, PathNotFoundPropagatesFromDeepInside) {
  Template t = Compile(Json::parse(R"({
    "ok": "$.input.n",
    "deep": {"list": [1, {"x": ["fine", "$.input.items[7].sku"]}]}
  })"));
  auto result = t.Evaluate(*context_);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().error, "PathNotFound");
  EXPECT_THAT(result.error().message, HasSubstr("$.input.items[7].sku"));
}

TEST_F(TemplateTest, PathNotFoundPropagatesFromText) {
  Template t = Compile(
      Json{{"memo", Json::array({"a {{$.input.n}} b {{$.signals.nope.x}}"})}});
  auto result = t.Evaluate(*context_);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().error, "PathNotFound");
  EXPECT_THAT(result.error().message, HasSubstr("$.signals.nope.x"));
}

TEST_F(TemplateTest, StepWithoutOutputIsPathNotFound) {
  Template t = Compile(Json("$.steps.charge.output"));
  auto result = t.Evaluate(*context_);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().error, "PathNotFound");
  EXPECT_THAT(result.error().message, HasSubstr("charge"));
}

// ----------------------------------------------------------------------------------------------
// Compile errors

TEST_F(TemplateTest, UnterminatedBraces) {
  auto errors = CompileErrors(Json("order {{$.input.order_id"),
                              "steps.charge.input.memo");
  ASSERT_THAT(errors, SizeIs(1));
  EXPECT_THAT(errors[0], HasSubstr("steps.charge.input.memo: "));
  EXPECT_THAT(errors[0], HasSubstr("unterminated"));
  EXPECT_THAT(errors[0], HasSubstr("character 7"));

  EXPECT_THAT(CompileErrors(Json("{{$.input.n}} and {{ $.input.n")), SizeIs(1));
  // Unterminated as soon as "{{" is followed by '$' (after whitespace).
  EXPECT_THAT(CompileErrors(Json("}}{{$")), SizeIs(1));
  EXPECT_THAT(CompileErrors(Json("a {{\n $.input.n } b")), SizeIs(1));
  // Without the '$', "{{" is text and needs no "}}".
  EXPECT_EQ(Render(Json("}}{{")), "}}{{");
  EXPECT_EQ(Render(Json("{{ not closed")), "{{ not closed");
}

TEST_F(TemplateTest, BracesWithoutADollarAreLiteralText) {
  // "Everything else is a literal": only "{{" + optional whitespace + '$'
  // starts a reference, so other templating syntaxes pass through untouched.
  for (const char* text : {"hello {{not a path}}", "Hi {{ first_name }}",
                           "{{#each items}}{{this}}{{/each}}", "{{}} empty",
                           "{{\n}}", "{{ 5 }}"}) {
    Template t = Compile(Json(text));
    EXPECT_TRUE(t.is_literal()) << text;
    EXPECT_EQ(t.Evaluate(*context_).value(), text);
  }
  EXPECT_THAT(binder_->bound, IsEmpty());
  // Literal braces and references mix.
  EXPECT_EQ(Render(Json("Hi {{ name }}, order {{ $.input.order_id }}")),
            "Hi {{ name }}, order o-1");
  EXPECT_EQ(Render(Json("{{{$.input.n}}}")), "{5}");
  // With the '$' it is a reference, and must be a valid one.
  auto errors = CompileErrors(Json("price {{$5}}"), "steps.s.input.greeting");
  ASSERT_THAT(errors, SizeIs(1));
  EXPECT_THAT(errors[0], HasSubstr("steps.s.input.greeting: "));
  EXPECT_THAT(errors[0], HasSubstr("{{$5}}"));
}

TEST_F(TemplateTest, MalformedPathInsideBraces) {
  auto errors = CompileErrors(Json("x {{$.input..a}}"));
  ASSERT_THAT(errors, SizeIs(1));
  EXPECT_THAT(errors[0], HasSubstr("$.input..a"));
}

TEST_F(TemplateTest, EveryBadTemplateInAStringIsReported) {
  auto errors =
      CompileErrors(Json("{{$bad one}} {{$.input.n}} {{ $ bad two}}"));
  ASSERT_THAT(errors, SizeIs(2));
  EXPECT_THAT(errors[0], HasSubstr("bad one"));
  EXPECT_THAT(errors[1], HasSubstr("bad two"));
}

TEST_F(TemplateTest, MalformedExactPath) {
  auto errors = CompileErrors(Json("$.input..a"));
  ASSERT_THAT(errors, SizeIs(1));
  EXPECT_THAT(errors[0], HasSubstr("$.input..a"));

  auto unknown = CompileErrors(Json("$.inptu.x"));
  ASSERT_THAT(unknown, SizeIs(1));
  EXPECT_THAT(unknown[0], HasSubstr("did you mean \"input\"?"));
}

TEST_F(TemplateTest, ErrorsCarryTheirNestedLocation) {
  auto errors = CompileErrors(
      Json::parse(
          R"({"a": {"b": "$.inptu"}, "list": [1, "{{$oops}}"], "my key": "$.run.x"})"),
      "steps.s.input");
  ASSERT_THAT(errors, SizeIs(3));
  EXPECT_THAT(errors[0], HasSubstr("steps.s.input.a.b: "));
  EXPECT_THAT(errors[1], HasSubstr("steps.s.input.list[1]: "));
  EXPECT_THAT(errors[2], HasSubstr("steps.s.input[\"my key\"]: "));
}

TEST_F(TemplateTest, BinderRejectionsAreReported) {
  auto errors =
      CompileErrors(Json{{"x", "$.steps.nope.output"}}, "steps.s.input");
  ASSERT_THAT(errors, SizeIs(1));
  EXPECT_THAT(errors[0], HasSubstr("steps.s.input.x: "));
  EXPECT_THAT(errors[0], HasSubstr("nope"));

  binder_->reject_item = true;
  EXPECT_THAT(CompileErrors(Json("$.item")), SizeIs(1));
  EXPECT_THAT(CompileErrors(Json("#{{$.index}}")), SizeIs(1));
  EXPECT_THAT(CompileErrors(Json{{"deep", Json::array({"$.item.sku"})}}),
              SizeIs(1));
}

// ----------------------------------------------------------------------------------------------
// Bounds on the result (EvalLimits)

// `levels` arrays nested around `leaf`.
Json NestedArrays(int levels, Json leaf = 1) {
  Json value = std::move(leaf);
  for (int i = 0; i < levels; ++i) value = Json::array({std::move(value)});
  return value;
}

// `levels` objects {"a": ...} nested around `leaf`.
Json NestedObjects(int levels, Json leaf) {
  Json value = std::move(leaf);
  for (int i = 0; i < levels; ++i) value = Json{{"a", std::move(value)}};
  return value;
}

TEST_F(TemplateTest, DeepTemplateAroundADeepValueIsPayloadTooLarge) {
  // Each is within the parser's 64 levels; together they would be 80, and a
  // value that grows deeper with every step would end in a stack overflow.
  JsonContext deep(plan_.get(), Json{{"input", {{"deep", NestedArrays(40)}}}});
  Template t = Compile(NestedObjects(40, "$.input.deep"));
  auto result = t.Evaluate(deep);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().error, "PayloadTooLarge");
  EXPECT_EQ(result.error().error, kPayloadTooLarge);
  EXPECT_THAT(result.error().message, HasSubstr("deeper"));
  EXPECT_THAT(result.error().message, HasSubstr("64 levels"));
  EXPECT_THAT(result.error().message, HasSubstr("$.input.deep"));

  // 24 + 40 = 64 is exactly the limit; one more level is over it.
  EXPECT_TRUE(Compile(NestedObjects(24, "$.input.deep")).Evaluate(deep).ok());
  auto over = Compile(NestedObjects(25, "$.input.deep")).Evaluate(deep);
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error().error, "PayloadTooLarge");
}

TEST_F(TemplateTest, DepthLimitIsConfigurable) {
  const Json value = NestedArrays(3);
  JsonContext ctx(plan_.get(), Json{{"input", value}});
  Template path = Compile(Json("$.input"));
  EXPECT_TRUE(path.Evaluate(ctx, {3, 1 << 20}).ok());
  EXPECT_EQ(path.Evaluate(ctx, {2, 1 << 20}).error().error, "PayloadTooLarge");
  // Literals and the template's own containers count too.
  Template literal = Compile(value);
  ASSERT_TRUE(literal.is_literal());
  EXPECT_TRUE(literal.Evaluate(ctx, {3, 1 << 20}).ok());
  EXPECT_EQ(literal.Evaluate(ctx, {2, 1 << 20}).error().error,
            "PayloadTooLarge");
  Template wrapped = Compile(Json{{"x", Json::array({"$.input"})}});
  EXPECT_TRUE(wrapped.Evaluate(ctx, {5, 1 << 20}).ok());
  auto too_deep = wrapped.Evaluate(ctx, {4, 1 << 20});
  ASSERT_FALSE(too_deep.ok());
  EXPECT_THAT(too_deep.error().message, HasSubstr("4 levels"));
}

TEST_F(TemplateTest, RepeatedTextOfAHugeValueIsPayloadTooLarge) {
  // 1000 x "{{$}}" over a 256 KiB input would render 256 MB of text; the
  // evaluation must stop as soon as the result passes 2 MiB.
  JsonContext big(plan_.get(),
                  Json{{"input", {{"blob", std::string(256 << 10, 'x')}}}});
  std::string text;
  for (int i = 0; i < 1000; ++i) text += "{{$}}";
  Template t = Compile(Json(text));
  auto result = t.Evaluate(big);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().error, "PayloadTooLarge");
  EXPECT_THAT(result.error().message, HasSubstr("2097152 bytes"));

  // The same with a string value (rendered without measuring as JSON).
  std::string strings;
  for (int i = 0; i < 1000; ++i) strings += "{{$.input.blob}}";
  auto from_strings = Compile(Json(strings)).Evaluate(big);
  ASSERT_FALSE(from_strings.ok());
  EXPECT_EQ(from_strings.error().error, "PayloadTooLarge");
  EXPECT_THAT(from_strings.error().message, HasSubstr("$.input.blob"));
}

TEST_F(TemplateTest, RepeatedPathsInAnArrayArePayloadTooLarge) {
  JsonContext big(plan_.get(),
                  Json{{"input", {{"blob", std::string(256 << 10, 'x')}}}});
  Template t = Compile(Json(std::vector<Json>(100, "$.input.blob")));
  auto result = t.Evaluate(big);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().error, "PayloadTooLarge");
  // Under a larger limit the same template evaluates.
  EXPECT_TRUE(t.Evaluate(big, {64, 64 << 20}).ok());
}

TEST_F(TemplateTest, SizeLimitCountsTheCompactText) {
  // "abc" is 5 bytes of JSON; {"k":"abc"} is 11.
  Template literal = Compile(Json("abc"));
  EXPECT_TRUE(literal.Evaluate(*context_, {64, 5}).ok());
  EXPECT_EQ(literal.Evaluate(*context_, {64, 4}).error().error,
            "PayloadTooLarge");
  Template object = Compile(Json{{"k", "$.input.order_id"}});  // "o-1"
  EXPECT_EQ(object.Evaluate(*context_, {64, 11}).value(), Json({{"k", "o-1"}}));
  EXPECT_FALSE(object.Evaluate(*context_, {64, 10}).ok());
  Template text = Compile(Json("id {{$.input.order_id}}"));  // "id o-1"
  EXPECT_TRUE(text.Evaluate(*context_, {64, 8}).ok());
  EXPECT_FALSE(text.Evaluate(*context_, {64, 7}).ok());
}

TEST_F(TemplateTest, PathEvaluateIsBoundedToo) {
  auto path = Path::Parse("$").value();
  EXPECT_TRUE(path.Evaluate(*context_).ok());
  auto result = path.Evaluate(*context_, {64, 100});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().error, "PayloadTooLarge");
  EXPECT_THAT(result.error().message, HasSubstr("100 bytes"));
}

TEST_F(TemplateTest, WhatTheParserAcceptsPassesThroughAPath) {
  // The limits equal the parser's: a payload at its depth and size limits is
  // still a valid step input as "$.input".
  std::string deep(64, '[');
  deep += std::string(64, ']');
  auto parsed = ParseJson(deep, {});
  ASSERT_TRUE(parsed.ok());
  JsonContext ctx(plan_.get(), Json{{"input", parsed.value()}});
  EXPECT_TRUE(Compile(Json("$.input")).Evaluate(ctx).ok());
  EXPECT_FALSE(Compile(Json::array({"$.input"})).Evaluate(ctx).ok());

  std::string text = "[\"" + std::string((2 << 20) - 9, 'y') + "\", 1.5]";
  ASSERT_EQ(text.size(), size_t{2 << 20});
  auto big = ParseJson(text, {});
  ASSERT_TRUE(big.ok());
  JsonContext big_ctx(plan_.get(), Json{{"input", big.value()}});
  EXPECT_TRUE(Compile(Json("$.input")).Evaluate(big_ctx).ok());
}

TEST(PayloadTest, MeasureIsTheCompactTextWithoutEscapes) {
  const Json value = Json::parse(
      R"({"a": [1, -20, 18446744073709551615, "xy", true, false, null],
          "b": {}, "c": [[]], "long key": -9223372036854775808})");
  const PayloadSize size = MeasurePayloadSize(value);
  EXPECT_EQ(size.bytes, DumpJson(value).size());
  EXPECT_EQ(size.depth, 3);
  EXPECT_EQ(MeasurePayloadSize(Json(1)).depth, 0);
  EXPECT_EQ(MeasurePayloadSize(Json::array()).depth, 1);
  EXPECT_EQ(MeasurePayloadSize(Json::array()).bytes, 2u);
}

TEST(PayloadTest, MeasureStopsAtTheFirstBoundCrossed) {
  // 1000 strings of 1000 bytes against a 10000-byte limit: the walk stops at
  // the element that crosses it.
  const Json wide = Json(std::vector<Json>(1000, std::string(1000, 'x')));
  size_t bytes = 0;
  EXPECT_EQ(MeasurePayload(wide, 0, {64, 10000}, &bytes),
            PayloadCheck::kTooLarge);
  EXPECT_GT(bytes, 10000u);
  EXPECT_LE(bytes, 10000u + 1002u);
  bytes = 0;
  EXPECT_EQ(MeasurePayload(NestedArrays(10), 0, {9, 1 << 20}, &bytes),
            PayloadCheck::kTooDeep);
  bytes = 0;
  EXPECT_EQ(MeasurePayload(NestedArrays(10), 0, {10, 1 << 20}, &bytes),
            PayloadCheck::kOk);
  // `depth` is where the value will sit.
  bytes = 0;
  EXPECT_EQ(MeasurePayload(NestedArrays(10), 1, {10, 1 << 20}, &bytes),
            PayloadCheck::kTooDeep);
  // A million nested levels are measured without recursion.
  Json very_deep = NestedArrays(1000000);
  bytes = 0;
  EXPECT_EQ(MeasurePayload(very_deep, 0, {64, 1 << 20}, &bytes),
            PayloadCheck::kTooDeep);
}

TEST(PayloadTest, CheckPayload) {
  EXPECT_FALSE(CheckPayload(Json{{"a", 1}}).has_value());
  auto too_big = CheckPayload(Json(std::string(100, 'x')), {64, 50});
  ASSERT_TRUE(too_big.has_value());
  EXPECT_EQ(too_big->error, "PayloadTooLarge");
  EXPECT_THAT(too_big->message, HasSubstr("50 bytes"));
  auto too_deep = CheckPayload(NestedArrays(65));
  ASSERT_TRUE(too_deep.has_value());
  EXPECT_THAT(too_deep->message, HasSubstr("64 levels"));
}

}  // namespace
}  // namespace sagaflow::dsl
