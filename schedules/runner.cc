#include "schedules/runner.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "engine/engine.h"

namespace sagaflow::schedules {
namespace {

constexpr int kMaxRecentActions = 10;
// Missed fire times are counted one by one up to this many, then skipped in
// one jump (an every-minute schedule after a year of downtime).
constexpr uint64_t kMaxMissedCounted = 100'000;
// How long the thread sleeps at most: a wall clock that jumps is noticed
// within this.
constexpr Duration kMaxSleep = std::chrono::seconds(10);
// After a start failed for a reason that may pass (the engine is stopping,
// the store cannot write), when to try again.
constexpr Duration kRetryDelay = std::chrono::seconds(1);

enum Outcome : int32_t {
  kStarted = 1,
  kSkippedOverlap = 2,
  kMissedCatchup = 3,
  kBuffered = 4,
  kStartFailed = 5,
};

bool MayPass(const Status& s) {
  return s.code() == StatusCode::kUnavailable ||
         s.code() == StatusCode::kIoError ||
         s.code() == StatusCode::kInternal ||
         s.code() == StatusCode::kDeadlineExceeded;
}

}  // namespace

std::string ScheduledRunId(std::string_view schedule_id, int64_t nominal_ms) {
  return std::string(schedule_id) + "-" +
         FormatRfc3339(FromUnixMillis(nominal_ms));
}

class Runner::Impl {
 public:
  Impl(persistence::Store* store, engine::Engine* engine, RunnerOptions options)
      : store_(store),
        engine_(engine),
        clock_(options.clock ? options.clock : SystemClock::Default()) {}

  Status Load() {
    Status scanned = store_->ScanSchedules([&](const ScheduleRecord& r) {
      auto times = FireTimes::Of(r);
      if (!times.ok()) {
        spdlog::error("schedule {} is not valid any more and will not fire: {}",
                      r.schedule_id(), times.status().message());
        return true;
      }
      schedules_.emplace(r.schedule_id(), Entry{r, *times});
      return true;
    });
    return scanned;
  }

  void StartThread() {
    thread_ = std::thread([this] { Loop(); });
  }

  void Shutdown() {
    {
      std::lock_guard<std::mutex> lock(wake_mu_);
      if (stopping_) return;
      stopping_ = true;
    }
    wake_cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

  Result<ScheduleRecord> Create(ScheduleRecord spec) {
    SAGAFLOW_RETURN_IF_ERROR(Usable());
    SAGAFLOW_ASSIGN_OR_RETURN(FireTimes times, Check(spec));
    const int64_t now = NowMs();
    ScheduleRecord record = SpecOnly(spec);
    record.set_created_at_ms(now);
    record.set_updated_at_ms(now);
    record.set_next_fire_ms(record.paused() ? 0 : Next(times, now));
    std::lock_guard<std::mutex> lock(mu_);
    SAGAFLOW_ASSIGN_OR_RETURN(
        ScheduleRecord stored,
        store_->PutSchedule(std::move(record), /*create=*/true, std::nullopt));
    schedules_.insert_or_assign(stored.schedule_id(), Entry{stored, times});
    Wake();
    return stored;
  }

  Result<ScheduleRecord> Get(std::string_view id) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = schedules_.find(std::string(id));
    if (it == schedules_.end()) return NotFound(id);
    return it->second.record;
  }

  Result<persistence::Page<ScheduleRecord>> List(size_t page_size,
                                                 std::string_view token) {
    if (page_size == 0 || page_size > 1000) page_size = 100;
    std::lock_guard<std::mutex> lock(mu_);
    persistence::Page<ScheduleRecord> page;
    for (auto it = schedules_.upper_bound(std::string(token));
         it != schedules_.end(); ++it) {
      if (page.items.size() == page_size) {
        page.next_page_token = page.items.back().schedule_id();
        break;
      }
      page.items.push_back(it->second.record);
    }
    return page;
  }

