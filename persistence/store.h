// The durable store the engine checkpoints into. Abstract, so a transactional
// SQL store shared by several servers can implement it later; no storage-engine
// type appears here. Records are the protobuf messages of records.proto.
//
// The central operation is a Transition: one run's new record, its appended
// history events and the task, timer, lease and signal changes that go with
// them, committed atomically (all or nothing) together with every index the
// store keeps. An acknowledged commit (callback with OK) is durable to the
// degree the store's Durability promises.
//
// Thread-safety: every method is safe for concurrent use.
#ifndef SAGAFLOW_PERSISTENCE_STORE_H_
#define SAGAFLOW_PERSISTENCE_STORE_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "persistence/records.pb.h"

namespace sagaflow::persistence {

using storage::HistoryEventRecord;
using storage::LeaseRecord;
using storage::RunRecord;
using storage::RunStatus;
using storage::ScheduleActionRecord;
using storage::ScheduleRecord;
using storage::SignalRecord;
using storage::TaskRecord;
using storage::TimerRecord;
using storage::WorkflowRecord;

// How far an acknowledged commit survives (docs/PERSISTENCE.md).
enum class Durability {
  kSync,   // Each commit is written and fsynced on its own before it is
           // acknowledged.
  kGroup,  // Concurrent commits are packed into one write and one fsync by a
           // single committer; each is acknowledged after its group's fsync.
           // Survives power loss. The default.
  kNone,   // Written to the log without fsync: survives a process crash, not a
           // power loss.
};

std::string_view DurabilityName(Durability d);
std::optional<Durability> ParseDurability(std::string_view name);

// COMPLETED, FAILED, COMPENSATED and CANCELLED: the run has ended (FAILED can
// still be resumed). RUNNING and COMPENSATING are active; SUSPENDED and
// COMPENSATION_FAILED wait for an operator.
bool IsEndedStatus(RunStatus status);

struct TimerKey {
  int64_t due_at_ms = 0;
  std::string timer_id;
};

struct Transition {
  // The run's new record. `run.run_id` names the run; the store sets run_no,
  // version, last_event_seq and ended_at_ms, and keeps created_at_ms and
  // workflow as they were at creation. ended_at_ms is the updated_at_ms (or the
  // current time) of the transition that ended the run, kept while it stays
  // ended, 0 while it is not.
  RunRecord run;
  // true: the run must not exist yet (ALREADY_EXISTS otherwise); this is how a
  // client-chosen run id makes StartRun idempotent. false: the run must exist
  // (NOT_FOUND otherwise).
  bool create = false;
  // When set, the stored run must be at this version (FAILED_PRECONDITION
  // otherwise): optimistic concurrency for writers that may race.
  std::optional<uint64_t> expected_version;
  // Appended to the run's history; their seq must continue it without a gap.
  std::vector<HistoryEventRecord> events;
  // Records put here belong to this run: their run_id must be empty (the store
  // fills it in) or equal run.run_id.
  std::vector<TaskRecord> put_tasks;
  std::vector<std::string> delete_tasks;
  std::vector<TimerRecord> put_timers;
  std::vector<TimerKey> delete_timers;
  std::vector<LeaseRecord> put_leases;
  std::vector<std::string> delete_leases;
  std::vector<SignalRecord> put_signals;
  std::vector<uint64_t> delete_signals;  // By seq, within this run.
};

struct Committed {
  uint64_t run_no = 0;
  uint64_t version = 0;
  uint64_t last_event_seq = 0;
};

using CommitCallback = std::function<void(Result<Committed>)>;

struct RegisterOutcome {
  uint32_t version = 0;
  bool created =
      false;  // false: an identical definition already had this version.
};

struct RunFilter {
  std::string workflow;  // Empty: any.
  std::optional<RunStatus> status;
};

template <typename T>
struct Page {
  std::vector<T> items;
  std::string next_page_token;  // Empty when there is nothing more.
};

// Returns false to stop a scan early.
template <typename T>
using ScanFn = std::function<bool(const T&)>;

class Store {
 public:
  virtual ~Store() = default;

  // --- Workflow definitions.
  // Stores `record` as the next version of record.name(), unless a version with
  // the same content_hash (required) exists, whose number is returned instead.
  // The store sets version and, when zero, created_at_ms.
  virtual Result<RegisterOutcome> RegisterWorkflow(WorkflowRecord record) = 0;
  // version 0: the latest.
  virtual Result<WorkflowRecord> GetWorkflow(std::string_view name,
                                             uint32_t version) = 0;
  // The latest version of each workflow, by name.
  virtual Result<Page<WorkflowRecord>> ListWorkflows(
      size_t page_size, std::string_view page_token) = 0;

