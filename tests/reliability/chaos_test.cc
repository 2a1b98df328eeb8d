// Chaos against the real sagaflowd: sagas run by remote workers that record
// every side effect while the server is killed (kill -9 at random, or a
// failpoint's crash) and restarted, again and again. Then every acknowledged
// start must exist, every run must end as its input said (COMPLETED, or
// COMPENSATED when built to fail at step 4), compensations must have run only
// for completed steps and in reverse order, and no completion may have been
// applied twice. docs/RELIABILITY.md has the figures and the long commands:
//
//   SAGAFLOW_CHAOS_RUNS=1000 SAGAFLOW_CHAOS_KILLS=50
//     build/bin/reliability_test --gtest_filter='Chaos*'
#include <fcntl.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "sagaflow/v1/workflow_service.grpc.pb.h"
#include "tests/reliability/server_child.h"
#include "tests/server/server_harness.h"
#include "worker/worker.h"

namespace sagaflow::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr int kSteps = 5;
constexpr int kFailingStep = 4;

int EnvInt(const char* name, int fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? std::atoi(value) : fallback;
}

size_t CountOf(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos;
       at = text.find(what, at + what.size())) {
    ++n;
  }
  return n;
}

// Five remote steps, each with its compensation; step 4 fails (not
// retryable) when the input says so. Attempts time out after 2 s, so an
// attempt leased to a worker whose server died is retried soon.
std::string ChaosSaga() {
  json steps;
  for (int i = 1; i <= kSteps; ++i) {
    const std::string name = "s" + std::to_string(i);
    json step = {{"type", "task"},
                 {"activity", "chaos." + name},
                 {"input", {{"fail", "$.input.fail"}}},
                 {"timeout", "2s"},
                 {"retry",
                  {{"max_attempts", 100},
                   {"initial_interval", "100ms"},
                   {"max_interval", "1s"},
                   {"non_retryable_errors", json::array({"Declined"})}}},
                 {"compensate",
                  {{"activity", "chaos.undo"},
                   {"timeout", "2s"},
                   {"retry",
                    {{"max_attempts", 100},
                     {"initial_interval", "100ms"},
                     {"max_interval", "1s"}}}}}};
    if (i < kSteps) step["next"] = "s" + std::to_string(i + 1);
    steps[name] = step;
  }
  return json{{"name", "chaos"},
              {"start_at", "s1"},
              {"on_failure", "compensate"},
              {"steps", steps}}
      .dump();
}

// What the workers did: every handler invocation, in one global order.
struct SideEffect {
  uint64_t seq = 0;
  std::string run_id;
  std::string step;  // the step, or the step being compensated
  bool compensation = false;
};

class SideEffectLog {
 public:
  void Record(const worker::Task& task) {
    std::lock_guard<std::mutex> lock(mu_);
    effects_.push_back({++seq_, task.run_id, task.step, task.is_compensation});
  }
  // A report the server acknowledged (CompleteTask OK).
  void Acknowledged(const worker::Task& task) {
    std::lock_guard<std::mutex> lock(mu_);
    acked_.push_back({0, task.run_id, task.step, task.is_compensation});
  }
  std::map<std::string, std::vector<SideEffect>> ByRun() const {
    std::lock_guard<std::mutex> lock(mu_);
    std::map<std::string, std::vector<SideEffect>> by_run;
    for (const SideEffect& e : effects_) by_run[e.run_id].push_back(e);
    return by_run;
  }
  std::vector<SideEffect> acked() const {
    std::lock_guard<std::mutex> lock(mu_);
    return acked_;
  }
  size_t size() const {
    std::lock_guard<std::mutex> lock(mu_);
    return effects_.size();
  }

 private:
  mutable std::mutex mu_;
  uint64_t seq_ = 0;
  std::vector<SideEffect> effects_;
  std::vector<SideEffect> acked_;
};

