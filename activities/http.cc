#include "activities/http.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <condition_variable>
#include <deque>
#include <list>
#include <mutex>
#include <thread>

namespace sagaflow::activities {
namespace {

using SteadyClock = std::chrono::steady_clock;

ActivityError InvalidInput(std::string message) {
  return ActivityError{kInvalidInput, "builtin.http: " + std::move(message),
                       /*non_retryable=*/true};
}

std::string Lower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(c));
  return text;
}

std::string Trim(std::string text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())))
    text.pop_back();
  size_t start = 0;
  while (start < text.size() &&
         std::isspace(static_cast<unsigned char>(text[start])))
    ++start;
  return text.substr(start);
}

// One call: what curl needs, what it gathers, and whom to tell.
struct Call {
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  std::string url;
  std::string body;
  std::string response;
  Json response_headers = Json::object();
  size_t max_bytes = 0;
  bool too_large = false;
  const ActivityContext* context = nullptr;
  Activity::Done done;
  SteadyClock::time_point last_beat;
  SteadyClock::time_point started;

  ~Call() {
    if (easy != nullptr) curl_easy_cleanup(easy);
    if (headers != nullptr) curl_slist_free_all(headers);
  }
};

size_t OnBody(char* data, size_t size, size_t count, void* user) {
  Call* call = static_cast<Call*>(user);
  const size_t bytes = size * count;
  if (call->response.size() + bytes > call->max_bytes) {
    call->too_large = true;
    return 0;  // Aborts the transfer (CURLE_WRITE_ERROR).
  }
  call->response.append(data, bytes);
  return bytes;
}

size_t OnHeader(char* data, size_t size, size_t count, void* user) {
  Call* call = static_cast<Call*>(user);
  const size_t bytes = size * count;
  std::string line(data, bytes);
  if (line.rfind("HTTP/", 0) == 0) {
    // A new response (after a redirect or a 100 Continue): only the final
    // one's headers are returned.
    call->response_headers = Json::object();
    return bytes;
  }
  const size_t colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = Lower(Trim(line.substr(0, colon)));
    std::string value = Trim(line.substr(colon + 1));
    auto& slot = call->response_headers[name];
    // Repeated headers are joined, as HTTP allows for most of them.
    slot = slot.is_string() ? Json(slot.get<std::string>() + ", " + value)
                            : Json(value);
  }
  return bytes;
}

