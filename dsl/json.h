// JSON as the DSL and the engine see it: nlohmann::json, parsed only through
// ParseJson so every document in the system has bounded size and nesting
// (copying and dumping a nlohmann value recurse, so an unbounded document could
// overflow the stack long after it was parsed). Values built by evaluating
// templates are bounded the same way (EvalLimits, dsl/eval.h).
#ifndef SAGAFLOW_DSL_JSON_H_
#define SAGAFLOW_DSL_JSON_H_

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace sagaflow::dsl {

using Json = nlohmann::json;

struct JsonParseOptions {
  size_t max_bytes = 2 << 20;
  int max_depth = 64;
};

// A key that appeared twice in one object, with the location of the object
// ("steps.a").
struct DuplicateKey {
  std::string object_path;
  std::string key;
};

// Parses one JSON document (RFC 8259, no comments, no trailing content; strings
// must be valid UTF-8). Fails with INVALID_ARGUMENT naming the line and column
// (the text quoted from the input has its bytes >= 0x80 written as \xNN, so
// the message is valid UTF-8 whatever the input), the size limit, or the path
// where the nesting limit was crossed. When a key repeats within an object the
// last value wins; if `duplicates` is not null, each repetition is also
// recorded there so a caller that must reject them (workflow definitions) can
// report every one with its path.
Result<Json> ParseJson(std::string_view text, const JsonParseOptions& options,
                       std::vector<DuplicateKey>* duplicates = nullptr);

// JSON text: compact, or pretty-printed with `indent` spaces when indent >= 0.
// Never throws: a byte of invalid UTF-8 in a string is written as U+FFFD.
// ParseJson only yields valid UTF-8, but strings assembled in code need not be
// (a message quoting part of a user's text, or a value from another source),
// and nlohmann's own dump() throws on them, which outside a try block aborts
// the process; so every dump goes through here.
std::string DumpJson(const Json& value, int indent = -1);

// The name of a JSON type for messages: "object", "array", "string", "number",
// "boolean", "null".
const char* JsonTypeName(const Json& value);

// Appends a key or an index to a location path: ("steps", "a") -> "steps.a",
// ("catch", 0) -> "catch[0]", ("", "name") -> "name". Keys that are not plain
// identifiers are quoted: steps["my step"].
std::string JoinPath(std::string_view base, std::string_view key);
std::string JoinPath(std::string_view base, size_t index);

}  // namespace sagaflow::dsl

#endif  // SAGAFLOW_DSL_JSON_H_
