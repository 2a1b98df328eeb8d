#include "tests/persistence/test_util.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <thread>

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

bool Eventually(const std::function<bool()>& condition,
                std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

std::map<std::string, RunRecord> AllRuns(Store& store) {
  std::map<std::string, RunRecord> runs;
  std::string token;
  do {
    auto page = store.ListRuns(RunFilter{}, 100, token);
    EXPECT_TRUE(page.ok()) << page.status().ToString();
    if (!page.ok()) break;
    for (RunRecord& r : page->items) runs[r.run_id()] = std::move(r);
    token = page->next_page_token;
  } while (!token.empty());
  return runs;
}

std::map<std::string, RunRecord> ExpectWholeStore(RocksDbStore& store) {
  std::map<std::string, RunRecord> runs = AllRuns(store);
  std::map<RunStatus, size_t> by_status;
  uint64_t events = 0;
  for (const auto& [id, run] : runs) {
    ++by_status[run.status()];
    events += run.last_event_seq();
    auto got = store.GetRun(id);
    EXPECT_TRUE(got.ok()) << id << ": " << got.status().ToString();
    auto history = store.ReadHistory(id, 0, 0);
    EXPECT_TRUE(history.ok()) << id << ": " << history.status().ToString();
    if (!history.ok()) continue;
    EXPECT_EQ(history->size(), run.last_event_seq()) << id;
    for (size_t i = 0; i < history->size(); ++i) {
      EXPECT_EQ((*history)[i].seq(), i + 1) << id;
    }
  }
  for (const auto& [status, count] : by_status) {
    size_t listed = 0;
    std::string token;
    do {
      RunFilter filter;
      filter.status = status;
      auto page = store.ListRuns(filter, 100, token);
      EXPECT_TRUE(page.ok()) << page.status().ToString();
      if (!page.ok()) break;
      listed += page->items.size();
      token = page->next_page_token;
    } while (!token.empty());
    EXPECT_EQ(listed, count) << storage::RunStatus_Name(status);
  }
  auto counts = store.CountEntries();
  EXPECT_TRUE(counts.ok()) << counts.status().ToString();
  if (counts.ok()) {
    for (const char* index :
         {"runs", "idx_time", "idx_status", "idx_workflow"}) {
      EXPECT_EQ((*counts)[index], runs.size()) << index;
    }
    // No event outside the runs' histories (say, from a write that failed).
    EXPECT_EQ((*counts)["history"], events);
  }
  return runs;
}

}  // namespace sagaflow::persistence::testing
