#include "tests/persistence/fault_injection_fs.h"

#include <unistd.h>

namespace sagaflow::persistence::testing {
namespace {

using rocksdb::IODebugContext;
using rocksdb::IOOptions;
using rocksdb::IOStatus;
using rocksdb::Slice;

class TrackedFile : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  TrackedFile(std::unique_ptr<rocksdb::FSWritableFile> target,
              std::string fname, FaultInjectionFs* fs)
      : FSWritableFileOwnerWrapper(std::move(target)),
        fname_(std::move(fname)),
        fs_(fs) {}

  IOStatus Append(const Slice& data, const IOOptions& options,
                  IODebugContext* dbg) override {
    if (!fs_->active()) return IOStatus::OK();
    if (IOStatus fault = fs_->AppendFault(); !fault.ok()) return fault;
    IOStatus s = target()->Append(data, options, dbg);
    if (s.ok()) fs_->Appended(fname_, data.size());
    return s;
  }
  IOStatus Append(const Slice& data, const IOOptions& options,
                  const rocksdb::DataVerificationInfo& info,
                  IODebugContext* dbg) override {
    if (!fs_->active()) return IOStatus::OK();
    if (IOStatus fault = fs_->AppendFault(); !fault.ok()) return fault;
    IOStatus s = target()->Append(data, options, info, dbg);
    if (s.ok()) fs_->Appended(fname_, data.size());
    return s;
  }
  IOStatus PositionedAppend(const Slice&, uint64_t, const IOOptions&,
                            IODebugContext*) override {
    return IOStatus::NotSupported("positioned writes are not tracked");
  }
  IOStatus Flush(const IOOptions& options, IODebugContext* dbg) override {
    if (!fs_->active()) return IOStatus::OK();
    return target()->Flush(options, dbg);
  }
  IOStatus Sync(const IOOptions& options, IODebugContext* dbg) override {
    if (!fs_->active()) return IOStatus::OK();
    if (IOStatus fault = fs_->SyncFault(); !fault.ok()) return fault;
    IOStatus s = target()->Sync(options, dbg);
    if (s.ok()) fs_->Synced(fname_);
    return s;
  }
  IOStatus Fsync(const IOOptions& options, IODebugContext* dbg) override {
    if (!fs_->active()) return IOStatus::OK();
    if (IOStatus fault = fs_->SyncFault(); !fault.ok()) return fault;
    IOStatus s = target()->Fsync(options, dbg);
    if (s.ok()) fs_->Synced(fname_);
    return s;
  }
  // A range sync is not counted as a sync: conservative, it never makes data
  // look safer.
  IOStatus RangeSync(uint64_t offset, uint64_t nbytes, const IOOptions& options,
                     IODebugContext* dbg) override {
    if (!fs_->active()) return IOStatus::OK();
    if (IOStatus fault = fs_->SyncFault(); !fault.ok()) return fault;
    return target()->RangeSync(offset, nbytes, options, dbg);
  }
  IOStatus Close(const IOOptions& options, IODebugContext* dbg) override {
    // Closing does not sync; the descriptor must be released either way.
    return target()->Close(options, dbg);
  }
  bool use_direct_io() const override { return false; }

 private:
  const std::string fname_;
  FaultInjectionFs* const fs_;
};

}  // namespace

IOStatus FaultInjectionFs::NewWritableFile(
    const std::string& fname, const rocksdb::FileOptions& options,
    std::unique_ptr<rocksdb::FSWritableFile>* result, IODebugContext* dbg) {
  if (!active()) {
    // No power: the file never reaches the disk. Hand out one that swallows
    // everything.
    class Void : public rocksdb::FSWritableFile {
      IOStatus Append(const Slice&, const IOOptions&,
                      IODebugContext*) override {
        return IOStatus::OK();
      }
      IOStatus Close(const IOOptions&, IODebugContext*) override {
        return IOStatus::OK();
      }
      IOStatus Flush(const IOOptions&, IODebugContext*) override {
        return IOStatus::OK();
      }
      IOStatus Sync(const IOOptions&, IODebugContext*) override {
        return IOStatus::OK();
      }
    };
    result->reset(new Void());
    return IOStatus::OK();
  }
  if (IOStatus fault = CreateFault(); !fault.ok()) return fault;
  rocksdb::FileOptions buffered = options;
  buffered.use_direct_writes = false;
  std::unique_ptr<rocksdb::FSWritableFile> file;
  IOStatus s = target()->NewWritableFile(fname, buffered, &file, dbg);
  if (!s.ok()) return s;
  {
    std::lock_guard<std::mutex> lock(mu_);
    files_[fname] = FileState{};
  }
  result->reset(new TrackedFile(std::move(file), fname, this));
  return s;
}

