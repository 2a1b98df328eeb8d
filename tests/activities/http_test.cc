// builtin.http against a real HTTP server on loopback (cpp-httplib).
#include "activities/http.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

namespace sagaflow::activities {
namespace {

class HttpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.Get("/doc", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(R"({"title": "Report", "pages": 3})", "application/json");
    });
    server_.Get("/text", [](const httplib::Request&, httplib::Response& res) {
      res.set_header("X-Trace", "t-1");
      res.set_content("plain words", "text/plain");
    });
    server_.Post(
        "/echo", [](const httplib::Request& req, httplib::Response& res) {
          res.set_content(
              Json{{"method", req.method},
                   {"body", req.body},
                   {"content_type", req.get_header_value("Content-Type")},
                   {"token", req.get_header_value("X-Token")}}
                  .dump(),
              "application/json");
        });
    server_.Get("/missing",
                [](const httplib::Request&, httplib::Response& res) {
                  res.status = 404;
                  res.set_content("no such document", "text/plain");
                });
    server_.Get("/flaky",
                [this](const httplib::Request&, httplib::Response& res) {
                  if (flaky_calls_++ == 0) {
                    res.status = 503;
                    res.set_content("try later", "text/plain");
                  } else {
                    res.set_content("{}", "application/json");
                  }
                });
    server_.Get("/slow",
                [this](const httplib::Request&, httplib::Response& res) {
                  std::unique_lock<std::mutex> lock(slow_mu_);
                  slow_cv_.wait_for(lock, std::chrono::seconds(10),
                                    [&] { return release_; });
                  res.set_content("late", "text/plain");
                });
    server_.Get("/big", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(std::string(10'000, 'x'), "text/plain");
    });
    server_.Get("/redirect",
                [](const httplib::Request&, httplib::Response& res) {
                  res.set_redirect("/doc");
                });
    // One request per connection: an idle keep-alive connection would hold
    // one of the server's few threads and delay its stop.
    server_.set_keep_alive_max_count(1);
    port_ = server_.bind_to_any_port("127.0.0.1");
    // Bound already: connections wait in the backlog until it accepts.
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    // stop() before the accept loop runs would be lost and the join below
    // would hang: wait for the loop.
    while (!server_.is_running()) std::this_thread::yield();
  }
  void TearDown() override {
    {
      std::lock_guard<std::mutex> lock(slow_mu_);
      release_ = true;
    }
    slow_cv_.notify_all();
    server_.stop();
    thread_.join();
  }
  std::string Url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  ActivityResult Call(const Json& input,
                      const Cancellation* cancellation = nullptr) {
    ActivityContext context;
    context.cancellation = cancellation;
    return http_->Run(input, context);
  }

  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::atomic<int> flaky_calls_{0};
  std::mutex slow_mu_;
  std::condition_variable slow_cv_;
  bool release_ = false;
  std::unique_ptr<Activity> http_ = [] {
    HttpOptions options;
    options.max_response_bytes = 4096;
    return NewHttp(options);
  }();
};

TEST_F(HttpTest, GetReturnsStatusHeadersAndParsedJson) {
  auto result = Call({{"url", Url("/doc")}});
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ((*result)["status"], 200);
  EXPECT_EQ((*result)["body"], Json({{"title", "Report"}, {"pages", 3}}));
  EXPECT_EQ((*result)["headers"]["content-type"], "application/json");

  auto text = Call({{"url", Url("/text")}});
  ASSERT_TRUE(text.ok());
  EXPECT_EQ((*text)["body"], "plain words");
  EXPECT_EQ((*text)["headers"]["x-trace"], "t-1");

  auto redirected = Call({{"url", Url("/redirect")}});
  ASSERT_TRUE(redirected.ok());
  EXPECT_EQ((*redirected)["body"]["pages"], 3);
}

