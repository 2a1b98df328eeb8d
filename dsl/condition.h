// Choice conditions: {"path": P, "op": OP, "value": V}, {"all": [...]}, {"any":
// [...]},
// {"not": C}. Compiled once (paths bound, values templated, regexes built),
// then evaluated.
#ifndef SAGAFLOW_DSL_CONDITION_H_
#define SAGAFLOW_DSL_CONDITION_H_

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dsl/path.h"
#include "dsl/regex.h"
#include "dsl/template.h"

namespace sagaflow::dsl {

enum class CompareOp : uint8_t {
  kEq,
  kNe,
  kGt,
  kGe,
  kLt,
  kLe,
  kExists,
  kNotExists,
  kIn,
  kContains,
  kMatches,
};

std::string_view CompareOpName(CompareOp op);
std::optional<CompareOp> ParseCompareOp(std::string_view name);

// Comparison semantics (documented in docs/DSL.md):
// - == and != compare any JSON values deeply; numbers compare by value (1
// == 1.0).
// - > >= < <= compare two numbers, or two strings byte-wise; other pairs are
// false.
// - in: the value at path equals an element of the array `value`.
// - contains: a string holds the substring `value`, an array holds an element
// equal to `value`,
//   or an object has the key `value`.
// - matches: the string at path contains a match of the regex `value` (search,
// not full match).
// - exists / not_exists: whether the path resolves; a missing value is an
//   answer, not an error (only PayloadTooLarge from "$"-like paths fails them).
// Any other operator on a path that does not resolve fails with PathNotFound
// (catchable).
class Condition {
 public:
  enum class Kind : uint8_t { kCompare, kAll, kAny, kNot };

  // Compiles the condition at `location`; reports every error to `binder` and
  // returns nullopt when there was any.
  static std::optional<Condition> Compile(const Json& value,
                                          const std::string& location,
                                          PathBinder* binder);

  // `limits` bound the values evaluation builds (see EvalLimits).
  EvalResult<bool> Evaluate(const EvalContext& context,
                            const EvalLimits& limits = {}) const;

  Kind kind() const { return kind_; }
  CompareOp op() const { return op_; }
  const Path& path() const { return path_; }
  const std::vector<Condition>& children() const { return children_; }
  // Short human-readable form: "$.amount > 100", "all(...)"; for graphs and
  // logs.
  const std::string& description() const { return description_; }

 private:
  EvalResult<bool> Compare(const EvalContext& context,
                           const EvalLimits& limits) const;

  Kind kind_ = Kind::kCompare;
  CompareOp op_ = CompareOp::kEq;
  Path path_;
  Template value_;
  std::shared_ptr<const Regex> regex_;
  std::vector<Condition> children_;
  std::string description_;
};

}  // namespace sagaflow::dsl

#endif  // SAGAFLOW_DSL_CONDITION_H_
