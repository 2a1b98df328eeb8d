// sagaflow-remote-bench: throughput and latency of remote workers through the
// gRPC server (docs/WORKERS.md, "Benchmark").
//
// Starts build/bin/sagaflowd (the one next to this binary) on a fresh data
// directory unless --server is given, registers a workflow of K sequential
// task steps of activity `bench.step`, starts W worker processes (this binary
// in --worker-mode, each a sagaflow::worker::Worker with concurrency C), runs N
// runs with a bounded number in flight and waits for each to end (WatchRun,
// or GetRun polling with --completion poll). Prints one JSON object, or an
// array with --workers-sweep.
//
// Latencies: schedule-to-start from history (STEP_SCHEDULED time to
// STEP_STARTED time; the server stamps events in milliseconds) for a sample of
// runs read with GetHistory; poll-to-complete as the workers see it (PollTask
// returning a task to CompleteTask returning OK), collected from a file per
// worker and restricted to the measured interval.
#include <fcntl.h>
#include <grpcpp/grpcpp.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench/stats.h"
#include "sagaflow/v1/workflow_service.grpc.pb.h"
#include "worker/worker.h"

namespace {

namespace v1 = ::sagaflow::v1;
namespace fs = std::filesystem;
using nlohmann::json;
using SteadyClock = std::chrono::steady_clock;

constexpr char kWorkflow[] = "remote_bench";
constexpr char kActivity[] = "bench.step";

int64_t UnixMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string SelfExe() {
  std::error_code ec;
  const fs::path p = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string() : p.string();
}

// utime + stime of a process, in seconds (from /proc/PID/stat).
double ProcessCpuSeconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)),
                   std::istreambuf_iterator<char>());
  const size_t close = text.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream fields(text.substr(close + 2));
  std::string f;
  double utime = 0, stime = 0;
  // After "pid (comm) ", field 3 is state; utime and stime are fields 14, 15.
  for (int i = 3; i <= 15 && fields >> f; ++i) {
    if (i == 14) utime = std::stod(f);
    if (i == 15) stime = std::stod(f);
  }
  return (utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

std::string Definition(int steps) {
  json def;
  def["name"] = kWorkflow;
  def["description"] = "sagaflow-remote-bench: sequential remote task steps";
  def["start_at"] = "s1";
  def["timeout"] = "1h";
  def["defaults"] = {{"timeout", "60s"}, {"retry", {{"max_attempts", 3}}}};
  json all = json::object();
  for (int i = 1; i <= steps; ++i) {
    json step = {{"type", "task"}, {"activity", kActivity}};
    if (i < steps) step["next"] = "s" + std::to_string(i + 1);
    all["s" + std::to_string(i)] = step;
  }
  def["steps"] = all;
  return def.dump();
}

// fork + exec of argv[0] with argv; stdout/stderr to `log` when not empty.
pid_t Spawn(const std::vector<std::string>& args, const std::string& log) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const pid_t pid = fork();
  if (pid < 0) {
    std::perror("fork");
    return -1;
  }
  if (pid == 0) {
    // Only async-signal-safe calls between fork and exec.
    sigset_t none;
    sigemptyset(&none);
    pthread_sigmask(SIG_SETMASK, &none, nullptr);
    prctl(PR_SET_PDEATHSIG, SIGTERM);  // do not outlive a killed bench
    if (!log.empty()) {
      const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (fd >= 0) {
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
        close(fd);
      }
    }
    execv(argv[0], argv.data());
    _exit(127);
  }
  return pid;
}

// SIGTERM, then SIGKILL after `grace`. Returns the wait status, or -1.
int StopProcess(pid_t pid, std::chrono::milliseconds grace) {
  if (pid <= 0) return -1;
  kill(pid, SIGTERM);
  const auto until = SteadyClock::now() + grace;
  int status = 0;
  while (true) {
    const pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) return status;
    if (r < 0) return -1;
    if (SteadyClock::now() >= until) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  kill(pid, SIGKILL);
  waitpid(pid, &status, 0);
  return status;
}

// ---------------------------------------------------------------- worker mode

