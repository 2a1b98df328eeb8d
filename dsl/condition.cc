#include "dsl/condition.h"

#include <array>
#include <utility>

#include "dsl/fields.h"

namespace sagaflow::dsl {
namespace {

constexpr std::array<std::pair<std::string_view, CompareOp>, 11> kOps = {{
    {"==", CompareOp::kEq},
    {"!=", CompareOp::kNe},
    {">", CompareOp::kGt},
    {">=", CompareOp::kGe},
    {"<", CompareOp::kLt},
    {"<=", CompareOp::kLe},
    {"exists", CompareOp::kExists},
    {"not_exists", CompareOp::kNotExists},
    {"in", CompareOp::kIn},
    {"contains", CompareOp::kContains},
    {"matches", CompareOp::kMatches},
}};

constexpr char kOpList[] =
    "==, !=, >, >=, <, <=, exists, not_exists, in, contains, matches";

// Compares two JSON integers exactly. nlohmann holds non-negative literals as
// unsigned and negative ones as signed, and its own mixed comparison casts,
// which is wrong past 2^63.
int CompareIntegers(const Json& a, const Json& b) {
  const bool a_unsigned = a.is_number_unsigned(),
             b_unsigned = b.is_number_unsigned();
  if (a_unsigned && b_unsigned) {
    const uint64_t x = a.get<uint64_t>(), y = b.get<uint64_t>();
    return x < y ? -1 : (x > y ? 1 : 0);
  }
  if (!a_unsigned && !b_unsigned) {
    const int64_t x = a.get<int64_t>(), y = b.get<int64_t>();
    return x < y ? -1 : (x > y ? 1 : 0);
  }
  if (a_unsigned) {
    const int64_t y = b.get<int64_t>();
    if (y < 0) return 1;
    const uint64_t x = a.get<uint64_t>(), uy = static_cast<uint64_t>(y);
    return x < uy ? -1 : (x > uy ? 1 : 0);
  }
  return -CompareIntegers(b, a);
}

// Deep equality with exact integers (see CompareIntegers); numbers of mixed
// kinds compare by value (1 == 1.0). Recursion is bounded by the JSON depth
// limit.
bool JsonEquals(const Json& a, const Json& b) {
  if (a.is_number_integer() && b.is_number_integer())
    return CompareIntegers(a, b) == 0;
  if (a.is_array() && b.is_array()) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
      if (!JsonEquals(a[i], b[i])) return false;
    }
    return true;
  }
  if (a.is_object() && b.is_object()) {
    if (a.size() != b.size()) return false;
    for (auto it = a.begin(); it != a.end(); ++it) {
      auto other = b.find(it.key());
      if (other == b.end() || !JsonEquals(it.value(), *other)) return false;
    }
    return true;
  }
  return a == b;
}

// -1, 0, 1, or nullopt when the two values have no order (different kinds, or
// not numbers or strings).
std::optional<int> Order(const Json& a, const Json& b) {
  if (a.is_number() && b.is_number()) {
    if (a.is_number_integer() && b.is_number_integer())
      return CompareIntegers(a, b);
    const double x = a.get<double>(), y = b.get<double>();
    if (x < y) return -1;
    if (y < x) return 1;
    if (x == y) return 0;
    return std::nullopt;  // NaN
  }
  if (a.is_string() && b.is_string()) {
    const int c = a.get_ref<const std::string&>().compare(
        b.get_ref<const std::string&>());
    return c < 0 ? -1 : (c > 0 ? 1 : 0);
  }
  return std::nullopt;
}

}  // namespace

std::string_view CompareOpName(CompareOp op) {
  for (const auto& [name, value] : kOps) {
    if (value == op) return name;
  }
  return "?";
}

std::optional<CompareOp> ParseCompareOp(std::string_view name) {
  for (const auto& [n, value] : kOps) {
    if (n == name) return value;
  }
  return std::nullopt;
}

