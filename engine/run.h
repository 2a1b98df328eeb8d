// A run as the engine holds it in memory: its record, its checkpoint (the
// execution state, engine/checkpoint.proto), its compiled plan, and caches of
// parsed JSON so that evaluation never re-parses a value. Owned by exactly one
// partition thread; nothing here is thread-safe.
#ifndef SAGAFLOW_ENGINE_RUN_H_
#define SAGAFLOW_ENGINE_RUN_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/result.h"
#include "dsl/eval.h"
#include "dsl/plan.h"
#include "engine/checkpoint.pb.h"
#include "persistence/store.h"

namespace sagaflow::engine {

namespace cp = checkpoint;
using dsl::Json;

// "+1" encoding for optional ids stored in proto3 fields (0: none).
inline constexpr uint32_t kNoExec = UINT32_MAX;

struct Run {
  std::shared_ptr<const dsl::Plan> plan;
  persistence::RunRecord record;  // checkpoint field left empty
  cp::RunCheckpoint state;
  Json input;

  // Rebuilds the caches below from `state` (after a load).
  void RebuildIndexes();

  // The exec last started for `step` in `instance`, or kNoExec.
  uint32_t LatestExec(uint32_t instance, uint32_t step) const;
  void NoteExecStarted(uint32_t exec);
  void NoteExecEnded(uint32_t exec);  // completed or caught

  // Parsed views of stored JSON, cached; nullptr when absent.
  const Json* ExecOutput(uint32_t exec) const;
  const Json* ExecError(uint32_t exec) const;
  const Json* InstanceItem(uint32_t instance) const;
  const Json* MapItems(uint32_t exec) const;  // A map exec's items array.
  const Json* InstanceOutput(uint32_t instance) const;
  const Json* SignalPayload(std::string_view name) const;
  // Stores a value both as text in the checkpoint and parsed in the cache.
  void SetExecOutput(uint32_t exec, Json value);
  void SetInstanceOutput(uint32_t instance, Json value);
  void SetSignal(const std::string& name, Json value);

  // The latest exec of `step` visible from `instance` that ended with an
  // output (completed) or with a caught error: first along the instance's
  // ancestors, then anywhere in the run.
  uint32_t VisibleExec(uint32_t instance, uint32_t step, bool want_error) const;

 private:
  static uint64_t Key(uint32_t instance, uint32_t step) {
    return (uint64_t{instance} << 32) | step;
  }
  std::unordered_map<uint64_t, uint32_t> latest_;  // (instance, step) -> exec
  // Per step: the latest exec (anywhere) that completed / was caught.
  std::vector<uint32_t> latest_completed_;
  std::vector<uint32_t> latest_caught_;
  mutable std::unordered_map<uint32_t, Json> outputs_;
  mutable std::unordered_map<uint32_t, Json> errors_;
  mutable std::unordered_map<uint32_t, Json> items_;
  mutable std::unordered_map<uint32_t, Json> map_items_;
  mutable std::unordered_map<uint32_t, Json> instance_outputs_;
  mutable std::unordered_map<std::string, Json> signals_;
};

// The run context `$...` paths read, seen from one scope instance (for $.item,
// $.index and which iteration's steps are meant).
class RunContext final : public dsl::EvalContext {
 public:
  RunContext(const Run& run, uint32_t instance)
      : run_(run), instance_(instance) {}

  const Json* Input() const override { return &run_.input; }
  const Json* StepOutput(dsl::StepIndex step) const override;
  const Json* StepError(dsl::StepIndex step) const override;
  const Json* Signal(std::string_view name) const override;
  std::string_view RunId() const override { return run_.record.run_id(); }
  std::string_view WorkflowName() const override {
    return run_.record.workflow();
  }
  const Json* Item() const override;
  std::optional<int64_t> Index() const override;
  dsl::EvalResult<Json> StepsObject(
      const dsl::EvalLimits& limits) const override;
  dsl::EvalResult<Json> SignalsObject(
      const dsl::EvalLimits& limits) const override;

 private:
  // The innermost map iteration enclosing instance_, or nullopt.
  std::optional<uint32_t> MapInstance() const;

  const Run& run_;
  uint32_t instance_;
};

// Parses a stored JSON text (written by the engine itself); corrupt text
// yields a Corruption status.
Result<Json> ParseStoredJson(std::string_view text);

// Checks that a decoded checkpoint is one the decider can work on against
// `plan` for a run in `status`: every exec, instance, scope and step it names
// exists, instances nest as the engine creates them (a parent and its owner
// exec's instance come before the child, so every walk up ends at the root),
// and the saga's lists name task steps with a compensate activity. Every
// checkpoint the engine writes passes; a corrupt one that decodes yields a
// Corruption status naming the first fault, instead of indexing out of range
// (or looping forever) later.
Status ValidateCheckpoint(const dsl::Plan& plan, persistence::RunStatus status,
                          const cp::RunCheckpoint& state);

}  // namespace sagaflow::engine

#endif  // SAGAFLOW_ENGINE_RUN_H_
