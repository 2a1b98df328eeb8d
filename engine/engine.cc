#include "engine/engine.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <utility>

#include "activities/registry.h"
#include "common/failpoint.h"
#include "common/ids.h"
#include "dsl/compiler.h"
#include "dsl/json.h"
#include "engine/decider.h"
#include "engine/run.h"
#include "engine/task_token.h"

namespace sagaflow::engine {

using persistence::RunRecord;
using persistence::RunStatus;

namespace {

// What a partition tells whoever sent an event: the decider's reply, and
// the decision itself (a started remote task, a heartbeat's answer).
using Reply = std::function<void(Status, const Decision*)>;

// How often a partition waiting for a timer looks at the wall clock again.
constexpr std::chrono::milliseconds kClockRecheck{1000};

bool IsActive(RunStatus status) {
  return status == storage::RUN_STATUS_RUNNING ||
         status == storage::RUN_STATUS_COMPENSATING;
}

// A 128-bit content hash of the canonical (key-sorted, compact) text: two
// FNV-1a passes with different offsets. Identical definitions share a version
// through it; it is not a security boundary.
std::string ContentHash(std::string_view text) {
  uint64_t a = 0xcbf29ce484222325ULL;
  uint64_t b = 0x84222325cbf29ce4ULL;
  for (unsigned char c : text) {
    a = (a ^ c) * 0x100000001b3ULL;
    b = (b ^ (c + 0x9e)) * 0x100000001b3ULL;
  }
  char out[33];
  std::snprintf(out, sizeof out, "%016llx%016llx",
                static_cast<unsigned long long>(a),
                static_cast<unsigned long long>(b));
  return out;
}

}  // namespace

class Partition;

class Engine::Impl {
 public:
  Impl(persistence::Store* store, const activities::ActivityRegistry* registry,
       EngineOptions options);
  ~Impl();

  void StartPartitions();
  Status Recover();
  void Shutdown();

  Partition& PartitionFor(std::string_view run_id);
  // Sends `event` to its run's partition.
  void Send(std::string run_id, Event event, Reply reply);

  // Parses JSON from a caller under the payload limits.
  Result<Json> ParsePayload(std::string_view text, std::string_view what) const;

  void NotifyCommitted() {
    if (awaiting_.load(std::memory_order_acquire) == 0) return;
    {
      std::lock_guard<std::mutex> lock(await_mu_);
      ++commit_epoch_;
    }
    await_cv_.notify_all();
  }

  persistence::Store* store_;
  const activities::ActivityRegistry* registry_;
  EngineOptions options_;
  Clock* clock_;
  DeciderOptions decider_options_;
  std::vector<std::unique_ptr<Partition>> partitions_;
  std::unique_ptr<AgentPool> agents_;
  std::unique_ptr<TaskQueues> queues_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> shut_down_{false};
  std::atomic<uint64_t> workflow_epoch_{1};

  std::mutex await_mu_;
  std::condition_variable await_cv_;
  uint64_t commit_epoch_ = 0;  // Guarded by await_mu_.
  std::atomic<int> awaiting_{0};
};

// One partition: a thread owning a share of the runs, their timers and their
// in-flight in-process attempts. Everything below Post() runs on that thread.
class Partition {
 public:
  Partition(Engine::Impl* engine, size_t index)
      : engine_(engine), index_(index) {}

  void Start() {
    thread_ = std::thread([this] { Loop(); });
  }
  // Finishes queued work and commits in flight, then joins.
  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_one();
    if (thread_.joinable()) thread_.join();
  }
  // Queues `work` for the partition's thread. Returns false (and drops it)
  // once the thread has exited. Notifies under the lock: the thread may exit
  // and the partition be destroyed as soon as the lock is released.
  bool Post(std::function<void()> work) {
    std::lock_guard<std::mutex> lock(mu_);
    if (exited_) return false;
    work_.push_back(std::move(work));
    cv_.notify_one();
    return true;
  }
  void Wake() {
    std::lock_guard<std::mutex> lock(mu_);
    woken_ = true;
    cv_.notify_one();
  }

  void Handle(const std::string& run_id, Event event, Reply reply);
  void HandleStart(StartRunRequest request, Json input,
                   std::function<void(Result<StartRunResponse>)> done);
  void Recover(RunRecord record);

 private:
  struct Slot {
    std::unique_ptr<Run> run;
    bool committing = false;
    std::deque<std::function<void()>> pending;  // Events waiting their turn.
  };

  void Loop();
  Result<Slot*> FindOrLoad(const std::string& run_id);
  Result<Slot*> Load(RunRecord record);
  Result<std::shared_ptr<const dsl::Plan>> ResolvePlan(const std::string& name,
                                                       uint32_t* version);
  void Process(const std::string& run_id, Slot& slot, const Event& event,
               Reply reply);
  void Commit(const std::string& run_id, Slot& slot, Decision decision,
              bool create, Reply reply);
  void OnCommitted(const std::string& run_id, Result<persistence::Committed> r,
                   const std::shared_ptr<Decision>& decision, bool create,
                   Duration commit_latency, const Reply& reply);
  void Drain(const std::string& run_id);
  void Evict(const std::string& run_id);
  void MaybeEvict(const std::string& run_id);
  void Execute(const std::string& run_id, Decision& decision);
  void ApplyTimers(const std::string& run_id, const Decision& decision);
  void RequeueRemote(Run& run);