std::optional<Condition> Condition::Compile(const Json& value,
                                            const std::string& location,
                                            PathBinder* binder) {
  if (!value.is_object()) {
    binder->Error(location, std::string("expected a condition object, got ") +
                                JsonTypeName(value));
    return std::nullopt;
  }
  static const std::vector<std::string_view> kAllowed = {"path", "op",  "value",
                                                         "all",  "any", "not"};
  bool ok = CheckFields(value, location, kAllowed, "a condition", binder);
  // Any of the comparison's fields makes it the comparison form, so that a
  // stray "value" next to "all" is reported rather than silently ignored.
  const bool has_compare =
      value.contains("path") || value.contains("op") || value.contains("value");
  const int forms = (has_compare ? 1 : 0) + value.contains("all") +
                    value.contains("any") + value.contains("not");
  if (forms != 1) {
    binder->Error(
        location,
        forms == 0 ? "empty condition: expected {\"path\", \"op\", \"value\"}"
                     " or one of \"all\", \"any\", \"not\""
                   : "a condition is exactly one of {\"path\", \"op\", "
                     "\"value\"}, \"all\", \"any\" or \"not\"");
    return std::nullopt;
  }

  Condition cond;
  for (std::string_view group : {"all", "any"}) {
    auto it = value.find(std::string(group));
    if (it == value.end()) continue;
    const std::string loc = JoinPath(location, group);
    cond.kind_ = group == "all" ? Kind::kAll : Kind::kAny;
    if (!it->is_array() || it->empty()) {
      binder->Error(loc, "expected a non-empty array of conditions");
      return std::nullopt;
    }
    for (size_t i = 0; i < it->size(); ++i) {
      auto child = Compile((*it)[i], JoinPath(loc, i), binder);
      if (!child) {
        ok = false;
      } else {
        cond.children_.push_back(std::move(*child));
      }
    }
    if (!ok) return std::nullopt;
    cond.description_ = std::string(group) + "(";
    for (size_t i = 0; i < cond.children_.size(); ++i) {
      if (i > 0) cond.description_ += ", ";
      cond.description_ += cond.children_[i].description_;
    }
    cond.description_ += ")";
    return cond;
  }
  if (auto it = value.find("not"); it != value.end()) {
    cond.kind_ = Kind::kNot;
    auto child = Compile(*it, JoinPath(location, "not"), binder);
    if (!child || !ok) return std::nullopt;
    cond.description_ = "not(" + child->description_ + ")";
    cond.children_.push_back(std::move(*child));
    return cond;
  }

  cond.kind_ = Kind::kCompare;
  auto path_it = value.find("path");
  if (path_it == value.end()) {
    binder->Error(JoinPath(location, "path"), "required field is missing");
    ok = false;
  } else if (!path_it->is_string() ||
             !Path::LooksLikePath(path_it->get<std::string>())) {
    binder->Error(JoinPath(location, "path"),
                  "expected a path such as \"$.input.amount\"");
    ok = false;
  } else {
    auto parsed = Path::Parse(path_it->get<std::string>());
    if (!parsed.ok()) {
      binder->Error(JoinPath(location, "path"),
                    "malformed path " + path_it->get<std::string>() + ": " +
                        parsed.error());
      ok = false;
    } else {
      cond.path_ = std::move(parsed).value();
      ok &= binder->Bind(&cond.path_, JoinPath(location, "path"));
    }
  }

  auto op_it = value.find("op");
  const std::string op_loc = JoinPath(location, "op");
  if (op_it == value.end()) {
    binder->Error(op_loc,
                  std::string("required field is missing; one of ") + kOpList);
    return std::nullopt;
  }
  std::optional<CompareOp> op;
  if (op_it->is_string()) op = ParseCompareOp(op_it->get<std::string>());
  if (!op) {
    binder->Error(op_loc, "unknown operator " + DumpJson(*op_it) +
                              "; expected one of " + kOpList);
    return std::nullopt;
  }
  cond.op_ = *op;

  auto value_it = value.find("value");
  const std::string value_loc = JoinPath(location, "value");
  const bool unary = *op == CompareOp::kExists || *op == CompareOp::kNotExists;
  if (unary) {
    if (value_it != value.end()) {
      binder->Error(value_loc, "\"" + std::string(CompareOpName(*op)) +
                                   "\" takes no value");
      ok = false;
    }
  } else if (value_it == value.end()) {
    binder->Error(value_loc, "required field is missing for operator \"" +
                                 std::string(CompareOpName(*op)) + "\"");
    ok = false;
  } else if (*op == CompareOp::kMatches) {
    if (!value_it->is_string() ||
        Path::LooksLikePath(value_it->get<std::string>())) {
      binder->Error(value_loc, "\"matches\" takes a regular expression string");
      ok = false;
    } else {
      auto regex = Regex::Compile(value_it->get<std::string>());
      if (!regex.ok()) {
        binder->Error(value_loc, regex.error());
        ok = false;
      } else {
        cond.regex_ = std::move(regex).value();
      }
    }
  } else {
    const bool is_path = value_it->is_string() &&
                         Path::LooksLikePath(value_it->get<std::string>());
    if (*op == CompareOp::kIn && !value_it->is_array() && !is_path) {
      binder->Error(
          value_loc,
          std::string("\"in\" takes an array (or a path to one), got ") +
              JsonTypeName(*value_it));
      ok = false;
    } else {
      cond.value_ = Template::Compile(*value_it, value_loc, binder);
      ok &= cond.value_.valid();
    }
  }
  if (!ok) return std::nullopt;
  cond.description_ =
      cond.path_.text() + " " + std::string(CompareOpName(cond.op_));
  if (value_it != value.end()) cond.description_ += " " + DumpJson(*value_it);
  return cond;
}