int RunWorkerMode(const std::string& server, int concurrency,
                  const std::string& worker_id, const std::string& stats_file) {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  std::mutex mu;
  std::vector<std::pair<int64_t, int64_t>> samples;  // (end unix us, us)
  samples.reserve(1 << 16);
  uint64_t not_reported = 0;

  sagaflow::worker::WorkerOptions options;
  options.server = server;
  options.concurrency = concurrency;
  options.worker_id = worker_id;
  options.poll_wait = std::chrono::seconds(5);
  options.on_task_done = [&](const sagaflow::worker::TaskReport& r) {
    const int64_t now = UnixMicros();
    std::lock_guard<std::mutex> lock(mu);
    if (r.report.ok() && r.result->ok()) {
      samples.emplace_back(now, r.poll_to_report.count());
    } else {
      ++not_reported;
    }
  };
  sagaflow::worker::Worker worker(options);
  const sagaflow::Status registered = worker.Register(
      kActivity,
      [](const sagaflow::worker::Task&, sagaflow::worker::TaskContext&) {
        return sagaflow::worker::ActivityResult::Ok("{}");
      });
  if (!registered.ok()) {
    std::cerr << registered.ToString() << "\n";
    return 1;
  }

  std::atomic<bool> done{false};
  std::thread signal_thread([&] {
    while (true) {
      int sig = 0;
      if (sigwait(&signals, &sig) != 0) continue;
      if (done) return;
      if (sig != SIGUSR1) worker.Stop();
    }
  });
  const sagaflow::Status status = worker.Run();
  done = true;
  pthread_kill(signal_thread.native_handle(), SIGUSR1);
  signal_thread.join();

  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  const double cpu =
      static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
      static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) /
          1e6;
  json out;
  out["samples"] = samples;
  out["not_reported"] = not_reported;
  out["cpu_seconds"] = cpu;
  const std::string tmp = stats_file + ".tmp";
  {
    std::ofstream f(tmp);
    f << out.dump();
  }
  std::rename(tmp.c_str(), stats_file.c_str());
  if (!status.ok()) {
    std::cerr << worker_id << ": " << status.ToString() << "\n";
    return 1;
  }
  return 0;
}

// ------------------------------------------------------------- the driver

bool Terminal(v1::RunStatus s) {
  return s == v1::RUN_STATUS_COMPLETED || s == v1::RUN_STATUS_FAILED ||
         s == v1::RUN_STATUS_COMPENSATED ||
         s == v1::RUN_STATUS_COMPENSATION_FAILED ||
         s == v1::RUN_STATUS_CANCELLED || s == v1::RUN_STATUS_SUSPENDED;
}

// Starts runs with a bounded number in flight and learns of their end from
// WatchRun streams (callback API); runs whose stream fails are checked with
// GetRun by the driver thread.
class Driver {
 public:
  // Gives up when no run ends for `stall_timeout`.
  Driver(v1::WorkflowService::Stub* stub, bool watch,
         std::chrono::seconds stall_timeout)
      : stub_(stub), watch_(watch), stall_timeout_(stall_timeout) {}

  struct Outcome {
    uint64_t completed = 0;
    uint64_t failed = 0;
    std::vector<std::string> completed_ids;
    std::string first_error;
    // Runs still going when the driver gave up; their calls may still be
    // outstanding, so a stalled Driver must not be destroyed.
    int stalled = 0;
  };