  Result<ScheduleRecord> Update(ScheduleRecord spec,
                                uint64_t expected_revision) {
    SAGAFLOW_RETURN_IF_ERROR(Usable());
    SAGAFLOW_ASSIGN_OR_RETURN(FireTimes times, Check(spec));
    std::lock_guard<std::mutex> lock(mu_);
    auto it = schedules_.find(spec.schedule_id());
    if (it == schedules_.end()) return NotFound(spec.schedule_id());
    const ScheduleRecord& old = it->second.record;
    if (expected_revision != 0 && expected_revision != old.revision()) {
      return Status::FailedPrecondition(
          "schedule " + old.schedule_id() + " is at revision " +
          std::to_string(old.revision()) + ", not " +
          std::to_string(expected_revision) +
          " (it changed since it was read)");
    }
    ScheduleRecord record = SpecOnly(spec);
    record.set_created_at_ms(old.created_at_ms());
    record.set_last_run_id(old.last_run_id());
    record.set_buffered_nominal_ms(old.buffered_nominal_ms());
    record.set_runs_started(old.runs_started());
    record.set_skipped_overlap(old.skipped_overlap());
    record.set_missed_catchup(old.missed_catchup());
    *record.mutable_recent_actions() = old.recent_actions();
    const int64_t now = NowMs();
    record.set_updated_at_ms(now);
    record.set_next_fire_ms(record.paused() ? 0 : Next(times, now));
    SAGAFLOW_ASSIGN_OR_RETURN(
        ScheduleRecord stored,
        store_->PutSchedule(std::move(record), false, old.revision()));
    it->second = Entry{stored, times};
    Wake();
    return stored;
  }

  Result<ScheduleRecord> SetPaused(std::string_view id, bool paused,
                                   std::string note) {
    SAGAFLOW_RETURN_IF_ERROR(Usable());
    if (note.size() > kMaxNoteBytes) {
      return Status::InvalidArgument("note: longer than " +
                                     std::to_string(kMaxNoteBytes) + " bytes");
    }
    std::lock_guard<std::mutex> lock(mu_);
    auto it = schedules_.find(std::string(id));
    if (it == schedules_.end()) return NotFound(id);
    Entry& e = it->second;
    ScheduleRecord record = e.record;
    const int64_t now = NowMs();
    record.set_paused(paused);
    if (!note.empty()) record.set_note(std::move(note));
    // Fire times that pass while paused are not caught up.
    record.set_next_fire_ms(paused ? 0 : Next(e.times, now));
    record.set_updated_at_ms(now);
    SAGAFLOW_RETURN_IF_ERROR(Save(e, std::move(record)));
    Wake();
    return e.record;
  }

  Status Delete(std::string_view id) {
    SAGAFLOW_RETURN_IF_ERROR(Usable());
    std::lock_guard<std::mutex> lock(mu_);
    auto it = schedules_.find(std::string(id));
    if (it == schedules_.end()) return NotFound(id);
    SAGAFLOW_RETURN_IF_ERROR(store_->DeleteSchedule(id));
    schedules_.erase(it);
    return Status::Ok();
  }

  Result<ScheduleActionRecord> Trigger(std::string_view id, int32_t overlap) {
    SAGAFLOW_RETURN_IF_ERROR(Usable());
    if (overlap < 0 || overlap > static_cast<int32_t>(Overlap::kCancelOther)) {
      return Status::InvalidArgument("overlap: unknown policy " +
                                     std::to_string(overlap));
    }
    std::lock_guard<std::mutex> lock(mu_);
    auto it = schedules_.find(std::string(id));
    if (it == schedules_.end()) return NotFound(id);
    Entry& e = it->second;
    const Overlap policy =
        overlap == 0 ? OverlapOf(e.record) : static_cast<Overlap>(overlap);
    ScheduleRecord record = e.record;
    const int64_t now = NowMs();
    ScheduleActionRecord action;
    Status fired = Fire(&record, now, now, policy, &action);
    if (!fired.ok()) return fired;
    SAGAFLOW_RETURN_IF_ERROR(Save(e, std::move(record)));
    return action;
  }

  void OnRunStopped(const persistence::RunRecord& run) {
    if (run.schedule_id().empty() ||
        !persistence::IsEndedStatus(run.status())) {
      return;
    }
    {
      std::lock_guard<std::mutex> lock(wake_mu_);
      run_stopped_ = true;
    }
    wake_cv_.notify_one();
  }

  void Tick() {
    {
      std::lock_guard<std::mutex> lock(wake_mu_);
      run_stopped_ = false;
      changed_ = false;
    }
    std::lock_guard<std::mutex> lock(mu_);
    const int64_t now = NowMs();
    if (now < retry_after_ms_) return;
    // The hook only wakes the loop early: every buffered fire is checked
    // against the store, so a tick that runs before the hook (or after a
    // restart, which loses hooks) still starts it.
    for (auto& [id, entry] : schedules_) {
      if (!StartBuffered(entry, now)) return;
    }
    for (auto& [id, entry] : schedules_) {
      if (!FireDue(entry, now)) return;
    }
  }

 private:
  struct Entry {
    ScheduleRecord record;
    FireTimes times;
  };

