#include "tests/engine/engine_harness.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include "activities/builtin.h"
#include "dsl/json.h"

namespace sagaflow::engine::testing {

void Journal::Add(Execution e) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    entries_.push_back(std::move(e));
  }
  cv_.notify_all();
}

bool Journal::WaitFor(std::function<bool(const std::vector<Execution>&)> until,
                      Duration timeout) const {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return until(entries_); });
}

bool Journal::WaitForCount(const std::string& run_id, const std::string& step,
                           size_t n) const {
  return WaitFor([&](const std::vector<Execution>& entries) {
    size_t count = 0;
    for (const Execution& e : entries) {
      if (e.run_id == run_id && (e.compensation ? "~" : "") + e.step == step) {
        ++count;
      }
    }
    return count >= n;
  });
}

void Journal::AddCancelled(const std::string& run_id, std::string step) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    cancelled_.emplace_back(run_id, std::move(step));
  }
  cv_.notify_all();
}

bool Journal::WaitForCancelled(const std::string& run_id,
                               const std::string& step) const {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, Duration(20'000), [&] {
    return std::find(cancelled_.begin(), cancelled_.end(),
                     std::make_pair(run_id, step)) != cancelled_.end();
  });
}

std::vector<std::string> Journal::Cancelled(const std::string& run_id) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> out;
  for (const auto& [run, step] : cancelled_) {
    if (run == run_id) out.push_back(step);
  }
  return out;
}

std::vector<Execution> Journal::All() const {
  std::lock_guard<std::mutex> lock(mu_);
  return entries_;
}

std::vector<std::string> Journal::Steps(const std::string& run_id) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> out;
  for (const Execution& e : entries_) {
    if (e.run_id == run_id) out.push_back((e.compensation ? "~" : "") + e.step);
  }
  return out;
}

namespace {

class RecordActivity : public activities::Activity {
 public:
  explicit RecordActivity(Journal* journal) : journal_(journal) {}
  activities::ActivityResult Run(
      const dsl::Json& input, const activities::ActivityContext& c) override {
    journal_->Add(
        {c.run_id, c.step, c.is_compensation, c.attempt, dsl::DumpJson(input)});
    if (input.is_object() && input.contains("error")) {
      const bool limited = input.contains("fail_times");
      if (!limited || c.attempt <= input["fail_times"].get<uint32_t>()) {
        return activities::ActivityError{input["error"].get<std::string>(),
                                         "failed on purpose",
                                         input.value("non_retryable", false)};
      }
    }
    if (input.is_object() && input.contains("output")) return input["output"];
    return dsl::Json{{"step", c.step}, {"attempt", c.attempt}};
  }

