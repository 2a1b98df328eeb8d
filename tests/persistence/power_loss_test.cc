// Power loss: the store runs on FaultInjectionFs; after a burst of concurrent
// commits the power is cut (unsynced data is dropped) and the store reopened.
// With `sync` and `group` no acknowledged transition may be lost; with `none`
// the same scenario must show loss, which proves the test can see it.
#include <gtest/gtest.h>
#include <rocksdb/env.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "persistence/rocksdb_store.h"
#include "tests/persistence/fault_injection_fs.h"
#include "tests/persistence/test_util.h"

namespace sagaflow::persistence {
namespace {

struct Outcome {
  size_t acknowledged = 0;
  size_t lost = 0;
  uint64_t dropped_bytes = 0;
};

// Committers run until the power is cut in the middle of their work, at a
// random number of acknowledgements. Only acknowledgements recorded before the
// cut count: each came from a commit that returned (so synced, in sync and
// group modes) before the outage.
Outcome CommitThenLosePower(Durability durability) {
  const std::string dir = testing::MakeTempDir("power");
  auto fs = std::make_shared<testing::FaultInjectionFs>(
      rocksdb::FileSystem::Default());
  std::unique_ptr<rocksdb::Env> env = rocksdb::NewCompositeEnv(fs);
  RocksDbOptions options;
  options.path = dir;
  options.durability = durability;
  options.env = env.get();
  // Small memtables: flushes, new WAL files and MANIFEST updates happen during
  // the burst too, not only appends to one WAL.
  options.write_buffer_bytes = 64 << 10;
  auto opened = RocksDbStore::Open(options);
  EXPECT_TRUE(opened.ok()) << opened.status().ToString();
  if (!opened.ok()) return {};
  std::unique_ptr<RocksDbStore> store = std::move(opened).value();

  constexpr int kThreads = 8, kRunsPerThread = 4;
  const unsigned seed = std::random_device{}();
  std::mt19937 rng(seed);
  const size_t cut_after = std::uniform_int_distribution<size_t>(200, 800)(rng);
  SCOPED_TRACE("seed " + std::to_string(seed) + ", power cut after " +
               std::to_string(cut_after) + " acknowledgements");
  std::mutex mu;
  std::condition_variable cv;
  std::map<std::string, uint64_t> acked;  // Guarded by mu.
  size_t ack_count = 0;                   // Guarded by mu.
  bool power_cut = false;                 // Guarded by mu.
  std::atomic<bool> stop{false};
  auto record = [&](const std::string& id, uint64_t version) {
    std::lock_guard<std::mutex> lock(mu);
    if (power_cut) return;
    acked[id] = version;
    if (++ack_count == cut_after) cv.notify_one();
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::vector<std::string> ids;
      std::vector<uint64_t> versions(kRunsPerThread, 0);
      for (int r = 0; r < kRunsPerThread; ++r) {
        ids.push_back("p" + std::to_string(t) + "-" + std::to_string(r));
      }
      for (size_t i = 0; !stop.load(); i = (i + 1) % ids.size()) {
        Transition next =
            versions[i] == 0
                ? testing::CreateRun(ids[i], "power", 1000, 1)
                : testing::UpdateRun(ids[i], storage::RUN_STATUS_RUNNING,
                                     versions[i]);
        auto c = store->Commit(std::move(next));
        if (!c.ok()) break;
        versions[i] = c->version;
        record(ids[i], c->version);
      }
    });
  }
  {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return ack_count >= cut_after; });
    power_cut = true;
    fs->CutPower();
  }
  stop = true;
  for (auto& th : threads) th.join();
  store.reset();
  Outcome outcome;
  outcome.dropped_bytes = fs->DropUnsyncedData();

  RocksDbOptions plain;
  plain.path = dir;
  auto reopened = RocksDbStore::Open(plain);
  EXPECT_TRUE(reopened.ok()) << reopened.status().ToString();
  if (!reopened.ok()) return outcome;
  for (const auto& [id, version] : acked) {
    outcome.acknowledged += version;
    auto run = (*reopened)->GetRun(id);
    const uint64_t stored = run.ok() ? run->version() : 0;
    if (stored < version) outcome.lost += version - stored;
    if (run.ok()) {
      // Whatever survived is whole: its history matches its version.
      auto history = (*reopened)->ReadHistory(id, 0, 0);
      EXPECT_TRUE(history.ok()) << history.status().ToString();
      if (history.ok()) {
        EXPECT_EQ(history->size(), stored) << id;
      }
    }
  }
  reopened.value().reset();
  testing::RemoveDir(dir);
  std::cout << "[ power ] " << DurabilityName(durability) << ": "
            << outcome.acknowledged << " acknowledged, " << outcome.lost
            << " lost, " << outcome.dropped_bytes
            << " unsynced bytes dropped\n";
  return outcome;
}

TEST(PowerLossTest, SyncModeLosesNothingAcknowledged) {
  const Outcome o = CommitThenLosePower(Durability::kSync);
  EXPECT_GT(o.acknowledged, 0u);
  EXPECT_EQ(o.lost, 0u);
}

TEST(PowerLossTest, GroupModeLosesNothingAcknowledged) {
  const Outcome o = CommitThenLosePower(Durability::kGroup);
  EXPECT_GT(o.acknowledged, 0u);
  EXPECT_EQ(o.lost, 0u);
}

TEST(PowerLossTest, NoSyncModeShowsLossSoTheTestCanSeeIt) {
  const Outcome o = CommitThenLosePower(Durability::kNone);
  EXPECT_GT(o.acknowledged, 0u);
  EXPECT_GT(o.dropped_bytes, 0u);
  EXPECT_GT(o.lost, 0u)
      << "unsynced writes were dropped, yet nothing acknowledged was lost";
}

}  // namespace
}  // namespace sagaflow::persistence
