// Tests for dsl/condition.h: choice conditions, compiled through
// Condition::Compile with a test binder and through whole definitions, then
// evaluated against a run context.
#include "dsl/condition.h"

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

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

// Binds step names through a Plan and records errors, like the definition
// compiler does.
class TestBinder final : public PathBinder {
 public:
  explicit TestBinder(const Plan* plan) : plan_(plan) {}

  bool Bind(Path* path, const std::string& location) override {
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

  std::vector<std::string> errors;

 private:
  const Plan* plan_;
};

constexpr char kDefinition[] = R"({
  "name": "conditions",
  "start_at": "check",
  "steps": {
    "check": {
      "type": "choice",
      "choices": [
        {"when": {"path": "$.input.amount", "op": ">", "value": 100}, "next": "big"},
        {"when": {"all": [
                   {"path": "$.input.country", "op": "in", "value": ["FR", "DE"]},
                   {"not": {"path": "$.input.vip", "op": "exists"}}]},
         "next": "eu"},
        {"when": {"path": "$.steps.big.output.code", "op": "matches", "value": "^A[0-9]+$"},
         "next": "eu"}
      ],
      "default": "small"
    },
    "big": {"type": "task", "activity": "svc.big"},
    "eu": {"type": "task", "activity": "svc.eu"},
    "small": {"type": "succeed"}
  }
})";

constexpr char kInput[] = R"({
  "n": 5,
  "f": 5.0,
  "one": 1,
  "half": 2.5,
  "neg": -3,
  "s": "banana",
  "S": "Banana",
  "sub": "nan",
  "empty": "",
  "obj": {"a": 1, "b": [1, 2, {"c": null}]},
  "arr": [1, "two", {"k": "v"}, [3]],
  "t": true,
  "z": null,
  "limit": 10,
  "allowed": ["FR", "DE"],
  "country": "FR",
  "code": "A123",
  "big": 9223372036854775807,
  "big_minus_1": 9223372036854775806,
  "min": -9223372036854775808,
  "min_plus_1": -9223372036854775807,
  "two63": 9223372036854775808,
  "u64max": 18446744073709551615
})";

class ConditionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto compiled = CompileDefinition(kDefinition);
    ASSERT_TRUE(compiled.ok()) << FormatErrors(compiled.error());
    plan_ = compiled.value();
    binder_ = std::make_unique<TestBinder>(plan_.get());
    document_ = {
        {"input", Json::parse(kInput)},
        {"steps", {{"big", {{"output", {{"code", "A123"}, {"n", 5}}}}}}},
        {"signals", {{"go", {{"ok", true}}}}},
        {"run", {{"id", "r-1"}, {"workflow", "conditions"}}}};
  }

  std::optional<Condition> Compile(const std::string& text) {
    binder_->errors.clear();
    auto condition =
        Condition::Compile(Json::parse(text), "when", binder_.get());
    EXPECT_TRUE(condition.has_value()) << text;
    EXPECT_THAT(binder_->errors, IsEmpty()) << text;
    return condition;
  }

  // Compiling `text` must fail; returns the errors.
  std::vector<std::string> CompileErrors(const std::string& text) {
    binder_->errors.clear();
    auto condition =
        Condition::Compile(Json::parse(text), "when", binder_.get());
    EXPECT_FALSE(condition.has_value()) << text;
    EXPECT_THAT(binder_->errors, Not(IsEmpty())) << text;
    std::vector<std::string> errors = binder_->errors;
    binder_->errors.clear();
    return errors;
  }

  EvalResult<bool> Eval(const std::string& text, const Json& document) {
    auto condition = Compile(text);
    if (!condition) return StepError{"CompileFailed", text};
    JsonContext context(plan_.get(), document);
    return condition->Evaluate(context);
  }
  EvalResult<bool> Eval(const std::string& text) {
    return Eval(text, document_);
  }

  ::testing::AssertionResult Is(bool expected, const std::string& text) {
    auto result = Eval(text);
    if (!result.ok()) {
      return ::testing::AssertionFailure()
             << text << " failed: " << result.error().error << ": "
             << result.error().message;
    }
    if (result.value() != expected) {
      return ::testing::AssertionFailure()
             << text << " is " << (expected ? "false" : "true");
    }
    return ::testing::AssertionSuccess();
  }
  ::testing::AssertionResult True(const std::string& text) {
    return Is(true, text);
  }
  ::testing::AssertionResult False(const std::string& text) {
    return Is(false, text);
  }

  // Evaluating must fail with PathNotFound naming `path`.
  void ExpectPathNotFound(const std::string& text, const std::string& path) {
    auto result = Eval(text);
    ASSERT_FALSE(result.ok()) << text << " evaluated to " << result.value();
    EXPECT_EQ(result.error().error, "PathNotFound") << text;
    EXPECT_THAT(result.error().message, HasSubstr(path)) << text;
  }

  std::shared_ptr<const Plan> plan_;
  std::unique_ptr<TestBinder> binder_;
  Json document_;
};

// "{"path": "$.input.PATH", "op": "OP", "value": VALUE}"
std::string Cmp(const std::string& path, const std::string& op,
                const std::string& value) {
  return R"({"path": ")" + path + R"(", "op": ")" + op + R"(", "value": )" +
         value + "}";
}
std::string Unary(const std::string& path, const std::string& op) {
  return R"({"path": ")" + path + R"(", "op": ")" + op + R"("})";
}

// ----------------------------------------------------------------------------------------------
// Operator names

TEST(ConditionOpTest, NamesRoundTrip) {
  for (const char* name : {"==", "!=", ">", ">=", "<", "<=", "exists",
                           "not_exists", "in", "contains", "matches"}) {
    auto op = ParseCompareOp(name);
    ASSERT_TRUE(op.has_value()) << name;
    EXPECT_EQ(CompareOpName(*op), name);
  }
  EXPECT_FALSE(ParseCompareOp("=").has_value());
  EXPECT_FALSE(ParseCompareOp("eq").has_value());
  EXPECT_FALSE(ParseCompareOp("").has_value());
  EXPECT_FALSE(ParseCompareOp("EXISTS").has_value());
}

// ----------------------------------------------------------------------------------------------
// == and !=

TEST_F(ConditionTest, EqualNumbers) {
  EXPECT_TRUE(True(Cmp("$.input.n", "==", "5")));
  EXPECT_TRUE(False(Cmp("$.input.n", "==", "6")));
  EXPECT_TRUE(True(Cmp("$.input.neg", "==", "-3")));
  EXPECT_TRUE(True(Cmp("$.input.half", "==", "2.5")));
}

TEST_F(ConditionTest, IntegerEqualsFloat) {
  EXPECT_TRUE(True(Cmp("$.input.one", "==", "1.0")));
  EXPECT_TRUE(True(Cmp("$.input.n", "==", "5.0")));
  EXPECT_TRUE(True(Cmp("$.input.f", "==", "5")));
  EXPECT_TRUE(False(Cmp("$.input.one", "!=", "1.0")));
  EXPECT_TRUE(True(Cmp("$.input.neg", "==", "-3.0")));
}

