#include "common/ids.h"

#include <sys/random.h>

#include <cerrno>
#include <cstdlib>

namespace sagaflow {
namespace {

constexpr char kHex[] = "0123456789abcdef";

void AppendHex(const uint8_t* bytes, size_t n, std::string* out) {
  for (size_t i = 0; i < n; ++i) {
    out->push_back(kHex[bytes[i] >> 4]);
    out->push_back(kHex[bytes[i] & 0xf]);
  }
}

}  // namespace

void FillRandom(void* out, size_t size) {
  auto* p = static_cast<uint8_t*>(out);
  while (size > 0) {
    ssize_t n = getrandom(p, size, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      // Without a working kernel RNG, tokens would be guessable: an invariant
      // violation.
      std::abort();
    }
    p += n;
    size -= static_cast<size_t>(n);
  }
}

std::string NewRunId(TimePoint now) {
  uint8_t b[16];
  FillRandom(b + 6, 10);
  const uint64_t ms = static_cast<uint64_t>(ToUnixMillis(now));
  for (int i = 0; i < 6; ++i) b[i] = static_cast<uint8_t>(ms >> (8 * (5 - i)));
  b[6] = static_cast<uint8_t>(0x70 | (b[6] & 0x0f));  // version 7
  b[8] = static_cast<uint8_t>(0x80 | (b[8] & 0x3f));  // RFC 9562 variant
  std::string out;
  out.reserve(36);
  AppendHex(b, 4, &out);
  out.push_back('-');
  AppendHex(b + 4, 2, &out);
  out.push_back('-');
  AppendHex(b + 6, 2, &out);
  out.push_back('-');
  AppendHex(b + 8, 2, &out);
  out.push_back('-');
  AppendHex(b + 10, 6, &out);
  return out;
}

std::string RandomHex(size_t bytes) {
  std::string raw(bytes, '\0');
  FillRandom(raw.data(), bytes);
  std::string out;
  out.reserve(2 * bytes);
  AppendHex(reinterpret_cast<const uint8_t*>(raw.data()), bytes, &out);
  return out;
}

}  // namespace sagaflow
