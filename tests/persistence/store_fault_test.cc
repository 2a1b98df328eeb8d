// A full or failing disk under a live store (FaultInjectionFs): writes fail
// with a status naming the cause, reads keep working, Health() and the
// on_health_change hook report the failure, and the store recovers on its own
// once the disk works again. What the failed write left is the same before and
// after a restart, every run is whole, and run numbers are never reused.
#include <gtest/gtest.h>
#include <rocksdb/env.h>

#include <atomic>
#include <condition_variable>
#include <iostream>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "persistence/rocksdb_store.h"
#include "tests/persistence/fault_injection_fs.h"
#include "tests/persistence/test_util.h"

namespace sagaflow::persistence {
namespace {

using WriteFault = testing::FaultInjectionFs::WriteFault;
using std::chrono::milliseconds;

// What on_health_change reported, in order.
class HealthLog {
 public:
  std::function<void(const Status&)> Hook() {
    return [this](const Status& health) {
      std::lock_guard<std::mutex> lock(mu_);
      changes_.push_back(health);
      cv_.notify_all();
    };
  }
  // Waits until `n` changes were reported, at most `timeout`.
  bool Await(size_t n, milliseconds timeout = std::chrono::seconds(20)) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return changes_.size() >= n; });
  }
  std::vector<Status> changes() {
    std::lock_guard<std::mutex> lock(mu_);
    return changes_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Status> changes_;  // Guarded by mu_.
};

struct FaultCase {
  std::string name;
  WriteFault fault;
  // Must appear in the failed commit's status and in Health().
  std::string cause;
};

void PrintTo(const FaultCase& c, std::ostream* os) { *os << c.name; }

class StoreFaultTest : public ::testing::TestWithParam<FaultCase> {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTempDir("fault");
    fs_ = std::make_shared<testing::FaultInjectionFs>(
        rocksdb::FileSystem::Default());
    env_ = rocksdb::NewCompositeEnv(fs_);
  }
  void TearDown() override { testing::RemoveDir(dir_); }

  RocksDbOptions Options(milliseconds recovery_interval = milliseconds(20)) {
    RocksDbOptions options;
    options.path = dir_;
    options.env = env_.get();
    options.recovery_interval = recovery_interval;
    options.on_health_change = health_.Hook();
    return options;
  }
  std::unique_ptr<RocksDbStore> Open(const RocksDbOptions& options) {
    auto store = RocksDbStore::Open(options);
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    return store.ok() ? std::move(store).value() : nullptr;
  }
  // The store as a restarted process sees it (the real file system).
  std::unique_ptr<RocksDbStore> Reopen() {
    RocksDbOptions plain;
    plain.path = dir_;
    return Open(plain);
  }

  std::string dir_;
  std::shared_ptr<testing::FaultInjectionFs> fs_;
  std::unique_ptr<rocksdb::Env> env_;
  HealthLog health_;
};

