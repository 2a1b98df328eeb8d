#include "persistence/rocksdb_store.h"

#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/listener.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/sst_file_reader.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <limits>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <variant>

#include "common/failpoint.h"
#include "common/time.h"
#include "persistence/keys.h"

namespace sagaflow::persistence {
namespace {

constexpr size_t kMaxRunIdBytes = 256;
constexpr size_t kMaxGroupBytes = 16 << 20;
constexpr char kNextRunNoKey[] = "next_run_no";

// Column families, in the order they are opened. kDefault holds store metadata.
enum Cf : size_t {
  kDefault,
  kWorkflows,
  kRuns,
  kHistory,
  kByTime,
  kByStatus,
  kByWorkflow,
  kByEnded,
  kTasks,
  kTimers,
  kLeases,
  kSignals,
  kSchedules,
  kCfCount,
};

const char* const kCfNames[kCfCount] = {
    "default",  // rocksdb::kDefaultColumnFamilyName
    "workflows", "runs",  "history", "idx_time", "idx_status", "idx_workflow",
    "idx_ended", "tasks", "timers",  "leases",   "signals",    "schedules",
};

Status FromRocks(const rocksdb::Status& s, std::string_view what) {
  if (s.ok()) return Status::Ok();
  std::string message = std::string(what) + ": " + s.ToString();
  if (s.IsIOError()) return Status::IoError(std::move(message));
  if (s.IsCorruption()) return Status::Corruption(std::move(message));
  if (s.IsNotFound()) return Status::NotFound(std::move(message));
  if (s.IsBusy() || s.IsTryAgain())
    return Status::Unavailable(std::move(message));
  return Status::Internal(std::move(message));
}

template <typename Message>
Status Decode(const rocksdb::Slice& value, Message* out,
              std::string_view what) {
  if (!out->ParseFromArray(value.data(), static_cast<int>(value.size()))) {
    return Status::Corruption(std::string(what) + " does not decode");
  }
  return Status::Ok();
}

std::string Encode(const google::protobuf::MessageLite& m) {
  std::string out;
  m.SerializeToString(&out);
  return out;
}

bool StartsWith(const rocksdb::Slice& s, std::string_view prefix) {
  return s.size() >= prefix.size() &&
         std::memcmp(s.data(), prefix.data(), prefix.size()) == 0;
}

std::string_view View(const rocksdb::Slice& s) { return {s.data(), s.size()}; }

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Why Open refuses a damaged store. A damaged store must never be opened as an
// empty one, nor half-read.
Status Damaged(const std::string& path, std::string_view detail) {
  return Status::Corruption(
      "the store at " + path +
      " is damaged and was not opened: " + std::string(detail) +
      " (restore the directory from a backup, or salvage what is left with "
      "RocksDB's `ldb repair` on a copy)");
}

// Checks, before RocksDB sees the directory, the one file RocksDB would
// otherwise misread: CURRENT, which names the live MANIFEST. Without it
// RocksDB would create a new, empty store next to the old files (and then
// delete those as obsolete); naming a missing MANIFEST, it fails with a
// message that names neither.
Status CheckDataDir(rocksdb::Env* env, const std::string& path) {
  const std::string current = path + "/CURRENT";
  rocksdb::Status exists = env->FileExists(current);
  if (exists.ok()) {
    std::string contents;
    rocksdb::Status s = rocksdb::ReadFileToString(env, current, &contents);
    if (!s.ok()) return FromRocks(s, "cannot read " + current);
    const bool well_formed = !contents.empty() && contents.back() == '\n' &&
                             contents.rfind("MANIFEST-", 0) == 0 &&
                             contents.find('/') == std::string::npos;
    if (!well_formed) {
      std::string shown = contents.substr(0, 40);
      for (char& c : shown) {
        if (c < 0x20 || c > 0x7e) c = '?';
      }
      return Damaged(
          path, "its CURRENT file does not name a MANIFEST (it holds " +
                    std::to_string(contents.size()) + " bytes: \"" + shown +
                    "\")");
    }
    contents.pop_back();
    if (!env->FileExists(path + "/" + contents).ok()) {
      return Damaged(path, "its CURRENT file names " + contents +
                               ", which does not exist (the MANIFEST, the "
                               "list of live files, is lost)");
    }
    return Status::Ok();
  }
  if (!exists.IsNotFound()) return FromRocks(exists, "cannot read " + current);
  std::vector<std::string> children;
  if (!env->GetChildren(path, &children).ok()) return Status::Ok();  // New.
  for (const std::string& name : children) {
    if (name.rfind("MANIFEST-", 0) == 0 || EndsWith(name, ".sst") ||
        EndsWith(name, ".log")) {
      return Damaged(path, "it holds data files (" + name +
                               ") but no CURRENT file, which names the "
                               "MANIFEST; an empty store is not created over "
                               "them");
    }
  }
  return Status::Ok();
}

// Families as a read-only open found them (nullptr: absent, so empty).
using Handles = std::vector<rocksdb::ColumnFamilyHandle*>;

class FamilyReader {
 public:
  FamilyReader(rocksdb::DB* db, const Handles& handles)
      : db_(db), handles_(handles) {
    read_.total_order_seek = true;  // Across history's run prefixes too.
  }
  // Whether `key` is in family `c`; errors other than NOT_FOUND are returned.
  Result<bool> Has(Cf c, const std::string& key, std::string* value = nullptr) {
    if (handles_[c] == nullptr) return false;
    std::string ignored;
    rocksdb::Status s =
        db_->Get(read_, handles_[c], key, value ? value : &ignored);
    if (s.IsNotFound()) return false;
    SAGAFLOW_RETURN_IF_ERROR(FromRocks(s, "cannot read the store"));
    return true;
  }
  // The first (or last) key of family `c` at or after (before) `from`
  // (empty: the very first or last); nullopt when there is none.
  Result<std::optional<std::string>> Edge(Cf c, bool last,
                                          const std::string& from = "") {
    if (handles_[c] == nullptr) return std::optional<std::string>();
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(read_, handles_[c]));
    if (!last) {
      from.empty() ? it->SeekToFirst() : it->Seek(from);
    } else {
      from.empty() ? it->SeekToLast() : it->SeekForPrev(from);
    }
    if (!it->Valid()) {
      SAGAFLOW_RETURN_IF_ERROR(
          FromRocks(it->status(), "cannot read the store"));
      return std::optional<std::string>();
    }
    return std::optional<std::string>(it->key().ToString());
  }

