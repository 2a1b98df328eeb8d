#include "schedules/cron.h"

#include <gtest/gtest.h>

#include <chrono>
#include <ctime>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "common/time.h"

namespace sagaflow::schedules {
namespace {

TimePoint At(const char* rfc3339) {
  auto t = ParseRfc3339(rfc3339);
  EXPECT_TRUE(t.ok()) << rfc3339;
  return t.ok() ? *t : TimePoint();
}

CronSchedule MustParse(const std::string& text) {
  auto cron = CronSchedule::Parse(text);
  EXPECT_TRUE(cron.ok()) << text << ": " << cron.status().ToString();
  if (!cron.ok()) return CronSchedule::Parse("* * * * *").value();
  return std::move(cron).value();
}

TimeZone Zone(const char* name) {
  auto zone = TimeZone::Load(name);
  EXPECT_TRUE(zone.ok()) << name << ": " << zone.status().ToString();
  return zone.ok() ? *zone : TimeZone::Utc();
}

// The next fire time as RFC 3339 UTC text, or the error.
std::string Next(const std::string& expr, const char* after,
                 const TimeZone& zone = TimeZone::Utc()) {
  auto next = MustParse(expr).NextAfter(At(after), zone);
  if (!next.ok()) return next.status().ToString();
  return FormatRfc3339(*next);
}

// `count` fire times chained from `after`.
std::vector<std::string> Chain(const std::string& expr, const char* after,
                               int count,
                               const TimeZone& zone = TimeZone::Utc()) {
  const CronSchedule cron = MustParse(expr);
  std::vector<std::string> out;
  TimePoint t = At(after);
  for (int i = 0; i < count; ++i) {
    auto next = cron.NextAfter(t, zone);
    if (!next.ok()) {
      out.push_back(next.status().ToString());
      break;
    }
    out.push_back(FormatRfc3339(*next));
    t = *next;
  }
  return out;
}

// Every fire time in [from, to), checking that they strictly increase and
// are whole minutes.
std::vector<TimePoint> FiresIn(const std::string& expr, const TimeZone& zone,
                               TimePoint from, TimePoint to) {
  const CronSchedule cron = MustParse(expr);
  std::vector<TimePoint> out;
  TimePoint t = from - Duration(1);
  while (true) {
    auto next = cron.NextAfter(t, zone);
    EXPECT_TRUE(next.ok()) << expr << ": " << next.status().ToString();
    if (!next.ok() || *next >= to) break;
    EXPECT_GT(*next, t) << expr;
    EXPECT_EQ(ToUnixMillis(*next) % 60'000, 0) << expr;
    out.push_back(*next);
    t = *next;
  }
  return out;
}

std::string ParseError(const std::string& text) {
  auto cron = CronSchedule::Parse(text);
  if (cron.ok()) return "OK";
  EXPECT_EQ(cron.status().code(), StatusCode::kInvalidArgument) << text;
  return cron.status().message();
}

// ---------------------------------------------------------------------------
// Parsing.

TEST(CronParseTest, AcceptsValidExpressions) {
  for (const char* text : {"* * * * *",
                           "0 0 1 1 *",
                           "*/15 * * * *",
                           "0 9-17 * * MON-FRI",
                           "0 9-17/2 * * mon-fri",
                           "15,45 * * * *",
                           "5/10 * * * *",
                           "0 0 * * 7",
                           "0 0 * * 0-7",
                           "0 0 * JAN,jul,Dec *",
                           "  0\t12   * * *  ",
                           "59 23 31 12 *",
                           "0 0 29 2 *",
                           "0 0 30 2 1",
                           "0 0 13 * */5",
                           "0-59/1 0-23 1-31 1-12 0-6",
                           "00 05 * * *",
                           "@yearly",
                           "@annually",
                           "@monthly",
                           "@weekly",
                           "@daily",
                           "@midnight",
                           "@hourly",
                           " @DAILY "}) {
    auto cron = CronSchedule::Parse(text);
    EXPECT_TRUE(cron.ok()) << text << ": " << cron.status().ToString();
    if (cron.ok()) {
      EXPECT_EQ(cron->text(), text);
    }
  }
}

TEST(CronParseTest, RejectsOutOfRangeValuesNamingTheField) {
  EXPECT_EQ(ParseError("0 25 * * *"),
            "cron \"0 25 * * *\": hour: 25 is out of range 0-23");
  EXPECT_EQ(ParseError("60 * * * *"),
            "cron \"60 * * * *\": minute: 60 is out of range 0-59");
  EXPECT_EQ(ParseError("0 0 0 * *"),
            "cron \"0 0 0 * *\": day-of-month: 0 is out of range 1-31");
  EXPECT_EQ(ParseError("0 0 32 * *"),
            "cron \"0 0 32 * *\": day-of-month: 32 is out of range 1-31");
  EXPECT_EQ(ParseError("0 0 * 13 *"),
            "cron \"0 0 * 13 *\": month: 13 is out of range 1-12");
  EXPECT_EQ(ParseError("0 0 * * 8"),
            "cron \"0 0 * * 8\": day-of-week: 8 is out of range 0-7");
  EXPECT_EQ(ParseError("0 1-24 * * *"),
            "cron \"0 1-24 * * *\": hour: 24 is out of range 0-23");
  EXPECT_EQ(
      ParseError("99999999999999999999 * * * *"),
      "cron \"99999999999999999999 * * * *\": minute: 99999999999999999999 "
      "is out of range 0-59");
}

TEST(CronParseTest, RejectsAWrongNumberOfFields) {
  EXPECT_EQ(ParseError("* * *"),
            "cron \"* * *\": expected 5 fields (minute hour day-of-month month "
            "day-of-week) or an @alias, got 3");
  EXPECT_EQ(ParseError("* * * * * *"),
            "cron \"* * * * * *\": expected 5 fields (minute hour day-of-month "
            "month day-of-week) or an @alias, got 6");
  EXPECT_EQ(ParseError(""),
            "cron \"\": expected 5 fields (minute hour day-of-month month "
            "day-of-week) or an @alias, got 0");
  EXPECT_EQ(ParseError(" \t "),
            "cron \" \t \": expected 5 fields (minute hour day-of-month month "
            "day-of-week) or an @alias, got 0");
}

TEST(CronParseTest, RejectsBadStepsRangesAndNames) {
  EXPECT_EQ(ParseError("*/0 * * * *"),
            "cron \"*/0 * * * *\": minute: step 0 must be at least 1");
  EXPECT_EQ(ParseError("0 0-23/0 * * *"),
            "cron \"0 0-23/0 * * *\": hour: step 0 must be at least 1");
  EXPECT_EQ(ParseError("*/ * * * *"),
            "cron \"*/ * * * *\": minute: missing step after \"/\" in \"*/\"");
  EXPECT_EQ(ParseError("*/x * * * *"),
            "cron \"*/x * * * *\": minute: step \"x\" is not a number");
  EXPECT_EQ(ParseError("10-5 * * * *"),
            "cron \"10-5 * * * *\": minute: range 10-5 is reversed");
  EXPECT_EQ(ParseError("0 0 * * FRI-MON"),
            "cron \"0 0 * * FRI-MON\": day-of-week: range FRI-MON is reversed");
  EXPECT_EQ(ParseError("0 0 1 JNU *"),
            "cron \"0 0 1 JNU *\": month: unknown month name \"JNU\"");
  EXPECT_EQ(ParseError("0 0 1 January *"),
            "cron \"0 0 1 January *\": month: unknown month name \"January\"");
  EXPECT_EQ(ParseError("0 0 * * FRY"),
            "cron \"0 0 * * FRY\": day-of-week: unknown day-of-week name "
            "\"FRY\"");
  EXPECT_EQ(ParseError("a * * * *"),
            "cron \"a * * * *\": minute: \"a\" is not a number");
  EXPECT_EQ(ParseError("0 0 MON * *"),
            "cron \"0 0 MON * *\": day-of-month: \"MON\" is not a number");
  EXPECT_EQ(ParseError("1,,2 * * * *"),
            "cron \"1,,2 * * * *\": minute: empty list item in \"1,,2\"");
  EXPECT_EQ(ParseError("1, * * * *"),
            "cron \"1, * * * *\": minute: empty list item in \"1,\"");
  EXPECT_EQ(ParseError("-5 * * * *"),
            "cron \"-5 * * * *\": minute: missing number in \"-5\"");
  EXPECT_EQ(ParseError("5- * * * *"),
            "cron \"5- * * * *\": minute: missing number in \"5-\"");
  EXPECT_EQ(ParseError("1-2-3 * * * *"),
            "cron \"1-2-3 * * * *\": minute: \"2-3\" is not a number");
  EXPECT_EQ(ParseError("*-5 * * * *"),
            "cron \"*-5 * * * *\": minute: \"*\" is not a number");
}

TEST(CronParseTest, RejectsUnknownAliases) {
  EXPECT_EQ(ParseError("@reboot"),
            "cron \"@reboot\": unknown alias \"@reboot\" (expected @yearly, "
            "@annually, @monthly, @weekly, @daily, @midnight or @hourly)");
  EXPECT_EQ(ParseError("@daily 5"),
            "cron \"@daily 5\": @daily takes no other fields");
}

TEST(CronParseTest, RejectsExpressionsThatNeverFire) {
  EXPECT_EQ(ParseError("0 0 30 2 *"),
            "cron \"0 0 30 2 *\": never fires: day-of-month \"30\" does not "
            "occur in month \"2\"");
  EXPECT_EQ(ParseError("0 0 31 4,6,9,11 *"),
            "cron \"0 0 31 4,6,9,11 *\": never fires: day-of-month \"31\" does "
            "not occur in month \"4,6,9,11\"");
  EXPECT_EQ(ParseError("0 0 30-31 FEB */2"),
            "cron \"0 0 30-31 FEB */2\": never fires: day-of-month \"30-31\" "
            "does not occur in month \"FEB\"");
  // Possible in some month of the list, or through the day-of-week OR rule.
  EXPECT_EQ(ParseError("0 0 31 2,3 *"), "OK");
  EXPECT_EQ(ParseError("0 0 30 2 1"), "OK");
}

// ---------------------------------------------------------------------------
// Next fire times in UTC.

TEST(CronNextTest, EveryMinuteIsStrictlyAfter) {
  EXPECT_EQ(Next("* * * * *", "2026-05-01T10:00:30.500Z"),
            "2026-05-01T10:01:00Z");
  EXPECT_EQ(Next("* * * * *", "2026-05-01T10:01:00Z"), "2026-05-01T10:02:00Z");
  EXPECT_EQ(Next("* * * * *", "2026-05-01T10:00:59.999Z"),
            "2026-05-01T10:01:00Z");
  EXPECT_EQ(Next("* * * * *", "2026-12-31T23:59:00Z"), "2027-01-01T00:00:00Z");
}

TEST(CronNextTest, Steps) {
  EXPECT_EQ(Chain("*/15 * * * *", "2026-05-01T10:07:00Z", 4),
            (std::vector<std::string>{
                "2026-05-01T10:15:00Z", "2026-05-01T10:30:00Z",
                "2026-05-01T10:45:00Z", "2026-05-01T11:00:00Z"}));
  EXPECT_EQ(Next("*/15 * * * *", "2026-05-01T23:50:00Z"),
            "2026-05-02T00:00:00Z");
  EXPECT_EQ(Chain("5/20 * * * *", "2026-05-01T10:00:00Z", 4),
            (std::vector<std::string>{
                "2026-05-01T10:05:00Z", "2026-05-01T10:25:00Z",
                "2026-05-01T10:45:00Z", "2026-05-01T11:05:00Z"}));
  EXPECT_EQ(Chain("0 9-17/4 * * *", "2026-05-01T10:00:00Z", 4),
            (std::vector<std::string>{
                "2026-05-01T13:00:00Z", "2026-05-01T17:00:00Z",
                "2026-05-02T09:00:00Z", "2026-05-02T13:00:00Z"}));
}

TEST(CronNextTest, RangesAndLists) {
  EXPECT_EQ(Next("0 9-17 * * *", "2026-05-01T17:30:00Z"),
            "2026-05-02T09:00:00Z");
  EXPECT_EQ(Next("0 9-17 * * *", "2026-05-01T08:59:59Z"),
            "2026-05-01T09:00:00Z");
  EXPECT_EQ(
      Chain("0 8,12,18 * * *", "2026-05-01T12:00:00Z", 3),
      (std::vector<std::string>{"2026-05-01T18:00:00Z", "2026-05-02T08:00:00Z",
                                "2026-05-02T12:00:00Z"}));
  EXPECT_EQ(
      Chain("10-12,50 3 * * *", "2026-05-01T00:00:00Z", 5),
      (std::vector<std::string>{"2026-05-01T03:10:00Z", "2026-05-01T03:11:00Z",
                                "2026-05-01T03:12:00Z", "2026-05-01T03:50:00Z",
                                "2026-05-02T03:10:00Z"}));
}

TEST(CronNextTest, NamesAreCaseInsensitive) {
  // 2026-01-09 is a Friday.
  EXPECT_EQ(Chain("0 9 * * MON-FRI", "2026-01-09T10:00:00Z", 2),
            (std::vector<std::string>{"2026-01-12T09:00:00Z",
                                      "2026-01-13T09:00:00Z"}));
  EXPECT_EQ(Next("0 9 * * sat,Sun", "2026-01-09T10:00:00Z"),
            "2026-01-10T09:00:00Z");
  EXPECT_EQ(
      Chain("0 0 1 jan,JUL *", "2026-03-01T00:00:00Z", 3),
      (std::vector<std::string>{"2026-07-01T00:00:00Z", "2027-01-01T00:00:00Z",
                                "2027-07-01T00:00:00Z"}));
  EXPECT_EQ(Next("0 0 * * 7", "2026-01-01T00:00:00Z"), "2026-01-04T00:00:00Z");
  EXPECT_EQ(Next("0 0 * * 0", "2026-01-01T00:00:00Z"), "2026-01-04T00:00:00Z");
  EXPECT_EQ(Next("0 0 * * 5-7", "2026-01-03T00:00:00Z"),
            "2026-01-04T00:00:00Z");
}

TEST(CronNextTest, Aliases) {
  const char* after = "2026-05-13T10:20:00Z";  // a Wednesday
  EXPECT_EQ(Next("@hourly", after), "2026-05-13T11:00:00Z");
  EXPECT_EQ(Next("@daily", after), "2026-05-14T00:00:00Z");
  EXPECT_EQ(Next("@midnight", after), "2026-05-14T00:00:00Z");
  EXPECT_EQ(Next("@weekly", after), "2026-05-17T00:00:00Z");
  EXPECT_EQ(Next("@monthly", after), "2026-06-01T00:00:00Z");
  EXPECT_EQ(Next("@yearly", after), "2027-01-01T00:00:00Z");
  EXPECT_EQ(Next("@annually", after), "2027-01-01T00:00:00Z");
}

TEST(CronNextTest, DayOfMonthOrDayOfWeekWhenBothAreRestricted) {
  // The 13th, and every Friday (2026-01-02 is a Friday).
  EXPECT_EQ(
      Chain("0 0 13 * 5", "2026-01-01T00:00:00Z", 5),
      (std::vector<std::string>{"2026-01-02T00:00:00Z", "2026-01-09T00:00:00Z",
                                "2026-01-13T00:00:00Z", "2026-01-16T00:00:00Z",
                                "2026-01-23T00:00:00Z"}));
  // Only the 13th, only Fridays.
  EXPECT_EQ(Chain("0 0 13 * *", "2026-01-01T00:00:00Z", 2),
            (std::vector<std::string>{"2026-01-13T00:00:00Z",
                                      "2026-02-13T00:00:00Z"}));
  EXPECT_EQ(Chain("0 0 * * 5", "2026-01-01T00:00:00Z", 2),
            (std::vector<std::string>{"2026-01-02T00:00:00Z",
                                      "2026-01-09T00:00:00Z"}));
  // A day-of-week field starting with '*' makes the rule an AND (Vixie): the
  // 13th when it is a Sunday or a Friday.
  EXPECT_EQ(
      Chain("0 0 13 * */5", "2026-01-01T00:00:00Z", 5),
      (std::vector<std::string>{"2026-02-13T00:00:00Z", "2026-03-13T00:00:00Z",
                                "2026-09-13T00:00:00Z", "2026-11-13T00:00:00Z",
                                "2026-12-13T00:00:00Z"}));
  // Feb 30 never exists, but Mondays in February do (2026-03-02 is a Monday,
  // so the next one in February is 2027-02-01).
  EXPECT_EQ(Next("0 0 30 2 1", "2026-02-28T00:00:00Z"), "2027-02-01T00:00:00Z");
  EXPECT_EQ(Next("0 0 30 * 1", "2026-02-28T00:00:00Z"), "2026-03-02T00:00:00Z");
}

TEST(CronNextTest, MonthEnds) {
  EXPECT_EQ(
      Chain("0 0 31 * *", "2026-01-31T00:00:00Z", 7),
      (std::vector<std::string>{"2026-03-31T00:00:00Z", "2026-05-31T00:00:00Z",
                                "2026-07-31T00:00:00Z", "2026-08-31T00:00:00Z",
                                "2026-10-31T00:00:00Z", "2026-12-31T00:00:00Z",
                                "2027-01-31T00:00:00Z"}));
  EXPECT_EQ(Chain("0 0 30 * *", "2026-01-30T00:00:00Z", 2),
            (std::vector<std::string>{"2026-03-30T00:00:00Z",
                                      "2026-04-30T00:00:00Z"}));
}

TEST(CronNextTest, FebruaryTwentyNinthInLeapYearsOnly) {
  EXPECT_EQ(
      Chain("0 0 29 2 *", "2025-01-01T00:00:00Z", 3),
      (std::vector<std::string>{"2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z",
                                "2036-02-29T00:00:00Z"}));
  // 2100 is not a leap year.
  EXPECT_EQ(Next("0 0 29 2 *", "2097-01-01T00:00:00Z"), "2104-02-29T00:00:00Z");
  // 2000 is.
  EXPECT_EQ(Next("0 0 29 2 *", "1997-01-01T00:00:00Z"), "2000-02-29T00:00:00Z");
  // Feb 29 that is a Sunday: rarer than every 5 years.
  EXPECT_EQ(Chain("0 0 29 2 */7", "2026-01-01T00:00:00Z", 2),
            (std::vector<std::string>{"2032-02-29T00:00:00Z",
                                      "2060-02-29T00:00:00Z"}));
}

TEST(CronNextTest, IsFastForSparseExpressions) {
  const CronSchedule cron = MustParse("0 0 29 2 */7");
  const auto start = std::chrono::steady_clock::now();
  TimePoint t = At("1900-01-01T00:00:00Z");
  for (int i = 0; i < 200; ++i) {
    auto next = cron.NextAfter(t, TimeZone::Utc());
    ASSERT_TRUE(next.ok()) << next.status().ToString();
    ASSERT_GT(*next, t);
    t = *next;
  }
  // Two hundred Sunday Feb 29ths take more than 5000 years.
  EXPECT_GT(t, At("7000-01-01T00:00:00Z"));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
}

TEST(CronNextTest, YearRollover) {
  EXPECT_EQ(Next("0 0 1 1 *", "2026-12-31T23:59:59.999Z"),
            "2027-01-01T00:00:00Z");
  EXPECT_EQ(Next("59 23 31 12 *", "2026-12-31T23:59:00Z"),
            "2027-12-31T23:59:00Z");
  EXPECT_EQ(Next("0 0 * 1 *", "2026-02-01T00:00:00Z"), "2027-01-01T00:00:00Z");
  EXPECT_EQ(Next("30 4 * 11 MON", "2026-12-01T00:00:00Z"),
            "2027-11-01T04:30:00Z");
}

TEST(CronNextTest, DailyFiresOverAYear) {
  const TimeZone utc = TimeZone::Utc();
  EXPECT_EQ(FiresIn("0 12 * * *", utc, At("2026-01-01T00:00:00Z"),
                    At("2027-01-01T00:00:00Z"))
                .size(),
            365u);
  const auto leap = FiresIn("@daily", utc, At("2028-01-01T00:00:00Z"),
                            At("2029-01-01T00:00:00Z"));
  ASSERT_EQ(leap.size(), 366u);
  EXPECT_EQ(FormatRfc3339(leap.front()), "2028-01-01T00:00:00Z");
  EXPECT_EQ(FormatRfc3339(leap.back()), "2028-12-31T00:00:00Z");
  for (size_t i = 1; i < leap.size(); ++i) {
    EXPECT_EQ(leap[i] - leap[i - 1], std::chrono::hours(24));
  }
  EXPECT_EQ(FiresIn("*/30 * * * *", utc, At("2026-01-01T00:00:00Z"),
                    At("2027-01-01T00:00:00Z"))
                .size(),
            17520u);
}

// Field-wise search against a minute-by-minute scan with an independent
// predicate over broken-down UTC time.
TEST(CronNextTest, AgreesWithAMinuteByMinuteScan) {
  struct Case {
    const char* expr;
    std::function<bool(const std::tm&)> matches;
  };
  const std::vector<Case> cases = {
      {"*/15 9-17 * * 1-5",
       [](const std::tm& t) {
         return t.tm_min % 15 == 0 && t.tm_hour >= 9 && t.tm_hour <= 17 &&
                t.tm_wday >= 1 && t.tm_wday <= 5;
       }},
      {"7 */5 1,15,31 * *",
       [](const std::tm& t) {
         return t.tm_min == 7 && t.tm_hour % 5 == 0 &&
                (t.tm_mday == 1 || t.tm_mday == 15 || t.tm_mday == 31);
       }},
      {"0 0 1-7 * MON",  // OR: the first week's days, and Mondays
       [](const std::tm& t) {
         return t.tm_min == 0 && t.tm_hour == 0 &&
                (t.tm_mday <= 7 || t.tm_wday == 1);
       }},
      {"30 23 * FEB-APR/2 */2",  // AND: Feb and Apr, Sun/Tue/Thu/Sat
       [](const std::tm& t) {
         return t.tm_min == 30 && t.tm_hour == 23 &&
                (t.tm_mon == 1 || t.tm_mon == 3) && t.tm_wday % 2 == 0;
       }},
      {"59 23 28-31 * *",
       [](const std::tm& t) {
         return t.tm_min == 59 && t.tm_hour == 23 && t.tm_mday >= 28;
       }},
  };
  const int64_t start = ToUnixMillis(At("2027-12-25T00:00:00Z"));
  const int64_t end = start + int64_t{130} * 24 * 3600 * 1000;
  for (const Case& c : cases) {
    std::vector<TimePoint> expected;
    for (int64_t ms = start; ms < end; ms += 60'000) {
      const std::time_t secs = static_cast<std::time_t>(ms / 1000);
      std::tm tm{};
      gmtime_r(&secs, &tm);
      if (c.matches(tm)) expected.push_back(FromUnixMillis(ms));
    }
    ASSERT_FALSE(expected.empty()) << c.expr;
    EXPECT_EQ(FiresIn(c.expr, TimeZone::Utc(), FromUnixMillis(start),
                      FromUnixMillis(end)),
              expected)
        << c.expr;
  }
}

TEST(CronNextTest, RejectsInstantsOutsideTheSupportedYears) {
  const CronSchedule cron = MustParse("* * * * *");
  for (int64_t ms : {std::numeric_limits<int64_t>::max(),
                     std::numeric_limits<int64_t>::min(),
                     ToUnixMillis(At("9999-12-31T23:59:59Z")) + 1000}) {
    auto next = cron.NextAfter(FromUnixMillis(ms), TimeZone::Utc());
    ASSERT_FALSE(next.ok());
    EXPECT_EQ(next.status().code(), StatusCode::kInvalidArgument);
  }
  EXPECT_EQ(Next("* * * * *", "9999-12-31T23:58:00Z"), "9999-12-31T23:59:00Z");
  EXPECT_EQ(Next("* * * * *", "0001-01-01T00:00:00Z"), "0001-01-01T00:01:00Z");
}

// ---------------------------------------------------------------------------
// Time zones.

TEST(TimeZoneTest, LoadsUtcAndNamedZones) {
  EXPECT_EQ(TimeZone::Utc().name(), "UTC");
  EXPECT_TRUE(TimeZone::Utc().is_utc());
  EXPECT_EQ(Zone("").name(), "UTC");
  EXPECT_EQ(Zone("UTC"), TimeZone::Utc());
  EXPECT_EQ(Zone("Europe/Paris").name(), "Europe/Paris");
  EXPECT_EQ(Zone("America/New_York").name(), "America/New_York");
  EXPECT_EQ(Zone("Europe/Paris"), Zone("Europe/Paris"));
  EXPECT_NE(Zone("Europe/Paris"), Zone("America/New_York"));
  EXPECT_FALSE(Zone("Etc/UTC").is_utc());
  // A copy is the same zone.
  const TimeZone paris = Zone("Europe/Paris");
  TimeZone copy = TimeZone::Utc();
  copy = paris;
  EXPECT_EQ(copy.name(), "Europe/Paris");
}

TEST(TimeZoneTest, RejectsUnknownZones) {
  for (const char* name : {"Europe/Pariss", "Mars/Olympus", "utc", "../UTC"}) {
    auto zone = TimeZone::Load(name);
    ASSERT_FALSE(zone.ok()) << name;
    EXPECT_EQ(zone.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(zone.status().message(),
              "unknown time zone \"" + std::string(name) + "\"");
  }
}

TEST(TimeZoneTest, ReadsFieldsInLocalTime) {
  const TimeZone paris = Zone("Europe/Paris");
  const TimeZone ny = Zone("America/New_York");
  // Winter: UTC+1 and UTC-5; summer: UTC+2 and UTC-4.
  EXPECT_EQ(Next("0 9 * * *", "2026-01-15T00:00:00Z", paris),
            "2026-01-15T08:00:00Z");
  EXPECT_EQ(Next("0 9 * * *", "2026-07-15T00:00:00Z", paris),
            "2026-07-15T07:00:00Z");
  EXPECT_EQ(Next("0 9 * * *", "2026-01-15T00:00:00Z", ny),
            "2026-01-15T14:00:00Z");
  EXPECT_EQ(Next("0 9 * * *", "2026-07-15T00:00:00Z", ny),
            "2026-07-15T13:00:00Z");
  // The local date decides the day fields: 2026-01-01T03:00Z is still Dec 31
  // in New York.
  EXPECT_EQ(Next("0 23 31 12 *", "2026-01-01T03:00:00Z", ny),
            "2026-01-01T04:00:00Z");
  EXPECT_EQ(Next("0 0 1 1 *", "2026-12-31T22:00:00Z", paris),
            "2026-12-31T23:00:00Z");
  // Etc/UTC from the database agrees with the built-in UTC.
  EXPECT_EQ(Next("*/7 3 * * MON", "2026-05-01T00:00:00Z", Zone("Etc/UTC")),
            Next("*/7 3 * * MON", "2026-05-01T00:00:00Z"));
}

// America/New_York: 2026-03-08 02:00 EST -> 03:00 EDT (07:00Z); 2026-11-01
// 02:00 EDT -> 01:00 EST (06:00Z), so 01:00-02:00 local happens twice.
TEST(CronDstTest, NewYorkSpringForwardFiresAtTheEndOfTheGap) {
  const TimeZone ny = Zone("America/New_York");
  EXPECT_EQ(Chain("30 2 * * *", "2026-03-06T12:00:00Z", 3, ny),
            (std::vector<std::string>{"2026-03-07T07:30:00Z",     // 02:30 EST
                                      "2026-03-08T07:00:00Z",     // 03:00 EDT
                                      "2026-03-09T06:30:00Z"}));  // 02:30 EDT
  EXPECT_EQ(Next("0 2 * * *", "2026-03-07T12:00:00Z", ny),
            "2026-03-08T07:00:00Z");
  // Several times in the gap collapse into one fire.
  EXPECT_EQ(Chain("0,15,30,45 2 * * *", "2026-03-08T06:00:00Z", 2, ny),
            (std::vector<std::string>{"2026-03-08T07:00:00Z",
                                      "2026-03-09T06:00:00Z"}));
  // ... and so does a match at the first minute after the gap.
  EXPECT_EQ(Chain("*/30 * * * *", "2026-03-08T06:15:00Z", 4, ny),
            (std::vector<std::string>{
                "2026-03-08T06:30:00Z",     // 01:30 EST
                "2026-03-08T07:00:00Z",     // 02:00, 02:30 (skipped), 03:00 EDT
                "2026-03-08T07:30:00Z",     // 03:30 EDT
                "2026-03-08T08:00:00Z"}));  // 04:00 EDT
  EXPECT_EQ(
      Chain("0 * * * *", "2026-03-08T05:30:00Z", 3, ny),
      (std::vector<std::string>{"2026-03-08T06:00:00Z", "2026-03-08T07:00:00Z",
                                "2026-03-08T08:00:00Z"}));
  // A time after the gap is unaffected.
  EXPECT_EQ(Next("30 3 * * *", "2026-03-08T05:00:00Z", ny),
            "2026-03-08T07:30:00Z");
}

TEST(CronDstTest, NewYorkFallBackFixedHourFiresOnce) {
  const TimeZone ny = Zone("America/New_York");
  EXPECT_EQ(Chain("30 1 * * *", "2026-10-31T12:00:00Z", 3, ny),
            (std::vector<std::string>{"2026-11-01T05:30:00Z",  // 01:30 EDT
                                      "2026-11-02T06:30:00Z",  // 01:30 EST
                                      "2026-11-03T06:30:00Z"}));
  // From inside the repeated hour's second pass, the next day.
  EXPECT_EQ(Next("30 1 * * *", "2026-11-01T06:10:00Z", ny),
            "2026-11-02T06:30:00Z");
  EXPECT_EQ(Next("0 1 * * *", "2026-11-01T05:00:00Z", ny),
            "2026-11-02T06:00:00Z");
  // 02:30 is not repeated: EST.
  EXPECT_EQ(Next("30 2 * * *", "2026-10-31T12:00:00Z", ny),
            "2026-11-01T07:30:00Z");
  // A minute list with a fixed hour: the first pass only.
  EXPECT_EQ(
      Chain("0,30 1 * * *", "2026-11-01T04:00:00Z", 3, ny),
      (std::vector<std::string>{"2026-11-01T05:00:00Z", "2026-11-01T05:30:00Z",
                                "2026-11-02T06:00:00Z"}));
}

TEST(CronDstTest, NewYorkFallBackEveryHourFiresInBothPasses) {
  const TimeZone ny = Zone("America/New_York");
  EXPECT_EQ(Chain("*/30 * * * *", "2026-11-01T04:45:00Z", 6, ny),
            (std::vector<std::string>{"2026-11-01T05:00:00Z",     // 01:00 EDT
                                      "2026-11-01T05:30:00Z",     // 01:30 EDT
                                      "2026-11-01T06:00:00Z",     // 01:00 EST
                                      "2026-11-01T06:30:00Z",     // 01:30 EST
                                      "2026-11-01T07:00:00Z",     // 02:00 EST
                                      "2026-11-01T07:30:00Z"}));  // 02:30 EST
  EXPECT_EQ(
      Chain("0 * * * *", "2026-11-01T04:30:00Z", 3, ny),
      (std::vector<std::string>{"2026-11-01T05:00:00Z", "2026-11-01T06:00:00Z",
                                "2026-11-01T07:00:00Z"}));
  // 0-23 selects every hour too.
  EXPECT_EQ(Chain("15 0-23 * * *", "2026-11-01T05:20:00Z", 2, ny),
            (std::vector<std::string>{"2026-11-01T06:15:00Z",
                                      "2026-11-01T07:15:00Z"}));
  // From inside the second pass.
  EXPECT_EQ(Next("*/30 * * * *", "2026-11-01T06:10:00Z", ny),
            "2026-11-01T06:30:00Z");
}

// Europe/Paris: 2026-03-29 02:00 CET -> 03:00 CEST (01:00Z); 2026-10-25
// 03:00 CEST -> 02:00 CET (01:00Z), so 02:00-03:00 local happens twice.
TEST(CronDstTest, Paris) {
  const TimeZone paris = Zone("Europe/Paris");
  EXPECT_EQ(Chain("30 2 * * *", "2026-03-28T00:00:00Z", 3, paris),
            (std::vector<std::string>{"2026-03-28T01:30:00Z",     // 02:30 CET
                                      "2026-03-29T01:00:00Z",     // 03:00 CEST
                                      "2026-03-30T00:30:00Z"}));  // 02:30 CEST
  EXPECT_EQ(Chain("30 2 * * *", "2026-10-24T12:00:00Z", 2, paris),
            (std::vector<std::string>{"2026-10-25T00:30:00Z",     // 02:30 CEST
                                      "2026-10-26T01:30:00Z"}));  // 02:30 CET
  EXPECT_EQ(Chain("*/30 * * * *", "2026-10-24T23:45:00Z", 5, paris),
            (std::vector<std::string>{"2026-10-25T00:00:00Z",     // 02:00 CEST
                                      "2026-10-25T00:30:00Z",     // 02:30 CEST
                                      "2026-10-25T01:00:00Z",     // 02:00 CET
                                      "2026-10-25T01:30:00Z",     // 02:30 CET
                                      "2026-10-25T02:00:00Z"}));  // 03:00 CET
  EXPECT_EQ(Chain("*/30 * * * *", "2026-03-29T00:15:00Z", 3, paris),
            (std::vector<std::string>{"2026-03-29T00:30:00Z",     // 01:30 CET
                                      "2026-03-29T01:00:00Z",     // 03:00 CEST
                                      "2026-03-29T01:30:00Z"}));  // 03:30 CEST
}

// Over a whole local year with both transitions: strictly increasing, whole
// minutes, and the counts the DST rule implies.
TEST(CronDstTest, ChainedFiresStrictlyIncreaseAcrossAYear) {
  struct Case {
    const char* zone;
    const char* from;
    const char* to;
    const char* expr;
    size_t count;
  };
  const std::vector<Case> cases = {
      // One per day; the gap day's fire moves to 03:00, the repeated one
      // fires once.
      {"America/New_York", "2026-01-01T05:00:00Z", "2027-01-01T05:00:00Z",
       "30 2 * * *", 365},
      {"America/New_York", "2026-01-01T05:00:00Z", "2027-01-01T05:00:00Z",
       "30 1 * * *", 365},
      {"America/New_York", "2026-01-01T05:00:00Z", "2027-01-01T05:00:00Z",
       "0 0,1,2,3 * * *", 4 * 365 - 1},
      // Real elapsed time: the 23-hour day loses two half hours, the 25-hour
      // day gains two.
      {"America/New_York", "2026-01-01T05:00:00Z", "2027-01-01T05:00:00Z",
       "*/30 * * * *", 17520},
      {"America/New_York", "2026-01-01T05:00:00Z", "2027-01-01T05:00:00Z",
       "0 * * * *", 8760},
      {"Europe/Paris", "2025-12-31T23:00:00Z", "2026-12-31T23:00:00Z",
       "30 2 * * *", 365},
      {"Europe/Paris", "2025-12-31T23:00:00Z", "2026-12-31T23:00:00Z",
       "*/30 * * * *", 17520},
      {"Europe/Paris", "2025-12-31T23:00:00Z", "2026-12-31T23:00:00Z",
       "* * * * *", 525600},
  };
  for (const Case& c : cases) {
    const auto fires = FiresIn(c.expr, Zone(c.zone), At(c.from), At(c.to));
    EXPECT_EQ(fires.size(), c.count) << c.zone << " " << c.expr;
  }
}

}  // namespace
}  // namespace sagaflow::schedules
