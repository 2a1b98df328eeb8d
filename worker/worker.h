// The C++ worker library: runs activities for a sagaflow server over its
// WorkerService (docs/WORKERS.md).
//
//   sagaflow::worker::WorkerOptions options;
//   options.server = "127.0.0.1:7600";
//   sagaflow::worker::Worker worker(options);
//   worker.Register("payments.charge", [](const Task& task, TaskContext& ctx) {
//     ...  // task.input_json in, JSON out
//     return ActivityResult::Ok(R"({"charge_id": "ch-1"})");
//   });
//   worker.Run();  // until Stop() from another thread
//
// Each of `concurrency` poll loops long-polls PollTask for any registered
// activity, runs the task it gets on its own thread and reports the result
// (CompleteTask / FailTask). Delivery is at least once: a handler may run
// twice for the same step (a lost report, a timeout, a server restart), so
// side effects should be idempotent. gRPC types stay inside worker.cc.
#ifndef SAGAFLOW_WORKER_WORKER_H_
#define SAGAFLOW_WORKER_WORKER_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "common/status.h"

namespace sagaflow::worker {

// One attempt of one step, as PollTask delivered it.
struct Task {
  std::string token;  // names the attempt; opaque
  std::string run_id;
  std::string step;
  std::string activity;     // the compensate activity when is_compensation
  std::string input_json;   // activity input, JSON
  uint32_t attempt = 0;     // 1-based
  int64_t deadline_ms = 0;  // Unix epoch ms; 0 = none
  bool is_compensation = false;
};

// Why an activity failed: `error` is matched against the step's
// retry.non_retryable_errors and catch.errors.
struct ActivityFailure {
  std::string error;
  std::string message;
  bool non_retryable = false;
};

// What a handler returns: an output (JSON; empty means {}) or a failure (an
// empty error name is reported as "ActivityFailed").
class ActivityResult {
 public:
  static ActivityResult Ok(std::string output_json = "{}");
  static ActivityResult Fail(std::string error, std::string message = "",
                             bool non_retryable = false);
  static ActivityResult NonRetryable(std::string error,
                                     std::string message = "") {
    return Fail(std::move(error), std::move(message), true);
  }

  bool ok() const { return data_.index() == 0; }
  // Preconditions: ok() for output_json(), !ok() for failure().
  const std::string& output_json() const { return std::get<0>(data_); }
  const ActivityFailure& failure() const { return std::get<1>(data_); }

 private:
  explicit ActivityResult(std::variant<std::string, ActivityFailure> data)
      : data_(std::move(data)) {}
  std::variant<std::string, ActivityFailure> data_;
};

namespace internal {
struct TaskState;
struct WorkerImpl;
}  // namespace internal

// Handed to a handler for the task it runs: heartbeats and cancellation.
class TaskContext {
 public:
  // Internal: the worker makes one per task.
  explicit TaskContext(internal::TaskState* state) : state_(state) {}
  TaskContext(const TaskContext&) = delete;
  TaskContext& operator=(const TaskContext&) = delete;

  const Task& task() const;

  // Records a heartbeat (HeartbeatTask) with optional progress details (JSON)
  // and returns whether the handler should stop: the run was cancelled, the
  // attempt is no longer current (timed out, retried: NOT_FOUND), or the
  // worker is stopping. A heartbeat that cannot reach the server returns
  // false (keep going; the server times the attempt out if it stays away).
  bool Heartbeat(std::string_view details_json = {});

  // True once a heartbeat (explicit or automatic) learnt that the attempt is
  // not wanted any more.
  bool cancel_requested() const;
  // True once Worker::Stop() was called: finish or give up soon.
  bool stopping() const;

  // Sleeps for `duration` or until cancel_requested() or stopping(); returns
  // true when the full duration elapsed.
  bool SleepFor(std::chrono::milliseconds duration);

 private:
  internal::TaskState* state_;
};

using Handler = std::function<ActivityResult(const Task&, TaskContext&)>;

enum class LogLevel { kInfo, kWarning, kError };

// What happened to one task, for observers (metrics, logs, benchmarks).
struct TaskReport {
  const Task* task = nullptr;
  const ActivityResult* result = nullptr;
  // The outcome of CompleteTask / FailTask: OK, NOT_FOUND (the attempt was
  // no longer current: stale token), or the error that made the worker give up.
  Status report;
  // Time inside the handler.
  std::chrono::microseconds handler_time{0};
  // From PollTask returning the task to CompleteTask/FailTask returning.
  std::chrono::microseconds poll_to_report{0};
};

struct WorkerOptions {
  std::string server = "127.0.0.1:7600";
  // Sent with every poll, for diagnostics. Default: "<hostname>-<pid>".
  std::string worker_id;
  // Parallel poll loops, each running the task it gets: the most tasks this
  // worker runs at once.
  int concurrency = 4;
  // Long-poll wait sent to the server (PollTaskRequest.wait_ms).
  std::chrono::milliseconds poll_wait{std::chrono::seconds(30)};
  // When > 0, the worker heartbeats every running task this often (on top of
  // the handler's own TaskContext::Heartbeat calls) and flags cancellation.
  std::chrono::milliseconds heartbeat_interval{0};
  // Reconnect backoff after UNAVAILABLE / connection errors: starts here,
  // doubles up to max_backoff.
  std::chrono::milliseconds initial_backoff{100};
  std::chrono::milliseconds max_backoff{2000};
  // Attempts of CompleteTask/FailTask that fail with UNAVAILABLE (or time
  // out) before the worker gives up on the report (the server's own timeouts
  // then retry the step).
  int report_attempts = 10;
  // Log sink; default: one line per message on stderr.
  std::function<void(LogLevel, const std::string&)> on_log;
  // Called after each task's report (from the poll loop's thread; must be
  // thread-safe).
  std::function<void(const TaskReport&)> on_task_done;
};

class Worker {
 public:
  explicit Worker(WorkerOptions options);
  // Stops, and waits for a Run() on another thread to return.
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Adds the handler for an activity name. INVALID_ARGUMENT for an empty
  // name or handler, ALREADY_EXISTS for a second handler of a name,
  // FAILED_PRECONDITION once Run() has started.
  Status Register(std::string activity, Handler handler);

  // Polls and runs tasks until Stop(); returns after every in-flight task has
  // finished and been reported. INVALID_ARGUMENT when nothing is registered
  // or the options are unusable, FAILED_PRECONDITION when already running.
  // Returns at once if Stop() was called before.
  Status Run();

  // Asks Run() to return: outstanding polls are cancelled, running handlers
  // see stopping() and their results are still reported. Thread-safe; not
  // async-signal-safe (call it from a thread that waits for signals).
  void Stop();

  const WorkerOptions& options() const;

 private:
  std::unique_ptr<internal::WorkerImpl> impl_;
};

// "<hostname>-<pid>".
std::string DefaultWorkerId();

}  // namespace sagaflow::worker

#endif  // SAGAFLOW_WORKER_WORKER_H_
