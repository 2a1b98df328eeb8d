#include "engine/run.h"

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
