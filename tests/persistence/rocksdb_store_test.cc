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

}  // namespace
}  // namespace sagaflow::persistence
