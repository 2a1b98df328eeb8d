#include "common/ids.h"

#include <gtest/gtest.h>

#include <regex>
#include <set>

namespace sagaflow {
namespace {

TEST(IdsTest, RunIdIsAUuidV7) {
  const std::string id = NewRunId(FromUnixMillis(1795600800000));
  EXPECT_TRUE(
      std::regex_match(id, std::regex("[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-["
                                      "89ab][0-9a-f]{3}-[0-9a-f]{12}")))
      << id;
  // 1795600800000 = 0x01a21225d900: the first 48 bits.
  EXPECT_EQ(id.substr(0, 13), "01a21225-d900");
}

TEST(IdsTest, RunIdsSortByTimeAndAreUnique) {
  std::set<std::string> seen;
  std::string previous;
  for (int i = 0; i < 1000; ++i) {
    const std::string id = NewRunId(FromUnixMillis(1795600800000 + i));
    EXPECT_TRUE(seen.insert(id).second);
    EXPECT_LT(previous, id);
    previous = id;
  }
  // Same millisecond: still unique.
  for (int i = 0; i < 1000; ++i)
    EXPECT_TRUE(seen.insert(NewRunId(FromUnixMillis(5))).second);
}

TEST(IdsTest, RandomHexHasTheRequestedLengthAndVaries) {
  const std::string a = RandomHex(16), b = RandomHex(16);
  EXPECT_EQ(a.size(), 32u);
  EXPECT_NE(a, b);
  EXPECT_EQ(a.find_first_not_of("0123456789abcdef"), std::string::npos);
}

}  // namespace
}  // namespace sagaflow
