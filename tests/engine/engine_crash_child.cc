// Child process of engine_crash_test: runs the engine over a RocksDB store
// (group durability) and drives a fixed set of saga runs to their end, until
// it is killed or every run has ended.
//
// The workflow "crash_saga" has five task steps s1..s5, each running the
// in-process activity "crash.effect" and compensated by the same activity. The
// activity appends one line per execution to DIR/effects.log, with a single
// write(2) on an O_APPEND descriptor (so the line is in the kernel before the
// activity returns, and a SIGKILL never cuts it):
//   RUN_ID STEP do|undo|fail ATTEMPT
// STEP is the step's number (1..5). Step 4 of a run whose input has
// "fail": true fails with a non-retryable error (line "fail"), so the run
// compensates s3, s2, s1. Run "run-NNNN" fails when NNNN % 5 == 3.
//
// The child starts the runs "run-0000".."run-<RUNS-1>" in order with their
// client run ids, keeping at most WINDOW runs unfinished at a time (so that a
// kill costs an attempt to a bounded number of runs). After a restart, runs
// that had ended are skipped and runs under way are started again, which must
// answer already_started (exit status 5 otherwise). It prints to stdout, one
// write per line:
//   READY                  the engine is open (recovery has begun)
//   ENDED RUN_ID STATUS    the run had ended in an earlier life
//   DONE RUN_ID STATUS     the run was awaited and has ended
//   ALL_DONE               every run has ended; the child then exits 0
//
// Usage: engine_crash_child DIR RUNS WINDOW
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <memory>
#include <random>
#include <string>
#include <thread>

#include "activities/registry.h"
#include "engine/engine.h"
#include "persistence/rocksdb_store.h"

using namespace sagaflow;

namespace {

void Print(const std::string& line) {
  // One write per line: lines stay whole in the pipe when the process dies.
  (void)!::write(1, line.data(), line.size());
}

class EffectActivity : public activities::Activity {
 public:
  explicit EffectActivity(int fd) : fd_(fd) {}

  activities::ActivityResult Run(
      const activities::Json& input,
      const activities::ActivityContext& c) override {
    const bool fail =
        !c.is_compensation && input.is_object() && input.value("fail", false);
    const std::string step = c.step.size() > 1 ? c.step.substr(1) : c.step;
    const std::string line = c.run_id + " " + step + " " +
                             (c.is_compensation ? "undo"
                              : fail            ? "fail"
                                                : "do") +
                             " " + std::to_string(c.attempt) + "\n";
    if (::write(fd_, line.data(), line.size()) !=
        static_cast<ssize_t>(line.size())) {
      std::perror("write effects.log");
      std::_Exit(4);
    }
    // Some work after the side effect: a kill lands here too, between the
    // effect and the commit of its completion (a duplicate execution).
    thread_local std::minstd_rand rng(std::random_device{}());
    std::this_thread::sleep_for(std::chrono::microseconds(1000 + rng() % 3000));
    if (fail) {
      return activities::ActivityError{"Planned", "step 4 fails on purpose",
                                       /*non_retryable=*/true};
    }
    return activities::Json{{"step", c.step}, {"attempt", c.attempt}};
  }

 private:
  int fd_;
};

std::string Definition() {
  const std::string retry =
      R"("retry": {"max_attempts": 20, "initial_interval": "10ms",)"
      R"( "backoff_coefficient": 1.5, "max_interval": "100ms"})";
  std::string steps;
  for (int i = 1; i <= 5; ++i) {
    const std::string name = "s" + std::to_string(i);
    const std::string input =
        i == 4 ? R"({"fail": "$.input.fail"})" : R"({"fail": false})";
    if (i > 1) steps += ",\n";
    steps +=
        "\"" + name +
        R"(": {"type": "task", "activity": "crash.effect", "input": )" + input +
        R"(, "timeout": "10s", )" + retry +
        R"(, "compensate": {"activity": "crash.effect", "input": {"undo": true}, "timeout": "10s", )" +
        retry + "}";
    if (i < 5) steps += R"(, "next": "s)" + std::to_string(i + 1) + "\"";
    steps += "}";
  }
  return R"({"name": "crash_saga", "start_at": "s1", "steps": {)" + steps +
         "}}";
}