  void Loop() {
    std::unique_lock<std::mutex> lock(wake_mu_);
    while (!stopping_) {
      lock.unlock();
      Tick();
      const int64_t due = NextDueMs();
      lock.lock();
      if (stopping_ || changed_ || run_stopped_) continue;
      const int64_t wait_ms =
          std::clamp<int64_t>(due - NowMs(), 0, kMaxSleep.count());
      wake_cv_.wait_for(lock, Duration(wait_ms), [this] {
        return stopping_ || changed_ || run_stopped_;
      });
    }
  }

  int64_t NextDueMs() {
    std::lock_guard<std::mutex> lock(mu_);
    int64_t due = INT64_MAX;
    for (const auto& [id, e] : schedules_) {
      if (e.record.next_fire_ms() != 0) {
        due = std::min(due, e.record.next_fire_ms());
      }
    }
    if (retry_after_ms_ > NowMs()) due = std::max(due, retry_after_ms_);
    return due;
  }

  void Wake() {
    {
      std::lock_guard<std::mutex> lock(wake_mu_);
      changed_ = true;
    }
    wake_cv_.notify_one();
  }

  Status Usable() {
    std::lock_guard<std::mutex> lock(wake_mu_);
    if (stopping_) return Status::Unavailable("the server is shutting down");
    return Status::Ok();
  }

  int64_t NowMs() const { return ToUnixMillis(clock_->Now()); }

  static int64_t Next(const FireTimes& times, int64_t after_ms) {
    return times.NextAfter(after_ms).value_or(0);
  }

  static Status NotFound(std::string_view id) {
    return Status::NotFound("no schedule " + std::string(id));
  }

  // The spec fields of `spec`, none of its state.
  static ScheduleRecord SpecOnly(const ScheduleRecord& spec) {
    ScheduleRecord r;
    r.set_schedule_id(spec.schedule_id());
    r.set_workflow(spec.workflow());
    r.set_workflow_version(spec.workflow_version());
    r.set_input_json(spec.input_json());
    r.set_cron(spec.cron());
    r.set_interval_ms(spec.interval_ms());
    r.set_timezone(spec.timezone());
    r.set_start_time_ms(spec.start_time_ms());
    r.set_end_time_ms(spec.end_time_ms());
    r.set_overlap(spec.overlap() == 0 ? static_cast<int32_t>(Overlap::kSkip)
                                      : spec.overlap());
    r.set_catchup_window_ms(spec.catchup_window_ms());
    r.set_paused(spec.paused());
    r.set_note(spec.note());
    return r;
  }

  // Validates the spec and that its workflow is registered.
  Result<FireTimes> Check(const ScheduleRecord& spec) {
    SAGAFLOW_RETURN_IF_ERROR(ValidateSpec(spec));
    auto workflow =
        store_->GetWorkflow(spec.workflow(), spec.workflow_version());
    if (!workflow.ok()) {
      if (workflow.status().code() != StatusCode::kNotFound) {
        return workflow.status();
      }
      return Status::InvalidArgument("workflow: " +
                                     workflow.status().message());
    }
    return FireTimes::Of(spec);
  }

  Status Save(Entry& e, ScheduleRecord record) {
    auto stored = store_->PutSchedule(std::move(record), false, std::nullopt);
    if (!stored.ok()) {
      spdlog::error("cannot store schedule {}: {}", e.record.schedule_id(),
                    stored.status().message());
      return stored.status();
    }
    e.record = std::move(stored).value();
    return Status::Ok();
  }

  static void AddAction(ScheduleRecord* r, int64_t nominal_ms, int64_t now_ms,
                        Outcome outcome, std::string run_id,
                        std::string error = {}) {
    ScheduleActionRecord action;
    action.set_nominal_time_ms(nominal_ms);
    action.set_actual_time_ms(now_ms);
    action.set_outcome(outcome);
    action.set_run_id(std::move(run_id));
    action.set_error(std::move(error));
    auto* actions = r->mutable_recent_actions();
    actions->Add(std::move(action));
    // Newest first.
    std::rotate(actions->rbegin(), actions->rbegin() + 1, actions->rend());
    while (actions->size() > kMaxRecentActions) actions->RemoveLast();
  }

  // Whether the schedule's last run has not ended (RUNNING, COMPENSATING,
  // SUSPENDED or COMPENSATION_FAILED). A run that cannot be read counts as
  // going, so a store hiccup never breaks a singleton.
  bool LastRunGoing(const ScheduleRecord& r) {
    if (r.last_run_id().empty()) return false;
    auto run = store_->GetRun(r.last_run_id());
    if (!run.ok()) return run.status().code() != StatusCode::kNotFound;
    return !persistence::IsEndedStatus(run->status());
  }

