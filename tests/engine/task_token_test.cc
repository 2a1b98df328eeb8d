#include "engine/task_token.h"

#include <gtest/gtest.h>

#include <set>

namespace sagaflow::engine {
namespace {

TEST(TaskTokenTest, RoundTrips) {
  const TaskToken token =
      TaskToken::New("0190a8c2-1111-7000-8000-000000000000", 3, 17, 2, true);
  const std::string text = token.Encode();
  auto decoded = TaskToken::Decode(text);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->run_id, token.run_id);
  EXPECT_EQ(decoded->scope_instance, 3u);
  EXPECT_EQ(decoded->step, 17u);
  EXPECT_EQ(decoded->attempt, 2u);
  EXPECT_TRUE(decoded->compensation);
  EXPECT_EQ(decoded->secret, token.secret);
  EXPECT_EQ(decoded->Encode(), text);
}

TEST(TaskTokenTest, AnyRunIdRoundTripsAndTheTokenStaysPrintable) {
  const std::string odd_id = std::string("a.b c/\xff\x00\n", 9);
  const std::string text = TaskToken::New(odd_id, 0, 0, 1, false).Encode();
  for (char c : text) EXPECT_TRUE(c > 0x20 && c < 0x7f) << static_cast<int>(c);
  EXPECT_EQ(TaskToken::Decode(text)->run_id, odd_id);
}

TEST(TaskTokenTest, SecretsAreFreshAndCompared) {
  std::set<std::string> secrets;
  for (int i = 0; i < 1000; ++i) {
    const TaskToken token = TaskToken::New("r", 0, 0, 1, false);
    EXPECT_EQ(token.secret.size(), 2 * TaskToken::kSecretBytes);
    EXPECT_TRUE(secrets.insert(token.secret).second);
  }
  const TaskToken token = TaskToken::New("r", 0, 0, 1, false);
  EXPECT_TRUE(token.SecretMatches(token.secret));
  std::string other = token.secret;
  other.back() = other.back() == '0' ? '1' : '0';
  EXPECT_FALSE(token.SecretMatches(other));
  EXPECT_FALSE(token.SecretMatches(token.secret.substr(1)));
  EXPECT_FALSE(token.SecretMatches(""));
}

TEST(TaskTokenTest, MalformedTokensAreInvalidArgument) {
  const std::string good = TaskToken::New("run-1", 0, 4, 1, false).Encode();
  const std::string secret = good.substr(good.rfind('.') + 1);
  const std::vector<std::string> bad = {
      "",
      "garbage",
      "v2.72756e2d31.0.4.1.t." + secret,                     // unknown version
      "v1..0.4.1.t." + secret,                               // empty run id
      "v1.72756e2d3.0.4.1.t." + secret,                      // odd hex
      "v1.72756E2D31.0.4.1.t." + secret,                     // upper-case hex
      "v1.zz.0.4.1.t." + secret,                             // not hex
      "v1.72756e2d31.x.4.1.t." + secret,                     // not a number
      "v1.72756e2d31.0.-4.1.t." + secret,                    // signed
      "v1.72756e2d31.0.04.1.t." + secret,                    // leading zero
      "v1.72756e2d31.0.4294967296.1.t." + secret,            // overflows uint32
      "v1.72756e2d31.0.4.0.t." + secret,                     // attempt 0
      "v1.72756e2d31.0.4.1.x." + secret,                     // unknown kind
      "v1.72756e2d31.0.4.1.t." + secret.substr(2),           // short secret
      "v1.72756e2d31.0.4.1.t." + secret + "00",              // long secret
      "v1.72756e2d31.0.4.1.t." + std::string(32, 'g'),       // secret not hex
      "v1.72756e2d31.0.4.1.t." + secret + ".extra",          // extra field
      "v1." + std::string(600, 'a') + ".0.4.1.t." + secret,  // run id too long
      std::string(100000, '.'),                              // absurdly long
  };
  for (const std::string& text : bad) {
    auto decoded = TaskToken::Decode(text);
    ASSERT_FALSE(decoded.ok()) << text.substr(0, 80);
    EXPECT_EQ(decoded.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(decoded.status().message().find(secret), std::string::npos)
        << "the message must not echo the secret";
  }
  EXPECT_TRUE(TaskToken::Decode(good).ok());
}

}  // namespace
}  // namespace sagaflow::engine