  // --- Timers (the supervisor's share of this partition).
  struct TimerEntry {
    std::string run_id;
    TimerRef ref;
  };
  using TimerMap = std::multimap<int64_t, TimerEntry>;
  static uint64_t SubKey(bool compensation, uint32_t exec, TimerKind kind) {
    return (uint64_t{exec} << 8) | (uint64_t{compensation} << 4) |
           static_cast<uint64_t>(kind);
  }
  void Arm(const std::string& run_id, const TimerRequest& timer);
  void Disarm(const std::string& run_id, bool compensation, uint32_t exec);
  void DropTimers(const std::string& run_id);
  void FireDueTimers();
  int64_t NextDueMs() const {
    return timers_.empty() ? INT64_MAX : timers_.begin()->first;
  }

  Engine::Impl* engine_;
  size_t index_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> work_;  // Guarded by mu_.
  bool stop_ = false;                       // Guarded by mu_.
  bool woken_ = false;                      // Guarded by mu_.
  bool exited_ = false;                     // Guarded by mu_.

  std::unordered_map<std::string, Slot> runs_;
  size_t commits_in_flight_ = 0;
  TimerMap timers_;
  std::unordered_map<std::string,
                     std::unordered_map<uint64_t, TimerMap::iterator>>
      timer_index_;
  std::unordered_map<std::string, std::shared_ptr<activities::Cancellation>>
      in_flight_;  // In-process attempts by token.
  struct PlanKey {
    std::string name;
    uint32_t version;
    bool operator<(const PlanKey& o) const {
      return std::tie(name, version) < std::tie(o.name, o.version);
    }
  };
  std::map<PlanKey, std::shared_ptr<const dsl::Plan>> plans_;
  struct Latest {
    uint64_t epoch = 0;
    uint32_t version = 0;
  };
  std::unordered_map<std::string, Latest> latest_;
};

// ---------------------------------------------------------------- Partition

void Partition::Loop() {
  std::deque<std::function<void()>> batch;
  while (true) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      while (work_.empty() && !woken_) {
        if (stop_ && commits_in_flight_ == 0) {
          exited_ = true;
          return;
        }
        const int64_t next = NextDueMs();
        if (stop_ || next == INT64_MAX) {
          cv_.wait(lock);
        } else {
          const int64_t wait_ms = next - ToUnixMillis(engine_->clock_->Now());
          if (wait_ms <= 0) break;
          // Timers are absolute wall-clock times but the wait is steady: a
          // bounded wait notices a wall clock that jumped forward.
          cv_.wait_for(lock, std::chrono::milliseconds(
                                 std::min(wait_ms, kClockRecheck.count())));
          if (ToUnixMillis(engine_->clock_->Now()) >= next) break;
        }
      }
      woken_ = false;
      batch.swap(work_);
    }
    for (auto& work : batch) work();
    batch.clear();
    bool stopping;
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping = stop_;
    }
    if (!stopping) FireDueTimers();
  }
}

Result<std::shared_ptr<const dsl::Plan>> Partition::ResolvePlan(
    const std::string& name, uint32_t* version) {
  if (*version == 0) {
    const uint64_t epoch = engine_->workflow_epoch_.load();
    Latest& latest = latest_[name];
    if (latest.epoch != epoch || latest.version == 0) {
      auto record = engine_->store_->GetWorkflow(name, 0);
      if (!record.ok()) {
        latest_.erase(name);
        return record.status();
      }
      latest = {epoch, record->version()};
    }
    *version = latest.version;
  }
  PlanKey key{name, *version};
  auto it = plans_.find(key);
  if (it != plans_.end()) return it->second;
  auto record = engine_->store_->GetWorkflow(name, *version);
  if (!record.ok()) return record.status();
  auto plan = dsl::CompileDefinition(record->definition_json(),
                                     engine_->options_.limits);
  if (!plan.ok()) {
    return Status::Corruption(
        "stored workflow " + name + " version " + std::to_string(*version) +
        " no longer compiles: " + dsl::FormatErrors(plan.error()));
  }
  plans_.emplace(key, *plan);
  return *plan;
}

Result<Partition::Slot*> Partition::FindOrLoad(const std::string& run_id) {
  auto it = runs_.find(run_id);
  if (it != runs_.end()) return &it->second;
  auto record = engine_->store_->GetRun(run_id);
  if (!record.ok()) {
    if (record.status().code() == StatusCode::kNotFound) {
      return Status::NotFound("run " + run_id + " not found");
    }
    return record.status();
  }
  return Load(std::move(record).value());
}

Result<Partition::Slot*> Partition::Load(RunRecord record) {
  auto run = std::make_unique<Run>();
  uint32_t version = record.workflow_version();
  SAGAFLOW_ASSIGN_OR_RETURN(run->plan,
                            ResolvePlan(record.workflow(), &version));
  if (!run->state.ParseFromString(record.checkpoint())) {
    return Status::Corruption("run " + record.run_id() +
                              ": checkpoint does not decode");
  }
  // A checkpoint that decodes may still name execs, steps or instances that
  // do not exist; the decider and the caches below index by them unchecked.
  if (Status valid =
          ValidateCheckpoint(*run->plan, record.status(), run->state);
      !valid.ok()) {
    return Status::Corruption("run " + record.run_id() + ": " +
                              valid.message());
  }
  record.clear_checkpoint();
  SAGAFLOW_ASSIGN_OR_RETURN(
      run->input,
      ParseStoredJson(record.input_json().empty() ? "{}"
                                                  : record.input_json()));
  run->record = std::move(record);
  run->RebuildIndexes();
  const std::string run_id = run->record.run_id();
  Slot& slot = runs_[run_id];
  slot.run = std::move(run);
  if (IsActive(slot.run->record.status())) {
    for (const TimerRequest& t : PendingTimers(*slot.run)) Arm(run_id, t);
    RequeueRemote(*slot.run);
  }
  return &slot;
}