TEST_F(HttpTest, PostSendsJsonBodiesAndHeaders) {
  auto result = Call({{"method", "post"},
                      {"url", Url("/echo")},
                      {"headers", {{"X-Token", "secret"}}},
                      {"body", {{"a", 1}}}});
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ((*result)["body"]["method"], "POST");
  EXPECT_EQ((*result)["body"]["body"], R"({"a":1})");
  EXPECT_EQ((*result)["body"]["content_type"], "application/json");
  EXPECT_EQ((*result)["body"]["token"], "secret");
}

TEST_F(HttpTest, ClientErrorsAreFinalServerErrorsRetryable) {
  auto missing = Call({{"url", Url("/missing")}});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().error, "HttpError");
  EXPECT_NE(missing.error().message.find("404"), std::string::npos);
  EXPECT_TRUE(missing.error().non_retryable);

  auto first = Call({{"url", Url("/flaky")}});
  ASSERT_FALSE(first.ok());
  EXPECT_EQ(first.error().error, "HttpError");
  EXPECT_NE(first.error().message.find("503"), std::string::npos);
  EXPECT_FALSE(first.error().non_retryable);
  auto retried = Call({{"url", Url("/flaky")}});
  EXPECT_TRUE(retried.ok());

  // Nobody listens on port 1: a connection error, retryable.
  auto refused = Call({{"url", "http://127.0.0.1:1/"}});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().error, "HttpError");
  EXPECT_FALSE(refused.error().non_retryable);
}

TEST_F(HttpTest, TimeoutOversizeAndCancel) {
  auto slow = Call({{"url", Url("/slow")}, {"timeout", "200ms"}});
  ASSERT_FALSE(slow.ok());
  EXPECT_EQ(slow.error().error, "Timeout");

  auto big = Call({{"url", Url("/big")}});
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.error().error, "ResponseTooLarge");
  EXPECT_TRUE(big.error().non_retryable);

  Cancellation cancellation;
  std::thread canceller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    cancellation.Cancel();
  });
  const auto started = std::chrono::steady_clock::now();
  auto cancelled =
      Call({{"url", Url("/slow")}, {"timeout", "20s"}}, &cancellation);
  canceller.join();
  EXPECT_LT(std::chrono::steady_clock::now() - started,
            std::chrono::seconds(5));
  ASSERT_FALSE(cancelled.ok());
  EXPECT_EQ(cancelled.error().error, kCancelled);
}

TEST_F(HttpTest, FiftyConcurrentCallsAllComplete) {
  constexpr int kCalls = 50;
  std::mutex mu;
  std::condition_variable cv;
  int done = 0, ok = 0;
  std::vector<ActivityContext> contexts(kCalls);
  for (int i = 0; i < kCalls; ++i) {
    http_->Start({{"url", Url("/doc")}}, contexts[i], [&](ActivityResult r) {
      std::lock_guard<std::mutex> lock(mu);
      ++done;
      if (r.ok()) ++ok;
      cv.notify_one();
    });
  }
  std::unique_lock<std::mutex> lock(mu);
  ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(20),
                          [&] { return done == kCalls; }));
  EXPECT_EQ(ok, kCalls);
}

TEST_F(HttpTest, BadInputIsNonRetryable) {
  for (const Json& bad :
       {Json("http://x"), Json({{"url", 3}}), Json({{"url", "ftp://x/"}}),
        Json({{"url", Url("/doc")}, {"verb", "GET"}}),
        Json({{"url", Url("/doc")}, {"headers", {{"A", "b\r\nEvil: 1"}}}}),
        Json({{"url", Url("/doc")}, {"method", "GE T"}}),
        Json({{"url", Url("/doc")}, {"timeout", "soon"}})}) {
    auto result = Call(bad);
    ASSERT_FALSE(result.ok()) << bad.dump();
    EXPECT_EQ(result.error().error, kInvalidInput) << bad.dump();
    EXPECT_TRUE(result.error().non_retryable);
  }
}

}  // namespace
}  // namespace sagaflow::activities
