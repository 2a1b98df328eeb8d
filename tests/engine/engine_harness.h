// A real engine over a real RocksDB store in a temp directory, with test
// activities that record what ran, for the engine tests.
#ifndef SAGAFLOW_TESTS_ENGINE_ENGINE_HARNESS_H_
#define SAGAFLOW_TESTS_ENGINE_ENGINE_HARNESS_H_

#include <gtest/gtest.h>

#include <algorithm>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "activities/registry.h"
#include "common/time.h"
#include "dsl/json.h"
#include "engine/engine.h"
#include "persistence/rocksdb_store.h"

namespace sagaflow::engine::testing {

// What the "test.record" activity saw: one entry per execution.
struct Execution {
  std::string run_id;
  std::string step;
  bool compensation = false;
  uint32_t attempt = 0;
  std::string input_json;
};

// Shared by the activities of one fixture.
class Journal {
 public:
  void Add(Execution e);
  std::vector<Execution> All() const;
  // "step" or "~step" (compensation), in execution order, for one run.
  std::vector<std::string> Steps(const std::string& run_id) const;
  // Waits (real time, up to `timeout`) until `until` holds for the entries:
  // activities start without a commit, so AwaitUntil cannot see them.
  bool WaitFor(std::function<bool(const std::vector<Execution>&)> until,
               Duration timeout = Duration(20'000)) const;
  // Waits until `step` of `run_id` has executed `n` times (compensations
  // count as "~step").
  bool WaitForCount(const std::string& run_id, const std::string& step,
                    size_t n) const;
  // test.block records here when its cancellation arrived: "step" or "~step".
  void AddCancelled(const std::string& run_id, std::string step);
  std::vector<std::string> Cancelled(const std::string& run_id) const;
  // Waits (up to 20 s) until Cancelled(run_id) holds `step`.
  bool WaitForCancelled(const std::string& run_id,
                        const std::string& step) const;

 private:
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::vector<Execution> entries_;
  std::vector<std::pair<std::string, std::string>> cancelled_;
};

// Registers, besides the built-ins:
//  - test.record: records the execution, then fails with input.error (when
//    set, and input.fail_times is absent or the attempt <= fail_times), with
//    non_retryable from input.non_retryable; else returns input.output or
//    {"step": STEP, "attempt": N}.
//  - test.block: records, then waits until cancelled (returns Cancelled;
//    Journal::Cancelled() lists the attempts that saw their cancellation).
std::unique_ptr<activities::ActivityRegistry> MakeRegistry(Journal* journal);

class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // (Re)opens the store and the engine. With manual_clock, time moves only by
  // Advance().
  void Open(bool manual_clock = false);
  void Close();
  void Reopen() {
    Close();
    Open(manual_clock_ != nullptr);
  }
  // Moves the manual clock and lets the engine fire what became due.
  void Advance(Duration d);

  // Registers a definition; fails the test if it is invalid.
  void Register(const std::string& definition_json);
  std::string Start(const std::string& workflow,
                    const std::string& input = "{}",
                    const std::string& run_id = "");
  // Waits (real time, up to 20 s) for the run to leave RUNNING/COMPENSATING.
  persistence::RunRecord Await(const std::string& run_id);
  // Waits until `until` holds for the run's record.
  persistence::RunRecord AwaitUntil(
      const std::string& run_id,
      std::function<bool(const persistence::RunRecord&)> until);
  std::vector<persistence::HistoryEventRecord> History(
      const std::string& run_id);
  // Event type names ("STEP_COMPLETED") in order, optionally for one step.
  std::vector<std::string> EventTypes(const std::string& run_id,
                                      const std::string& step = "");
  // The events of one type ("STEP_FAILED"), optionally for one step.
  std::vector<persistence::HistoryEventRecord> Events(
      const std::string& run_id, const std::string& type,
      const std::string& step = "");
  size_t CountEvents(const std::string& run_id, const std::string& type,
                     const std::string& step = "") {
    return Events(run_id, type, step).size();
  }
  // For AwaitUntil: the run's history holds at least `n` events of `type`
  // for `step`.
  std::function<bool(const persistence::RunRecord&)> HasEvents(
      const std::string& run_id, const std::string& type,
      const std::string& step, size_t n) {
    return [=](const persistence::RunRecord&) {
      return CountEvents(run_id, type, step) >= n;
    };
  }
  // Expects the run's history to be numbered 1, 2, ... without gaps. TearDown
  // checks it for every run started through Start().
  void ExpectSeqContiguous(const std::string& run_id);

  std::string dir_;
  std::vector<std::string> started_;  // Run ids Start() returned.
  Journal journal_;
  std::unique_ptr<activities::ActivityRegistry> registry_;
  std::unique_ptr<ManualClock> manual_clock_;
  std::unique_ptr<persistence::RocksDbStore> store_;
  std::unique_ptr<Engine> engine_;
  EngineOptions options_;
};

std::string EventTypeName(int type);

// For AwaitUntil: the run has `step` among its current steps.
inline std::function<bool(const persistence::RunRecord&)> AtStep(
    const std::string& step) {
  return [step](const persistence::RunRecord& r) {
    return std::find(r.current_steps().begin(), r.current_steps().end(),
                     step) != r.current_steps().end();
  };
}

// Parses JSON written in a test (so outputs compare as values).
inline dsl::Json J(std::string_view text) { return dsl::Json::parse(text); }

}  // namespace sagaflow::engine::testing

#endif  // SAGAFLOW_TESTS_ENGINE_ENGINE_HARNESS_H_
