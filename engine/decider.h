// The scheduler's decider: given a run and one event, it changes the run's
// state and says what must follow (history events, attempts to dispatch,
// timers to arm, in-flight attempts to cancel). It does no I/O and keeps no
// state of its own: the same run and event always decide the same way (task
// token secrets aside, which come from the CSPRNG). The partition commits the
// decision as one store transition before any of it is dispatched; if that
// commit fails, the partition drops the in-memory run and reloads it from the
// store, so a decision that was not committed leaves no trace.
#ifndef SAGAFLOW_ENGINE_DECIDER_H_
#define SAGAFLOW_ENGINE_DECIDER_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "common/result.h"
#include "common/time.h"
#include "dsl/eval.h"
#include "engine/observer.h"
#include "engine/run.h"
#include "engine/task_token.h"
#include "persistence/store.h"

namespace sagaflow::engine {

// Error names the engine itself produces (CONTRACT.md §1 and docs/ENGINE.md);
// a `catch` or `non_retryable_errors` can name them.
inline constexpr char kTimeout[] = "Timeout";  // start to close
inline constexpr char kHeartbeatTimeout[] = "HeartbeatTimeout";
inline constexpr char kQueueTimeout[] = "QueueTimeout";
inline constexpr char kSignalTimeout[] = "SignalTimeout";
inline constexpr char kRunTimeout[] = "RunTimeout";
inline constexpr char kStepLimitExceeded[] = "StepLimitExceeded";
inline constexpr char kHistoryLimitExceeded[] = "HistoryLimitExceeded";
inline constexpr char kCancelledError[] = "Cancelled";
inline constexpr char kWorkerLost[] = "WorkerLost";

enum class TimerKind : uint8_t {
  kRetryBackoff,
  kQueue,
  kStartToClose,
  kHeartbeat,
  kWait,           // a wait step
  kSignalTimeout,  // a signal step's timeout
  kRunTimeout,
  kStartDelay,  // a delayed start's first step
};

// Names the thing a timer is for; when it fires, the decider checks that the
// thing is still in the state the timer was armed for and ignores it
// otherwise, so timers are never cancelled, only outlived.
struct TimerRef {
  TimerKind kind = TimerKind::kWait;
  bool compensation = false;
  uint32_t exec = 0;
  uint32_t attempt = 0;
};

struct TimerRequest {
  int64_t due_ms = 0;
  TimerRef ref;
};

// An attempt to hand to an agent, once the decision is committed.
struct Dispatch {
  std::string token;  // Encoded TaskToken.
  std::string activity;
  Json input;
  std::string input_json;  // Remote attempts: `input` as text.
  std::string step;
  uint32_t exec = 0;
  uint32_t instance = 0;
  std::optional<int64_t> index;  // In a map iteration.
  uint32_t attempt = 0;
  bool compensation = false;
  bool remote = false;
  TimePoint deadline;             // Start to close (in-process: from now).
  Duration heartbeat_timeout{0};  // 0: none.
  Duration start_to_close{0};
};

// --- Events.
struct StartEvent {};
// An attempt's outcome, from an agent or a worker.
struct TaskResultEvent {
  TaskToken token;
  int64_t started_at_ms = 0;  // In-process: when the agent began.
  bool ok = true;
  Json output;
  std::string error;
  std::string message;
  bool non_retryable = false;
};
// A worker's poll took the task: the attempt is started and leased.
struct TaskStartedEvent {
  TaskToken token;
  std::string worker_id;
};
struct HeartbeatEvent {
  TaskToken token;
};
struct TimerEvent {
  TimerRef ref;
};
struct SignalEvent {
  std::string name;
  Json payload;
};
struct CancelEvent {
  std::string reason;
};
struct ResumeEvent {};
// The run was loaded after a restart: in-process attempts that were running
// in the dead process are lost.
struct RecoverEvent {};

using Event = std::variant<StartEvent, TaskResultEvent, TaskStartedEvent,
                           HeartbeatEvent, TimerEvent, SignalEvent, CancelEvent,
                           ResumeEvent, RecoverEvent>;

struct Decision {
  // What the event's sender is told: OK, or why the event was refused
  // (NOT_FOUND for a stale token, FAILED_PRECONDITION for a resume of a
  // running run, ...). A refused event changes nothing.
  Status reply;
  bool changed = false;  // Something must be committed.
  std::vector<persistence::HistoryEventRecord> events;
  std::vector<Dispatch> dispatches;
  std::vector<TimerRequest> timers;
  // Attempts whose timers are no longer needed (applied before `timers`).
  struct Disarm {
    bool compensation = false;
    uint32_t exec = 0;
  };
  std::vector<Disarm> disarm;
  // Tokens of in-flight attempts that must stop (in-process: their
  // Cancellation is set).
  std::vector<std::string> cancelled_tokens;
  // Heartbeat replies: whether the attempt should stop.
  bool cancel_requested = false;
  // For a started remote task: its input and deadline.
  std::optional<Dispatch> started_task;
  // The run's status before and after the event.
  persistence::RunStatus previous_status = persistence::RunStatus{};
  persistence::RunStatus status_after = persistence::RunStatus{};
  // Attempts whose result this event reported (for latency metrics).
  std::vector<AttemptTiming> attempt_timings;
};

struct DeciderOptions {
  uint32_t max_step_transitions = 10'000;
  // History events after which a running run fails (HistoryLimitExceeded,
  // not catchable); its compensation and final events may go beyond it.
  uint64_t max_history_events = 50'000;
  dsl::EvalLimits eval_limits;
  // Whether an activity runs in-process (else remote workers poll for it).
  std::function<bool(std::string_view activity)> is_in_process;
};

// Applies `event` to `run` at time `now`. History events are numbered after
// run.record.last_event_seq().
Decision Decide(Run& run, const Event& event, TimePoint now,
                const DeciderOptions& options);

// Every durable timer the run's state holds (to re-arm after a load).
std::vector<TimerRequest> PendingTimers(const Run& run);
// Every attempt the run's state holds that waits for an agent (to re-queue
// after a load): remote attempts not yet started. Inputs are re-evaluated.
std::vector<Dispatch> PendingRemoteDispatches(Run& run, TimePoint now,
                                              const DeciderOptions& options);

// The names of the steps with something in flight, for RunRecord.current_steps.
std::vector<std::string> CurrentSteps(const Run& run);

}  // namespace sagaflow::engine

#endif  // SAGAFLOW_ENGINE_DECIDER_H_