 private:
  rocksdb::DB* const db_;
  const Handles& handles_;
  rocksdb::ReadOptions read_;
};

// Checks that the run families are all empty or none is, a few runs (the
// oldest and newest by creation, the first and last by id) across every family
// that describes them, and that no run number is at or past next_run_no. Every
// transition writes all of these in one atomic batch, so after any crash they
// agree; they disagree when the families lost different amounts of data, which
// is what a MANIFEST cut short (a lost flush edit) does. Returns what
// disagrees, or "" when all agree. A few point reads: it cannot see a loss that
// every family shares.
Result<std::string> FindDisagreement(rocksdb::DB* db, const Handles& handles) {
  FamilyReader r(db, handles);
  std::string value;
  SAGAFLOW_ASSIGN_OR_RETURN(bool has_next,
                            r.Has(kDefault, kNextRunNoKey, &value));
  const uint64_t next_run_no =
      has_next && value.size() == 8 ? keys::ReadU64(value) : 0;
  auto number_ok = [&](uint64_t run_no) -> std::string {
    if (run_no < next_run_no) return "";
    return "run number " + std::to_string(run_no) +
           " is in use but the next run number is " +
           std::to_string(next_run_no);
  };
  for (Cf c : {kHistory, kSignals}) {
    SAGAFLOW_ASSIGN_OR_RETURN(auto last, r.Edge(c, true));
    if (last && last->size() >= keys::kRunPrefixSize) {
      std::string problem = number_ok(keys::ReadU64(*last));
      if (!problem.empty()) return problem + " (" + kCfNames[c] + ")";
    }
  }
  // Every history event and signal belongs to a run, and every run has its
  // three indexes: these families are all empty or none is. (idx_ended is
  // left out: purging tolerates orphan entries there.)
  SAGAFLOW_ASSIGN_OR_RETURN(auto any_run, r.Edge(kRuns, false));
  for (Cf c : {kByTime, kByStatus, kByWorkflow, kHistory, kSignals}) {
    SAGAFLOW_ASSIGN_OR_RETURN(auto any, r.Edge(c, false));
    const bool must = c == kByTime || c == kByStatus || c == kByWorkflow;
    if (any && !any_run) {
      return std::string(kCfNames[c]) + " has entries but there is no run";
    }
    if (must && any_run && !any) {
      return "there are runs but " + std::string(kCfNames[c]) + " is empty";
    }
  }
  std::vector<std::string> ids;
  for (bool last : {false, true}) {
    SAGAFLOW_ASSIGN_OR_RETURN(auto by_time, r.Edge(kByTime, last));
    if (by_time && by_time->size() > 8) ids.push_back(by_time->substr(8));
    SAGAFLOW_ASSIGN_OR_RETURN(auto by_id, r.Edge(kRuns, last));
    if (by_id) ids.push_back(*by_id);
  }
  for (const std::string& id : ids) {
    SAGAFLOW_ASSIGN_OR_RETURN(bool has_run, r.Has(kRuns, id, &value));
    if (!has_run) return "idx_time lists run " + id + ", which has no record";
    RunRecord run;
    SAGAFLOW_RETURN_IF_ERROR(Decode(value, &run, "run record " + id));
    const int64_t created = run.created_at_ms();
    const std::string missing = "run " + id + " has no entry in ";
    std::string problem = number_ok(run.run_no());
    if (!problem.empty()) return problem + " (run " + id + ")";
    SAGAFLOW_ASSIGN_OR_RETURN(bool t,
                              r.Has(kByTime, keys::ByTime(created, id)));
    if (!t) return missing + "idx_time";
    SAGAFLOW_ASSIGN_OR_RETURN(
        bool st, r.Has(kByStatus, keys::ByStatus(run.status(), created, id)));
    if (!st) return missing + "idx_status";
    SAGAFLOW_ASSIGN_OR_RETURN(
        bool w,
        r.Has(kByWorkflow, keys::ByWorkflow(run.workflow(), created, id)));
    if (!w) return missing + "idx_workflow";
    if (run.ended_at_ms() != 0) {
      SAGAFLOW_ASSIGN_OR_RETURN(
          bool e, r.Has(kByEnded, keys::ByEnded(run.ended_at_ms(), id)));
      if (!e) return missing + "idx_ended";
    }
    if (run.last_event_seq() > 0) {
      SAGAFLOW_ASSIGN_OR_RETURN(
          bool h,
          r.Has(kHistory, keys::RunSeq(run.run_no(), run.last_event_seq())));
      if (!h) {
        return "the history of run " + id + " lacks its last event " +
               std::to_string(run.last_event_seq());
      }
    }
    SAGAFLOW_ASSIGN_OR_RETURN(
        auto after,
        r.Edge(kHistory, false,
               keys::RunSeq(run.run_no(), run.last_event_seq() + 1)));
    if (after && StartsWith(*after, keys::RunPrefix(run.run_no()))) {
      return "the history of run " + id + " goes past its last event " +
             std::to_string(run.last_event_seq());
    }
  }
  return std::string();
}

// The store opened read-only, for the checks before a read-write open.
class ReadOnlyStore {
 public:
  ReadOnlyStore() = default;
  ReadOnlyStore(const ReadOnlyStore&) = delete;
  ReadOnlyStore& operator=(const ReadOnlyStore&) = delete;
  ~ReadOnlyStore() { Close(); }

  // Opens `present` (the families that exist; positions[i] is the Cf of
  // present[i]) with WAL recovery `mode`, closing any earlier instance.
  rocksdb::Status Open(
      rocksdb::DBOptions options, rocksdb::WALRecoveryMode mode,
      const std::string& path,
      const std::vector<rocksdb::ColumnFamilyDescriptor>& present,
      const std::vector<size_t>& positions) {
    Close();
    options.wal_recovery_mode = mode;
    rocksdb::DB* raw = nullptr;
    rocksdb::Status s =
        rocksdb::DB::OpenForReadOnly(options, path, present, &opened_, &raw);
    if (!s.ok()) return s;
    db_.reset(raw);
    handles_.assign(kCfCount, nullptr);
    for (size_t i = 0; i < opened_.size(); ++i) {
      handles_[positions[i]] = opened_[i];
    }
    return s;
  }
  void Close() {
    if (!db_) return;
    for (auto* h : opened_) db_->DestroyColumnFamilyHandle(h);
    opened_.clear();
    handles_.clear();
    db_->Close().PermitUncheckedError();
    db_.reset();
  }
  rocksdb::DB* db() const { return db_.get(); }
  const Handles& handles() const { return handles_; }

 private:
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> opened_;
  Handles handles_;  // By Cf; nullptr for absent families.
};

// What the committer needs to know about a run to check and index the next
// transition. Kept in memory for active runs, so the hot path does not read the
// run record back.
struct RunHead {
  uint64_t run_no = 0;
  uint64_t version = 0;
  uint64_t last_event_seq = 0;
  RunStatus status = storage::RUN_STATUS_UNSPECIFIED;
  int64_t created_at_ms = 0;
  int64_t ended_at_ms = 0;
  std::string workflow;
  uint32_t workflow_version = 0;
  bool deleted = false;  // Purged earlier in the same group.
};

RunHead HeadOf(const RunRecord& r) {
  return RunHead{r.run_no(),   r.version(),          r.last_event_seq(),
                 r.status(),   r.created_at_ms(),    r.ended_at_ms(),
                 r.workflow(), r.workflow_version(), false};
}

struct CommitItem {
  Transition transition;
  CommitCallback done;
  // Prepared on the caller's thread, so the single committer does not do it:
  // an error found there (answered on the commit thread, like any rejection),
  // and the encoded events, tasks, timers, leases and signals, in that order.
  Status invalid;
  std::vector<std::string> encoded;
};

struct PurgeItem {
  int64_t ended_before_ms;
  size_t max_runs;
  std::function<void(Result<size_t>)> done;
};

using WorkItem = std::variant<CommitItem, PurgeItem>;

class RocksDbStoreImpl final : public RocksDbStore {
 public:
  explicit RocksDbStoreImpl(const RocksDbOptions& options)
      : options_(options) {}
  ~RocksDbStoreImpl() override;

  Status Init();

  Result<RegisterOutcome> RegisterWorkflow(WorkflowRecord record) override;
  Result<WorkflowRecord> GetWorkflow(std::string_view name,
                                     uint32_t version) override;
  Result<Page<WorkflowRecord>> ListWorkflows(
      size_t page_size, std::string_view page_token) override;
  void CommitAsync(Transition transition, CommitCallback done) override;
  Result<RunRecord> GetRun(std::string_view run_id) override;
  Result<Page<RunRecord>> ListRuns(const RunFilter& filter, size_t page_size,
                                   std::string_view page_token) override;
  Result<std::vector<HistoryEventRecord>> ReadHistory(std::string_view run_id,
                                                      uint64_t after_seq,
                                                      size_t limit) override;
  Result<std::vector<SignalRecord>> ReadSignals(
      std::string_view run_id) override;
  Status ScanRunsByStatus(RunStatus status,
                          const ScanFn<RunRecord>& fn) override;
  Status ScanTimers(int64_t due_before_ms,
                    const ScanFn<TimerRecord>& fn) override;
  Status ScanTasks(const ScanFn<TaskRecord>& fn) override;
  Status ScanLeases(const ScanFn<LeaseRecord>& fn) override;
  Result<ScheduleRecord> PutSchedule(
      ScheduleRecord record, bool create,
      std::optional<uint64_t> expected_revision) override;
  Result<ScheduleRecord> GetSchedule(std::string_view schedule_id) override;
  Status DeleteSchedule(std::string_view schedule_id) override;
  Status ScanSchedules(const ScanFn<ScheduleRecord>& fn) override;
  void PurgeEndedRunsAsync(int64_t ended_before_ms, size_t max_runs,
                           std::function<void(Result<size_t>)> done) override;
  Status Health() override;
  Status CompactAll() override;
  Status VerifyChecksums() override;
  uint64_t SstBytes() override;
  Result<std::map<std::string, uint64_t>> CountEntries() override;

 protected:
  bool OnCallbackThread() const override {
    return std::this_thread::get_id() == committer_id_.load();
  }

 private:
  // Hears RocksDB's background errors (a failed WAL write, flush, compaction or
  // MANIFEST write) and hands recovery to the committer.
  class ErrorListener final : public rocksdb::EventListener {
   public:
    explicit ErrorListener(RocksDbStoreImpl* store) : store_(store) {}
    void OnBackgroundError(rocksdb::BackgroundErrorReason,
                           rocksdb::Status* error) override {
      // RocksDB classes an I/O error it does not know to be retryable (EIO on
      // a WAL or MANIFEST write, a failed flush) as fatal, resumable only by a
      // reopen. The errors it does resume (no space, retryable I/O) it
      // recovers from the same way: every memtable flushed into new SST files,
      // a new WAL, and a new MANIFEST after a failed MANIFEST write. So every
      // I/O error is treated as resumable; the probe write proves the disk
      // before the store trusts it again. Corruption, data loss and fencing
      // (another writer took over) stay fatal.
      if (error->IsIOError() && !error->IsIOFenced() &&
          error->severity() == rocksdb::Status::Severity::kFatalError) {
        *error = rocksdb::Status(*error, rocksdb::Status::Severity::kHardError);
      }
      // Softer errors (a compaction out of space) leave writes working and
      // are retried by RocksDB itself.
      if (error->severity() >= rocksdb::Status::Severity::kHardError) {
        store_->MarkFailed(*error);
      }
    }
    void OnErrorRecoveryBegin(rocksdb::BackgroundErrorReason,
                              rocksdb::Status error,
                              bool* auto_recovery) override {
      // The committer recovers from the errors that stop writes, on its own
      // interval (RocksDB's no-space recovery polls every few seconds, and
      // while it runs a manual Resume is refused).
      if (error.severity() >= rocksdb::Status::Severity::kHardError) {
        *auto_recovery = false;
      }
    }