TEST_F(ConditionTest, EqualStringsBooleansNull) {
  EXPECT_TRUE(True(Cmp("$.input.s", "==", R"("banana")")));
  EXPECT_TRUE(False(Cmp("$.input.s", "==", R"("Banana")")));
  EXPECT_TRUE(True(Cmp("$.input.t", "==", "true")));
  EXPECT_TRUE(False(Cmp("$.input.t", "==", "false")));
  EXPECT_TRUE(True(Cmp("$.input.z", "==", "null")));
  EXPECT_TRUE(True(Cmp("$.input.empty", "==", R"("")")));
}

TEST_F(ConditionTest, EqualityAcrossTypesIsFalse) {
  EXPECT_TRUE(False(Cmp("$.input.n", "==", R"("5")")));
  EXPECT_TRUE(False(Cmp("$.input.z", "==", "false")));
  EXPECT_TRUE(False(Cmp("$.input.z", "==", "0")));
  EXPECT_TRUE(False(Cmp("$.input.t", "==", "1")));
  EXPECT_TRUE(False(Cmp("$.input.empty", "==", "null")));
  EXPECT_TRUE(False(Cmp("$.input.arr", "==", "{}")));
}

TEST_F(ConditionTest, DeepEqualityOfObjectsAndArrays) {
  EXPECT_TRUE(
      True(Cmp("$.input.obj", "==", R"({"b": [1, 2, {"c": null}], "a": 1})")));
  EXPECT_TRUE(True(
      Cmp("$.input.obj", "==", R"({"a": 1.0, "b": [1, 2.0, {"c": null}]})")));
  EXPECT_TRUE(False(Cmp("$.input.obj", "==", R"({"a": 1})")));
  EXPECT_TRUE(
      False(Cmp("$.input.obj", "==", R"({"a": 1, "b": [1, 2, {"c": 0}]})")));
  EXPECT_TRUE(True(Cmp("$.input.arr", "==", R"([1, "two", {"k": "v"}, [3]])")));
  EXPECT_TRUE(
      False(Cmp("$.input.arr", "==", R"(["two", 1, {"k": "v"}, [3]])")));
  EXPECT_TRUE(False(Cmp("$.input.arr", "==", R"([1, "two", {"k": "v"}])")));
  EXPECT_TRUE(True(Cmp("$.input.obj.b", "==", R"([1, 2, {"c": null}])")));
}

TEST_F(ConditionTest, NotEqual) {
  EXPECT_TRUE(True(Cmp("$.input.n", "!=", "6")));
  EXPECT_TRUE(False(Cmp("$.input.n", "!=", "5")));
  EXPECT_TRUE(True(Cmp("$.input.n", "!=", R"("5")")));
  EXPECT_TRUE(True(Cmp("$.input.s", "!=", R"("apple")")));
  EXPECT_TRUE(
      False(Cmp("$.input.obj", "!=", R"({"b": [1, 2, {"c": null}], "a": 1})")));
  EXPECT_TRUE(True(Cmp("$.input.arr", "!=", "[]")));
  EXPECT_TRUE(True(Cmp("$.input.z", "!=", "false")));
}

// ----------------------------------------------------------------------------------------------
// Ordering

TEST_F(ConditionTest, OrderingOfIntegers) {
  EXPECT_TRUE(True(Cmp("$.input.n", ">", "4")));
  EXPECT_TRUE(False(Cmp("$.input.n", ">", "5")));
  EXPECT_TRUE(True(Cmp("$.input.n", ">=", "5")));
  EXPECT_TRUE(False(Cmp("$.input.n", ">=", "6")));
  EXPECT_TRUE(True(Cmp("$.input.n", "<", "6")));
  EXPECT_TRUE(False(Cmp("$.input.n", "<", "5")));
  EXPECT_TRUE(True(Cmp("$.input.n", "<=", "5")));
  EXPECT_TRUE(False(Cmp("$.input.n", "<=", "4")));
  EXPECT_TRUE(True(Cmp("$.input.neg", "<", "0")));
  EXPECT_TRUE(True(Cmp("$.input.neg", ">", "-4")));
  EXPECT_TRUE(True(Cmp("$.input.n", ">", "-4")));
  EXPECT_TRUE(True(Cmp("$.input.neg", "<", "5")));
}

TEST_F(ConditionTest, OrderingOfFloats) {
  EXPECT_TRUE(True(Cmp("$.input.half", ">", "2")));
  EXPECT_TRUE(True(Cmp("$.input.half", "<", "3")));
  EXPECT_TRUE(False(Cmp("$.input.half", "<", "2.5")));
  EXPECT_TRUE(True(Cmp("$.input.half", "<=", "2.5")));
  EXPECT_TRUE(True(Cmp("$.input.half", ">=", "2.5")));
  EXPECT_TRUE(True(Cmp("$.input.n", "<", "5.5")));
  EXPECT_TRUE(True(Cmp("$.input.n", ">", "4.999")));
  EXPECT_TRUE(True(Cmp("$.input.n", ">=", "5.0")));
  EXPECT_TRUE(False(Cmp("$.input.n", ">", "5.0")));
  EXPECT_TRUE(True(Cmp("$.input.neg", "<", "-2.5")));
  EXPECT_TRUE(True(Cmp("$.input.half", ">", "-1e300")));
}

TEST_F(ConditionTest, BigIntegersAreComparedExactly) {
  // As doubles, 2^63-1 and 2^63-2 are the same number.
  EXPECT_TRUE(True(Cmp("$.input.big", ">", "9223372036854775806")));
  EXPECT_TRUE(False(Cmp("$.input.big", "==", "9223372036854775806")));
  EXPECT_TRUE(True(Cmp("$.input.big", "!=", "9223372036854775806")));
  EXPECT_TRUE(True(Cmp("$.input.big", ">=", "9223372036854775807")));
  EXPECT_TRUE(True(Cmp("$.input.big", "==", "9223372036854775807")));
  EXPECT_TRUE(False(Cmp("$.input.big", "<", "9223372036854775807")));
  EXPECT_TRUE(True(Cmp("$.input.big_minus_1", "<", "9223372036854775807")));
  EXPECT_TRUE(True(Cmp("$.input.big", ">", R"("$.input.big_minus_1")")));
  EXPECT_TRUE(True(Cmp("$.input.big_minus_1", "<", R"("$.input.big")")));

  EXPECT_TRUE(True(Cmp("$.input.min", "<", "-9223372036854775807")));
  EXPECT_TRUE(True(Cmp("$.input.min", "==", "-9223372036854775808")));
  EXPECT_TRUE(False(Cmp("$.input.min", "==", "-9223372036854775807")));
  EXPECT_TRUE(True(Cmp("$.input.min_plus_1", ">", R"("$.input.min")")));

  // Positive against negative.
  EXPECT_TRUE(True(Cmp("$.input.big", ">", "-9223372036854775808")));
  EXPECT_TRUE(True(Cmp("$.input.min", "<", "9223372036854775807")));
  EXPECT_TRUE(False(Cmp("$.input.big", "==", R"("$.input.min")")));
  EXPECT_TRUE(True(Cmp("$.input.big", ">", "-1")));

  // Above INT64_MAX (unsigned), against other unsigned values.
  EXPECT_TRUE(True(Cmp("$.input.two63", ">", "9223372036854775807")));
  EXPECT_TRUE(True(Cmp("$.input.u64max", ">", "18446744073709551614")));
  EXPECT_TRUE(True(Cmp("$.input.u64max", "==", "18446744073709551615")));
}

