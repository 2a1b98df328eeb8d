// Builders shared by the persistence tests.
#ifndef SAGAFLOW_TESTS_PERSISTENCE_TEST_UTIL_H_
#define SAGAFLOW_TESTS_PERSISTENCE_TEST_UTIL_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "persistence/rocksdb_store.h"
#include "persistence/store.h"

namespace sagaflow::persistence::testing {

// A unique empty directory under the system temp dir; removed by RemoveDir.
std::string MakeTempDir(const std::string& tag);
void RemoveDir(const std::string& dir);

HistoryEventRecord Event(uint64_t seq, int type = 1,
                         const std::string& step = "");

// A transition creating run `id` of `workflow`, with `events` history events
// from seq 1.
Transition CreateRun(const std::string& id, const std::string& workflow,
                     int64_t created_at_ms, int events = 1);
// A transition moving run `id` to `status` and appending events continuing
// after `last_seq`.
Transition UpdateRun(const std::string& id, RunStatus status, uint64_t last_seq,
                     int events = 1, int64_t now_ms = 0);

// Polls `condition` (every millisecond) until it holds or `timeout` passes;
// returns whether it held. For states a test cannot be told about directly.
bool Eventually(const std::function<bool()>& condition,
                std::chrono::milliseconds timeout = std::chrono::seconds(20));

// Every run the store lists (all pages, newest first), by id.
std::map<std::string, RunRecord> AllRuns(Store& store);

// Checks (with gtest expectations) that every run is whole: its history has
// exactly last_event_seq events numbered 1..n, the status index lists it
// under its status, every index holds one entry per run and no history event
// lies outside the runs' histories. Returns the runs.
std::map<std::string, RunRecord> ExpectWholeStore(RocksDbStore& store);

}  // namespace sagaflow::persistence::testing

#endif  // SAGAFLOW_TESTS_PERSISTENCE_TEST_UTIL_H_
