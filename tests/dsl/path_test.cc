// Tests for dsl/path.h: recognising, parsing and resolving $-paths against a
// run context.
#include "dsl/path.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "dsl/compiler.h"
#include "dsl/plan.h"

namespace sagaflow::dsl {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// "$.input.a[0]['b c']" -> ".a[0].b c": the segments after the root, for
// compact comparisons.
std::string Segments(const Path& path) {
  std::string out;
  for (const PathSegment& seg : path.rest()) {
    if (seg.is_index) {
      out += "[" + std::to_string(seg.index) + "]";
    } else {
      out += "." + seg.key;
    }
  }
  return out;
}

Path MustParse(const std::string& text) {
  auto parsed = Path::Parse(text);
  if (!parsed.ok()) {
    ADD_FAILURE() << "Parse(" << text << ") failed: " << parsed.error();
    return Path();
  }
  return std::move(parsed).value();
}

std::string ParseError(const std::string& text) {
  auto parsed = Path::Parse(text);
  if (parsed.ok()) {
    ADD_FAILURE() << "Parse(" << text << ") unexpectedly succeeded";
    return "";
  }
  return parsed.error();
}

// ----------------------------------------------------------------------------------------------
// LooksLikePath

TEST(PathLooksLikePathTest, RecognisesPaths) {
  EXPECT_TRUE(Path::LooksLikePath("$"));
  EXPECT_TRUE(Path::LooksLikePath("$.x"));
  EXPECT_TRUE(Path::LooksLikePath("$[0]"));
  EXPECT_TRUE(Path::LooksLikePath("$.input.order_id"));
  EXPECT_TRUE(Path::LooksLikePath(
      "$."));  // Meant as a path, malformed: Parse reports it.
  EXPECT_TRUE(Path::LooksLikePath("$.input..a"));
}

TEST(PathLooksLikePathTest, OtherStringsAreLiterals) {
  EXPECT_FALSE(Path::LooksLikePath(""));
  EXPECT_FALSE(Path::LooksLikePath("$5"));
  EXPECT_FALSE(Path::LooksLikePath("$5.00"));
  EXPECT_FALSE(Path::LooksLikePath("price $"));
  EXPECT_FALSE(Path::LooksLikePath(" $.input"));
  EXPECT_FALSE(Path::LooksLikePath("$$"));
  EXPECT_FALSE(Path::LooksLikePath("$input"));
  EXPECT_FALSE(Path::LooksLikePath("input"));
  EXPECT_FALSE(Path::LooksLikePath("{{$.input}}"));
}

// ----------------------------------------------------------------------------------------------
// Parse: roots

TEST(PathParseTest, WholeContext) {
  Path p = MustParse("$");
  EXPECT_EQ(p.root(), PathRoot::kContext);
  EXPECT_TRUE(p.rest().empty());
  EXPECT_EQ(p.text(), "$");
}

TEST(PathParseTest, Input) {
  Path p = MustParse("$.input");
  EXPECT_EQ(p.root(), PathRoot::kInput);
  EXPECT_TRUE(p.rest().empty());

  Path q = MustParse("$.input.order_id");
  EXPECT_EQ(q.root(), PathRoot::kInput);
  EXPECT_EQ(Segments(q), ".order_id");
  EXPECT_EQ(q.text(), "$.input.order_id");
}

TEST(PathParseTest, Steps) {
  Path all = MustParse("$.steps");
  EXPECT_EQ(all.root(), PathRoot::kSteps);
  EXPECT_TRUE(all.rest().empty());

  Path step = MustParse("$.steps.reserve");
  EXPECT_EQ(step.root(), PathRoot::kStep);
  EXPECT_EQ(step.step_name(), "reserve");
  EXPECT_EQ(step.step(), kNoStep);
  EXPECT_TRUE(step.rest().empty());

  Path output = MustParse("$.steps.reserve.output");
  EXPECT_EQ(output.root(), PathRoot::kStepOutput);
  EXPECT_EQ(output.step_name(), "reserve");
  EXPECT_EQ(output.step(), kNoStep);
  EXPECT_TRUE(output.rest().empty());

  Path deep = MustParse("$.steps.reserve.output.items[0].sku");
  EXPECT_EQ(deep.root(), PathRoot::kStepOutput);
  EXPECT_EQ(deep.step_name(), "reserve");
  EXPECT_EQ(Segments(deep), ".items[0].sku");

  Path error = MustParse("$.steps.charge.error.message");
  EXPECT_EQ(error.root(), PathRoot::kStepError);
  EXPECT_EQ(error.step_name(), "charge");
  EXPECT_EQ(Segments(error), ".message");

  Path hyphen = MustParse("$.steps.my-step_2.output");
  EXPECT_EQ(hyphen.step_name(), "my-step_2");
}

TEST(PathParseTest, BindStep) {
  Path p = MustParse("$.steps.a.output");
  EXPECT_EQ(p.step(), kNoStep);
  p.BindStep(7);
  EXPECT_EQ(p.step(), 7u);
  EXPECT_EQ(p.step_name(), "a");
}

TEST(PathParseTest, Signals) {
  Path all = MustParse("$.signals");
  EXPECT_EQ(all.root(), PathRoot::kSignals);

  Path one = MustParse("$.signals.approval");
  EXPECT_EQ(one.root(), PathRoot::kSignal);
  EXPECT_EQ(one.signal_name(), "approval");
  EXPECT_TRUE(one.rest().empty());

  Path field = MustParse("$.signals.approval.by[1].name");
  EXPECT_EQ(field.root(), PathRoot::kSignal);
  EXPECT_EQ(field.signal_name(), "approval");
  EXPECT_EQ(Segments(field), ".by[1].name");
}

TEST(PathParseTest, Run) {
  EXPECT_EQ(MustParse("$.run").root(), PathRoot::kRun);
  EXPECT_EQ(MustParse("$.run.id").root(), PathRoot::kRunId);
  EXPECT_EQ(MustParse("$.run.workflow").root(), PathRoot::kRunWorkflow);
  EXPECT_TRUE(MustParse("$.run.id").rest().empty());
}

TEST(PathParseTest, ItemAndIndex) {
  Path item = MustParse("$.item");
  EXPECT_EQ(item.root(), PathRoot::kItem);
  EXPECT_TRUE(item.rest().empty());

  Path field = MustParse("$.item.sku[2]");
  EXPECT_EQ(field.root(), PathRoot::kItem);
  EXPECT_EQ(Segments(field), ".sku[2]");

  Path index = MustParse("$.index");
  EXPECT_EQ(index.root(), PathRoot::kIndex);
  EXPECT_TRUE(index.rest().empty());
}

// ----------------------------------------------------------------------------------------------
// Parse: segments

TEST(PathParseTest, IndexSegment) {
  Path p = MustParse("$.input[3]");
  ASSERT_EQ(p.rest().size(), 1u);
  EXPECT_TRUE(p.rest()[0].is_index);
  EXPECT_EQ(p.rest()[0].index, 3u);
}

TEST(PathParseTest, LargestIndex) {
  Path p = MustParse("$.input[4294967295]");
  ASSERT_EQ(p.rest().size(), 1u);
  EXPECT_EQ(p.rest()[0].index, 4294967295u);
}

TEST(PathParseTest, QuotedKeySegment) {
  Path p = MustParse("$.input['key.with dots']");
  ASSERT_EQ(p.rest().size(), 1u);
  EXPECT_FALSE(p.rest()[0].is_index);
  EXPECT_EQ(p.rest()[0].key, "key.with dots");

  Path q = MustParse("$.item['content.type']");
  EXPECT_EQ(q.root(), PathRoot::kItem);
  ASSERT_EQ(q.rest().size(), 1u);
  EXPECT_EQ(q.rest()[0].key, "content.type");

  Path brackets = MustParse("$.input['a[0]']");
  ASSERT_EQ(brackets.rest().size(), 1u);
  EXPECT_EQ(brackets.rest()[0].key, "a[0]");
}

TEST(PathParseTest, QuotedKeyEscapes) {
  // Inside ['...'], \' is a quote and \\ a backslash.
  Path quote = MustParse(R"($.input['it\'s'])");
  ASSERT_EQ(quote.rest().size(), 1u);
  EXPECT_EQ(quote.rest()[0].key, "it's");
  Path backslash = MustParse(R"($.input['C:\\dir'])");
  ASSERT_EQ(backslash.rest().size(), 1u);
  EXPECT_EQ(backslash.rest()[0].key, "C:\\dir");
  Path both = MustParse(R"($.input['\\\''].next)");
  ASSERT_EQ(both.rest().size(), 2u);
  EXPECT_EQ(both.rest()[0].key, "\\'");
  EXPECT_EQ(both.rest()[1].key, "next");
  Path bracket = MustParse(R"($.input['a\']b'])");
  ASSERT_EQ(bracket.rest().size(), 1u);
  EXPECT_EQ(bracket.rest()[0].key, "a']b");
  Path step = MustParse(R"($.steps['o\'brien'].output)");
  EXPECT_EQ(step.step_name(), "o'brien");
}

TEST(PathParseTest, QuotedKeyEscapeErrors) {
  // An escaped quote does not end the key.
  EXPECT_THAT(ParseError(R"($.input['abc\'])"), HasSubstr("unterminated"));
  EXPECT_THAT(ParseError(R"($.input['abc\)"), HasSubstr("unterminated"));
  // Other escapes are reserved.
  const std::string error = ParseError(R"($.input['a\nb'])");
  EXPECT_THAT(error, HasSubstr("unknown escape \"\\n\""));
  EXPECT_THAT(error, HasSubstr("character 11"));
}

TEST(PathParseTest, QuotedStepName) {
  Path p = MustParse("$.steps['my step'].output.x");
  EXPECT_EQ(p.root(), PathRoot::kStepOutput);
  EXPECT_EQ(p.step_name(), "my step");
  EXPECT_EQ(Segments(p), ".x");
}

TEST(PathParseTest, NestedSegments) {
  Path p = MustParse("$.input.a[0][12].b['c d'].e['0']");
  EXPECT_EQ(p.root(), PathRoot::kInput);
  ASSERT_EQ(p.rest().size(), 7u);
  EXPECT_EQ(Segments(p), ".a[0][12].b.c d.e.0");
  EXPECT_FALSE(p.rest()[6].is_index);  // '0' quoted is a key, not an index.
  EXPECT_TRUE(p.rest()[2].is_index);
  EXPECT_EQ(p.rest()[2].index, 12u);
}

// ----------------------------------------------------------------------------------------------
// Parse: errors

TEST(PathParseTest, NotAPath) {
  EXPECT_THAT(ParseError(""), HasSubstr("$."));
  EXPECT_THAT(ParseError("$5"), HasSubstr("$."));
  EXPECT_THAT(ParseError("input.x"), HasSubstr("$."));
}

TEST(PathParseTest, EmptySegment) {
  const std::string error = ParseError("$.input..a");
  EXPECT_THAT(error, HasSubstr("name"));
  EXPECT_THAT(error, HasSubstr("character 9"));
}

TEST(PathParseTest, TrailingDot) {
  const std::string error = ParseError("$.input.");
  EXPECT_THAT(error, HasSubstr("name"));
  EXPECT_THAT(error, HasSubstr("character 9"));
  EXPECT_FALSE(Path::Parse("$.").ok());
}

TEST(PathParseTest, UnclosedBracket) {
  const std::string error = ParseError("$[");
  EXPECT_THAT(error, HasSubstr("character 3"));
  EXPECT_FALSE(Path::Parse("$.input[").ok());
  EXPECT_THAT(ParseError("$.input[0"), HasSubstr("']'"));
  EXPECT_THAT(ParseError("$.input['a'"), HasSubstr("']'"));
  EXPECT_THAT(ParseError("$.input[0}"), HasSubstr("']'"));
}

TEST(PathParseTest, NonNumericIndex) {
  const std::string error = ParseError("$.input[abc]");
  EXPECT_THAT(error, HasSubstr("index"));
  EXPECT_THAT(error, HasSubstr("character 9"));
  EXPECT_FALSE(Path::Parse("$.input[-1]").ok());
  EXPECT_FALSE(Path::Parse("$.input[]").ok());
  EXPECT_FALSE(Path::Parse("$.input[\"a\"]").ok());
}

TEST(PathParseTest, IndexTooLarge) {
  EXPECT_THAT(ParseError("$.input[4294967296]"), HasSubstr("too large"));
  EXPECT_THAT(ParseError("$.input[99999999999999999999999]"),
              HasSubstr("too large"));
}

TEST(PathParseTest, UnterminatedQuote) {
  const std::string error = ParseError("$.input['abc");
  EXPECT_THAT(error, HasSubstr("unterminated"));
  EXPECT_THAT(error, HasSubstr("character 9"));
  EXPECT_THAT(ParseError("$.input['"), HasSubstr("unterminated"));
}

TEST(PathParseTest, UnexpectedCharacter) {
  const std::string error = ParseError("$.input.a b");
  EXPECT_THAT(error, HasSubstr("' '"));
  EXPECT_THAT(error, HasSubstr("character 10"));
  EXPECT_FALSE(Path::Parse("$.input.a.b!").ok());
  EXPECT_FALSE(Path::Parse("$.input/x").ok());
}

TEST(PathParseTest, UnexpectedCharacterNeverSplitsAUtf8Character) {
  // The message quotes the whole character, so it stays valid UTF-8 (a lone
  // byte of it would make dumping the message as JSON throw).
  const std::string umlaut = ParseError("$.inp\xc3\xbct");
  EXPECT_THAT(umlaut, HasSubstr("'\xc3\xbc'"));
  EXPECT_THAT(umlaut, HasSubstr("character 6"));
  EXPECT_NO_THROW(Json(umlaut).dump());
  const std::string emoji = ParseError("$.a\xf0\x9f\x98\x80");
  EXPECT_THAT(emoji, HasSubstr("'\xf0\x9f\x98\x80'"));
  EXPECT_NO_THROW(Json(emoji).dump());
  // Bytes that are not a whole character, and control characters, as \xNN.
  const std::string lone = ParseError("$.a\xff");
  EXPECT_THAT(lone, HasSubstr("'\\xff'"));
  EXPECT_NO_THROW(Json(lone).dump());
  EXPECT_THAT(ParseError("$.a\xc3"), HasSubstr("'\\xc3'"));
  EXPECT_THAT(ParseError("$.a\xc3("), HasSubstr("'\\xc3'"));
  EXPECT_THAT(ParseError("$.a\xed\xa0\x80"),
              HasSubstr("'\\xed'"));                             // Surrogate.
  EXPECT_THAT(ParseError("$.a\xc0\x80"), HasSubstr("'\\xc0'"));  // Overlong.
  EXPECT_THAT(ParseError("$.a\nb"), HasSubstr("'\\x0a'"));
}

TEST(PathParseTest, IndexedContext) {
  EXPECT_THAT(ParseError("$[0]"), HasSubstr("object"));
}

TEST(PathParseTest, RunHasOnlyIdAndWorkflow) {
  EXPECT_THAT(ParseError("$.run.foo"), HasSubstr("id"));
  EXPECT_THAT(ParseError("$.run.foo"), HasSubstr("workflow"));
  EXPECT_FALSE(Path::Parse("$.run.id.x").ok());
  EXPECT_FALSE(Path::Parse("$.run[0]").ok());
  EXPECT_FALSE(Path::Parse("$.run.workflow[0]").ok());
}

TEST(PathParseTest, IndexHasNoFields) {
  EXPECT_THAT(ParseError("$.index.x"), HasSubstr("$.index"));
  EXPECT_FALSE(Path::Parse("$.index[0]").ok());
}

TEST(PathParseTest, StepNeedsOutputOrError) {
  const std::string error = ParseError("$.steps.a.outptu");
  EXPECT_THAT(error, HasSubstr(".output"));
  EXPECT_THAT(error, HasSubstr(".error"));
  EXPECT_THAT(error, HasSubstr("$.steps.a"));
  EXPECT_FALSE(Path::Parse("$.steps.a[0]").ok());
  EXPECT_FALSE(Path::Parse("$.steps.a.input").ok());
}

TEST(PathParseTest, StepsAndSignalsNeedNames) {
  EXPECT_THAT(ParseError("$.steps[0]"), HasSubstr("step name"));
  EXPECT_THAT(ParseError("$.signals[0]"), HasSubstr("signal name"));
}

TEST(PathParseTest, UnknownRootWithHint) {
  const std::string error = ParseError("$.inptu.order_id");
  EXPECT_THAT(error, HasSubstr("unknown root \"inptu\""));
  EXPECT_THAT(error, HasSubstr("did you mean \"input\"?"));
  EXPECT_THAT(ParseError("$.step.a.output"),
              HasSubstr("did you mean \"steps\"?"));
  EXPECT_THAT(ParseError("$.signal.go"),
              HasSubstr("did you mean \"signals\"?"));
  EXPECT_THAT(ParseError("$.items"), HasSubstr("did you mean \"item\"?"));
}

TEST(PathParseTest, UnknownRootWithoutHint) {
  const std::string error = ParseError("$.zzzzzz");
  EXPECT_THAT(error, HasSubstr("unknown root \"zzzzzz\""));
  EXPECT_THAT(error, Not(HasSubstr("did you mean")));
  EXPECT_THAT(error, HasSubstr("$.input"));
}

// ----------------------------------------------------------------------------------------------
// Resolve / Evaluate

constexpr char kDefinition[] = R"({
  "name": "paths",
  "start_at": "first",
  "steps": {
    "first": {"type": "task", "activity": "svc.first", "next": "second"},
    "second": {"type": "task", "activity": "svc.second",
               "input": "$.steps.first.output.id", "next": "third"},
    "third": {"type": "task", "activity": "svc.third",
              "input": {"ok": "$.signals.approval.ok"}}
  }
})";

class PathResolveTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto compiled = CompileDefinition(kDefinition);
    ASSERT_TRUE(compiled.ok()) << FormatErrors(compiled.error());
    plan_ = compiled.value();
    document_ = Json::parse(R"({
      "input": {
        "order_id": "o-1",
        "n": 5,
        "items": [{"sku": "A"}, {"sku": "B"}],
        "weird": {"key.with dots": 1, "": "empty"},
        "nested": {"a": {"b": [10, 20, [30]]}},
        "nothing": null
      },
      "steps": {
        "first": {"output": {"id": 7, "list": []}},
        "second": {"error": {"error": "Boom", "message": "bad"}}
      },
      "signals": {"approval": {"ok": true, "by": "ann"}},
      "run": {"id": "r-1", "workflow": "paths"},
      "item": {"x": 1},
      "index": 2
    })");
  }

  // Parses `text` and binds its step, as the compiler would.
  Path Bound(const std::string& text) {
    Path path = MustParse(text);
    if (!path.step_name().empty() && (path.root() == PathRoot::kStep ||
                                      path.root() == PathRoot::kStepOutput ||
                                      path.root() == PathRoot::kStepError)) {
      auto index = plan_->FindStep(path.step_name());
      if (!index) {
        ADD_FAILURE() << "no step " << path.step_name();
      } else {
        path.BindStep(*index);
      }
    }
    return path;
  }

  EvalResult<Json> Eval(const std::string& text, const Json& document) {
    JsonContext context(plan_.get(), document);
    return Bound(text).Evaluate(context);
  }
  EvalResult<Json> Eval(const std::string& text) {
    return Eval(text, document_);
  }

  // Expects PathNotFound with a message naming the path; returns the message.
  std::string NotFound(const std::string& text, const Json& document) {
    auto result = Eval(text, document);
    if (result.ok()) {
      ADD_FAILURE() << text << " resolved to " << result.value().dump();
      return "";
    }
    EXPECT_EQ(result.error().error, "PathNotFound") << text;
    EXPECT_EQ(result.error().error, kPathNotFound) << text;
    EXPECT_THAT(result.error().message, HasSubstr(text));
    return result.error().message;
  }
  std::string NotFound(const std::string& text) {
    return NotFound(text, document_);
  }

  std::shared_ptr<const Plan> plan_;
  Json document_;
};

