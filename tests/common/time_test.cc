#include "common/time.h"

#include <gtest/gtest.h>

namespace sagaflow {
namespace {

TEST(DurationTest, ParsesEveryUnit) {
  EXPECT_EQ(ParseDuration("250ms").value(), Duration(250));
  EXPECT_EQ(ParseDuration("10s").value(), Duration(10'000));
  EXPECT_EQ(ParseDuration("5m").value(), Duration(300'000));
  EXPECT_EQ(ParseDuration("2h").value(), Duration(7'200'000));
  EXPECT_EQ(ParseDuration("1d").value(), Duration(86'400'000));
  EXPECT_EQ(ParseDuration("0s").value(), Duration(0));
}

TEST(DurationTest, ParsesCompoundDurations) {
  EXPECT_EQ(ParseDuration("1h30m").value(), Duration(5'400'000));
  EXPECT_EQ(ParseDuration("1m1s1ms").value(), Duration(61'001));
}

TEST(DurationTest, RejectsMalformedText) {
  for (const char* bad :
       {"", "10", "s", "10x", "-1s", "1.5s", " 1s", "1s ", "1 s", "1ms2"}) {
    auto r = ParseDuration(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.status().message().find("malformed duration"),
              std::string::npos)
        << bad;
  }
}

TEST(DurationTest, RejectsAbsurdlyLongDurations) {
  EXPECT_TRUE(ParseDuration("36500d").ok());
  EXPECT_FALSE(ParseDuration("40000d").ok());
  EXPECT_FALSE(ParseDuration("99999999999999999999999s").ok());
}

TEST(DurationTest, FormatRoundTrips) {
  for (int64_t ms :
       {0LL, 1LL, 250LL, 1000LL, 61'001LL, 5'400'000LL, 90'061'001LL}) {
    const std::string text = FormatDuration(Duration(ms));
    EXPECT_EQ(ParseDuration(text).value(), Duration(ms)) << text;
  }
  EXPECT_EQ(FormatDuration(Duration(5'400'000)), "1h30m");
  EXPECT_EQ(FormatDuration(Duration(250)), "250ms");
}

TEST(DurationTest, FormatsNegativeAndExtremeDurations) {
  EXPECT_EQ(FormatDuration(Duration(-1500)), "-1s500ms");
  EXPECT_EQ(FormatDuration(Duration::max()), "106751991167d7h12m55s807ms");
  // -min() does not fit in int64: the magnitude is taken as unsigned.
  EXPECT_EQ(FormatDuration(Duration::min()), "-106751991167d7h12m55s808ms");
}

TEST(Rfc3339Test, ParsesUtcAndOffsets) {
  EXPECT_EQ(ToUnixMillis(ParseRfc3339("1970-01-01T00:00:00Z").value()), 0);
  EXPECT_EQ(ToUnixMillis(ParseRfc3339("2026-11-25T10:00:00Z").value()),
            1795600800000);
  EXPECT_EQ(ParseRfc3339("2026-11-25T12:00:00+02:00").value(),
            ParseRfc3339("2026-11-25T10:00:00Z").value());
  EXPECT_EQ(ToUnixMillis(ParseRfc3339("1970-01-01T00:00:00.25Z").value()), 250);
  EXPECT_EQ(ToUnixMillis(ParseRfc3339("1970-01-01T00:00:00.123456Z").value()),
            123);
  EXPECT_EQ(ToUnixMillis(ParseRfc3339("1969-12-31T23:59:59Z").value()), -1000);
  EXPECT_TRUE(ParseRfc3339("2024-02-29T00:00:00Z").ok());
}

TEST(Rfc3339Test, RejectsMalformedTimestamps) {
  for (const char* bad :
       {"", "2026-11-25", "2026-11-25T10:00:00", "2026-13-01T00:00:00Z",
        "2026-02-30T00:00:00Z", "2023-02-29T00:00:00Z", "2026-11-25T24:00:00Z",
        "2026-11-25T10:00:00Zjunk", "2026-11-25T10:00:00.Z",
        "2026-11-25T10:00:00+2:00", "tomorrow"}) {
    EXPECT_FALSE(ParseRfc3339(bad).ok()) << bad;
  }
}

TEST(Rfc3339Test, FormatRoundTrips) {
  for (int64_t ms : {0LL, 250LL, 1795600800000LL, 1795600800123LL, -1000LL,
                     951782400000LL}) {
    const std::string text = FormatRfc3339(FromUnixMillis(ms));
    EXPECT_EQ(ToUnixMillis(ParseRfc3339(text).value()), ms) << text;
  }
  EXPECT_EQ(FormatRfc3339(FromUnixMillis(1795600800000)),
            "2026-11-25T10:00:00Z");
  EXPECT_EQ(FormatRfc3339(FromUnixMillis(1795600800250)),
            "2026-11-25T10:00:00.250Z");
}

TEST(ClockTest, ManualClockMovesOnlyWhenTold) {
  ManualClock clock(FromUnixMillis(1000));
  EXPECT_EQ(ToUnixMillis(clock.Now()), 1000);
  clock.Advance(Duration(500));
  EXPECT_EQ(ToUnixMillis(clock.Now()), 1500);
  clock.Set(FromUnixMillis(42));
  EXPECT_EQ(ToUnixMillis(clock.Now()), 42);
}

TEST(ClockTest, SystemClockIsNearTheRealTime) {
  const auto before = std::chrono::system_clock::now();
  const TimePoint now = SystemClock::Default()->Now();
  const auto after = std::chrono::system_clock::now();
  EXPECT_GE(now, std::chrono::time_point_cast<Duration>(before));
  EXPECT_LE(now, std::chrono::time_point_cast<Duration>(after));
}

}  // namespace
}  // namespace sagaflow