  Outcome RunBatch(int runs, int in_flight, int first_index) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      outcome_ = Outcome();
      pending_ = 0;
      last_end_ = SteadyClock::now();
    }
    for (int i = 0; i < runs; ++i) {
      while (true) {
        std::unique_lock<std::mutex> lock(mu_);
        if (pending_ < in_flight) {
          ++pending_;
          break;
        }
        if (!Wait(lock)) return Stalled(lock);
      }
      Start(first_index + i);
    }
    while (true) {
      std::unique_lock<std::mutex> lock(mu_);
      if (pending_ == 0) break;
      if (!Wait(lock)) return Stalled(lock);
    }
    std::lock_guard<std::mutex> lock(mu_);
    return outcome_;
  }

 private:
  // Waits a little for runs to end, checking runs without a watch stream;
  // false when no run ended for stall_timeout_.
  bool Wait(std::unique_lock<std::mutex>& lock) {
    cv_.wait_for(lock, std::chrono::milliseconds(20));
    if (SteadyClock::now() - last_end_ > stall_timeout_) return false;
    lock.unlock();
    PollUnwatched();
    lock.lock();
    return true;
  }

  Outcome Stalled(std::unique_lock<std::mutex>& lock) {
    outcome_.stalled = pending_;
    outcome_.first_error = "no run ended for " +
                           std::to_string(stall_timeout_.count()) + " s; " +
                           std::to_string(pending_) + " runs unfinished";
    (void)lock;
    return outcome_;
  }

  struct StartCall {
    grpc::ClientContext ctx;
    v1::StartRunRequest request;
    v1::StartRunResponse response;
  };

  class Watch : public grpc::ClientReadReactor<v1::HistoryEvent> {
   public:
    Watch(Driver* driver, std::string run_id)
        : driver_(driver), run_id_(std::move(run_id)) {
      ctx_.set_deadline(std::chrono::system_clock::now() +
                        std::chrono::minutes(10));
      request_.set_run_id(run_id_);
      driver_->stub_->async()->WatchRun(&ctx_, &request_, this);
      StartRead(&event_);
      StartCall();
    }
    void OnReadDone(bool ok) override {
      if (!ok) return;
      last_ = event_.type();
      StartRead(&event_);
    }
    void OnDone(const grpc::Status& s) override {
      if (s.ok() && last_ == v1::EVENT_TYPE_RUN_COMPLETED) {
        driver_->Finish(run_id_, true, "");
      } else if (s.ok() && last_ != v1::EVENT_TYPE_UNSPECIFIED) {
        driver_->Finish(run_id_, false,
                        "run ended with event " + v1::EventType_Name(last_));
      } else {
        // The stream broke (or WatchRun is missing): ask GetRun instead.
        driver_->Unwatched(run_id_, s);
      }
      delete this;
    }

   private:
    Driver* driver_;
    std::string run_id_;
    grpc::ClientContext ctx_;
    v1::WatchRunRequest request_;
    v1::HistoryEvent event_;
    v1::EventType last_ = v1::EVENT_TYPE_UNSPECIFIED;
  };

  void Start(int index) {
    auto* call = new StartCall;
    call->ctx.set_deadline(std::chrono::system_clock::now() +
                           std::chrono::seconds(60));
    call->request.set_workflow(kWorkflow);
    call->request.set_input_json(json{{"i", index}}.dump());
    stub_->async()->StartRun(&call->ctx, &call->request, &call->response,
                             [this, call](grpc::Status s) {
                               if (!s.ok()) {
                                 Finish("", false,
                                        "StartRun: " + s.error_message());
                               } else if (watch_) {
                                 new Watch(this, call->response.run_id());
                               } else {
                                 std::lock_guard<std::mutex> lock(mu_);
                                 unwatched_.push_back(call->response.run_id());
                               }
                               delete call;
                             });
  }

  void Finish(const std::string& run_id, bool completed,
              const std::string& error) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (completed) {
        ++outcome_.completed;
        outcome_.completed_ids.push_back(run_id);
      } else {
        ++outcome_.failed;
        if (outcome_.first_error.empty()) {
          outcome_.first_error = run_id + ": " + error;
        }
      }
      --pending_;
      last_end_ = SteadyClock::now();
    }
    cv_.notify_all();
  }

  void Unwatched(const std::string& run_id, const grpc::Status& s) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!watch_failed_logged_) {
        watch_failed_logged_ = true;
        std::cerr << "sagaflow-remote-bench: WatchRun: code "
                  << static_cast<int>(s.error_code()) << " "
                  << s.error_message() << "; falling back to GetRun\n";
      }
      unwatched_.push_back(run_id);
    }
    cv_.notify_all();
  }

  // One GetRun per run that has no watch stream; runs still going are kept.
  void PollUnwatched() {
    std::deque<std::string> ids;
    {
      std::lock_guard<std::mutex> lock(mu_);
      ids.swap(unwatched_);
    }
    std::deque<std::string> keep;
    for (const std::string& id : ids) {
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(10));
      v1::GetRunRequest request;
      request.set_run_id(id);
      v1::Run run;
      const grpc::Status s = stub_->GetRun(&ctx, request, &run);
      if (s.ok() && Terminal(run.status())) {
        Finish(id, run.status() == v1::RUN_STATUS_COMPLETED,
               "run ended " + v1::RunStatus_Name(run.status()) + " " +
                   run.error() + " " + run.error_message());
      } else if (!s.ok() && s.error_code() != grpc::StatusCode::UNAVAILABLE &&
                 s.error_code() != grpc::StatusCode::DEADLINE_EXCEEDED) {
        Finish(id, false, "GetRun: " + s.error_message());
      } else {
        keep.push_back(id);
      }
    }
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& id : keep) unwatched_.push_back(std::move(id));
  }

  v1::WorkflowService::Stub* stub_;
  const bool watch_;
  const std::chrono::seconds stall_timeout_;
  std::mutex mu_;
  SteadyClock::time_point last_end_;
  std::condition_variable cv_;
  int pending_ = 0;
  Outcome outcome_;
  std::deque<std::string> unwatched_;
  bool watch_failed_logged_ = false;
};