TEST_F(PathResolveTest, InputValues) {
  EXPECT_EQ(Eval("$.input.order_id").value(), "o-1");
  EXPECT_EQ(Eval("$.input.n").value(), 5);
  EXPECT_EQ(Eval("$.input.items[1].sku").value(), "B");
  EXPECT_EQ(Eval("$.input.items[0]").value(), Json({{"sku", "A"}}));
  EXPECT_EQ(Eval("$.input.weird['key.with dots']").value(), 1);
  EXPECT_EQ(Eval("$.input.weird['']").value(), "empty");
  EXPECT_EQ(Eval("$.input.nested.a.b[2][0]").value(), 30);
  EXPECT_EQ(Eval("$.input.nested['a'].b[1]").value(), 20);
  EXPECT_TRUE(Eval("$.input.nothing").value().is_null());
  EXPECT_EQ(Eval("$.input").value(), document_["input"]);
}

TEST_F(PathResolveTest, ResolvePointsIntoTheContextWithoutCopying) {
  JsonContext context(plan_.get(), document_);
  Json scratch;
  auto resolved = Bound("$.input.items[1]").Resolve(context, &scratch);
  ASSERT_TRUE(resolved.ok()) << resolved.error().message;
  EXPECT_EQ(resolved.value(), &context.document()["input"]["items"][1]);

  auto output = Bound("$.steps.first.output.id").Resolve(context, &scratch);
  ASSERT_TRUE(output.ok()) << output.error().message;
  EXPECT_EQ(output.value(),
            &context.document()["steps"]["first"]["output"]["id"]);
}

