// Crash safety with real processes: a child (store_crash_child) commits
// transitions and reports each acknowledgement; it is killed with SIGKILL at a
// random moment, many times over the same store. After every kill the store is
// reopened and checked: every acknowledged transition is there, and every run
// is whole (no transition half-applied).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <map>
#include <random>
#include <sstream>
#include <vector>

#include "persistence/rocksdb_store.h"
#include "tests/persistence/test_util.h"

namespace sagaflow::persistence {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kThreads = 8;
constexpr int kRunsPerThread = 4;

struct CycleOutcome {
  std::map<std::string, uint64_t>
      acked;  // Highest acknowledged version per run.
  size_t acks = 0;
};

// Runs the child until `kill_after` has passed since its first acknowledgement,
// then SIGKILLs it and collects every whole line it wrote.
CycleOutcome RunChildAndKill(const std::string& dir,
                             const std::string& durability,
                             std::chrono::milliseconds kill_after,
                             int generation) {
  int fds[2];
  EXPECT_EQ(::pipe(fds), 0);
  const std::string bin =
      std::string(SAGAFLOW_TEST_BIN_DIR) + "/store_crash_child";
  const std::string threads = std::to_string(kThreads),
                    runs = std::to_string(kRunsPerThread);
  const std::string gen = std::to_string(generation);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(fds[1], 1);
    ::close(fds[0]);
    ::close(fds[1]);
    ::execl(bin.c_str(), bin.c_str(), dir.c_str(), durability.c_str(),
            threads.c_str(), runs.c_str(), gen.c_str(),
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(fds[1]);
  std::string buffer;
  bool killed = false;
  std::optional<Clock::time_point> deadline;
  const auto give_up = Clock::now() + std::chrono::seconds(30);
  for (;;) {
    if (!killed && deadline && Clock::now() >= *deadline) {
      ::kill(pid, SIGKILL);
      killed = true;
    }
    if (!killed && Clock::now() > give_up) {
      ADD_FAILURE() << "the child acknowledged nothing within 30 s";
      ::kill(pid, SIGKILL);
      killed = true;
    }
    pollfd p{fds[0], POLLIN, 0};
    ::poll(&p, 1, 5);
    if (p.revents & (POLLIN | POLLHUP)) {
      char chunk[65536];
      const ssize_t n = ::read(fds[0], chunk, sizeof chunk);
      if (n <= 0) break;  // EOF: the child is gone.
      buffer.append(chunk, static_cast<size_t>(n));
      if (!deadline && buffer.find('\n') != std::string::npos) {
        deadline = Clock::now() + kill_after;
      }
    }
  }
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
      << "the child exited by itself with status " << status;

  CycleOutcome outcome;
  std::istringstream lines(buffer);
  std::string line;
  while (std::getline(lines, line)) {
    if (lines.eof()) break;  // A line cut by the kill has no newline.
    std::istringstream fields(line);
    std::string tag, run_id;
    uint64_t version = 0;
    fields >> tag >> run_id >> version;
    if (tag != "ACK") continue;
    auto& v = outcome.acked[run_id];
    v = std::max(v, version);
    ++outcome.acks;
  }
  return outcome;
}

// Checks that every run is whole and at least at its acknowledged version.
void VerifyStore(const std::string& dir,
                 const std::map<std::string, uint64_t>& acked) {
  RocksDbOptions options;
  options.path = dir;
  auto opened = RocksDbStore::Open(options);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  RocksDbStore& store = *opened.value();

  std::map<std::string, uint64_t> versions;
  std::map<std::string, RunStatus> statuses;
  std::map<uint64_t, std::string> run_nos;
  // Every run, page by page (a long soak stores tens of thousands).
  std::vector<RunRecord> runs;
  std::string token;
  do {
    auto page = store.ListRuns({}, 1000, token);
    ASSERT_TRUE(page.ok()) << page.status().ToString();
    for (RunRecord& run : page->items) runs.push_back(std::move(run));
    token = page->next_page_token;
  } while (!token.empty());
  for (const RunRecord& run : runs) {
    versions[run.run_id()] = run.version();
    statuses[run.run_id()] = run.status();
    SCOPED_TRACE(run.run_id());
    // Run numbers key history: one reused after a crash would mix two runs'
    // histories.
    auto [other, unique] = run_nos.emplace(run.run_no(), run.run_id());
    EXPECT_TRUE(unique) << "run number " << run.run_no() << " shared with "
                        << other->second;
    EXPECT_EQ(run.checkpoint(), "v=" + std::to_string(run.version()));
    EXPECT_EQ(run.last_event_seq(), 2 * run.version());
    EXPECT_EQ(run.status(), run.version() % 2
                                ? storage::RUN_STATUS_RUNNING
                                : storage::RUN_STATUS_COMPENSATING);
    auto history = store.ReadHistory(run.run_id(), 0, 0);
    ASSERT_TRUE(history.ok());
    ASSERT_EQ(history->size(), 2 * run.version());
    for (size_t i = 0; i < history->size(); ++i)
      EXPECT_EQ((*history)[i].seq(), i + 1);
  }
  for (const auto& [run_id, version] : acked) {
    ASSERT_TRUE(versions.count(run_id))
        << "acknowledged run " << run_id << " is missing";
    EXPECT_GE(versions[run_id], version)
        << "acknowledged transition of " << run_id << " lost";
  }
  // Tasks and timers moved in the same batch as the run record: exactly one of
  // each per run, at the run's version.
  std::map<std::string, int> tasks, timers;
  ASSERT_TRUE(store
                  .ScanTasks([&](const TaskRecord& t) {
                    EXPECT_EQ(t.task_id(),
                              t.run_id() + "-t" +
                                  std::to_string(versions[t.run_id()]));
                    ++tasks[t.run_id()];
                    return true;
                  })
                  .ok());
  ASSERT_TRUE(store
                  .ScanTimers(INT64_MAX,
                              [&](const TimerRecord& t) {
                                EXPECT_EQ(static_cast<uint64_t>(t.due_at_ms()),
                                          versions[t.run_id()])
                                    << t.run_id();
                                ++timers[t.run_id()];
                                return true;
                              })
                  .ok());
  for (const auto& [run_id, version] : versions) {
    EXPECT_EQ(tasks[run_id], 1) << run_id;
    EXPECT_EQ(timers[run_id], 1) << run_id;
  }
  // The status index agrees with the records.
  size_t indexed = 0;
  for (RunStatus s :
       {storage::RUN_STATUS_RUNNING, storage::RUN_STATUS_COMPENSATING}) {
    ASSERT_TRUE(store
                    .ScanRunsByStatus(s,
                                      [&](const RunRecord& r) {
                                        EXPECT_EQ(statuses[r.run_id()], s)
                                            << r.run_id();
                                        ++indexed;
                                        return true;
                                      })
                    .ok());
  }
  EXPECT_EQ(indexed, versions.size());
}

int Cycles(int fallback) {
  const char* env = std::getenv("SAGAFLOW_CRASH_CYCLES");
  return env ? std::max(1, std::atoi(env)) : fallback;
}

void CrashRepeatedly(const std::string& durability, int cycles) {
  const std::string dir = testing::MakeTempDir("crash-" + durability);
  std::mt19937 rng(std::random_device{}());
  std::uniform_int_distribution<int> delay_ms(1, 250);
  std::map<std::string, uint64_t> acked;
  size_t total_acks = 0;
  for (int cycle = 0; cycle < cycles; ++cycle) {
    SCOPED_TRACE("cycle " + std::to_string(cycle));
    CycleOutcome outcome = RunChildAndKill(
        dir, durability, std::chrono::milliseconds(delay_ms(rng)), cycle);
    for (const auto& [run_id, version] : outcome.acked) {
      acked[run_id] = std::max(acked[run_id], version);
    }
    total_acks += outcome.acks;
    VerifyStore(dir, acked);
    if (::testing::Test::HasFailure()) break;
  }
  std::cout << "[ crash ] " << durability << ": " << cycles << " kills, "
            << total_acks << " acknowledged transitions verified over "
            << acked.size() << " runs\n";
  EXPECT_GT(total_acks, 0u);
  testing::RemoveDir(dir);
}

TEST(StoreCrashTest, GroupCommitSurvivesKill9) {
  CrashRepeatedly("group", Cycles(20));
}

TEST(StoreCrashTest, SyncModeSurvivesKill9) {
  CrashRepeatedly("sync", Cycles(6));
}

// Without fsync, a process crash still loses nothing: the data is in the OS
// already.
TEST(StoreCrashTest, NoSyncModeSurvivesProcessKill) {
  CrashRepeatedly("none", Cycles(8));
}

}  // namespace
}  // namespace sagaflow::persistence