TEST_F(ConditionTest, IntegersAbove2To63AgainstNegativeIntegers) {
  // 2^63 and 2^64-1 are valid JSON numbers; compared by value they are greater
  // than any negative number and equal to none.
  EXPECT_TRUE(True(Cmp("$.input.two63", ">", "-1")));
  EXPECT_TRUE(True(Cmp("$.input.two63", ">", "-9223372036854775808")));
  EXPECT_TRUE(False(Cmp("$.input.two63", "==", "-9223372036854775808")));
  EXPECT_TRUE(False(Cmp("$.input.two63", "<", "0")));
  EXPECT_TRUE(True(Cmp("$.input.u64max", ">", "-1")));
  EXPECT_TRUE(False(Cmp("$.input.u64max", "==", "-1")));
  EXPECT_TRUE(True(Cmp("$.input.u64max", "!=", "-1")));
  EXPECT_TRUE(False(Cmp("$.input.u64max", "in", "[-1]")));
  EXPECT_TRUE(True(Cmp("$.input.neg", "<", R"("$.input.two63")")));
}

TEST_F(ConditionTest, OrderingOfStringsIsByteWise) {
  EXPECT_TRUE(True(Cmp("$.input.s", ">", R"("apple")")));
  EXPECT_TRUE(True(Cmp("$.input.s", "<", R"("cherry")")));
  EXPECT_TRUE(True(Cmp("$.input.s", ">=", R"("banana")")));
  EXPECT_TRUE(True(Cmp("$.input.s", "<=", R"("banana")")));
  EXPECT_TRUE(False(Cmp("$.input.s", "<", R"("banana")")));
  EXPECT_TRUE(True(Cmp("$.input.s", "<", R"("bananas")")));
  EXPECT_TRUE(True(Cmp("$.input.s", ">", R"("Banana")")));  // 'b' > 'B'
  EXPECT_TRUE(True(Cmp("$.input.S", "<", R"("apple")")));   // 'B' < 'a'
  EXPECT_TRUE(True(Cmp("$.input.empty", "<", R"("a")")));
  EXPECT_TRUE(True(Cmp("$.input.s", ">", R"("$.input.S")")));
  EXPECT_TRUE(True(Cmp("$.input.s", ">", R"("")")));
  EXPECT_TRUE(
      True(Cmp("$.input.s", "<", "\"\xc3\xa9\"")));  // UTF-8 bytes are >= 0x80.
}

TEST_F(ConditionTest, OrderingAcrossTypesIsFalse) {
  for (const char* op : {">", ">=", "<", "<="}) {
    EXPECT_TRUE(False(Cmp("$.input.n", op, R"("5")"))) << op;
    EXPECT_TRUE(False(Cmp("$.input.n", op, R"("4")"))) << op;
    EXPECT_TRUE(False(Cmp("$.input.s", op, "1"))) << op;
    EXPECT_TRUE(False(Cmp("$.input.t", op, "false"))) << op;
    EXPECT_TRUE(False(Cmp("$.input.t", op, "true"))) << op;
    EXPECT_TRUE(False(Cmp("$.input.z", op, "null"))) << op;
    EXPECT_TRUE(False(Cmp("$.input.z", op, "1"))) << op;
    EXPECT_TRUE(
        False(Cmp("$.input.obj", op, R"({"a": 1, "b": [1, 2, {"c": null}]})")))
        << op;
    EXPECT_TRUE(False(Cmp("$.input.arr", op, "[1]"))) << op;
    EXPECT_TRUE(False(Cmp("$.input.arr", op, "5"))) << op;
  }
}

// ----------------------------------------------------------------------------------------------
// exists / not_exists

TEST_F(ConditionTest, Exists) {
  EXPECT_TRUE(True(Unary("$.input.n", "exists")));
  EXPECT_TRUE(True(Unary("$.input.z", "exists")));  // A null value exists.
  EXPECT_TRUE(True(Unary("$.input.arr[3][0]", "exists")));
  EXPECT_TRUE(True(Unary("$.steps.big.output.code", "exists")));
  EXPECT_TRUE(True(Unary("$.signals.go", "exists")));
  EXPECT_TRUE(True(Unary("$.run.id", "exists")));
  EXPECT_TRUE(False(Unary("$.input.missing", "exists")));
  EXPECT_TRUE(False(Unary("$.input.arr[4]", "exists")));
  EXPECT_TRUE(False(Unary("$.input.n.x", "exists")));
  EXPECT_TRUE(False(Unary("$.steps.eu.output", "exists")));
  EXPECT_TRUE(False(Unary("$.steps.big.error", "exists")));
  EXPECT_TRUE(False(Unary("$.signals.stop", "exists")));
  EXPECT_TRUE(False(Unary("$.item", "exists")));
  EXPECT_TRUE(False(Unary("$.index", "exists")));
}

TEST_F(ConditionTest, NotExists) {
  EXPECT_TRUE(False(Unary("$.input.n", "not_exists")));
  EXPECT_TRUE(False(Unary("$.input.z", "not_exists")));
  EXPECT_TRUE(True(Unary("$.input.missing", "not_exists")));
  EXPECT_TRUE(True(Unary("$.input.missing.deeper[3]", "not_exists")));
  EXPECT_TRUE(True(Unary("$.input.s[0]", "not_exists")));
  EXPECT_TRUE(True(Unary("$.steps.eu.output", "not_exists")));
  EXPECT_TRUE(True(Unary("$.signals.stop", "not_exists")));
  EXPECT_TRUE(True(Unary("$.item.sku", "not_exists")));
}

TEST_F(ConditionTest, ExistsNeverFailsEvenWithoutInput) {
  Json empty = Json::object();
  auto exists = Eval(Unary("$.input.n", "exists"), empty);
  ASSERT_TRUE(exists.ok());
  EXPECT_FALSE(exists.value());
  auto not_exists = Eval(Unary("$.input", "not_exists"), empty);
  ASSERT_TRUE(not_exists.ok());
  EXPECT_TRUE(not_exists.value());
}

TEST_F(ConditionTest, ItemAndIndexInsideAnIteration) {
  Json doc = document_;
  doc["item"] = {{"sku", "A"}};
  doc["index"] = 3;
  auto item = Eval(Cmp("$.item.sku", "==", R"("A")"), doc);
  ASSERT_TRUE(item.ok()) << item.error().message;
  EXPECT_TRUE(item.value());
  auto index = Eval(Cmp("$.index", ">=", "3"), doc);
  ASSERT_TRUE(index.ok()) << index.error().message;
  EXPECT_TRUE(index.value());
  auto exists = Eval(Unary("$.index", "exists"), doc);
  ASSERT_TRUE(exists.ok());
  EXPECT_TRUE(exists.value());
}