TEST_P(StoreFaultTest, WritesFailReadsWorkAndTheStoreRecoversWithoutReopen) {
  const FaultCase& c = GetParam();
  std::unique_ptr<RocksDbStore> store = Open(Options());
  ASSERT_NE(store, nullptr);
  auto before = store->Commit(testing::CreateRun("before", "w", 1000, 3));
  ASSERT_TRUE(before.ok()) << before.status().ToString();
  ASSERT_TRUE(store
                  ->Commit(testing::UpdateRun(
                      "before", storage::RUN_STATUS_RUNNING, 3, 1))
                  .ok());
  auto active = store->Commit(testing::CreateRun("active", "w", 2000, 2));
  ASSERT_TRUE(active.ok()) << active.status().ToString();
  ScheduleRecord schedule;
  schedule.set_schedule_id("nightly");
  ASSERT_TRUE(store->PutSchedule(schedule, true, std::nullopt).ok());
  EXPECT_TRUE(store->Health().ok());

  fs_->SetWriteFault(c.fault);
  // A create: its run number is taken, and its outcome is unknown.
  auto during = store->Commit(testing::CreateRun("during", "w", 3000, 3));
  ASSERT_FALSE(during.ok());
  EXPECT_EQ(during.status().code(), StatusCode::kIoError)
      << during.status().ToString();
  EXPECT_NE(during.status().message().find("outcome is unknown"),
            std::string::npos)
      << during.status().ToString();
  EXPECT_NE(during.status().message().find(c.cause), std::string::npos)
      << during.status().ToString();

  // Health() and the hook report it, naming the cause.
  const Status health = store->Health();
  EXPECT_EQ(health.code(), StatusCode::kUnavailable) << health.ToString();
  EXPECT_NE(health.message().find(c.cause), std::string::npos)
      << health.ToString();
  ASSERT_TRUE(health_.Await(1));
  EXPECT_EQ(health_.changes()[0].code(), StatusCode::kUnavailable);

  // Further writes are refused at once: nothing of them is written.
  auto refused = store->Commit(
      testing::UpdateRun("active", storage::RUN_STATUS_RUNNING, 2, 1));
  EXPECT_EQ(refused.status().code(), StatusCode::kUnavailable)
      << refused.status().ToString();
  EXPECT_EQ(store->PurgeEndedRuns(1, 1).status().code(),
            StatusCode::kUnavailable);
  schedule.set_schedule_id("hourly");
  EXPECT_FALSE(store->PutSchedule(schedule, true, std::nullopt).ok());
  WorkflowRecord workflow;
  workflow.set_name("w");
  workflow.set_content_hash("h");
  EXPECT_FALSE(store->RegisterWorkflow(workflow).ok());

  // Reads keep working.
  auto read = store->GetRun("before");
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(read->version(), 2u);
  auto history = store->ReadHistory("before", 0, 0);
  ASSERT_TRUE(history.ok()) << history.status().ToString();
  EXPECT_EQ(history->size(), 4u);
  auto listed = store->ListRuns(RunFilter{}, 10, "");
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  EXPECT_GE(listed->items.size(), 2u);
  EXPECT_TRUE(store->GetSchedule("nightly").ok());
  size_t running = 0;
  EXPECT_TRUE(store
                  ->ScanRunsByStatus(storage::RUN_STATUS_RUNNING,
                                     [&](const RunRecord&) {
                                       ++running;
                                       return true;
                                     })
                  .ok());
  EXPECT_GE(running, 2u);

  // While the disk keeps failing, so do the recovery attempts.
  const uint64_t failures = fs_->injected_failures();
  ASSERT_TRUE(testing::Eventually(
      [&] { return fs_->injected_failures() > failures + 2; }));
  EXPECT_FALSE(store->Health().ok());
  EXPECT_EQ(health_.changes().size(), 1u);

  // The disk works again: the store recovers by itself.
  fs_->SetWriteFault(WriteFault::kNone);
  ASSERT_TRUE(health_.Await(2)) << store->Health().ToString();
  EXPECT_TRUE(health_.changes()[1].ok());
  EXPECT_TRUE(store->Health().ok());

  // The failed create is wholly there or wholly absent.
  auto during_run = store->GetRun("during");
  const bool during_present = during_run.ok();
  std::cout << "[ fault ] " << c.name << ": the failed create is "
            << (during_present ? "present" : "absent") << " after recovery\n";
  if (!during_present) {
    EXPECT_EQ(during_run.status().code(), StatusCode::kNotFound);
  } else {
    EXPECT_EQ(during_run->version(), 1u);
  }
  std::map<std::string, RunRecord> runs = testing::ExpectWholeStore(*store);
  EXPECT_EQ(runs.count("during"), during_present ? 1u : 0u);

  // Writes work again, from the store's truth.
  auto resumed = store->Commit(
      testing::UpdateRun("active", storage::RUN_STATUS_RUNNING, 2, 1));
  ASSERT_TRUE(resumed.ok()) << resumed.status().ToString();
  EXPECT_EQ(resumed->version, 2u);
  schedule.set_schedule_id("hourly");
  EXPECT_TRUE(store->PutSchedule(schedule, true, std::nullopt).ok());
  const std::map<std::string, uint64_t> entries = *store->CountEntries();
  store.reset();

  // A restart sees exactly what the recovered store showed: the failed write
  // does not come back from the WAL.
  store = Reopen();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(*store->CountEntries(), entries);
  EXPECT_EQ(store->GetRun("during").ok(), during_present);
  testing::ExpectWholeStore(*store);
  // The failed create's run number (3) is not handed out again, even though
  // no create succeeded after it before the restart.
  auto after = store->Commit(testing::CreateRun("after", "w", 4000, 1));
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  EXPECT_GT(after->run_no, active->run_no + 1);
  if (during_present) {
    EXPECT_NE(store->GetRun("during")->run_no(), after->run_no);
  }
}