IOStatus FaultInjectionFs::ReopenWritableFile(
    const std::string& fname, const rocksdb::FileOptions& options,
    std::unique_ptr<rocksdb::FSWritableFile>* result, IODebugContext* dbg) {
  if (IOStatus fault = CreateFault(); !fault.ok()) return fault;
  std::unique_ptr<rocksdb::FSWritableFile> file;
  IOStatus s = target()->ReopenWritableFile(fname, options, &file, dbg);
  if (!s.ok()) return s;
  uint64_t size = 0;
  target()->GetFileSize(fname, IOOptions(), &size, dbg);
  {
    std::lock_guard<std::mutex> lock(mu_);
    // A file this process already wrote keeps its synced length; one written
    // before counts as synced.
    if (!files_.count(fname)) files_[fname] = FileState{size, size};
  }
  result->reset(new TrackedFile(std::move(file), fname, this));
  return s;
}

IOStatus FaultInjectionFs::RenameFile(const std::string& src,
                                      const std::string& dst,
                                      const IOOptions& options,
                                      IODebugContext* dbg) {
  if (!active()) return IOStatus::OK();
  IOStatus s = target()->RenameFile(src, dst, options, dbg);
  if (s.ok()) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = files_.find(src);
    if (it != files_.end()) {
      files_[dst] = it->second;
      files_.erase(it);
    } else {
      files_.erase(dst);
    }
  }
  return s;
}

IOStatus FaultInjectionFs::DeleteFile(const std::string& fname,
                                      const IOOptions& options,
                                      IODebugContext* dbg) {
  if (!active()) return IOStatus::OK();
  IOStatus s = target()->DeleteFile(fname, options, dbg);
  if (s.ok()) {
    std::lock_guard<std::mutex> lock(mu_);
    files_.erase(fname);
  }
  return s;
}

IOStatus FaultInjectionFs::AppendFault() {
  switch (fault_.load()) {
    case WriteFault::kNone:
    case WriteFault::kSyncIoError:
      return IOStatus::OK();
    case WriteFault::kIoError:
      ++injected_failures_;
      return IOStatus::IOError("injected write failure");
    case WriteFault::kNoSpace:
      ++injected_failures_;
      return IOStatus::NoSpace("injected: the disk is full");
  }
  return IOStatus::OK();
}

IOStatus FaultInjectionFs::SyncFault() {
  switch (fault_.load()) {
    case WriteFault::kNone:
      return IOStatus::OK();
    case WriteFault::kSyncIoError:
    case WriteFault::kIoError:
      ++injected_failures_;
      return IOStatus::IOError("injected sync failure");
    case WriteFault::kNoSpace:
      ++injected_failures_;
      return IOStatus::NoSpace("injected: the disk is full");
  }
  return IOStatus::OK();
}

IOStatus FaultInjectionFs::CreateFault() {
  // A sync-only fault lets files be created: the failure shows at the sync.
  return fault_.load() == WriteFault::kSyncIoError ? IOStatus::OK()
                                                   : AppendFault();
}

void FaultInjectionFs::Appended(const std::string& fname, uint64_t bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  files_[fname].size += bytes;
}

void FaultInjectionFs::Synced(const std::string& fname) {
  std::lock_guard<std::mutex> lock(mu_);
  FileState& f = files_[fname];
  f.synced = f.size;
}

uint64_t FaultInjectionFs::DropUnsyncedData() {
  std::lock_guard<std::mutex> lock(mu_);
  uint64_t dropped = 0;
  for (const auto& [fname, state] : files_) {
    if (state.size > state.synced) {
      dropped += state.size - state.synced;
      if (::truncate(fname.c_str(), static_cast<off_t>(state.synced)) != 0) {
        // The file may have been removed behind our back; nothing to cut then.
      }
    }
  }
  return dropped;
}

}  // namespace sagaflow::persistence::testing
