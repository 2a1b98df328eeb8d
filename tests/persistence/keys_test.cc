#include "persistence/keys.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

namespace sagaflow::persistence::keys {
namespace {

TEST(KeysTest, IntegersRoundTripBigEndian) {
  std::string s;
  AppendU64(&s, 0x0102030405060708ULL);
  EXPECT_EQ(s, std::string("\x01\x02\x03\x04\x05\x06\x07\x08", 8));
  EXPECT_EQ(ReadU64(s), 0x0102030405060708ULL);
  std::string t;
  AppendU32(&t, 0xA0B0C0D0u);
  EXPECT_EQ(ReadU32(t), 0xA0B0C0D0u);
}

TEST(KeysTest, TimesSortNumericallyIncludingNegatives) {
  std::vector<int64_t> times = {
      -5, 0, 3, -1'000'000'000'000, 1'800'000'000'000, INT64_MIN, INT64_MAX};
  std::vector<std::string> encoded;
  for (int64_t t : times) {
    std::string s;
    AppendTime(&s, t);
    EXPECT_EQ(ReadTime(s), t);
    encoded.push_back(s);
  }
  std::vector<size_t> order(times.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return encoded[a] < encoded[b]; });
  for (size_t i = 1; i < order.size(); ++i)
    EXPECT_LT(times[order[i - 1]], times[order[i]]);
}

TEST(KeysTest, HistoryKeysSortBySeqWithinARunAndRunsDoNotInterleave) {
  EXPECT_LT(RunSeq(1, 9), RunSeq(1, 10));
  EXPECT_LT(RunSeq(1, 255), RunSeq(1, 256));
  EXPECT_LT(RunSeq(1, UINT64_MAX), RunSeq(2, 0));
  EXPECT_EQ(RunSeq(7, 1).substr(0, kRunPrefixSize), RunPrefix(7));
}

TEST(KeysTest, WorkflowKeysOfPrefixNamesDoNotCollide) {
  // "order" versions must all sort before any "order2" key, and a prefix scan
  // of "order" must not see "order2".
  EXPECT_LT(Workflow("order", UINT32_MAX), Workflow("order2", 1));
  EXPECT_NE(
      Workflow("order2", 1)
          .compare(0, WorkflowPrefix("order").size(), WorkflowPrefix("order")),
      0);
  EXPECT_LT(Workflow("order", 2), Workflow("order", 10));
}

TEST(KeysTest, IndexKeysOrderByTimeThenRun) {
  EXPECT_LT(ByTime(100, "zzz"), ByTime(101, "aaa"));
  EXPECT_LT(ByStatus(1, 999, "x"), ByStatus(2, 0, "a"));
  EXPECT_LT(ByWorkflow("a", 5, "r"), ByWorkflow("a", 6, "a"));
  EXPECT_LT(ByWorkflow("a", 5, "r"), PrefixEnd(WorkflowIndexPrefix("a")));
  EXPECT_LT(PrefixEnd(WorkflowIndexPrefix("a")), ByWorkflow("a0", 0, ""));
  EXPECT_LT(Timer(5, "b"), Timer(6, "a"));
}

TEST(KeysTest, HexRoundTripsAndRejectsGarbage) {
  const std::string bytes("\x00\xff\x10zz", 5);
  std::string back;
  ASSERT_TRUE(FromHex(ToHex(bytes), &back));
  EXPECT_EQ(back, bytes);
  EXPECT_FALSE(FromHex("abc", &back));
  EXPECT_FALSE(FromHex("zz", &back));
  EXPECT_FALSE(FromHex("AB", &back));
}

}  // namespace
}  // namespace sagaflow::persistence::keys
