// The embedded Store: RocksDB with one column family per record kind, a single
// committer thread that packs concurrent transitions into group-committed write
// batches, and indexes for listing, recovery and retention. See
// docs/PERSISTENCE.md for the layout and guarantees.
#ifndef SAGAFLOW_PERSISTENCE_ROCKSDB_STORE_H_
#define SAGAFLOW_PERSISTENCE_ROCKSDB_STORE_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "persistence/store.h"

namespace rocksdb {
class Env;
}  // namespace rocksdb

namespace sagaflow::persistence {

struct RocksDbOptions {
  std::string path;
  Durability durability = Durability::kGroup;
  // Most transitions packed into one write batch (kGroup and kNone).
  size_t max_group_size = 1024;
  // kGroup: when fewer transitions are queued than the previous group held, the
  // committer waits up to this long for them before writing, so a group is not
  // cut short just because its writers were still waking up from the last
  // fsync. Bounded, adaptive (the target follows the last group's size, so a
  // lone writer never waits); 0 disables it.
  std::chrono::microseconds group_commit_linger{100};
  size_t block_cache_bytes = 64 << 20;
  // Memtable size of the busiest column families (runs, history, tasks,
  // timers).
  size_t write_buffer_bytes = 32 << 20;
  // Tests inject a fault-injecting environment here; nullptr: the real file
  // system. Must outlive the store.
  rocksdb::Env* env = nullptr;
};

class RocksDbStore : public Store {
 public:
  // Opens (creating if needed) the store at options.path. Fails with IO_ERROR
  // or CORRUPTION naming the path when RocksDB cannot open it (for example,
  // another process holds its lock).
  static Result<std::unique_ptr<RocksDbStore>> Open(
      const RocksDbOptions& options);

  // Compacts every column family fully (for measurements and maintenance).
  virtual Status CompactAll() = 0;
  // Bytes of live SST files across column families (excludes the WAL and
  // memtables).
  virtual uint64_t SstBytes() = 0;
  // The number of entries in each column family, by name. Reads everything:
  // for tests and diagnostics (for instance, that a purge leaves no index
  // entry behind).
  virtual Result<std::map<std::string, uint64_t>> CountEntries() = 0;
};

}  // namespace sagaflow::persistence

#endif  // SAGAFLOW_PERSISTENCE_ROCKSDB_STORE_H_