class Http final : public Activity {
 public:
  explicit Http(HttpOptions options) : options_(options) {
    static std::once_flag curl_ready;
    std::call_once(curl_ready, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
    multi_ = curl_multi_init();
    thread_ = std::thread([this] { Loop(); });
  }

  ~Http() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      quit_ = true;
    }
    curl_multi_wakeup(multi_);
    thread_.join();
    curl_multi_cleanup(multi_);
  }

  bool RunsAsync() const override { return true; }

  ActivityResult Run(const Json& input,
                     const ActivityContext& context) override {
    std::mutex mu;
    std::condition_variable cv;
    std::optional<ActivityResult> out;
    Start(input, context, [&](ActivityResult result) {
      std::lock_guard<std::mutex> lock(mu);
      out.emplace(std::move(result));
      cv.notify_one();
    });
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return out.has_value(); });
    return std::move(*out);
  }

  void Start(const Json& input, const ActivityContext& context,
             Done done) override {
    auto call = Prepare(input, context);
    if (!call.ok()) {
      done(call.error());
      return;
    }
    (*call)->done = std::move(done);
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (quit_) {
        (*call)->done(
            ActivityError{kCancelled, "the server is stopping", false});
        return;
      }
      pending_.push_back(std::move(*call));
    }
    curl_multi_wakeup(multi_);
  }

 private:
  Result<std::unique_ptr<Call>, ActivityError> Prepare(
      const Json& input, const ActivityContext& context) const {
    if (!input.is_object()) {
      return InvalidInput(
          "input is an object: {\"method\", \"url\", \"headers\", \"body\", "
          "\"timeout\"}");
    }
    for (const auto& [key, value] : input.items()) {
      if (key != "method" && key != "url" && key != "headers" &&
          key != "body" && key != "timeout") {
        return InvalidInput("unknown field \"" + key +
                            "\" (expected method, url, headers, body, "
                            "timeout)");
      }
    }
    auto call = std::make_unique<Call>();
    call->context = &context;
    call->max_bytes = options_.max_response_bytes;
    auto url = input.find("url");
    if (url == input.end() || !url->is_string()) {
      return InvalidInput("\"url\" is a string");
    }
    call->url = url->get<std::string>();
    const std::string scheme = Lower(call->url.substr(0, 8));
    if (scheme.rfind("http://", 0) != 0 && scheme.rfind("https://", 0) != 0) {
      return InvalidInput("\"url\" must be http:// or https://, not \"" +
                          call->url + "\"");
    }
    std::string method = "GET";
    if (auto m = input.find("method"); m != input.end()) {
      if (!m->is_string() || m->get_ref<const std::string&>().empty()) {
        return InvalidInput("\"method\" is a string such as \"POST\"");
      }
      method = m->get<std::string>();
      for (char& c : method) c = static_cast<char>(std::toupper(c));
      if (!std::all_of(method.begin(), method.end(),
                       [](char c) { return std::isupper(c); })) {
        return InvalidInput("\"method\" \"" + method + "\" is not a method");
      }
    }
    bool has_content_type = false;
    if (auto h = input.find("headers"); h != input.end()) {
      if (!h->is_object()) return InvalidInput("\"headers\" is an object");
      for (const auto& [name, value] : h->items()) {
        if (!value.is_string() || name.empty() ||
            name.find_first_of(":\r\n") != std::string::npos ||
            value.get_ref<const std::string&>().find_first_of("\r\n") !=
                std::string::npos) {
          return InvalidInput("\"headers\"." + name +
                              ": a name without ':' and a string value "
                              "without line breaks");
        }
        if (Lower(name) == "content-type") has_content_type = true;
        call->headers = curl_slist_append(
            call->headers, (name + ": " + value.get<std::string>()).c_str());
      }
    }
    bool has_body = false;
    if (auto b = input.find("body"); b != input.end() && !b->is_null()) {
      has_body = true;
      if (b->is_string()) {
        call->body = b->get<std::string>();
      } else {
        call->body = dsl::DumpJson(*b);
        if (!has_content_type) {
          call->headers = curl_slist_append(call->headers,
                                            "Content-Type: application/json");
        }
      }
    }
    Duration timeout = options_.default_timeout;
    if (auto t = input.find("timeout"); t != input.end()) {
      if (!t->is_string()) return InvalidInput("\"timeout\" is a duration");
      auto parsed = ParseDuration(t->get_ref<const std::string&>());
      if (!parsed.ok()) return InvalidInput(parsed.status().message());
      timeout = *parsed;
    }
    if (timeout.count() <= 0) timeout = Duration(1);

    CURL* easy = call->easy = curl_easy_init();
    if (easy == nullptr) {
      return ActivityError{"HttpError", "builtin.http: curl_easy_init failed",
                           false};
    }
    curl_easy_setopt(easy, CURLOPT_URL, call->url.c_str());
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(easy, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(easy, CURLOPT_MAXREDIRS, options_.max_redirects);
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS,
                     static_cast<long>(timeout.count()));
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(easy, CURLOPT_USERAGENT, "sagaflow/0.1");
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, OnBody);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, call.get());
    curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, OnHeader);
    curl_easy_setopt(easy, CURLOPT_HEADERDATA, call.get());
    curl_easy_setopt(easy, CURLOPT_PRIVATE, call.get());
    if (call->headers != nullptr) {
      curl_easy_setopt(easy, CURLOPT_HTTPHEADER, call->headers);
    }
    if (method == "HEAD") {
      curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
    } else if (method != "GET" || has_body) {
      curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, method.c_str());
    }
    if (has_body) {
      curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE,
                       static_cast<curl_off_t>(call->body.size()));
      curl_easy_setopt(easy, CURLOPT_POSTFIELDS, call->body.data());
    }
    return call;
  }

  // The I/O thread: adds new calls, drives transfers, reports the finished
  // and the cancelled, heartbeats the long ones.
  void Loop() {
    std::list<std::unique_ptr<Call>> active;
    while (true) {
      std::deque<std::unique_ptr<Call>> incoming;
      bool quit = false;
      {
        std::lock_guard<std::mutex> lock(mu_);
        incoming.swap(pending_);
        quit = quit_;
      }
      for (auto& call : incoming) {
        call->started = call->last_beat = SteadyClock::now();
        curl_multi_add_handle(multi_, call->easy);
        active.push_back(std::move(call));
      }
      if (quit) {
        for (auto& call : active) {
          curl_multi_remove_handle(multi_, call->easy);
          call->done(
              ActivityError{kCancelled, "the server is stopping", false});
        }
        return;
      }
      int running = 0;
      curl_multi_perform(multi_, &running);
      int left = 0;
      while (CURLMsg* msg = curl_multi_info_read(multi_, &left)) {
        if (msg->msg != CURLMSG_DONE) continue;
        Call* raw = nullptr;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &raw);
        const CURLcode code = msg->data.result;
        auto it = std::find_if(active.begin(), active.end(),
                               [&](const auto& c) { return c.get() == raw; });
        if (it == active.end()) continue;
        std::unique_ptr<Call> call = std::move(*it);
        active.erase(it);
        curl_multi_remove_handle(multi_, call->easy);
        call->done(Outcome(*call, code));
      }
      const auto now = SteadyClock::now();
      for (auto it = active.begin(); it != active.end();) {
        Call& call = **it;
        if (call.context->cancelled()) {
          curl_multi_remove_handle(multi_, call.easy);
          call.done(
              ActivityError{kCancelled, "builtin.http: cancelled", false});
          it = active.erase(it);
          continue;
        }
        if (call.context->heartbeat &&
            now - call.last_beat >= options_.heartbeat_every) {
          call.last_beat = now;
          call.context->heartbeat(Json::object());
        }
        ++it;
      }
      // Wakes for socket activity, a new call (curl_multi_wakeup) or the
      // tick that notices cancellations.
      curl_multi_poll(multi_, nullptr, 0, 50, nullptr);
    }
  }

  ActivityResult Outcome(Call& call, CURLcode code) const {
    if (call.too_large) {
      return ActivityError{
          "ResponseTooLarge",
          "builtin.http: the response from " + call.url + " is over " +
              std::to_string(options_.max_response_bytes) + " bytes",
          /*non_retryable=*/true};
    }
    if (code == CURLE_OPERATION_TIMEDOUT) {
      return ActivityError{
          "Timeout", "builtin.http: " + call.url + " did not answer in time",
          false};
    }
    if (code != CURLE_OK) {
      return ActivityError{
          "HttpError",
          "builtin.http: " + call.url + ": " + curl_easy_strerror(code), false};
    }
    long status = 0;
    curl_easy_getinfo(call.easy, CURLINFO_RESPONSE_CODE, &status);
    if (status >= 400) {
      std::string tail = call.response.substr(0, 512);
      return ActivityError{"HttpError",
                           "builtin.http: HTTP " + std::to_string(status) +
                               " from " + call.url +
                               (tail.empty() ? "" : ": " + tail),
                           /*non_retryable=*/status < 500};
    }
    Json body = call.response;
    auto type = call.response_headers.find("content-type");
    if (type != call.response_headers.end() &&
        Lower(type->get<std::string>()).find("json") != std::string::npos) {
      dsl::JsonParseOptions parse;
      parse.max_bytes = options_.max_response_bytes;
      if (auto parsed = dsl::ParseJson(call.response, parse); parsed.ok()) {
        body = std::move(*parsed);
      }
    }
    return Json{{"status", status},
                {"headers", std::move(call.response_headers)},
                {"body", std::move(body)}};
  }

  const HttpOptions options_;
  CURLM* multi_ = nullptr;
  std::mutex mu_;
  std::deque<std::unique_ptr<Call>> pending_;  // mu_
  bool quit_ = false;                          // mu_
  std::thread thread_;
};

}  // namespace

std::unique_ptr<Activity> NewHttp(HttpOptions options) {
  return std::make_unique<Http>(options);
}

}  // namespace sagaflow::activities
