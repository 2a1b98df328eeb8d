// Checks shared by the definition compiler and the condition compiler: allowed
// field sets and the "did you mean" hint for a misspelt field.
#ifndef SAGAFLOW_DSL_FIELDS_H_
#define SAGAFLOW_DSL_FIELDS_H_

#include <string>
#include <string_view>
#include <vector>

#include "dsl/template.h"

namespace sagaflow::dsl {

// Reports every key of `object` (located at `location`) that is not in
// `allowed`, naming the closest allowed key when one is near. `what` describes
// the object ("a task step"). Returns true when every key is allowed.
bool CheckFields(const Json& object, const std::string& location,
                 const std::vector<std::string_view>& allowed,
                 std::string_view what, PathBinder* sink);

// " (did you mean \"x\"?)" or "".
std::string DidYouMean(std::string_view word,
                       const std::vector<std::string_view>& candidates);

}  // namespace sagaflow::dsl

#endif  // SAGAFLOW_DSL_FIELDS_H_
