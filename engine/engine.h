// The engine: executes compiled workflows durably (CONTRACT.md §1) following
// the scheduler–agent–supervisor pattern (docs/ENGINE.md).
//
// Runs are spread over partitions by run id; each partition's thread owns its
// runs (one writer per run), runs the decider on their events, commits every
// decision as one store transition and only then dispatches its attempts
// (the transactional outbox) and arms its timers (the supervisor's part,
// kept per partition so no timer lock is shared). In-process activities run
// on the agent pool; other activities wait in queues for remote workers.
//
// Every method is thread-safe. Calls that change a run answer once the change
// is durable; the *Async forms call back from an engine thread (the callback
// must not block).
#ifndef SAGAFLOW_ENGINE_ENGINE_H_
#define SAGAFLOW_ENGINE_ENGINE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"
#include "common/time.h"
#include "dsl/limits.h"
#include "engine/agents.h"
#include "engine/observer.h"
#include "persistence/store.h"

namespace sagaflow::activities {
class ActivityRegistry;
}

namespace sagaflow::engine {

struct EngineOptions {
  size_t partitions = 2;
  size_t agent_threads = 4;
  dsl::Limits limits;
  uint32_t max_step_transitions = 10'000;
  uint64_t max_history_events = 50'000;
  Clock* clock = nullptr;  // nullptr: the system clock.
  // Called after each commit that leaves a run outside RUNNING/COMPENSATING
  // (ended, suspended or waiting for an operator; also a signal buffered by a
  // SUSPENDED run), on an engine thread: must not block or call back into the
  // engine synchronously.
  std::function<void(const persistence::RunRecord&)> on_run_stopped;
  // Called after every commit, on an engine thread, under the same rules as
  // on_run_stopped. Keep it cheap: it is on the hot path.
  std::function<void(const CommitInfo&)> on_committed;
};

struct RegisterResult {
  std::string name;
  uint32_t version = 0;
  bool created = false;
};

struct StartRunRequest {
  std::string workflow;
  uint32_t version = 0;    // 0: the latest.
  std::string input_json;  // Empty: {}.
  std::string run_id;      // Empty: the engine picks a UUIDv7.
  // A delayed start: when set and in the future, the run is created now and
  // its first step is scheduled at this time, by a durable timer.
  int64_t start_at_ms = 0;
  // Recorded on the run (RunRecord and RUN_STARTED) when a schedule starts it.
  std::string schedule_id;
  int64_t nominal_time_ms = 0;
};

struct StartRunResponse {
  std::string run_id;
  uint32_t version = 0;
  bool already_started = false;
};

class Engine {
 public:
  // Opens the engine over `store` (which must outlive it) and recovers every
  // run that was RUNNING or COMPENSATING: their timers are re-armed, their
  // remote tasks re-queued, and in-process attempts lost with the previous
  // process time out (error WorkerLost) under their retry policy.
  static Result<std::unique_ptr<Engine>> Open(
      persistence::Store* store, const activities::ActivityRegistry* registry,
      EngineOptions options = {});
  ~Engine();  // Shutdown()s.
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Stops taking calls (UNAVAILABLE), stops the agents and waits for commits
  // in flight. Attempts still running are abandoned to the next start.
  void Shutdown();

  // --- Workflows.
  // INVALID_ARGUMENT with every validation error.
  Result<RegisterResult> RegisterWorkflow(std::string_view definition_json);

  // --- Runs. A run id already used answers already_started (idempotent
  // start) with the existing run's version, never a second run.
  void StartRunAsync(StartRunRequest request,
                     std::function<void(Result<StartRunResponse>)> done);
  Result<StartRunResponse> StartRun(StartRunRequest request);
  // A signal is recorded (SIGNAL_RECEIVED) and delivered to the signal step
  // waiting for it, or buffered until one starts. RUNNING and SUSPENDED runs.
  void SignalRunAsync(std::string run_id, std::string name,
                      std::string payload_json,
                      std::function<void(Status)> done);
  Status SignalRun(std::string run_id, std::string name,
                   std::string payload_json);
  // The async forms answer with the run's status right after the change.
  void CancelRunAsync(std::string run_id, std::string reason,
                      std::function<void(Result<persistence::RunStatus>)> done);
  Status CancelRun(std::string run_id, std::string reason);
  void ResumeRunAsync(std::string run_id,
                      std::function<void(Result<persistence::RunStatus>)> done);
  Status ResumeRun(std::string run_id);

  // --- Workers. A stale token: NOT_FOUND; a malformed one: INVALID_ARGUMENT.
  // Calls `deliver` once, with a task (its attempt durably started and leased
  // to `worker_id`) or with nullopt after `wait`. Returns an id for CancelPoll.
  uint64_t PollTaskAsync(
      std::vector<std::string> activities, std::string worker_id, Duration wait,
      std::function<void(std::optional<PolledTask>)> deliver);
  void CancelPoll(uint64_t id);
  std::optional<PolledTask> PollTask(std::vector<std::string> activities,
                                     std::string worker_id, Duration wait);
  void CompleteTaskAsync(std::string_view token, std::string_view output_json,
                         std::function<void(Status)> done);
  Status CompleteTask(std::string_view token, std::string_view output_json);
  void FailTaskAsync(std::string_view token, std::string error,
                     std::string message, bool non_retryable,
                     std::function<void(Status)> done);
  Status FailTask(std::string_view token, std::string error,
                  std::string message, bool non_retryable);
  // Extends the attempt's heartbeat deadline; true when the attempt should
  // stop (its run was cancelled or it was abandoned).
  void HeartbeatTaskAsync(std::string_view token,
                          std::function<void(Result<bool>)> done);
  Result<bool> HeartbeatTask(std::string_view token);

  // --- Reads (from the store; the checkpoint is left out).
  Result<persistence::RunRecord> GetRun(std::string_view run_id);
  // Waits until the run's committed record satisfies `until` (default: its
  // status is neither RUNNING nor COMPENSATING) or `timeout` passes
  // (DEADLINE_EXCEEDED). Returns the record.
  Result<persistence::RunRecord> AwaitRun(
      std::string_view run_id, Duration timeout,
      std::function<bool(const persistence::RunRecord&)> until = nullptr);

  // Makes every partition check its timers now: for tests that move a
  // ManualClock.
  void Wake();

  // Loads, as at start-up, every active run that is not in memory, without
  // blocking the caller: after the store recovered from failed writes, the
  // runs evicted during the outage get their timers and queued tasks back.
  // An in-process attempt of such a run that was still going is retried
  // (activities run at least once).
  void ReloadActiveRunsAsync();

  // Ends every waiting PollTask with no task and makes later polls return at
  // once; completions and everything else keep working. The first step of a
  // graceful stop, so workers are not left parked on a server going away.
  void StopPolling();

  persistence::Store* store() const;
  size_t QueueDepth(const std::string& activity) const;
  // Queued (unclaimed) remote tasks per activity, for activities that ever
  // had one.
  std::vector<std::pair<std::string, size_t>> QueueDepths() const;

  class Impl;

 private:
  explicit Engine(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sagaflow::engine

#endif  // SAGAFLOW_ENGINE_ENGINE_H_
