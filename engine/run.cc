#include "engine/run.h"

#include <algorithm>
#include <utility>

#include "dsl/json.h"

namespace sagaflow::engine {

Result<Json> ParseStoredJson(std::string_view text) {
  // Stored values were bounded when they entered; the generous parse limits
  // here only guard against a corrupted record.
  dsl::JsonParseOptions options;
  options.max_bytes = size_t{1} << 30;
  options.max_depth = 1024;
  auto parsed = dsl::ParseJson(text, options);
  if (!parsed.ok()) {
    return Status::Corruption("stored JSON does not parse: " +
                              parsed.error().message());
  }
  return std::move(parsed).value();
}

namespace {

Status Corrupt(const std::string& what) {
  return Status::Corruption("checkpoint: " + what);
}

std::string Num(uint64_t n) { return std::to_string(n); }

// Whether `exec` names a task step with a compensate activity: what the saga
// lists may hold (ScheduleCompensation dereferences it).
bool IsCompensable(const dsl::Plan& plan, const cp::RunCheckpoint& state,
                   uint32_t exec) {
  if (exec >= static_cast<uint32_t>(state.execs_size())) return false;
  const dsl::Step& step = plan.step(state.execs(exec).step());
  return step.type == dsl::StepType::kTask && step.task().compensate;
}

}  // namespace

Status ValidateCheckpoint(const dsl::Plan& plan, persistence::RunStatus status,
                          const cp::RunCheckpoint& state) {
  const uint32_t steps = static_cast<uint32_t>(plan.steps().size());
  const uint32_t scopes = static_cast<uint32_t>(plan.scopes().size());
  const uint32_t execs = static_cast<uint32_t>(state.execs_size());
  const uint32_t instances = static_cast<uint32_t>(state.instances_size());
  // The start decision creates the root instance, in the same commit as the
  // run.
  if (instances == 0) return Corrupt("no root instance");
  if (state.instances(0).scope() != dsl::kRootScope) {
    return Corrupt("the root instance is not in the root scope");
  }
  // Execs first: instances below look up their owner exec's step.
  for (uint32_t id = 0; id < execs; ++id) {
    const cp::Exec& e = state.execs(id);
    const std::string at = "exec " + Num(id) + ": ";
    if (e.step() >= steps) {
      return Corrupt(at + "step " + Num(e.step()) + " is not in the plan (" +
                     Num(steps) + " steps)");
    }
    if (e.instance() >= instances) {
      return Corrupt(at + "instance " + Num(e.instance()) + " does not exist");
    }
    if (plan.step(e.step()).scope != state.instances(e.instance()).scope()) {
      return Corrupt(at + "step " + plan.step(e.step()).name +
                     " is not in its instance's scope");
    }
    if (e.prev_exec() > execs) return Corrupt(at + "prev_exec out of range");
    if (e.chosen_next() > steps) {
      return Corrupt(at + "chosen_next out of range");
    }
    for (uint32_t child : e.children()) {
      if (child == 0 || child >= instances ||
          state.instances(child).owner_exec() != id) {
        return Corrupt(at + "child instance " + Num(child) +
                       " is not one of its own");
      }
    }
  }
  for (uint32_t id = 0; id < instances; ++id) {
    const cp::Instance& inst = state.instances(id);
    const std::string at = "instance " + Num(id) + ": ";
    if (inst.last_exec() > execs) return Corrupt(at + "last_exec out of range");
    if (inst.scope() >= scopes) {
      return Corrupt(at + "scope " + Num(inst.scope()) + " is not in the plan");
    }
    if (id == 0) continue;
    // A child is created after its parent, by an exec of its parent: the
    // walks up the tree (RunContext, StepFailed, CancelSubtree) rely on it.
    if (inst.parent() >= id) {
      return Corrupt(at + "parent " + Num(inst.parent()) + " is not older");
    }
    if (inst.owner_exec() >= execs ||
        state.execs(inst.owner_exec()).instance() != inst.parent()) {
      return Corrupt(at + "owner exec " + Num(inst.owner_exec()) +
                     " is not an exec of its parent");
    }
    const dsl::Step& owner = plan.step(state.execs(inst.owner_exec()).step());
    bool in_owner = false;
    if (owner.type == dsl::StepType::kMap) {
      in_owner = owner.map().iterator == inst.scope();
    } else if (owner.type == dsl::StepType::kParallel) {
      const auto& branches = owner.parallel().branches;
      in_owner = std::find(branches.begin(), branches.end(), inst.scope()) !=
                 branches.end();
    }
    if (!in_owner) {
      return Corrupt(at + "scope " + Num(inst.scope()) +
                     " is not a branch or iterator of step " + owner.name);
    }
  }
  for (uint32_t exec : state.ended_order()) {
    if (!IsCompensable(plan, state, exec)) {
      return Corrupt("ended_order names exec " + Num(exec) +
                     ", not a compensable task");
    }
  }
  const cp::Compensation& comp = state.compensation();
  for (uint32_t exec : comp.execs()) {
    if (!IsCompensable(plan, state, exec)) {
      return Corrupt("the compensation names exec " + Num(exec) +
                     ", not a compensable task");
    }
  }
  const uint32_t pending = static_cast<uint32_t>(comp.execs_size());
  if (comp.cursor() > pending) {
    return Corrupt("the compensation cursor is past its list");
  }
  // Compensating, or stopped on a failed compensation (which a resume
  // retries): the cursor names the current one.
  if ((state.compensating() ||
       status == storage::RUN_STATUS_COMPENSATION_FAILED) &&
      comp.cursor() >= pending) {
    return Corrupt("no current compensation while compensating");
  }
  if (state.failed_exec() > execs) {
    return Corrupt("failed_exec out of range");
  }
  return Status::Ok();
}

namespace {

// Parses text the engine wrote itself. It was valid when written; should it
// ever fail to parse, the value reads as null rather than taking the run down.
Json ParseOwn(const std::string& text) {
  auto parsed = ParseStoredJson(text);
  return parsed.ok() ? std::move(parsed).value() : Json();
}

}  // namespace

void Run::RebuildIndexes() {
  latest_.clear();
  latest_completed_.assign(plan->steps().size(), kNoExec);
  latest_caught_.assign(plan->steps().size(), kNoExec);
  outputs_.clear();
  errors_.clear();
  items_.clear();
  map_items_.clear();
  instance_outputs_.clear();
  signals_.clear();
  for (uint32_t id = 0; id < static_cast<uint32_t>(state.execs_size()); ++id) {
    NoteExecStarted(id);
    NoteExecEnded(id);
  }
}

uint32_t Run::LatestExec(uint32_t instance, uint32_t step) const {
  auto it = latest_.find(Key(instance, step));
  return it == latest_.end() ? kNoExec : it->second;
}

void Run::NoteExecStarted(uint32_t exec) {
  const cp::Exec& e = state.execs(exec);
  latest_[Key(e.instance(), e.step())] = exec;
  if (latest_completed_.size() < plan->steps().size()) {
    latest_completed_.resize(plan->steps().size(), kNoExec);
    latest_caught_.resize(plan->steps().size(), kNoExec);
  }
}

void Run::NoteExecEnded(uint32_t exec) {
  const cp::Exec& e = state.execs(exec);
  if (e.state() == cp::EXEC_COMPLETED) latest_completed_[e.step()] = exec;
  if (e.state() == cp::EXEC_CAUGHT) latest_caught_[e.step()] = exec;
}

const Json* Run::ExecOutput(uint32_t exec) const {
  auto it = outputs_.find(exec);
  if (it != outputs_.end()) return &it->second;
  const cp::Exec& e = state.execs(exec);
  if (e.state() != cp::EXEC_COMPLETED) return nullptr;
  return &outputs_.emplace(exec, ParseOwn(e.output_json())).first->second;
}

const Json* Run::ExecError(uint32_t exec) const {
  auto it = errors_.find(exec);
  if (it != errors_.end()) return &it->second;
  const cp::Exec& e = state.execs(exec);
  if (e.error().empty()) return nullptr;
  Json error = {{"error", e.error()}, {"message", e.error_message()}};
  return &errors_.emplace(exec, std::move(error)).first->second;
}

const Json* Run::InstanceItem(uint32_t instance) const {
  auto it = items_.find(instance);
  if (it != items_.end()) return &it->second;
  const cp::Instance& inst = state.instances(instance);
  if (inst.item_json().empty()) return nullptr;
  return &items_.emplace(instance, ParseOwn(inst.item_json())).first->second;
}

const Json* Run::MapItems(uint32_t exec) const {
  auto it = map_items_.find(exec);
  if (it != map_items_.end()) return &it->second;
  const cp::Exec& e = state.execs(exec);
  if (e.items_json().empty()) return nullptr;
  return &map_items_.emplace(exec, ParseOwn(e.items_json())).first->second;
}

const Json* Run::InstanceOutput(uint32_t instance) const {
  auto it = instance_outputs_.find(instance);
  if (it != instance_outputs_.end()) return &it->second;
  const cp::Instance& inst = state.instances(instance);
  if (inst.output_json().empty()) return nullptr;
  return &instance_outputs_.emplace(instance, ParseOwn(inst.output_json()))
              .first->second;
}

const Json* Run::SignalPayload(std::string_view name) const {
  const std::string key(name);
  auto it = signals_.find(key);
  if (it != signals_.end()) return &it->second;
  auto stored = state.signals().find(key);
  if (stored == state.signals().end()) return nullptr;
  return &signals_.emplace(key, ParseOwn(stored->second)).first->second;
}

void Run::SetExecOutput(uint32_t exec, Json value) {
  state.mutable_execs(exec)->set_output_json(dsl::DumpJson(value));
  outputs_[exec] = std::move(value);
}

void Run::SetInstanceOutput(uint32_t instance, Json value) {
  state.mutable_instances(instance)->set_output_json(dsl::DumpJson(value));
  instance_outputs_[instance] = std::move(value);
}

void Run::SetSignal(const std::string& name, Json value) {
  (*state.mutable_signals())[name] = dsl::DumpJson(value);
  signals_[name] = std::move(value);
}

uint32_t Run::VisibleExec(uint32_t instance, uint32_t step,
                          bool want_error) const {
  const cp::ExecState wanted =
      want_error ? cp::EXEC_CAUGHT : cp::EXEC_COMPLETED;
  // Along the ancestors first: inside a map iteration, $.steps.X means this
  // iteration's X. Instance ids only grow, so the walk ends at the root.
  uint32_t at = instance;
  while (true) {
    const uint32_t exec = LatestExec(at, step);
    if (exec != kNoExec && state.execs(exec).state() == wanted) return exec;
    if (at == 0) break;
    at = state.instances(at).parent();
  }
  if (step >= latest_completed_.size()) return kNoExec;
  return want_error ? latest_caught_[step] : latest_completed_[step];
}

const Json* RunContext::StepOutput(dsl::StepIndex step) const {
  const uint32_t exec = run_.VisibleExec(instance_, step, false);
  return exec == kNoExec ? nullptr : run_.ExecOutput(exec);
}

const Json* RunContext::StepError(dsl::StepIndex step) const {
  const uint32_t exec = run_.VisibleExec(instance_, step, true);
  return exec == kNoExec ? nullptr : run_.ExecError(exec);
}

const Json* RunContext::Signal(std::string_view name) const {
  return run_.SignalPayload(name);
}

std::optional<uint32_t> RunContext::MapInstance() const {
  uint32_t at = instance_;
  while (at != 0) {
    const cp::Instance& inst = run_.state.instances(at);
    const dsl::Step& owner =
        run_.plan->step(run_.state.execs(inst.owner_exec()).step());
    if (owner.type == dsl::StepType::kMap) return at;
    at = inst.parent();
  }
  return std::nullopt;
}

const Json* RunContext::Item() const {
  auto at = MapInstance();
  return at ? run_.InstanceItem(*at) : nullptr;
}

std::optional<int64_t> RunContext::Index() const {
  auto at = MapInstance();
  if (!at) return std::nullopt;
  return run_.state.instances(*at).index();
}

dsl::EvalResult<Json> RunContext::StepsObject(
    const dsl::EvalLimits& limits) const {
  // Measured entry by entry before anything is copied, so an oversized
  // object fails without being built.
  Json steps = Json::object();
  size_t bytes = 2;
  for (const dsl::Step& step : run_.plan->steps()) {
    const Json* output = StepOutput(step.index);
    const Json* error = StepError(step.index);
    if (output == nullptr && error == nullptr) continue;
    bytes += step.name.size() + 4;
    for (const Json* value : {output, error}) {
      if (value == nullptr) continue;
      bytes += 10;
      const dsl::PayloadCheck check =
          dsl::MeasurePayload(*value, 2, limits, &bytes);
      if (check != dsl::PayloadCheck::kOk) {
        return dsl::PayloadTooLargeError(check, limits, "$.steps");
      }
    }
    Json entry = Json::object();
    if (output) entry["output"] = *output;
    if (error) entry["error"] = *error;
    steps[step.name] = std::move(entry);
  }
  return steps;
}

dsl::EvalResult<Json> RunContext::SignalsObject(
    const dsl::EvalLimits& limits) const {
  Json signals = Json::object();
  size_t bytes = 2;
  for (const auto& [name, text] : run_.state.signals()) {
    const Json* payload = run_.SignalPayload(name);
    if (payload == nullptr) continue;
    bytes += name.size() + 4;
    const dsl::PayloadCheck check =
        dsl::MeasurePayload(*payload, 1, limits, &bytes);
    if (check != dsl::PayloadCheck::kOk) {
      return dsl::PayloadTooLargeError(check, limits, "$.signals");
    }
    signals[name] = *payload;
  }
  return signals;
}

}  // namespace sagaflow::engine
