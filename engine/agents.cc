#include "engine/agents.h"

#include <algorithm>
#include <atomic>
#include <exception>
#include <utility>

#include "common/text.h"

namespace sagaflow::engine {

namespace {

// An error's name and message end up in proto3 string fields (the run record,
// the checkpoint), which must be UTF-8; an activity may report anything (a
// program's stderr).
activities::ActivityResult Sanitized(activities::ActivityResult result) {
  if (result.ok()) return result;
  activities::ActivityError error = result.error();
  error.error = ValidUtf8(error.error);
  error.message = ValidUtf8(error.message);
  return error;
}

}  // namespace

activities::ActivityResult RunActivity(activities::Activity* activity,
                                       const dsl::Json& input,
                                       const activities::ActivityContext& c) {
  try {
    return Sanitized(activity->Run(input, c));
  } catch (const std::exception& e) {
    return activities::ActivityError{
        "ActivityException", std::string("the activity threw: ") + e.what(),
        false};
  } catch (...) {
    return activities::ActivityError{
        "ActivityException", "the activity threw a non-standard exception",
        false};
  }
}

// ---------------------------------------------------------------- AgentPool

AgentPool::AgentPool(size_t threads, Clock* clock) : clock_(clock) {
  threads = std::max<size_t>(threads, 1);
  threads_.reserve(threads);
  for (size_t i = 0; i < threads; ++i)
    threads_.emplace_back([this] { Loop(); });
}

AgentPool::~AgentPool() { Stop(); }

void AgentPool::Submit(AgentTask task) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    queue_.push_back(std::move(task));
  }
  cv_.notify_one();
}

void AgentPool::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ && threads_.empty()) return;
    stopping_ = true;
    queue_.clear();
    for (auto& c : running_) c->Cancel();
  }
  cv_.notify_all();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
  // Cancelled above, asynchronous attempts end promptly.
  std::unique_lock<std::mutex> lock(mu_);
  async_done_cv_.wait(lock, [&] { return async_in_flight_ == 0; });
}

void AgentPool::Loop() {
  while (true) {
    AgentTask task;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      task = std::move(queue_.front());
      queue_.pop_front();
      running_.push_back(task.cancellation);
    }
    const int64_t started_at = ToUnixMillis(clock_->Now());
    activities::ActivityResult result = dsl::Json();
    if (task.cancellation->cancelled()) {
      // Abandoned before it began (timed out or cancelled): nobody waits
      // for it, and the engine would refuse its outcome anyway.
      result = activities::ActivityError{activities::kCancelled,
                                         "cancelled before it started", true};
    } else if (task.activity->RunsAsync()) {
      StartAsync(std::move(task), started_at);
      continue;
    } else {
      result = RunActivity(task.activity, task.input, task.context);
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = std::find(running_.begin(), running_.end(), task.cancellation);
      if (it != running_.end()) {
        *it = std::move(running_.back());
        running_.pop_back();
      }
    }
    if (task.done) task.done(std::move(result), started_at);
  }
}

void AgentPool::StartAsync(AgentTask task, int64_t started_at) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++async_in_flight_;
  }
  // The task (its context and cancellation) lives until the outcome.
  auto owned = std::make_shared<AgentTask>(std::move(task));
  auto reported = std::make_shared<std::atomic<bool>>(false);
  auto finish = [this, owned, started_at,
                 reported](activities::ActivityResult result) {
    if (reported->exchange(true)) return;  // Exactly once, whatever Start does.
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it =
          std::find(running_.begin(), running_.end(), owned->cancellation);
      if (it != running_.end()) {
        *it = std::move(running_.back());
        running_.pop_back();
      }
    }
    if (owned->done) owned->done(Sanitized(std::move(result)), started_at);
    std::lock_guard<std::mutex> lock(mu_);
    if (--async_in_flight_ == 0) async_done_cv_.notify_all();
  };
  try {
    owned->activity->Start(owned->input, owned->context, finish);
  } catch (const std::exception& e) {
    // Start threw before taking the attempt on: report it like Run would.
    finish(activities::ActivityError{
        "ActivityException", std::string("the activity threw: ") + e.what(),
        false});
  }
}

// ---------------------------------------------------------------- TaskQueues

TaskQueues::TaskQueues(Claim claim) : claim_(std::move(claim)) {
  reaper_ = std::thread([this] { ReaperLoop(); });
}

TaskQueues::~TaskQueues() { Stop(); }

void TaskQueues::Stop() {
  std::list<std::shared_ptr<Waiter>> waiters;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    stopping_ = true;
    waiters.swap(waiters_);
  }
  reaper_cv_.notify_all();
  if (reaper_.joinable()) reaper_.join();
  for (auto& w : waiters) w->deliver(std::nullopt);
}

std::optional<QueuedTask> TaskQueues::TakeLocked(
    const std::vector<std::string>& activities) {
  // The activity whose head task has waited longest would be fairest; the
  // poll's own order is close enough and costs no timestamps.
  for (const std::string& name : activities) {
    auto it = queues_.find(name);
    if (it == queues_.end() || it->second.empty()) continue;
    QueuedTask task = std::move(it->second.front());
    it->second.pop_front();
    queued_.erase(task.token);
    return task;
  }
  return std::nullopt;
}

