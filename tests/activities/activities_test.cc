#include <gtest/gtest.h>

#include <optional>
#include <set>
#include <thread>

#include "activities/registry.h"

namespace sagaflow::activities {
namespace {

ActivityContext Attempt(uint32_t n,
                        const Cancellation* cancellation = nullptr) {
  ActivityContext context;
  context.run_id = "r1";
  context.step = "s";
  context.attempt = n;
  context.cancellation = cancellation;
  return context;
}

class ActivitiesTest : public ::testing::Test {
 protected:
  ActivityResult Run(std::string_view name, const Json& input,
                     uint32_t attempt = 1,
                     const Cancellation* cancellation = nullptr) {
    Activity* activity = registry_.Find(name);
    EXPECT_NE(activity, nullptr) << name;
    return activity->Run(input, Attempt(attempt, cancellation));
  }
  ActivityRegistry registry_ = ActivityRegistry::WithBuiltins();
};

TEST_F(ActivitiesTest, RegistryHasTheBuiltinsAndOnlyThem) {
  for (const char* name : {"builtin.noop", "builtin.echo", "builtin.sleep",
                           "builtin.fail", "builtin.exec"}) {
    EXPECT_NE(registry_.Find(name), nullptr) << name;
  }
  // Everything else goes to remote workers.
  EXPECT_EQ(registry_.Find("payments.charge"), nullptr);
  EXPECT_EQ(registry_.Find("builtin.other"), nullptr);
}

class Twice final : public Activity {
 public:
  ActivityResult Run(const Json& input, const ActivityContext&) override {
    return Json(input.get<int>() * 2);
  }
};

TEST_F(ActivitiesTest, UsersRegisterTheirOwnActivities) {
  ASSERT_TRUE(registry_.Register("math.twice", std::make_unique<Twice>()).ok());
  EXPECT_EQ(Run("math.twice", Json(21)).value(), Json(42));
  EXPECT_EQ(registry_.Register("math.twice", std::make_unique<Twice>()).code(),
            StatusCode::kAlreadyExists);
  EXPECT_EQ(
      registry_.Register("builtin.echo", std::make_unique<Twice>()).code(),
      StatusCode::kAlreadyExists);
  EXPECT_EQ(registry_.Register("bad name", std::make_unique<Twice>()).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(registry_.Register("ok.name", nullptr).code(),
            StatusCode::kInvalidArgument);
}

TEST_F(ActivitiesTest, NoopAndEcho) {
  const Json input = Json::parse(R"({"order": 7, "items": [1, 2]})");
  EXPECT_EQ(Run("builtin.noop", input).value(), Json::object());
  EXPECT_EQ(Run("builtin.echo", input).value(), input);
}

TEST_F(ActivitiesTest, FailFailsEveryAttemptByDefault) {
  for (uint32_t attempt : {1u, 2u, 50u}) {
    auto r = Run("builtin.fail", Json::object(), attempt);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().error, "Failed");
    EXPECT_FALSE(r.error().non_retryable);
  }
}

TEST_F(ActivitiesTest, FailFailsItsFirstAttemptsThenReturnsItsInput) {
  const Json input =
      Json::parse(R"({"error": "Boom", "message": "kaput", "times": 2})");
  for (uint32_t attempt : {1u, 2u}) {
    auto r = Run("builtin.fail", input, attempt);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().error, "Boom");
    EXPECT_EQ(r.error().message, "kaput");
  }
  auto third = Run("builtin.fail", input, 3);
  ASSERT_TRUE(third.ok());
  EXPECT_EQ(third.value(), input);
  EXPECT_TRUE(Run("builtin.fail", Json::parse(R"({"times": 0})"), 1).ok());
}

TEST_F(ActivitiesTest, BadInputIsNonRetryable) {
  for (const char* bad :
       {R"({"error": 5})", R"({"error": ""})", R"({"message": []})",
        R"({"times": -1})", R"({"times": "2"})"}) {
    auto r = Run("builtin.fail", Json::parse(bad));
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().error, kInvalidInput) << bad;
    EXPECT_TRUE(r.error().non_retryable) << bad;
  }
  for (const char* bad :
       {R"({})", R"({"duration": 5})", R"({"duration": "5 parsecs"})", "[]"}) {
    auto r = Run("builtin.sleep", Json::parse(bad));
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().error, kInvalidInput) << bad;
    EXPECT_TRUE(r.error().non_retryable) << bad;
  }
}

TEST_F(ActivitiesTest, SleepSleepsThenReturns) {
  Cancellation cancellation;
  auto r = Run("builtin.sleep", Json::parse(R"({"duration": "20ms"})"), 1,
               &cancellation);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value(), Json::object());
}

TEST_F(ActivitiesTest, SleepStopsWhenCancelled) {
  Cancellation cancellation;
  std::optional<ActivityResult> result;
  // An hour's sleep: the thread can only finish (and the test end) through the
  // cancellation.
  std::thread sleeper([&] {
    result = Run("builtin.sleep", Json::parse(R"({"duration": "1h"})"), 1,
                 &cancellation);
  });
  cancellation.Cancel();
  sleeper.join();
  ASSERT_TRUE(result.has_value());
  ASSERT_FALSE(result->ok());
  EXPECT_EQ(result->error().error, kCancelled);
  // Cancelled before it starts: returns at once.
  auto again = Run("builtin.sleep", Json::parse(R"({"duration": "1h"})"), 1,
                   &cancellation);
  EXPECT_EQ(again.error().error, kCancelled);
}

TEST(ActivityContextTest, IdempotencyKeyIgnoresTheAttemptOnly) {
  ActivityContext a = Attempt(1);
  ActivityContext retry = Attempt(3);
  EXPECT_EQ(a.IdempotencyKey(), retry.IdempotencyKey());
  ActivityContext other_iteration = Attempt(1);
  other_iteration.scope_instance = 4;
  ActivityContext compensation = Attempt(1);
  compensation.is_compensation = true;
  ActivityContext other_step = Attempt(1);
  other_step.step = "t";
  std::set<std::string> keys = {
      a.IdempotencyKey(), other_iteration.IdempotencyKey(),
      compensation.IdempotencyKey(), other_step.IdempotencyKey()};
  EXPECT_EQ(keys.size(), 4u);
}

TEST(CancellationTest, WaitForReportsCancellation) {
  Cancellation c;
  EXPECT_FALSE(c.cancelled());
  EXPECT_FALSE(c.WaitFor(Duration(1)));
  c.Cancel();
  EXPECT_TRUE(c.cancelled());
  EXPECT_TRUE(c.WaitFor(Duration(3'600'000)));
}

}  // namespace
}  // namespace sagaflow::activities