   private:
    RocksDbStoreImpl* const store_;
  };

  // The state of one group being assembled by the committer.
  struct Group {
    rocksdb::WriteBatch batch;
    std::unordered_map<std::string, RunHead>
        heads;  // Runs changed by this group.
    uint64_t next_run_no = 0;
  };

  rocksdb::ColumnFamilyHandle* cf(Cf c) const { return handles_[c]; }
  rocksdb::WriteOptions WriteOpts() const;
  template <typename Message>
  Status ScanCf(Cf c, const ScanFn<Message>& fn, std::string_view what);

  // Before a read-write open of an existing store: opens it read-only and
  // refuses it, untouched, when it is damaged (FindDisagreement, checksums).
  Status CheckBeforeOpen(
      rocksdb::Env* env, const rocksdb::DBOptions& db_options,
      const std::vector<rocksdb::ColumnFamilyDescriptor>& families);
  Status OpenFailure(const rocksdb::Status& s) const;
  void CommitterLoop();
  // Records that RocksDB cannot write (from a write of ours, or a background
  // flush or compaction): the store refuses writes until the committer has
  // recovered. Any thread; takes queue_mu_.
  void MarkFailed(const rocksdb::Status& cause);
  // On the committer thread, while failed: resumes RocksDB and proves the disk
  // writable. true when the store accepts writes again.
  bool TryRecover();
  void NotifyHealth(const Status& health) const;
  // A write outside the committer (workflows, schedules): refused while the
  // store is failed; a failure marks it failed.
  Status WriteDirect(const std::function<rocksdb::Status()>& write,
                     const std::string& what);
  // Applies and writes `items`, and answers them. Items that do not fit the
  // group's byte budget are returned in `*rest`, to lead the next group.
  void ProcessGroup(std::vector<WorkItem>& items, std::vector<WorkItem>* rest);
  // Claims the transition's records for its run and encodes them, on the
  // caller's thread.
  static Status Prepare(CommitItem* item);
  // Queues `item` for the committer, or answers it at once on this thread when
  // the store is closing or has failed.
  void Enqueue(WorkItem item);
  // Answers `item` with `status` (an error) without applying it.
  static void Reject(WorkItem& item, const Status& status);
  // A snapshot-consistent read of a run, for index scans.
  Result<RunRecord> ReadRun(const rocksdb::ReadOptions& read,
                            std::string_view run_id);
  // Checks `t` against the run's current head and appends its writes to
  // `group`. On error, nothing is appended.
  Result<Committed> Apply(CommitItem& item, Group* group);
  Result<size_t> ApplyPurge(const PurgeItem& purge, Group* group);
  // The run's head as of the group being assembled: the group's own changes,
  // then the cache of active runs, then the stored record. nullopt when the run
  // does not exist.
  Result<std::optional<RunHead>> Head(const std::string& run_id, Group* group);

  const RocksDbOptions options_;
  std::unique_ptr<rocksdb::Env> owned_env_;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;

  std::mutex register_mu_;  // Serializes RegisterWorkflow's read-then-write.
  std::mutex schedule_mu_;  // Serializes schedule read-check-writes.

  std::mutex queue_mu_;
  std::condition_variable queue_cv_;
  std::deque<WorkItem> queue_;  // Guarded by queue_mu_.
  bool stopping_ = false;       // Guarded by queue_mu_.
  // Guarded by queue_mu_. Not OK while the store refuses writes: the status
  // those writes get, naming the cause.
  Status failed_;
  // Guarded by queue_mu_. Bumped by every failure, so a recovery that raced
  // with a new one does not clear it.
  uint64_t failure_epoch_ = 0;
  std::shared_ptr<rocksdb::EventListener> listener_;
  size_t linger_target_ =
      0;  // Guarded by queue_mu_. Nonzero while the committer lingers.
  std::thread committer_;
  // Set by the committer thread as it starts; read by any thread.
  std::atomic<std::thread::id> committer_id_{};

  // Committer-thread state: no lock.
  uint64_t next_run_no_ = 1;
  std::unordered_map<std::string, RunHead> active_heads_;
};

}  // namespace

Result<std::unique_ptr<RocksDbStore>> RocksDbStore::Open(
    const RocksDbOptions& options) {
  if (options.path.empty())
    return Status::InvalidArgument("the store needs a data directory");
  auto store = std::make_unique<RocksDbStoreImpl>(options);
  SAGAFLOW_RETURN_IF_ERROR(store->Init());
  return std::unique_ptr<RocksDbStore>(std::move(store));
}

Status RocksDbStoreImpl::Init() {
  rocksdb::Env* env =
      options_.env != nullptr ? options_.env : rocksdb::Env::Default();
  SAGAFLOW_RETURN_IF_ERROR(CheckDataDir(env, options_.path));
  rocksdb::DBOptions db_options;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  db_options.max_background_jobs = 2;
  db_options.bytes_per_sync = 1 << 20;
  db_options.max_total_wal_size = 256 << 20;
  db_options.keep_log_file_num = 4;
  db_options.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;
  // A WAL torn by a crash is cut at the last whole record: exactly the
  // unacknowledged tail (a synced record is never torn by a crash). Records
  // after a corrupt one in the middle are dropped too; with sync and group
  // durability only a disk that loses synced data can cause that
  // (docs/PERSISTENCE.md, "Faults").
  db_options.wal_recovery_mode = rocksdb::WALRecoveryMode::kPointInTimeRecovery;
  // Any failed write stops writes (rather than letting later writes follow a
  // torn record in the same WAL), and Open checks that every live SST file is
  // there and has the size the MANIFEST records.
  db_options.paranoid_checks = true;
  // The committer resumes after errors, on options_.recovery_interval.
  db_options.max_bgerror_resume_count = 0;
  listener_ = std::make_shared<ErrorListener>(this);
  db_options.listeners.push_back(listener_);
  db_options.db_write_buffer_size = options_.write_buffer_bytes * 4;
  if (options_.env != nullptr) db_options.env = options_.env;

  auto cache = rocksdb::NewLRUCache(options_.block_cache_bytes);
  auto family_options = [&](Cf c) {
    rocksdb::ColumnFamilyOptions o;
    rocksdb::BlockBasedTableOptions table;
    table.block_cache = cache;
    table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
    table.cache_index_and_filter_blocks = true;
    table.pin_l0_filter_and_index_blocks_in_cache = true;
    table.format_version = 5;
    const bool busy =
        c == kRuns || c == kHistory || c == kTasks || c == kTimers;
    o.write_buffer_size =
        busy ? options_.write_buffer_bytes : options_.write_buffer_bytes / 4;
    if (c == kHistory || c == kSignals) {
      // History and signals are read by run: an 8-byte run number prefix and a
      // prefix bloom filter make those scans touch only the run's own blocks.
      o.prefix_extractor.reset(
          rocksdb::NewFixedPrefixTransform(keys::kRunPrefixSize));
      o.memtable_prefix_bloom_size_ratio = 0.05;
      table.whole_key_filtering = false;
    }
    o.compression = rocksdb::kLZ4Compression;
    o.bottommost_compression = rocksdb::kZSTD;
    o.level_compaction_dynamic_level_bytes = true;
    o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
    return o;
  };

  std::vector<rocksdb::ColumnFamilyDescriptor> families;
  for (size_t c = 0; c < kCfCount; ++c) {
    families.emplace_back(kCfNames[c], family_options(static_cast<Cf>(c)));
  }
  if (env->FileExists(options_.path + "/CURRENT").ok()) {
    SAGAFLOW_RETURN_IF_ERROR(CheckBeforeOpen(env, db_options, families));
  }
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s =
      rocksdb::DB::Open(db_options, options_.path, families, &handles_, &raw);
  if (!s.ok()) return OpenFailure(s);
  db_.reset(raw);

  std::string value;
  s = db_->Get(rocksdb::ReadOptions(), cf(kDefault), kNextRunNoKey, &value);
  if (s.ok()) {
    if (value.size() != 8)
      return Status::Corruption("store metadata next_run_no is malformed");
    next_run_no_ = keys::ReadU64(value);
  } else if (!s.IsNotFound()) {
    return FromRocks(s, "cannot read store metadata");
  }
  committer_ = std::thread([this] { CommitterLoop(); });
  return Status::Ok();
}

Status RocksDbStoreImpl::OpenFailure(const rocksdb::Status& s) const {
  // A lock held by another process, a permission or a full disk is an
  // IO_ERROR; corruption, or a file the MANIFEST lists that is gone, means the
  // store is damaged.
  if (s.IsCorruption() || s.IsPathNotFound()) {
    return Damaged(options_.path, s.ToString());
  }
  return FromRocks(s, "cannot open the store at " + options_.path);
}

