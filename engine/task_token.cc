#include "engine/task_token.h"

#include <vector>

#include "common/ids.h"

namespace sagaflow::engine {
namespace {

constexpr std::string_view kVersion = "v1";
constexpr char kHex[] = "0123456789abcdef";

std::vector<std::string_view> Split(std::string_view text, char sep) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  for (size_t i = 0; i <= text.size(); ++i) {
    if (i == text.size() || text[i] == sep) {
      parts.push_back(text.substr(start, i - start));
      start = i + 1;
    }
  }
  return parts;
}

int Nibble(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

bool DecodeHex(std::string_view hex, std::string* out) {
  if (hex.size() % 2 != 0) return false;
  out->clear();
  for (size_t i = 0; i < hex.size(); i += 2) {
    const int hi = Nibble(hex[i]), lo = Nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) return false;
    out->push_back(static_cast<char>(hi << 4 | lo));
  }
  return true;
}

bool IsLowerHex(std::string_view s) {
  for (char c : s) {
    if (Nibble(c) < 0) return false;
  }
  return true;
}

// A decimal uint32 without sign, leading zeros or overflow: one text per
// number.
bool ParseU32(std::string_view s, uint32_t* out) {
  if (s.empty() || s.size() > 10 || (s.size() > 1 && s[0] == '0')) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  if (v > UINT32_MAX) return false;
  *out = static_cast<uint32_t>(v);
  return true;
}

}  // namespace

TaskToken TaskToken::New(std::string run_id, uint32_t scope_instance,
                         uint32_t step, uint32_t attempt, bool compensation) {
  TaskToken token;
  token.run_id = std::move(run_id);
  token.scope_instance = scope_instance;
  token.step = step;
  token.attempt = attempt;
  token.compensation = compensation;
  token.secret = RandomHex(kSecretBytes);
  return token;
}

std::string TaskToken::Encode() const {
  std::string out(kVersion);
  out.reserve(kVersion.size() + 2 * run_id.size() + secret.size() + 40);
  out.push_back('.');
  for (unsigned char c : run_id) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 0xf]);
  }
  out += '.' + std::to_string(scope_instance) + '.' + std::to_string(step) +
         '.' + std::to_string(attempt) + '.' + (compensation ? 'c' : 't') + '.';
  out += secret;
  return out;
}

Result<TaskToken> TaskToken::Decode(std::string_view text) {
  auto malformed = [](std::string_view why) {
    return Status::InvalidArgument("malformed task token: " + std::string(why));
  };
  if (text.size() > 2 * kMaxRunIdBytes + 2 * kSecretBytes + 64)
    return malformed("too long");
  const std::vector<std::string_view> parts = Split(text, '.');
  if (parts.size() != 7) return malformed("expected 7 fields separated by '.'");
  if (parts[0] != kVersion) return malformed("unknown version");
  TaskToken token;
  if (parts[1].empty() || !DecodeHex(parts[1], &token.run_id) ||
      token.run_id.size() > kMaxRunIdBytes) {
    return malformed("bad run id");
  }
  if (!ParseU32(parts[2], &token.scope_instance) ||
      !ParseU32(parts[3], &token.step) || !ParseU32(parts[4], &token.attempt) ||
      token.attempt == 0) {
    return malformed("bad step or attempt number");
  }
  if (parts[5] != "t" && parts[5] != "c") return malformed("bad task kind");
  token.compensation = parts[5] == "c";
  if (parts[6].size() != 2 * kSecretBytes || !IsLowerHex(parts[6])) {
    return malformed("bad secret");
  }
  token.secret = std::string(parts[6]);
  return token;
}

bool TaskToken::SecretMatches(std::string_view other) const {
  if (other.size() != secret.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < secret.size(); ++i) {
    diff |= static_cast<unsigned char>(secret[i] ^ other[i]);
  }
  return diff == 0;
}

}  // namespace sagaflow::engine
