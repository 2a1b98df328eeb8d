// A RocksDB FileSystem that can simulate a power loss: it remembers how much of
// each file was synced, and on PowerLoss() stops all further I/O and cuts every
// file back to that length, which is what a machine that lost power keeps (the
// model of LevelDB's fault_injection_test). It can also make writes fail, as a
// full or failing disk does, and heal again (SetWriteFault).
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

  // How writes fail while a fault is set. Reads, renames and deletes keep
  // working (a full disk still frees space on delete).
  enum class WriteFault {
    kNone,
    // Syncs fail with an IO error; appends still reach the file (unsynced), so
    // a failed write may be on disk: the case whose outcome is unknown.
    kSyncIoError,
    // Appends, syncs and new files fail with an IO error (a failing disk).
    kIoError,
    // Appends, syncs and new files fail with IOStatus::NoSpace() (ENOSPC).
    kNoSpace,
  };
  void SetWriteFault(WriteFault fault) { fault_.store(fault); }
  // Shorthand for kSyncIoError / kNone.
  void SetFailWrites(bool fail) {
    SetWriteFault(fail ? WriteFault::kSyncIoError : WriteFault::kNone);
  }
  // How many operations failed because of a fault, so tests can tell that one
  // was hit.
  uint64_t injected_failures() const { return injected_failures_.load(); }

  // Called by the tracked files. OK when the operation may proceed, else the
  // injected error.
  bool active() const { return active_.load(); }
  rocksdb::IOStatus AppendFault();
  rocksdb::IOStatus SyncFault();
  rocksdb::IOStatus CreateFault();
  void Appended(const std::string& fname, uint64_t bytes);
  void Synced(const std::string& fname);

 private:
  struct FileState {
    uint64_t size = 0;
    uint64_t synced = 0;
  };

  std::atomic<bool> active_{true};
  std::atomic<WriteFault> fault_{WriteFault::kNone};
  std::atomic<uint64_t> injected_failures_{0};
  std::mutex mu_;
  std::map<std::string, FileState> files_;  // Guarded by mu_.
};

}  // namespace sagaflow::persistence::testing

#endif  // SAGAFLOW_TESTS_PERSISTENCE_FAULT_INJECTION_FS_H_
