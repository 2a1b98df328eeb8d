// Regular expressions for the `matches` choice operator. Boost.Regex (Perl
// syntax) sits behind this facade: its matcher is non-recursive and bounds its
// own work, so neither a hostile pattern nor a 2 MiB subject can overflow the
// stack or hang a scheduler thread.
#ifndef SAGAFLOW_DSL_REGEX_H_
#define SAGAFLOW_DSL_REGEX_H_

#include <memory>
#include <string>
#include <string_view>

#include "dsl/eval.h"

namespace sagaflow::dsl {

class Regex {
 public:
  // Patterns are limited in length and group nesting, because compiling is
  // recursive.
  static constexpr size_t kMaxPatternLength = 1024;
  static constexpr int kMaxGroupNesting = 16;

  // Compiles `pattern`; the error explains what is wrong and where.
  static Result<std::shared_ptr<const Regex>, std::string> Compile(
      std::string_view pattern);

  ~Regex();
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  // True when the pattern matches anywhere in `subject` (anchor with ^ and $
  // for a full match). Fails with RegexTooComplex when matching exceeds Boost's
  // work bound. Thread-safe.
  EvalResult<bool> Search(std::string_view subject) const;

  const std::string& pattern() const { return pattern_; }

  // How deep groups nest in `pattern`, as the compile-time guard counts them:
  // parentheses in character classes, after a backslash and inside \Q...\E
  // are text, not groups.
  static int MaxGroupNesting(std::string_view pattern);

 private:
  struct Impl;
  Regex(std::string pattern, std::unique_ptr<Impl> impl);

  std::string pattern_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sagaflow::dsl

#endif  // SAGAFLOW_DSL_REGEX_H_