double EventMillis(const v1::HistoryEvent& e) {
  return static_cast<double>(e.time().seconds()) * 1000.0 +
         static_cast<double>(e.time().nanos()) / 1e6;
}

// STEP_SCHEDULED -> STEP_STARTED of each step attempt, in ms, for `sample`
// runs spread over `ids`.
std::vector<double> ScheduleToStart(v1::WorkflowService::Stub* stub,
                                    const std::vector<std::string>& ids,
                                    int sample, int* sampled_runs) {
  std::vector<double> out;
  *sampled_runs = 0;
  if (ids.empty() || sample <= 0) return out;
  const size_t n = std::min(ids.size(), static_cast<size_t>(sample));
  for (size_t k = 0; k < n; ++k) {
    const std::string& id = ids[k * ids.size() / n];
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() +
                     std::chrono::seconds(10));
    v1::GetHistoryRequest request;
    request.set_run_id(id);
    v1::GetHistoryResponse response;
    if (!stub->GetHistory(&ctx, request, &response).ok()) continue;
    ++*sampled_runs;
    std::map<std::pair<std::string, uint32_t>, double> scheduled;
    for (const auto& e : response.events()) {
      if (e.type() == v1::EVENT_TYPE_STEP_SCHEDULED) {
        scheduled[{e.step(), e.attempt()}] = EventMillis(e);
      } else if (e.type() == v1::EVENT_TYPE_STEP_STARTED) {
        const auto it = scheduled.find({e.step(), e.attempt()});
        if (it != scheduled.end()) {
          out.push_back(EventMillis(e) - it->second);
          scheduled.erase(it);
        }
      }
    }
  }
  return out;
}

struct Setup {
  std::string self;
  std::string server;
  std::string dir;
  int runs = 2000;
  int steps = 10;
  int in_flight = 256;
  int concurrency = 8;
  int warmup = 50;
  int history_sample = 200;
  int stall_timeout = 60;
  std::string durability;
  pid_t server_pid = -1;
};

// The worker processes of one measurement.
class Workers {
 public:
  ~Workers() { Stop(); }
  bool Start(const Setup& s, int count, int round) {
    for (int i = 0; i < count; ++i) {
      const std::string id =
          "bench-r" + std::to_string(round) + "-w" + std::to_string(i);
      const std::string stats = s.dir + "/" + id + ".json";
      std::remove(stats.c_str());
      const pid_t pid = Spawn({s.self, "--worker-mode", "--server", s.server,
                               "--concurrency", std::to_string(s.concurrency),
                               "--worker-id", id, "--stats-file", stats},
                              s.dir + "/" + id + ".log");
      if (pid < 0) return false;
      procs_.push_back({pid, stats});
    }
    return true;
  }
  // Stops the workers; their stats files are then complete.
  void Stop() {
    for (auto& p : procs_) {
      if (p.pid > 0) kill(p.pid, SIGTERM);
    }
    for (auto& p : procs_) {
      if (p.pid > 0) StopProcess(p.pid, std::chrono::seconds(15));
      p.pid = -1;
    }
  }
  const std::vector<std::pair<pid_t, std::string>> stats() const {
    std::vector<std::pair<pid_t, std::string>> out;
    for (const auto& p : procs_) out.emplace_back(p.pid, p.stats);
    return out;
  }

 private:
  struct Proc {
    pid_t pid;
    std::string stats;
  };
  std::vector<Proc> procs_;
};