Status RocksDbStoreImpl::CheckBeforeOpen(
    rocksdb::Env* env, const rocksdb::DBOptions& db_options,
    const std::vector<rocksdb::ColumnFamilyDescriptor>& families) {
  // Another process's store is not ours to judge: its lock error comes first.
  rocksdb::FileLock* lock = nullptr;
  rocksdb::Status s = env->LockFile(options_.path + "/LOCK", &lock);
  if (!s.ok()) return OpenFailure(s);
  struct Unlock {
    rocksdb::Env* env;
    rocksdb::FileLock* lock;
    ~Unlock() { env->UnlockFile(lock).PermitUncheckedError(); }
  } unlock{env, lock};

  rocksdb::DBOptions read_only = db_options;
  read_only.listeners.clear();
  std::vector<std::string> names;
  s = rocksdb::DB::ListColumnFamilies(read_only, options_.path, &names);
  if (!s.ok()) return OpenFailure(s);
  std::vector<rocksdb::ColumnFamilyDescriptor> present;
  std::vector<size_t> positions;
  for (size_t c = 0; c < families.size(); ++c) {
    if (std::find(names.begin(), names.end(), families[c].name) !=
        names.end()) {
      present.push_back(families[c]);
      positions.push_back(c);
    }
  }
  // Read-only: it deletes nothing, so a damaged store is refused with its files
  // as they were (a read-write open would delete the SST files a damaged
  // MANIFEST no longer lists).
  ReadOnlyStore ro;
  auto open_ro = [&](rocksdb::WALRecoveryMode mode) {
    return ro.Open(read_only, mode, options_.path, present, positions);
  };
  // First strictly: a WAL that is whole, or only torn at its end by a crash,
  // opens the same way as with point-in-time recovery (what the read-write
  // open uses).
  s = open_ro(rocksdb::WALRecoveryMode::kTolerateCorruptedTailRecords);
  if (s.IsCorruption()) {
    // A whole record that fails its checksum: at the end of the log, an
    // unacknowledged write a power cut tore (its header reached the disk, a
    // sector of its payload did not), which point-in-time recovery rightly
    // drops; before other records, damage to acknowledged data, which it
    // would drop silently with every record after it. Tell them apart by
    // what a recovery that skips the damage finds after it.
    const rocksdb::Status strict = s;
    s = open_ro(rocksdb::WALRecoveryMode::kSkipAnyCorruptedRecords);
    if (!s.ok()) return OpenFailure(strict);  // Not (only) the WAL.
    const uint64_t beyond = ro.db()->GetLatestSequenceNumber();
    s = open_ro(rocksdb::WALRecoveryMode::kPointInTimeRecovery);
    if (s.ok() && ro.db()->GetLatestSequenceNumber() < beyond) {
      return Damaged(
          options_.path,
          "a record in its WAL is damaged (" + strict.ToString() +
              ") and valid records follow it: opening would drop the " +
              std::to_string(beyond - ro.db()->GetLatestSequenceNumber()) +
              " key writes recorded after it, which were acknowledged");
    }
  }
  if (!s.ok()) return OpenFailure(s);
  rocksdb::DB* const db = ro.db();
  const Handles& handles = ro.handles();

  // SST files in the directory that the MANIFEST does not list: leftovers of a
  // crashed flush or compaction, or data a damaged MANIFEST lost.
  std::vector<rocksdb::LiveFileMetaData> live;
  db->GetLiveFilesMetaData(&live);
  uint64_t live_bytes = 0;
  std::vector<std::string> live_names;
  for (const auto& f : live) {
    live_bytes += f.size;
    live_names.push_back(f.name.substr(f.name.rfind('/') + 1));
  }
  std::vector<std::string> children, unlisted;
  env->GetChildren(options_.path, &children).PermitUncheckedError();
  for (const std::string& name : children) {
    if (EndsWith(name, ".sst") &&
        std::find(live_names.begin(), live_names.end(), name) ==
            live_names.end()) {
      unlisted.push_back(name);
    }
  }
  std::string unlisted_note;
  if (!unlisted.empty()) {
    unlisted_note = "; " + std::to_string(unlisted.size()) +
                    " SST files in the directory are not in the MANIFEST (" +
                    unlisted.front() + (unlisted.size() > 1 ? ", ..." : "") +
                    ")";
  }

  auto disagreement = FindDisagreement(db, handles);
  if (!disagreement.ok()) {
    if (disagreement.status().code() == StatusCode::kCorruption) {
      return Damaged(options_.path, disagreement.status().message());
    }
    return disagreement.status();
  }
  if (!disagreement->empty()) {
    return Damaged(options_.path,
                   "its families disagree: " + *disagreement +
                       " (part of the data is lost, typically by a damaged "
                       "MANIFEST)" +
                       unlisted_note);
  }
  // A family that reads as empty although an SST file the MANIFEST does not
  // list holds live entries of it lost them. After a crash a flush's output
  // may be unlisted, but its data is still in the WAL, which the read-only
  // open replayed; so the family does not read as empty then.
  FamilyReader reader(db, handles);
  for (const std::string& name : unlisted) {
    rocksdb::Options sst_options(read_only, rocksdb::ColumnFamilyOptions());
    rocksdb::SstFileReader sst(sst_options);
    if (!sst.Open(options_.path + "/" + name).ok()) continue;  // Incomplete.
    auto props = sst.GetTableProperties();
    if (!props || props->num_entries <= props->num_deletions) continue;
    for (size_t c = 0; c < kCfCount; ++c) {
      if (props->column_family_name != kCfNames[c]) continue;
      SAGAFLOW_ASSIGN_OR_RETURN(auto first,
                                reader.Edge(static_cast<Cf>(c), false));
      if (!first) {
        return Damaged(options_.path,
                       std::string(kCfNames[c]) + " reads as empty, yet " +
                           name + ", which the MANIFEST does not list, holds " +
                           std::to_string(props->num_entries) +
                           " of its entries" + unlisted_note);
      }
    }
  }

  if (options_.verify_checksums_on_open_max_bytes > 0 &&
      live_bytes <= options_.verify_checksums_on_open_max_bytes) {
    s = db->VerifyChecksum();
    if (s.IsCorruption()) return Damaged(options_.path, s.ToString());
    if (!s.ok()) return FromRocks(s, "cannot verify the store's checksums");
  }
  return Status::Ok();
}

RocksDbStoreImpl::~RocksDbStoreImpl() {
  {
    std::lock_guard<std::mutex> lock(queue_mu_);
    stopping_ = true;
  }
  queue_cv_.notify_all();
  if (committer_.joinable()) committer_.join();
  if (db_) {
    for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h);
    handles_.clear();
    db_->Close();
    db_.reset();
  }
}

Status RocksDbStoreImpl::VerifyChecksums() {
  return FromRocks(db_->VerifyChecksum(), "checksum verification");
}

rocksdb::WriteOptions RocksDbStoreImpl::WriteOpts() const {
  rocksdb::WriteOptions w;
  w.sync = options_.durability != Durability::kNone;
  return w;
}

// ---------------------------------------------------------------------------------------------
// Workflows.

Result<RegisterOutcome> RocksDbStoreImpl::RegisterWorkflow(
    WorkflowRecord record) {
  if (record.name().empty() || record.name().find('\0') != std::string::npos) {
    return Status::InvalidArgument("invalid workflow name");
  }
  if (record.content_hash().empty()) {
    return Status::InvalidArgument(
        "a workflow definition needs its content hash");
  }
  std::lock_guard<std::mutex> lock(register_mu_);
  const std::string prefix = keys::WorkflowPrefix(record.name());
  uint32_t latest = 0;
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), cf(kWorkflows)));
  for (it->Seek(prefix); it->Valid() && StartsWith(it->key(), prefix);
       it->Next()) {
    WorkflowRecord existing;
    SAGAFLOW_RETURN_IF_ERROR(Decode(it->value(), &existing, "workflow record"));
    if (existing.content_hash() == record.content_hash()) {
      return RegisterOutcome{existing.version(), false};
    }
    latest = std::max(latest, existing.version());
  }
  SAGAFLOW_RETURN_IF_ERROR(FromRocks(it->status(), "cannot read workflows"));
  record.set_version(latest + 1);
  if (record.created_at_ms() == 0)
    record.set_created_at_ms(ToUnixMillis(SystemClock::Default()->Now()));
  SAGAFLOW_RETURN_IF_ERROR(WriteDirect(
      [&] {
        return db_->Put(WriteOpts(), cf(kWorkflows),
                        keys::Workflow(record.name(), record.version()),
                        Encode(record));
      },
      "cannot store workflow " + record.name()));
  return RegisterOutcome{record.version(), true};
}