void Partition::RequeueRemote(Run& run) {
  for (Dispatch& d : PendingRemoteDispatches(run, engine_->clock_->Now(),
                                             engine_->decider_options_)) {
    engine_->queues_->Push({run.record.run_id(), std::move(d.token), d.activity,
                            std::move(d.input_json)});
  }
}

void Partition::Recover(RunRecord record) {
  const std::string run_id = record.run_id();
  // Resident already: recovered (or started) in this process, so nothing of
  // it was lost.
  if (runs_.count(run_id) != 0) return;
  auto slot = Load(std::move(record));
  if (!slot.ok()) {
    std::fprintf(stderr, "sagaflow: cannot recover run %s: %s\n",
                 run_id.c_str(), slot.status().ToString().c_str());
    return;
  }
  Handle(run_id, RecoverEvent{}, [](Status, const Decision*) {});
}

void Partition::Handle(const std::string& run_id, Event event, Reply reply) {
  auto slot = FindOrLoad(run_id);
  if (!slot.ok()) {
    reply(slot.status(), nullptr);
    return;
  }
  if ((*slot)->committing) {
    (*slot)->pending.push_back(
        [this, run_id, event = std::move(event), reply = std::move(reply)] {
          Handle(run_id, event, reply);
        });
    return;
  }
  Process(run_id, **slot, event, std::move(reply));
}

void Partition::HandleStart(
    StartRunRequest request, Json input,
    std::function<void(Result<StartRunResponse>)> done) {
  const std::string& run_id = request.run_id;
  auto it = runs_.find(run_id);
  if (it != runs_.end()) {
    Slot& slot = it->second;
    if (slot.committing) {
      // Possibly its own creation: answer once that is settled.
      slot.pending.push_back([this, request = std::move(request),
                              input = std::move(input), done]() mutable {
        HandleStart(std::move(request), std::move(input), std::move(done));
      });
      return;
    }
    done(StartRunResponse{run_id, slot.run->record.workflow_version(), true});
    return;
  }
  uint32_t version = request.version;
  const std::string& workflow = request.workflow;
  auto plan = ResolvePlan(workflow, &version);
  if (!plan.ok()) {
    if (plan.status().code() == StatusCode::kNotFound) {
      done(Status::NotFound(
          "workflow " + workflow +
          (version ? " version " + std::to_string(version) : std::string()) +
          " is not registered"));
    } else {
      done(plan.status());
    }
    return;
  }
  auto run = std::make_unique<Run>();
  run->plan = std::move(plan).value();
  run->input = std::move(input);
  RunRecord& record = run->record;
  const int64_t now = ToUnixMillis(engine_->clock_->Now());
  record.set_run_id(run_id);
  record.set_workflow(workflow);
  record.set_workflow_version(version);
  record.set_status(storage::RUN_STATUS_RUNNING);
  record.set_input_json(std::move(request.input_json));
  record.set_created_at_ms(now);
  record.set_updated_at_ms(now);
  record.set_schedule_id(std::move(request.schedule_id));
  record.set_nominal_time_ms(request.nominal_time_ms);
  if (request.start_at_ms > now) record.set_start_at_ms(request.start_at_ms);
  run->RebuildIndexes();
  Slot& slot = runs_[run_id];
  slot.run = std::move(run);
  Decision decision = Decide(*slot.run, StartEvent{}, engine_->clock_->Now(),
                             engine_->decider_options_);
  Commit(
      run_id, slot, std::move(decision), /*create=*/true,
      [this, run_id = run_id, version, done](Status status, const Decision*) {
        if (status.ok()) {
          done(StartRunResponse{run_id, version, false});
          return;
        }
        if (status.code() != StatusCode::kAlreadyExists) {
          done(status);
          return;
        }
        auto existing = engine_->store_->GetRun(run_id);
        if (!existing.ok()) {
          done(existing.status());
          return;
        }
        done(StartRunResponse{run_id, existing->workflow_version(), true});
      });
}

void Partition::Process(const std::string& run_id, Slot& slot,
                        const Event& event, Reply reply) {
  Decision decision = Decide(*slot.run, event, engine_->clock_->Now(),
                             engine_->decider_options_);
  if (!decision.reply.ok()) {
    reply(decision.reply, &decision);
    MaybeEvict(run_id);  // A late event may have loaded an ended run.
    return;
  }
  if (!decision.changed) {
    ApplyTimers(run_id, decision);
    reply(Status(), &decision);
    MaybeEvict(run_id);
    return;
  }
  Commit(run_id, slot, std::move(decision), /*create=*/false, std::move(reply));
}