std::chrono::milliseconds Percentile(std::vector<std::chrono::milliseconds> v,
                                     double p) {
  if (v.empty()) return std::chrono::milliseconds(0);
  std::sort(v.begin(), v.end());
  const size_t at = std::min(v.size() - 1, static_cast<size_t>(p * v.size()));
  return v[at];
}

struct ChaosConfig {
  int runs = 0;
  int kills = 0;  // server deaths to cause
  // Empty: kill -9 at random every 0.5-3 s. Otherwise the failpoint each
  // start arms with crash@N, N random in [1, max_hit].
  std::string failpoint;
  int max_hit = 20;
};

class Chaos {
 public:
  explicit Chaos(ChaosConfig config) : config_(std::move(config)) {}

  void Run() {
    auto first = server_.Start("");
    ASSERT_TRUE(first.has_value()) << server_.Log();
    channel_ = grpc::CreateChannel(server_.address(),
                                   grpc::InsecureChannelCredentials());
    stub_ = v1::WorkflowService::NewStub(channel_);
    {
      v1::RegisterWorkflowRequest request;
      request.set_definition_json(ChaosSaga());
      v1::RegisterWorkflowResponse response;
      grpc::Status status =
          stub_->RegisterWorkflow(Context().get(), request, &response);
      ASSERT_TRUE(status.ok()) << status.error_message();
    }

    std::vector<std::unique_ptr<worker::Worker>> workers;
    std::vector<std::thread> worker_threads;
    for (int w = 0; w < 2; ++w) workers.push_back(MakeWorker(w));
    for (auto& w : workers) {
      worker_threads.emplace_back([&w] { (void)w->Run(); });
    }

    const auto chaos_began = Clock::now();
    std::thread starter([this] { StartRuns(); });
    Kill();
    starter.join();
    const auto chaos_ended = Clock::now();

    // The server stays up now: every run must finish.
    const auto settle_deadline =
        Clock::now() +
        std::chrono::seconds(EnvInt("SAGAFLOW_CHAOS_SETTLE_S", 90));
    std::vector<std::string> ids = AckedIds();
    std::set<std::string> pending(ids.begin(), ids.end());
    while (!pending.empty() && Clock::now() < settle_deadline) {
      for (auto it = pending.begin(); it != pending.end();) {
        std::optional<v1::Run> run = Get(*it);
        if (run && run->status() != v1::RUN_STATUS_RUNNING &&
            run->status() != v1::RUN_STATUS_COMPENSATING) {
          runs_[*it] = *run;
          it = pending.erase(it);
        } else {
          ++it;
        }
      }
      if (!pending.empty()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    }
    const auto settled = Clock::now();
    for (auto& w : workers) w->Stop();
    for (auto& t : worker_threads) t.join();

    Check(ids, pending);
    EXPECT_EQ(server_.Terminate(), 0) << server_.Log().substr(0, 20000);

    const std::string log = server_.Log();
    const size_t failpoint_crashes = CountOf(log, ": crash\n");
    json report = {
        {"failpoint",
         config_.failpoint.empty() ? "random kill -9" : config_.failpoint},
        {"runs_started", ids.size()},
        {"runs_built_to_fail", failing_.load()},
        {"server_deaths", deaths_},
        {"failpoint_crashes", failpoint_crashes},
        {"runs_lost", lost_},
        {"runs_stuck", pending.size()},
        {"side_effects", effects_.size()},
        {"applied_completions", applied_},
        {"re_deliveries", effects_.size() - applied_},
        {"recovery_ms_p50", Percentile(recoveries_, 0.50).count()},
        {"recovery_ms_p99", Percentile(recoveries_, 0.99).count()},
        {"chaos_s",
         std::chrono::duration<double>(chaos_ended - chaos_began).count()},
        {"settle_s",
         std::chrono::duration<double>(settled - chaos_ended).count()}};
    std::printf("chaos report: %s\n", report.dump().c_str());
    if (const char* path = std::getenv("SAGAFLOW_CHAOS_REPORT")) {
      std::ofstream(path, std::ios::app) << report.dump() << "\n";
    }
    EXPECT_EQ(deaths_, config_.kills);
    if (!config_.failpoint.empty()) {
      // Every death but those forced after a quiet spell was the failpoint.
      EXPECT_GE(failpoint_crashes + forced_, static_cast<size_t>(deaths_));
      EXPECT_GT(failpoint_crashes, 0u) << "the failpoint never fired";
    }
  }

 private:
  std::unique_ptr<worker::Worker> MakeWorker(int index) {
    worker::WorkerOptions options;
    options.server = server_.address();
    options.worker_id = "chaos-" + std::to_string(index);
    options.concurrency = 16;
    options.poll_wait = std::chrono::seconds(5);
    options.initial_backoff = std::chrono::milliseconds(50);
    options.max_backoff = std::chrono::milliseconds(500);
    options.report_attempts = 40;
    options.on_log = [](worker::LogLevel, const std::string&) {};
    options.on_task_done = [this](const worker::TaskReport& report) {
      if (report.report.ok() && report.result->ok()) {
        effects_.Acknowledged(*report.task);
      }
    };
    auto w = std::make_unique<worker::Worker>(options);
    auto handler = [this](const worker::Task& task, worker::TaskContext&) {
      effects_.Record(task);
      thread_local std::mt19937 random{std::random_device{}()};
      std::this_thread::sleep_for(std::chrono::milliseconds(
          std::uniform_int_distribution<int>(10, 150)(random)));
      if (!task.is_compensation && task.step == "s4" &&
          json::parse(task.input_json, nullptr, false).value("fail", false)) {
        return worker::ActivityResult::NonRetryable("Declined",
                                                    "built to fail");
      }
      return worker::ActivityResult::Ok(
          json{{"did", task.step}, {"attempt", task.attempt}}.dump());
    };
    for (int i = 1; i <= kSteps; ++i) {
      EXPECT_TRUE(w->Register("chaos.s" + std::to_string(i), handler).ok());
    }
    EXPECT_TRUE(w->Register("chaos.undo", handler).ok());
    return w;
  }

  // Starts every run, retrying each (same run id: idempotent) until the
  // server acknowledges it. Paced to spread over the chaos.
  void StartRuns() {
    const auto gap = std::chrono::milliseconds(
        config_.failpoint.empty()
            ? std::max(1, config_.kills * 1750 / 2 / std::max(1, config_.runs))
            : 50);
    std::mt19937 random(7);
    for (int i = 0; i < config_.runs; ++i) {
      const bool fail = std::uniform_int_distribution<int>(0, 99)(random) < 20;
      if (fail) ++failing_;
      v1::StartRunRequest request;
      request.set_workflow("chaos");
      request.set_run_id("chaos-" + std::to_string(i));
      request.set_input_json(json{{"fail", fail}}.dump());
      while (true) {
        v1::StartRunResponse response;
        grpc::Status status = stub_->StartRun(
            Context(std::chrono::seconds(5)).get(), request, &response);
        if (status.ok()) break;
        ASSERT_TRUE(status.error_code() == grpc::StatusCode::UNAVAILABLE ||
                    status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED)
            << status.error_message();
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
      {
        std::lock_guard<std::mutex> lock(mu_);
        acked_.push_back({request.run_id(), fail});
      }
      std::this_thread::sleep_for(gap);
    }
  }

  // Causes `kills` server deaths, restarting the server after each. With a
  // failpoint, every start but the last arms it to crash at a random hit.
  void Kill() {
    std::mt19937 random(11);
    auto armed = [&] {
      return config_.failpoint + "=crash@" +
             std::to_string(std::uniform_int_distribution<int>(
                 1, config_.max_hit)(random));
    };
    if (!config_.failpoint.empty()) {
      // The first start registered the workflow unarmed; arm it now.
      server_.Kill9();
      if (auto recovered = server_.Start(armed())) {
        recoveries_.push_back(*recovered);
      }
    }
    while (deaths_ < config_.kills) {
      if (config_.failpoint.empty()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(
            std::uniform_int_distribution<int>(500, 3000)(random)));
        server_.Kill9();
      } else if (!Eventually([&] { return !server_.Alive(); },
                             std::chrono::seconds(3))) {
        // No traffic reached the failpoint for a while (every run may be
        // done): kill -9 to keep going.
        ++forced_;
        server_.Kill9();
      }
      ++deaths_;
      const bool last = deaths_ == config_.kills;
      auto recovered =
          server_.Start(config_.failpoint.empty() || last ? "" : armed());
      if (recovered) {
        recoveries_.push_back(*recovered);
      } else {
        // Only an armed start may die before it serves (recovery itself
        // commits); the next round counts that death.
        ASSERT_TRUE(!config_.failpoint.empty() && !last) << server_.Log();
      }
    }
    // The last start has no failpoint: it must stay up.
    ASSERT_TRUE(server_.Alive());
  }

  std::optional<v1::Run> Get(const std::string& run_id) {
    v1::GetRunRequest request;
    request.set_run_id(run_id);
    v1::Run response;
    grpc::Status status = stub_->GetRun(Context().get(), request, &response);
    if (status.error_code() == grpc::StatusCode::NOT_FOUND) {
      return v1::Run();  // status UNSPECIFIED: counted as lost by Check.
    }
    if (!status.ok()) return std::nullopt;
    return response;
  }

  std::vector<v1::HistoryEvent> History(const std::string& run_id) {
    std::vector<v1::HistoryEvent> events;
    while (true) {
      v1::GetHistoryRequest request;
      request.set_run_id(run_id);
      request.set_after_seq(events.empty() ? 0 : events.back().seq());
      v1::GetHistoryResponse response;
      grpc::Status status =
          stub_->GetHistory(Context().get(), request, &response);
      EXPECT_TRUE(status.ok()) << status.error_message();
      if (!status.ok() || response.events().empty()) return events;
      events.insert(events.end(), response.events().begin(),
                    response.events().end());
    }
  }

  std::vector<std::string> AckedIds() {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<std::string> ids;
    for (const auto& [id, fail] : acked_) ids.push_back(id);
    return ids;
  }

  void Check(const std::vector<std::string>& ids,
             const std::set<std::string>& stuck) {
    EXPECT_EQ(ids.size(), static_cast<size_t>(config_.runs));
    EXPECT_TRUE(stuck.empty())
        << stuck.size() << " runs did not end, e.g. " << *stuck.begin();
    std::map<std::string, bool> built_to_fail;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (const auto& [id, fail] : acked_) built_to_fail[id] = fail;
    }
    const auto effects = effects_.ByRun();
    std::map<std::pair<std::string, std::string>, int> completed;  // +comp
    for (const std::string& id : ids) {
      if (stuck.count(id)) continue;
      const v1::Run& run = runs_[id];
      if (run.status() == v1::RUN_STATUS_UNSPECIFIED) {
        ++lost_;
        ADD_FAILURE() << "acknowledged start of " << id << " lost";
        continue;
      }
      const bool fail = built_to_fail[id];
      EXPECT_EQ(run.status(),
                fail ? v1::RUN_STATUS_COMPENSATED : v1::RUN_STATUS_COMPLETED)
          << id;
      // The history: each completion applied once, compensations exactly
      // for the completed steps, newest first.
      std::map<std::string, int> step_done, comp_done;
      std::vector<std::string> comp_order;
      for (const v1::HistoryEvent& e : History(id)) {
        if (e.type() == v1::EVENT_TYPE_STEP_COMPLETED) {
          ++step_done[e.step()];
          ++completed[{id, e.step()}];
          ++applied_;
        } else if (e.type() == v1::EVENT_TYPE_COMPENSATION_COMPLETED) {
          ++comp_done[e.step()];
          comp_order.push_back(e.step());
          ++completed[{id, "undo:" + e.step()}];
          ++applied_;
        } else if (e.type() == v1::EVENT_TYPE_STEP_FAILED && e.step() == "s4") {
          ++applied_;  // The one attempt built to fail.
        }
      }
      const int last_done = fail ? kFailingStep - 1 : kSteps;
      for (int i = 1; i <= kSteps; ++i) {
        const std::string s = "s" + std::to_string(i);
        EXPECT_EQ(step_done[s], i <= last_done ? 1 : 0)
            << id << " step " << s << " completion applied " << step_done[s]
            << " times";
      }
      std::vector<std::string> expected_order;
      if (fail) {
        for (int i = last_done; i >= 1; --i) {
          expected_order.push_back("s" + std::to_string(i));
        }
      }
      EXPECT_EQ(comp_order, expected_order) << id;
      // The workers' side: an undo only of a step whose completion was
      // applied, and each undo invoked only after every invocation of the
      // undo before it (reverse order, no overlap).
      std::map<std::string, uint64_t> first_undo, last_undo;
      auto it = effects.find(id);
      if (it == effects.end()) continue;
      for (const SideEffect& e : it->second) {
        if (!e.compensation) continue;
        EXPECT_EQ(step_done[e.step], 1)
            << id << ": compensated " << e.step << ", which never completed";
        if (!first_undo.count(e.step)) first_undo[e.step] = e.seq;
        last_undo[e.step] = e.seq;
      }
      for (int i = last_done; i >= 2 && fail; --i) {
        const std::string later = "s" + std::to_string(i);
        const std::string earlier = "s" + std::to_string(i - 1);
        if (first_undo.count(earlier) && last_undo.count(later)) {
          EXPECT_LT(last_undo[later], first_undo[earlier])
              << id << ": undo of " << earlier << " began before the undo of "
              << later << " ended";
        }
      }
    }
    // Every completion a worker was told had been applied is in a history.
    for (const SideEffect& a : effects_.acked()) {
      const std::string key = a.compensation ? "undo:" + a.step : a.step;
      EXPECT_EQ(completed[std::make_pair(a.run_id, key)], 1)
          << "acknowledged completion of " << a.run_id << "/" << key
          << " is not in its history";
    }
  }

