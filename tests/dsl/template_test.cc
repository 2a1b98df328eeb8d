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
  EXPECT_THAT(CompileErrors(Json("}}{{")), SizeIs(1));
}

TEST_F(TemplateTest, BracesAroundSomethingThatIsNotAPath) {
  auto errors =
      CompileErrors(Json("hello {{not a path}}"), "steps.s.input.greeting");
  ASSERT_THAT(errors, SizeIs(1));
  EXPECT_THAT(errors[0], HasSubstr("steps.s.input.greeting: "));
  EXPECT_THAT(errors[0], HasSubstr("not a path"));

  EXPECT_THAT(CompileErrors(Json("{{}} empty")), SizeIs(1));
  EXPECT_THAT(CompileErrors(Json("price {{$5}}")), SizeIs(1));
}

TEST_F(TemplateTest, MalformedPathInsideBraces) {
  auto errors = CompileErrors(Json("x {{$.input..a}}"));
  ASSERT_THAT(errors, SizeIs(1));
  EXPECT_THAT(errors[0], HasSubstr("$.input..a"));
}

TEST_F(TemplateTest, EveryBadTemplateInAStringIsReported) {
  auto errors = CompileErrors(Json("{{bad one}} {{$.input.n}} {{bad two}}"));
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
          R"({"a": {"b": "$.inptu"}, "list": [1, "{{oops}}"], "my key": "$.run.x"})"),
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

}  // namespace
}  // namespace sagaflow::dsl
