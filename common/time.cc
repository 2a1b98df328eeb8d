#include "common/time.h"

#include <cstdio>
#include <limits>

namespace sagaflow {
namespace {

constexpr int64_t kMaxDurationMs = int64_t{100} * 365 * 24 * 3600 * 1000;

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
// days_from_civil).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void CivilFromDays(int64_t z, int64_t* y, unsigned* m, unsigned* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = static_cast<int64_t>(yoe) + era * 400 + (*m <= 2);
}

bool IsLeap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

unsigned DaysInMonth(int64_t y, unsigned m) {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30,
                                       31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

// Reads exactly `n` digits at text[*pos].
bool ReadDigits(std::string_view text, size_t* pos, int n, int* out) {
  if (*pos + n > text.size()) return false;
  int v = 0;
  for (int i = 0; i < n; ++i) {
    char c = text[*pos + i];
    if (!IsDigit(c)) return false;
    v = v * 10 + (c - '0');
  }
  *pos += n;
  *out = v;
  return true;
}

}  // namespace

SystemClock* SystemClock::Default() {
  static SystemClock* const clock = new SystemClock();
  return clock;
}

TimePoint SystemClock::Now() const {
  return std::chrono::time_point_cast<Duration>(
      std::chrono::system_clock::now());
}

Result<Duration> ParseDuration(std::string_view text) {
  auto malformed = [&](std::string_view why) {
    return Status::InvalidArgument(
        "malformed duration \"" + std::string(text) +
        "\": " + std::string(why) +
        " (expected e.g. \"250ms\", \"10s\", \"5m\", \"2h\", "
        "\"1d\" or \"1h30m\")");
  };
  if (text.empty()) return malformed("empty");
  int64_t total = 0;
  size_t i = 0;
  while (i < text.size()) {
    if (!IsDigit(text[i])) return malformed("expected a digit");
    int64_t value = 0;
    while (i < text.size() && IsDigit(text[i])) {
      value = value * 10 + (text[i] - '0');
      if (value > kMaxDurationMs) return malformed("too large");
      ++i;
    }
    int64_t unit_ms;
    if (text.substr(i, 2) == "ms") {
      unit_ms = 1;
      i += 2;
    } else if (i < text.size()) {
      switch (text[i]) {
        case 's':
          unit_ms = 1000;
          break;
        case 'm':
          unit_ms = 60 * 1000;
          break;
        case 'h':
          unit_ms = 3600 * 1000;
          break;
        case 'd':
          unit_ms = 24 * 3600 * 1000;
          break;
        default:
          return malformed("unknown unit");
      }
      ++i;
    } else {
      return malformed("missing unit");
    }
    if (value > kMaxDurationMs / unit_ms) return malformed("too large");
    total += value * unit_ms;
    if (total > kMaxDurationMs) return malformed("too large");
  }
  return Duration(total);
}

std::string FormatDuration(Duration d) {
  const int64_t count = d.count();
  if (count == 0) return "0s";
  std::string out;
  // The magnitude as unsigned: -count overflows for Duration::min(), and
  // 0 - uint64 is defined (modulo 2^64) and exact for every int64.
  uint64_t ms = static_cast<uint64_t>(count);
  if (count < 0) {
    out = "-";
    ms = 0 - ms;
  }
  static constexpr struct {
    uint64_t ms;
    const char* unit;
  } kUnits[] = {{24 * 3600 * 1000, "d"},
                {3600 * 1000, "h"},
                {60 * 1000, "m"},
                {1000, "s"},
                {1, "ms"}};
  for (const auto& u : kUnits) {
    if (ms >= u.ms) {
      out += std::to_string(ms / u.ms);
      out += u.unit;
      ms %= u.ms;
    }
  }
  return out;
}

Result<TimePoint> ParseRfc3339(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return Status::InvalidArgument("malformed RFC 3339 timestamp \"" +
                                   std::string(text) +
                                   "\": " + std::string(why) +
                                   " (expected e.g. \"2026-11-25T10:00:00Z\")");
  };
  size_t pos = 0;
  int year, month, day, hour, minute, second;
  auto expect = [&](char c) {
    if (pos < text.size() && text[pos] == c) {
      ++pos;
      return true;
    }
    return false;
  };
  if (!ReadDigits(text, &pos, 4, &year) || !expect('-') ||
      !ReadDigits(text, &pos, 2, &month) || !expect('-') ||
      !ReadDigits(text, &pos, 2, &day)) {
    return bad("bad date");
  }
  if (!(expect('T') || expect('t') || expect(' ')))
    return bad("expected 'T' after the date");
  if (!ReadDigits(text, &pos, 2, &hour) || !expect(':') ||
      !ReadDigits(text, &pos, 2, &minute) || !expect(':') ||
      !ReadDigits(text, &pos, 2, &second)) {
    return bad("bad time of day");
  }
  if (month < 1 || month > 12 || day < 1 ||
      static_cast<unsigned>(day) > DaysInMonth(year, month) || hour > 23 ||
      minute > 59 || second > 60) {
    return bad("field out of range");
  }
  int millis = 0;
  if (expect('.')) {
    int digits = 0;
    while (pos < text.size() && IsDigit(text[pos])) {
      if (digits < 3) millis = millis * 10 + (text[pos] - '0');
      ++digits;
      ++pos;
    }
    if (digits == 0) return bad("empty fraction");
    for (int i = digits; i < 3; ++i) millis *= 10;
  }
  int offset_minutes = 0;
  if (expect('Z') || expect('z')) {
  } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    const int sign = text[pos] == '-' ? -1 : 1;
    ++pos;
    int oh, om;
    if (!ReadDigits(text, &pos, 2, &oh) || !expect(':') ||
        !ReadDigits(text, &pos, 2, &om) || oh > 23 || om > 59) {
      return bad("bad UTC offset");
    }
    offset_minutes = sign * (oh * 60 + om);
  } else {
    return bad("missing 'Z' or UTC offset");
  }
  if (pos != text.size()) return bad("trailing characters");
  if (second == 60)
    second = 59;  // A leap second is held at the last representable instant.
  const int64_t days = DaysFromCivil(year, month, day);
  const int64_t secs =
      days * 86400 + hour * 3600 + minute * 60 + second - offset_minutes * 60;
  return FromUnixMillis(secs * 1000 + millis);
}

std::string FormatRfc3339(TimePoint t) {
  const int64_t ms = ToUnixMillis(t);
  int64_t secs = ms / 1000;
  int64_t rem = ms % 1000;
  if (rem < 0) {
    rem += 1000;
    --secs;
  }
  int64_t days = secs / 86400;
  int64_t sod = secs % 86400;
  if (sod < 0) {
    sod += 86400;
    --days;
  }
  int64_t y;
  unsigned m, d;
  CivilFromDays(days, &y, &m, &d);
  char buf[48];
  if (rem == 0) {
    std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02lld:%02lld:%02lldZ",
                  static_cast<long long>(y), m, d,
                  static_cast<long long>(sod / 3600),
                  static_cast<long long>(sod / 60 % 60),
                  static_cast<long long>(sod % 60));
  } else {
    std::snprintf(
        buf, sizeof buf, "%04lld-%02u-%02uT%02lld:%02lld:%02lld.%03lldZ",
        static_cast<long long>(y), m, d, static_cast<long long>(sod / 3600),
        static_cast<long long>(sod / 60 % 60), static_cast<long long>(sod % 60),
        static_cast<long long>(rem));
  }
  return buf;
}

}  // namespace sagaflow