TEST_F(PathResolveTest, ResolveBuildsComputedValuesInScratch) {
  JsonContext context(plan_.get(), document_);
  Json scratch;
  auto id = Bound("$.run.id").Resolve(context, &scratch);
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(id.value(), &scratch);
  EXPECT_EQ(scratch, "r-1");
}

TEST_F(PathResolveTest, StepOutputAndError) {
  EXPECT_EQ(Eval("$.steps.first.output").value(),
            Json({{"id", 7}, {"list", Json::array()}}));
  EXPECT_EQ(Eval("$.steps.first.output.id").value(), 7);
  EXPECT_EQ(Eval("$.steps.second.error").value(),
            Json({{"error", "Boom"}, {"message", "bad"}}));
  EXPECT_EQ(Eval("$.steps.second.error.error").value(), "Boom");
}

TEST_F(PathResolveTest, WholeStep) {
  EXPECT_EQ(Eval("$.steps.first").value(),
            Json({{"output", {{"id", 7}, {"list", Json::array()}}}}));
  EXPECT_EQ(Eval("$.steps.second").value(),
            Json({{"error", {{"error", "Boom"}, {"message", "bad"}}}}));
}

TEST_F(PathResolveTest, WholeStepsAndSignals) {
  EXPECT_EQ(Eval("$.steps").value(), document_["steps"]);
  EXPECT_EQ(Eval("$.signals").value(), document_["signals"]);
  Json empty = {{"input", 1}};
  EXPECT_EQ(Eval("$.steps", empty).value(), Json::object());
  EXPECT_EQ(Eval("$.signals", empty).value(), Json::object());
}

