#include "common/failpoint.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <cstdio>

namespace sagaflow::failpoint {
namespace {

using ::testing::HasSubstr;

class FailpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!Compiled()) GTEST_SKIP() << "built without -DSAGAFLOW_FAILPOINTS=ON";
  }
  void TearDown() override {
    if (Compiled()) {
      EXPECT_TRUE(Configure("").ok());
    }
  }
};

void Reach(int times) {
  for (int i = 0; i < times; ++i) {
    SAGAFLOW_FAILPOINT("engine.commit.before_reply");
  }
}

TEST_F(FailpointTest, UnarmedFailpointsCountNothing) {
  Reach(3);
  EXPECT_EQ(Hits("engine.commit.before_reply"), 0u);
}

TEST_F(FailpointTest, OffCountsHitsWithoutActing) {
  ASSERT_TRUE(Configure("engine.commit.before_reply=off").ok());
  Reach(3);
  EXPECT_EQ(Hits("engine.commit.before_reply"), 3u);
  EXPECT_EQ(Hits("store.commit.before_write"), 0u);
}

TEST_F(FailpointTest, ConfigureRefusesMistakesNamingThem) {
  Status unknown = Configure("engine.commit.befor_reply=crash");
  EXPECT_EQ(unknown.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(unknown.message(), HasSubstr("engine.commit.befor_reply"));
  EXPECT_THAT(unknown.message(), HasSubstr("known: "));
  EXPECT_THAT(Configure("engine.commit.before_reply").message(),
              HasSubstr("no action"));
  EXPECT_THAT(Configure("engine.commit.before_reply=explode").message(),
              HasSubstr("unknown action \"explode\""));
  EXPECT_THAT(Configure("engine.commit.before_reply=crash(2)").message(),
              HasSubstr("probability"));
  EXPECT_THAT(Configure("engine.commit.before_reply=crash@0").message(),
              HasSubstr("hit number"));
  EXPECT_THAT(Configure("engine.commit.before_reply=sleep(x)").message(),
              HasSubstr("milliseconds"));
  // A refused configuration changes nothing.
  ASSERT_TRUE(Configure("engine.commit.before_reply=off").ok());
  EXPECT_FALSE(Configure("engine.commit.before_reply=off;nope=off").ok());
  Reach(1);
  EXPECT_EQ(Hits("engine.commit.before_reply"), 1u);
}

TEST_F(FailpointTest, SeveralPointsSeparatedBySemicolons) {
  ASSERT_TRUE(Configure(" engine.commit.before_reply = off ; "
                        "store.commit.before_write=sleep(1);")
                  .ok());
  Reach(2);
  SAGAFLOW_FAILPOINT("store.commit.before_write");
  EXPECT_EQ(Hits("engine.commit.before_reply"), 2u);
  EXPECT_EQ(Hits("store.commit.before_write"), 1u);
}

TEST_F(FailpointTest, CrashAtTheNthHitKillsLikeKillNine) {
  EXPECT_EXIT(
      {
        if (!Configure("engine.commit.before_reply=crash@3").ok()) _exit(1);
        Reach(2);
        std::fprintf(stderr, "two hits survived\n");
        Reach(1);
        _exit(0);  // Not reached.
      },
      ::testing::KilledBySignal(SIGKILL),
      "two hits survived\nfailpoint engine.commit.before_reply: crash");
}

TEST_F(FailpointTest, CertainCrashKillsOnTheFirstHit) {
  EXPECT_EXIT(
      {
        if (!Configure("engine.commit.before_reply=crash(1)").ok()) _exit(1);
        Reach(1);
        _exit(0);
      },
      ::testing::KilledBySignal(SIGKILL), "before_reply: crash");
}

}  // namespace
}  // namespace sagaflow::failpoint