TEST_P(StoreFaultTest, AFailedFlushIsReportedAndRecovered) {
  const FaultCase& c = GetParam();
  std::unique_ptr<RocksDbStore> store = Open(Options());
  ASSERT_NE(store, nullptr);
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(
        store->Commit(testing::CreateRun("r" + std::to_string(i), "w", i, 2))
            .ok());
  }
  fs_->SetWriteFault(c.fault);
  // The flush that compaction starts with fails in the background, before any
  // commit does: the listener marks the store failed.
  EXPECT_FALSE(store->CompactAll().ok());
  ASSERT_TRUE(health_.Await(1));
  EXPECT_FALSE(store->Health().ok());
  EXPECT_NE(store->Health().message().find(c.cause), std::string::npos)
      << store->Health().ToString();
  EXPECT_EQ(store->Commit(testing::CreateRun("x", "w", 100, 1)).status().code(),
            StatusCode::kUnavailable);
  EXPECT_EQ(testing::ExpectWholeStore(*store).size(), 20u);

  fs_->SetWriteFault(WriteFault::kNone);
  ASSERT_TRUE(health_.Await(2)) << store->Health().ToString();
  EXPECT_TRUE(store->Health().ok());
  ASSERT_TRUE(store->Commit(testing::CreateRun("x", "w", 100, 1)).ok());
  ASSERT_TRUE(store->CompactAll().ok());
  EXPECT_GT(store->SstBytes(), 0u);
  store.reset();
  store = Reopen();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(testing::ExpectWholeStore(*store).size(), 21u);
}

