#include "common/text.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>

namespace sagaflow {

size_t EditDistance(std::string_view a, std::string_view b) {
  // Three rolling rows: the swap case looks two rows back.
  std::vector<size_t> prev2(b.size() + 1), prev(b.size() + 1),
      cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        cur[j] = std::min(cur[j], prev2[j - 2] + 1);
      }
    }
    std::swap(prev2, prev);
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::optional<std::string> ClosestMatch(
    std::string_view word, const std::vector<std::string_view>& candidates) {
  // Edit distance costs |word| x |candidate|; names in a definition are at most
  // 128 characters, so a longer word is no misspelling of one and gets no hint
  // (this also keeps a hostile 1 MiB key from costing seconds per candidate).
  if (word.size() > kMaxHintWordLength) return std::nullopt;
  // Within a third of the word's length (at least 1, at most 3 edits): "shp" ->
  // "ship" but not "a" -> "b", which would be noise rather than help.
  const size_t limit = std::clamp<size_t>(word.size() / 3, 1, 3);
  std::optional<std::string> best;
  size_t best_distance = limit + 1;
  for (std::string_view c : candidates) {
    // The distance is at least the difference in length: skip without
    // computing it.
    const size_t length_gap = c.size() > word.size() ? c.size() - word.size()
                                                     : word.size() - c.size();
    if (length_gap > limit) continue;
    const size_t d = EditDistance(word, c);
    if (d < best_distance && d < std::max(word.size(), c.size())) {
      best_distance = d;
      best = std::string(c);
    }
  }
  return best;
}

std::string Quote(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out.push_back(c);
        }
    }
  }
  out.push_back('"');
  return out;
}

std::string ValidUtf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    size_t len = 0;
    uint32_t min = 0;
    if (c < 0x80) {
      len = 1;
    } else if ((c & 0xE0) == 0xC0) {
      len = 2;
      min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      min = 0x10000;
    }
    bool valid = len != 0 && i + len <= text.size();
    uint32_t code = len == 1 ? c : c & (0x7F >> len);
    for (size_t k = 1; valid && k < len; ++k) {
      const unsigned char next = static_cast<unsigned char>(text[i + k]);
      valid = (next & 0xC0) == 0x80;
      code = (code << 6) | (next & 0x3F);
    }
    // Overlong forms, surrogates and values past U+10FFFF are invalid too.
    if (valid && len > 1 &&
        (code < min || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF))) {
      valid = false;
    }
    if (valid) {
      out.append(text.substr(i, len));
      i += len;
    } else {
      out.append("\xEF\xBF\xBD");
      ++i;
    }
  }
  return out;
}

}  // namespace sagaflow