json Measure(const Setup& s, v1::WorkflowService::Stub* stub, bool watch,
             int worker_count, int round) {
  Workers workers;
  if (!workers.Start(s, worker_count, round)) return json{{"error", "spawn"}};
  // Leaked when a batch stalls: its calls may still be outstanding.
  auto* driver = new Driver(stub, watch, std::chrono::seconds(s.stall_timeout));
  if (s.warmup > 0) {
    const auto warm = driver->RunBatch(s.warmup, s.in_flight, 0);
    if (warm.stalled > 0) {
      return json{{"error", "warm-up: " + warm.first_error}};
    }
    if (warm.failed > 0) {
      std::cerr << "sagaflow-remote-bench: warm-up: " << warm.first_error
                << "\n";
    }
  }

  const double server_cpu0 =
      s.server_pid > 0 ? ProcessCpuSeconds(s.server_pid) : 0;
  const int64_t window_start = UnixMicros();
  const auto t0 = SteadyClock::now();
  const Driver::Outcome outcome =
      driver->RunBatch(s.runs, s.in_flight, 1000000);
  if (outcome.stalled == 0) delete driver;
  const double seconds =
      std::chrono::duration<double>(SteadyClock::now() - t0).count();
  const int64_t window_end = UnixMicros();
  const double server_cpu =
      s.server_pid > 0 ? ProcessCpuSeconds(s.server_pid) - server_cpu0 : 0;
  workers.Stop();

  std::vector<double> worker_us;
  double worker_cpu = 0;
  uint64_t not_reported = 0;
  for (const auto& [pid, path] : workers.stats()) {
    std::ifstream in(path);
    json stats = json::parse(in, nullptr, false);
    if (stats.is_discarded()) {
      std::cerr << "sagaflow-remote-bench: no stats in " << path << "\n";
      continue;
    }
    for (const auto& sample : stats["samples"]) {
      const int64_t end = sample[0].get<int64_t>();
      if (end >= window_start && end <= window_end) {
        worker_us.push_back(sample[1].get<double>());
      }
    }
    worker_cpu += stats.value("cpu_seconds", 0.0);
    not_reported += stats.value("not_reported", uint64_t{0});
  }

  int sampled_runs = 0;
  const std::vector<double> s2s = ScheduleToStart(
      stub, outcome.completed_ids, s.history_sample, &sampled_runs);

  const double total_steps = static_cast<double>(s.runs) * s.steps;
  json out;
  out["workers"] = worker_count;
  out["concurrency"] = s.concurrency;
  out["runs"] = s.runs;
  out["steps"] = s.steps;
  out["in_flight"] = s.in_flight;
  out["durability"] = s.durability.empty() ? "external" : s.durability;
  out["seconds"] = seconds;
  out["runs_per_s"] = s.runs / seconds;
  out["steps_per_s"] = total_steps / seconds;
  out["schedule_to_start_ms_p50"] = sagaflow::bench::Percentile(s2s, 50);
  out["schedule_to_start_ms_p99"] = sagaflow::bench::Percentile(s2s, 99);
  out["history_sampled_runs"] = sampled_runs;
  out["poll_to_complete_us_p50"] = sagaflow::bench::Percentile(worker_us, 50);
  out["poll_to_complete_us_p99"] = sagaflow::bench::Percentile(worker_us, 99);
  out["worker_tasks"] = worker_us.size();
  if (s.server_pid > 0) {
    out["server_cpu_seconds_per_1000_steps"] =
        server_cpu / total_steps * 1000.0;
  }
  out["worker_cpu_seconds"] = worker_cpu;  // whole worker lifetimes
  out["completed_runs"] = outcome.completed;
  out["failed_runs"] = outcome.failed;
  out["unreported_tasks"] = not_reported;
  if (!outcome.first_error.empty()) out["first_error"] = outcome.first_error;
  if (outcome.stalled > 0) out["error"] = outcome.first_error;
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "sagaflow-remote-bench: remote workers through sagaflowd's gRPC API"};
  Setup s;
  std::string sagaflowd;
  std::string durability = "group";
  int workers = 2;
  std::vector<int> sweep;
  std::string completion = "watch";
  bool keep = false;
  bool worker_mode = false;
  std::string worker_id;
  std::string stats_file;
  app.add_option("--server", s.server,
                 "use this running server instead of starting sagaflowd");
  app.add_option("--sagaflowd", sagaflowd,
                 "server binary (default: sagaflowd next to this binary)");
  app.add_option("--durability", durability,
                 "sync | group | none, for the server this starts")
      ->check(CLI::IsMember({"sync", "group", "none"}))
      ->capture_default_str();
  app.add_option("--runs", s.runs, "measured runs")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--steps", s.steps, "bench.step steps per run")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  app.add_option("--in-flight", s.in_flight, "runs in flight at once")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--workers", workers, "worker processes")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  app.add_option("--concurrency", s.concurrency,
                 "poll loops per worker process")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  app.add_option("--workers-sweep", sweep,
                 "measure for each worker count (e.g. 1,2,3,4); prints an "
                 "array")
      ->delimiter(',')
      ->check(CLI::Range(1, 64));
  app.add_option("--warmup", s.warmup, "unmeasured runs first")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--history-sample", s.history_sample,
                 "runs whose history is read for schedule-to-start")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--stall-timeout", s.stall_timeout,
                 "give up when no run ends for this many seconds")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--completion", completion,
                 "how run ends are learnt: watch (WatchRun) | poll (GetRun)")
      ->check(CLI::IsMember({"watch", "poll"}))
      ->capture_default_str();
  app.add_flag("--keep", keep, "keep the temp directory (data, logs)");
  auto* internal = app.add_option_group("internal");
  internal->add_flag("--worker-mode", worker_mode, "run as a bench worker");
  internal->add_option("--worker-id", worker_id, "worker mode: identity");
  internal->add_option("--stats-file", stats_file,
                       "worker mode: where to write latencies");
  CLI11_PARSE(app, argc, argv);

  if (worker_mode) {
    if (s.server.empty() || stats_file.empty()) {
      std::cerr << "--worker-mode needs --server and --stats-file\n";
      return 2;
    }
    return RunWorkerMode(s.server, s.concurrency,
                         worker_id.empty() ? "bench-worker" : worker_id,
                         stats_file);
  }
  if (sweep.empty()) sweep.push_back(workers);

  s.self = SelfExe();
  if (s.self.empty()) {
    std::cerr << "cannot read /proc/self/exe\n";
    return 1;
  }
  std::string tmpl =
      (fs::temp_directory_path() / "sagaflow-remote-bench-XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) {
    std::perror("mkdtemp");
    return 1;
  }
  s.dir = tmpl;

  int exit_code = 0;
  if (s.server.empty()) {
    if (sagaflowd.empty()) {
      sagaflowd = (fs::path(s.self).parent_path() / "sagaflowd").string();
    }
    s.durability = durability;
    const std::string port_file = s.dir + "/port";
    s.server_pid = Spawn(
        {sagaflowd, "--listen", "127.0.0.1:0", "--data-dir", s.dir + "/data",
         "--port-file", port_file, "--durability", durability},
        s.dir + "/sagaflowd.log");
    const auto until = SteadyClock::now() + std::chrono::seconds(30);
    while (s.server.empty()) {
      std::ifstream in(port_file);
      std::string line;
      if (in && std::getline(in, line) && line.find(':') != std::string::npos &&
          line.back() != ':') {
        s.server = line;
        break;
      }
      int status = 0;
      if (s.server_pid < 0 || waitpid(s.server_pid, &status, WNOHANG) != 0 ||
          SteadyClock::now() >= until) {
        std::cerr << "sagaflow-remote-bench: " << sagaflowd
                  << " did not start; see " << s.dir << "/sagaflowd.log\n";
        if (s.server_pid > 0)
          StopProcess(s.server_pid, std::chrono::seconds(1));
        return 1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }

  auto channel =
      grpc::CreateChannel(s.server, grpc::InsecureChannelCredentials());
  auto stub = v1::WorkflowService::NewStub(channel);
  json results = json::array();
  if (!channel->WaitForConnected(std::chrono::system_clock::now() +
                                 std::chrono::seconds(10))) {
    std::cerr << "sagaflow-remote-bench: cannot connect to " << s.server
              << "\n";
    exit_code = 1;
  } else {
    grpc::ClientContext ctx;
    v1::RegisterWorkflowRequest request;
    request.set_definition_json(Definition(s.steps));
    v1::RegisterWorkflowResponse response;
    const grpc::Status reg = stub->RegisterWorkflow(&ctx, request, &response);
    if (!reg.ok()) {
      std::cerr << "sagaflow-remote-bench: RegisterWorkflow: "
                << reg.error_message() << "\n";
      exit_code = 1;
    } else {
      int round = 0;
      for (int w : sweep) {
        json r = Measure(s, stub.get(), completion == "watch", w, ++round);
        std::cerr << "sagaflow-remote-bench: " << r.dump() << "\n";
        if (r.value("failed_runs", uint64_t{0}) > 0 || r.contains("error")) {
          exit_code = 1;
        }
        results.push_back(std::move(r));
      }
    }
  }

  if (s.server_pid > 0) StopProcess(s.server_pid, std::chrono::seconds(10));
  if (keep) {
    std::cerr << "sagaflow-remote-bench: kept " << s.dir << "\n";
  } else {
    std::error_code ec;
    fs::remove_all(s.dir, ec);
  }
  if (!results.empty()) {
    std::cout << (results.size() == 1 && sweep.size() == 1 ? results[0]
                                                           : results)
                     .dump()
              << std::endl;
  }
  return exit_code;
}