// ----------------------------------------------------------------------------------------------
// in

TEST_F(ConditionTest, InArrayLiteral) {
  EXPECT_TRUE(True(Cmp("$.input.country", "in", R"(["FR", "DE"])")));
  EXPECT_TRUE(False(Cmp("$.input.country", "in", R"(["IT", "ES"])")));
  EXPECT_TRUE(False(Cmp("$.input.country", "in", "[]")));
  EXPECT_TRUE(True(Cmp("$.input.n", "in", "[1, 5.0, 9]")));
  EXPECT_TRUE(False(Cmp("$.input.n", "in", R"(["5"])")));
  EXPECT_TRUE(True(Cmp("$.input.z", "in", "[0, null]")));
  EXPECT_TRUE(True(
      Cmp("$.input.obj", "in", R"([1, {"a": 1, "b": [1, 2, {"c": null}]}])")));
  EXPECT_TRUE(True(Cmp("$.input.obj.b", "in", R"([[1, 2, {"c": null}]])")));
  EXPECT_TRUE(True(
      Cmp("$.input.big", "in", "[9223372036854775806, 9223372036854775807]")));
  EXPECT_TRUE(False(Cmp("$.input.big", "in", "[9223372036854775806]")));
}

TEST_F(ConditionTest, InPathToArray) {
  EXPECT_TRUE(True(Cmp("$.input.country", "in", R"("$.input.allowed")")));
  EXPECT_TRUE(False(Cmp("$.input.s", "in", R"("$.input.allowed")")));
  EXPECT_TRUE(True(Cmp("$.input.one", "in", R"("$.input.arr")")));
  EXPECT_TRUE(True(Cmp("$.input.obj.b[0]", "in", R"("$.input.obj.b")")));
}

TEST_F(ConditionTest, InPathToNonArrayIsFalse) {
  EXPECT_TRUE(False(Cmp("$.input.sub", "in", R"("$.input.s")")));
  EXPECT_TRUE(False(Cmp("$.input.n", "in", R"("$.input.n")")));
  EXPECT_TRUE(False(Cmp("$.input.n", "in", R"("$.input.obj")")));
}

TEST_F(ConditionTest, InArrayWithPathElements) {
  // The value is a template: paths inside the array are replaced before
  // comparing.
  EXPECT_TRUE(True(Cmp("$.input.n", "in", R"(["$.steps.big.output.n", 99])")));
  EXPECT_TRUE(False(Cmp("$.input.n", "in", R"(["$.input.limit"])")));
}

TEST_F(ConditionTest, InWithMissingValuePathFails) {
  ExpectPathNotFound(Cmp("$.input.country", "in", R"("$.input.nope")"),
                     "$.input.nope");
}

// ----------------------------------------------------------------------------------------------
// contains

TEST_F(ConditionTest, ContainsSubstring) {
  EXPECT_TRUE(True(Cmp("$.input.s", "contains", R"("nan")")));
  EXPECT_TRUE(True(Cmp("$.input.s", "contains", R"("banana")")));
  EXPECT_TRUE(True(Cmp("$.input.s", "contains", R"("")")));
  EXPECT_TRUE(False(Cmp("$.input.s", "contains", R"("xyz")")));
  EXPECT_TRUE(False(Cmp("$.input.s", "contains", R"("Nan")")));
  EXPECT_TRUE(False(Cmp("$.input.s", "contains", R"("bananas")")));
  EXPECT_TRUE(False(Cmp("$.input.s", "contains", "1")));
  EXPECT_TRUE(False(Cmp("$.input.s", "contains", R"(["nan"])")));
  EXPECT_TRUE(True(Cmp("$.input.s", "contains", R"("$.input.sub")")));
}

TEST_F(ConditionTest, ContainsArrayElement) {
  EXPECT_TRUE(True(Cmp("$.input.arr", "contains", R"("two")")));
  EXPECT_TRUE(True(Cmp("$.input.arr", "contains", "1")));
  EXPECT_TRUE(True(Cmp("$.input.arr", "contains", "1.0")));
  EXPECT_TRUE(True(Cmp("$.input.arr", "contains", R"({"k": "v"})")));
  EXPECT_TRUE(True(Cmp("$.input.arr", "contains", "[3]")));
  EXPECT_TRUE(
      False(Cmp("$.input.arr", "contains", "3")));  // Not searched recursively.
  EXPECT_TRUE(False(Cmp("$.input.arr", "contains", R"("tw")")));
  EXPECT_TRUE(False(Cmp("$.input.arr", "contains", R"({"k": "w"})")));
  EXPECT_TRUE(True(Cmp("$.input.allowed", "contains", R"("$.input.country")")));
}

TEST_F(ConditionTest, ContainsObjectKey) {
  EXPECT_TRUE(True(Cmp("$.input.obj", "contains", R"("a")")));
  EXPECT_TRUE(True(Cmp("$.input.obj", "contains", R"("b")")));
  EXPECT_TRUE(
      False(Cmp("$.input.obj", "contains", R"("c")")));  // Only top-level keys.
  EXPECT_TRUE(False(Cmp("$.input.obj", "contains", "1")));
  EXPECT_TRUE(False(Cmp("$.input.obj", "contains", R"({"a": 1})")));
}

TEST_F(ConditionTest, ContainsOnOtherTypesIsFalse) {
  EXPECT_TRUE(False(Cmp("$.input.n", "contains", "5")));
  EXPECT_TRUE(False(Cmp("$.input.t", "contains", "true")));
  EXPECT_TRUE(False(Cmp("$.input.z", "contains", "null")));
}

// ----------------------------------------------------------------------------------------------
// matches

TEST_F(ConditionTest, MatchesSearchesAnywhere) {
  EXPECT_TRUE(True(Cmp("$.input.s", "matches", R"("an+a")")));
  EXPECT_TRUE(True(Cmp("$.input.s", "matches", R"("nan")")));
  EXPECT_TRUE(True(Cmp("$.input.s", "matches", R"("a")")));
  EXPECT_TRUE(False(Cmp("$.input.s", "matches", R"("x")")));
  EXPECT_TRUE(False(Cmp("$.input.s", "matches", R"("BANANA")")));
  EXPECT_TRUE(True(Cmp("$.input.s", "matches", R"("(?i)BANANA")")));
  EXPECT_TRUE(True(Cmp("$.input.code", "matches", R"("[0-9]{3}")")));
  EXPECT_TRUE(True(Cmp("$.input.code", "matches", R"("\\d+")")));
  EXPECT_TRUE(True(Cmp("$.input.empty", "matches", R"("")")));
}