  const ChaosConfig config_;
  ServerChild server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::WorkflowService::Stub> stub_;
  SideEffectLog effects_;
  std::mutex mu_;
  std::vector<std::pair<std::string, bool>> acked_;  // mu_
  std::atomic<int> failing_{0};
  int deaths_ = 0;
  size_t forced_ = 0;
  std::vector<std::chrono::milliseconds> recoveries_;
  std::map<std::string, v1::Run> runs_;
  size_t lost_ = 0;
  size_t applied_ = 0;
};

TEST(ChaosTest, KillNineAtRandomLosesAndDuplicatesNothing) {
  Chaos chaos({EnvInt("SAGAFLOW_CHAOS_RUNS", 120),
               EnvInt("SAGAFLOW_CHAOS_KILLS", 6), "", 0});
  chaos.Run();
}

class FailpointChaosTest : public ::testing::TestWithParam<const char*> {};

TEST_P(FailpointChaosTest, CrashAtTheFailpointLosesAndDuplicatesNothing) {
  Chaos chaos({EnvInt("SAGAFLOW_CHAOS_RUNS", 60),
               EnvInt("SAGAFLOW_CHAOS_CRASHES", 5), GetParam(),
               EnvInt("SAGAFLOW_CHAOS_MAX_HIT", 20)});
  chaos.Run();
}

INSTANTIATE_TEST_SUITE_P(EveryCrashPoint, FailpointChaosTest,
                         ::testing::Values("engine.dispatch.before_lease",
                                           "engine.dispatch.before_deliver",
                                           "engine.complete.before_commit",
                                           "store.commit.before_write",
                                           "engine.commit.before_reply"),
                         [](const ::testing::TestParamInfo<const char*>& info) {
                           std::string name = info.param;
                           std::replace(name.begin(), name.end(), '.', '_');
                           return name;
                         });

}  // namespace
}  // namespace sagaflow::testing