Result<WorkflowRecord> RocksDbStoreImpl::GetWorkflow(std::string_view name,
                                                     uint32_t version) {
  WorkflowRecord record;
  if (version != 0) {
    std::string value;
    rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cf(kWorkflows),
                                 keys::Workflow(name, version), &value);
    if (s.IsNotFound()) {
      return Status::NotFound("workflow " + std::string(name) +
                              " has no version " + std::to_string(version));
    }
    SAGAFLOW_RETURN_IF_ERROR(FromRocks(s, "cannot read workflow"));
    SAGAFLOW_RETURN_IF_ERROR(Decode(value, &record, "workflow record"));
    return record;
  }
  const std::string prefix = keys::WorkflowPrefix(name);
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), cf(kWorkflows)));
  it->SeekForPrev(keys::PrefixEnd(prefix));
  if (!it->Valid() || !StartsWith(it->key(), prefix)) {
    SAGAFLOW_RETURN_IF_ERROR(FromRocks(it->status(), "cannot read workflows"));
    return Status::NotFound("no workflow named " + std::string(name));
  }
  SAGAFLOW_RETURN_IF_ERROR(Decode(it->value(), &record, "workflow record"));
  return record;
}

Result<Page<WorkflowRecord>> RocksDbStoreImpl::ListWorkflows(
    size_t page_size, std::string_view page_token) {
  if (page_size == 0) page_size = 100;
  std::string after;
  if (!page_token.empty() && !keys::FromHex(page_token, &after)) {
    return Status::InvalidArgument("malformed page token");
  }
  Page<WorkflowRecord> page;
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), cf(kWorkflows)));
  if (after.empty()) {
    it->SeekToFirst();
  } else {
    it->Seek(keys::PrefixEnd(keys::WorkflowPrefix(after)));
  }
  WorkflowRecord latest;
  bool have = false;
  for (; it->Valid(); it->Next()) {
    WorkflowRecord record;
    SAGAFLOW_RETURN_IF_ERROR(Decode(it->value(), &record, "workflow record"));
    if (have && record.name() != latest.name()) {
      if (page.items.size() == page_size) {
        page.next_page_token = keys::ToHex(page.items.back().name());
        return page;
      }
      page.items.push_back(std::move(latest));
    }
    latest = std::move(record);
    have = true;
  }
  SAGAFLOW_RETURN_IF_ERROR(FromRocks(it->status(), "cannot list workflows"));
  if (have) {
    if (page.items.size() == page_size) {
      page.next_page_token = keys::ToHex(page.items.back().name());
    } else {
      page.items.push_back(std::move(latest));
    }
  }
  return page;
}

// ---------------------------------------------------------------------------------------------
// Schedules: small records written on their own, outside the committer.

Result<ScheduleRecord> RocksDbStoreImpl::PutSchedule(
    ScheduleRecord record, bool create,
    std::optional<uint64_t> expected_revision) {
  const std::string& id = record.schedule_id();
  if (id.empty() || id.size() > kMaxRunIdBytes) {
    return Status::InvalidArgument("invalid schedule id");
  }
  std::lock_guard<std::mutex> lock(schedule_mu_);
  std::string value;
  rocksdb::Status s =
      db_->Get(rocksdb::ReadOptions(), cf(kSchedules), id, &value);
  if (!s.ok() && !s.IsNotFound()) return FromRocks(s, "cannot read schedule");
  uint64_t revision = 0;
  if (s.ok()) {
    if (create) return Status::AlreadyExists("schedule " + id + " exists");
    ScheduleRecord existing;
    SAGAFLOW_RETURN_IF_ERROR(Decode(value, &existing, "schedule record"));
    revision = existing.revision();
    if (expected_revision && *expected_revision != revision) {
      return Status::FailedPrecondition("schedule " + id + " is at revision " +
                                        std::to_string(revision) + ", not " +
                                        std::to_string(*expected_revision) +
                                        " (it changed since it was read)");
    }
  } else if (!create) {
    return Status::NotFound("no schedule " + id);
  }
  record.set_revision(revision + 1);
  SAGAFLOW_RETURN_IF_ERROR(WriteDirect(
      [&] { return db_->Put(WriteOpts(), cf(kSchedules), id, Encode(record)); },
      "cannot store schedule " + id));
  return record;
}

Result<ScheduleRecord> RocksDbStoreImpl::GetSchedule(
    std::string_view schedule_id) {
  std::string value;
  rocksdb::Status s =
      db_->Get(rocksdb::ReadOptions(), cf(kSchedules),
               rocksdb::Slice(schedule_id.data(), schedule_id.size()), &value);
  if (s.IsNotFound()) {
    return Status::NotFound("no schedule " + std::string(schedule_id));
  }
  SAGAFLOW_RETURN_IF_ERROR(FromRocks(s, "cannot read schedule"));
  ScheduleRecord record;
  SAGAFLOW_RETURN_IF_ERROR(Decode(value, &record, "schedule record"));
  return record;
}

Status RocksDbStoreImpl::DeleteSchedule(std::string_view schedule_id) {
  std::lock_guard<std::mutex> lock(schedule_mu_);
  const rocksdb::Slice key(schedule_id.data(), schedule_id.size());
  std::string value;
  rocksdb::Status s =
      db_->Get(rocksdb::ReadOptions(), cf(kSchedules), key, &value);
  if (s.IsNotFound()) {
    return Status::NotFound("no schedule " + std::string(schedule_id));
  }
  SAGAFLOW_RETURN_IF_ERROR(FromRocks(s, "cannot read schedule"));
  return WriteDirect(
      [&] { return db_->Delete(WriteOpts(), cf(kSchedules), key); },
      "cannot delete schedule " + std::string(schedule_id));
}

Status RocksDbStoreImpl::ScanSchedules(const ScanFn<ScheduleRecord>& fn) {
  return ScanCf(kSchedules, fn, "schedule record");
}

// ---------------------------------------------------------------------------------------------
// The write path: one committer thread, group commit.

namespace {

// Checks that a record carried by a transition belongs to its run, filling in
// an empty id.
template <typename Record>
Status ClaimForRun(const std::string& run_id, Record* record,
                   std::string_view what) {
  if (record->run_id().empty()) {
    record->set_run_id(run_id);
  } else if (record->run_id() != run_id) {
    return Status::InvalidArgument(std::string(what) + " of run " +
                                   record->run_id() +
                                   " in a transition of run " + run_id);
  }
  return Status::Ok();
}

}  // namespace

void RocksDbStoreImpl::CommitAsync(Transition transition, CommitCallback done) {
  CommitItem item{std::move(transition), std::move(done), Status(), {}};
  item.invalid = Prepare(&item);
  Enqueue(std::move(item));
}

Status RocksDbStoreImpl::Prepare(CommitItem* item) {
  Transition& t = item->transition;
  const std::string& id = t.run.run_id();
  for (TaskRecord& r : t.put_tasks)
    SAGAFLOW_RETURN_IF_ERROR(ClaimForRun(id, &r, "a task"));
  for (TimerRecord& r : t.put_timers)
    SAGAFLOW_RETURN_IF_ERROR(ClaimForRun(id, &r, "a timer"));
  for (LeaseRecord& r : t.put_leases)
    SAGAFLOW_RETURN_IF_ERROR(ClaimForRun(id, &r, "a lease"));
  for (SignalRecord& r : t.put_signals) {
    SAGAFLOW_RETURN_IF_ERROR(ClaimForRun(id, &r, "a signal"));
  }
  std::vector<std::string>& out = item->encoded;
  out.reserve(t.events.size() + t.put_tasks.size() + t.put_timers.size() +
              t.put_leases.size() + t.put_signals.size());
  for (const auto& r : t.events) out.push_back(Encode(r));
  for (const auto& r : t.put_tasks) out.push_back(Encode(r));
  for (const auto& r : t.put_timers) out.push_back(Encode(r));
  for (const auto& r : t.put_leases) out.push_back(Encode(r));
  for (const auto& r : t.put_signals) out.push_back(Encode(r));
  return Status::Ok();
}

void RocksDbStoreImpl::PurgeEndedRunsAsync(
    int64_t ended_before_ms, size_t max_runs,
    std::function<void(Result<size_t>)> done) {
  Enqueue(PurgeItem{ended_before_ms, max_runs, std::move(done)});
}

void RocksDbStoreImpl::Enqueue(WorkItem item) {
  Status refused;
  {
    std::lock_guard<std::mutex> lock(queue_mu_);
    if (stopping_) {
      refused = Status::Unavailable("the store is closing");
    } else if (!failed_.ok()) {
      refused = failed_;
    } else {
      queue_.push_back(std::move(item));
      // Wake the committer only when it waits for work, or lingers and the
      // group is now full.
      const bool wake = queue_.size() == 1 || queue_.size() == linger_target_;
      if (wake) queue_cv_.notify_one();
      return;
    }
  }
  Reject(item, refused);
}

Status RocksDbStoreImpl::Health() {
  std::lock_guard<std::mutex> lock(queue_mu_);
  return failed_;
}

