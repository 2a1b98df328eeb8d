#include "dsl/regex.h"

#include <boost/regex.hpp>
#include <stdexcept>
#include <utility>

namespace sagaflow::dsl {

struct Regex::Impl {
  boost::regex re;
};

Regex::Regex(std::string pattern, std::unique_ptr<Impl> impl)
    : pattern_(std::move(pattern)), impl_(std::move(impl)) {}

Regex::~Regex() = default;

Result<std::shared_ptr<const Regex>, std::string> Regex::Compile(
    std::string_view pattern) {
  if (pattern.size() > kMaxPatternLength) {
    return "pattern of " + std::to_string(pattern.size()) +
           " characters exceeds the limit of " +
           std::to_string(kMaxPatternLength);
  }
  int depth = 0;
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] == '\\') {
      ++i;
    } else if (pattern[i] == '(') {
      if (++depth > kMaxGroupNesting) {
        return "groups nested deeper than " + std::to_string(kMaxGroupNesting) +
               " levels";
      }
    } else if (pattern[i] == ')' && depth > 0) {
      --depth;
    }
  }
  auto impl = std::make_unique<Impl>();
  try {
    impl->re.assign(pattern.begin(), pattern.end(), boost::regex::perl);
  } catch (const boost::regex_error& e) {
    return std::string("invalid regular expression: ") + e.what();
  } catch (const std::exception& e) {
    return std::string("invalid regular expression: ") + e.what();
  }
  return std::shared_ptr<const Regex>(
      new Regex(std::string(pattern), std::move(impl)));
}

EvalResult<bool> Regex::Search(std::string_view subject) const {
  try {
    return boost::regex_search(subject.begin(), subject.end(), impl_->re);
  } catch (const std::exception& e) {
    // Boost gives up on a match whose backtracking exceeds its internal bound.
    return StepError{std::string(kRegexTooComplex),
                     "matching /" + pattern_ + "/ took too long: " + e.what()};
  }
}

}  // namespace sagaflow::dsl
