// Validation and compilation of workflow definitions (CONTRACT.md §1). One pass
// does both: it reports every error it finds, each with its JSON location, and
// produces a Plan only when there was none.
#ifndef SAGAFLOW_DSL_COMPILER_H_
#define SAGAFLOW_DSL_COMPILER_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "dsl/json.h"
#include "dsl/limits.h"
#include "dsl/plan.h"

namespace sagaflow::dsl {

struct ValidationError {
  std::string path;  // "steps.charge.next"; "$" for the document itself.
  std::string message;
  std::string ToString() const { return path + ": " + message; }
};

using ValidationErrors = std::vector<ValidationError>;
using CompileResult = Result<std::shared_ptr<const Plan>, ValidationErrors>;

// Built-in defaults for what neither a step nor the definition's `defaults`
// sets.
inline constexpr Duration kDefaultTaskTimeout = Duration(5 * 60 * 1000);
// The longest retry interval (initial_interval, max_interval) a definition may
// set, and the cap on the default max_interval (100 x initial_interval).
inline constexpr Duration kMaxRetryInterval =
    Duration(int64_t{365} * 24 * 3600 * 1000);

// Parses and compiles definition text, enforcing `limits`.
CompileResult CompileDefinition(std::string_view text,
                                const Limits& limits = {});

// Compiles an already parsed definition. `duplicates` are repeated keys found
// while parsing (each is an error).
CompileResult CompileParsedDefinition(
    const Json& definition, const Limits& limits = {},
    const std::vector<DuplicateKey>& duplicates = {});

// "steps.a: msg\nsteps.b: msg" — one error per line.
std::string FormatErrors(const ValidationErrors& errors);

}  // namespace sagaflow::dsl

#endif  // SAGAFLOW_DSL_COMPILER_H_