  // Starts the run for `nominal_ms`. A failure that may pass is returned
  // (the fire is tried again later); any other is recorded as
  // START_FAILED.
  Status Start(ScheduleRecord* r, int64_t nominal_ms, int64_t now_ms,
               ScheduleActionRecord* action) {
    engine::StartRunRequest request;
    request.workflow = r->workflow();
    request.version = r->workflow_version();
    request.input_json = r->input_json();
    request.run_id = ScheduledRunId(r->schedule_id(), nominal_ms);
    request.schedule_id = r->schedule_id();
    request.nominal_time_ms = nominal_ms;
    auto started = engine_->StartRun(std::move(request));
    if (!started.ok()) {
      if (MayPass(started.status())) {
        retry_after_ms_ = now_ms + kRetryDelay.count();
        return started.status();
      }
      spdlog::warn("schedule {} could not start a run for {}: {}",
                   r->schedule_id(), FormatRfc3339(FromUnixMillis(nominal_ms)),
                   started.status().message());
      AddAction(r, nominal_ms, now_ms, kStartFailed, "",
                started.status().message());
    } else {
      r->set_last_run_id(started->run_id);
      r->set_runs_started(r->runs_started() + 1);
      AddAction(r, nominal_ms, now_ms, kStarted, started->run_id);
    }
    *action = r->recent_actions(0);
    return Status::Ok();
  }

  // One fire at `nominal_ms` under `policy`.
  Status Fire(ScheduleRecord* r, int64_t nominal_ms, int64_t now_ms,
              Overlap policy, ScheduleActionRecord* action) {
    if (policy == Overlap::kAllowAll || !LastRunGoing(*r)) {
      return Start(r, nominal_ms, now_ms, action);
    }
    switch (policy) {
      case Overlap::kSkip:
      case Overlap::kAllowAll:
        break;
      case Overlap::kBufferOne:
        if (r->buffered_nominal_ms() != 0) break;
        r->set_buffered_nominal_ms(nominal_ms);
        AddAction(r, nominal_ms, now_ms, kBuffered, "");
        *action = r->recent_actions(0);
        return Status::Ok();
      case Overlap::kCancelOther: {
        const std::string reason = "schedule " + r->schedule_id() +
                                   " fired again (overlap policy "
                                   "cancel_other)";
        Status cancelled = engine_->CancelRun(r->last_run_id(), reason);
        if (!cancelled.ok() && MayPass(cancelled)) {
          retry_after_ms_ = now_ms + kRetryDelay.count();
          return cancelled;
        }
        if (r->buffered_nominal_ms() != 0) {
          // The newer fire replaces the older one kept.
          r->set_skipped_overlap(r->skipped_overlap() + 1);
          AddAction(r, r->buffered_nominal_ms(), now_ms, kSkippedOverlap, "");
        }
        r->set_buffered_nominal_ms(nominal_ms);
        AddAction(r, nominal_ms, now_ms, kBuffered, "");
        *action = r->recent_actions(0);
        return Status::Ok();
      }
    }
    r->set_skipped_overlap(r->skipped_overlap() + 1);
    AddAction(r, nominal_ms, now_ms, kSkippedOverlap, r->last_run_id());
    *action = r->recent_actions(0);
    return Status::Ok();
  }

  // Starts the buffered fire once the last run has ended. false: a failure
  // that may pass stopped this tick.
  bool StartBuffered(Entry& e, int64_t now_ms) {
    if (e.record.buffered_nominal_ms() == 0 || LastRunGoing(e.record)) {
      return true;
    }
    ScheduleRecord record = e.record;
    const int64_t nominal = record.buffered_nominal_ms();
    record.set_buffered_nominal_ms(0);
    ScheduleActionRecord action;
    if (!Start(&record, nominal, now_ms, &action).ok()) return false;
    (void)Save(e, std::move(record));  // Logged; the start itself is durable.
    return true;
  }

  // Every fire of `e` due at `now_ms`, one at a time, each saved once its
  // run has started. false: a failure that may pass stopped this tick.
  bool FireDue(Entry& e, int64_t now_ms) {
    const int64_t window = CatchupWindowOf(e.record).count();
    while (e.record.next_fire_ms() != 0 && e.record.next_fire_ms() <= now_ms) {
      ScheduleRecord record = e.record;
      const int64_t nominal = record.next_fire_ms();
      if (now_ms - nominal > window) {
        SkipMissed(&record, e.times, now_ms, window);
      } else {
        ScheduleActionRecord action;
        if (!Fire(&record, nominal, now_ms, OverlapOf(record), &action).ok()) {
          return false;
        }
        record.set_next_fire_ms(Next(e.times, nominal));
      }
      record.set_updated_at_ms(now_ms);
      if (!Save(e, std::move(record)).ok()) {
        retry_after_ms_ = now_ms + kRetryDelay.count();
        return false;
      }
    }
    return true;
  }

