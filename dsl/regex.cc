#include "dsl/regex.h"

#include <algorithm>
#include <boost/regex.hpp>
#include <stdexcept>
#include <utility>

namespace sagaflow::dsl {

struct Regex::Impl {
  boost::regex re;
};

namespace {

// Skips "\Q...\E" starting at pattern[i] == '\\' (quoted text: nothing in it
// is syntax); returns the index after it, or the end when \E is missing.
size_t SkipQuoted(std::string_view pattern, size_t i) {
  const size_t end = pattern.find("\\E", i + 2);
  return end == std::string_view::npos ? pattern.size() : end + 2;
}

bool IsElementNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '_' || c == '-';
}

// Skips the character class starting at pattern[i] == '[', returning the index
// after its closing ']' (or the end when there is none; Boost then reports the
// error). A ']' first in the class is literal, escapes and \Q...\E are
// skipped, and "[:alpha:]", "[=a=]" and "[.space.]" are elements of the class
// when they look like one (a name or a single character between the
// delimiters); otherwise that '[' is a literal.
size_t SkipClass(std::string_view pattern, size_t i) {
  const size_t n = pattern.size();
  size_t j = i + 1;
  if (j < n && pattern[j] == '^') ++j;
  if (j < n && pattern[j] == ']') ++j;
  while (j < n) {
    const char c = pattern[j];
    if (c == '\\') {
      j = j + 1 < n && pattern[j + 1] == 'Q' ? SkipQuoted(pattern, j) : j + 2;
    } else if (c == ']') {
      return j + 1;
    } else if (c == '[' && j + 1 < n &&
               (pattern[j + 1] == ':' || pattern[j + 1] == '=' ||
                pattern[j + 1] == '.')) {
      const char kind = pattern[j + 1];
      size_t k = j + 2;
      while (k < n && IsElementNameChar(pattern[k])) ++k;
      // One character of any kind ("[.(.]") or a name.
      if (k == j + 2 && k < n) ++k;
      if (k + 1 < n && pattern[k] == kind && pattern[k + 1] == ']') {
        j = k + 2;
      } else {
        ++j;  // A literal '['.
      }
    } else {
      ++j;
    }
  }
  return n;
}

}  // namespace

int Regex::MaxGroupNesting(std::string_view pattern) {
  int depth = 0;
  int deepest = 0;
  size_t i = 0;
  while (i < pattern.size()) {
    const char c = pattern[i];
    if (c == '\\') {
      i = i + 1 < pattern.size() && pattern[i + 1] == 'Q'
              ? SkipQuoted(pattern, i)
              : i + 2;
      continue;
    }
    if (c == '[') {
      i = SkipClass(pattern, i);
      continue;
    }
    if (c == '(') {
      deepest = std::max(deepest, ++depth);
    } else if (c == ')' && depth > 0) {
      --depth;
    }
    ++i;
  }
  return deepest;
}

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
  const int depth = MaxGroupNesting(pattern);
  if (depth > kMaxGroupNesting) {
    return "groups nested deeper than " + std::to_string(kMaxGroupNesting) +
           " levels";
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
