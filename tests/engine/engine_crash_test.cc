// The engine survives kill -9, with real processes: a child
// (engine_crash_child) runs a five-step saga workflow over a RocksDB store for
// a fixed set of runs, one in five built to fail at step 4 and compensate. The
// test SIGKILLs the child at a random moment, many times over the same data
// directory, then lets a last child finish every run, and checks the store and
// the side-effect log the activities appended to:
//  - the store holds exactly the workload's runs (a restart re-issues
//    StartRun with the same client run id; the child checks it answers
//    already_started), each with a gap-free history, ended COMPLETED (good
//    runs) or COMPENSATED with error "Planned" (failing ones);
//  - at-least-once: every step of a COMPLETED run ran ("do"); steps 1-3 of a
//    COMPENSATED run ran and were undone, step 4 failed and step 5 never ran;
//  - order: the steps ran in order (the last execution of step k before the
//    first of step k+1), compensations ran after the step they undo and in
//    reverse order (every undo of step k+1 before the first undo of step k);
//  - no compensation of a step that never completed, none in a COMPLETED run;
//  - each execution of a step (or its compensation) has a fresh attempt number
//    (a re-execution after a crash is a new attempt).
// It reports the kills performed and the duplicate executions (executions of a
// step or compensation beyond the first) caused by the kills.
//
// Knobs (environment):
//   SAGAFLOW_ENGINE_CRASH_CYCLES  kills to perform (default 10); each kill
//                                 lands 50-400 ms after the child's engine is
//                                 open.
//   SAGAFLOW_ENGINE_CRASH_RUNS    runs in the workload (default 100 per
//                                 cycle, at least 300), one in five failing.
//   SAGAFLOW_ENGINE_CRASH_KEEP    when set, the data directory (db/ and
//                                 effects.log) is kept and its path printed.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "persistence/rocksdb_store.h"

