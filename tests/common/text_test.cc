#include "common/text.h"

#include <gtest/gtest.h>

namespace sagaflow {
namespace {

TEST(TextTest, EditDistance) {
  EXPECT_EQ(EditDistance("", ""), 0u);
  EXPECT_EQ(EditDistance("ship", "ship"), 0u);
  EXPECT_EQ(EditDistance("shp", "ship"), 1u);
  EXPECT_EQ(EditDistance("taks", "task"), 1u);  // Transposition counts once.
  EXPECT_EQ(EditDistance("kitten", "sitting"), 3u);
  EXPECT_EQ(EditDistance("", "abc"), 3u);
}

TEST(TextTest, ClosestMatchSuggestsPlausibleMisspellings) {
  const std::vector<std::string_view> steps = {"reserve", "charge", "ship",
                                               "done"};
  EXPECT_EQ(ClosestMatch("shp", steps).value_or(""), "ship");
  EXPECT_EQ(ClosestMatch("chrage", steps).value_or(""), "charge");
  EXPECT_EQ(ClosestMatch("reserv", steps).value_or(""), "reserve");
  EXPECT_FALSE(ClosestMatch("payment", steps).has_value());
  EXPECT_FALSE(ClosestMatch("x", {"y"}).has_value());
  EXPECT_FALSE(ClosestMatch("abc", {}).has_value());
}

TEST(TextTest, QuoteEscapes) {
  EXPECT_EQ(Quote("a\"b\\c\n"), "\"a\\\"b\\\\c\\n\"");
  EXPECT_EQ(Quote(std::string("\x01", 1)), "\"\\u0001\"");
}

}  // namespace
}  // namespace sagaflow
