// The Store contract against RocksDB in each durability mode, plus
// RocksDB-specific behaviour.
#include "persistence/rocksdb_store.h"

#include <gtest/gtest.h>

#include "tests/persistence/store_contract.h"
#include "tests/persistence/test_util.h"

namespace sagaflow::persistence {
namespace {

StoreFactory RocksDb(Durability durability) {
  return {"RocksDb_" + std::string(DurabilityName(durability)),
          [durability](const std::string& dir) -> std::unique_ptr<Store> {
            RocksDbOptions options;
            options.path = dir;
            options.durability = durability;
            options.block_cache_bytes = 8 << 20;
            options.write_buffer_bytes = 4 << 20;
            auto store = RocksDbStore::Open(options);
            EXPECT_TRUE(store.ok()) << store.status().ToString();
            return store.ok() ? std::move(store).value() : nullptr;
          }};
}

INSTANTIATE_TEST_SUITE_P(RocksDb, StoreContractTest,
                         ::testing::Values(RocksDb(Durability::kGroup),
                                           RocksDb(Durability::kSync),
                                           RocksDb(Durability::kNone)),
                         [](const auto& info) { return info.param.name; });

TEST(RocksDbStoreTest, SecondOpenOfTheSameDirectoryFailsClearly) {
  const std::string dir = testing::MakeTempDir("lock");
  RocksDbOptions options;
  options.path = dir;
  auto first = RocksDbStore::Open(options);
  ASSERT_TRUE(first.ok());
  auto second = RocksDbStore::Open(options);
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.status().message().find(dir), std::string::npos)
      << second.status().ToString();
  first.value().reset();
  testing::RemoveDir(dir);
}

TEST(RocksDbStoreTest, EmptyPathIsRejected) {
  EXPECT_EQ(RocksDbStore::Open(RocksDbOptions{}).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(RocksDbStoreTest, CompactionKeepsDataAndReportsSize) {
  const std::string dir = testing::MakeTempDir("compact");
  RocksDbOptions options;
  options.path = dir;
  auto store = RocksDbStore::Open(options);
  ASSERT_TRUE(store.ok());
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(
        (*store)
            ->Commit(testing::CreateRun("r" + std::to_string(i), "order", i, 3))
            .ok());
  }
  ASSERT_TRUE((*store)->CompactAll().ok());
  EXPECT_GT((*store)->SstBytes(), 0u);
  EXPECT_EQ((*store)->ReadHistory("r42", 0, 0)->size(), 3u);
  store.value().reset();
  testing::RemoveDir(dir);
}

TEST(RocksDbStoreTest, PurgeLeavesNoIndexEntryBehind) {
  const std::string dir = testing::MakeTempDir("purge-index");
  RocksDbOptions options;
  options.path = dir;
  auto store = RocksDbStore::Open(options);
  ASSERT_TRUE(store.ok());
  RocksDbStore& s = **store;
  for (int i = 0; i < 6; ++i) {
    const std::string id = "r" + std::to_string(i);
    Transition create = testing::CreateRun(id, i % 2 ? "a" : "b", 1000 + i, 3);
    SignalRecord& signal = create.put_signals.emplace_back();
    signal.set_seq(1);
    ASSERT_TRUE(s.Commit(std::move(create)).ok());
    // r0..r3 end (one of them FAILED then resumed and ended again); r4, r5 stay
    // active.
    if (i < 4) {
      ASSERT_TRUE(s.Commit(testing::UpdateRun(id, storage::RUN_STATUS_FAILED, 3,
                                              1, 2000))
                      .ok());
    }
  }
  ASSERT_TRUE(s.Commit(testing::UpdateRun("r0", storage::RUN_STATUS_RUNNING, 4,
                                          1, 2500))
                  .ok());
  ASSERT_TRUE(s.Commit(testing::UpdateRun("r0", storage::RUN_STATUS_COMPLETED,
                                          5, 1, 2600))
                  .ok());
  EXPECT_EQ(*s.PurgeEndedRuns(5000, 100), 4u);
  auto counts = s.CountEntries();
  ASSERT_TRUE(counts.ok());
  for (const char* index : {"runs", "idx_time", "idx_status", "idx_workflow"}) {
    EXPECT_EQ((*counts)[index], 2u) << index;
  }
  EXPECT_EQ((*counts)["idx_ended"], 0u);
  EXPECT_EQ((*counts)["history"],
            6u);  // 3 events for each of the two active runs.
  EXPECT_EQ((*counts)["signals"], 2u);
  store.value().reset();
  testing::RemoveDir(dir);
}

}  // namespace
}  // namespace sagaflow::persistence