TEST_F(ConditionTest, MatchesWithAnchors) {
  EXPECT_TRUE(True(Cmp("$.input.s", "matches", R"("^ban")")));
  EXPECT_TRUE(False(Cmp("$.input.s", "matches", R"("^an")")));
  EXPECT_TRUE(True(Cmp("$.input.s", "matches", R"("nana$")")));
  EXPECT_TRUE(False(Cmp("$.input.s", "matches", R"("ban$")")));
  EXPECT_TRUE(True(Cmp("$.input.s", "matches", R"("^banana$")")));
  EXPECT_TRUE(False(Cmp("$.input.s", "matches", R"("^bana$")")));
  EXPECT_TRUE(True(Cmp("$.input.code", "matches", R"("^A[0-9]+$")")));
  EXPECT_TRUE(True(Cmp("$.input.empty", "matches", R"("^$")")));
  EXPECT_TRUE(False(Cmp("$.input.s", "matches", R"("^$")")));
}

TEST_F(ConditionTest, MatchesOnNonStringIsFalse) {
  EXPECT_TRUE(False(Cmp("$.input.n", "matches", R"("5")")));
  EXPECT_TRUE(False(Cmp("$.input.n", "matches", R"(".*")")));
  EXPECT_TRUE(False(Cmp("$.input.z", "matches", R"("null")")));
  EXPECT_TRUE(False(Cmp("$.input.t", "matches", R"("true")")));
  EXPECT_TRUE(False(Cmp("$.input.arr", "matches", R"("two")")));
  EXPECT_TRUE(False(Cmp("$.input.obj", "matches", R"("a")")));
}

// ----------------------------------------------------------------------------------------------
// Missing paths

TEST_F(ConditionTest, MissingPathFailsEveryComparison) {
  for (const char* op : {"==", "!=", ">", ">=", "<", "<=", "contains"}) {
    ExpectPathNotFound(Cmp("$.input.missing", op, "1"), "$.input.missing");
  }
  ExpectPathNotFound(Cmp("$.input.missing", "in", "[1]"), "$.input.missing");
  ExpectPathNotFound(Cmp("$.input.missing", "matches", R"("x")"),
                     "$.input.missing");
  ExpectPathNotFound(Cmp("$.steps.eu.output.x", "==", "1"),
                     "$.steps.eu.output.x");
  ExpectPathNotFound(Cmp("$.signals.stop", "==", "1"), "$.signals.stop");
  ExpectPathNotFound(Cmp("$.input.arr[9]", "==", "1"), "$.input.arr[9]");
  ExpectPathNotFound(Cmp("$.item", "==", "1"), "$.item");
}

TEST_F(ConditionTest, MissingValuePathFails) {
  ExpectPathNotFound(Cmp("$.input.n", "==", R"("$.input.missing")"),
                     "$.input.missing");
  ExpectPathNotFound(Cmp("$.input.n", "<", R"("$.steps.eu.output.limit")"),
                     "$.steps.eu.output.limit");
  ExpectPathNotFound(Cmp("$.input.s", "contains", R"("x{{$.input.missing}}")"),
                     "$.input.missing");
}

// ----------------------------------------------------------------------------------------------
// value as a path reference

TEST_F(ConditionTest, ValueAsPathReference) {
  EXPECT_TRUE(True(Cmp("$.input.n", "<", R"("$.input.limit")")));
  EXPECT_TRUE(False(Cmp("$.input.n", ">", R"("$.input.limit")")));
  EXPECT_TRUE(True(Cmp("$.input.f", "==", R"("$.input.n")")));
  EXPECT_TRUE(True(Cmp("$.input.code", "==", R"("$.steps.big.output.code")")));
  EXPECT_TRUE(True(Cmp("$.steps.big.output.n", "==", R"("$.input.n")")));
  EXPECT_TRUE(True(Cmp("$.input.obj.a", "==", R"("$.input.one")")));
  EXPECT_TRUE(True(Cmp("$.input.country", "==", R"("$.input.allowed[0]")")));
  EXPECT_TRUE(True(Cmp("$.run.workflow", "==", R"("conditions")")));
  EXPECT_TRUE(True(Cmp("$.run.id", "==", R"("$.run.id")")));
}

TEST_F(ConditionTest, ValueWithTextTemplate) {
  // "ba{{$.input.sub}}a" renders as "banana"; "A{{$.input.limit}}3" as "A103".
  EXPECT_TRUE(True(Cmp("$.input.s", "==", R"("ba{{$.input.sub}}a")")));
  EXPECT_TRUE(False(Cmp("$.input.code", "==", R"("A{{$.input.limit}}3")")));
  EXPECT_TRUE(True(Cmp("$.input.code", "matches", R"("^A")")));
  EXPECT_TRUE(True(Cmp("$.input.s", "contains", R"("{{$.input.sub}}a")")));
}

// ----------------------------------------------------------------------------------------------
// all / any / not

TEST_F(ConditionTest, RightHandSideFormsAgree) {
  // A literal, a path and a composite template on the right give the same
  // answers (the first two are read in place, the last is built).
  document_["input"]["list"] = Json::array({"FR", "DE"});
  document_["input"]["keys"] = {{"FR", 1}, {"DE", 2}};
  EXPECT_TRUE(True(Cmp("$.input.country", "in", R"(["DE", "FR"])")));
  EXPECT_TRUE(True(Cmp("$.input.country", "in", R"("$.input.list")")));
  EXPECT_TRUE(
      True(Cmp("$.input.country", "in", R"(["x", "$.input.country"])")));
  EXPECT_TRUE(True(Cmp("$.input.keys", "contains", R"("FR")")));
  EXPECT_TRUE(True(Cmp("$.input.keys", "contains", R"("$.input.country")")));
  EXPECT_TRUE(
      False(Cmp("$.input.keys", "contains", R"("{{$.input.country}}X")")));
  EXPECT_TRUE(
      True(Cmp("$.input.obj", "==", R"({"a": 1, "b": [1, 2, {"c": null}]})")));
  EXPECT_TRUE(True(Cmp("$.input.obj", "==", R"("$.input.obj")")));
}

TEST(TemplateLiteralTest, LiteralAccessor) {
  struct NoBinder final : PathBinder {
    bool Bind(Path*, const std::string&) override { return true; }
    void Error(const std::string&, std::string) override {}
  } binder;
  const Json list = Json::array({"a", "b"});
  Template literal = Template::Compile(list, "v", &binder);
  ASSERT_NE(literal.literal(), nullptr);
  EXPECT_EQ(*literal.literal(), list);
  // The same object on every call: nothing is copied to read it.
  EXPECT_EQ(literal.literal(), literal.literal());
  EXPECT_EQ(Template::Compile(Json("$.input.x"), "v", &binder).literal(),
            nullptr);
  EXPECT_EQ(
      Template::Compile(Json::array({"$.input.x"}), "v", &binder).literal(),
      nullptr);
}

