#include "dsl/names.h"

#include <algorithm>

namespace sagaflow::dsl {
namespace {

bool IsLetter(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

bool IsStepName(std::string_view s) {
  if (s.empty() || s.size() > 128) return false;
  if (!IsLetter(s[0]) && s[0] != '_') return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return IsLetter(c) || IsDigit(c) || c == '_' || c == '-';
  });
}

bool IsQualifiedName(std::string_view s) {
  if (s.empty() || s.size() > 128) return false;
  if (!IsLetter(s[0])) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return IsLetter(c) || IsDigit(c) || c == '_' || c == '.' || c == '-';
  });
}

}  // namespace sagaflow::dsl
