// A real engine over a real RocksDB store in a temp directory, with test
// activities that record what ran, for the engine tests.
#ifndef SAGAFLOW_TESTS_ENGINE_ENGINE_HARNESS_H_
#define SAGAFLOW_TESTS_ENGINE_ENGINE_HARNESS_H_

#include <gtest/gtest.h>

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "activities/registry.h"
#include "common/time.h"
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

 private:
  mutable std::mutex mu_;
  std::vector<Execution> entries_;
};

// Registers, besides the built-ins:
//  - test.record: records the execution, then fails with input.error (when
//    set, and input.fail_times is absent or the attempt <= fail_times), with
//    non_retryable from input.non_retryable; else returns input.output or
//    {"step": STEP, "attempt": N}.
//  - test.block: records, then waits until cancelled (returns Cancelled).
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

  std::string dir_;
  Journal journal_;
  std::unique_ptr<activities::ActivityRegistry> registry_;
  std::unique_ptr<ManualClock> manual_clock_;
  std::unique_ptr<persistence::RocksDbStore> store_;
  std::unique_ptr<Engine> engine_;
  EngineOptions options_;
};

std::string EventTypeName(int type);

}  // namespace sagaflow::engine::testing

#endif  // SAGAFLOW_TESTS_ENGINE_ENGINE_HARNESS_H_
