#include "dsl/fields.h"

#include <algorithm>

#include "common/text.h"

namespace sagaflow::dsl {

std::string DidYouMean(std::string_view word,
                       const std::vector<std::string_view>& candidates) {
  if (auto hint = ClosestMatch(word, candidates))
    return " (did you mean " + Quote(*hint) + "?)";
  return "";
}

bool CheckFields(const Json& object, const std::string& location,
                 const std::vector<std::string_view>& allowed,
                 std::string_view what, PathBinder* sink) {
  bool ok = true;
  for (const auto& [key, value] : object.items()) {
    if (std::find(allowed.begin(), allowed.end(), key) != allowed.end())
      continue;
    ok = false;
    sink->Error(JoinPath(location, key), "unknown field " + Quote(key) +
                                             " in " + std::string(what) +
                                             DidYouMean(key, allowed));
  }
  return ok;
}

}  // namespace sagaflow::dsl