namespace sagaflow::engine {
namespace {

using Clock = std::chrono::steady_clock;
using storage::RUN_STATUS_COMPENSATED;
using storage::RUN_STATUS_COMPLETED;

constexpr int kSteps = 5;
constexpr int kFailingStep = 4;
constexpr int kWindow = 24;  // Runs the child keeps unfinished at a time.

int EnvInt(const char* name, int fallback) {
  const char* env = std::getenv(name);
  return env && *env ? std::max(1, std::atoi(env)) : fallback;
}

std::string RunId(int i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "run-%04d", i);
  return buf;
}

bool ShouldFail(int i) { return i % 5 == 3; }  // As in the child.

struct ChildOutcome {
  bool killed = false;     // We SIGKILLed it.
  bool all_done = false;   // It printed ALL_DONE.
  int exit_status = 0;     // waitpid's status.
  size_t done_lines = 0;   // Runs it saw ended (ENDED and DONE lines).
  bool saw_ready = false;  // It printed READY.
};

// Runs the child; with `kill_after`, SIGKILLs it that long after it printed
// READY (unless it ends first). Without, waits up to `give_up` for its end.
ChildOutcome RunChild(const std::string& dir, int runs,
                      std::optional<std::chrono::milliseconds> kill_after,
                      std::chrono::seconds give_up) {
  int fds[2];
  EXPECT_EQ(::pipe(fds), 0);
  const std::string bin =
      std::string(SAGAFLOW_TEST_BIN_DIR) + "/engine_crash_child";
  const std::string runs_arg = std::to_string(runs),
                    window_arg = std::to_string(kWindow);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(fds[1], 1);
    ::close(fds[0]);
    ::close(fds[1]);
    ::execl(bin.c_str(), bin.c_str(), dir.c_str(), runs_arg.c_str(),
            window_arg.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(fds[1]);
  ChildOutcome outcome;
  std::string buffer;
  std::optional<Clock::time_point> deadline;
  const auto stop_waiting = Clock::now() + give_up;
  for (;;) {
    if (!outcome.killed && deadline && Clock::now() >= *deadline) {
      ::kill(pid, SIGKILL);
      outcome.killed = true;
    }
    if (!outcome.killed && Clock::now() > stop_waiting) {
      ADD_FAILURE() << "the child did not "
                    << (kill_after ? "get ready" : "finish") << " within "
                    << give_up.count() << " s";
      ::kill(pid, SIGKILL);
      outcome.killed = true;
    }
    pollfd p{fds[0], POLLIN, 0};
    ::poll(&p, 1, 2);
    if (p.revents & (POLLIN | POLLHUP)) {
      char chunk[65536];
      const ssize_t n = ::read(fds[0], chunk, sizeof chunk);
      if (n <= 0) break;  // EOF: the child is gone.
      buffer.append(chunk, static_cast<size_t>(n));
      if (kill_after && !deadline &&
          buffer.find("READY\n") != std::string::npos) {
        deadline = Clock::now() + *kill_after;
      }
    }
  }
  ::close(fds[0]);
  ::waitpid(pid, &outcome.exit_status, 0);
  std::istringstream lines(buffer);
  std::string line;
  while (std::getline(lines, line)) {
    if (lines.eof()) break;  // Cut by the kill: no newline.
    if (line == "READY") outcome.saw_ready = true;
    if (line == "ALL_DONE") outcome.all_done = true;
    if (line.rfind("DONE ", 0) == 0 || line.rfind("ENDED ", 0) == 0) {
      ++outcome.done_lines;
    }
  }
  return outcome;
}

struct Effect {
  size_t pos = 0;  // Line number in effects.log: the global order.
  std::string kind;
  uint32_t attempt = 0;
};

// Per run, per step (1..5): its executions in log order.
using Effects = std::map<std::string, std::map<int, std::vector<Effect>>>;

Effects ReadEffects(const std::string& path) {
  Effects effects;
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << "cannot read " << path;
  std::string line;
  size_t pos = 0;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string run_id, kind;
    int step = 0;
    uint32_t attempt = 0;
    fields >> run_id >> step >> kind >> attempt;
    EXPECT_TRUE(!fields.fail() && step >= 1 && step <= kSteps &&
                (kind == "do" || kind == "undo" || kind == "fail") &&
                attempt >= 1)
        << "malformed effect line " << pos << ": " << line;
    effects[run_id][step].push_back({pos++, kind, attempt});
  }
  return effects;
}

struct KindSpan {
  size_t count = 0;
  size_t first = SIZE_MAX;
  size_t last = 0;
  std::vector<uint32_t> attempts;
};

KindSpan Span(const std::vector<Effect>& effects, const std::string& kind) {
  KindSpan s;
  for (const Effect& e : effects) {
    if (e.kind != kind) continue;
    ++s.count;
    s.first = std::min(s.first, e.pos);
    s.last = std::max(s.last, e.pos);
    s.attempts.push_back(e.attempt);
  }
  return s;
}

struct Totals {
  size_t duplicate_do = 0;    // "do" executions beyond the first per step.
  size_t duplicate_undo = 0;  // "undo" executions beyond the first per step.
  size_t lost_attempts = 0;   // History events naming WorkerLost.
};

// Checks one run's side effects against its final status.
void VerifyRunEffects(const std::string& run_id, bool failing,
                      const std::map<int, std::vector<Effect>>& steps,
                      Totals* totals) {
  SCOPED_TRACE(run_id);
  std::map<int, KindSpan> dos, undos, fails;
  for (int k = 1; k <= kSteps; ++k) {
    auto it = steps.find(k);
    static const std::vector<Effect> kNone;
    const auto& list = it == steps.end() ? kNone : it->second;
    dos[k] = Span(list, "do");
    undos[k] = Span(list, "undo");
    fails[k] = Span(list, "fail");
    // A re-execution is a new attempt: attempt numbers only grow.
    for (const KindSpan* s : {&dos[k], &undos[k]}) {
      for (size_t i = 1; i < s->attempts.size(); ++i) {
        EXPECT_LT(s->attempts[i - 1], s->attempts[i])
            << "step " << k << ": an attempt number ran twice";
      }
    }
    if (dos[k].count > 1) totals->duplicate_do += dos[k].count - 1;
    if (undos[k].count > 1) totals->duplicate_undo += undos[k].count - 1;
  }
  const int last_done = failing ? kFailingStep - 1 : kSteps;
  for (int k = 1; k <= kSteps; ++k) {
    if (k <= last_done) {
      EXPECT_GE(dos[k].count, 1u) << "step " << k << " never ran";
    } else {
      EXPECT_EQ(dos[k].count, 0u) << "step " << k << " completed";
    }
    if (k < last_done && dos[k].count && dos[k + 1].count) {
      EXPECT_LT(dos[k].last, dos[k + 1].first)
          << "step " << k << " ran after step " << k + 1 << " began";
    }
    EXPECT_EQ(fails[k].count != 0, failing && k == kFailingStep)
        << "step " << k << " failed " << fails[k].count << " times";
    if (failing && k <= last_done) {
      EXPECT_GE(undos[k].count, 1u) << "step " << k << " was not compensated";
      if (undos[k].count && dos[k].count) {
        EXPECT_LT(dos[k].last, undos[k].first)
            << "step " << k << " compensated before (or while) it ran";
      }
    } else {
      // Never compensate a step that did not complete, nor a completed run.
      EXPECT_EQ(undos[k].count, 0u) << "step " << k << " compensated";
    }
  }
  if (failing) {
    EXPECT_GE(fails[kFailingStep].count, 1u);
    const size_t fail_last = fails[kFailingStep].last;
    if (dos[last_done].count && fails[kFailingStep].count) {
      EXPECT_LT(dos[last_done].last, fails[kFailingStep].first)
          << "step 4 ran before step 3 ended";
    }
    // Compensation starts after step 4 failed, then goes s3, s2, s1.
    if (undos[last_done].count) {
      EXPECT_LT(fail_last, undos[last_done].first)
          << "compensation began before step 4 failed";
    }
    for (int k = last_done; k > 1; --k) {
      if (undos[k].count && undos[k - 1].count) {
        EXPECT_LT(undos[k].last, undos[k - 1].first)
            << "step " << k - 1 << " compensated before step " << k
            << "'s compensation ended";
      }
    }
  }
}

void VerifyStore(const std::string& dir, int runs, Totals* totals) {
  persistence::RocksDbOptions options;
  options.path = dir + "/db";
  auto opened = persistence::RocksDbStore::Open(options);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  persistence::RocksDbStore& store = *opened.value();

  std::set<std::string> expected;
  for (int i = 0; i < runs; ++i) expected.insert(RunId(i));
  // No run beyond the workload (a restart never starts a second run).
  size_t listed = 0;
  std::string token;
  do {
    auto page = store.ListRuns({}, 1000, token);
    ASSERT_TRUE(page.ok()) << page.status().ToString();
    for (const auto& run : page->items) {
      EXPECT_TRUE(expected.count(run.run_id()))
          << "unexpected run " << run.run_id();
      ++listed;
    }
    token = page->next_page_token;
  } while (!token.empty());
  EXPECT_EQ(listed, expected.size());

  const Effects effects = ReadEffects(dir + "/effects.log");
  for (const auto& [run_id, steps] : effects) {
    EXPECT_TRUE(expected.count(run_id)) << "effects of unknown run " << run_id;
  }
  for (int i = 0; i < runs; ++i) {
    const std::string id = RunId(i);
    SCOPED_TRACE(id);
    auto run = store.GetRun(id);
    ASSERT_TRUE(run.ok()) << run.status().ToString();
    const bool failing = ShouldFail(i);
    EXPECT_EQ(run->status(),
              failing ? RUN_STATUS_COMPENSATED : RUN_STATUS_COMPLETED)
        << storage::RunStatus_Name(run->status()) << " " << run->error() << ": "
        << run->error_message();
    if (failing) {
      EXPECT_EQ(run->error(), "Planned");
    }
    auto history = store.ReadHistory(id, 0, 0);
    ASSERT_TRUE(history.ok()) << history.status().ToString();
    for (size_t e = 0; e < history->size(); ++e) {
      EXPECT_EQ((*history)[e].seq(), e + 1);
      if ((*history)[e].detail_json().find("WorkerLost") != std::string::npos)
        ++totals->lost_attempts;
    }
    auto it = effects.find(id);
    VerifyRunEffects(
        id, failing,
        it == effects.end() ? std::map<int, std::vector<Effect>>{} : it->second,
        totals);
  }
}

TEST(EngineCrashTest, SagasSurviveKill9) {
  const int cycles = EnvInt("SAGAFLOW_ENGINE_CRASH_CYCLES", 10);
  // About 100 runs end in each life of the child: enough runs that the
  // workload lasts through every kill.
  const int runs =
      EnvInt("SAGAFLOW_ENGINE_CRASH_RUNS", std::max(300, 100 * cycles));
  std::string base =
      std::filesystem::temp_directory_path() / "sagaflow-engine-crash-XXXXXX";
  std::vector<char> buf(base.begin(), base.end());
  buf.push_back('\0');
  ASSERT_NE(::mkdtemp(buf.data()), nullptr);
  const std::string dir = buf.data();

  const auto started = Clock::now();
  std::mt19937 rng(std::random_device{}());
  std::uniform_int_distribution<int> delay_ms(50, 400);
  int kills = 0;
  std::string progress;  // Runs awaited in each killed life of the child.
  bool finished_early = false;
  for (int cycle = 0; cycle < cycles; ++cycle) {
    SCOPED_TRACE("cycle " + std::to_string(cycle));
    ChildOutcome outcome =
        RunChild(dir, runs, std::chrono::milliseconds(delay_ms(rng)),
                 std::chrono::seconds(30));
    ASSERT_TRUE(outcome.saw_ready) << "status " << outcome.exit_status;
    progress +=
        (progress.empty() ? "" : " ") + std::to_string(outcome.done_lines);
    if (outcome.killed) {
      EXPECT_TRUE(WIFSIGNALED(outcome.exit_status) &&
                  WTERMSIG(outcome.exit_status) == SIGKILL)
          << "status " << outcome.exit_status;
      ++kills;
    } else {
      // It ended by itself before the kill: every run has ended.
      ASSERT_TRUE(WIFEXITED(outcome.exit_status) &&
                  WEXITSTATUS(outcome.exit_status) == 0)
          << "the child failed with status " << outcome.exit_status;
      EXPECT_TRUE(outcome.all_done);
      finished_early = true;
      break;
    }
  }
  // The last life: no kill, every run ends.
  ChildOutcome last =
      RunChild(dir, runs, std::nullopt, std::chrono::seconds(90));
  ASSERT_TRUE(WIFEXITED(last.exit_status) && WEXITSTATUS(last.exit_status) == 0)
      << "the last child failed with status " << last.exit_status;
  EXPECT_TRUE(last.all_done);

  Totals totals;
  VerifyStore(dir, runs, &totals);
  const double seconds =
      std::chrono::duration<double>(Clock::now() - started).count();
  std::cout << "[ crash ] engine: " << kills << " kills"
            << (finished_early ? " (the workload ended before the last cycle)"
                               : "")
            << ", " << runs << " runs, " << totals.duplicate_do
            << " duplicate step executions, " << totals.duplicate_undo
            << " duplicate compensations, " << totals.lost_attempts
            << " WorkerLost events, " << seconds
            << " s; runs ended at each kill: " << progress << "\n";
  ::testing::Test::RecordProperty("kills", kills);
  ::testing::Test::RecordProperty("duplicate_do",
                                  static_cast<int>(totals.duplicate_do));
  ::testing::Test::RecordProperty("duplicate_undo",
                                  static_cast<int>(totals.duplicate_undo));
  ::testing::Test::RecordProperty("worker_lost",
                                  static_cast<int>(totals.lost_attempts));
  EXPECT_GT(kills, 0);

  if (std::getenv("SAGAFLOW_ENGINE_CRASH_KEEP") || HasFailure()) {
    std::cout << "[ crash ] data kept in " << dir << "\n";
  } else {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
}

}  // namespace
}  // namespace sagaflow::engine