  // --- Transitions.
  // Queues `transition`; `done` runs once it is durable (or has failed), on the
  // store's commit thread, in commit order. Commits of one run apply in the
  // order they were queued. `done` must not block, must not call Commit or
  // PurgeEndedRuns (they would wait on the thread that runs it; they fail with
  // FAILED_PRECONDITION instead) and must not destroy the store. When the store
  // is closing or has failed, `done` runs at once on the caller's thread.
  //
  // Errors: INVALID_ARGUMENT, ALREADY_EXISTS, NOT_FOUND and FAILED_PRECONDITION
  // mean the transition was rejected and nothing was written. UNAVAILABLE
  // means it was refused, unwritten, because the store is closing or not
  // writable (Health()). Any other error (IO_ERROR, CORRUPTION, ...) comes from
  // a failed write: its outcome is unknown (it may or may not be on disk), and
  // the store stops accepting writes until it has recovered (on its own, or by
  // a reopen; the implementation says which). The caller must then forget
  // what it assumed about the run and read it back: what the store holds once
  // it is healthy again is the truth, and stays so across a restart.
  virtual void CommitAsync(Transition transition, CommitCallback done) = 0;
  // Commits and waits.
  Result<Committed> Commit(Transition transition);
  // OK while the store accepts writes. Otherwise why not: the status that
  // writes are refused with (UNAVAILABLE naming the cause, such as a full
  // disk, or CORRUPTION). Reads keep working meanwhile. Cheap enough to poll.
  virtual Status Health() = 0;

  // --- Runs.
  virtual Result<RunRecord> GetRun(std::string_view run_id) = 0;
  // Newest first. With a workflow and a status, both must match. A page token
  // is returned only when at least one more matching run exists; it is valid
  // only for the same filter.
  virtual Result<Page<RunRecord>> ListRuns(const RunFilter& filter,
                                           size_t page_size,
                                           std::string_view page_token) = 0;
  // Events with seq > after_seq, in order, at most `limit` (0: all).
  virtual Result<std::vector<HistoryEventRecord>> ReadHistory(
      std::string_view run_id, uint64_t after_seq, size_t limit) = 0;
  // The run's buffered signals, by seq.
  virtual Result<std::vector<SignalRecord>> ReadSignals(
      std::string_view run_id) = 0;

  // --- Recovery. Each scan reads an index, not every run ever stored.
  virtual Status ScanRunsByStatus(RunStatus status,
                                  const ScanFn<RunRecord>& fn) = 0;
  // Timers due strictly before `due_before_ms`, earliest first.
  virtual Status ScanTimers(int64_t due_before_ms,
                            const ScanFn<TimerRecord>& fn) = 0;
  virtual Status ScanTasks(const ScanFn<TaskRecord>& fn) = 0;
  virtual Status ScanLeases(const ScanFn<LeaseRecord>& fn) = 0;

  // --- Schedules. Each write is durable on return (synced unless the store's
  // durability is kNone) and independent of run transitions.
  // create: the schedule must not exist (ALREADY_EXISTS). Otherwise it must
  // (NOT_FOUND) and, when expected_revision is set, be at that revision
  // (FAILED_PRECONDITION). The store sets revision (1 at creation, +1 per
  // write) and returns the record as written.
  virtual Result<ScheduleRecord> PutSchedule(
      ScheduleRecord record, bool create,
      std::optional<uint64_t> expected_revision) = 0;
  virtual Result<ScheduleRecord> GetSchedule(std::string_view schedule_id) = 0;
  // NOT_FOUND when absent.
  virtual Status DeleteSchedule(std::string_view schedule_id) = 0;
  // By id.
  virtual Status ScanSchedules(const ScanFn<ScheduleRecord>& fn) = 0;

  // --- Retention.
  // Deletes up to `max_runs` runs that ended (IsEndedStatus) before
  // `ended_before_ms`, with their history, signals and index entries, all or
  // nothing. Serialized with commits, so a run resumed by a commit queued
  // before it is kept. `done` gets how many were deleted, under the same rules
  // as CommitAsync's callback.
  virtual void PurgeEndedRunsAsync(
      int64_t ended_before_ms, size_t max_runs,
      std::function<void(Result<size_t>)> done) = 0;
  // Purges and waits.
  Result<size_t> PurgeEndedRuns(int64_t ended_before_ms, size_t max_runs);

 protected:
  // True on the thread that runs commit callbacks, where waiting for a commit
  // would deadlock.
  virtual bool OnCallbackThread() const { return false; }
};

}  // namespace sagaflow::persistence

#endif  // SAGAFLOW_PERSISTENCE_STORE_H_