void Partition::Commit(const std::string& run_id, Slot& slot, Decision decision,
                       bool create, Reply reply) {
  persistence::Transition t;
  t.run = slot.run->record;
  slot.run->state.SerializeToString(t.run.mutable_checkpoint());
  t.create = create;
  if (!create) t.expected_version = slot.run->record.version();
  t.events = std::move(decision.events);
  slot.committing = true;
  ++commits_in_flight_;
  auto shared = std::make_shared<Decision>(std::move(decision));
  const auto handed_over = std::chrono::steady_clock::now();
  engine_->store_->CommitAsync(
      std::move(t),
      [this, run_id, shared, create, handed_over, reply = std::move(reply)](
          Result<persistence::Committed> result) mutable {
        const Duration latency = std::chrono::duration_cast<Duration>(
            std::chrono::steady_clock::now() - handed_over);
        Post([this, run_id = std::move(run_id), shared, create, latency,
              reply = std::move(reply), result = std::move(result)]() mutable {
          OnCommitted(run_id, std::move(result), shared, create, latency,
                      reply);
        });
      });
}

void Partition::OnCommitted(const std::string& run_id,
                            Result<persistence::Committed> result,
                            const std::shared_ptr<Decision>& decision,
                            bool create, Duration commit_latency,
                            const Reply& reply) {
  --commits_in_flight_;
  auto it = runs_.find(run_id);
  if (it == runs_.end()) {  // Cannot happen: a committing run stays.
    reply(Status::Internal("run " + run_id + " vanished during its commit"),
          nullptr);
    return;
  }
  Slot& slot = it->second;
  slot.committing = false;
  if (!result.ok()) {
    // The in-memory run holds the uncommitted decision: drop it, so the next
    // event reloads the truth from the store.
    std::deque<std::function<void()>> pending = std::move(slot.pending);
    Evict(run_id);
    reply(result.status(), nullptr);
    // A rejected (not failed) commit leaves a healthy store: reload the run
    // now, so its timers and queued tasks are armed again even if no other
    // event comes for it.
    if (!create && engine_->store_->Health().ok() && pending.empty() &&
        FindOrLoad(run_id).ok()) {
      MaybeEvict(run_id);
    }
    for (auto& work : pending) work();
    return;
  }
  SAGAFLOW_FAILPOINT("engine.commit.before_reply");
  Run& run = *slot.run;
  run.record.set_run_no(result->run_no);
  run.record.set_version(result->version);
  run.record.set_last_event_seq(result->last_event_seq);
  Execute(run_id, *decision);
  reply(Status(), decision.get());
  if (!IsActive(run.record.status()) && engine_->options_.on_run_stopped) {
    engine_->options_.on_run_stopped(run.record);
  }
  if (engine_->options_.on_committed) {
    engine_->options_.on_committed(CommitInfo{
        run.record,
        create ? persistence::RunStatus{} : decision->previous_status,
        commit_latency, decision->attempt_timings});
  }
  engine_->NotifyCommitted();
  Drain(run_id);
}

void Partition::Drain(const std::string& run_id) {
  while (true) {
    auto it = runs_.find(run_id);
    if (it == runs_.end()) return;
    Slot& slot = it->second;
    if (slot.committing) return;
    if (slot.pending.empty()) {
      MaybeEvict(run_id);
      return;
    }
    auto work = std::move(slot.pending.front());
    slot.pending.pop_front();
    work();
  }
}

void Partition::MaybeEvict(const std::string& run_id) {
  auto it = runs_.find(run_id);
  if (it == runs_.end()) return;
  const Slot& slot = it->second;
  if (slot.committing || !slot.pending.empty()) return;
  if (IsActive(slot.run->record.status())) return;
  Evict(run_id);
}

void Partition::Evict(const std::string& run_id) {
  DropTimers(run_id);
  runs_.erase(run_id);
}

void Partition::Execute(const std::string& run_id, Decision& decision) {
  for (const std::string& token : decision.cancelled_tokens) {
    auto it = in_flight_.find(token);
    if (it != in_flight_.end()) {
      it->second->Cancel();
      in_flight_.erase(it);
    } else {
      engine_->queues_->Remove(token);  // A remote task no worker took.
    }
  }
  ApplyTimers(run_id, decision);
  for (Dispatch& d : decision.dispatches) {
    // An attempt scheduled and abandoned by the same decision (a branch that
    // failed at once, a limit crossed) must not run at all.
    if (!decision.cancelled_tokens.empty() &&
        std::find(decision.cancelled_tokens.begin(),
                  decision.cancelled_tokens.end(),
                  d.token) != decision.cancelled_tokens.end()) {
      continue;
    }
    if (d.remote) {
      engine_->queues_->Push(
          {run_id, std::move(d.token), d.activity, std::move(d.input_json)});
      continue;
    }
    activities::Activity* activity = engine_->registry_->Find(d.activity);
    AgentTask task;
    task.activity = activity;
    task.cancellation = std::make_shared<activities::Cancellation>();
    task.token = d.token;
    task.input = std::move(d.input);
    activities::ActivityContext& c = task.context;
    c.run_id = run_id;
    c.step = d.step;
    c.scope_instance = d.instance;
    c.index = d.index;
    c.is_compensation = d.compensation;
    c.attempt = d.attempt;
    c.deadline = d.deadline;
    c.cancellation = task.cancellation.get();
    Engine::Impl* engine = engine_;
    const std::string token = d.token;
    if (d.heartbeat_timeout.count() > 0) {
      c.heartbeat = [engine, run_id, token](const Json&) {
        auto decoded = TaskToken::Decode(token);
        if (!decoded.ok()) return;
        engine->Send(run_id, HeartbeatEvent{std::move(decoded).value()},
                     [](Status, const Decision*) {});
      };
    }
    task.done = [engine, run_id, token](activities::ActivityResult result,
                                        int64_t started_at_ms) {
      // An attempt stopped by a shutdown did not fail: after the restart it
      // is retried as lost (WorkerLost), not charged as its own error.
      if (engine->stopping_.load()) return;
      auto decoded = TaskToken::Decode(token);
      if (!decoded.ok()) return;
      TaskResultEvent ev;
      ev.token = std::move(decoded).value();
      ev.started_at_ms = started_at_ms;
      if (result.ok()) {
        ev.output = std::move(result).value();
      } else {
        activities::ActivityError error = std::move(result).error();
        ev.ok = false;
        ev.error = std::move(error.error);
        ev.message = std::move(error.message);
        ev.non_retryable = error.non_retryable;
      }
      Partition& partition = engine->PartitionFor(run_id);
      partition.Post([&partition, run_id, token, ev = std::move(ev)]() mutable {
        partition.in_flight_.erase(token);
        partition.Handle(run_id, std::move(ev), [](Status, const Decision*) {});
      });
    };
    if (activity->RunsInline()) {
      const int64_t started_at = ToUnixMillis(engine_->clock_->Now());
      task.done(RunActivity(activity, task.input, task.context), started_at);
      continue;
    }
    in_flight_.emplace(token, task.cancellation);
    engine_->agents_->Submit(std::move(task));
  }
}