TEST_F(PathResolveTest, WholeContextObjectsAreBoundedWhileBuilt) {
  // Every step's output together is far over a small limit, though each fits.
  Json big = document_;
  for (int i = 0; i < 50; ++i) {
    big["steps"]["first"]["output"]["list"].push_back(std::string(100, 'x'));
    big["signals"]["s" + std::to_string(i)] = std::string(100, 'y');
  }
  JsonContext context(plan_.get(), big);
  const EvalLimits small{64, 2000};
  for (const char* text : {"$.steps", "$.signals", "$"}) {
    auto r = Bound(text).Evaluate(context, small);
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_EQ(r.error().error, kPayloadTooLarge) << text;
  }
  // The context itself refuses to build them, and names what it was building.
  auto steps = context.StepsObject(small);
  ASSERT_FALSE(steps.ok());
  EXPECT_THAT(steps.error().message, HasSubstr("$.steps"));
  auto signals = context.SignalsObject(small);
  ASSERT_FALSE(signals.ok());
  EXPECT_THAT(signals.error().message, HasSubstr("$.signals"));
  // exists / not_exists do not mistake "too large" for "absent".
  auto compiled = CompileDefinition(R"json({
    "name": "c", "start_at": "c",
    "steps": {
      "c": {"type": "choice", "choices": [
        {"when": {"path": "$.steps", "op": "exists"}, "next": "d"}], "default": "d"},
      "d": {"type": "succeed"}}})json");
  ASSERT_TRUE(compiled.ok());
  const Condition& when = compiled.value()->step(0).choice().choices[0].when;
  JsonContext choice_context(compiled.value().get(), big);
  auto exists = when.Evaluate(choice_context, small);
  ASSERT_FALSE(exists.ok());
  EXPECT_EQ(exists.error().error, kPayloadTooLarge);
  EXPECT_TRUE(when.Evaluate(choice_context).value());
  // With the default limits they are built.
  EXPECT_TRUE(Bound("$").Evaluate(context).ok());
  EXPECT_TRUE(context.StepsObject(EvalLimits{}).ok());
}

