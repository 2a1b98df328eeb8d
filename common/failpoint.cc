#include "common/failpoint.h"

#include <signal.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <random>
#include <thread>

namespace sagaflow::failpoint {
namespace {

enum class Action { kOff, kCrash, kSleep };

struct Point {
  Action action = Action::kOff;
  double probability = 1.0;  // kCrash: chance per hit.
  uint64_t on_hit = 0;       // kCrash: only the Nth hit (0: any).
  int64_t sleep_ms = 0;      // kSleep.
  uint64_t hits = 0;
};

struct Registry {
  std::mutex mu;
  std::map<std::string, Point, std::less<>> points;  // Guarded by mu.
  std::mt19937_64 random{std::random_device{}()};    // Guarded by mu.
};

Registry& TheRegistry() {
  static Registry* const registry = new Registry();
  return *registry;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

// The text between `open` and a final ')' after `prefix`, e.g. "0.5" in
// "crash(0.5)".
bool Argument(std::string_view action, std::string_view prefix,
              std::string* out) {
  if (action.size() < prefix.size() + 2 ||
      action.substr(0, prefix.size()) != prefix ||
      action[prefix.size()] != '(' || action.back() != ')') {
    return false;
  }
  *out = std::string(
      action.substr(prefix.size() + 1, action.size() - prefix.size() - 2));
  return true;
}

Result<Point> ParseAction(std::string_view name, std::string_view action) {
  const std::string where = "failpoint " + std::string(name) + ": ";
  Point p;
  std::string arg;
  char* end = nullptr;
  if (action == "off") return p;
  if (action == "crash") {
    p.action = Action::kCrash;
    return p;
  }
  if (Argument(action, "crash", &arg)) {
    p.action = Action::kCrash;
    p.probability = std::strtod(arg.c_str(), &end);
    if (arg.empty() || *end != '\0' || !(p.probability > 0) ||
        p.probability > 1) {
      return Status::InvalidArgument(
          where + "crash(P) needs a probability in (0, 1], got \"" + arg +
          "\"");
    }
    return p;
  }
  if (action.substr(0, 6) == "crash@") {
    arg = std::string(action.substr(6));
    p.action = Action::kCrash;
    const unsigned long long n = std::strtoull(arg.c_str(), &end, 10);
    if (arg.empty() || *end != '\0' || n == 0) {
      return Status::InvalidArgument(
          where + "crash@N needs a hit number of 1 or more, got \"" + arg +
          "\"");
    }
    p.on_hit = n;
    return p;
  }
  if (Argument(action, "sleep", &arg)) {
    p.action = Action::kSleep;
    const long long ms = std::strtoll(arg.c_str(), &end, 10);
    if (arg.empty() || *end != '\0' || ms < 0 || ms > 600'000) {
      return Status::InvalidArgument(
          where + "sleep(MS) needs 0 to 600000 milliseconds, got \"" + arg +
          "\"");
    }
    p.sleep_ms = ms;
    return p;
  }
  return Status::InvalidArgument(
      where + "unknown action \"" + std::string(action) +
      "\" (use crash, crash(P), crash@N, sleep(MS) or off)");
}

Result<std::map<std::string, Point, std::less<>>> Parse(std::string_view spec) {
  std::map<std::string, Point, std::less<>> points;
  while (!spec.empty()) {
    const size_t cut = spec.find_first_of(";");
    std::string_view item = Trim(spec.substr(0, cut));
    spec = cut == std::string_view::npos ? std::string_view()
                                         : spec.substr(cut + 1);
    if (item.empty()) continue;
    const size_t eq = item.find('=');
    if (eq == std::string_view::npos) {
      return Status::InvalidArgument("failpoint \"" + std::string(item) +
                                     "\" has no action: write NAME=ACTION");
    }
    const std::string_view name = Trim(item.substr(0, eq));
    bool known = false;
    for (std::string_view k : Known()) known = known || k == name;
    if (!known) {
      std::string names;
      for (std::string_view k : Known()) {
        names += (names.empty() ? "" : ", ") + std::string(k);
      }
      return Status::InvalidArgument("unknown failpoint \"" +
                                     std::string(name) + "\" (known: " + names +
                                     ")");
    }
    auto point = ParseAction(name, Trim(item.substr(eq + 1)));
    if (!point.ok()) return point.status();
    points[std::string(name)] = *point;
  }
  return points;
}

#ifdef SAGAFLOW_ENABLE_FAILPOINTS
// Arms the failpoints named in the environment before main() runs. A bad
// specification must not pass unnoticed in a test: it stops the process.
const bool kFromEnvironment = [] {
  const char* spec = std::getenv("SAGAFLOW_FAILPOINTS");
  if (spec == nullptr || *spec == '\0') return false;
  Status configured = Configure(spec);
  if (!configured.ok()) {
    std::fprintf(stderr, "SAGAFLOW_FAILPOINTS: %s\n",
                 configured.message().c_str());
    std::_Exit(2);
  }
  return true;
}();
#endif

}  // namespace

namespace internal {

std::atomic<bool> armed{false};

void Hit(std::string_view name) {
  Registry& r = TheRegistry();
  int64_t sleep_ms = 0;
  {
    std::lock_guard<std::mutex> lock(r.mu);
    auto it = r.points.find(name);
    if (it == r.points.end()) return;
    Point& p = it->second;
    ++p.hits;
    switch (p.action) {
      case Action::kOff:
        return;
      case Action::kSleep:
        sleep_ms = p.sleep_ms;
        break;
      case Action::kCrash: {
        const bool fire = p.on_hit != 0
                              ? p.hits == p.on_hit
                              : std::uniform_real_distribution<double>(
                                    0, 1)(r.random) < p.probability;
        if (fire) {
          std::fprintf(stderr, "failpoint %.*s: crash\n",
                       static_cast<int>(name.size()), name.data());
          std::fflush(stderr);
          ::raise(SIGKILL);
        }
        return;
      }
    }
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(sleep_ms));
}

}  // namespace internal

const std::vector<std::string_view>& Known() {
  static const std::vector<std::string_view>* const known =
      new std::vector<std::string_view>{
          // A poll took a task off its queue; the attempt's start (its
          // lease) is not committed yet.
          "engine.dispatch.before_lease",
          // The start is committed; the task has not reached the worker.
          "engine.dispatch.before_deliver",
          // A completion or failure arrived; its commit has not started.
          "engine.complete.before_commit",
          // The store built a write batch and has not written it.
          "store.commit.before_write",
          // A commit is durable; its caller has not been answered.
          "engine.commit.before_reply",
      };
  return *known;
}

Status Configure(std::string_view spec) {
  if (!Compiled()) {
    return Status::FailedPrecondition(
        "this build has no failpoints (configure with "
        "-DSAGAFLOW_FAILPOINTS=ON)");
  }
  auto points = Parse(spec);
  if (!points.ok()) return points.status();
  Registry& r = TheRegistry();
  std::lock_guard<std::mutex> lock(r.mu);
  r.points = std::move(*points);
  internal::armed.store(!r.points.empty(), std::memory_order_relaxed);
  return Status::Ok();
}

uint64_t Hits(std::string_view name) {
  Registry& r = TheRegistry();
  std::lock_guard<std::mutex> lock(r.mu);
  auto it = r.points.find(name);
  return it == r.points.end() ? 0 : it->second.hits;
}

bool Compiled() {
#ifdef SAGAFLOW_ENABLE_FAILPOINTS
  return true;
#else
  return false;
#endif
}

}  // namespace sagaflow::failpoint
