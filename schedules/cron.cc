#include "schedules/cron.h"

#include <date/date.h>
#include <date/tz.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <exception>
#include <optional>
#include <utility>
#include <vector>

namespace sagaflow::schedules {
namespace {

using date::days;
using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

using LocalMinutes = date::local_time<minutes>;
using LocalSeconds = date::local_seconds;
using SysSeconds = date::sys_seconds;

// ---------------------------------------------------------------------------
// Parsing.

constexpr std::array<std::string_view, 12> kMonthNames = {
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN",
    "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
constexpr std::array<std::string_view, 7> kWeekdayNames = {
    "SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"};

struct FieldSpec {
  std::string_view name;  // "minute", "day-of-week", ...
  int min;
  int max;
  const std::string_view* names = nullptr;  // names[i] is value name_base + i
  int name_count = 0;
  int name_base = 0;
};

constexpr FieldSpec kMinuteField{"minute", 0, 59};
constexpr FieldSpec kHourField{"hour", 0, 23};
constexpr FieldSpec kDayField{"day-of-month", 1, 31};
constexpr FieldSpec kMonthField{
    "month", 1, 12, kMonthNames.data(), kMonthNames.size(), 1};
constexpr FieldSpec kWeekdayField{
    "day-of-week", 0, 7, kWeekdayNames.data(), kWeekdayNames.size(), 0};

struct Alias {
  std::string_view name;
  std::string_view expansion;
};
constexpr std::array<Alias, 7> kAliases = {{
    {"@yearly", "0 0 1 1 *"},
    {"@annually", "0 0 1 1 *"},
    {"@monthly", "0 0 1 * *"},
    {"@weekly", "0 0 * * 0"},
    {"@daily", "0 0 * * *"},
    {"@midnight", "0 0 * * *"},
    {"@hourly", "0 * * * *"},
}};

std::string Quote(std::string_view s) {
  std::string out = "\"";
  out.append(s);
  out += '"';
  return out;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::toupper(static_cast<unsigned char>(a[i])) !=
        std::toupper(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

bool IsBlank(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
         c == '\f';
}

bool AllDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(),
                                   [](char c) { return c >= '0' && c <= '9'; });
}

std::vector<std::string_view> SplitFields(std::string_view text) {
  std::vector<std::string_view> fields;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && IsBlank(text[i])) ++i;
    const size_t start = i;
    while (i < text.size() && !IsBlank(text[i])) ++i;
    if (i > start) fields.push_back(text.substr(start, i - start));
  }
  return fields;
}

// A decimal number, saturated (far) above every field's range so that a huge
// value still reads as out of range rather than wrapping.
int64_t ParseDigits(std::string_view s) {
  int64_t v = 0;
  for (char c : s) {
    v = std::min<int64_t>(v * 10 + (c - '0'), 1'000'000'000);
  }
  return v;
}

// One value of a field: a number in range, or a name where the field has them.
Result<int> ParseValue(std::string_view token, std::string_view item,
                       const FieldSpec& spec) {
  if (token.empty()) {
    return Status::InvalidArgument("missing number in " + Quote(item));
  }
  if (AllDigits(token)) {
    const int64_t v = ParseDigits(token);
    if (v < spec.min || v > spec.max) {
      return Status::InvalidArgument(std::string(token) + " is out of range " +
                                     std::to_string(spec.min) + "-" +
                                     std::to_string(spec.max));
    }
    return static_cast<int>(v);
  }
  if (spec.names != nullptr &&
      std::isalpha(static_cast<unsigned char>(token[0]))) {
    for (int i = 0; i < spec.name_count; ++i) {
      if (EqualsIgnoreCase(token, spec.names[i])) return spec.name_base + i;
    }
    return Status::InvalidArgument("unknown " + std::string(spec.name) +
                                   " name " + Quote(token));
  }
  return Status::InvalidArgument(Quote(token) + " is not a number");
}

// Parses one field into a bit set (bit v for value v). The error message does
// not name the field; the caller adds it.
Result<uint64_t> ParseField(std::string_view field, const FieldSpec& spec) {
  uint64_t bits = 0;
  size_t start = 0;
  while (true) {
    const size_t comma = field.find(',', start);
    const std::string_view item = field.substr(
        start, comma == std::string_view::npos ? std::string_view::npos
                                               : comma - start);
    if (item.empty()) {
      return Status::InvalidArgument("empty list item in " + Quote(field));
    }
    std::string_view base = item;
    int64_t step = 1;
    bool has_step = false;
    if (const size_t slash = item.find('/'); slash != std::string_view::npos) {
      has_step = true;
      base = item.substr(0, slash);
      const std::string_view step_text = item.substr(slash + 1);
      if (step_text.empty()) {
        return Status::InvalidArgument("missing step after \"/\" in " +
                                       Quote(item));
      }
      if (!AllDigits(step_text)) {
        return Status::InvalidArgument("step " + Quote(step_text) +
                                       " is not a number");
      }
      step = ParseDigits(step_text);
      if (step < 1) {
        return Status::InvalidArgument("step " + std::string(step_text) +
                                       " must be at least 1");
      }
    }
    int lo = spec.min;
    int hi = spec.max;
    if (base != "*") {
      const size_t dash = base.find('-');
      if (dash == std::string_view::npos) {
        SAGAFLOW_ASSIGN_OR_RETURN(lo, ParseValue(base, item, spec));
        // `a/n` runs from a to the field's end; a plain `a` is just a.
        hi = has_step ? spec.max : lo;
      } else {
        SAGAFLOW_ASSIGN_OR_RETURN(lo,
                                  ParseValue(base.substr(0, dash), item, spec));
        SAGAFLOW_ASSIGN_OR_RETURN(
            hi, ParseValue(base.substr(dash + 1), item, spec));
        if (lo > hi) {
          return Status::InvalidArgument("range " + std::string(base) +
                                         " is reversed");
        }
      }
    }
    for (int64_t v = lo; v <= hi; v += step) bits |= uint64_t{1} << v;
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return bits;
}

constexpr int kMaxDaysInMonth[13] = {0,  31, 29, 31, 30, 31, 30,
                                     31, 31, 30, 31, 30, 31};

// ---------------------------------------------------------------------------
// Matching, in local civil time.

// The lowest set bit of `bits` at or above `from`, or -1.
int NextBit(uint64_t bits, int from) {
  if (from >= 64) return -1;
  const uint64_t rest = bits & (~uint64_t{0} << from);
  return rest == 0 ? -1 : __builtin_ctzll(rest);
}

struct Matcher {
  uint64_t minute_bits;
  uint32_t hour_bits;
  uint32_t day_bits;
  uint32_t month_bits;
  uint32_t weekday_bits;
  bool either_day;  // both day fields restricted: dom OR dow

  bool DayMatches(const date::year_month_day& ymd,
                  date::weekday weekday) const {
    const bool dom = (day_bits >> static_cast<unsigned>(ymd.day())) & 1;
    const bool dow = (weekday_bits >> weekday.c_encoding()) & 1;
    return either_day ? (dom || dow) : (dom && dow);
  }

  // The first matching local minute in [from, limit), if any. Advances field
  // by field: a month not selected jumps to the next selected month, a day not
  // selected to the next day, an hour to the next selected hour, a minute to
  // the next selected minute; each jump resets the lower fields.
  std::optional<LocalMinutes> Next(LocalMinutes from,
                                   LocalMinutes limit) const {
    LocalMinutes m = from;
    while (m < limit) {
      const date::local_days day = date::floor<days>(m);
      const date::year_month_day ymd{day};
      const unsigned month = static_cast<unsigned>(ymd.month());
      if (!((month_bits >> month) & 1)) {
        int next = NextBit(month_bits, static_cast<int>(month) + 1);
        date::year year = ymd.year();
        if (next < 0) {
          year += date::years{1};
          next = NextBit(month_bits, 1);
        }
        m = LocalMinutes(date::local_days{year / date::month(next) / 1});
        continue;
      }
      if (!DayMatches(ymd, date::weekday{day})) {
        m = LocalMinutes(day + days{1});
        continue;
      }
      const std::chrono::minutes since_midnight = m - LocalMinutes(day);
      const int hour = static_cast<int>(
          std::chrono::duration_cast<std::chrono::hours>(since_midnight)
              .count());
      const int minute = static_cast<int>(since_midnight.count() % 60);
      if (!((hour_bits >> hour) & 1)) {
        const int next = NextBit(hour_bits, hour + 1);
        m = next < 0 ? LocalMinutes(day + days{1})
                     : LocalMinutes(day) + std::chrono::hours(next);
        continue;
      }
      if (!((minute_bits >> minute) & 1)) {
        const int next = NextBit(minute_bits, minute + 1);
        m = LocalMinutes(day) + std::chrono::hours(hour) +
            (next < 0 ? std::chrono::minutes(60) : std::chrono::minutes(next));
        continue;
      }
      return m;
    }
    return std::nullopt;
  }
};

// One full Gregorian cycle (146097 days, a whole number of weeks) plus a
// year: every (month, day, weekday) combination occurs in any such span.
constexpr days kSearchHorizon{146097 + 366};

LocalMinutes CeilMinute(LocalSeconds t) { return date::ceil<minutes>(t); }
LocalSeconds ToLocal(SysSeconds t, seconds offset) {
  return LocalSeconds(t.time_since_epoch() + offset);
}

}  // namespace

// ---------------------------------------------------------------------------
// TimeZone.

Result<TimeZone> TimeZone::Load(std::string_view name) {
  if (name.empty() || name == "UTC") return TimeZone();
  try {
    return TimeZone(date::locate_zone(name));
  } catch (const std::exception& e) {
    // locate_zone throws std::runtime_error for an unknown name, and the
    // first call also when the database cannot be read.
    std::string message = "unknown time zone " + Quote(name);
    const std::string what = e.what();
    if (what.find("not found in timezone database") == std::string::npos) {
      message += " (" + what + ")";
    }
    return Status::InvalidArgument(std::move(message));
  } catch (...) {
    return Status::InvalidArgument("unknown time zone " + Quote(name));
  }
}

const std::string& TimeZone::name() const {
  static const std::string* const kUtc = new std::string("UTC");
  if (zone_ == nullptr) return *kUtc;
  return static_cast<const date::time_zone*>(zone_)->name();
}

// ---------------------------------------------------------------------------
// CronSchedule.

Result<CronSchedule> CronSchedule::Parse(std::string_view text) {
  const std::string prefix = "cron " + Quote(text) + ": ";
  std::vector<std::string_view> fields = SplitFields(text);
  if (!fields.empty() && fields[0].front() == '@') {
    const Alias* alias = nullptr;
    for (const Alias& a : kAliases) {
      if (EqualsIgnoreCase(fields[0], a.name)) alias = &a;
    }
    if (alias == nullptr) {
      return Status::InvalidArgument(
          prefix + "unknown alias " + Quote(fields[0]) +
          " (expected @yearly, @annually, @monthly, @weekly, @daily, "
          "@midnight or @hourly)");
    }
    if (fields.size() != 1) {
      return Status::InvalidArgument(prefix + std::string(fields[0]) +
                                     " takes no other fields");
    }
    fields = SplitFields(alias->expansion);
  }
  if (fields.size() != 5) {
    return Status::InvalidArgument(
        prefix +
        "expected 5 fields (minute hour day-of-month month day-of-week) or "
        "an @alias, got " +
        std::to_string(fields.size()));
  }
  const FieldSpec* specs[5] = {&kMinuteField, &kHourField, &kDayField,
                               &kMonthField, &kWeekdayField};
  uint64_t bits[5];
  for (int i = 0; i < 5; ++i) {
    auto parsed = ParseField(fields[i], *specs[i]);
    if (!parsed.ok()) {
      return Status::InvalidArgument(prefix + std::string(specs[i]->name) +
                                     ": " + parsed.status().message());
    }
    bits[i] = *parsed;
  }

  CronSchedule cron;
  cron.text_ = std::string(text);
  cron.minutes_ = bits[0];
  cron.hours_ = static_cast<uint32_t>(bits[1]);
  cron.days_ = static_cast<uint32_t>(bits[2]);
  cron.months_ = static_cast<uint32_t>(bits[3]);
  // 7 is Sunday too.
  cron.weekdays_ = static_cast<uint32_t>((bits[4] | (bits[4] >> 7)) & 0x7f);
  cron.days_star_ = fields[2].front() == '*';
  cron.weekdays_star_ = fields[4].front() == '*';
  cron.every_hour_ = cron.hours_ == (uint32_t{1} << 24) - 1;

  // With the OR rule every week has a matching day. With the AND rule a day
  // matches when some selected month has a selected day (Feb 29 included):
  // every weekday then occurs on that date within 400 years.
  if (cron.days_star_ || cron.weekdays_star_) {
    bool possible = false;
    for (int month = 1; month <= 12 && !possible; ++month) {
      if (!((cron.months_ >> month) & 1)) continue;
      // Bits 1 to the month's longest length.
      const uint64_t days_in_month =
          ((uint64_t{1} << (kMaxDaysInMonth[month] + 1)) - 1) & ~uint64_t{1};
      possible = (cron.days_ & days_in_month) != 0;
    }
    if (!possible) {
      return Status::InvalidArgument(
          prefix + "never fires: day-of-month " + Quote(fields[2]) +
          " does not occur in month " + Quote(fields[3]));
    }
  }
  return cron;
}

Result<TimePoint> CronSchedule::NextAfter(TimePoint after,
                                          const TimeZone& zone) const {
  using date::sys_days;
  using date::year;
  const TimePoint kMin{sys_days{year{1} / 1 / 1}};
  const TimePoint kMax{sys_days{year{10000} / 1 / 1}};
  if (after < kMin || after >= kMax) {
    return Status::InvalidArgument(
        "cron " + Quote(text_) + ": " + std::to_string(ToUnixMillis(after)) +
        " ms since the epoch is outside the supported years 1-9999");
  }
  const Matcher matcher{minutes_,
                        hours_,
                        days_,
                        months_,
                        weekdays_,
                        /*either_day=*/!days_star_ && !weekdays_star_};
  const auto not_found = [&] {
    return Status::NotFound("cron " + Quote(text_) + " in " + zone.name() +
                            ": no fire time within 400 years after " +
                            FormatRfc3339(after));
  };
  // The first whole local minute strictly after `after` seen with `offset`.
  const auto first_after = [&](seconds offset) {
    return LocalMinutes(date::floor<minutes>(after.time_since_epoch() +
                                             milliseconds(offset))) +
           minutes(1);
  };

  const auto* tz = static_cast<const date::time_zone*>(zone.zone_);
  if (tz == nullptr) {  // UTC: local time is the instant.
    const LocalMinutes from = first_after(seconds(0));
    const auto m = matcher.Next(from, from + kSearchHorizon);
    if (!m) return not_found();
    return TimePoint(m->time_since_epoch());
  }

  // Walk the zone's offset intervals [begin, end) forward from `after`. In one
  // interval local time is the instant plus a fixed offset, so the first
  // matching local minute there gives the interval's first fire time. At the
  // start of an interval:
  // - after a spring-forward (offset grows), the skipped local times
  //   [begin + previous offset, begin + offset) fire once, at `begin`;
  // - after a fall-back (offset shrinks), the repeated local times
  //   [begin + offset, begin + previous offset) fired already in the previous
  //   interval: they fire again only when the hour field is every hour.
  const SysSeconds probe = date::floor<seconds>(after);
  date::sys_info info = tz->get_info(probe);
  const SysSeconds kFarPast{sys_days{year{-30000} / 1 / 1}};
  std::optional<seconds> previous_offset;
  if (info.begin > kFarPast) {
    previous_offset = tz->get_info(info.begin - seconds(1)).offset;
  }
  const LocalMinutes limit = first_after(info.offset) + kSearchHorizon;
  while (true) {
    const SysSeconds begin = info.begin;
    const seconds offset = info.offset;
    const LocalSeconds local_begin = ToLocal(begin, offset);
    const LocalSeconds local_end = ToLocal(info.end, offset);

    if (previous_offset && *previous_offset < offset &&
        TimePoint(begin) > after) {
      const LocalMinutes gap_begin =
          CeilMinute(ToLocal(begin, *previous_offset));
      if (matcher.Next(gap_begin, CeilMinute(local_begin))) {
        return TimePoint(begin);
      }
    }

    LocalMinutes from = std::max(first_after(offset), CeilMinute(local_begin));
    if (previous_offset && *previous_offset > offset && !every_hour_) {
      from = std::max(from, CeilMinute(ToLocal(begin, *previous_offset)));
    }
    const LocalMinutes to = std::min(CeilMinute(local_end), limit);
    if (from < to) {
      if (const auto m = matcher.Next(from, to)) {
        return TimePoint(m->time_since_epoch() - offset);
      }
    }
    if (to >= limit) return not_found();
    previous_offset = offset;
    info = tz->get_info(info.end);
  }
}

}  // namespace sagaflow::schedules