TEST_F(PathResolveTest, Signals) {
  EXPECT_EQ(Eval("$.signals.approval").value(),
            Json({{"ok", true}, {"by", "ann"}}));
  EXPECT_EQ(Eval("$.signals.approval.ok").value(), true);
}

TEST_F(PathResolveTest, Run) {
  EXPECT_EQ(Eval("$.run.id").value(), "r-1");
  EXPECT_EQ(Eval("$.run.workflow").value(), "paths");
  EXPECT_EQ(Eval("$.run").value(),
            Json({{"id", "r-1"}, {"workflow", "paths"}}));
}

TEST_F(PathResolveTest, ItemAndIndex) {
  EXPECT_EQ(Eval("$.item").value(), Json({{"x", 1}}));
  EXPECT_EQ(Eval("$.item.x").value(), 1);
  auto index = Eval("$.index");
  ASSERT_TRUE(index.ok());
  EXPECT_EQ(index.value(), 2);
  EXPECT_TRUE(index.value().is_number_integer());
}

TEST_F(PathResolveTest, ScalarItem) {
  Json doc = {{"item", "just-a-string"}, {"index", 0}};
  EXPECT_EQ(Eval("$.item", doc).value(), "just-a-string");
  EXPECT_EQ(Eval("$.index", doc).value(), 0);
}

