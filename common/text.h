// Small text helpers shared by the validator and the CLI.
#ifndef SAGAFLOW_COMMON_TEXT_H_
#define SAGAFLOW_COMMON_TEXT_H_

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sagaflow {

// Optimal-string-alignment edit distance (insert, delete, substitute, swap two
// neighbours).
size_t EditDistance(std::string_view a, std::string_view b);

// Words longer than this get no "did you mean" hint: the longest name a
// definition allows (128) plus the most edits a hint may differ by (3).
inline constexpr size_t kMaxHintWordLength = 131;

// The candidate closest to `word` for a "did you mean" hint, or nullopt when
// none is close enough to be a plausible misspelling. Ties go to the earliest
// candidate. Candidates whose length differs from the word's by more than the
// allowed edits are skipped unexamined, and words longer than
// kMaxHintWordLength get nullopt, so the cost stays bounded by
// 131 x 131 per candidate.
std::optional<std::string> ClosestMatch(
    std::string_view word, const std::vector<std::string_view>& candidates);

// `text` with every byte that is not part of valid UTF-8 replaced by U+FFFD:
// for text from outside (a program's stderr) that must go into a proto3
// string field, which cannot hold anything else.
std::string ValidUtf8(std::string_view text);

// `text` as a JSON string literal, quotes included: for error messages that
// quote user input.
std::string Quote(std::string_view text);

}  // namespace sagaflow

#endif  // SAGAFLOW_COMMON_TEXT_H_
