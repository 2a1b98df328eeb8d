// The embedded Store: RocksDB with one column family per record kind, a single
// committer thread that packs concurrent transitions into group-committed write
// batches, and indexes for listing, recovery and retention. See
// docs/PERSISTENCE.md for the layout and guarantees.
#ifndef SAGAFLOW_PERSISTENCE_ROCKSDB_STORE_H_
#define SAGAFLOW_PERSISTENCE_ROCKSDB_STORE_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
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
  // After a failed write (a full or failing disk) the store refuses writes,
  // keeps serving reads, and Health() says why. Every recovery_interval it
  // tries to recover on its own: it resumes RocksDB (which flushes what it
  // holds in memory to new files) and proves the disk writable with a small
  // synced write; only then does it accept writes again. 0: it never recovers
  // on its own and must be reopened. Corruption is never recovered from.
  std::chrono::milliseconds recovery_interval{1000};
  // Called each time Health() changes: with the error when the store stops
  // accepting writes, with OK when it has recovered. Runs on the store's
  // committer thread, after the callbacks of the commits that failed, one call
  // at a time and in order. Must not block, call Commit or PurgeEndedRuns, or
  // destroy the store; reading (Health(), GetRun) is fine. Optional: Health()
  // is cheap (a mutex and a copy) and may be polled instead.
  std::function<void(const Status&)> on_health_change;
  // Open reads and checks the checksum of every block of every SST file when
  // they total at most this many bytes (about the cost of reading them once),
  // and refuses to start when one does not match. Larger stores are checked
  // block by block as they are read (a read of a corrupt block fails with
  // CORRUPTION); VerifyChecksums() checks them on demand. 0: never at open;
  // UINT64_MAX: always.
  uint64_t verify_checksums_on_open_max_bytes = 256 << 20;
  // Tests inject a fault-injecting environment here; nullptr: the real file
  // system. Must outlive the store.
  rocksdb::Env* env = nullptr;
};

class RocksDbStore : public Store {
 public:
  // Opens (creating if needed) the store at options.path. Fails with IO_ERROR
  // or CORRUPTION naming the path when RocksDB cannot open it (for example,
  // another process holds its lock), and with CORRUPTION naming the path and
  // the damage when the store is damaged: CURRENT missing next to data files
  // or naming no MANIFEST; a MANIFEST that does not decode, lists files that
  // are gone, or lost part of the data (column families that disagree); a WAL
  // record damaged before valid ones (a torn tail is cut instead); an SST
  // whose checksums do not match (see verify_checksums_on_open_max_bytes). An
  // existing store is checked read-only first, so a refused one is left as it
  // was, and a damaged store is never opened as an empty one
  // (docs/PERSISTENCE.md, "Faults").
  static Result<std::unique_ptr<RocksDbStore>> Open(
      const RocksDbOptions& options);

  // Compacts every column family fully (for measurements and maintenance).
  virtual Status CompactAll() = 0;
  // Reads every block of every SST file and checks its checksum: OK, or
  // CORRUPTION naming the file. Costs a full read of the store.
  virtual Status VerifyChecksums() = 0;
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
