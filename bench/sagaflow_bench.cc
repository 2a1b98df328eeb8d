// sagaflow-bench: end-to-end engine throughput and latency on a real RocksDB
// store, for N runs of a workflow of K builtin.noop steps (docs/BENCHMARKS.md).
//
// Two phases: first --lone-runs runs one at a time (per-step latency of a lone
// run: its start-to-end time divided by K), then --runs runs with
// --concurrency of them in flight (throughput, CPU per 1000 steps). Prints one
// JSON object on stdout.
#include <sys/resource.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "activities/registry.h"
#include "bench/stats.h"
#include "engine/engine.h"
#include "persistence/rocksdb_store.h"

namespace {

using sagaflow::Duration;
using sagaflow::engine::Engine;
using sagaflow::engine::EngineOptions;
using sagaflow::engine::StartRunRequest;
using sagaflow::engine::StartRunResponse;
using Clock = std::chrono::steady_clock;

double CpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) /
             1e6;
}

double MaxRssMb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;  // ru_maxrss: KiB
}

// via_pool: builtin.sleep of 0s instead of builtin.noop, so every step goes
// through the agent pool's threads rather than running inline.
std::string Definition(int steps, bool via_pool) {
  nlohmann::json def;
  def["name"] = "bench";
  def["start_at"] = "s1";
  nlohmann::json all = nlohmann::json::object();
  for (int i = 1; i <= steps; ++i) {
    nlohmann::json step = {{"type", "task"}, {"activity", "builtin.noop"}};
    if (via_pool) {
      step["activity"] = "builtin.sleep";
      step["input"] = {{"duration", "0s"}};
    }
    if (i < steps) step["next"] = "s" + std::to_string(i + 1);
    all["s" + std::to_string(i)] = step;
  }
  def["steps"] = all;
  return def.dump();
}

// Counts runs as they stop (callback from the engine) and lets the driver
// wait for a given count.
class Finished {
 public:
  void Add() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++count_;
    }
    cv_.notify_all();
  }
  void WaitFor(uint64_t n) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return count_ >= n; });
  }
  uint64_t count() {
    std::lock_guard<std::mutex> lock(mu_);
    return count_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  uint64_t count_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"sagaflow-bench: engine throughput and latency on RocksDB"};
  int runs = 10000;
  int steps = 10;
  std::string durability_name = "group";
  int concurrency = 256;
  int lone_runs = 50;
  int partitions = 2;
  int agents = 2;
  std::string dir;
  bool keep = false;
  bool via_pool = false;
  app.add_option("--runs", runs, "runs in the throughput phase")
      ->check(CLI::PositiveNumber);
  app.add_option("--steps", steps, "builtin.noop steps per run")
      ->check(CLI::Range(1, 1000));
  app.add_option("--durability", durability_name, "sync | group | none")
      ->check(CLI::IsMember({"sync", "group", "none"}));
  app.add_option("--concurrency", concurrency, "runs in flight")
      ->check(CLI::PositiveNumber);
  app.add_option("--lone-runs", lone_runs,
                 "runs measured one at a time for latency")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--partitions", partitions, "engine partitions")
      ->check(CLI::PositiveNumber);
  app.add_option("--agents", agents, "agent threads")
      ->check(CLI::PositiveNumber);
  app.add_option("--dir", dir, "data directory (default: a fresh temp dir)");
  app.add_flag("--keep", keep, "keep the data directory");
  app.add_flag("--via-pool", via_pool,
               "steps run builtin.sleep 0s on the agent pool instead of "
               "builtin.noop inline");
  CLI11_PARSE(app, argc, argv);

  const bool own_dir = dir.empty();
  if (own_dir) {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "sagaflow-bench-XXXXXX")
            .string();
    if (mkdtemp(tmpl.data()) == nullptr) {
      std::perror("mkdtemp");
      return 1;
    }
    dir = tmpl;
  }

  sagaflow::persistence::RocksDbOptions store_options;
  store_options.path = dir + "/db";
  store_options.durability =
      *sagaflow::persistence::ParseDurability(durability_name);
  auto store = sagaflow::persistence::RocksDbStore::Open(store_options);
  if (!store.ok()) {
    std::cerr << "store: " << store.status().ToString() << "\n";
    return 1;
  }
  auto registry = sagaflow::activities::ActivityRegistry::WithBuiltins();

  Finished finished;
  EngineOptions options;
  options.partitions = static_cast<size_t>(partitions);
  options.agent_threads = static_cast<size_t>(agents);
  options.on_run_stopped = [&](const sagaflow::persistence::RunRecord&) {
    finished.Add();
  };
  auto engine = Engine::Open(store->get(), &registry, options);
  if (!engine.ok()) {
    std::cerr << "engine: " << engine.status().ToString() << "\n";
    return 1;
  }
  auto registered = (*engine)->RegisterWorkflow(Definition(steps, via_pool));
  if (!registered.ok()) {
    std::cerr << "register: " << registered.status().ToString() << "\n";
    return 1;
  }

  std::atomic<uint64_t> failures{0};
  const auto start_one = [&](Engine& e) {
    StartRunRequest request;
    request.workflow = "bench";
    e.StartRunAsync(std::move(request),
                    [&](sagaflow::Result<StartRunResponse> r) {
                      if (!r.ok()) {
                        failures.fetch_add(1);
                        finished.Add();
                      }
                    });
  };

  // Phase 1: lone runs.
  std::vector<double> step_latency_us;
  uint64_t target = 0;
  for (int i = 0; i < lone_runs; ++i) {
    const auto t0 = Clock::now();
    start_one(**engine);
    finished.WaitFor(++target);
    const double us =
        std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
    step_latency_us.push_back(us / steps);
  }

  // Phase 2: throughput with `concurrency` runs in flight.
  const double cpu0 = CpuSeconds();
  const auto t0 = Clock::now();
  const uint64_t base = target;
  uint64_t started = 0;
  while (started < static_cast<uint64_t>(runs)) {
    const uint64_t done = finished.count() - base;
    const uint64_t in_flight = started - done;
    if (in_flight >= static_cast<uint64_t>(concurrency)) {
      finished.WaitFor(base + started - concurrency + 1);
      continue;
    }
    start_one(**engine);
    ++started;
  }
  finished.WaitFor(base + runs);
  const double seconds =
      std::chrono::duration<double>(Clock::now() - t0).count();
  const double cpu = CpuSeconds() - cpu0;
  (*engine)->Shutdown();

  const double total_steps = static_cast<double>(runs) * steps;
  nlohmann::json out;
  out["runs"] = runs;
  out["steps"] = steps;
  out["durability"] = durability_name;
  out["concurrency"] = concurrency;
  out["partitions"] = partitions;
  out["agents"] = agents;
  out["activity"] = via_pool ? "builtin.sleep 0s (agent pool)" : "builtin.noop";
  out["seconds"] = seconds;
  out["runs_per_s"] = runs / seconds;
  out["steps_per_s"] = total_steps / seconds;
  out["step_latency_us_p50"] = sagaflow::bench::Percentile(step_latency_us, 50);
  out["step_latency_us_p99"] = sagaflow::bench::Percentile(step_latency_us, 99);
  out["cpu_seconds_per_1000_steps"] = cpu / total_steps * 1000.0;
  out["max_rss_mb"] = MaxRssMb();
  out["failed_starts"] = failures.load();
  std::cout << out.dump() << std::endl;

  engine->reset();
  store->reset();
  if (own_dir && !keep) {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  return failures.load() == 0 ? 0 : 1;
}