void Partition::ApplyTimers(const std::string& run_id,
                            const Decision& decision) {
  for (const Decision::Disarm& d : decision.disarm) {
    Disarm(run_id, d.compensation, d.exec);
  }
  for (const TimerRequest& t : decision.timers) Arm(run_id, t);
}

void Partition::Arm(const std::string& run_id, const TimerRequest& timer) {
  auto& index = timer_index_[run_id];
  const uint64_t key =
      SubKey(timer.ref.compensation, timer.ref.exec, timer.ref.kind);
  auto found = index.find(key);
  if (found != index.end()) {
    timers_.erase(found->second);
    index.erase(found);
  }
  index.emplace(key,
                timers_.emplace(timer.due_ms, TimerEntry{run_id, timer.ref}));
}

void Partition::Disarm(const std::string& run_id, bool compensation,
                       uint32_t exec) {
  auto it = timer_index_.find(run_id);
  if (it == timer_index_.end()) return;
  for (TimerKind kind :
       {TimerKind::kRetryBackoff, TimerKind::kQueue, TimerKind::kStartToClose,
        TimerKind::kHeartbeat, TimerKind::kWait, TimerKind::kSignalTimeout}) {
    auto found = it->second.find(SubKey(compensation, exec, kind));
    if (found == it->second.end()) continue;
    timers_.erase(found->second);
    it->second.erase(found);
  }
  if (it->second.empty()) timer_index_.erase(it);
}

void Partition::DropTimers(const std::string& run_id) {
  auto it = timer_index_.find(run_id);
  if (it == timer_index_.end()) return;
  for (auto& [key, entry] : it->second) timers_.erase(entry);
  timer_index_.erase(it);
}

void Partition::FireDueTimers() {
  const int64_t now = ToUnixMillis(engine_->clock_->Now());
  while (!timers_.empty() && timers_.begin()->first <= now) {
    TimerEntry entry = std::move(timers_.begin()->second);
    auto index = timer_index_.find(entry.run_id);
    if (index != timer_index_.end()) {
      index->second.erase(
          SubKey(entry.ref.compensation, entry.ref.exec, entry.ref.kind));
      if (index->second.empty()) timer_index_.erase(index);
    }
    timers_.erase(timers_.begin());
    Handle(entry.run_id, TimerEvent{entry.ref}, [](Status, const Decision*) {});
  }
}

// ---------------------------------------------------------------- Impl

Engine::Impl::Impl(persistence::Store* store,
                   const activities::ActivityRegistry* registry,
                   EngineOptions options)
    : store_(store),
      registry_(registry),
      options_(std::move(options)),
      clock_(options_.clock ? options_.clock : SystemClock::Default()) {
  decider_options_.max_step_transitions = options_.max_step_transitions;
  decider_options_.max_history_events = options_.max_history_events;
  decider_options_.eval_limits.max_bytes = options_.limits.max_payload_bytes;
  decider_options_.eval_limits.max_depth = options_.limits.max_json_depth;
  decider_options_.is_in_process = [registry](std::string_view activity) {
    return registry->Find(activity) != nullptr;
  };
  const size_t n = std::max<size_t>(options_.partitions, 1);
  for (size_t i = 0; i < n; ++i) {
    partitions_.push_back(std::make_unique<Partition>(this, i));
  }
  agents_ = std::make_unique<AgentPool>(options_.agent_threads, clock_);
  queues_ = std::make_unique<TaskQueues>(
      [this](QueuedTask task, std::string worker_id,
             std::function<void(std::optional<PolledTask>)> claimed) {
        auto token = TaskToken::Decode(task.token);
        if (!token.ok()) {
          claimed(std::nullopt);
          return;
        }
        const bool compensation = token->compensation;
        std::string run_id = task.run_id;
        SAGAFLOW_FAILPOINT("engine.dispatch.before_lease");
        Send(std::move(run_id),
             TaskStartedEvent{std::move(token).value(), std::move(worker_id)},
             [task = std::move(task), compensation, claimed](
                 Status status, const Decision* decision) {
               if (!status.ok() || decision == nullptr ||
                   !decision->started_task) {
                 claimed(std::nullopt);
                 return;
               }
               const Dispatch& d = *decision->started_task;
               PolledTask out;
               out.task_token = task.token;
               out.run_id = task.run_id;
               out.step = d.step;
               out.activity = task.activity;
               out.input_json = task.input_json;
               out.attempt = d.attempt;
               out.deadline_ms = ToUnixMillis(d.deadline);
               out.is_compensation = compensation;
               SAGAFLOW_FAILPOINT("engine.dispatch.before_deliver");
               claimed(std::move(out));
             });
      });
}

