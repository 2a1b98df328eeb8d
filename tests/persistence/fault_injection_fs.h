// A RocksDB FileSystem that can simulate a power loss: it remembers how much of
// each file was synced, and on PowerLoss() stops all further I/O and cuts every
// file back to that length, which is what a machine that lost power keeps (the
// model of LevelDB's fault_injection_test).
//
// Modelled: data appended but not synced is lost. Not modelled: directory
// entries created but not fsynced (RocksDB syncs its directory when it creates
// the files that matter).
#ifndef SAGAFLOW_TESTS_PERSISTENCE_FAULT_INJECTION_FS_H_
#define SAGAFLOW_TESTS_PERSISTENCE_FAULT_INJECTION_FS_H_

#include <rocksdb/file_system.h>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace sagaflow::persistence::testing {

class FaultInjectionFs : public rocksdb::FileSystemWrapper {
 public:
  explicit FaultInjectionFs(const std::shared_ptr<rocksdb::FileSystem>& base)
      : FileSystemWrapper(base) {}

  static const char* kClassName() { return "FaultInjectionFs"; }
  const char* Name() const override { return kClassName(); }

  rocksdb::IOStatus NewWritableFile(
      const std::string& fname, const rocksdb::FileOptions& options,
      std::unique_ptr<rocksdb::FSWritableFile>* result,
      rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus ReopenWritableFile(
      const std::string& fname, const rocksdb::FileOptions& options,
      std::unique_ptr<rocksdb::FSWritableFile>* result,
      rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus RenameFile(const std::string& src, const std::string& dst,
                               const rocksdb::IOOptions& options,
                               rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus DeleteFile(const std::string& fname,
                               const rocksdb::IOOptions& options,
                               rocksdb::IODebugContext* dbg) override;

  // The power goes out: from now on nothing reaches the disk (writes, syncs,
  // renames and deletes succeed without effect). Close the database after this.
  void CutPower() { active_.store(false); }
  // What the disk holds after the outage: every file written through this file
  // system is cut back to its last synced length. Call once the database is
  // closed. Returns the bytes dropped.
  uint64_t DropUnsyncedData();

  // While set, appends and syncs fail with an IO error (a full or failing
  // disk).
  void SetFailWrites(bool fail) { fail_writes_.store(fail); }

  // Called by the tracked files.
  bool active() const { return active_.load(); }
  bool fail_writes() const { return fail_writes_.load(); }
  void Appended(const std::string& fname, uint64_t bytes);
  void Synced(const std::string& fname);

 private:
  struct FileState {
    uint64_t size = 0;
    uint64_t synced = 0;
  };

  std::atomic<bool> active_{true};
  std::atomic<bool> fail_writes_{false};
  std::mutex mu_;
  std::map<std::string, FileState> files_;  // Guarded by mu_.
};

}  // namespace sagaflow::persistence::testing

#endif  // SAGAFLOW_TESTS_PERSISTENCE_FAULT_INJECTION_FS_H_
