// trip-worker: the activities of samples/trip_booking.json, run as a remote
// worker of sagaflowd (samples/README.md).
//
//   trip.book_flight / trip.book_hotel / trip.book_car
//       -> {"booking_id": "<kind>-<trip_id>-<6 hex>", "kind": ..., <input>}
//   trip.cancel_flight / trip.cancel_hotel / trip.cancel_car
//       -> {"cancelled": "<booking_id>"}
//
// Fault injection for demos and tests: --fail, --stall, --delay, restricted to
// some trips with --when-trip-id. --effects-log appends one JSON line per
// executed activity. SIGINT/SIGTERM: finish the tasks in flight, exit 0.
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/ids.h"
#include "common/time.h"
#include "worker/worker.h"

namespace {

using nlohmann::json;
using sagaflow::worker::ActivityResult;
using sagaflow::worker::Task;
using sagaflow::worker::TaskContext;
using sagaflow::worker::TaskReport;

struct FailRule {
  std::string activity;  // short name: "book_car", "cancel_hotel"
  std::string error;
  bool non_retryable = false;
};

struct Config {
  std::vector<FailRule> fail;
  int fail_attempts = 0;  // 0: every attempt
  std::set<std::string> stall;
  std::set<std::string> when_trip_ids;  // empty: every trip
  std::chrono::milliseconds delay{0};
  int effects_fd = -1;
};

// "trip.book_car" and "book_car" both name the activity trip.book_car.
std::string ShortName(const std::string& name) {
  const std::string prefix = "trip.";
  return name.compare(0, prefix.size(), prefix) == 0
             ? name.substr(prefix.size())
             : name;
}

// booking ids are "<kind>-<trip_id>-<suffix>"; the trip id may contain '-'.
std::string TripFromBookingId(const std::string& booking_id) {
  const size_t first = booking_id.find('-');
  const size_t last = booking_id.rfind('-');
  if (first == std::string::npos || last <= first) return "";
  return booking_id.substr(first + 1, last - first - 1);
}

std::string Text(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null()) return "";
  return v.dump();
}

class TripWorker {
 public:
  explicit TripWorker(Config config) : config_(std::move(config)) {}

  ActivityResult Book(const std::string& kind, const Task& task,
                      TaskContext& ctx) {
    json input = json::parse(task.input_json, nullptr, false);
    if (input.is_discarded() || !input.is_object()) {
      return Executed(task, "", "",
                      ActivityResult::NonRetryable(
                          "InvalidInput", "input is not a JSON object"));
    }
    const std::string trip_id = Text(input.value("trip_id", json()));
    if (auto injected = Inject(task, trip_id, ctx)) {
      return Executed(task, trip_id, "", std::move(*injected));
    }
    const std::string booking_id =
        kind + "-" + trip_id + "-" + sagaflow::RandomHex(3);
    json output = input;
    output["booking_id"] = booking_id;
    output["kind"] = kind;
    return Executed(task, trip_id, booking_id,
                    ActivityResult::Ok(output.dump()));
  }

  ActivityResult Cancel(const Task& task, TaskContext& ctx) {
    json input = json::parse(task.input_json, nullptr, false);
    if (input.is_discarded() || !input.is_object() ||
        !input.value("booking_id", json()).is_string()) {
      return Executed(task, "", "",
                      ActivityResult::NonRetryable(
                          "InvalidInput", "input needs a string booking_id"));
    }
    const std::string booking_id = input["booking_id"].get<std::string>();
    const std::string trip_id = TripFromBookingId(booking_id);
    if (auto injected = Inject(task, trip_id, ctx)) {
      return Executed(task, trip_id, booking_id, std::move(*injected));
    }
    return Executed(task, trip_id, booking_id,
                    ActivityResult::Ok(json{{"cancelled", booking_id}}.dump()));
  }

 private:
  bool Targeted(const std::string& trip_id) const {
    return config_.when_trip_ids.empty() ||
           config_.when_trip_ids.count(trip_id) > 0;
  }