Engine::Impl::~Impl() { Shutdown(); }

void Engine::Impl::StartPartitions() {
  for (auto& p : partitions_) p->Start();
}

Status Engine::Impl::Recover() {
  // Both scans complete before any run is recovered, so a run that recovery
  // moves from RUNNING to COMPENSATING is not found (and recovered) twice.
  std::vector<RunRecord> records;
  for (RunStatus status :
       {storage::RUN_STATUS_RUNNING, storage::RUN_STATUS_COMPENSATING}) {
    Status scanned =
        store_->ScanRunsByStatus(status, [&records](const RunRecord& record) {
          records.push_back(record);
          return true;
        });
    if (!scanned.ok()) return scanned;
  }
  for (RunRecord& record : records) {
    Partition& p = PartitionFor(record.run_id());
    p.Post([&p, record = std::move(record)]() mutable {
      p.Recover(std::move(record));
    });
  }
  return Status();
}

void Engine::Impl::Shutdown() {
  if (shut_down_.exchange(true)) return;
  // The queues stop first: a poll then ends at once instead of claiming
  // task after task against an engine that refuses every claim.
  queues_->Stop();
  stopping_.store(true);
  agents_->Stop();
  for (auto& p : partitions_) p->Stop();
  // Wake anyone waiting in AwaitRun.
  {
    std::lock_guard<std::mutex> lock(await_mu_);
    ++commit_epoch_;
  }
  await_cv_.notify_all();
}

Partition& Engine::Impl::PartitionFor(std::string_view run_id) {
  return *partitions_[std::hash<std::string_view>{}(run_id) %
                      partitions_.size()];
}

void Engine::Impl::Send(std::string run_id, Event event, Reply reply) {
  if (stopping_.load()) {
    reply(Status::Unavailable("the engine is shutting down"), nullptr);
    return;
  }
  Partition& p = PartitionFor(run_id);
  auto shared = std::make_shared<Reply>(std::move(reply));
  const bool posted = p.Post([&p, run_id = std::move(run_id),
                              event = std::move(event), shared]() mutable {
    p.Handle(run_id, std::move(event), std::move(*shared));
  });
  if (!posted) {
    (*shared)(Status::Unavailable("the engine is shutting down"), nullptr);
  }
}

Result<Json> Engine::Impl::ParsePayload(std::string_view text,
                                        std::string_view what) const {
  dsl::JsonParseOptions parse;
  parse.max_bytes = options_.limits.max_payload_bytes;
  parse.max_depth = options_.limits.max_json_depth;
  auto value =
      dsl::ParseJson(text.empty() ? std::string_view("{}") : text, parse);
  if (!value.ok()) {
    return Status(value.status().code(),
                  std::string(what) + ": " + value.status().message());
  }
  return std::move(value).value();
}

// ---------------------------------------------------------------- Engine

Engine::Engine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Engine::~Engine() { Shutdown(); }

Result<std::unique_ptr<Engine>> Engine::Open(
    persistence::Store* store, const activities::ActivityRegistry* registry,
    EngineOptions options) {
  if (store == nullptr || registry == nullptr) {
    return Status::InvalidArgument("the engine needs a store and a registry");
  }
  Status health = store->Health();
  if (!health.ok()) return health;
  auto impl = std::make_unique<Impl>(store, registry, std::move(options));
  impl->StartPartitions();
  Status recovered = impl->Recover();
  if (!recovered.ok()) {
    impl->Shutdown();
    return recovered;
  }
  return std::unique_ptr<Engine>(new Engine(std::move(impl)));
}

void Engine::Shutdown() { impl_->Shutdown(); }

persistence::Store* Engine::store() const { return impl_->store_; }

size_t Engine::QueueDepth(const std::string& activity) const {
  return impl_->queues_->Depth(activity);
}

std::vector<std::pair<std::string, size_t>> Engine::QueueDepths() const {
  return impl_->queues_->Depths();
}

void Engine::StopPolling() { impl_->queues_->Stop(); }

void Engine::ReloadActiveRunsAsync() {
  if (impl_->stopping_.load()) return;
  Impl* impl = impl_.get();
  // A partition thread scans, so the caller (the store's committer) does not.
  impl->partitions_.front()->Post([impl] {
    if (impl->stopping_.load()) return;
    Status reloaded = impl->Recover();
    if (!reloaded.ok()) {
      std::fprintf(stderr, "sagaflow: cannot reload the active runs: %s\n",
                   reloaded.ToString().c_str());
    }
  });
}

void Engine::Wake() {
  for (auto& p : impl_->partitions_) p->Wake();
}

