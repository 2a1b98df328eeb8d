// Cron expressions and time zones for schedules: which instants a 5-field cron
// expression fires at when it is read in an IANA time zone.
//
// The contract (Vixie cron / cronie semantics):
//
// - Five fields separated by any run of spaces or tabs:
//     minute        0-59
//     hour          0-23
//     day-of-month  1-31
//     month         1-12 or JAN-DEC
//     day-of-week   0-7 or SUN-SAT (0 and 7 are both Sunday)
//   Names are the three-letter English abbreviations, case-insensitive.
// - Each field is a comma list of items; an item is `*`, a number `a`, a range
//   `a-b` (a <= b, names allowed: MON-FRI), optionally followed by a step `/n`
//   (n >= 1): `*/n`, `a-b/n`, and `a/n`, which means a to the field's end by n.
// - Aliases (the whole expression, case-insensitive): @yearly and @annually
//   (`0 0 1 1 *`), @monthly (`0 0 1 * *`), @weekly (`0 0 * * 0`), @daily and
//   @midnight (`0 0 * * *`), @hourly (`0 * * * *`). @reboot is not supported.
// - Day-of-month and day-of-week: when both are restricted (neither field
//   starts with `*`), a day matches if EITHER matches (`0 0 1 * MON` fires on
//   the 1st and on every Monday); otherwise both must match (so a field that
//   starts with `*`, even `*/2`, makes the rule an AND, as in Vixie cron).
// - An expression that can never fire (`0 0 30 2 *`, `0 0 31 4,6,9,11 *`) is
//   rejected by Parse. Every accepted expression fires at least once in any
//   400-year span (the Gregorian calendar repeats every 400 years).
// - Parse errors are INVALID_ARGUMENT and name the expression, the field and
//   the bad token: `cron "0 25 * * *": hour: 25 is out of range 0-23`.
// - The resolution is the minute: fire times are whole minutes of local time
//   (seconds and milliseconds 0), and NextAfter returns the first one strictly
//   after the given instant.
//
// Daylight saving time (the Vixie cron rule). Fire times are chosen in the
// zone's local (wall-clock) time, then mapped to instants:
// - Spring forward: a local time in the skipped gap fires once, at the first
//   instant after the gap (the transition instant). Several matching times in
//   the gap (and a match at the first local minute after it) collapse into that
//   one fire: `30 2 * * *` in America/New_York on 2026-03-08 fires at 03:00 EDT
//   (07:00Z).
// - Fall back: an expression whose hour field selects specific hours fires
//   only at the first occurrence of a repeated local time (`30 1 * * *` in New
//   York on 2026-11-01 fires at 01:30 EDT, not again at 01:30 EST). An
//   expression whose hour field selects every hour (`*`, or the equivalent
//   `0-23`, `*/1`) runs by real elapsed time and fires in both occurrences
//   (`*/30 * * * *` fires at 01:00 and 01:30 EDT, then 01:00 and 01:30 EST).
// - Hence no instant is returned twice, and chaining NextAfter(previous) gives
//   strictly increasing instants.
// Zone rules come from the OS tz database (/usr/share/zoneinfo) through
// Howard Hinnant's date library, which reads the explicit transitions of the
// compiled zone files only (those end in 2037): later years keep the offset of
// the last transition.
#ifndef SAGAFLOW_SCHEDULES_CRON_H_
#define SAGAFLOW_SCHEDULES_CRON_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"
#include "common/time.h"

namespace sagaflow::schedules {

// An IANA time zone from the OS tz database, or UTC. Cheap to copy (one
// pointer to a zone that lives for the whole process); safe for concurrent use.
class TimeZone {
 public:
  // UTC.
  TimeZone() = default;

  // "" and "UTC" give UTC (without reading the tz database); any other name is
  // looked up in the tz database ("Europe/Paris", "Etc/UTC"). Unknown names,
  // or a missing database, are INVALID_ARGUMENT:
  // `unknown time zone "Europe/Pariss"`.
  static Result<TimeZone> Load(std::string_view name);
  static TimeZone Utc() { return TimeZone(); }

  // "UTC" or the zone's IANA name as found in the database.
  const std::string& name() const;
  bool is_utc() const { return zone_ == nullptr; }

  friend bool operator==(const TimeZone& a, const TimeZone& b) {
    return a.zone_ == b.zone_;
  }
  friend bool operator!=(const TimeZone& a, const TimeZone& b) {
    return !(a == b);
  }

 private:
  friend class CronSchedule;
  explicit TimeZone(const void* zone) : zone_(zone) {}

  // A const date::time_zone*; nullptr is UTC.
  const void* zone_ = nullptr;
};

// A parsed cron expression. Immutable; cheap to copy; safe for concurrent use.
class CronSchedule {
 public:
  // INVALID_ARGUMENT naming the field and the bad token (see the contract at
  // the top of this file).
  static Result<CronSchedule> Parse(std::string_view text);

  // The text as given to Parse.
  const std::string& text() const { return text_; }

  // The first fire time strictly after `after`, read in `zone` (with the DST
  // rule above). INVALID_ARGUMENT when `after` is outside years 1-9999;
  // NOT_FOUND when there is none within 400 years (cannot happen for an
  // expression Parse accepted). Fast: it advances field by field (month, day,
  // hour, minute), never minute by minute.
  Result<TimePoint> NextAfter(TimePoint after, const TimeZone& zone) const;

 private:
  CronSchedule() = default;

  std::string text_;
  uint64_t minutes_ = 0;        // bit m: minute m (0-59)
  uint32_t hours_ = 0;          // bit h: hour h (0-23)
  uint32_t days_ = 0;           // bit d: day of month d (1-31)
  uint32_t months_ = 0;         // bit m: month m (1-12)
  uint32_t weekdays_ = 0;       // bit w: day of week w (0-6, 0 is Sunday)
  bool days_star_ = false;      // the day-of-month field starts with '*'
  bool weekdays_star_ = false;  // the day-of-week field starts with '*'
  bool every_hour_ = false;     // the hour field selects all 24 hours
};

}  // namespace sagaflow::schedules

#endif  // SAGAFLOW_SCHEDULES_CRON_H_
