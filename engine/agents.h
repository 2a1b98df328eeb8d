// The agents of the scheduler–agent–supervisor pattern: the pool that runs
// in-process activities, and the queues remote workers draw their tasks from.
// Neither decides anything: an agent reports each outcome back to the engine,
// whose decider accepts it only if the attempt is still current.
#ifndef SAGAFLOW_ENGINE_AGENTS_H_
#define SAGAFLOW_ENGINE_AGENTS_H_

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "activities/activity.h"
#include "common/time.h"
#include "dsl/json.h"

namespace sagaflow::engine {

// One in-process attempt for the pool.
struct AgentTask {
  activities::Activity* activity = nullptr;
  dsl::Json input;
  activities::ActivityContext context;  // context.cancellation points into
                                        // `cancellation`.
  std::shared_ptr<activities::Cancellation> cancellation;
  std::string token;
  // Called on the agent thread with the outcome and when the attempt began.
  std::function<void(activities::ActivityResult, int64_t started_at_ms)> done;
};

// Runs one attempt of `activity`, turning an exception that escapes it into
// a retryable error (ActivityException), never a crash.
activities::ActivityResult RunActivity(activities::Activity* activity,
                                       const dsl::Json& input,
                                       const activities::ActivityContext& c);

// A fixed pool of threads running in-process activities. An exception that
// escapes an activity becomes a retryable error, never a crash.
class AgentPool {
 public:
  AgentPool(size_t threads, Clock* clock);
  ~AgentPool();  // Stop()s.
  AgentPool(const AgentPool&) = delete;
  AgentPool& operator=(const AgentPool&) = delete;

  void Submit(AgentTask task);
  // Cancels queued and running attempts, waits for the threads to finish
  // and for asynchronous attempts to call back.
  // Queued attempts are dropped without a report: after a restart they are
  // retried like any attempt lost with the process.
  void Stop();

 private:
  void Loop();
  void StartAsync(AgentTask task, int64_t started_at);

  Clock* clock_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<AgentTask> queue_;  // Guarded by mu_.
  bool stopping_ = false;        // Guarded by mu_.
  std::vector<std::shared_ptr<activities::Cancellation>> running_;  // mu_
  // Asynchronous attempts started and not yet done: Stop waits for them,
  // since their callbacks reach into the engine.
  size_t async_in_flight_ = 0;  // mu_
  std::condition_variable async_done_cv_;
  std::vector<std::thread> threads_;
};

// A task waiting in a remote queue.
struct QueuedTask {
  std::string run_id;
  std::string token;
  std::string activity;
  std::string input_json;
};

// What a worker's poll returns.
struct PolledTask {
  std::string task_token;
  std::string run_id;
  std::string step;
  std::string activity;
  std::string input_json;
  uint32_t attempt = 0;
  int64_t deadline_ms = 0;
  bool is_compensation = false;
};

// Per-activity queues of tasks for remote workers, and the long polls waiting
// on them. A poll waits for a task of any of its activities; a task goes to
// the longest-waiting poll that wants it. Handing a task over is a claim: the
// engine records the attempt as started (durably) before the worker gets it,
// and a task whose attempt is no longer current is skipped.
class TaskQueues {
 public:
  using Deliver = std::function<void(std::optional<PolledTask>)>;
  // Claims `task` for `worker_id`; calls back with the task to deliver, or
  // nullopt when its attempt is no longer current.
  using Claim =
      std::function<void(QueuedTask task, std::string worker_id,
                         std::function<void(std::optional<PolledTask>)>)>;

  explicit TaskQueues(Claim claim);
  ~TaskQueues();  // Stop()s.
  TaskQueues(const TaskQueues&) = delete;
  TaskQueues& operator=(const TaskQueues&) = delete;

  void Push(QueuedTask task);
  // Calls `deliver` exactly once: with a task, or with nullopt once `wait`
  // has passed (wait 0: only what is queued now), the poll was cancelled, or
  // the queues stopped. Returns an id for CancelPoll.
  uint64_t Poll(std::vector<std::string> activities, std::string worker_id,
                Duration wait, Deliver deliver);
  // A poll cancelled while its task is being claimed still gets that task
  // (it is already leased to the worker); otherwise it gets nullopt.
  void CancelPoll(uint64_t id);
  // Drops a queued task whose attempt was abandoned (cancelled, timed out in
  // the queue), so queues without workers do not grow.
  void Remove(const std::string& token);
  // Every waiting poll gets nullopt; later polls get nullopt at once.
  void Stop();

  size_t Depth(const std::string& activity) const;
  std::vector<std::pair<std::string, size_t>> Depths() const;
  size_t Waiting() const;

 private:
  using SteadyTime = std::chrono::steady_clock::time_point;
  struct Waiter {
    uint64_t id = 0;
    std::vector<std::string> activities;
    std::string worker_id;
    SteadyTime deadline;
    Deliver deliver;
    bool cancelled = false;  // Guarded by mu_.
  };

  // Pops a task for one of `activities`; requires mu_.
  std::optional<QueuedTask> TakeLocked(const std::vector<std::string>& acts);
  void ClaimFor(QueuedTask task, std::shared_ptr<Waiter> waiter);
  // Serves `waiter` from the queues or parks it.
  void Serve(std::shared_ptr<Waiter> waiter);
  void ReaperLoop();

  Claim claim_;
  mutable std::mutex mu_;
  std::condition_variable reaper_cv_;
  std::map<std::string, std::deque<QueuedTask>, std::less<>> queues_;  // mu_
  std::list<std::shared_ptr<Waiter>> waiters_;     // mu_, oldest first
  std::vector<std::shared_ptr<Waiter>> claiming_;  // mu_: claims in flight
  // Queued tasks' activities by token, for Remove.
  std::unordered_map<std::string, std::string> queued_;  // mu_
  uint64_t next_id_ = 1;                                 // mu_
  bool stopping_ = false;                                // mu_
  std::thread reaper_;
};

}  // namespace sagaflow::engine

#endif  // SAGAFLOW_ENGINE_AGENTS_H_