EvalResult<bool> Condition::Evaluate(const EvalContext& context,
                                     const EvalLimits& limits) const {
  switch (kind_) {
    case Kind::kCompare:
      return Compare(context, limits);
    case Kind::kAll:
      for (const Condition& c : children_) {
        auto r = c.Evaluate(context, limits);
        if (!r.ok() || !r.value()) return r;
      }
      return true;
    case Kind::kAny:
      for (const Condition& c : children_) {
        auto r = c.Evaluate(context, limits);
        if (!r.ok() || r.value()) return r;
      }
      return false;
    case Kind::kNot: {
      auto r = children_.front().Evaluate(context, limits);
      if (!r.ok()) return r;
      return !r.value();
    }
  }
  return false;
}

EvalResult<bool> Condition::Compare(const EvalContext& context,
                                    const EvalLimits& limits) const {
  Json scratch;
  auto resolved = path_.Resolve(context, &scratch, limits);
  if (op_ == CompareOp::kExists || op_ == CompareOp::kNotExists) {
    // Only a path that does not resolve is absent; any other failure (say,
    // "$.steps" over the payload limits) is an error, not an answer.
    if (!resolved.ok() && resolved.error().error != kPathNotFound) {
      return std::move(resolved).error();
    }
    return resolved.ok() == (op_ == CompareOp::kExists);
  }
  if (!resolved.ok()) return std::move(resolved).error();
  const Json& lhs = *resolved.value();

  if (op_ == CompareOp::kMatches) {
    if (!lhs.is_string()) return false;
    return regex_->Search(lhs.get_ref<const std::string&>());
  }
  // The right-hand side is only read: a literal (the common case, and
  // possibly a large `in` list) is compared where it lies in the plan, and a
  // single path where it lies in the context; only a composite template is
  // built.
  const Json* rhs_ptr = value_.literal();
  Json rhs_scratch;
  if (rhs_ptr == nullptr) {
    if (const Path* path = value_.as_path()) {
      auto rhs_resolved = path->Resolve(context, &rhs_scratch, limits);
      if (!rhs_resolved.ok()) return std::move(rhs_resolved).error();
      rhs_ptr = rhs_resolved.value();
    } else {
      auto rhs_result = value_.Evaluate(context, limits);
      if (!rhs_result.ok()) return std::move(rhs_result).error();
      rhs_scratch = std::move(rhs_result).value();
      rhs_ptr = &rhs_scratch;
    }
  }
  const Json& rhs = *rhs_ptr;

  switch (op_) {
    case CompareOp::kEq:
      return JsonEquals(lhs, rhs);
    case CompareOp::kNe:
      return !JsonEquals(lhs, rhs);
    case CompareOp::kGt:
    case CompareOp::kGe:
    case CompareOp::kLt:
    case CompareOp::kLe: {
      auto order = Order(lhs, rhs);
      if (!order) return false;
      if (op_ == CompareOp::kGt) return *order > 0;
      if (op_ == CompareOp::kGe) return *order >= 0;
      if (op_ == CompareOp::kLt) return *order < 0;
      return *order <= 0;
    }
    case CompareOp::kIn:
      if (!rhs.is_array()) return false;
      for (const Json& element : rhs) {
        if (JsonEquals(element, lhs)) return true;
      }
      return false;
    case CompareOp::kContains:
      if (lhs.is_string()) {
        return rhs.is_string() &&
               lhs.get_ref<const std::string&>().find(
                   rhs.get_ref<const std::string&>()) != std::string::npos;
      }
      if (lhs.is_array()) {
        for (const Json& element : lhs) {
          if (JsonEquals(element, rhs)) return true;
        }
        return false;
      }
      if (lhs.is_object()) {
        return rhs.is_string() &&
               lhs.find(rhs.get_ref<const std::string&>()) != lhs.end();
      }
      return false;
    default:
      return false;
  }
}

}  // namespace sagaflow::dsl
