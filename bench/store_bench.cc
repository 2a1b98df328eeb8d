// Commit throughput and latency of the RocksDB store, per durability mode and
// number of concurrent committers, and bytes on disk per transition after a
// full compaction. Prints a Markdown table (docs/BENCHMARKS.md holds the latest
// one).
//
// Usage: store_bench [--seconds S] [--dir DIR] [--modes sync,group,none]
// [--committers 1,16,256]
//                    [--in-flight 16,256]
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/ids.h"
#include "persistence/rocksdb_store.h"

namespace sagaflow::persistence {
namespace {

using SteadyClock = std::chrono::steady_clock;

struct Config {
  double seconds = 3;
  std::string dir = "store-bench-data";
  std::vector<std::string> modes = {"sync", "group", "none"};
  std::vector<int> committers = {1, 16, 256};
  // Commits kept in flight with CommitAsync by two partition threads that
  // resubmit each chain when its commit completes: how the engine drives the
  // store (no thread per transition).
  std::vector<int> in_flight = {16, 256};
};

std::vector<std::string> Split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string item; std::getline(in, item, ',');) out.push_back(item);
  return out;
}

// One step of a typical run: the run record with its checkpoint, a
// STEP_COMPLETED and a STEP_SCHEDULED event, the next task in, the finished
// task out. About 1 KB of payload.
Transition StepTransition(const std::string& id, uint64_t version) {
  Transition t;
  t.create = version == 0;
  const uint64_t next = version + 1;
  t.run.set_run_id(id);
  t.run.set_workflow("order_fulfillment");
  t.run.set_workflow_version(1);
  t.run.set_status(storage::RUN_STATUS_RUNNING);
  t.run.set_input_json(
      R"({"order_id":"o-18342","amount":129.5,"items":[{"sku":"A-1","qty":2},{"sku":"B-7","qty":1}]})");
  t.run.set_created_at_ms(1'795'600'800'000);
  t.run.set_updated_at_ms(1'795'600'800'000 + static_cast<int64_t>(next));
  t.run.add_current_steps("step-" + std::to_string(next));
  t.run.set_checkpoint(RandomHex(80));
  for (int i = 0; i < 2; ++i) {
    HistoryEventRecord& e = t.events.emplace_back();
    e.set_seq(2 * version + 1 + i);
    e.set_time_ms(1'795'600'800'000 + static_cast<int64_t>(next));
    e.set_type(i == 0 ? 4 : 2);
    e.set_step("step-" + std::to_string(next));
    e.set_attempt(1);
    // Ids and tokens make real payloads hard to compress; so do these.
    e.set_detail_json(R"({"output":{"reservation_id":")" + RandomHex(12) +
                      R"(","charge_id":")" + RandomHex(12) + R"("}})");
  }
  TaskRecord& task = t.put_tasks.emplace_back();
  task.set_task_id(id + "/" + std::to_string(next));
  task.set_run_id(id);
  task.set_step("step-" + std::to_string(next));
  task.set_attempt(1);
  task.set_activity("payments.charge");
  task.set_input_json(R"({"amount":129.5,"memo":"order o-18342"})");
  task.set_scheduled_at_ms(1'795'600'800'000);
  if (version > 0) t.delete_tasks.push_back(id + "/" + std::to_string(version));
  return t;
}

struct Row {
  std::string mode;
  std::string committers;
  double per_second = 0;
  double p50_us = 0, p99_us = 0;
  double bytes_per_transition = 0;
};