Result<RegisterResult> Engine::RegisterWorkflow(
    std::string_view definition_json) {
  if (impl_->stopping_.load()) {
    return Status::Unavailable("the engine is shutting down");
  }
  const dsl::Limits& limits = impl_->options_.limits;
  if (definition_json.size() > limits.max_definition_bytes) {
    return Status::ResourceExhausted(
        "definition is " + std::to_string(definition_json.size()) +
        " bytes, over the limit of " +
        std::to_string(limits.max_definition_bytes));
  }
  dsl::JsonParseOptions parse;
  parse.max_bytes = limits.max_definition_bytes;
  parse.max_depth = limits.max_json_depth;
  std::vector<dsl::DuplicateKey> duplicates;
  auto parsed = dsl::ParseJson(definition_json, parse, &duplicates);
  if (!parsed.ok()) {
    return Status(parsed.status().code(),
                  "definition: " + parsed.status().message());
  }
  auto plan = dsl::CompileParsedDefinition(*parsed, limits, duplicates);
  if (!plan.ok()) {
    return Status::InvalidArgument(dsl::FormatErrors(plan.error()));
  }
  persistence::WorkflowRecord record;
  record.set_name((*plan)->name());
  record.set_definition_json(std::string(definition_json));
  record.set_content_hash(ContentHash(dsl::DumpJson(*parsed)));
  record.set_created_at_ms(ToUnixMillis(impl_->clock_->Now()));
  record.set_description((*plan)->description());
  record.set_step_count(static_cast<uint32_t>((*plan)->steps().size()));
  auto outcome = impl_->store_->RegisterWorkflow(std::move(record));
  if (!outcome.ok()) return outcome.status();
  impl_->workflow_epoch_.fetch_add(1);
  return RegisterResult{(*plan)->name(), outcome->version, outcome->created};
}

void Engine::StartRunAsync(StartRunRequest request,
                           std::function<void(Result<StartRunResponse>)> done) {
  if (impl_->stopping_.load()) {
    done(Status::Unavailable("the engine is shutting down"));
    return;
  }
  if (request.workflow.empty()) {
    done(Status::InvalidArgument("workflow: required"));
    return;
  }
  auto input = impl_->ParsePayload(request.input_json, "input_json");
  if (!input.ok()) {
    done(input.status());
    return;
  }
  if (request.input_json.empty()) request.input_json = "{}";
  if (request.run_id.empty()) {
    request.run_id = NewRunId(impl_->clock_->Now());
  } else if (request.run_id.size() > TaskToken::kMaxRunIdBytes) {
    done(Status::InvalidArgument("run_id: longer than " +
                                 std::to_string(TaskToken::kMaxRunIdBytes) +
                                 " bytes"));
    return;
  }
  Partition& p = impl_->PartitionFor(request.run_id);
  auto shared = std::make_shared<std::function<void(Result<StartRunResponse>)>>(
      std::move(done));
  const bool posted =
      p.Post([&p, request = std::move(request),
              input = std::move(input).value(), shared]() mutable {
        p.HandleStart(std::move(request), std::move(input), std::move(*shared));
      });
  if (!posted) (*shared)(Status::Unavailable("the engine is shutting down"));
}

namespace {

// Runs an async call and waits for its single callback.
template <typename T, typename Call>
T Wait(Call call) {
  std::mutex mu;
  std::condition_variable cv;
  std::optional<T> out;
  call([&](T value) {
    std::lock_guard<std::mutex> lock(mu);
    out.emplace(std::move(value));
    cv.notify_one();
  });
  std::unique_lock<std::mutex> lock(mu);
  cv.wait(lock, [&] { return out.has_value(); });
  return std::move(*out);
}

}  // namespace

Result<StartRunResponse> Engine::StartRun(StartRunRequest request) {
  return Wait<Result<StartRunResponse>>(
      [&](auto done) { StartRunAsync(std::move(request), std::move(done)); });
}

void Engine::SignalRunAsync(std::string run_id, std::string name,
                            std::string payload_json,
                            std::function<void(Status)> done) {
  if (name.empty()) {
    done(Status::InvalidArgument("signal name: required"));
    return;
  }
  auto payload = impl_->ParsePayload(payload_json, "payload_json");
  if (!payload.ok()) {
    done(payload.status());
    return;
  }
  impl_->Send(std::move(run_id),
              SignalEvent{std::move(name), std::move(payload).value()},
              [done = std::move(done)](Status s, const Decision*) { done(s); });
}

Status Engine::SignalRun(std::string run_id, std::string name,
                         std::string payload_json) {
  return Wait<Status>([&](auto done) {
    SignalRunAsync(std::move(run_id), std::move(name), std::move(payload_json),
                   std::move(done));
  });
}

void Engine::CancelRunAsync(
    std::string run_id, std::string reason,
    std::function<void(Result<persistence::RunStatus>)> done) {
  impl_->Send(std::move(run_id), CancelEvent{std::move(reason)},
              [done = std::move(done)](Status s, const Decision* d) {
                if (!s.ok()) return done(s);
                done(d->status_after);
              });
}

Status Engine::CancelRun(std::string run_id, std::string reason) {
  return Wait<Result<persistence::RunStatus>>([&](auto done) {
           CancelRunAsync(std::move(run_id), std::move(reason),
                          std::move(done));
         })
      .status();
}

void Engine::ResumeRunAsync(
    std::string run_id,
    std::function<void(Result<persistence::RunStatus>)> done) {
  impl_->Send(std::move(run_id), ResumeEvent{},
              [done = std::move(done)](Status s, const Decision* d) {
                if (!s.ok()) return done(s);
                done(d->status_after);
              });
}

Status Engine::ResumeRun(std::string run_id) {
  return Wait<Result<persistence::RunStatus>>([&](auto done) {
           ResumeRunAsync(std::move(run_id), std::move(done));
         })
      .status();
}

