#include "engine/decider.h"

#include <algorithm>
#include <deque>
#include <string_view>
#include <utility>

#include "dsl/compiler.h"
#include "dsl/json.h"
#include "engine/lifecycle.h"

namespace sagaflow::engine {
namespace {

using dsl::Plan;
using dsl::Step;
using dsl::StepType;
using persistence::HistoryEventRecord;

// sagaflow.v1.EventType numbers (proto/sagaflow/v1/types.proto); the engine
// does not link the API protos.
enum EventType : int32_t {
  kRunStarted = 1,
  kStepScheduled = 2,
  kStepStarted = 3,
  kStepCompleted = 4,
  kStepFailed = 5,
  kStepTimedOut = 6,
  kStepRetryScheduled = 7,
  kStepCaught = 8,
  kTimerStarted = 9,
  kTimerFired = 10,
  kSignalReceived = 11,
  kCompensationStarted = 12,
  kCompensationCompleted = 13,
  kCompensationFailed = 14,
  kRunCancelRequested = 15,
  kRunSuspended = 16,
  kRunResumed = 17,
  kRunCompleted = 18,
  kRunFailed = 19,
  kRunCompensated = 20,
  kRunCancelled = 21,
};

constexpr int32_t AS(AttemptState s) { return static_cast<int32_t>(s); }

bool IsContainer(StepType type) {
  return type == StepType::kParallel || type == StepType::kMap;
}

Status StaleToken() {
  return Status::NotFound(
      "task token is not current: its attempt timed out, was retried, "
      "cancelled or already completed");
}

// The per-attempt bookkeeping shared by task steps (cp::Exec) and the saga's
// current compensation (cp::Compensation): both proto messages have the same
// field names, so one template serves both.
template <typename A>
void ClearAttemptTimers(A& a) {
  a.set_timer_due_ms(0);
  a.set_queue_due_ms(0);
  a.set_close_due_ms(0);
  a.set_heartbeat_due_ms(0);
}

class Decider {
 public:
  Decider(Run& run, TimePoint now, const DeciderOptions& options, Decision& d)
      : run_(run),
        st_(run.state),
        plan_(*run.plan),
        now_(now),
        now_ms_(ToUnixMillis(now)),
        options_(options),
        d_(d),
        next_seq_(run.record.last_event_seq() + 1) {}

  void operator()(const StartEvent&);
  void BeginExecution();
  void operator()(const TaskResultEvent& ev);
  void operator()(const TaskStartedEvent& ev);
  void operator()(const HeartbeatEvent& ev);
  void operator()(const TimerEvent& ev);
  void operator()(const SignalEvent& ev);
  void operator()(const CancelEvent& ev);
  void operator()(const ResumeEvent&);
  void operator()(const RecoverEvent&);

  void Finish();

 private:
  RunState status() const {
    return static_cast<RunState>(run_.record.status());
  }
  bool SetStatus(RunEvent event) {
    auto next = ApplyRunEvent(status(), event, st_.cancel_requested());
    if (!next.ok()) {
      d_.reply = next.error();
      return false;
    }
    run_.record.set_status(static_cast<storage::RunStatus>(*next));
    d_.changed = true;
    return true;
  }
  bool ApplyAttempt(int32_t* state, AttemptEvent event) {
    auto next = ApplyAttemptEvent(static_cast<AttemptState>(*state), event);
    if (!next.ok()) return false;
    *state = AS(*next);
    return true;
  }

  void Emit(EventType type, std::string_view step, uint32_t attempt,
            const Json& detail = Json(), int64_t time_ms = 0) {
    HistoryEventRecord& e = d_.events.emplace_back();
    e.set_seq(next_seq_++);
    e.set_time_ms(time_ms != 0 ? time_ms : now_ms_);
    e.set_type(type);
    e.set_step(std::string(step));
    e.set_attempt(attempt);
    if (!detail.is_null()) e.set_detail_json(dsl::DumpJson(detail));
    d_.changed = true;
  }

  const Step& StepOf(uint32_t exec) const {
    return plan_.step(st_.execs(exec).step());
  }
  cp::Exec& ExecAt(uint32_t exec) { return *st_.mutable_execs(exec); }
  void Arm(TimerKind kind, bool compensation, uint32_t exec, uint32_t attempt,
           int64_t due_ms) {
    d_.timers.push_back({due_ms, {kind, compensation, exec, attempt}});
  }
  std::string TokenFor(uint32_t exec, bool compensation) const;
  // Clears an attempt's due times and tells the partition to drop the
  // timers armed for them.
  void ClearTimers(uint32_t exec, cp::Exec& e) {
    ClearAttemptTimers(e);
    d_.disarm.push_back({false, exec});
  }
  void ClearCompensationTimers(cp::Compensation& comp) {
    ClearAttemptTimers(comp);
    if (comp.cursor() < static_cast<uint32_t>(comp.execs_size())) {
      d_.disarm.push_back({true, comp.execs(comp.cursor())});
    }
  }

  // --- Forward execution.
  void QueueStart(uint32_t instance, dsl::StepIndex step, uint32_t prev) {
    starts_.push_back({instance, step, prev});
  }
  void StartStep(uint32_t instance, dsl::StepIndex step, uint32_t prev);
  void RunStep(uint32_t exec);
  void ScheduleAttempt(uint32_t exec, uint32_t attempt);
  void RunChoice(uint32_t exec);
  void StartWait(uint32_t exec);
  void StartSignal(uint32_t exec);
  void StartParallel(uint32_t exec);
  void StartMap(uint32_t exec);
  void LaunchIteration(uint32_t exec);
  void RunSucceed(uint32_t exec);
  void RunFail(uint32_t exec);

  const Json* PreviousOutput(uint32_t exec) const;
  void Complete(uint32_t exec, Json output);
  void Advance(uint32_t exec);
  void InstanceCompleted(uint32_t instance, const Json& output);

  // --- Failure.
  void AttemptFailed(uint32_t exec, const std::string& error,
                     const std::string& message, bool non_retryable,
                     AttemptEvent how);
  void StepFailed(uint32_t exec, const std::string& error,
                  const std::string& message);
  void RunFailed(uint32_t origin, const std::string& error,
                 const std::string& message);
  void CancelExec(uint32_t exec, bool interrupt);
  void CancelActive(bool interrupt);
  void CancelSubtree(uint32_t owner_exec);
  void RestartExec(uint32_t exec);

  // --- Saga.
  void BeginCompensation();
  void NextCompensation();
  void ScheduleCompensation(uint32_t attempt);
  void CompensationAttemptFailed(const std::string& error,
                                 const std::string& message, bool non_retryable,
                                 AttemptEvent how);

  // Finds the exec a token names, checked against its attempt and secret.
  uint32_t FindTokenExec(const TaskToken& token) const;
  bool CompensationTokenMatches(const TaskToken& token) const;
  Dispatch MakeDispatch(uint32_t exec, bool compensation, Json input) const;

  struct PendingStart {
    uint32_t instance;
    dsl::StepIndex step;
    uint32_t prev;
  };

