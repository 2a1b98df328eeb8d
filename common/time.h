// Time for the whole engine: wall-clock instants with millisecond precision, an
// injectable clock (so tests can move time by hand), workflow durations
// ("250ms", "1h30m") and RFC 3339 text.
#ifndef SAGAFLOW_COMMON_TIME_H_
#define SAGAFLOW_COMMON_TIME_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace sagaflow {

using Duration = std::chrono::milliseconds;
using TimePoint = std::chrono::time_point<std::chrono::system_clock, Duration>;

inline int64_t ToUnixMillis(TimePoint t) {
  return t.time_since_epoch().count();
}
inline TimePoint FromUnixMillis(int64_t ms) { return TimePoint(Duration(ms)); }

// The source of "now" for timers and deadlines. Implementations are safe for
// concurrent use.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint Now() const = 0;
};

// The real wall clock. Default() is a process-wide instance that lives forever.
class SystemClock final : public Clock {
 public:
  static SystemClock* Default();
  TimePoint Now() const override;
};

// A clock that only moves when told to; for tests of timers, retries and
// timeouts.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(TimePoint start = FromUnixMillis(1'700'000'000'000))
      : now_ms_(ToUnixMillis(start)) {}
  TimePoint Now() const override { return FromUnixMillis(now_ms_.load()); }
  void Advance(Duration d) { now_ms_.fetch_add(d.count()); }
  void Set(TimePoint t) { now_ms_.store(ToUnixMillis(t)); }

 private:
  std::atomic<int64_t> now_ms_;
};

// Parses a workflow duration: one or more <integer><unit> groups, units ms, s,
// m, h, d
// ("250ms", "10s", "1h30m"). Rejects empty text, unknown units, negative values
// and totals above 100 years (which cannot be meant and would overflow deadline
// arithmetic).
Result<Duration> ParseDuration(std::string_view text);
// The shortest text ParseDuration reads back as `d`: "1h30m", "250ms", "0s".
// Negative durations (which ParseDuration rejects) get a leading '-'; every
// value, Duration::min() and max() included, is formatted without overflow.
std::string FormatDuration(Duration d);

// Parses an RFC 3339 timestamp: "2026-11-25T10:00:00Z", with optional
// fractional seconds (kept to the millisecond) and a "Z" or "+hh:mm"/"-hh:mm"
// offset.
Result<TimePoint> ParseRfc3339(std::string_view text);
// UTC, milliseconds shown only when non-zero: "2026-11-25T10:00:00Z",
// "...T10:00:00.250Z".
std::string FormatRfc3339(TimePoint t);

}  // namespace sagaflow

#endif  // SAGAFLOW_COMMON_TIME_H_
