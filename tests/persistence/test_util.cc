#include "tests/persistence/test_util.h"

#include <unistd.h>

#include <atomic>
#include <filesystem>

namespace sagaflow::persistence::testing {

std::string MakeTempDir(const std::string& tag) {
  static std::atomic<int> counter{0};
  const auto dir = std::filesystem::temp_directory_path() /
                   ("sagaflow-" + tag + "-" + std::to_string(::getpid()) + "-" +
                    std::to_string(counter++));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

void RemoveDir(const std::string& dir) {
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
}

HistoryEventRecord Event(uint64_t seq, int type, const std::string& step) {
  HistoryEventRecord e;
  e.set_seq(seq);
  e.set_time_ms(1'700'000'000'000 + static_cast<int64_t>(seq));
  e.set_type(type);
  e.set_step(step);
  e.set_detail_json("{\"n\":" + std::to_string(seq) + "}");
  return e;
}

Transition CreateRun(const std::string& id, const std::string& workflow,
                     int64_t created_at_ms, int events) {
  Transition t;
  t.create = true;
  t.run.set_run_id(id);
  t.run.set_workflow(workflow);
  t.run.set_workflow_version(1);
  t.run.set_status(storage::RUN_STATUS_RUNNING);
  t.run.set_input_json("{\"order\":1}");
  t.run.set_created_at_ms(created_at_ms);
  t.run.set_updated_at_ms(created_at_ms);
  for (int i = 1; i <= events; ++i)
    t.events.push_back(Event(static_cast<uint64_t>(i)));
  return t;
}

Transition UpdateRun(const std::string& id, RunStatus status, uint64_t last_seq,
                     int events, int64_t now_ms) {
  Transition t;
  t.run.set_run_id(id);
  t.run.set_status(status);
  t.run.set_updated_at_ms(now_ms);
  for (int i = 1; i <= events; ++i)
    t.events.push_back(Event(last_seq + static_cast<uint64_t>(i)));
  return t;
}

}  // namespace sagaflow::persistence::testing