  Run& run_;
  cp::RunCheckpoint& st_;
  const Plan& plan_;
  TimePoint now_;
  int64_t now_ms_;
  const DeciderOptions& options_;
  Decision& d_;
  uint64_t next_seq_;
  std::deque<PendingStart> starts_;
};

// The token of the current attempt of `exec` (or of its compensation).
TaskToken AttemptToken(const Run& run, uint32_t exec, bool compensation) {
  const cp::Exec& e = run.state.execs(exec);
  TaskToken token;
  token.run_id = run.record.run_id();
  token.scope_instance = e.instance();
  token.step = e.step();
  token.compensation = compensation;
  const cp::Compensation& comp = run.state.compensation();
  token.attempt = compensation ? comp.attempt() : e.attempt();
  token.secret = compensation ? comp.secret() : e.secret();
  return token;
}

std::string Decider::TokenFor(uint32_t exec, bool compensation) const {
  return AttemptToken(run_, exec, compensation).Encode();
}

Dispatch Decider::MakeDispatch(uint32_t exec, bool compensation,
                               Json input) const {
  const cp::Exec& e = st_.execs(exec);
  const Step& step = StepOf(exec);
  const dsl::TaskSpec& task = step.task();
  Dispatch out;
  out.token = TokenFor(exec, compensation);
  out.input = std::move(input);
  out.step = step.name;
  out.exec = exec;
  out.instance = e.instance();
  out.compensation = compensation;
  if (compensation) {
    const dsl::Compensation& c = *task.compensate;
    out.activity = c.activity;
    out.attempt = st_.compensation().attempt();
    out.remote = st_.compensation().remote();
    out.start_to_close = c.timeout.value_or(dsl::kDefaultTaskTimeout);
    out.heartbeat_timeout = c.heartbeat_timeout.value_or(Duration(0));
  } else {
    out.activity = task.activity;
    out.attempt = e.attempt();
    out.remote = e.remote();
    out.start_to_close = task.timeout.value_or(dsl::kDefaultTaskTimeout);
    out.heartbeat_timeout = task.heartbeat_timeout.value_or(Duration(0));
  }
  out.deadline = now_ + out.start_to_close;
  RunContext context(run_, e.instance());
  out.index = context.Index();
  return out;
}

// ---------------------------------------------------------------- start

void Decider::operator()(const StartEvent&) {
  cp::Instance* root = st_.add_instances();
  root->set_scope(dsl::kRootScope);
  Json detail = {{"workflow", run_.record.workflow()},
                 {"version", run_.record.workflow_version()}};
  if (!run_.record.schedule_id().empty()) {
    detail["schedule_id"] = run_.record.schedule_id();
    detail["nominal_time"] =
        FormatRfc3339(FromUnixMillis(run_.record.nominal_time_ms()));
  }
  const int64_t start_at = run_.record.start_at_ms();
  if (start_at > now_ms_) {
    detail["start_at"] = FormatRfc3339(FromUnixMillis(start_at));
    Emit(kRunStarted, "", 0, detail);
    st_.set_start_due_ms(start_at);
    Emit(kTimerStarted, "", 0,
         {{"due", FormatRfc3339(FromUnixMillis(start_at))},
          {"purpose", "start_at"}});
    Arm(TimerKind::kStartDelay, false, 0, 0, start_at);
    return;
  }
  Emit(kRunStarted, "", 0, detail);
  BeginExecution();
}

// The run timeout counts from here: a delayed start's wait is not part of it.
void Decider::BeginExecution() {
  if (auto timeout = plan_.run_timeout()) {
    st_.set_run_deadline_ms(now_ms_ + timeout->count());
    Arm(TimerKind::kRunTimeout, false, 0, 0, st_.run_deadline_ms());
  }
  QueueStart(0, plan_.start(), kNoExec);
}

void Decider::StartStep(uint32_t instance, dsl::StepIndex step_index,
                        uint32_t prev) {
  const uint32_t id = static_cast<uint32_t>(st_.execs_size());
  cp::Exec* e = st_.add_execs();
  e->set_step(step_index);
  e->set_instance(instance);
  e->set_state(cp::EXEC_ACTIVE);
  e->set_prev_exec(prev == kNoExec ? 0 : prev + 1);
  st_.mutable_instances(instance)->set_last_exec(id + 1);
  run_.NoteExecStarted(id);
  d_.changed = true;
  if (st_.transitions() >= options_.max_step_transitions) {
    const std::string message = "the run started " +
                                std::to_string(st_.transitions()) +
                                " steps, the limit (a loop that never ends?)";
    e->set_state(cp::EXEC_FAILED);
    e->set_error(kStepLimitExceeded);
    e->set_error_message(message);
    Emit(kStepFailed, plan_.step(step_index).name, 0,
         {{"error", kStepLimitExceeded}, {"message", message}});
    // Not catchable: a catch could route straight back into the loop.
    RunFailed(id, kStepLimitExceeded, message);
    return;
  }
  st_.set_transitions(st_.transitions() + 1);
  RunStep(id);
}

void Decider::RunStep(uint32_t exec) {
  switch (StepOf(exec).type) {
    case StepType::kTask:
      ScheduleAttempt(exec, st_.execs(exec).attempt() + 1);
      break;
    case StepType::kChoice:
      RunChoice(exec);
      break;
    case StepType::kWait:
      StartWait(exec);
      break;
    case StepType::kSignal:
      StartSignal(exec);
      break;
    case StepType::kParallel:
      StartParallel(exec);
      break;
    case StepType::kMap:
      StartMap(exec);
      break;
    case StepType::kSucceed:
      RunSucceed(exec);
      break;
    case StepType::kFail:
      RunFail(exec);
      break;
  }
}

void Decider::ScheduleAttempt(uint32_t exec, uint32_t attempt) {
  const Step& step = StepOf(exec);
  const dsl::TaskSpec& task = step.task();
  cp::Exec& e = ExecAt(exec);
  e.set_attempt(attempt);
  RunContext context(run_, e.instance());
  auto input = task.input.Evaluate(context, options_.eval_limits);
  if (!input.ok()) {
    e.set_attempt_state(AS(AttemptState::kFailed));
    Emit(kStepFailed, step.name, attempt,
         {{"error", input.error().error}, {"message", input.error().message}});
    StepFailed(exec, input.error().error, input.error().message);
    return;
  }
  TaskToken token = TaskToken::New(run_.record.run_id(), e.instance(), e.step(),
                                   attempt, false);
  e.set_secret(std::move(token.secret));
  e.set_attempt_state(AS(AttemptState::kScheduled));
  e.set_remote(!options_.is_in_process(task.activity));
  e.set_worker_id("");
  e.set_scheduled_at_ms(now_ms_);
  e.set_started_at_ms(0);
  ClearTimers(exec, e);
  Emit(kStepScheduled, step.name, attempt, {{"activity", task.activity}});
  Dispatch dispatch = MakeDispatch(exec, false, std::move(input).value());
  e.clear_input_json();
  if (e.remote()) {
    dispatch.input_json = dsl::DumpJson(dispatch.input);
    e.set_input_json(dispatch.input_json);
    if (task.queue_timeout) {
      e.set_queue_due_ms(now_ms_ + task.queue_timeout->count());
      Arm(TimerKind::kQueue, false, exec, attempt, e.queue_due_ms());
    }
  } else {
    // In-process attempts start as soon as an agent is free; their deadlines
    // run from now.
    e.set_close_due_ms(ToUnixMillis(dispatch.deadline));
    Arm(TimerKind::kStartToClose, false, exec, attempt, e.close_due_ms());
    if (dispatch.heartbeat_timeout.count() > 0) {
      e.set_heartbeat_due_ms(now_ms_ + dispatch.heartbeat_timeout.count());
      Arm(TimerKind::kHeartbeat, false, exec, attempt, e.heartbeat_due_ms());
    }
  }
  d_.dispatches.push_back(std::move(dispatch));
}

void Decider::RunChoice(uint32_t exec) {
  const Step& step = StepOf(exec);
  const dsl::ChoiceSpec& spec = step.choice();
  RunContext context(run_, st_.execs(exec).instance());
  std::optional<dsl::StepIndex> next;
  for (const dsl::ChoiceRule& rule : spec.choices) {
    auto matched = rule.when.Evaluate(context, options_.eval_limits);
    if (!matched.ok()) {
      Emit(kStepFailed, step.name, 0,
           {{"error", matched.error().error},
            {"message", matched.error().message}});
      StepFailed(exec, matched.error().error, matched.error().message);
      return;
    }
    if (*matched) {
      next = rule.next;
      break;
    }
  }
  if (!next) next = spec.default_next;
  if (!next) {
    const std::string message = "no choice matched and there is no default";
    Emit(kStepFailed, step.name, 0,
         {{"error", dsl::kNoChoiceMatched}, {"message", message}});
    StepFailed(exec, std::string(dsl::kNoChoiceMatched), message);
    return;
  }
  ExecAt(exec).set_chosen_next(*next + 1);
  const Json* previous = PreviousOutput(exec);
  Complete(exec, previous ? *previous : Json());
}

void Decider::StartWait(uint32_t exec) {
  const Step& step = StepOf(exec);
  const dsl::WaitSpec& spec = step.wait();
  cp::Exec& e = ExecAt(exec);
  if (e.timer_due_ms() == 0) {  // A resumed wait keeps its due time.
    int64_t due = now_ms_;
    if (spec.duration) {
      due = now_ms_ + spec.duration->count();
    } else if (spec.until_time) {
      due = ToUnixMillis(*spec.until_time);
    } else if (spec.until_path) {
      RunContext context(run_, e.instance());
      Json scratch;
      auto value =
          spec.until_path->Resolve(context, &scratch, options_.eval_limits);
      std::optional<TimePoint> parsed;
      std::string message;
      if (!value.ok()) {
        message = value.error().message;
        Emit(kStepFailed, step.name, 0,
             {{"error", value.error().error}, {"message", message}});
        StepFailed(exec, value.error().error, message);
        return;
      }
      if ((*value)->is_string()) {
        auto t = ParseRfc3339((*value)->get_ref<const std::string&>());
        if (t.ok()) parsed = *t;
      }
      if (!parsed) {
        message = spec.until_path->text() +
                  " is not an RFC 3339 timestamp: " + dsl::DumpJson(**value);
        if (message.size() > 300) message.resize(300);
        Emit(kStepFailed, step.name, 0,
             {{"error", dsl::kInvalidTimestamp}, {"message", message}});
        StepFailed(exec, std::string(dsl::kInvalidTimestamp), message);
        return;
      }
      due = ToUnixMillis(*parsed);
    }
    e.set_timer_due_ms(std::max<int64_t>(due, 1));
    Emit(kTimerStarted, step.name, 0,
         {{"due", FormatRfc3339(FromUnixMillis(e.timer_due_ms()))}});
  }
  if (e.timer_due_ms() <= now_ms_) {
    Emit(kTimerFired, step.name, 0);
    const Json* previous = PreviousOutput(exec);
    Complete(exec, previous ? *previous : Json());
    return;
  }
  Arm(TimerKind::kWait, false, exec, 0, e.timer_due_ms());
}

void Decider::StartSignal(uint32_t exec) {
  const Step& step = StepOf(exec);
  const dsl::SignalSpec& spec = step.signal();
  auto* buffered = st_.mutable_buffered_signals();
  for (int i = 0; i < buffered->size(); ++i) {
    if (buffered->Get(i).name() != spec.signal) continue;
    auto payload = ParseStoredJson(buffered->Get(i).payload_json());
    Json value = payload.ok() ? std::move(payload).value() : Json();
    buffered->erase(buffered->begin() + i);
    run_.SetSignal(spec.signal, value);
    Complete(exec, std::move(value));
    return;
  }
  cp::Exec& e = ExecAt(exec);
  Emit(kStepStarted, step.name, 0, {{"signal", spec.signal}});
  if (spec.timeout) {
    if (e.timer_due_ms() == 0) {
      e.set_timer_due_ms(now_ms_ + spec.timeout->count());
    }
    Arm(TimerKind::kSignalTimeout, false, exec, 0, e.timer_due_ms());
  }
}

void Decider::StartParallel(uint32_t exec) {
  const Step& step = StepOf(exec);
  const auto& branches = step.parallel().branches;
  Emit(kStepStarted, step.name, 0, {{"branches", branches.size()}});
  if (branches.empty()) {
    Complete(exec, Json::array());
    return;
  }
  const uint32_t parent = st_.execs(exec).instance();
  for (size_t i = 0; i < branches.size(); ++i) {
    const uint32_t id = static_cast<uint32_t>(st_.instances_size());
    cp::Instance* inst = st_.add_instances();
    inst->set_scope(branches[i]);
    inst->set_parent(parent);
    inst->set_owner_exec(exec);
    inst->set_index(static_cast<int64_t>(i));
    ExecAt(exec).add_children(id);
    QueueStart(id, plan_.scope(branches[i]).start, kNoExec);
  }
}

void Decider::StartMap(uint32_t exec) {
  const Step& step = StepOf(exec);
  const dsl::MapSpec& spec = step.map();
  cp::Exec& e = ExecAt(exec);
  RunContext context(run_, e.instance());
  Json scratch;
  auto items = spec.items.Resolve(context, &scratch, options_.eval_limits);
  std::string error;
  std::string message;
  if (!items.ok()) {
    error = items.error().error;
    message = items.error().message;
  } else if (!(*items)->is_array()) {
    error = dsl::kInvalidItems;
    message = spec.items.text() + " is " + dsl::JsonTypeName(**items) +
              ", not an array";
  }
  if (!error.empty()) {
    Emit(kStepFailed, step.name, 0, {{"error", error}, {"message", message}});
    StepFailed(exec, error, message);
    return;
  }
  const Json& array = **items;
  e.set_items_total(static_cast<uint32_t>(array.size()));
  e.set_items_json(dsl::DumpJson(array));
  e.set_next_child(0);
  e.set_children_done(0);
  Emit(kStepStarted, step.name, 0, {{"items", array.size()}});
  if (array.empty()) {
    Complete(exec, Json::array());
    return;
  }
  const uint32_t limit =
      spec.max_concurrency == 0 ? e.items_total() : spec.max_concurrency;
  for (uint32_t i = 0; i < limit && i < e.items_total(); ++i) {
    LaunchIteration(exec);
  }
}

void Decider::LaunchIteration(uint32_t exec) {
  cp::Exec& e = ExecAt(exec);
  const Json* items = run_.MapItems(exec);
  const uint32_t index = e.next_child();
  e.set_next_child(index + 1);
  const uint32_t id = static_cast<uint32_t>(st_.instances_size());
  cp::Instance* inst = st_.add_instances();
  const dsl::ScopeIndex scope = StepOf(exec).map().iterator;
  inst->set_scope(scope);
  inst->set_parent(e.instance());
  inst->set_owner_exec(exec);
  inst->set_index(index);
  inst->set_item_json(items && index < items->size()
                          ? dsl::DumpJson((*items)[index])
                          : std::string("null"));
  e.add_children(id);
  QueueStart(id, plan_.scope(scope).start, kNoExec);
}

void Decider::RunSucceed(uint32_t exec) {
  const Step& step = StepOf(exec);
  const dsl::SucceedSpec& spec = step.succeed();
  Json output;
  if (spec.output) {
    RunContext context(run_, st_.execs(exec).instance());
    auto value = spec.output->Evaluate(context, options_.eval_limits);
    if (!value.ok()) {
      Emit(
          kStepFailed, step.name, 0,
          {{"error", value.error().error}, {"message", value.error().message}});
      StepFailed(exec, value.error().error, value.error().message);
      return;
    }
    output = std::move(value).value();
  } else if (const Json* previous = PreviousOutput(exec)) {
    output = *previous;
  }
  Complete(exec, std::move(output));
}

void Decider::RunFail(uint32_t exec) {
  const Step& step = StepOf(exec);
  const dsl::FailSpec& spec = step.fail();
  RunContext context(run_, st_.execs(exec).instance());
  std::string message;
  auto value = spec.message.Evaluate(context, options_.eval_limits);
  if (value.ok()) {
    message =
        value->is_string() ? value->get<std::string>() : dsl::DumpJson(*value);
  } else {
    message = value.error().message;
  }
  Emit(kStepFailed, step.name, 0,
       {{"error", spec.error}, {"message", message}});
  StepFailed(exec, spec.error, message);
}

const Json* Decider::PreviousOutput(uint32_t exec) const {
  const cp::Exec& e = st_.execs(exec);
  if (e.prev_exec() != 0) return run_.ExecOutput(e.prev_exec() - 1);
  // The first step of a scope: a map iteration passes its item on, the root
  // and a branch their run input.
  RunContext context(run_, e.instance());
  if (const Json* item = context.Item(); item != nullptr && e.instance() != 0) {
    return item;
  }
  return &run_.input;
}

void Decider::Complete(uint32_t exec, Json output) {
  cp::Exec& e = ExecAt(exec);
  const Step& step = StepOf(exec);
  e.set_state(cp::EXEC_COMPLETED);
  e.set_ended_at_ms(now_ms_);
  ClearTimers(exec, e);
  Json detail = Json::object();
  if (step.type == StepType::kChoice) {
    detail["next"] = plan_.step(e.chosen_next() - 1).name;
  } else {
    detail["output"] = output;
  }
  Emit(kStepCompleted, step.name, e.attempt(), detail);
  run_.SetExecOutput(exec, std::move(output));
  run_.NoteExecEnded(exec);
  if (step.type == StepType::kTask && step.task().compensate) {
    st_.add_ended_order(exec);
  }
  Advance(exec);
}

void Decider::Advance(uint32_t exec) {
  const cp::Exec& e = st_.execs(exec);
  const Step& step = StepOf(exec);
  dsl::StepIndex next = step.next;
  if (step.type == StepType::kChoice) next = e.chosen_next() - 1;
  if (step.type == StepType::kSucceed) next = dsl::kNoStep;
  if (next != dsl::kNoStep) {
    QueueStart(e.instance(), next, exec);
    return;
  }
  const Json* output = run_.ExecOutput(exec);
  InstanceCompleted(e.instance(), output ? *output : Json());
}

void Decider::InstanceCompleted(uint32_t instance, const Json& output) {
  cp::Instance& inst = *st_.mutable_instances(instance);
  if (inst.state() != cp::INSTANCE_ACTIVE) return;
  inst.set_state(cp::INSTANCE_COMPLETED);
  if (instance == 0) {
    if (!SetStatus(RunEvent::kComplete)) return;
    run_.record.set_output_json(dsl::DumpJson(output));
    run_.record.clear_error();
    run_.record.clear_error_message();
    Emit(kRunCompleted, "", 0, {{"output", output}});
    // Anything still running (a branch left behind by a succeed step) stops.
    CancelActive(false);
    return;
  }
  run_.SetInstanceOutput(instance, output);
  const uint32_t owner = inst.owner_exec();
  cp::Exec& o = ExecAt(owner);
  if (o.state() != cp::EXEC_ACTIVE) return;
  o.set_children_done(o.children_done() + 1);
  const bool is_map = StepOf(owner).type == StepType::kMap;
  const uint32_t total =
      is_map ? o.items_total() : static_cast<uint32_t>(o.children_size());
  if (is_map && o.next_child() < o.items_total()) LaunchIteration(owner);
  if (o.children_done() < total) return;
  Json outputs = Json::array();
  for (uint32_t child : o.children()) {
    const Json* out = run_.InstanceOutput(child);
    outputs.push_back(out ? *out : Json());
  }
  Complete(owner, std::move(outputs));
}

// ---------------------------------------------------------------- failure

void Decider::AttemptFailed(uint32_t exec, const std::string& error,
                            const std::string& message, bool non_retryable,
                            AttemptEvent how) {
  cp::Exec& e = ExecAt(exec);
  const Step& step = StepOf(exec);
  const dsl::RetryPolicy& retry = step.task().retry;
  const bool was_running = e.attempt_state() == AS(AttemptState::kScheduled) ||
                           e.attempt_state() == AS(AttemptState::kStarted);
  const std::string token = TokenFor(exec, false);
  int32_t attempt_state = e.attempt_state();
  if (!ApplyAttempt(&attempt_state, how)) return;
  e.set_attempt_state(attempt_state);
  if (was_running && how == AttemptEvent::kTimeOut) {
    d_.cancelled_tokens.push_back(token);
  }
  Emit(how == AttemptEvent::kTimeOut ? kStepTimedOut : kStepFailed, step.name,
       e.attempt(), {{"error", error}, {"message", message}});
  ClearTimers(exec, e);
  const uint32_t used = e.attempt() - e.retry_base();
  if (!non_retryable && retry.IsRetryable(error) && used < retry.max_attempts) {
    ApplyAttempt(&attempt_state, AttemptEvent::kScheduleRetry);
    e.set_attempt_state(attempt_state);
    const Duration backoff = retry.BackoffBefore(used + 1);
    e.set_timer_due_ms(now_ms_ + backoff.count());
    Emit(kStepRetryScheduled, step.name, e.attempt() + 1,
         {{"delay_ms", backoff.count()}});
    if (backoff.count() <= 0) {
      ScheduleAttempt(exec, e.attempt() + 1);
    } else {
      Arm(TimerKind::kRetryBackoff, false, exec, e.attempt(), e.timer_due_ms());
    }
    return;
  }
  StepFailed(exec, error, message);
}

void Decider::StepFailed(uint32_t exec, const std::string& error,
                         const std::string& message) {
  cp::Exec& e = ExecAt(exec);
  const Step& step = StepOf(exec);
  e.set_error(error);
  e.set_error_message(message);
  e.set_ended_at_ms(now_ms_);
  ClearTimers(exec, e);
  const bool compensate_failed = step.type == StepType::kTask &&
                                 step.task().compensate &&
                                 step.task().compensate_on_failure;
  if (IsContainer(step.type)) CancelSubtree(exec);
  if (const dsl::CatchRule* rule = step.FindCatch(error)) {
    e.set_state(cp::EXEC_CAUGHT);
    run_.NoteExecEnded(exec);
    if (compensate_failed) {
      e.set_compensate_on_failure(true);
      st_.add_ended_order(exec);
    }
    Emit(kStepCaught, step.name, e.attempt(),
         {{"error", error},
          {"message", message},
          {"next", plan_.step(rule->next).name}});
    QueueStart(e.instance(), rule->next, exec);
    return;
  }
  e.set_state(cp::EXEC_FAILED);
  if (compensate_failed) {
    e.set_compensate_on_failure(true);
    st_.add_ended_order(exec);
  }
  // Up through the enclosing branches and iterations: the first parallel or
  // map step with a catch for this error takes it, and everything under it
  // stops; with none, the run fails.
  uint32_t instance = e.instance();
  while (instance != 0) {
    const uint32_t owner = st_.instances(instance).owner_exec();
    const Step& owner_step = StepOf(owner);
    if (const dsl::CatchRule* rule = owner_step.FindCatch(error)) {
      CancelSubtree(owner);
      cp::Exec& o = ExecAt(owner);
      o.set_state(cp::EXEC_CAUGHT);
      o.set_error(error);
      o.set_error_message(message);
      o.set_ended_at_ms(now_ms_);
      run_.NoteExecEnded(owner);
      Emit(kStepCaught, owner_step.name, 0,
           {{"error", error},
            {"message", message},
            {"from", step.name},
            {"next", plan_.step(rule->next).name}});
      QueueStart(o.instance(), rule->next, owner);
      return;
    }
    instance = st_.execs(owner).instance();
  }
  RunFailed(exec, error, message);
}

void Decider::RunFailed(uint32_t origin, const std::string& error,
                        const std::string& message) {
  st_.set_failed_exec(origin == kNoExec ? 0 : origin + 1);
  const std::string step =
      origin == kNoExec ? std::string() : StepOf(origin).name;
  switch (plan_.on_failure()) {
    case dsl::OnFailure::kCompensate:
      if (!SetStatus(RunEvent::kCompensate)) return;
      run_.record.set_error(error);
      run_.record.set_error_message(message);
      CancelActive(false);
      BeginCompensation();
      return;
    case dsl::OnFailure::kFail:
      if (!SetStatus(RunEvent::kFail)) return;
      run_.record.set_error(error);
      run_.record.set_error_message(message);
      CancelActive(true);
      Emit(kRunFailed, step, 0, {{"error", error}, {"message", message}});
      return;
    case dsl::OnFailure::kSuspend:
      if (!SetStatus(RunEvent::kSuspend)) return;
      run_.record.set_error(error);
      run_.record.set_error_message(message);
      CancelActive(true);
      Emit(kRunSuspended, step, 0, {{"error", error}, {"message", message}});
      return;
  }
}

void Decider::CancelExec(uint32_t exec, bool interrupt) {
  cp::Exec& e = ExecAt(exec);
  if (e.state() != cp::EXEC_ACTIVE) return;
  const Step& step = StepOf(exec);
  if (IsContainer(step.type)) {
    // A resumed run continues its branches where they stopped; only a real
    // cancel ends the container.
    if (!interrupt) e.set_state(cp::EXEC_CANCELLED);
    return;
  }
  if (step.type == StepType::kTask) {
    const bool was_running =
        e.attempt_state() == AS(AttemptState::kScheduled) ||
        e.attempt_state() == AS(AttemptState::kStarted);
    if (was_running) d_.cancelled_tokens.push_back(TokenFor(exec, false));
    int32_t attempt_state = e.attempt_state();
    if (ApplyAttempt(&attempt_state, AttemptEvent::kCancel)) {
      e.set_attempt_state(attempt_state);
    }
    if (!interrupt && was_running && step.task().compensate &&
        step.task().compensate_on_failure) {
      e.set_compensate_on_failure(true);
      st_.add_ended_order(exec);
    }
  }
  const int64_t wait_due = e.timer_due_ms();
  ClearTimers(exec, e);
  if (step.type == StepType::kWait && interrupt) {
    // A resumed wait ends when it would have.
    e.set_timer_due_ms(wait_due);
  }
  e.set_state(interrupt ? cp::EXEC_INTERRUPTED : cp::EXEC_CANCELLED);
  e.set_ended_at_ms(now_ms_);
  d_.changed = true;
}

void Decider::CancelActive(bool interrupt) {
  for (uint32_t id = 0; id < static_cast<uint32_t>(st_.execs_size()); ++id) {
    CancelExec(id, interrupt);
  }
  starts_.clear();
}

void Decider::CancelSubtree(uint32_t owner_exec) {
  // Instance ids grow with creation and a child is created after its parent,
  // so one pass in id order marks every descendant.
  std::vector<bool> inside(st_.instances_size(), false);
  for (int i = 1; i < st_.instances_size(); ++i) {
    const cp::Instance& inst = st_.instances(i);
    inside[i] = inst.owner_exec() == owner_exec || inside[inst.parent()];
    if (inside[i] && inst.state() == cp::INSTANCE_ACTIVE) {
      st_.mutable_instances(i)->set_state(cp::INSTANCE_CANCELLED);
    }
  }
  for (uint32_t id = 0; id < static_cast<uint32_t>(st_.execs_size()); ++id) {
    if (inside[st_.execs(id).instance()]) CancelExec(id, false);
  }
  // Starts queued inside the cancelled subtree must not happen.
  starts_.erase(std::remove_if(starts_.begin(), starts_.end(),
                               [&](const PendingStart& s) {
                                 return s.instance < inside.size() &&
                                        inside[s.instance];
                               }),
                starts_.end());
}

void Decider::RestartExec(uint32_t exec) {
  cp::Exec& e = ExecAt(exec);
  e.set_state(cp::EXEC_ACTIVE);
  e.clear_error();
  e.clear_error_message();
  e.set_ended_at_ms(0);
  const Step& step = StepOf(exec);
  if (step.type == StepType::kTask) {
    // A fresh retry budget, as after any operator fix.
    e.set_retry_base(e.attempt());
    ScheduleAttempt(exec, e.attempt() + 1);
    return;
  }
  RunStep(exec);
}

// ---------------------------------------------------------------- saga

void Decider::BeginCompensation() {
  st_.set_compensating(true);
  cp::Compensation* comp = st_.mutable_compensation();
  comp->Clear();
  comp->set_run_error(run_.record.error());
  comp->set_run_error_message(run_.record.error_message());
  for (int i = st_.ended_order_size() - 1; i >= 0; --i) {
    const uint32_t exec = st_.ended_order(i);
    const cp::Exec& e = st_.execs(exec);
    if (e.state() == cp::EXEC_COMPLETED || e.compensate_on_failure()) {
      comp->add_execs(exec);
    }
  }
  NextCompensation();
}

void Decider::NextCompensation() {
  cp::Compensation* comp = st_.mutable_compensation();
  if (comp->cursor() < static_cast<uint32_t>(comp->execs_size())) {
    comp->set_retry_base(0);
    ScheduleCompensation(1);
    return;
  }
  st_.set_compensating(false);
  if (!SetStatus(RunEvent::kCompensationsDone)) return;
  if (status() == RunState::kCancelled) {
    Emit(kRunCancelled, "", 0,
         {{"error", run_.record.error()},
          {"message", run_.record.error_message()}});
  } else {
    Emit(kRunCompensated, "", 0,
         {{"error", run_.record.error()},
          {"message", run_.record.error_message()}});
  }
}

void Decider::ScheduleCompensation(uint32_t attempt) {
  cp::Compensation& comp = *st_.mutable_compensation();
  const uint32_t exec = comp.execs(comp.cursor());
  const Step& step = StepOf(exec);
  const dsl::Compensation& spec = *step.task().compensate;
  comp.set_attempt(attempt);
  RunContext context(run_, st_.execs(exec).instance());
  auto input = spec.input.Evaluate(context, options_.eval_limits);
  if (!input.ok()) {
    comp.set_attempt_state(AS(AttemptState::kScheduled));
    Emit(kCompensationStarted, step.name, attempt,
         {{"activity", spec.activity}});
    CompensationAttemptFailed(input.error().error, input.error().message, true,
                              AttemptEvent::kFail);
    return;
  }
  TaskToken token =
      TaskToken::New(run_.record.run_id(), st_.execs(exec).instance(),
                     st_.execs(exec).step(), attempt, true);
  comp.set_secret(std::move(token.secret));
  comp.set_attempt_state(AS(AttemptState::kScheduled));
  comp.set_remote(!options_.is_in_process(spec.activity));
  comp.set_worker_id("");
  comp.set_scheduled_at_ms(now_ms_);
  comp.set_started_at_ms(0);
  ClearCompensationTimers(comp);
  Emit(kCompensationStarted, step.name, attempt, {{"activity", spec.activity}});
  Dispatch dispatch = MakeDispatch(exec, true, std::move(input).value());
  comp.clear_input_json();
  if (comp.remote()) {
    dispatch.input_json = dsl::DumpJson(dispatch.input);
    comp.set_input_json(dispatch.input_json);
  } else {
    comp.set_close_due_ms(ToUnixMillis(dispatch.deadline));
    Arm(TimerKind::kStartToClose, true, exec, attempt, comp.close_due_ms());
    if (dispatch.heartbeat_timeout.count() > 0) {
      comp.set_heartbeat_due_ms(now_ms_ + dispatch.heartbeat_timeout.count());
      Arm(TimerKind::kHeartbeat, true, exec, attempt, comp.heartbeat_due_ms());
    }
  }
  d_.dispatches.push_back(std::move(dispatch));
}

void Decider::CompensationAttemptFailed(const std::string& error,
                                        const std::string& message,
                                        bool non_retryable, AttemptEvent how) {
  cp::Compensation& comp = *st_.mutable_compensation();
  const uint32_t exec = comp.execs(comp.cursor());
  const Step& step = StepOf(exec);
  const dsl::RetryPolicy& retry = step.task().compensate->retry;
  const bool was_running =
      comp.attempt_state() == AS(AttemptState::kScheduled) ||
      comp.attempt_state() == AS(AttemptState::kStarted);
  const std::string token = TokenFor(exec, true);
  int32_t attempt_state = comp.attempt_state();
  if (!ApplyAttempt(&attempt_state, how)) return;
  comp.set_attempt_state(attempt_state);
  if (was_running && how == AttemptEvent::kTimeOut) {
    d_.cancelled_tokens.push_back(token);
  }
  ClearCompensationTimers(comp);
  comp.set_error(error);
  comp.set_error_message(message);
  const uint32_t used = comp.attempt() - comp.retry_base();
  const bool retry_it =
      !non_retryable && retry.IsRetryable(error) && used < retry.max_attempts;
  Emit(kCompensationFailed, step.name, comp.attempt(),
       {{"error", error},
        {"message", message},
        {"timed_out", how == AttemptEvent::kTimeOut},
        {"final", !retry_it}});
  if (retry_it) {
    ApplyAttempt(&attempt_state, AttemptEvent::kScheduleRetry);
    comp.set_attempt_state(attempt_state);
    const Duration backoff = retry.BackoffBefore(used + 1);
    comp.set_timer_due_ms(now_ms_ + backoff.count());
    Emit(kStepRetryScheduled, step.name, comp.attempt() + 1,
         {{"delay_ms", backoff.count()}, {"compensation", true}});
    if (backoff.count() <= 0) {
      ScheduleCompensation(comp.attempt() + 1);
    } else {
      Arm(TimerKind::kRetryBackoff, true, exec, comp.attempt(),
          comp.timer_due_ms());
    }
    return;
  }
  if (!SetStatus(RunEvent::kCompensationFailed)) return;
  run_.record.set_error(error);
  run_.record.set_error_message("compensation of step " + step.name +
                                " failed: " + message);
}

// ---------------------------------------------------------------- events

uint32_t Decider::FindTokenExec(const TaskToken& token) const {
  if (token.run_id != run_.record.run_id()) return kNoExec;
  if (token.scope_instance >= static_cast<uint32_t>(st_.instances_size()) ||
      token.step >= plan_.steps().size()) {
    return kNoExec;
  }
  const uint32_t exec = run_.LatestExec(token.scope_instance, token.step);
  if (exec == kNoExec) return kNoExec;
  const cp::Exec& e = st_.execs(exec);
  if (plan_.step(e.step()).type != StepType::kTask) return kNoExec;
  if (e.attempt() != token.attempt || !token.SecretMatches(e.secret())) {
    return kNoExec;
  }
  return exec;
}

bool Decider::CompensationTokenMatches(const TaskToken& token) const {
  if (!st_.compensating() || token.run_id != run_.record.run_id()) {
    return false;
  }
  const cp::Compensation& comp = st_.compensation();
  if (comp.cursor() >= static_cast<uint32_t>(comp.execs_size())) return false;
  const cp::Exec& e = st_.execs(comp.execs(comp.cursor()));
  return e.instance() == token.scope_instance && e.step() == token.step &&
         comp.attempt() == token.attempt && token.SecretMatches(comp.secret());
}

void Decider::operator()(const TaskResultEvent& ev) {
  const TaskToken& token = ev.token;
  // Outcomes reported for an attempt that is not the current one, or not
  // running, are refused here without effect: the lifecycle says whether
  // "complete" or "fail" is legal from the attempt's state.
  const auto legal = [](int32_t state, bool remote) {
    return state == AS(AttemptState::kStarted) ||
           (!remote && state == AS(AttemptState::kScheduled));
  };
  if (token.compensation) {
    if (status() != RunState::kCompensating ||
        !CompensationTokenMatches(token)) {
      d_.reply = StaleToken();
      return;
    }
    cp::Compensation& comp = *st_.mutable_compensation();
    if (!legal(comp.attempt_state(), comp.remote())) {
      d_.reply = StaleToken();
      return;
    }
    const uint32_t exec = comp.execs(comp.cursor());
    const std::string& step = StepOf(exec).name;
    if (comp.attempt_state() == AS(AttemptState::kScheduled)) {
      comp.set_attempt_state(AS(AttemptState::kStarted));
      comp.set_started_at_ms(ev.started_at_ms ? ev.started_at_ms : now_ms_);
      Emit(kStepStarted, step, comp.attempt(), {{"compensation", true}},
           comp.started_at_ms());
    }
    d_.attempt_timings.push_back({true, ev.ok, now_ms_ - comp.started_at_ms()});
    if (ev.ok) {
      Emit(kCompensationCompleted, step, comp.attempt());
      ClearCompensationTimers(comp);
      comp.set_cursor(comp.cursor() + 1);
      comp.set_attempt(0);
      comp.set_attempt_state(AS(AttemptState::kCompleted));
      NextCompensation();
    } else {
      CompensationAttemptFailed(ev.error, ev.message, ev.non_retryable,
                                AttemptEvent::kFail);
    }
    return;
  }
  const uint32_t exec = FindTokenExec(token);
  if (exec == kNoExec || status() != RunState::kRunning) {
    d_.reply = StaleToken();
    return;
  }
  cp::Exec& e = ExecAt(exec);
  if (e.state() != cp::EXEC_ACTIVE || !legal(e.attempt_state(), e.remote())) {
    d_.reply = StaleToken();
    return;
  }
  const Step& step = StepOf(exec);
  if (e.attempt_state() == AS(AttemptState::kScheduled)) {
    // In-process: the start is recorded with the outcome, one commit per
    // attempt instead of two.
    e.set_attempt_state(AS(AttemptState::kStarted));
    e.set_started_at_ms(ev.started_at_ms ? ev.started_at_ms : now_ms_);
    Emit(kStepStarted, step.name, e.attempt(), Json(), e.started_at_ms());
  }
  if (ev.ok) {
    if (auto too_large = dsl::CheckPayload(ev.output, options_.eval_limits)) {
      d_.attempt_timings.push_back({false, false, now_ms_ - e.started_at_ms()});
      AttemptFailed(exec, too_large->error, too_large->message, false,
                    AttemptEvent::kFail);
      return;
    }
    d_.attempt_timings.push_back({false, true, now_ms_ - e.started_at_ms()});
    int32_t attempt_state = e.attempt_state();
    ApplyAttempt(&attempt_state, AttemptEvent::kComplete);
    e.set_attempt_state(attempt_state);
    Complete(exec, ev.output);
    return;
  }
  d_.attempt_timings.push_back({false, false, now_ms_ - e.started_at_ms()});
  AttemptFailed(exec, ev.error, ev.message, ev.non_retryable,
                AttemptEvent::kFail);
}

void Decider::operator()(const TaskStartedEvent& ev) {
  const TaskToken& token = ev.token;
  if (token.compensation) {
    if (status() != RunState::kCompensating ||
        !CompensationTokenMatches(token)) {
      d_.reply = StaleToken();
      return;
    }
    cp::Compensation& comp = *st_.mutable_compensation();
    if (comp.attempt_state() != AS(AttemptState::kScheduled) ||
        !comp.remote()) {
      d_.reply = StaleToken();
      return;
    }
    const uint32_t exec = comp.execs(comp.cursor());
    const dsl::Compensation& spec = *StepOf(exec).task().compensate;
    comp.set_attempt_state(AS(AttemptState::kStarted));
    comp.clear_input_json();  // The worker has it now.
    comp.set_worker_id(ev.worker_id);
    comp.set_started_at_ms(now_ms_);
    comp.set_queue_due_ms(0);
    Dispatch dispatch = MakeDispatch(exec, true, Json());
    comp.set_close_due_ms(ToUnixMillis(dispatch.deadline));
    Arm(TimerKind::kStartToClose, true, exec, comp.attempt(),
        comp.close_due_ms());
    if (spec.heartbeat_timeout) {
      comp.set_heartbeat_due_ms(now_ms_ + spec.heartbeat_timeout->count());
      Arm(TimerKind::kHeartbeat, true, exec, comp.attempt(),
          comp.heartbeat_due_ms());
    }
    Emit(kStepStarted, StepOf(exec).name, comp.attempt(),
         {{"worker_id", ev.worker_id}, {"compensation", true}});
    d_.started_task = std::move(dispatch);
    return;
  }
  const uint32_t exec = FindTokenExec(token);
  if (exec == kNoExec || status() != RunState::kRunning) {
    d_.reply = StaleToken();
    return;
  }
  cp::Exec& e = ExecAt(exec);
  if (e.state() != cp::EXEC_ACTIVE || !e.remote() ||
      e.attempt_state() != AS(AttemptState::kScheduled)) {
    d_.reply = StaleToken();
    return;
  }
  const dsl::TaskSpec& task = StepOf(exec).task();
  e.set_attempt_state(AS(AttemptState::kStarted));
  e.clear_input_json();  // The worker has it now.
  e.set_worker_id(ev.worker_id);
  e.set_started_at_ms(now_ms_);
  e.set_queue_due_ms(0);
  Dispatch dispatch = MakeDispatch(exec, false, Json());
  e.set_close_due_ms(ToUnixMillis(dispatch.deadline));
  Arm(TimerKind::kStartToClose, false, exec, e.attempt(), e.close_due_ms());
  if (task.heartbeat_timeout) {
    e.set_heartbeat_due_ms(now_ms_ + task.heartbeat_timeout->count());
    Arm(TimerKind::kHeartbeat, false, exec, e.attempt(), e.heartbeat_due_ms());
  }
  Emit(kStepStarted, StepOf(exec).name, e.attempt(),
       {{"worker_id", ev.worker_id}});
  d_.started_task = std::move(dispatch);
}

void Decider::operator()(const HeartbeatEvent& ev) {
  // A heartbeat moves a deadline in memory only: it is not worth a commit,
  // and after a restart a leased attempt gets a full heartbeat interval anew.
  const TaskToken& token = ev.token;
  if (token.compensation) {
    if (token.run_id != run_.record.run_id() ||
        !CompensationTokenMatches(token)) {
      d_.reply = StaleToken();
      return;
    }
    cp::Compensation& comp = *st_.mutable_compensation();
    if (comp.attempt_state() == AS(AttemptState::kCancelled)) {
      d_.cancel_requested = true;
      return;
    }
    if (comp.attempt_state() != AS(AttemptState::kStarted) &&
        comp.attempt_state() != AS(AttemptState::kScheduled)) {
      d_.reply = StaleToken();
      return;
    }
    const uint32_t exec = comp.execs(comp.cursor());
    const auto& hb = StepOf(exec).task().compensate->heartbeat_timeout;
    if (hb) comp.set_heartbeat_due_ms(now_ms_ + hb->count());
    return;
  }
  const uint32_t exec = FindTokenExec(token);
  if (exec == kNoExec) {
    d_.reply = StaleToken();
    return;
  }
  cp::Exec& e = ExecAt(exec);
  if (e.attempt_state() == AS(AttemptState::kCancelled)) {
    d_.cancel_requested = true;
    return;
  }
  if (e.state() != cp::EXEC_ACTIVE ||
      (e.attempt_state() != AS(AttemptState::kStarted) &&
       e.attempt_state() != AS(AttemptState::kScheduled))) {
    d_.reply = StaleToken();
    return;
  }
  const auto& hb = StepOf(exec).task().heartbeat_timeout;
  if (hb) e.set_heartbeat_due_ms(now_ms_ + hb->count());
}

void Decider::operator()(const TimerEvent& ev) {
  const TimerRef& ref = ev.ref;
  if (ref.kind == TimerKind::kStartDelay) {
    if (status() != RunState::kRunning || st_.start_due_ms() == 0) return;
    if (st_.start_due_ms() > now_ms_) {
      Arm(TimerKind::kStartDelay, false, 0, 0, st_.start_due_ms());
      return;
    }
    st_.set_start_due_ms(0);
    Emit(kTimerFired, "", 0, {{"purpose", "start_at"}});
    BeginExecution();
    return;
  }
  if (ref.kind == TimerKind::kRunTimeout) {
    if (status() != RunState::kRunning || st_.run_deadline_ms() == 0) return;
    if (st_.run_deadline_ms() > now_ms_) {
      Arm(TimerKind::kRunTimeout, false, 0, 0, st_.run_deadline_ms());
      return;
    }
    st_.set_run_deadline_ms(0);
    const std::string message =
        "the run exceeded its timeout of " +
        FormatDuration(plan_.run_timeout().value_or(Duration(0)));
    RunFailed(kNoExec, kRunTimeout, message);
    return;
  }
  if (ref.exec >= static_cast<uint32_t>(st_.execs_size())) return;

  // The attempt the timer was armed for, if it is still the current one.
  int32_t attempt_state = 0;
  bool remote = false;
  int64_t due = 0;
  if (ref.compensation) {
    const cp::Compensation& comp = st_.compensation();
    if (status() != RunState::kCompensating || !st_.compensating() ||
        comp.cursor() >= static_cast<uint32_t>(comp.execs_size()) ||
        comp.execs(comp.cursor()) != ref.exec ||
        comp.attempt() != ref.attempt) {
      return;
    }
    attempt_state = comp.attempt_state();
    remote = comp.remote();
    switch (ref.kind) {
      case TimerKind::kRetryBackoff:
        due = comp.timer_due_ms();
        break;
      case TimerKind::kQueue:
        due = comp.queue_due_ms();
        break;
      case TimerKind::kStartToClose:
        due = comp.close_due_ms();
        break;
      case TimerKind::kHeartbeat:
        due = comp.heartbeat_due_ms();
        break;
      default:
        return;
    }
  } else {
    const cp::Exec& e = st_.execs(ref.exec);
    if (status() != RunState::kRunning || e.state() != cp::EXEC_ACTIVE) return;
    attempt_state = e.attempt_state();
    remote = e.remote();
    switch (ref.kind) {
      case TimerKind::kRetryBackoff:
      case TimerKind::kWait:
      case TimerKind::kSignalTimeout:
        due = e.timer_due_ms();
        break;
      case TimerKind::kQueue:
        due = e.queue_due_ms();
        break;
      case TimerKind::kStartToClose:
        due = e.close_due_ms();
        break;
      case TimerKind::kHeartbeat:
        due = e.heartbeat_due_ms();
        break;
      default:
        return;
    }
    if (ref.kind != TimerKind::kWait && ref.kind != TimerKind::kSignalTimeout &&
        e.attempt() != ref.attempt) {
      return;
    }
  }
  if (due == 0) return;
  if (due > now_ms_) {
    // The deadline moved (a heartbeat) or the clock stepped back: later.
    Arm(ref.kind, ref.compensation, ref.exec, ref.attempt, due);
    return;
  }

  const bool running =
      attempt_state == AS(AttemptState::kStarted) ||
      (!remote && attempt_state == AS(AttemptState::kScheduled));
  std::string error;
  std::string message;
  switch (ref.kind) {
    case TimerKind::kRetryBackoff:
      if (attempt_state != AS(AttemptState::kWaitingToRetry)) return;
      if (ref.compensation) {
        ScheduleCompensation(ref.attempt + 1);
      } else {
        ScheduleAttempt(ref.exec, ref.attempt + 1);
      }
      return;
    case TimerKind::kQueue:
      if (!remote || attempt_state != AS(AttemptState::kScheduled)) return;
      error = kQueueTimeout;
      message = "no worker took the task within its queue_timeout";
      break;
    case TimerKind::kStartToClose:
      if (!running) return;
      error = kTimeout;
      message = "the attempt did not finish within its timeout";
      break;
    case TimerKind::kHeartbeat:
      if (!running) return;
      error = kHeartbeatTimeout;
      message = "no heartbeat within the heartbeat_timeout";
      break;
    case TimerKind::kWait: {
      const Step& step = StepOf(ref.exec);
      if (step.type != StepType::kWait) return;
      Emit(kTimerFired, step.name, 0);
      const Json* previous = PreviousOutput(ref.exec);
      Complete(ref.exec, previous ? *previous : Json());
      return;
    }
    case TimerKind::kSignalTimeout: {
      const Step& step = StepOf(ref.exec);
      if (step.type != StepType::kSignal) return;
      message = "signal " + step.signal().signal + " did not arrive within " +
                FormatDuration(step.signal().timeout.value_or(Duration(0)));
      Emit(kStepFailed, step.name, 0,
           {{"error", kSignalTimeout}, {"message", message}});
      StepFailed(ref.exec, kSignalTimeout, message);
      return;
    }
    case TimerKind::kRunTimeout:
    case TimerKind::kStartDelay:
      return;
  }
  if (ref.compensation) {
    CompensationAttemptFailed(error, message, false, AttemptEvent::kTimeOut);
  } else {
    AttemptFailed(ref.exec, error, message, false, AttemptEvent::kTimeOut);
  }
}

void Decider::operator()(const SignalEvent& ev) {
  if (status() != RunState::kRunning && status() != RunState::kSuspended) {
    d_.reply = Status::FailedPrecondition(
        "run " + run_.record.run_id() + " is " +
        std::string(RunStateName(status())) +
        ": only RUNNING and SUSPENDED runs take signals");
    return;
  }
  const uint64_t seq = next_seq_;
  Emit(kSignalReceived, "", 0, {{"signal", ev.name}, {"payload", ev.payload}});
  if (status() == RunState::kRunning) {
    for (uint32_t id = 0; id < static_cast<uint32_t>(st_.execs_size()); ++id) {
      const cp::Exec& e = st_.execs(id);
      const Step& step = StepOf(id);
      if (e.state() != cp::EXEC_ACTIVE || step.type != StepType::kSignal ||
          step.signal().signal != ev.name) {
        continue;
      }
      run_.SetSignal(ev.name, ev.payload);
      Complete(id, ev.payload);
      return;
    }
  }
  cp::BufferedSignal* buffered = st_.add_buffered_signals();
  buffered->set_name(ev.name);
  buffered->set_payload_json(dsl::DumpJson(ev.payload));
  buffered->set_seq(seq);
}

void Decider::operator()(const CancelEvent& ev) {
  if (status() == RunState::kCompensating && st_.cancel_requested()) {
    return;  // Already cancelling: a repeated cancel is answered OK.
  }
  const std::string message =
      ev.reason.empty() ? "cancelled" : "cancelled: " + ev.reason;
  if (plan_.on_failure() == dsl::OnFailure::kCompensate) {
    const bool was_cancel_requested = st_.cancel_requested();
    st_.set_cancel_requested(true);
    if (!SetStatus(RunEvent::kCancel)) {
      st_.set_cancel_requested(was_cancel_requested);
      return;
    }
    Emit(kRunCancelRequested, "", 0, {{"reason", ev.reason}});
    run_.record.set_error(kCancelledError);
    run_.record.set_error_message(message);
    CancelActive(false);
    BeginCompensation();
    return;
  }
  if (!SetStatus(RunEvent::kCancelWithoutCompensation)) return;
  Emit(kRunCancelRequested, "", 0, {{"reason", ev.reason}});
  run_.record.set_error(kCancelledError);
  run_.record.set_error_message(message);
  CancelActive(false);
  Emit(kRunCancelled, "", 0, {{"reason", ev.reason}});
}

void Decider::operator()(const ResumeEvent&) {
  const RunState from = status();
  if (!SetStatus(RunEvent::kResume)) return;
  Emit(kRunResumed, "", 0, {{"from", RunStateName(from)}});
  if (from == RunState::kCompensationFailed) {
    cp::Compensation& comp = *st_.mutable_compensation();
    st_.set_compensating(true);
    comp.set_retry_base(comp.attempt());
    comp.clear_error();
    comp.clear_error_message();
    // The run ends for the reason it began compensating, not for the
    // compensation failure the operator has dealt with.
    run_.record.set_error(comp.run_error());
    run_.record.set_error_message(comp.run_error_message());
    ScheduleCompensation(comp.attempt() + 1);
    return;
  }
  run_.record.clear_error();
  run_.record.clear_error_message();
  st_.set_transitions(0);  // A fresh step budget, as for retries.
  if (st_.failed_exec() != 0) {
    const uint32_t origin = st_.failed_exec() - 1;
    st_.set_failed_exec(0);
    if (st_.execs(origin).state() == cp::EXEC_FAILED) RestartExec(origin);
  }
  for (uint32_t id = 0; id < static_cast<uint32_t>(st_.execs_size()); ++id) {
    if (st_.execs(id).state() == cp::EXEC_INTERRUPTED) RestartExec(id);
  }
  if (st_.run_deadline_ms() != 0) {
    // The run timeout covers the run's first execution only.
    st_.set_run_deadline_ms(0);
  }
}

void Decider::operator()(const RecoverEvent&) {
  // Attempts that ran in the dead process are lost: each times out now and
  // its retry policy decides (CONTRACT: activities run at least once).
  // Attempts leased to remote workers keep their deadlines; their heartbeat
  // clock restarts, since heartbeats are not written to disk.
  // The status as loaded: the first block may start a compensation, whose
  // fresh attempt the second block must not take for a lost one.
  const RunState at_load = status();
  if (at_load == RunState::kRunning) {
    for (uint32_t id = 0; id < static_cast<uint32_t>(st_.execs_size()); ++id) {
      cp::Exec& e = ExecAt(id);
      if (e.state() != cp::EXEC_ACTIVE || StepOf(id).type != StepType::kTask) {
        continue;
      }
      const bool running = e.attempt_state() == AS(AttemptState::kScheduled) ||
                           e.attempt_state() == AS(AttemptState::kStarted);
      if (!running) continue;
      if (!e.remote()) {
        AttemptFailed(id, kWorkerLost,
                      "the server stopped while the attempt ran in it", false,
                      AttemptEvent::kTimeOut);
      } else if (e.heartbeat_due_ms() != 0) {
        const auto& hb = StepOf(id).task().heartbeat_timeout;
        if (hb) e.set_heartbeat_due_ms(now_ms_ + hb->count());
      }
    }
  }
  if (at_load == RunState::kCompensating && st_.compensating()) {
    cp::Compensation& comp = *st_.mutable_compensation();
    const bool running = comp.attempt_state() == AS(AttemptState::kScheduled) ||
                         comp.attempt_state() == AS(AttemptState::kStarted);
    if (running && !comp.remote()) {
      CompensationAttemptFailed(
          kWorkerLost, "the server stopped while the attempt ran in it", false,
          AttemptEvent::kTimeOut);
    } else if (running && comp.heartbeat_due_ms() != 0) {
      const uint32_t exec = comp.execs(comp.cursor());
      const auto& hb = StepOf(exec).task().compensate->heartbeat_timeout;
      if (hb) comp.set_heartbeat_due_ms(now_ms_ + hb->count());
    }
  }
}

void Decider::Finish() {
  while (!starts_.empty() && status() == RunState::kRunning) {
    const PendingStart start = starts_.front();
    starts_.pop_front();
    if (st_.instances(start.instance).state() != cp::INSTANCE_ACTIVE) continue;
    StartStep(start.instance, start.step, start.prev);
  }
  if (d_.changed && status() == RunState::kRunning &&
      next_seq_ - 1 > options_.max_history_events) {
    starts_.clear();
    RunFailed(kNoExec, kHistoryLimitExceeded,
              "the run's history passed " +
                  std::to_string(options_.max_history_events) +
                  " events, the limit");
  }
  if (d_.changed) {
    run_.record.set_updated_at_ms(now_ms_);
    run_.record.clear_current_steps();
    for (std::string& name : CurrentSteps(run_)) {
      run_.record.add_current_steps(std::move(name));
    }
  }
}

}  // namespace

Decision Decide(Run& run, const Event& event, TimePoint now,
                const DeciderOptions& options) {
  Decision decision;
  decision.previous_status = run.record.status();
  Decider decider(run, now, options, decision);
  std::visit(decider, event);
  decider.Finish();
  if (!decision.reply.ok()) {
    // A refused event must leave nothing behind.
    decision.events.clear();
    decision.dispatches.clear();
    decision.timers.clear();
    decision.disarm.clear();
    decision.cancelled_tokens.clear();
    decision.attempt_timings.clear();
    decision.changed = false;
  }
  decision.status_after = run.record.status();
  return decision;
}

std::vector<TimerRequest> PendingTimers(const Run& run) {
  std::vector<TimerRequest> timers;
  const cp::RunCheckpoint& st = run.state;
  const auto status = static_cast<RunState>(run.record.status());
  const auto add = [&](TimerKind kind, bool comp, uint32_t exec,
                       uint32_t attempt, int64_t due) {
    if (due != 0) timers.push_back({due, {kind, comp, exec, attempt}});
  };
  if (status == RunState::kRunning) {
    add(TimerKind::kRunTimeout, false, 0, 0, st.run_deadline_ms());
    add(TimerKind::kStartDelay, false, 0, 0, st.start_due_ms());
    for (uint32_t id = 0; id < static_cast<uint32_t>(st.execs_size()); ++id) {
      const cp::Exec& e = st.execs(id);
      if (e.state() != cp::EXEC_ACTIVE) continue;
      switch (run.plan->step(e.step()).type) {
        case StepType::kTask:
          if (e.attempt_state() == AS(AttemptState::kWaitingToRetry)) {
            add(TimerKind::kRetryBackoff, false, id, e.attempt(),
                e.timer_due_ms());
          }
          add(TimerKind::kQueue, false, id, e.attempt(), e.queue_due_ms());
          add(TimerKind::kStartToClose, false, id, e.attempt(),
              e.close_due_ms());
          add(TimerKind::kHeartbeat, false, id, e.attempt(),
              e.heartbeat_due_ms());
          break;
        case StepType::kWait:
          add(TimerKind::kWait, false, id, 0, e.timer_due_ms());
          break;
        case StepType::kSignal:
          add(TimerKind::kSignalTimeout, false, id, 0, e.timer_due_ms());
          break;
        default:
          break;
      }
    }
  }
  if (status == RunState::kCompensating && st.compensating()) {
    const cp::Compensation& c = st.compensation();
    if (c.cursor() < static_cast<uint32_t>(c.execs_size())) {
      const uint32_t exec = c.execs(c.cursor());
      if (c.attempt_state() == AS(AttemptState::kWaitingToRetry)) {
        add(TimerKind::kRetryBackoff, true, exec, c.attempt(),
            c.timer_due_ms());
      }
      add(TimerKind::kQueue, true, exec, c.attempt(), c.queue_due_ms());
      add(TimerKind::kStartToClose, true, exec, c.attempt(), c.close_due_ms());
      add(TimerKind::kHeartbeat, true, exec, c.attempt(), c.heartbeat_due_ms());
    }
  }
  return timers;
}

std::vector<Dispatch> PendingRemoteDispatches(Run& run, TimePoint /*now*/,
                                              const DeciderOptions& options) {
  std::vector<Dispatch> out;
  const cp::RunCheckpoint& st = run.state;
  const auto status = static_cast<RunState>(run.record.status());
  const auto make = [&](uint32_t exec, bool comp) {
    const Step& step = run.plan->step(st.execs(exec).step());
    const dsl::Template& input =
        comp ? step.task().compensate->input : step.task().input;
    RunContext context(run, st.execs(exec).instance());
    // The input as scheduled; re-evaluating could read values that changed
    // since (another branch's step, a later signal).
    const std::string& stored =
        comp ? st.compensation().input_json() : st.execs(exec).input_json();
    dsl::EvalResult<Json> value = Json();
    if (!stored.empty()) {
      auto parsed = ParseStoredJson(stored);
      if (parsed.ok()) value = std::move(parsed).value();
    } else {
      value = input.Evaluate(context, options.eval_limits);
    }
    if (!value.ok()) return;
    // MakeDispatch is private to the decider; build the same thing here.
    Dispatch d;
    const TaskToken token = AttemptToken(run, exec, comp);
    d.token = token.Encode();
    d.activity = comp ? step.task().compensate->activity : step.task().activity;
    d.input = std::move(value).value();
    d.input_json = stored.empty() ? dsl::DumpJson(d.input) : stored;
    d.step = step.name;
    d.exec = exec;
    d.instance = token.scope_instance;
    d.index = context.Index();
    d.attempt = token.attempt;
    d.compensation = comp;
    d.remote = true;
    out.push_back(std::move(d));
  };
  if (status == RunState::kRunning) {
    for (uint32_t id = 0; id < static_cast<uint32_t>(st.execs_size()); ++id) {
      const cp::Exec& e = st.execs(id);
      if (e.state() == cp::EXEC_ACTIVE && e.remote() &&
          e.attempt_state() == AS(AttemptState::kScheduled) &&
          run.plan->step(e.step()).type == StepType::kTask) {
        make(id, false);
      }
    }
  }
  if (status == RunState::kCompensating && st.compensating()) {
    const cp::Compensation& c = st.compensation();
    if (c.cursor() < static_cast<uint32_t>(c.execs_size()) && c.remote() &&
        c.attempt_state() == AS(AttemptState::kScheduled)) {
      make(c.execs(c.cursor()), true);
    }
  }
  return out;
}

std::vector<std::string> CurrentSteps(const Run& run) {
  std::vector<std::string> names;
  const cp::RunCheckpoint& st = run.state;
  const auto status = static_cast<RunState>(run.record.status());
  const auto add = [&](const std::string& name) {
    if (std::find(names.begin(), names.end(), name) == names.end()) {
      names.push_back(name);
    }
  };
  if (status == RunState::kCompensating ||
      status == RunState::kCompensationFailed) {
    const cp::Compensation& c = st.compensation();
    if (c.cursor() < static_cast<uint32_t>(c.execs_size())) {
      add(run.plan->step(st.execs(c.execs(c.cursor())).step()).name);
    }
    return names;
  }
  if (status == RunState::kSuspended || status == RunState::kFailed) {
    if (st.failed_exec() != 0) {
      add(run.plan->step(st.execs(st.failed_exec() - 1).step()).name);
    }
    return names;
  }
  if (status != RunState::kRunning) return names;
  for (const cp::Exec& e : st.execs()) {
    if (e.state() != cp::EXEC_ACTIVE) continue;
    const Step& step = run.plan->step(e.step());
    if (IsContainer(step.type)) continue;
    add(step.name);
  }
  return names;
}

}  // namespace sagaflow::engine