TEST_F(PathResolveTest, WholeContext) {
  auto whole = Eval("$");
  ASSERT_TRUE(whole.ok()) << whole.error().message;
  EXPECT_EQ(whole.value(), document_);
}

TEST_F(PathResolveTest, WholeContextOutsideAnIteration) {
  Json doc = document_;
  doc.erase("item");
  doc.erase("index");
  auto whole = Eval("$", doc);
  ASSERT_TRUE(whole.ok()) << whole.error().message;
  EXPECT_EQ(whole.value(), doc);
  EXPECT_FALSE(whole.value().contains("item"));
  EXPECT_FALSE(whole.value().contains("index"));
}

TEST_F(PathResolveTest, PathsBoundByTheCompiler) {
  const Step& second = plan_->step(plan_->FindStep("second").value());
  const Path* path = second.task().input.as_path();
  ASSERT_NE(path, nullptr);
  EXPECT_EQ(path->root(), PathRoot::kStepOutput);
  EXPECT_EQ(path->step(), plan_->FindStep("first").value());
  JsonContext context(plan_.get(), document_);
  auto value = path->Evaluate(context);
  ASSERT_TRUE(value.ok()) << value.error().message;
  EXPECT_EQ(value.value(), 7);

  const Step& third = plan_->step(plan_->FindStep("third").value());
  auto input = third.task().input.Evaluate(context);
  ASSERT_TRUE(input.ok()) << input.error().message;
  EXPECT_EQ(input.value(), Json({{"ok", true}}));
}