std::string RunId(int i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "run-%04d", i);
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s DIR RUNS WINDOW\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  const int runs = std::atoi(argv[2]);
  const size_t window = static_cast<size_t>(std::max(1, std::atoi(argv[3])));

  const int fd = ::open((dir + "/effects.log").c_str(),
                        O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) {
    std::perror("open effects.log");
    return 1;
  }
  persistence::RocksDbOptions store_options;
  store_options.path = dir + "/db";
  store_options.durability = persistence::Durability::kGroup;
  auto opened = persistence::RocksDbStore::Open(store_options);
  if (!opened.ok()) {
    std::fprintf(stderr, "store open: %s\n",
                 opened.status().ToString().c_str());
    return 1;
  }
  std::unique_ptr<persistence::RocksDbStore> store = std::move(opened).value();

  auto registry = std::make_unique<activities::ActivityRegistry>(
      activities::ActivityRegistry::WithBuiltins());
  if (Status s = registry->Register("crash.effect",
                                    std::make_unique<EffectActivity>(fd));
      !s.ok()) {
    std::fprintf(stderr, "register activity: %s\n", s.ToString().c_str());
    return 1;
  }
  engine::EngineOptions options;
  options.partitions = 2;
  options.agent_threads = 4;
  auto engine_or = engine::Engine::Open(store.get(), registry.get(), options);
  if (!engine_or.ok()) {
    std::fprintf(stderr, "engine open: %s\n",
                 engine_or.status().ToString().c_str());
    return 1;
  }
  std::unique_ptr<engine::Engine> engine = std::move(engine_or).value();
  // Registering the same definition again returns the same version.
  auto registered = engine->RegisterWorkflow(Definition());
  if (!registered.ok()) {
    std::fprintf(stderr, "register workflow: %s\n",
                 registered.status().ToString().c_str());
    return 1;
  }
  Print("READY\n");

  std::deque<std::string> pending;
  auto await_front = [&]() {
    const std::string id = pending.front();
    pending.pop_front();
    auto run = engine->AwaitRun(id, Duration(60'000));
    if (!run.ok()) {
      std::fprintf(stderr, "await %s: %s\n", id.c_str(),
                   run.status().ToString().c_str());
      std::_Exit(3);
    }
    Print("DONE " + id + " " + storage::RunStatus_Name(run->status()) + "\n");
  };
  for (int i = 0; i < runs; ++i) {
    engine::StartRunRequest request;
    request.workflow = "crash_saga";
    request.run_id = RunId(i);
    request.input_json =
        std::string(R"({"fail": )") + (i % 5 == 3 ? "true" : "false") + "}";
    // A run that ended in an earlier life is only reported; one that was
    // under way is started again, which must find it (the engine recovered
    // it).
    auto existing = engine->GetRun(request.run_id);
    if (existing.ok() && persistence::IsEndedStatus(existing->status())) {
      Print("ENDED " + request.run_id + " " +
            storage::RunStatus_Name(existing->status()) + "\n");
      continue;
    }
    auto started = engine->StartRun(request);
    if (!started.ok()) {
      std::fprintf(stderr, "start %s: %s\n", request.run_id.c_str(),
                   started.status().ToString().c_str());
      std::_Exit(1);
    }
    if (existing.ok() && !started->already_started) {
      std::fprintf(stderr, "start %s: a second run (already_started false)\n",
                   request.run_id.c_str());
      std::_Exit(5);
    }
    pending.push_back(request.run_id);
    if (pending.size() >= window) await_front();
  }
  while (!pending.empty()) await_front();
  Print("ALL_DONE\n");
  engine->Shutdown();
  engine.reset();
  store.reset();
  ::close(fd);
  return 0;
}