TEST_F(ConditionTest, All) {
  const std::string yes = Cmp("$.input.n", "==", "5");
  const std::string no = Cmp("$.input.n", "==", "6");
  EXPECT_TRUE(True(R"({"all": [)" + yes + "]}"));
  EXPECT_TRUE(True(R"({"all": [)" + yes + "," + yes + "]}"));
  EXPECT_TRUE(False(R"({"all": [)" + yes + "," + no + "]}"));
  EXPECT_TRUE(False(R"({"all": [)" + no + "," + yes + "]}"));
  EXPECT_TRUE(False(R"({"all": [)" + no + "]}"));
}

TEST_F(ConditionTest, Any) {
  const std::string yes = Cmp("$.input.n", "==", "5");
  const std::string no = Cmp("$.input.n", "==", "6");
  EXPECT_TRUE(True(R"({"any": [)" + yes + "]}"));
  EXPECT_TRUE(True(R"({"any": [)" + no + "," + yes + "]}"));
  EXPECT_TRUE(True(R"({"any": [)" + yes + "," + no + "]}"));
  EXPECT_TRUE(False(R"({"any": [)" + no + "," + no + "]}"));
  EXPECT_TRUE(False(R"({"any": [)" + no + "]}"));
}

TEST_F(ConditionTest, Not) {
  EXPECT_TRUE(False(R"({"not": )" + Cmp("$.input.n", "==", "5") + "}"));
  EXPECT_TRUE(True(R"({"not": )" + Cmp("$.input.n", "==", "6") + "}"));
  EXPECT_TRUE(True(R"({"not": )" + Unary("$.input.missing", "exists") + "}"));
  EXPECT_TRUE(True(R"({"not": {"not": )" + Cmp("$.input.n", "==", "5") + "}}"));
}

TEST_F(ConditionTest, AnyShortCircuitsOnTheFirstTrueChild) {
  const std::string fails = Cmp("$.input.missing", "==", "1");
  EXPECT_TRUE(
      True(R"({"any": [)" + Cmp("$.input.n", "==", "5") + "," + fails + "]}"));
  // Without the short circuit the second child's failure surfaces.
  ExpectPathNotFound(
      R"({"any": [)" + Cmp("$.input.n", "==", "6") + "," + fails + "]}",
      "$.input.missing");
}

TEST_F(ConditionTest, AllShortCircuitsOnTheFirstFalseChild) {
  const std::string fails = Cmp("$.input.missing", "==", "1");
  EXPECT_TRUE(
      False(R"({"all": [)" + Cmp("$.input.n", "==", "6") + "," + fails + "]}"));
  ExpectPathNotFound(
      R"({"all": [)" + Cmp("$.input.n", "==", "5") + "," + fails + "]}",
      "$.input.missing");
}

TEST_F(ConditionTest, ErrorsPropagateThroughNot) {
  ExpectPathNotFound(R"({"not": )" + Cmp("$.input.missing", ">", "1") + "}",
                     "$.input.missing");
  ExpectPathNotFound(
      R"({"not": {"any": [)" + Cmp("$.input.gone", "==", "1") + "]}}",
      "$.input.gone");
}

TEST_F(ConditionTest, GuardingAComparisonWithExists) {
  // The usual idiom: check that a path exists before comparing it.
  const std::string guarded = R"({"all": [)" +
                              Unary("$.input.amount", "exists") + "," +
                              Cmp("$.input.amount", ">", "100") + "]}";
  EXPECT_TRUE(False(guarded));
  Json doc = document_;
  doc["input"]["amount"] = 150;
  auto result = Eval(guarded, doc);
  ASSERT_TRUE(result.ok());
  EXPECT_TRUE(result.value());
}