// ----------------------------------------------------------------------------------------------
// PathNotFound

TEST_F(PathResolveTest, MissingKey) {
  EXPECT_THAT(NotFound("$.input.missing"), HasSubstr("\"missing\""));
  NotFound("$.input.items[0].price");
  NotFound("$.input.weird['no such key']");
  NotFound("$.steps.first.output.absent");
  NotFound("$.signals.approval.absent");
  NotFound("$.item.y");
}

TEST_F(PathResolveTest, IndexOutOfRange) {
  const std::string message = NotFound("$.input.items[2]");
  EXPECT_THAT(message, HasSubstr("2"));
  EXPECT_THAT(message, HasSubstr("out of range"));
  NotFound("$.steps.first.output.list[0]");
  NotFound("$.input.items[4294967295]");
}

TEST_F(PathResolveTest, KeyInANonObject) {
  EXPECT_THAT(NotFound("$.input.order_id.x"), HasSubstr("string"));
  EXPECT_THAT(NotFound("$.input.items.sku"), HasSubstr("array"));
  EXPECT_THAT(NotFound("$.input.nothing.x"), HasSubstr("null"));
  EXPECT_THAT(NotFound("$.input.n.x"), HasSubstr("number"));
}

TEST_F(PathResolveTest, IndexInANonArray) {
  EXPECT_THAT(NotFound("$.input.n[0]"), HasSubstr("number"));
  EXPECT_THAT(NotFound("$.input.weird[0]"), HasSubstr("object"));
  EXPECT_THAT(NotFound("$.input.order_id[0]"), HasSubstr("string"));
}

TEST_F(PathResolveTest, StepWithoutOutput) {
  EXPECT_THAT(NotFound("$.steps.second.output"), HasSubstr("second"));
  NotFound("$.steps.second.output.x");
  NotFound("$.steps.third.output");
}

TEST_F(PathResolveTest, StepWithoutError) {
  EXPECT_THAT(NotFound("$.steps.first.error"), HasSubstr("first"));
  NotFound("$.steps.third.error.message");
}

TEST_F(PathResolveTest, StepThatHasNotRun) {
  EXPECT_THAT(NotFound("$.steps.third"), HasSubstr("third"));
}

TEST_F(PathResolveTest, UnboundStepIsNotFoundRatherThanACrash) {
  JsonContext context(plan_.get(), document_);
  Path unbound = MustParse("$.steps.first.output");
  auto result = unbound.Evaluate(context);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().error, "PathNotFound");
}

TEST_F(PathResolveTest, SignalNotReceived) {
  EXPECT_THAT(NotFound("$.signals.cancel"), HasSubstr("cancel"));
  NotFound("$.signals.cancel.reason");
  Json doc = {{"input", 1}};
  NotFound("$.signals.approval", doc);
}

TEST_F(PathResolveTest, ItemAndIndexOutsideAnIteration) {
  Json doc = document_;
  doc.erase("item");
  doc.erase("index");
  NotFound("$.item", doc);
  NotFound("$.item.x", doc);
  NotFound("$.index", doc);
}

TEST_F(PathResolveTest, RunWithoutInput) {
  Json doc = document_;
  doc.erase("input");
  NotFound("$.input", doc);
  NotFound("$.input.order_id", doc);
}

TEST_F(PathResolveTest, RunIdWithoutRunIsEmpty) {
  Json doc = {{"input", 1}};
  EXPECT_EQ(Eval("$.run.id", doc).value(), "");
  EXPECT_EQ(Eval("$.run.workflow", doc).value(), "");
}

}  // namespace
}  // namespace sagaflow::dsl