uint64_t Engine::PollTaskAsync(
    std::vector<std::string> activities, std::string worker_id, Duration wait,
    std::function<void(std::optional<PolledTask>)> deliver) {
  return impl_->queues_->Poll(std::move(activities), std::move(worker_id), wait,
                              std::move(deliver));
}

void Engine::CancelPoll(uint64_t id) { impl_->queues_->CancelPoll(id); }

std::optional<PolledTask> Engine::PollTask(std::vector<std::string> activities,
                                           std::string worker_id,
                                           Duration wait) {
  return Wait<std::optional<PolledTask>>([&](auto done) {
    PollTaskAsync(std::move(activities), std::move(worker_id), wait,
                  std::move(done));
  });
}

void Engine::CompleteTaskAsync(std::string_view token,
                               std::string_view output_json,
                               std::function<void(Status)> done) {
  auto decoded = TaskToken::Decode(token);
  if (!decoded.ok()) {
    done(decoded.status());
    return;
  }
  auto output = impl_->ParsePayload(output_json, "output_json");
  if (!output.ok()) {
    done(output.status());
    return;
  }
  TaskResultEvent ev;
  ev.started_at_ms = 0;
  ev.output = std::move(output).value();
  std::string run_id = decoded->run_id;
  ev.token = std::move(decoded).value();
  SAGAFLOW_FAILPOINT("engine.complete.before_commit");
  impl_->Send(std::move(run_id), std::move(ev),
              [done = std::move(done)](Status s, const Decision*) { done(s); });
}

Status Engine::CompleteTask(std::string_view token,
                            std::string_view output_json) {
  return Wait<Status>([&](auto done) {
    CompleteTaskAsync(token, output_json, std::move(done));
  });
}

void Engine::FailTaskAsync(std::string_view token, std::string error,
                           std::string message, bool non_retryable,
                           std::function<void(Status)> done) {
  auto decoded = TaskToken::Decode(token);
  if (!decoded.ok()) {
    done(decoded.status());
    return;
  }
  if (error.empty()) {
    done(
        Status::InvalidArgument("error: required (the name a retry policy "
                                "or catch matches)"));
    return;
  }
  TaskResultEvent ev;
  ev.ok = false;
  ev.error = std::move(error);
  ev.message = std::move(message);
  ev.non_retryable = non_retryable;
  std::string run_id = decoded->run_id;
  ev.token = std::move(decoded).value();
  SAGAFLOW_FAILPOINT("engine.complete.before_commit");
  impl_->Send(std::move(run_id), std::move(ev),
              [done = std::move(done)](Status s, const Decision*) { done(s); });
}

Status Engine::FailTask(std::string_view token, std::string error,
                        std::string message, bool non_retryable) {
  return Wait<Status>([&](auto done) {
    FailTaskAsync(token, std::move(error), std::move(message), non_retryable,
                  std::move(done));
  });
}

void Engine::HeartbeatTaskAsync(std::string_view token,
                                std::function<void(Result<bool>)> done) {
  auto decoded = TaskToken::Decode(token);
  if (!decoded.ok()) {
    done(decoded.status());
    return;
  }
  std::string run_id = decoded->run_id;
  impl_->Send(std::move(run_id), HeartbeatEvent{std::move(decoded).value()},
              [done = std::move(done)](Status s, const Decision* d) {
                if (!s.ok()) {
                  done(s);
                  return;
                }
                done(d != nullptr && d->cancel_requested);
              });
}

Result<bool> Engine::HeartbeatTask(std::string_view token) {
  return Wait<Result<bool>>(
      [&](auto done) { HeartbeatTaskAsync(token, std::move(done)); });
}

Result<RunRecord> Engine::GetRun(std::string_view run_id) {
  auto record = impl_->store_->GetRun(run_id);
  if (!record.ok()) {
    if (record.status().code() == StatusCode::kNotFound) {
      return Status::NotFound("run " + std::string(run_id) + " not found");
    }
    return record.status();
  }
  record->clear_checkpoint();
  return record;
}

Result<RunRecord> Engine::AwaitRun(
    std::string_view run_id, Duration timeout,
    std::function<bool(const RunRecord&)> until) {
  if (!until) {
    until = [](const RunRecord& r) { return !IsActive(r.status()); };
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  impl_->awaiting_.fetch_add(1);
  struct Leave {
    std::atomic<int>& n;
    ~Leave() { n.fetch_sub(1); }
  } leave{impl_->awaiting_};
  while (true) {
    uint64_t epoch;
    {
      std::lock_guard<std::mutex> lock(impl_->await_mu_);
      epoch = impl_->commit_epoch_;
    }
    auto record = GetRun(run_id);
    if (record.ok() && until(*record)) return record;
    if (!record.ok() && record.status().code() != StatusCode::kNotFound) {
      return record;
    }
    std::unique_lock<std::mutex> lock(impl_->await_mu_);
    const bool changed = impl_->await_cv_.wait_until(
        lock, deadline, [&] { return impl_->commit_epoch_ != epoch; });
    if (!changed) {
      return Status::DeadlineExceeded(
          "run " + std::string(run_id) +
          " did not reach the awaited state in " + FormatDuration(timeout) +
          (record.ok() ? "; it is " + std::string(storage::RunStatus_Name(
                                          record->status()))
                       : std::string()));
    }
    if (impl_->stopping_.load()) {
      return Status::Unavailable("the engine is shutting down");
    }
  }
}

}  // namespace sagaflow::engine