void RocksDbStoreImpl::MarkFailed(const rocksdb::Status& cause) {
  Status refusal;
  if (cause.IsCorruption()) {
    refusal = Status::Corruption(
        "the store is not writable: " + cause.ToString() +
        "; it does not recover from corruption: stop it and check the data "
        "directory");
  } else {
    const auto interval = options_.recovery_interval.count();
    refusal = Status::Unavailable(
        "the store is not writable: " + cause.ToString() +
        (interval > 0 ? "; it retries every " + std::to_string(interval) +
                            " ms and accepts writes again once the disk does"
                      : std::string("; it must be reopened")));
  }
  {
    std::lock_guard<std::mutex> lock(queue_mu_);
    ++failure_epoch_;
    // The first cause is kept (later errors are usually its echoes), unless
    // corruption follows, which is worse: it is never recovered from.
    if (failed_.ok() || (refusal.code() == StatusCode::kCorruption &&
                         failed_.code() != StatusCode::kCorruption)) {
      failed_ = std::move(refusal);
    }
  }
  queue_cv_.notify_all();
}

void RocksDbStoreImpl::NotifyHealth(const Status& health) const {
  if (options_.on_health_change) options_.on_health_change(health);
}

Status RocksDbStoreImpl::WriteDirect(
    const std::function<rocksdb::Status()>& write, const std::string& what) {
  SAGAFLOW_RETURN_IF_ERROR(Health());
  rocksdb::Status s = write();
  if (!s.ok()) MarkFailed(s);
  return FromRocks(s, what + " (the write failed and its outcome is unknown)");
}

bool RocksDbStoreImpl::TryRecover() {
  uint64_t epoch;
  {
    std::lock_guard<std::mutex> lock(queue_mu_);
    if (failed_.code() == StatusCode::kCorruption) return false;
    epoch = failure_epoch_;
  }
  // Resume flushes every memtable into new SST files and moves to a new WAL,
  // so a failed write, which never reached a memtable, is not replayed from
  // the old WAL by a later open either: what reads show now is what a restart
  // will show.
  rocksdb::Status s = db_->Resume();
  if (s.ok()) {
    // The probe: a small synced write. It rewrites the run-number high-water
    // mark, so the numbers handed to failed creates are not reused after a
    // restart either.
    std::string value;
    keys::AppendU64(&value, next_run_no_);
    rocksdb::WriteOptions w;
    w.sync = true;
    s = db_->Put(w, cf(kDefault), kNextRunNoKey, value);
  }
  if (!s.ok()) {
    MarkFailed(s);
    return false;
  }
  std::lock_guard<std::mutex> lock(queue_mu_);
  if (failure_epoch_ != epoch) return false;  // Failed again meanwhile.
  failed_ = Status::Ok();
  return true;
}

void RocksDbStoreImpl::Reject(WorkItem& item, const Status& status) {
  if (auto* commit = std::get_if<CommitItem>(&item)) {
    commit->done(status);
  } else {
    std::get<PurgeItem>(item).done(status);
  }
}