TEST_F(ConditionTest, NestedCombinators) {
  const std::string text =
      R"({"all": [
      {"any": [)" +
      Cmp("$.input.country", "==", R"("IT")") + "," +
      Cmp("$.input.country", "in", R"("$.input.allowed")") + R"(]},
      {"not": )" +
      Unary("$.input.vip", "exists") +
      R"(},
      {"any": [{"not": )" +
      Cmp("$.input.n", ">", "1") + "}," +
      Cmp("$.input.s", "matches", R"("^b")") + "]}]}";
  EXPECT_TRUE(True(text));
}

// ----------------------------------------------------------------------------------------------
// Compiled structure and description

TEST_F(ConditionTest, CompiledStructure) {
  auto cmp = Compile(Cmp("$.input.amount", ">=", "100"));
  ASSERT_TRUE(cmp);
  EXPECT_EQ(cmp->kind(), Condition::Kind::kCompare);
  EXPECT_EQ(cmp->op(), CompareOp::kGe);
  EXPECT_EQ(cmp->path().text(), "$.input.amount");
  EXPECT_TRUE(cmp->children().empty());

  auto all = Compile(R"({"all": [)" + Unary("$.input.a", "exists") + "," +
                     R"({"not": )" + Unary("$.input.b", "not_exists") + "}]}");
  ASSERT_TRUE(all);
  EXPECT_EQ(all->kind(), Condition::Kind::kAll);
  ASSERT_EQ(all->children().size(), 2u);
  EXPECT_EQ(all->children()[0].op(), CompareOp::kExists);
  EXPECT_EQ(all->children()[1].kind(), Condition::Kind::kNot);
  ASSERT_EQ(all->children()[1].children().size(), 1u);
  EXPECT_EQ(all->children()[1].children()[0].op(), CompareOp::kNotExists);

  auto any = Compile(R"({"any": [)" + Unary("$.input.a", "exists") + "]}");
  ASSERT_TRUE(any);
  EXPECT_EQ(any->kind(), Condition::Kind::kAny);

  auto step = Compile(Cmp("$.steps.big.output.code", "==", R"("x")"));
  ASSERT_TRUE(step);
  EXPECT_EQ(step->path().step(), plan_->FindStep("big").value());
}

TEST_F(ConditionTest, Description) {
  EXPECT_EQ(Compile(Cmp("$.input.amount", ">", "100"))->description(),
            "$.input.amount > 100");
  EXPECT_EQ(Compile(Cmp("$.input.s", "==", R"("banana")"))->description(),
            "$.input.s == \"banana\"");
  EXPECT_EQ(Compile(Cmp("$.input.c", "in", R"(["FR", "DE"])"))->description(),
            "$.input.c in [\"FR\",\"DE\"]");
  EXPECT_EQ(Compile(Cmp("$.input.s", "matches", R"("^b")"))->description(),
            "$.input.s matches \"^b\"");
  EXPECT_EQ(Compile(Unary("$.input.vip", "exists"))->description(),
            "$.input.vip exists");
  EXPECT_EQ(Compile(Unary("$.input.vip", "not_exists"))->description(),
            "$.input.vip not_exists");
  EXPECT_THAT(
      Compile(Cmp("$.input.n", "<", R"("$.input.limit")"))->description(),
      HasSubstr("$.input.limit"));
  EXPECT_EQ(Compile(R"({"all": [)" + Cmp("$.input.n", ">", "1") + "," +
                    Unary("$.input.x", "exists") + "]}")
                ->description(),
            "all($.input.n > 1, $.input.x exists)");
  EXPECT_EQ(Compile(R"({"any": [)" + Cmp("$.input.n", "<=", "1.5") + "]}")
                ->description(),
            "any($.input.n <= 1.5)");
  EXPECT_EQ(Compile(R"({"not": )" + Cmp("$.input.n", "!=", "null") + "}")
                ->description(),
            "not($.input.n != null)");
  EXPECT_EQ(
      Compile(R"({"not": {"any": [)" + Unary("$.input.a", "exists") + "," +
              R"({"all": [)" + Unary("$.input.b", "exists") + "]}]}}")
          ->description(),
      "not(any($.input.a exists, all($.input.b exists)))");
}

// ----------------------------------------------------------------------------------------------
// Compile errors

TEST_F(ConditionTest, CompileErrorNotAnObject) {
  auto errors = CompileErrors(R"("$.input.n == 5")");
  EXPECT_THAT(errors[0], HasSubstr("when: "));
  EXPECT_THAT(errors[0], HasSubstr("string"));
  CompileErrors("[]");
  CompileErrors("null");
}

TEST_F(ConditionTest, CompileErrorEmptyOrAmbiguous) {
  CompileErrors("{}");
  CompileErrors(R"({"path": "$.input.n", "op": "exists", "not": )" +
                Unary("$.input.n", "exists") + "}");
  CompileErrors(R"({"all": [)" + Unary("$.input.n", "exists") +
                R"(], "any": [)" + Unary("$.input.n", "exists") + "]}");
}

TEST_F(ConditionTest, CompileErrorComparisonFieldNextToACombinator) {
  // A "value" next to all/any/not was silently ignored; every field of the
  // comparison form now makes a second form.
  for (const std::string& text :
       {R"({"all": [)" + Unary("$.input.n", "exists") + R"(], "value": 1})",
        R"({"any": [)" + Unary("$.input.n", "exists") + R"(], "value": [1]})",
        R"({"not": )" + Unary("$.input.n", "exists") + R"(, "value": null})",
        R"({"not": )" + Unary("$.input.n", "exists") + R"(, "op": "=="})",
        R"({"all": [)" + Unary("$.input.n", "exists") +
            R"(], "path": "$.input.n"})"}) {
    auto errors = CompileErrors(text);
    ASSERT_EQ(errors.size(), 1u) << text;
    EXPECT_THAT(errors[0], HasSubstr("a condition is exactly one of")) << text;
  }
  // A lone "value" is an incomplete comparison.
  auto lone = CompileErrors(R"({"value": 1})");
  EXPECT_THAT(lone[0], HasSubstr("when.path: "));
}

TEST_F(ConditionTest, CompileErrorUnknownOperator) {
  auto errors = CompileErrors(Cmp("$.input.n", "=~", "5"));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_THAT(errors[0], HasSubstr("when.op: "));
  EXPECT_THAT(errors[0], HasSubstr("=~"));
  EXPECT_THAT(errors[0], HasSubstr("not_exists"));
  CompileErrors(R"({"path": "$.input.n", "op": 1, "value": 5})");
  CompileErrors(R"({"path": "$.input.n", "value": 5})");
}

TEST_F(ConditionTest, CompileErrorValueRequiredOrForbidden) {
  auto missing = CompileErrors(R"({"path": "$.input.n", "op": "=="})");
  EXPECT_THAT(missing[0], HasSubstr("when.value: "));
  auto extra =
      CompileErrors(R"({"path": "$.input.n", "op": "exists", "value": true})");
  EXPECT_THAT(extra[0], HasSubstr("when.value: "));
  EXPECT_THAT(extra[0], HasSubstr("exists"));
}

TEST_F(ConditionTest, CompileErrorBadPath) {
  auto missing = CompileErrors(R"({"op": "==", "value": 5})");
  EXPECT_THAT(missing[0], HasSubstr("when.path: "));
  auto not_path = CompileErrors(Cmp("input.n", "==", "5"));
  EXPECT_THAT(not_path[0], HasSubstr("when.path: "));
  auto malformed = CompileErrors(Cmp("$.input..n", "==", "5"));
  EXPECT_THAT(malformed[0], HasSubstr("when.path: "));
  EXPECT_THAT(malformed[0], HasSubstr("$.input..n"));
  auto unknown_step = CompileErrors(Cmp("$.steps.nope.output", "==", "5"));
  EXPECT_THAT(unknown_step[0], HasSubstr("nope"));
  CompileErrors(R"({"path": 5, "op": "==", "value": 5})");
}

TEST_F(ConditionTest, CompileErrorBadValueTemplate) {
  auto errors = CompileErrors(Cmp("$.input.n", "==", R"("$.inptu.x")"));
  EXPECT_THAT(errors[0], HasSubstr("when.value"));
  CompileErrors(Cmp("$.input.n", "==", R"("{{$.input.x")"));
}

TEST_F(ConditionTest, CompileErrorInNeedsAnArray) {
  auto errors = CompileErrors(Cmp("$.input.country", "in", R"("FR")"));
  EXPECT_THAT(errors[0], HasSubstr("when.value: "));
  EXPECT_THAT(errors[0], HasSubstr("array"));
  CompileErrors(Cmp("$.input.country", "in", "5"));
  CompileErrors(Cmp("$.input.country", "in", R"({"FR": true})"));
}

TEST_F(ConditionTest, CompileErrorMatchesNeedsARegex) {
  auto invalid = CompileErrors(Cmp("$.input.s", "matches", R"("(unclosed")"));
  EXPECT_THAT(invalid[0], HasSubstr("when.value: "));
  CompileErrors(Cmp("$.input.s", "matches", "5"));
  CompileErrors(Cmp("$.input.s", "matches", R"("$.input.pattern")"));
  CompileErrors(Cmp("$.input.s", "matches", R"("[a-")"));
}

TEST_F(ConditionTest, CompileErrorEmptyCombinators) {
  auto all = CompileErrors(R"({"all": []})");
  EXPECT_THAT(all[0], HasSubstr("when.all: "));
  auto any = CompileErrors(R"({"any": {}})");
  EXPECT_THAT(any[0], HasSubstr("when.any: "));
  CompileErrors(R"({"not": 5})");
  CompileErrors(R"({"not": {}})");
}

TEST_F(ConditionTest, CompileErrorsInsideCombinatorsAreAllReported) {
  auto errors = CompileErrors(R"({"all": [)" + Cmp("$.input.n", "=~", "1") +
                              "," + Unary("$.input.n", "exists") + "," +
                              Cmp("$.input.s", "matches", R"("(")") + "]}");
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_THAT(errors[0], HasSubstr("when.all[0].op: "));
  EXPECT_THAT(errors[1], HasSubstr("when.all[2].value: "));
}

TEST_F(ConditionTest, CompileErrorUnknownField) {
  auto errors =
      CompileErrors(R"({"path": "$.input.n", "op": "==", "valeu": 5})");
  bool hinted = false;
  for (const std::string& e : errors) {
    if (e.find("when.valeu: ") != std::string::npos &&
        e.find("did you mean \"value\"?") != std::string::npos) {
      hinted = true;
    }
  }
  EXPECT_TRUE(hinted) << ::testing::PrintToString(errors);
}

// ----------------------------------------------------------------------------------------------
// Through a compiled definition

TEST_F(ConditionTest, ChoiceConditionsFromACompiledDefinition) {
  const Step& check = plan_->step(plan_->FindStep("check").value());
  ASSERT_EQ(check.type, StepType::kChoice);
  const ChoiceSpec& choice = check.choice();
  ASSERT_EQ(choice.choices.size(), 3u);
  EXPECT_EQ(choice.choices[0].next, plan_->FindStep("big").value());
  EXPECT_EQ(choice.choices[1].next, plan_->FindStep("eu").value());
  ASSERT_TRUE(choice.default_next.has_value());
  EXPECT_EQ(*choice.default_next, plan_->FindStep("small").value());
  EXPECT_EQ(choice.choices[0].when.description(), "$.input.amount > 100");
  EXPECT_EQ(choice.choices[1].when.description(),
            "all($.input.country in [\"FR\",\"DE\"], not($.input.vip exists))");

  JsonContext big(plan_.get(),
                  Json{{"input", {{"amount", 150}, {"country", "US"}}}});
  auto r0 = choice.choices[0].when.Evaluate(big);
  ASSERT_TRUE(r0.ok()) << r0.error().message;
  EXPECT_TRUE(r0.value());
  auto r1 = choice.choices[1].when.Evaluate(big);
  ASSERT_TRUE(r1.ok()) << r1.error().message;
  EXPECT_FALSE(r1.value());

  JsonContext eu(plan_.get(),
                 Json{{"input", {{"amount", 50}, {"country", "DE"}}}});
  EXPECT_FALSE(choice.choices[0].when.Evaluate(eu).value());
  EXPECT_TRUE(choice.choices[1].when.Evaluate(eu).value());

  JsonContext vip(
      plan_.get(),
      Json{{"input", {{"amount", 50}, {"country", "DE"}, {"vip", true}}}});
  EXPECT_FALSE(choice.choices[1].when.Evaluate(vip).value());

  JsonContext missing(plan_.get(), Json{{"input", {{"country", "DE"}}}});
  auto r2 = choice.choices[0].when.Evaluate(missing);
  ASSERT_FALSE(r2.ok());
  EXPECT_EQ(r2.error().error, "PathNotFound");
  EXPECT_THAT(r2.error().message, HasSubstr("$.input.amount"));
}

TEST_F(ConditionTest, ChoiceConditionOnAStepOutputFromACompiledDefinition) {
  const ChoiceSpec& choice =
      plan_->step(plan_->FindStep("check").value()).choice();
  const Condition& when = choice.choices[2].when;
  EXPECT_EQ(when.op(), CompareOp::kMatches);
  EXPECT_EQ(when.path().step(), plan_->FindStep("big").value());

  JsonContext done(plan_.get(),
                   Json{{"steps", {{"big", {{"output", {{"code", "A42"}}}}}}}});
  auto matched = when.Evaluate(done);
  ASSERT_TRUE(matched.ok()) << matched.error().message;
  EXPECT_TRUE(matched.value());

  JsonContext other(
      plan_.get(), Json{{"steps", {{"big", {{"output", {{"code", "B42"}}}}}}}});
  EXPECT_FALSE(when.Evaluate(other).value());

  JsonContext not_run(plan_.get(), Json{{"input", 1}});
  auto failed = when.Evaluate(not_run);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().error, "PathNotFound");
}

TEST_F(ConditionTest, DefinitionWithABadConditionDoesNotCompile) {
  auto compiled = CompileDefinition(R"({
    "name": "bad", "start_at": "c",
    "steps": {
      "c": {"type": "choice",
            "choices": [{"when": {"path": "$.input.n", "op": "=~", "value": 1}, "next": "d"}],
            "default": "d"},
      "d": {"type": "succeed"}
    }
  })");
  ASSERT_FALSE(compiled.ok());
  EXPECT_THAT(FormatErrors(compiled.error()),
              HasSubstr("steps.c.choices[0].when.op"));
}

// ----------------------------------------------------------------------------------------------
// The regex group-nesting guard

std::string Repeat(const std::string& part, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += part;
  return out;
}

TEST(RegexTest, ParenthesesInCharacterClassesAreNotGroups) {
  auto regex = Regex::Compile(Repeat("[(]", 17));
  ASSERT_TRUE(regex.ok()) << regex.error();
  EXPECT_TRUE(regex.value()->Search(std::string(17, '(')).value());
  EXPECT_EQ(Regex::MaxGroupNesting(Repeat("[(]", 17)), 0);
  // A ']' first in the class, escapes and POSIX classes inside it.
  EXPECT_EQ(Regex::MaxGroupNesting("[](" + std::string(20, '(') + "]"), 0);
  EXPECT_EQ(Regex::MaxGroupNesting("[^](" + std::string(20, '(') + "]"), 0);
  EXPECT_EQ(Regex::MaxGroupNesting("[\\](" + std::string(20, '(') + "]"), 0);
  EXPECT_EQ(Regex::MaxGroupNesting("[[:alpha:](" + std::string(20, '(') + "]"),
            0);
  EXPECT_TRUE(Regex::Compile("[[:alpha:]" + std::string(20, '(') + "]x").ok());
  EXPECT_TRUE(Regex::Compile("[\\]" + std::string(20, '(') + "]").ok());
}

TEST(RegexTest, QuotedTextIsNotGroups) {
  const std::string pattern = "\\Q" + std::string(20, '(') + "\\E";
  EXPECT_EQ(Regex::MaxGroupNesting(pattern), 0);
  auto regex = Regex::Compile(pattern);
  ASSERT_TRUE(regex.ok()) << regex.error();
  EXPECT_TRUE(regex.value()->Search("x" + std::string(20, '(')).value());
  EXPECT_EQ(Regex::MaxGroupNesting("\\Q(\\E(a)"), 1);
}

TEST(RegexTest, RealGroupsAreStillCounted) {
  const std::string deep = std::string(17, '(') + "a" + std::string(17, ')');
  EXPECT_EQ(Regex::MaxGroupNesting(deep), 17);
  auto rejected = Regex::Compile(deep);
  ASSERT_FALSE(rejected.ok());
  EXPECT_THAT(rejected.error(), HasSubstr("16 levels"));
  EXPECT_TRUE(
      Regex::Compile(std::string(16, '(') + "a" + std::string(16, ')')).ok());
  // Classes end where they end: groups after one count.
  EXPECT_FALSE(Regex::Compile("[(]" + deep).ok());
  EXPECT_FALSE(Regex::Compile("[]]" + deep).ok());
  EXPECT_FALSE(Regex::Compile("[[:a]" + deep).ok());
  EXPECT_EQ(Regex::MaxGroupNesting("[[:a]" + deep), 17);
  EXPECT_EQ(Regex::MaxGroupNesting("\\(" + deep), 17);
}

}  // namespace
}  // namespace sagaflow::dsl
