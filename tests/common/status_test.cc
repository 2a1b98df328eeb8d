#include "common/status.h"

#include <gtest/gtest.h>

#include "common/result.h"

namespace sagaflow {
namespace {

TEST(StatusTest, DefaultIsOkAndAllocatesNothing) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kOk);
  EXPECT_EQ(s.message(), "");
  EXPECT_EQ(s.ToString(), "OK");
}

TEST(StatusTest, ErrorCarriesCodeAndMessage) {
  Status s = Status::NotFound("run r-1 does not exist");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_EQ(s.message(), "run r-1 does not exist");
  EXPECT_EQ(s.ToString(), "NOT_FOUND: run r-1 does not exist");
}

TEST(StatusTest, CopyAndMoveKeepTheError) {
  Status a = Status::InvalidArgument("bad");
  Status b = a;
  EXPECT_EQ(b.ToString(), "INVALID_ARGUMENT: bad");
  Status c = std::move(a);
  EXPECT_EQ(c.code(), StatusCode::kInvalidArgument);
  b = Status::Ok();
  EXPECT_TRUE(b.ok());
}

TEST(StatusTest, EveryCodeHasAName) {
  for (int c = 0; c <= static_cast<int>(StatusCode::kInternal); ++c) {
    EXPECT_NE(StatusCodeName(static_cast<StatusCode>(c)), "UNKNOWN") << c;
  }
}

Status FailWhen(bool fail) {
  return fail ? Status::Internal("boom") : Status::Ok();
}

Status Chain(bool fail) {
  SAGAFLOW_RETURN_IF_ERROR(FailWhen(fail));
  return Status::AlreadyExists("reached the end");
}

TEST(StatusTest, ReturnIfErrorStopsAtTheFirstError) {
  EXPECT_EQ(Chain(true).code(), StatusCode::kInternal);
  EXPECT_EQ(Chain(false).code(), StatusCode::kAlreadyExists);
}

Result<int> Half(int x) {
  if (x % 2 != 0) return Status::InvalidArgument(std::to_string(x) + " is odd");
  return x / 2;
}

Result<int> Quarter(int x) {
  SAGAFLOW_ASSIGN_OR_RETURN(int half, Half(x));
  SAGAFLOW_ASSIGN_OR_RETURN(int quarter, Half(half));
  return quarter;
}

TEST(ResultTest, HoldsValueOrError) {
  Result<int> ok = Half(8);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, 4);
  EXPECT_TRUE(ok.status().ok());
  Result<int> bad = Half(3);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message(), "3 is odd");
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
}

TEST(ResultTest, AssignOrReturnPropagates) {
  EXPECT_EQ(*Quarter(8), 2);
  EXPECT_EQ(Quarter(6).error().message(), "3 is odd");
}

TEST(ResultTest, CustomErrorType) {
  struct MyError {
    std::string name;
  };
  Result<std::string, MyError> r = MyError{"PathNotFound"};
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().name, "PathNotFound");
  Result<std::string, MyError> v = std::string("x");
  EXPECT_EQ(v.value(), "x");
}

}  // namespace
}  // namespace sagaflow