void RocksDbStoreImpl::CommitterLoop() {
  committer_id_.store(std::this_thread::get_id());
  const bool grouping = options_.durability != Durability::kSync;
  const size_t max_group =
      grouping ? std::max<size_t>(1, options_.max_group_size) : 1;
  const bool linger = options_.durability == Durability::kGroup &&
                      options_.group_commit_linger.count() > 0;
  const bool self_recover = options_.recovery_interval.count() > 0;
  size_t target = 1;  // How many writers the last group had: that many are
                      // likely to return.
  // Whether on_health_change has been told of the current failure, and when
  // the next recovery attempt is due.
  bool reported_failure = false;
  std::chrono::steady_clock::time_point next_attempt;
  std::vector<WorkItem> items, rest;
  for (;;) {
    Status failed;
    bool attempt = false;
    {
      std::unique_lock<std::mutex> lock(queue_mu_);
      auto has_work = [&] { return !queue_.empty() || !rest.empty(); };
      if (failed_.ok()) {
        queue_cv_.wait(
            lock, [&] { return stopping_ || has_work() || !failed_.ok(); });
      } else if (reported_failure && self_recover) {
        // Failed: wake for the next attempt, or to refuse what was queued
        // before the failure.
        const bool woken = queue_cv_.wait_until(
            lock, next_attempt, [&] { return stopping_ || has_work(); });
        attempt = !woken;
      } else if (reported_failure) {
        queue_cv_.wait(lock, [&] { return stopping_ || has_work(); });
      }
      if (stopping_ && !has_work())
        return;  // Stopping, and nothing is left to commit.
      failed = failed_;
      if (failed.ok() && linger && rest.empty() && queue_.size() < target &&
          !stopping_) {
        linger_target_ = target;
        queue_cv_.wait_for(lock, options_.group_commit_linger, [&] {
          return stopping_ || queue_.size() >= target;
        });
        linger_target_ = 0;
      }
      items.swap(rest);
      while (!queue_.empty() && (!failed.ok() || items.size() < max_group)) {
        items.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    if (!failed.ok()) {
      // Nothing is written while failed: these were queued before the failure
      // and are refused, so their outcome is known (not written).
      for (WorkItem& item : items) Reject(item, failed);
      items.clear();
      if (!reported_failure) {
        reported_failure = true;
        next_attempt =
            std::chrono::steady_clock::now() + options_.recovery_interval;
        NotifyHealth(failed);
      } else if (attempt) {
        if (TryRecover()) {
          reported_failure = false;
          NotifyHealth(Status::Ok());
        } else {
          next_attempt =
              std::chrono::steady_clock::now() + options_.recovery_interval;
        }
      }
      continue;
    }
    target = items.size();
    ProcessGroup(items, &rest);
    items.clear();
  }
}

void RocksDbStoreImpl::ProcessGroup(std::vector<WorkItem>& items,
                                    std::vector<WorkItem>* rest) {
  Group group;
  group.next_run_no = next_run_no_;
  std::vector<Result<Committed>> commit_results;
  std::vector<Result<size_t>> purge_results;
  commit_results.reserve(items.size());
  size_t applied = 0;
  for (; applied < items.size(); ++applied) {
    // A group is cut at a byte budget (but always holds at least one item), so
    // a burst of large checkpoints does not become one enormous write.
    if (applied > 0 && group.batch.GetDataSize() > kMaxGroupBytes) break;
    WorkItem& item = items[applied];
    if (auto* commit = std::get_if<CommitItem>(&item)) {
      commit_results.push_back(Apply(*commit, &group));
    } else {
      purge_results.push_back(ApplyPurge(std::get<PurgeItem>(item), &group));
    }
  }
  for (size_t i = applied; i < items.size(); ++i)
    rest->push_back(std::move(items[i]));
  items.resize(applied);

  Status write_status;
  if (group.batch.Count() > 0) {
    if (group.next_run_no != next_run_no_) {
      std::string value;
      keys::AppendU64(&value, group.next_run_no);
      group.batch.Put(cf(kDefault), kNextRunNoKey, value);
    }
    SAGAFLOW_FAILPOINT("store.commit.before_write");
    rocksdb::Status s = db_->Write(WriteOpts(), &group.batch);
    if (!s.ok()) MarkFailed(s);
    write_status = FromRocks(s, "commit failed and its outcome is unknown");
  }
  // Run numbers are never reused, even those of a write that failed (it may be
  // on disk).
  next_run_no_ = group.next_run_no;
  if (write_status.ok()) {
    for (auto& [run_id, head] : group.heads) {
      // Only runs that may change again stay cached; ended and purged ones are
      // read back from the store if they are ever resumed.
      if (head.deleted || IsEndedStatus(head.status)) {
        active_heads_.erase(run_id);
      } else {
        active_heads_[run_id] = std::move(head);
      }
    }
  } else {
    // What the failed write left is only known once the store has recovered;
    // the heads are read back from the store then.
    active_heads_.clear();
  }
  size_t commit_index = 0, purge_index = 0;
  for (WorkItem& item : items) {
    if (auto* commit = std::get_if<CommitItem>(&item)) {
      Result<Committed>& r = commit_results[commit_index++];
      if (r.ok() && !write_status.ok()) {
        commit->done(write_status);
      } else {
        commit->done(std::move(r));
      }
    } else {
      Result<size_t>& r = purge_results[purge_index++];
      auto& done = std::get<PurgeItem>(item).done;
      if (r.ok() && !write_status.ok()) {
        done(write_status);
      } else {
        done(std::move(r));
      }
    }
  }
}

Result<std::optional<RunHead>> RocksDbStoreImpl::Head(const std::string& run_id,
                                                      Group* group) {
  if (auto it = group->heads.find(run_id); it != group->heads.end()) {
    if (it->second.deleted) return std::optional<RunHead>();
    return std::optional<RunHead>(it->second);
  }
  if (auto it = active_heads_.find(run_id); it != active_heads_.end()) {
    return std::optional<RunHead>(it->second);
  }
  std::string value;
  rocksdb::Status s =
      db_->Get(rocksdb::ReadOptions(), cf(kRuns), run_id, &value);
  if (s.IsNotFound()) return std::optional<RunHead>();
  SAGAFLOW_RETURN_IF_ERROR(FromRocks(s, "cannot read run " + run_id));
  RunRecord record;
  SAGAFLOW_RETURN_IF_ERROR(Decode(value, &record, "run record " + run_id));
  return std::optional<RunHead>(HeadOf(record));
}

Result<Committed> RocksDbStoreImpl::Apply(CommitItem& item, Group* group) {
  if (!item.invalid.ok()) return item.invalid;
  Transition& t = item.transition;
  RunRecord& run = t.run;
  const std::string& id = run.run_id();
  if (id.empty() || id.size() > kMaxRunIdBytes) {
    return Status::InvalidArgument("a run id is 1 to " +
                                   std::to_string(kMaxRunIdBytes) + " bytes");
  }
  if (!storage::RunStatus_IsValid(run.status()) ||
      run.status() == storage::RUN_STATUS_UNSPECIFIED) {
    return Status::InvalidArgument("run " + id + " has no valid status");
  }
  if (t.create && t.expected_version) {
    return Status::InvalidArgument("a create has no expected version");
  }
  auto head_result = Head(id, group);
  if (!head_result.ok()) return std::move(head_result).error();
  const std::optional<RunHead>& old = head_result.value();

  // Check everything before writing anything, so that a rejected transition
  // leaves no trace.
  if (t.create) {
    if (old) return Status::AlreadyExists("run " + id + " already exists");
    if (run.workflow().find('\0') != std::string::npos) {
      return Status::InvalidArgument("invalid workflow name");
    }
  } else {
    if (!old) return Status::NotFound("run " + id + " does not exist");
    if (t.expected_version && *t.expected_version != old->version) {
      return Status::FailedPrecondition(
          "run " + id + " is at version " + std::to_string(old->version) +
          ", not " + std::to_string(*t.expected_version) +
          ": the transition is stale");
    }
  }
  uint64_t seq = old ? old->last_event_seq : 0;
  for (const HistoryEventRecord& e : t.events) {
    if (e.seq() != seq + 1) {
      return Status::FailedPrecondition(
          "history of run " + id + " continues at seq " +
          std::to_string(seq + 1) + ", not " + std::to_string(e.seq()));
    }
    ++seq;
  }

  RunHead head = old ? *old : RunHead{};
  if (t.create) {
    head.run_no = group->next_run_no++;
    head.version = 1;
    head.created_at_ms = run.created_at_ms();
    head.workflow = run.workflow();
    head.workflow_version = run.workflow_version();
  } else {
    ++head.version;
  }
  head.last_event_seq = seq;
  head.status = run.status();
  // The end time is the store's to keep, like the version: a caller holding a
  // stale copy of the record (say, from before a resume) cannot move the
  // retention clock.
  if (!IsEndedStatus(run.status())) {
    head.ended_at_ms = 0;
  } else if (old && IsEndedStatus(old->status) && old->ended_at_ms != 0) {
    head.ended_at_ms =
        old->ended_at_ms;  // Still ended: the clock keeps running.
  } else if (run.updated_at_ms() != 0) {
    head.ended_at_ms = run.updated_at_ms();
  } else {
    head.ended_at_ms = ToUnixMillis(SystemClock::Default()->Now());
  }
  run.set_run_no(head.run_no);
  run.set_version(head.version);
  run.set_last_event_seq(head.last_event_seq);
  run.set_created_at_ms(head.created_at_ms);
  run.set_workflow(head.workflow);
  run.set_workflow_version(head.workflow_version);
  run.set_ended_at_ms(head.ended_at_ms);

  rocksdb::WriteBatch& b = group->batch;
  b.Put(cf(kRuns), id, Encode(run));
  if (t.create) {
    b.Put(cf(kByTime), keys::ByTime(head.created_at_ms, id), "");
    b.Put(cf(kByWorkflow),
          keys::ByWorkflow(head.workflow, head.created_at_ms, id), "");
  }
  if (!old || old->status != head.status) {
    if (old)
      b.Delete(cf(kByStatus),
               keys::ByStatus(old->status, head.created_at_ms, id));
    b.Put(cf(kByStatus), keys::ByStatus(head.status, head.created_at_ms, id),
          "");
  }
  const bool was_ended = old && old->ended_at_ms != 0;
  if (was_ended && old->ended_at_ms != head.ended_at_ms) {
    b.Delete(cf(kByEnded), keys::ByEnded(old->ended_at_ms, id));
  }
  if (head.ended_at_ms != 0 &&
      (!was_ended || old->ended_at_ms != head.ended_at_ms)) {
    b.Put(cf(kByEnded), keys::ByEnded(head.ended_at_ms, id), "");
  }
  size_t next_encoded =
      0;  // item.encoded follows the order Prepare wrote it in.
  for (const HistoryEventRecord& e : t.events) {
    b.Put(cf(kHistory), keys::RunSeq(head.run_no, e.seq()),
          item.encoded[next_encoded++]);
  }
  for (const TaskRecord& task : t.put_tasks)
    b.Put(cf(kTasks), task.task_id(), item.encoded[next_encoded++]);
  for (const std::string& task_id : t.delete_tasks)
    b.Delete(cf(kTasks), task_id);
  for (const TimerRecord& timer : t.put_timers) {
    b.Put(cf(kTimers), keys::Timer(timer.due_at_ms(), timer.timer_id()),
          item.encoded[next_encoded++]);
  }
  for (const TimerKey& key : t.delete_timers) {
    b.Delete(cf(kTimers), keys::Timer(key.due_at_ms, key.timer_id));
  }
  for (const LeaseRecord& lease : t.put_leases) {
    b.Put(cf(kLeases), lease.task_id(), item.encoded[next_encoded++]);
  }
  for (const std::string& task_id : t.delete_leases)
    b.Delete(cf(kLeases), task_id);
  for (const SignalRecord& signal : t.put_signals) {
    b.Put(cf(kSignals), keys::RunSeq(head.run_no, signal.seq()),
          item.encoded[next_encoded++]);
  }
  for (uint64_t signal_seq : t.delete_signals) {
    b.Delete(cf(kSignals), keys::RunSeq(head.run_no, signal_seq));
  }
  Committed committed{head.run_no, head.version, head.last_event_seq};
  group->heads[id] = std::move(head);
  return committed;
}

Result<size_t> RocksDbStoreImpl::ApplyPurge(const PurgeItem& purge,
                                            Group* group) {
  // All or nothing: on an error midway, the purge's writes are rolled back and
  // the group's other items are unaffected.
  rocksdb::WriteBatch& b = group->batch;
  b.SetSavePoint();
  std::unordered_map<std::string, RunHead> purged_heads;
  auto fail = [&](Status status) -> Result<size_t> {
    b.RollbackToSavePoint();
    return status;
  };
  const std::string end = keys::ByEnded(purge.ended_before_ms, "");
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), cf(kByEnded)));
  for (it->SeekToFirst(); it->Valid() && purged_heads.size() < purge.max_runs;
       it->Next()) {
    if (it->key().compare(end) >= 0) break;
    const std::string_view key = View(it->key());
    const std::string run_id(key.substr(8));
    const int64_t ended_at = keys::ReadTime(key);
    if (purged_heads.count(run_id)) continue;
    auto head_result = Head(run_id, group);
    if (!head_result.ok()) return fail(std::move(head_result).error());
    const std::optional<RunHead>& head = head_result.value();
    if (!head) {
      b.Delete(cf(kByEnded),
               it->key());  // An orphan entry; nothing else to remove.
      continue;
    }
    // Resumed or ended again since this entry was written (possibly earlier in
    // this group): the entry is stale, and the run is not due.
    if (head->ended_at_ms != ended_at || !IsEndedStatus(head->status)) continue;
    b.Delete(cf(kRuns), run_id);
    b.Delete(cf(kByTime), keys::ByTime(head->created_at_ms, run_id));
    b.Delete(cf(kByWorkflow),
             keys::ByWorkflow(head->workflow, head->created_at_ms, run_id));
    b.Delete(cf(kByStatus),
             keys::ByStatus(head->status, head->created_at_ms, run_id));
    b.Delete(cf(kByEnded), it->key());
    b.DeleteRange(cf(kHistory), keys::RunPrefix(head->run_no),
                  keys::RunPrefix(head->run_no + 1));
    b.DeleteRange(cf(kSignals), keys::RunPrefix(head->run_no),
                  keys::RunPrefix(head->run_no + 1));
    RunHead gone = *head;
    gone.deleted = true;
    purged_heads.emplace(run_id, std::move(gone));
  }
  if (!it->status().ok())
    return fail(FromRocks(it->status(), "cannot scan ended runs"));
  b.PopSavePoint();
  const size_t purged = purged_heads.size();
  for (auto& [run_id, head] : purged_heads)
    group->heads[run_id] = std::move(head);
  return purged;
}

// ---------------------------------------------------------------------------------------------
// Reads.

Result<RunRecord> RocksDbStoreImpl::GetRun(std::string_view run_id) {
  return ReadRun(rocksdb::ReadOptions(), run_id);
}

