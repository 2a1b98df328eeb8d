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

TEST(TextTest, ClosestMatchSkipsCandidatesOfAVeryDifferentLength) {
  // "shp" is one edit from "ship" but far shorter than "shipping_label".
  EXPECT_EQ(ClosestMatch("shp", {"shipping_label", "ship"}).value_or(""),
            "ship");
  EXPECT_FALSE(ClosestMatch("ab", {"abcd"}).has_value());  // limit 1, gap 2
  EXPECT_EQ(ClosestMatch("abcdef", {"abcdefgh"}).value_or(""),
            "abcdefgh");  // limit 2, gap 2
}

TEST(TextTest, ClosestMatchGivesNoHintForVeryLongWords) {
  // 700 x 128 per candidate would be quadratic work for no plausible hint;
  // such a word must be refused up front.
  const std::string word(700, 'a');
  const std::vector<std::string> storage(1000, std::string(128, 'a'));
  const std::vector<std::string_view> candidates(storage.begin(),
                                                 storage.end());
  EXPECT_FALSE(ClosestMatch(word, candidates).has_value());

  // Up to 131 characters a hint is still possible (128 + 3 edits).
  const std::string name(128, 'b');
  EXPECT_EQ(ClosestMatch(std::string(131, 'b'), {name}).value_or(""), name);
  EXPECT_FALSE(ClosestMatch(std::string(132, 'b'), {name}).has_value());
  // Even an exact-but-one match is no hint beyond that length.
  const std::string long_name(139, 'c');
  EXPECT_FALSE(ClosestMatch(std::string(140, 'c'), {long_name}).has_value());
}

TEST(TextTest, QuoteEscapes) {
  EXPECT_EQ(Quote("a\"b\\c\n"), "\"a\\\"b\\\\c\\n\"");
  EXPECT_EQ(Quote(std::string("\x01", 1)), "\"\\u0001\"");
}

}  // namespace
}  // namespace sagaflow

namespace sagaflow {
namespace {

TEST(ValidUtf8Test, KeepsValidTextAndReplacesEverythingElse) {
  EXPECT_EQ(ValidUtf8("plain"), "plain");
  EXPECT_EQ(ValidUtf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x99\x82"),
            "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x99\x82");
  EXPECT_EQ(ValidUtf8("a\xff"
                      "b"),
            "a\xef\xbf\xbd"
            "b");
  EXPECT_EQ(ValidUtf8("cut \xc3"), "cut \xef\xbf\xbd");          // truncated
  EXPECT_EQ(ValidUtf8("\xc0\xaf"), "\xef\xbf\xbd\xef\xbf\xbd");  // overlong
  EXPECT_EQ(ValidUtf8("\xed\xa0\x80"),
            "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");  // a surrogate
}

}  // namespace
}  // namespace sagaflow