  // The delay, a stall or an injected failure; nullopt to do the real work.
  std::optional<ActivityResult> Inject(const Task& task,
                                       const std::string& trip_id,
                                       TaskContext& ctx) {
    if (config_.delay.count() > 0 && !ctx.SleepFor(config_.delay) &&
        ctx.cancel_requested()) {
      // Not wanted any more: do not book (a stopping worker still finishes).
      return ActivityResult::Fail("Cancelled", "cancelled during --delay");
    }
    const std::string name = ShortName(task.activity);
    if (!Targeted(trip_id)) return std::nullopt;
    if (config_.stall.count(name) > 0) {
      const auto start = std::chrono::steady_clock::now();
      const auto give_up = start + std::chrono::hours(1);
      while (std::chrono::steady_clock::now() < give_up) {
        const auto stalled =
            std::chrono::duration_cast<std::chrono::milliseconds>(
                std::chrono::steady_clock::now() - start);
        if (ctx.Heartbeat(json{{"stalled_ms", stalled.count()}}.dump())) break;
        ctx.SleepFor(std::chrono::seconds(1));
      }
      if (ctx.cancel_requested()) {
        return ActivityResult::Fail("Cancelled", "stall interrupted: cancel");
      }
      if (ctx.stopping()) {
        return ActivityResult::Fail("WorkerStopping",
                                    "stall interrupted: worker stopping");
      }
    }
    for (const FailRule& rule : config_.fail) {
      if (rule.activity != name) continue;
      if (config_.fail_attempts > 0 &&
          task.attempt > static_cast<uint32_t>(config_.fail_attempts)) {
        continue;
      }
      return ActivityResult::Fail(
          rule.error,
          "injected by --fail " + rule.activity +
              (rule.non_retryable ? ":" + rule.error : ""),
          rule.non_retryable);
    }
    return std::nullopt;
  }

  // Appends the effect line and passes the result on.
  ActivityResult Executed(const Task& task, const std::string& trip_id,
                          const std::string& booking_id,
                          ActivityResult result) {
    if (config_.effects_fd >= 0) {
      json line = {
          {"activity", task.activity},
          {"run_id", task.run_id},
          {"step", task.step},
          {"attempt", task.attempt},
          {"is_compensation", task.is_compensation},
          {"trip_id", trip_id},
          {"booking_id", booking_id.empty() ? json() : json(booking_id)},
          {"outcome", result.ok() ? "completed" : "failed"}};
      if (!result.ok()) line["error"] = result.failure().error;
      const std::string text = line.dump() + "\n";
      std::lock_guard<std::mutex> lock(effects_mu_);
      // O_APPEND: one write per line keeps lines whole across processes.
      if (write(config_.effects_fd, text.data(), text.size()) < 0) {
        std::perror("trip-worker: effects log");
      }
    }
    return result;
  }

  Config config_;
  std::mutex effects_mu_;
};