Result<RunRecord> RocksDbStoreImpl::ReadRun(const rocksdb::ReadOptions& read,
                                            std::string_view run_id) {
  std::string value;
  rocksdb::Status s = db_->Get(read, cf(kRuns), run_id, &value);
  if (s.IsNotFound())
    return Status::NotFound("run " + std::string(run_id) + " does not exist");
  SAGAFLOW_RETURN_IF_ERROR(FromRocks(s, "cannot read run"));
  RunRecord record;
  SAGAFLOW_RETURN_IF_ERROR(Decode(value, &record, "run record"));
  return record;
}

namespace {

// A consistent view for an index scan and the record reads it leads to.
class Snapshot {
 public:
  explicit Snapshot(rocksdb::DB* db) : db_(db), snapshot_(db->GetSnapshot()) {
    read_.snapshot = snapshot_;
  }
  ~Snapshot() { db_->ReleaseSnapshot(snapshot_); }
  const rocksdb::ReadOptions& read() const { return read_; }

 private:
  rocksdb::DB* db_;
  const rocksdb::Snapshot* snapshot_;
  rocksdb::ReadOptions read_;
};

}  // namespace

Result<Page<RunRecord>> RocksDbStoreImpl::ListRuns(
    const RunFilter& filter, size_t page_size, std::string_view page_token) {
  if (page_size == 0) page_size = 100;
  // The most selective index; the other filter is applied to the records. A
  // token starts with the index it belongs to, so one listing's token cannot be
  // fed to another.
  Cf index;
  char kind;
  std::string prefix;
  if (!filter.workflow.empty()) {
    index = kByWorkflow;
    kind = 'w';
    prefix = keys::WorkflowIndexPrefix(filter.workflow);
  } else if (filter.status) {
    index = kByStatus;
    kind = 's';
    prefix = keys::StatusPrefix(*filter.status);
  } else {
    index = kByTime;
    kind = 't';
  }
  std::string after;
  if (!page_token.empty()) {
    if (page_token[0] != kind || !keys::FromHex(page_token.substr(1), &after) ||
        !StartsWith(after, prefix)) {
      return Status::InvalidArgument(
          "the page token is malformed or belongs to another listing");
    }
  }
  const size_t fixed = prefix.size() + 8;  // prefix, then the creation time
  Snapshot snapshot(db_.get());
  Page<RunRecord> page;
  std::string last_returned;
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(snapshot.read(), cf(index)));
  if (after.empty()) {
    it->SeekForPrev(keys::PrefixEnd(prefix));
  } else {
    it->SeekForPrev(after);
    if (it->Valid() && it->key() == after) it->Prev();
  }
  for (; it->Valid() && StartsWith(it->key(), prefix); it->Prev()) {
    const std::string_view key = View(it->key());
    if (key.size() <= fixed) continue;
    auto record = ReadRun(snapshot.read(), key.substr(fixed));
    if (!record.ok()) {
      if (record.status().code() == StatusCode::kNotFound) continue;
      return record.status();
    }
    // An entry that does not describe the record (it cannot happen while
    // indexes are kept in the same batches as records; this guards listings
    // against it anyway).
    if (record->created_at_ms() != keys::ReadTime(key.substr(prefix.size())))
      continue;
    if (index == kByStatus && record->status() != *filter.status) continue;
    if (index == kByWorkflow && record->workflow() != filter.workflow) continue;
    if (filter.status && record->status() != *filter.status) continue;
    if (page.items.size() == page_size) {
      // Another match exists: the token resumes after the last run returned.
      page.next_page_token = kind + keys::ToHex(last_returned);
      break;
    }
    page.items.push_back(std::move(record).value());
    last_returned.assign(key);
  }
  SAGAFLOW_RETURN_IF_ERROR(FromRocks(it->status(), "cannot list runs"));
  return page;
}

Result<std::vector<HistoryEventRecord>> RocksDbStoreImpl::ReadHistory(
    std::string_view run_id, uint64_t after_seq, size_t limit) {
  SAGAFLOW_ASSIGN_OR_RETURN(RunRecord run, GetRun(run_id));
  std::vector<HistoryEventRecord> events;
  // Nothing comes after the largest seq (and after_seq + 1 would wrap).
  if (after_seq == std::numeric_limits<uint64_t>::max()) return events;
  rocksdb::ReadOptions read;
  read.prefix_same_as_start = true;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(read, cf(kHistory)));
  for (it->Seek(keys::RunSeq(run.run_no(), after_seq + 1)); it->Valid();
       it->Next()) {
    if (limit != 0 && events.size() == limit) break;
    HistoryEventRecord event;
    SAGAFLOW_RETURN_IF_ERROR(Decode(it->value(), &event, "history event"));
    events.push_back(std::move(event));
  }
  SAGAFLOW_RETURN_IF_ERROR(FromRocks(it->status(), "cannot read history"));
  return events;
}

Result<std::vector<SignalRecord>> RocksDbStoreImpl::ReadSignals(
    std::string_view run_id) {
  SAGAFLOW_ASSIGN_OR_RETURN(RunRecord run, GetRun(run_id));
  std::vector<SignalRecord> signals;
  rocksdb::ReadOptions read;
  read.prefix_same_as_start = true;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(read, cf(kSignals)));
  for (it->Seek(keys::RunPrefix(run.run_no())); it->Valid(); it->Next()) {
    SignalRecord signal;
    SAGAFLOW_RETURN_IF_ERROR(Decode(it->value(), &signal, "signal record"));
    signals.push_back(std::move(signal));
  }
  SAGAFLOW_RETURN_IF_ERROR(FromRocks(it->status(), "cannot read signals"));
  return signals;
}

Status RocksDbStoreImpl::ScanRunsByStatus(RunStatus status,
                                          const ScanFn<RunRecord>& fn) {
  const std::string prefix = keys::StatusPrefix(status);
  Snapshot snapshot(db_.get());
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(snapshot.read(), cf(kByStatus)));
  for (it->Seek(prefix); it->Valid() && StartsWith(it->key(), prefix);
       it->Next()) {
    auto record =
        ReadRun(snapshot.read(), View(it->key()).substr(prefix.size() + 8));
    if (!record.ok()) {
      if (record.status().code() == StatusCode::kNotFound) continue;
      return record.status();
    }
    if (record->status() != status) continue;
    if (!fn(record.value())) break;
  }
  return FromRocks(it->status(), "cannot scan runs");
}

template <typename Message>
Status RocksDbStoreImpl::ScanCf(Cf c, const ScanFn<Message>& fn,
                                std::string_view what) {
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), cf(c)));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    Message m;
    SAGAFLOW_RETURN_IF_ERROR(Decode(it->value(), &m, what));
    if (!fn(m)) break;
  }
  return FromRocks(it->status(),
                   std::string("cannot scan ") + std::string(what));
}

Status RocksDbStoreImpl::ScanTimers(int64_t due_before_ms,
                                    const ScanFn<TimerRecord>& fn) {
  // Keys sort by due time: stop at the first timer that is not yet due.
  const std::string end = keys::Timer(due_before_ms, "");
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), cf(kTimers)));
  for (it->SeekToFirst(); it->Valid() && it->key().compare(end) < 0;
       it->Next()) {
    TimerRecord timer;
    SAGAFLOW_RETURN_IF_ERROR(Decode(it->value(), &timer, "timer"));
    if (!fn(timer)) break;
  }
  return FromRocks(it->status(), "cannot scan timers");
}

Status RocksDbStoreImpl::ScanTasks(const ScanFn<TaskRecord>& fn) {
  return ScanCf<TaskRecord>(kTasks, fn, "tasks");
}

Status RocksDbStoreImpl::ScanLeases(const ScanFn<LeaseRecord>& fn) {
  return ScanCf<LeaseRecord>(kLeases, fn, "leases");
}

// ---------------------------------------------------------------------------------------------
// Maintenance.

Status RocksDbStoreImpl::CompactAll() {
  rocksdb::CompactRangeOptions o;
  o.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
  for (auto* h : handles_) {
    SAGAFLOW_RETURN_IF_ERROR(
        FromRocks(db_->CompactRange(o, h, nullptr, nullptr), "compaction"));
  }
  return Status::Ok();
}

Result<std::map<std::string, uint64_t>> RocksDbStoreImpl::CountEntries() {
  std::map<std::string, uint64_t> counts;
  for (size_t c = 0; c < kCfCount; ++c) {
    std::unique_ptr<rocksdb::Iterator> it(
        db_->NewIterator(rocksdb::ReadOptions(), handles_[c]));
    uint64_t n = 0;
    for (it->SeekToFirst(); it->Valid(); it->Next()) ++n;
    SAGAFLOW_RETURN_IF_ERROR(FromRocks(it->status(), "cannot count entries"));
    counts[kCfNames[c]] = n;
  }
  return counts;
}

uint64_t RocksDbStoreImpl::SstBytes() {
  uint64_t total = 0;
  for (auto* h : handles_) {
    uint64_t bytes = 0;
    if (db_->GetIntProperty(h, rocksdb::DB::Properties::kTotalSstFilesSize,
                            &bytes)) {
      total += bytes;
    }
  }
  return total;
}

}  // namespace sagaflow::persistence
