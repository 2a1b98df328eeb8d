// Child process of store_crash_test: commits transitions forever from several
// threads and prints "ACK <run_id> <version>" after each acknowledged commit,
// until it is killed.
//
// Every transition of run R from version V to V+1 appends events 2V+1 and 2V+2,
// replaces task "R-t<V>" by "R-t<V+1>" and timer (V, "R-timer") by (V+1,
// "R-timer"), sets the checkpoint to "v=<V+1>" and alternates the status. The
// test checks exactly these invariants after a kill.
//
// Every 25 commits a thread also creates a new run (named after GENERATION, the
// test's cycle), so that run numbers are allocated in every life of the store.
//
// Usage: store_crash_child DIR DURABILITY THREADS RUNS_PER_THREAD GENERATION
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "persistence/rocksdb_store.h"

using namespace sagaflow;
using namespace sagaflow::persistence;

namespace {

std::mutex out_mu;

void Ack(const std::string& run_id, uint64_t version) {
  const std::string line =
      "ACK " + run_id + " " + std::to_string(version) + "\n";
  std::lock_guard<std::mutex> lock(out_mu);
  // One write per line: lines stay whole in the pipe even when the process dies
  // mid-stream.
  (void)!::write(1, line.data(), line.size());
}

HistoryEventRecord Event(uint64_t seq) {
  HistoryEventRecord e;
  e.set_seq(seq);
  e.set_time_ms(static_cast<int64_t>(seq));
  e.set_type(4);
  e.set_detail_json("{\"seq\":" + std::to_string(seq) + ",\"pad\":\"" +
                    std::string(64, 'x') + "\"}");
  return e;
}

Transition Next(const std::string& id, uint64_t version) {
  // `version` is the run's current version (0: it does not exist yet).
  Transition t;
  t.create = version == 0;
  if (!t.create) t.expected_version = version;
  const uint64_t next = version + 1;
  t.run.set_run_id(id);
  t.run.set_workflow("crash");
  t.run.set_workflow_version(1);
  t.run.set_status(next % 2 ? storage::RUN_STATUS_RUNNING
                            : storage::RUN_STATUS_COMPENSATING);
  t.run.set_created_at_ms(1000);
  t.run.set_updated_at_ms(static_cast<int64_t>(1000 + next));
  t.run.set_checkpoint("v=" + std::to_string(next));
  t.events.push_back(Event(2 * version + 1));
  t.events.push_back(Event(2 * version + 2));
  TaskRecord& task = t.put_tasks.emplace_back();
  task.set_task_id(id + "-t" + std::to_string(next));
  task.set_run_id(id);
  TimerRecord& timer = t.put_timers.emplace_back();
  timer.set_timer_id(id + "-timer");
  timer.set_run_id(id);
  timer.set_due_at_ms(static_cast<int64_t>(next));
  if (version > 0) {
    t.delete_tasks.push_back(id + "-t" + std::to_string(version));
    t.delete_timers.push_back(
        TimerKey{static_cast<int64_t>(version), id + "-timer"});
  }
  return t;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 6) {
    std::fprintf(
        stderr, "usage: %s DIR DURABILITY THREADS RUNS_PER_THREAD GENERATION\n",
        argv[0]);
    return 2;
  }
  RocksDbOptions options;
  options.path = argv[1];
  options.durability = ParseDurability(argv[2]).value_or(Durability::kGroup);
  options.write_buffer_bytes =
      1 << 20;  // Small memtables: flushes happen during the test too.
  const int threads = std::atoi(argv[3]);
  const int runs_per_thread = std::atoi(argv[4]);
  const std::string generation = argv[5];
  auto opened = RocksDbStore::Open(options);
  if (!opened.ok()) {
    std::fprintf(stderr, "open: %s\n", opened.status().ToString().c_str());
    return 1;
  }
  std::unique_ptr<RocksDbStore> store = std::move(opened).value();
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      std::vector<std::string> ids;
      std::vector<uint64_t> versions;
      for (int r = 0; r < runs_per_thread; ++r) {
        ids.push_back("run-" + std::to_string(t) + "-" + std::to_string(r));
        auto run = store->GetRun(ids.back());
        versions.push_back(run.ok() ? run->version() : 0);
      }
      for (size_t i = 0, n = 0;; i = (i + 1) % ids.size(), ++n) {
        if (n % 25 == 24) {
          const std::string fresh = "g" + generation + "-" + std::to_string(t) +
                                    "-" + std::to_string(n);
          auto created = store->Commit(Next(fresh, 0));
          if (!created.ok()) {
            std::fprintf(stderr, "create %s: %s\n", fresh.c_str(),
                         created.status().ToString().c_str());
            std::_Exit(1);
          }
          Ack(fresh, 1);
        }
        auto committed = store->Commit(Next(ids[i], versions[i]));
        if (!committed.ok()) {
          std::fprintf(stderr, "commit %s: %s\n", ids[i].c_str(),
                       committed.status().ToString().c_str());
          std::_Exit(1);
        }
        versions[i] = committed->version;
        Ack(ids[i], versions[i]);
      }
    });
  }
  for (auto& w : workers) w.join();
  return 0;
}