  // Moves past the fire times older than the catch-up window, counting them
  // and recording one MISSED_CATCHUP action for the lot.
  static void SkipMissed(ScheduleRecord* r, const FireTimes& times,
                         int64_t now_ms, int64_t window_ms) {
    const int64_t cutoff = now_ms - window_ms;
    const int64_t first = r->next_fire_ms();
    int64_t last = first;
    uint64_t missed = 0;
    int64_t t = first;
    while (t != 0 && t < cutoff && missed < kMaxMissedCounted) {
      ++missed;
      last = t;
      t = Next(times, t);
    }
    if (t != 0 && t < cutoff) t = Next(times, cutoff - 1);
    r->set_missed_catchup(r->missed_catchup() + missed);
    r->set_next_fire_ms(t);
    std::string what =
        missed == 1
            ? std::string("1 fire time was older than the catch-up window")
            : std::to_string(missed) + " fire times, " +
                  FormatRfc3339(FromUnixMillis(first)) + " to " +
                  FormatRfc3339(FromUnixMillis(last)) +
                  ", were older than the catch-up window";
    if (missed == kMaxMissedCounted) what += " (and more, not counted)";
    spdlog::warn("schedule {}: {} ({})", r->schedule_id(), what,
                 FormatDuration(Duration(window_ms)));
    AddAction(r, last, now_ms, kMissedCatchup, "", std::move(what));
  }

  persistence::Store* const store_;
  engine::Engine* const engine_;
  Clock* const clock_;

  // Guards the schedules and every schedule write; held while a fire starts
  // its run (the engine's start never calls back into the runner).
  std::mutex mu_;
  std::map<std::string, Entry> schedules_;
  int64_t retry_after_ms_ = 0;  // Guarded by mu_.

  std::mutex wake_mu_;
  std::condition_variable wake_cv_;
  bool stopping_ = false;     // Guarded by wake_mu_.
  bool changed_ = false;      // Guarded by wake_mu_.
  bool run_stopped_ = false;  // Guarded by wake_mu_.
  std::thread thread_;
};

Result<std::unique_ptr<Runner>> Runner::Open(persistence::Store* store,
                                             engine::Engine* engine,
                                             RunnerOptions options) {
  const bool start_thread = options.start_thread;
  auto impl = std::make_unique<Impl>(store, engine, options);
  SAGAFLOW_RETURN_IF_ERROR(impl->Load());
  if (start_thread) impl->StartThread();
  return std::unique_ptr<Runner>(new Runner(std::move(impl)));
}

Runner::Runner(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Runner::~Runner() { impl_->Shutdown(); }
void Runner::Shutdown() { impl_->Shutdown(); }

Result<ScheduleRecord> Runner::Create(ScheduleRecord spec) {
  return impl_->Create(std::move(spec));
}
Result<ScheduleRecord> Runner::Get(std::string_view schedule_id) {
  return impl_->Get(schedule_id);
}
Result<persistence::Page<ScheduleRecord>> Runner::List(
    size_t page_size, std::string_view page_token) {
  return impl_->List(page_size, page_token);
}
Result<ScheduleRecord> Runner::Update(ScheduleRecord spec,
                                      uint64_t expected_revision) {
  return impl_->Update(std::move(spec), expected_revision);
}
Result<ScheduleRecord> Runner::Pause(std::string_view schedule_id,
                                     std::string note) {
  return impl_->SetPaused(schedule_id, true, std::move(note));
}
Result<ScheduleRecord> Runner::Unpause(std::string_view schedule_id,
                                       std::string note) {
  return impl_->SetPaused(schedule_id, false, std::move(note));
}
Status Runner::Delete(std::string_view schedule_id) {
  return impl_->Delete(schedule_id);
}
Result<ScheduleActionRecord> Runner::Trigger(std::string_view schedule_id,
                                             int32_t overlap) {
  return impl_->Trigger(schedule_id, overlap);
}
void Runner::OnRunStopped(const persistence::RunRecord& run) {
  impl_->OnRunStopped(run);
}
void Runner::Tick() { impl_->Tick(); }

}  // namespace sagaflow::schedules