 private:
  Journal* journal_;
};

class BlockActivity : public activities::Activity {
 public:
  explicit BlockActivity(Journal* journal) : journal_(journal) {}
  activities::ActivityResult Run(
      const dsl::Json& input, const activities::ActivityContext& c) override {
    journal_->Add(
        {c.run_id, c.step, c.is_compensation, c.attempt, dsl::DumpJson(input)});
    if (c.cancellation->WaitFor(Duration(60'000))) {
      journal_->AddCancelled(c.run_id, (c.is_compensation ? "~" : "") + c.step);
    }
    return activities::ActivityError{activities::kCancelled, "cancelled",
                                     false};
  }

 private:
  Journal* journal_;
};

}  // namespace

std::unique_ptr<activities::ActivityRegistry> MakeRegistry(Journal* journal) {
  auto registry = std::make_unique<activities::ActivityRegistry>(
      activities::ActivityRegistry::WithBuiltins());
  EXPECT_TRUE(
      registry
          ->Register("test.record", std::make_unique<RecordActivity>(journal))
          .ok());
  EXPECT_TRUE(
      registry->Register("test.block", std::make_unique<BlockActivity>(journal))
          .ok());
  return registry;
}

void EngineTest::SetUp() {
  std::string base =
      std::filesystem::temp_directory_path() / "sagaflow-engine-XXXXXX";
  std::vector<char> buf(base.begin(), base.end());
  buf.push_back('\0');
  ASSERT_NE(mkdtemp(buf.data()), nullptr);
  dir_ = buf.data();
  registry_ = MakeRegistry(&journal_);
}

void EngineTest::TearDown() {
  if (store_) {
    for (const std::string& id : started_) ExpectSeqContiguous(id);
  }
  Close();
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

void EngineTest::Open(bool manual_clock) {
  if (manual_clock && !manual_clock_) {
    manual_clock_ = std::make_unique<ManualClock>();
  }
  if (!manual_clock) manual_clock_.reset();
  persistence::RocksDbOptions store_options;
  store_options.path = dir_ + "/db";
  auto store = persistence::RocksDbStore::Open(store_options);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  store_ = std::move(store).value();
  EngineOptions options = options_;
  options.clock = manual_clock_.get();
  auto engine = Engine::Open(store_.get(), registry_.get(), options);
  ASSERT_TRUE(engine.ok()) << engine.status().ToString();
  engine_ = std::move(engine).value();
}

void EngineTest::Close() {
  engine_.reset();
  store_.reset();
}

void EngineTest::Advance(Duration d) {
  manual_clock_->Advance(d);
  engine_->Wake();
}

void EngineTest::Register(const std::string& definition_json) {
  auto r = engine_->RegisterWorkflow(definition_json);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
}

std::string EngineTest::Start(const std::string& workflow,
                              const std::string& input,
                              const std::string& run_id) {
  StartRunRequest request;
  request.workflow = workflow;
  request.input_json = input;
  request.run_id = run_id;
  auto r = engine_->StartRun(request);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  if (!r.ok()) return std::string();
  if (std::find(started_.begin(), started_.end(), r->run_id) ==
      started_.end()) {
    started_.push_back(r->run_id);
  }
  return r->run_id;
}

persistence::RunRecord EngineTest::Await(const std::string& run_id) {
  return AwaitUntil(run_id, nullptr);  // AwaitRun's default: not active.
}

persistence::RunRecord EngineTest::AwaitUntil(
    const std::string& run_id,
    std::function<bool(const persistence::RunRecord&)> until) {
  auto r = engine_->AwaitRun(run_id, Duration(20'000), std::move(until));
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : persistence::RunRecord();
}

std::vector<persistence::HistoryEventRecord> EngineTest::History(
    const std::string& run_id) {
  auto h = store_->ReadHistory(run_id, 0, 0);
  EXPECT_TRUE(h.ok()) << h.status().ToString();
  return h.ok() ? *h : std::vector<persistence::HistoryEventRecord>{};
}

std::string EventTypeName(int type) {
  static const char* kNames[] = {
      "UNSPECIFIED",          "RUN_STARTED",
      "STEP_SCHEDULED",       "STEP_STARTED",
      "STEP_COMPLETED",       "STEP_FAILED",
      "STEP_TIMED_OUT",       "STEP_RETRY_SCHEDULED",
      "STEP_CAUGHT",          "TIMER_STARTED",
      "TIMER_FIRED",          "SIGNAL_RECEIVED",
      "COMPENSATION_STARTED", "COMPENSATION_COMPLETED",
      "COMPENSATION_FAILED",  "RUN_CANCEL_REQUESTED",
      "RUN_SUSPENDED",        "RUN_RESUMED",
      "RUN_COMPLETED",        "RUN_FAILED",
      "RUN_COMPENSATED",      "RUN_CANCELLED"};
  if (type < 0 || type > 21) return "?" + std::to_string(type);
  return kNames[type];
}

std::vector<std::string> EngineTest::EventTypes(const std::string& run_id,
                                                const std::string& step) {
  std::vector<std::string> out;
  for (const auto& e : History(run_id)) {
    if (!step.empty() && e.step() != step) continue;
    out.push_back(EventTypeName(e.type()));
  }
  return out;
}

}  // namespace sagaflow::engine::testing

namespace sagaflow::engine::testing {

std::vector<persistence::HistoryEventRecord> EngineTest::Events(
    const std::string& run_id, const std::string& type,
    const std::string& step) {
  std::vector<persistence::HistoryEventRecord> out;
  for (auto& e : History(run_id)) {
    if (EventTypeName(e.type()) != type) continue;
    if (!step.empty() && e.step() != step) continue;
    out.push_back(std::move(e));
  }
  return out;
}

void EngineTest::ExpectSeqContiguous(const std::string& run_id) {
  const auto history = History(run_id);
  for (size_t i = 0; i < history.size(); ++i) {
    EXPECT_EQ(history[i].seq(), i + 1)
        << "run " << run_id << ": event " << i << " ("
        << EventTypeName(history[i].type()) << " " << history[i].step()
        << ") has seq " << history[i].seq();
  }
}

}  // namespace sagaflow::engine::testing