void PrintReport(const TaskReport& r) {
  const Task& t = *r.task;
  std::string line = "trip-worker: " + t.activity + " run=" + t.run_id +
                     " step=" + t.step +
                     (t.is_compensation ? " (compensation)" : "") +
                     " attempt=" + std::to_string(t.attempt) + " -> ";
  if (r.result->ok()) {
    line += "completed " + r.result->output_json();
  } else {
    const auto& f = r.result->failure();
    line += "failed " + f.error + (f.non_retryable ? " (non-retryable)" : "") +
            (f.message.empty() ? "" : ": " + f.message);
  }
  char ms[32];
  std::snprintf(ms, sizeof(ms), " [%.1f ms]",
                static_cast<double>(r.poll_to_report.count()) / 1000.0);
  line += ms;
  if (r.report.code() == sagaflow::StatusCode::kNotFound) {
    line += " (stale token: the server no longer wanted it)";
  } else if (!r.report.ok()) {
    line += " (not reported: " + r.report.ToString() + ")";
  }
  std::cerr << line + "\n";
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"trip-worker: the trip_booking activities as a sagaflow worker"};
  const char* env_server = std::getenv("SAGAFLOW_SERVER");
  std::string server = env_server != nullptr && *env_server != '\0'
                           ? env_server
                           : "127.0.0.1:7600";
  int concurrency = 4;
  std::string worker_id;
  std::vector<std::string> fail_specs;
  std::vector<std::string> stall_specs;
  std::vector<std::string> when_trip_ids;
  std::string delay_text;
  std::string heartbeat_text;
  std::string effects_path;
  Config config;
  app.add_option("--server", server, "sagaflowd address (env SAGAFLOW_SERVER)")
      ->capture_default_str();
  app.add_option("--concurrency", concurrency, "tasks run at once")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  app.add_option("--worker-id", worker_id, "identity sent with polls");
  app.add_option("--fail", fail_specs,
                 "STEP[:ERROR]: make trip.STEP fail (book_car, cancel_hotel, "
                 "...); with ERROR non-retryable with that error, without it "
                 "retryable TransientError. Repeatable");
  app.add_option("--fail-attempts", config.fail_attempts,
                 "only attempts 1..N fail (0: all)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--stall", stall_specs,
                 "STEP: hang (heartbeating each second) until the attempt is "
                 "cancelled or times out. Repeatable");
  app.add_option("--when-trip-id", when_trip_ids,
                 "apply --fail and --stall only to runs whose trip_id is this. "
                 "Repeatable");
  app.add_option("--delay", delay_text,
                 "sleep this long in every activity (e.g. 500ms)");
  app.add_option("--heartbeat-interval", heartbeat_text,
                 "heartbeat every running task this often (e.g. 1s; default: "
                 "only stalls heartbeat)");
  app.add_option("--effects-log", effects_path,
                 "append one JSON line per executed activity to FILE");
  CLI11_PARSE(app, argc, argv);

  for (const std::string& spec : fail_specs) {
    const size_t colon = spec.find(':');
    FailRule rule;
    rule.activity = ShortName(spec.substr(0, colon));
    if (colon != std::string::npos && colon + 1 < spec.size()) {
      rule.error = spec.substr(colon + 1);
      rule.non_retryable = true;
    } else {
      rule.error = "TransientError";
    }
    config.fail.push_back(rule);
  }
  for (const std::string& s : stall_specs) config.stall.insert(ShortName(s));
  config.when_trip_ids.insert(when_trip_ids.begin(), when_trip_ids.end());
  if (!delay_text.empty()) {
    auto d = sagaflow::ParseDuration(delay_text);
    if (!d.ok()) {
      std::cerr << "trip-worker: --delay: " << d.status().ToString() << "\n";
      return 2;
    }
    config.delay = *d;
  }
  std::chrono::milliseconds heartbeat_interval{0};
  if (!heartbeat_text.empty()) {
    auto d = sagaflow::ParseDuration(heartbeat_text);
    if (!d.ok()) {
      std::cerr << "trip-worker: --heartbeat-interval: "
                << d.status().ToString() << "\n";
      return 2;
    }
    heartbeat_interval = *d;
  }
  if (!effects_path.empty()) {
    config.effects_fd = open(effects_path.c_str(),
                             O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (config.effects_fd < 0) {
      std::perror(("trip-worker: " + effects_path).c_str());
      return 2;
    }
  }

  // Signals are taken by one thread with sigwait (not a handler), so Stop()
  // runs in an ordinary thread. Block them before any thread starts.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGUSR1);  // internal: wakes the signal thread at exit
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  TripWorker trip(config);
  sagaflow::worker::WorkerOptions options;
  options.server = server;
  options.worker_id = worker_id;
  options.concurrency = concurrency;
  options.heartbeat_interval = heartbeat_interval;
  options.on_task_done = PrintReport;
  sagaflow::worker::Worker worker(options);

  for (const std::string kind : {"flight", "hotel", "car"}) {
    sagaflow::Status s = worker.Register(
        "trip.book_" + kind, [&trip, kind](const Task& t, TaskContext& c) {
          return trip.Book(kind, t, c);
        });
    if (s.ok()) {
      s = worker.Register(
          "trip.cancel_" + kind,
          [&trip](const Task& t, TaskContext& c) { return trip.Cancel(t, c); });
    }
    if (!s.ok()) {
      std::cerr << "trip-worker: " << s.ToString() << "\n";
      return 1;
    }
  }

  std::atomic<bool> done{false};
  std::thread signal_thread([&] {
    std::optional<std::chrono::steady_clock::time_point> first;
    while (true) {
      int sig = 0;
      if (sigwait(&signals, &sig) != 0) continue;
      if (done) return;
      if (sig == SIGUSR1) continue;
      const auto now = std::chrono::steady_clock::now();
      if (!first) {
        first = now;
        std::cerr << "trip-worker: " << strsignal(sig)
                  << ": stopping after the tasks in flight (again to "
                     "exit now)\n";
        worker.Stop();
      } else if (now - *first > std::chrono::seconds(1)) {
        // A second signal within a second is the same request (a signal to
        // the process and to its group); a later one means "now".
        std::cerr << "trip-worker: exiting without waiting\n";
        std::_Exit(130);
      }
    }
  });

  std::cerr << "trip-worker: serving trip.* on " << server << " as "
            << worker.options().worker_id << ", concurrency " << concurrency
            << "\n";
  const sagaflow::Status status = worker.Run();
  done = true;
  pthread_kill(signal_thread.native_handle(), SIGUSR1);
  signal_thread.join();
  if (config.effects_fd >= 0) close(config.effects_fd);
  if (!status.ok()) {
    std::cerr << "trip-worker: " << status.ToString() << "\n";
    return 1;
  }
  std::cerr << "trip-worker: stopped\n";
  return 0;
}