// Writers keep committing while the disk fails and heals twice. Like the
// engine, a writer whose commit failed forgets what it had and reads the run
// back once the store is healthy. Every acknowledged commit survives a
// restart, every run is whole, and no run number is used twice.
TEST_P(StoreFaultTest, ConcurrentWritersLoseNothingAcknowledged) {
  const FaultCase& c = GetParam();
  RocksDbOptions options = Options();
  options.write_buffer_bytes = 64 << 10;  // Flushes happen meanwhile too.
  std::unique_ptr<RocksDbStore> store = Open(options);
  ASSERT_NE(store, nullptr);
  constexpr int kThreads = 4, kRunsPerThread = 3;
  std::mutex mu;
  std::map<std::string, uint64_t> acked;  // Guarded by mu.
  std::atomic<size_t> ack_count{0}, failed_count{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::vector<std::string> ids;
      std::vector<std::optional<RunRecord>> known(kRunsPerThread);
      std::vector<bool> created(kRunsPerThread, false);
      for (int r = 0; r < kRunsPerThread; ++r) {
        ids.push_back("c" + std::to_string(t) + "-" + std::to_string(r));
      }
      for (size_t i = 0; !stop.load(); i = (i + 1) % ids.size()) {
        if (!store->Health().ok()) {
          std::this_thread::yield();
          continue;
        }
        if (!known[i] && created[i]) {
          // Unknown outcome: the store's truth wins.
          auto run = store->GetRun(ids[i]);
          if (run.ok()) {
            known[i] = *run;
          } else if (run.status().code() == StatusCode::kNotFound) {
            created[i] = false;
          } else {
            ADD_FAILURE() << run.status().ToString();
            return;
          }
        }
        Transition next =
            known[i] ? testing::UpdateRun(ids[i], storage::RUN_STATUS_RUNNING,
                                          known[i]->last_event_seq())
                     : testing::CreateRun(ids[i], "c", 1000 + t, 1);
        if (known[i]) next.expected_version = known[i]->version();
        created[i] = true;
        auto committed = store->Commit(std::move(next));
        if (!committed.ok()) {
          const StatusCode code = committed.status().code();
          EXPECT_TRUE(code == StatusCode::kIoError ||
                      code == StatusCode::kUnavailable)
              << committed.status().ToString();
          known[i].reset();
          ++failed_count;
          continue;
        }
        RunRecord record;
        record.set_version(committed->version);
        record.set_last_event_seq(committed->last_event_seq);
        known[i] = record;
        std::lock_guard<std::mutex> lock(mu);
        acked[ids[i]] = committed->version;
        ++ack_count;
      }
    });
  }
  for (int round = 0; round < 2; ++round) {
    const size_t acks = ack_count.load();
    ASSERT_TRUE(testing::Eventually([&] { return ack_count > acks + 100; }));
    fs_->SetWriteFault(c.fault);
    ASSERT_TRUE(health_.Await(2 * round + 1));
    fs_->SetWriteFault(WriteFault::kNone);
    ASSERT_TRUE(health_.Await(2 * round + 2)) << store->Health().ToString();
  }
  const size_t acks = ack_count.load();
  ASSERT_TRUE(testing::Eventually([&] { return ack_count > acks + 100; }));
  stop = true;
  for (auto& th : threads) th.join();
  EXPECT_GT(failed_count.load(), 0u);
  store.reset();

  store = Reopen();
  ASSERT_NE(store, nullptr);
  std::map<std::string, RunRecord> runs = testing::ExpectWholeStore(*store);
  for (const auto& [id, version] : acked) {
    ASSERT_EQ(runs.count(id), 1u) << id;
    EXPECT_GE(runs[id].version(), version) << id;
  }
  std::map<uint64_t, std::string> by_number;
  for (const auto& [id, run] : runs) {
    EXPECT_TRUE(by_number.emplace(run.run_no(), id).second)
        << "run number " << run.run_no() << " reused by " << id;
  }
}

// With self-recovery off, a failed store stays failed, even once the disk
// works again, until it is reopened.
TEST_P(StoreFaultTest, WithoutSelfRecoveryTheStoreWaitsForAReopen) {
  const FaultCase& c = GetParam();
  std::unique_ptr<RocksDbStore> store = Open(Options(milliseconds(0)));
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->Commit(testing::CreateRun("before", "w", 1)).ok());
  fs_->SetWriteFault(c.fault);
  auto failed = store->Commit(testing::CreateRun("during", "w", 2));
  EXPECT_EQ(failed.status().code(), StatusCode::kIoError)
      << failed.status().ToString();
  fs_->SetWriteFault(WriteFault::kNone);
  ASSERT_TRUE(health_.Await(1));
  EXPECT_NE(store->Health().message().find("must be reopened"),
            std::string::npos)
      << store->Health().ToString();
  // Ten times the other tests' recovery interval: no recovery is reported.
  EXPECT_FALSE(health_.Await(2, milliseconds(200)));
  EXPECT_EQ(store->Commit(testing::CreateRun("after", "w", 3)).status().code(),
            StatusCode::kUnavailable);
  EXPECT_TRUE(store->GetRun("before").ok());
  store.reset();

  store = Reopen();
  ASSERT_NE(store, nullptr);
  EXPECT_TRUE(store->Health().ok());
  auto after = store->Commit(testing::CreateRun("after", "w", 3));
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  auto during = store->GetRun("during");
  if (during.ok()) {
    EXPECT_NE(during->run_no(), after->run_no);
  }
  testing::ExpectWholeStore(*store);
}

INSTANTIATE_TEST_SUITE_P(
    Faults, StoreFaultTest,
    ::testing::Values(
        FaultCase{"DiskFull", WriteFault::kNoSpace, "No space left"},
        FaultCase{"IoError", WriteFault::kIoError, "injected write failure"},
        FaultCase{"SyncIoError", WriteFault::kSyncIoError,
                  "injected sync failure"}),
    [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace sagaflow::persistence
