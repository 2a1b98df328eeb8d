// What records_fuzz and its seed generator share: the plans stored runs are
// loaded against (samples/*.json, compiled) and a driver that applies events
// to a loaded run the way a partition, its agents and remote workers would,
// checking after every decision that what the engine would commit decodes and
// validates again. Both programs run the same code, so the seeds are states
// the fuzzer can reach and extend.
#ifndef SAGAFLOW_FUZZ_RECORDS_FIXTURES_H_
#define SAGAFLOW_FUZZ_RECORDS_FIXTURES_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "dsl/plan.h"
#include "engine/decider.h"
#include "engine/run.h"

namespace sagaflow::fuzz {

// The first byte of a records_fuzz input, modulo kKindCount: which decoder
// the rest of the input goes to (records_fuzz.cc).
enum class Kind : uint8_t {
  kRunRecord,       // RunRecord bytes
  kCheckpoint,      // [status][plan] then RunCheckpoint bytes
  kHistoryEvent,    // HistoryEventRecord bytes
  kWorkflowRecord,  // WorkflowRecord bytes
  kScheduleRecord,  // ScheduleRecord bytes
  kOtherRecord,     // [which] then Task/Timer/Lease/Signal/ScheduleAction
  kTaskToken,       // token text
  kStoredJson,      // JSON text
  kPageToken,       // [listing] then page token text
};
inline constexpr uint8_t kKindCount = 9;

// Aborts with `what` unless `condition` holds: a broken invariant is a
// finding, like a sanitizer report.
void Check(bool condition, std::string_view what);

// The sample workflows, compiled once; aborts if one does not compile.
const std::vector<std::shared_ptr<const dsl::Plan>>& Plans();
// The plan named record.workflow(), else one picked by workflow_version, so
// that any record has a plan to load against.
std::shared_ptr<const dsl::Plan> PlanFor(const persistence::RunRecord& record);

// As the engine configures its decider: builtin.* runs in-process, every
// other activity on remote workers.
const engine::DeciderOptions& Options();

// A fresh record and run of `plan`, not started yet.
std::unique_ptr<engine::Run> NewRun(std::shared_ptr<const dsl::Plan> plan,
                                    std::string run_id, std::string input_json);

// Does to `run` what the engine does to a run it loads (Partition::Load and
// Recover): validate the checkpoint, rebuild the caches, collect its pending
// timers and remote dispatches, and apply RecoverEvent. false when the engine
// would refuse to load it (a decoding or validation error).
bool LoadRecord(persistence::RunRecord record,
                std::unique_ptr<engine::Run>* out);

// The run task-token inputs are decided against: order_fulfillment started,
// its first attempt handed out, every secret set to kTokenSecret so that seeded
// tokens match.
inline constexpr char kTokenSecret[] = "00112233445566778899aabbccddeeff";
std::unique_ptr<engine::Run> MakeTokenTarget();

// Applies events to one run: the partition's side of things (timers armed and
// fired, dispatches handed out, signals, cancel, resume), with the checks
// described at the top of this file after each decision.
class Driver {
 public:
  // `observe`, when set, sees the run's record (checkpoint included, as the
  // store would hold it) after every decision that changed it.
  explicit Driver(
      engine::Run* run,
      std::function<void(const persistence::RunRecord&)> observe = nullptr);

  // What a partition does with a run it loaded: re-arm its timers, re-queue
  // its remote attempts, and apply RecoverEvent.
  void Recover();
  void Start();
  // One event, chosen by `choice` among those that make sense now (fire the
  // earliest timer, start/complete/fail/heartbeat an attempt, signal, cancel,
  // resume, restart). The low 3 bits pick the kind, the rest its argument:
  //   0: fire the earliest timer if due within a second, 1: fire it anyway;
  //   2: complete an attempt, 3: fail it (argument bit 4: non-retryable),
  //      each first started if remote (unless argument bit 3 is set);
  //   4: heartbeat; 5: signal (argument bit 6: approved);
  //   6: resume, or cancel when the argument is a multiple of 4; 7: restart.
  void Step(uint32_t choice);

  TimePoint now() const { return now_; }

 private:
  void Apply(const engine::Event& event);

  engine::Run* run_;
  std::function<void(const persistence::RunRecord&)> observe_;
  TimePoint now_;
  // An attempt handed out, and whether a worker took it (TaskStartedEvent).
  struct Pending {
    engine::Dispatch dispatch;
    bool started = false;
  };
  void AddDispatch(engine::Dispatch d);

  std::vector<engine::TimerRequest> timers_;
  std::vector<Pending> dispatches_;
};

}  // namespace sagaflow::fuzz

#endif  // SAGAFLOW_FUZZ_RECORDS_FIXTURES_H_