void TaskQueues::Push(QueuedTask task) {
  std::shared_ptr<Waiter> waiter;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    for (auto it = waiters_.begin(); it != waiters_.end(); ++it) {
      const auto& acts = (*it)->activities;
      if (std::find(acts.begin(), acts.end(), task.activity) != acts.end()) {
        waiter = std::move(*it);
        waiters_.erase(it);
        break;
      }
    }
    if (!waiter) {
      queued_.emplace(task.token, task.activity);
      queues_[task.activity].push_back(std::move(task));
      return;
    }
  }
  ClaimFor(std::move(task), std::move(waiter));
}

uint64_t TaskQueues::Poll(std::vector<std::string> activities,
                          std::string worker_id, Duration wait,
                          Deliver deliver) {
  auto waiter = std::make_shared<Waiter>();
  {
    std::lock_guard<std::mutex> lock(mu_);
    waiter->id = next_id_++;
  }
  waiter->activities = std::move(activities);
  waiter->worker_id = std::move(worker_id);
  waiter->deadline =
      std::chrono::steady_clock::now() + std::max(wait, Duration(0));
  waiter->deliver = std::move(deliver);
  const uint64_t id = waiter->id;
  Serve(std::move(waiter));
  return id;
}

void TaskQueues::Serve(std::shared_ptr<Waiter> waiter) {
  std::optional<QueuedTask> task;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!stopping_ && !waiter->cancelled) {
      task = TakeLocked(waiter->activities);
      if (!task && std::chrono::steady_clock::now() < waiter->deadline) {
        waiters_.push_back(std::move(waiter));
        reaper_cv_.notify_one();
        return;
      }
    }
  }
  if (task) {
    ClaimFor(std::move(*task), std::move(waiter));
  } else {
    waiter->deliver(std::nullopt);
  }
}

void TaskQueues::ClaimFor(QueuedTask task, std::shared_ptr<Waiter> waiter) {
  std::string worker_id = waiter->worker_id;
  {
    std::lock_guard<std::mutex> lock(mu_);
    claiming_.push_back(waiter);
  }
  claim_(std::move(task), std::move(worker_id),
         [this, waiter](std::optional<PolledTask> claimed) {
           {
             std::lock_guard<std::mutex> lock(mu_);
             auto it = std::find(claiming_.begin(), claiming_.end(), waiter);
             if (it != claiming_.end()) claiming_.erase(it);
           }
           if (claimed) {
             waiter->deliver(std::move(claimed));
           } else {
             Serve(waiter);  // Stale: the next task, or wait on.
           }
         });
}

void TaskQueues::CancelPoll(uint64_t id) {
  std::shared_ptr<Waiter> waiter;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& w : claiming_) {
      if (w->id == id) w->cancelled = true;
    }
    for (auto it = waiters_.begin(); it != waiters_.end(); ++it) {
      if ((*it)->id == id) {
        waiter = std::move(*it);
        waiters_.erase(it);
        break;
      }
    }
  }
  if (waiter) waiter->deliver(std::nullopt);
}

void TaskQueues::ReaperLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    const auto now = std::chrono::steady_clock::now();
    std::vector<std::shared_ptr<Waiter>> expired;
    SteadyTime next = SteadyTime::max();
    for (auto it = waiters_.begin(); it != waiters_.end();) {
      if ((*it)->deadline <= now) {
        expired.push_back(std::move(*it));
        it = waiters_.erase(it);
      } else {
        next = std::min(next, (*it)->deadline);
        ++it;
      }
    }
    if (!expired.empty()) {
      lock.unlock();
      for (auto& w : expired) w->deliver(std::nullopt);
      lock.lock();
      continue;
    }
    if (next == SteadyTime::max()) {
      reaper_cv_.wait(lock);
    } else {
      reaper_cv_.wait_until(lock, next);
    }
  }
}

void TaskQueues::Remove(const std::string& token) {
  std::lock_guard<std::mutex> lock(mu_);
  auto entry = queued_.find(token);
  if (entry == queued_.end()) return;
  auto it = queues_.find(entry->second);
  queued_.erase(entry);
  if (it == queues_.end()) return;
  auto& queue = it->second;
  auto found =
      std::find_if(queue.begin(), queue.end(),
                   [&](const QueuedTask& t) { return t.token == token; });
  if (found != queue.end()) queue.erase(found);
}

size_t TaskQueues::Depth(const std::string& activity) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = queues_.find(activity);
  return it == queues_.end() ? 0 : it->second.size();
}

std::vector<std::pair<std::string, size_t>> TaskQueues::Depths() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::pair<std::string, size_t>> depths;
  depths.reserve(queues_.size());
  for (const auto& [activity, queue] : queues_) {
    depths.emplace_back(activity, queue.size());
  }
  return depths;
}

size_t TaskQueues::Waiting() const {
  std::lock_guard<std::mutex> lock(mu_);
  return waiters_.size();
}

}  // namespace sagaflow::engine