Row Measure(const Config& config, Durability durability, int committers,
            bool async) {
  const std::string dir = config.dir + "/" +
                          std::string(DurabilityName(durability)) + "-" +
                          std::to_string(committers) + (async ? "a" : "");
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  RocksDbOptions options;
  options.path = dir;
  options.durability = durability;
  auto opened = RocksDbStore::Open(options);
  if (!opened.ok()) {
    std::fprintf(stderr, "open: %s\n", opened.status().ToString().c_str());
    std::exit(1);
  }
  std::unique_ptr<RocksDbStore> store = std::move(opened).value();

  std::atomic<bool> stop{false};
  std::vector<std::vector<int64_t>> latencies(committers);
  const auto start = SteadyClock::now();
  if (async) {
    // Like the engine: two partition threads build and submit transitions; a
    // commit's callback (on the store's committer thread) only records its
    // latency and hands the chain back.
    struct Chain {
      std::string id;
      int run = 0;
      uint64_t version = 0;
      SteadyClock::time_point submitted;
    };
    constexpr int kPartitions = 2;
    std::vector<Chain> chains(committers);
    std::mutex mu;
    std::condition_variable cv;
    std::vector<std::vector<int>> ready(kPartitions);  // Guarded by mu.
    int in_flight = 0;                                 // Guarded by mu.
    for (int c = 0; c < committers; ++c) {
      chains[c].id = "c" + std::to_string(c) + "-r0";
      ready[c % kPartitions].push_back(c);
    }
    std::vector<std::thread> partitions;
    for (int p = 0; p < kPartitions; ++p) {
      partitions.emplace_back([&, p] {
        std::vector<int> batch;
        for (;;) {
          {
            std::unique_lock<std::mutex> lock(mu);
            cv.wait(lock, [&] { return stop.load() || !ready[p].empty(); });
            if (stop.load()) return;
            batch.swap(ready[p]);
            in_flight += static_cast<int>(batch.size());
          }
          for (int c : batch) {
            Chain& chain = chains[c];
            chain.submitted = SteadyClock::now();
            store->CommitAsync(
                StepTransition(chain.id, chain.version),
                [&, c, p](Result<Committed> r) {
                  if (!r.ok()) {
                    std::fprintf(stderr, "commit: %s\n",
                                 r.status().ToString().c_str());
                    std::exit(1);
                  }
                  Chain& ch = chains[c];
                  latencies[c].push_back(
                      std::chrono::duration_cast<std::chrono::microseconds>(
                          SteadyClock::now() - ch.submitted)
                          .count());
                  ch.version = r->version;
                  if (ch.version == 20) {
                    ch.version = 0;
                    ch.id = "c" + std::to_string(c) + "-r" +
                            std::to_string(++ch.run);
                  }
                  std::lock_guard<std::mutex> lock(mu);
                  --in_flight;
                  // Wake the partition only when its list was empty (it may be
                  // asleep); otherwise it picks this chain up with the others.
                  ready[p].push_back(c);
                  if (ready[p].size() == 1 || in_flight == 0) cv.notify_all();
                });
          }
          batch.clear();
        }
      });
    }
    std::this_thread::sleep_for(std::chrono::duration<double>(config.seconds));
    stop = true;
    cv.notify_all();
    for (auto& t : partitions) t.join();
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return in_flight == 0; });
  } else {
    std::vector<std::thread> threads;
    for (int c = 0; c < committers; ++c) {
      threads.emplace_back([&, c] {
        // Each committer moves its own runs forward, 20 steps each, then starts
        // new ones.
        uint64_t version = 0;
        int run = 0;
        std::string id = "c" + std::to_string(c) + "-r0";
        latencies[c].reserve(1 << 16);
        while (!stop.load(std::memory_order_relaxed)) {
          const auto t0 = SteadyClock::now();
          auto r = store->Commit(StepTransition(id, version));
          const auto t1 = SteadyClock::now();
          if (!r.ok()) {
            std::fprintf(stderr, "commit: %s\n", r.status().ToString().c_str());
            std::exit(1);
          }
          latencies[c].push_back(
              std::chrono::duration_cast<std::chrono::microseconds>(t1 - t0)
                  .count());
          version = r->version;
          if (version == 20) {
            version = 0;
            id = "c" + std::to_string(c) + "-r" + std::to_string(++run);
          }
        }
      });
    }
    std::this_thread::sleep_for(std::chrono::duration<double>(config.seconds));
    stop = true;
    for (auto& t : threads) t.join();
  }
  const double elapsed =
      std::chrono::duration<double>(SteadyClock::now() - start).count();

  std::vector<int64_t> all;
  for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  std::sort(all.begin(), all.end());
  Row row;
  row.mode = std::string(DurabilityName(durability));
  row.committers =
      std::to_string(committers) + (async ? " in flight (async)" : " threads");
  row.per_second = static_cast<double>(all.size()) / elapsed;
  row.p50_us = static_cast<double>(all[all.size() / 2]);
  row.p99_us =
      static_cast<double>(all[std::min(all.size() - 1, all.size() * 99 / 100)]);
  if (!store->CompactAll().ok()) std::exit(1);
  row.bytes_per_transition =
      static_cast<double>(store->SstBytes()) / static_cast<double>(all.size());
  store.reset();
  std::filesystem::remove_all(dir);
  return row;
}

int Main(int argc, char** argv) {
  Config config;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--seconds") {
      config.seconds = std::atof(value.c_str());
    } else if (flag == "--dir") {
      config.dir = value;
    } else if (flag == "--modes") {
      config.modes = Split(value);
    } else if (flag == "--committers") {
      config.committers.clear();
      for (const auto& n : Split(value))
        config.committers.push_back(std::atoi(n.c_str()));
    } else if (flag == "--in-flight") {
      config.in_flight.clear();
      for (const auto& n : Split(value))
        config.in_flight.push_back(std::atoi(n.c_str()));
    } else {
      std::fprintf(stderr, "unknown flag %s\n", flag.c_str());
      return 2;
    }
  }
  std::printf(
      "| mode | committers | transitions/s | p50 latency | p99 latency | "
      "bytes/transition on disk |\n");
  std::printf("|---|---|---|---|---|---|\n");
  for (const std::string& mode : config.modes) {
    auto durability = ParseDurability(mode);
    if (!durability) {
      std::fprintf(stderr, "unknown mode %s\n", mode.c_str());
      return 2;
    }
    auto print = [](const Row& r) {
      std::printf("| %s | %s | %.0f | %.2f ms | %.2f ms | %.0f |\n",
                  r.mode.c_str(), r.committers.c_str(), r.per_second,
                  r.p50_us / 1000.0, r.p99_us / 1000.0, r.bytes_per_transition);
      std::fflush(stdout);
    };
    for (int committers : config.committers)
      print(Measure(config, *durability, committers, false));
    for (int in_flight : config.in_flight)
      print(Measure(config, *durability, in_flight, true));
  }
  std::filesystem::remove_all(config.dir);
  return 0;
}

}  // namespace
}  // namespace sagaflow::persistence

int main(int argc, char** argv) {
  return sagaflow::persistence::Main(argc, argv);
}
