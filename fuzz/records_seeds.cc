// Writes the seed corpus of records_fuzz into a directory: run records and
// checkpoints captured while driving every sample workflow through happy,
// failing, cancelled and restarted runs (the same driver the fuzzer uses), plus
// a few of every other record kind, valid task tokens for the fuzzer's token
// target, stored JSON and page tokens. Generated rather than checked in, so
// the seeds follow the record formats as they evolve.
//
// Usage: records_seeds DIR
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "fuzz/records_fixtures.h"
#include "persistence/keys.h"

namespace sagaflow::fuzz {
namespace {

using persistence::RunRecord;

// Every input path the samples read, so their templates evaluate.
constexpr char kInput[] = R"({
  "order_id": "o-1", "amount": 12.5, "items": [{"sku": "a"}, {"sku": "b"}],
  "trip_id": "T1", "traveler": "Ada", "origin": "CDG", "destination": "SFO",
  "depart_date": "2026-12-01", "return_date": "2026-12-08",
  "bucket": "photos", "prefix": "2026/", "gallery": "g",
  "url": "http://127.0.0.1:8000/report.txt", "request_id": "q-1",
  "requester": "ada", "reason": "why not", "escalation_contact": "bob",
  "environment": "staging", "db_size": "small", "cache_memory_mb": 256,
  "dns_zone": "example.org", "load_balancer_ip": "10.0.0.1"})";

class Writer {
 public:
  explicit Writer(std::string dir) : dir_(std::move(dir)) {}

  void Write(Kind kind, const std::string& payload) {
    const std::string path = dir_ + "/seed-" +
                             std::to_string(static_cast<int>(kind)) + "-" +
                             std::to_string(count_++);
    std::ofstream out(path, std::ios::binary);
    out.put(static_cast<char>(kind));
    out << payload;
    Check(out.good(), "cannot write " + path);
  }
  int count() const { return count_; }

 private:
  std::string dir_;
  int count_ = 0;
};

// Drives one run of `plan_index` with `script` (Driver::Step choices,
// cycled) and writes some of the records it passes through.
void DriveSample(Writer& w, size_t plan_index,
                 const std::vector<uint32_t>& script, int steps) {
  const auto& plan = Plans()[plan_index];
  auto run = NewRun(plan, "seed-" + plan->name(), kInput);
  std::vector<RunRecord> seen;
  Driver driver(run.get(), [&](const RunRecord& r) { seen.push_back(r); });
  driver.Start();
  for (int i = 0; i < steps; ++i) driver.Step(script[i % script.size()]);
  // At most six per run, spread over its life, the last one included.
  const size_t stride = seen.size() / 6 + 1;
  for (size_t i = 0; i < seen.size(); ++i) {
    if (i % stride != 0 && i + 1 != seen.size()) continue;
    w.Write(Kind::kRunRecord, seen[i].SerializeAsString());
    std::string checkpoint;
    checkpoint.push_back(static_cast<char>(seen[i].status()));
    checkpoint.push_back(static_cast<char>(plan_index));
    w.Write(Kind::kCheckpoint, checkpoint + seen[i].checkpoint());
  }
}

void WriteRuns(Writer& w) {
  // Driver::Step choices (records_fixtures.h): 2 starts then completes an
  // attempt, 3 fails it, 0/1 fire timers, 5 signals, 6 resumes or cancels,
  // 7 restarts.
  constexpr uint32_t kApprove = 5 | (64 << 3);
  constexpr uint32_t kFailHard = 3 | (16 << 3);
  constexpr uint32_t kResume = 6 | (1 << 3);
  constexpr uint32_t kCancel = 6;
  const std::vector<std::vector<uint32_t>> scripts = {
      {2, 2, 0, kApprove, 2, 2, 0},        // completes
      {2, 2, 2, kFailHard, 0, 2, 0},       // fails, compensates
      {2, 2, 2, 4, kCancel, 2, 0, 2, 0},   // cancelled midway
      {2, 7, 2, 0, 7, 2, kApprove, 2, 0},  // restarts on the way
      {2, 3, 1, 2, 3, 1, 2, kFailHard, kResume, 2, 2, 0},  // fails, resumed
      {1, 1, 2, 1, 1, 2, 1},  // timeouts and retries
  };
  for (size_t p = 0; p < Plans().size(); ++p) {
    for (const auto& script : scripts) DriveSample(w, p, script, 40);
  }
}

void WriteOtherRecords(Writer& w) {
  persistence::HistoryEventRecord event;
  event.set_seq(3);
  event.set_time_ms(1'800'000'000'000);
  event.set_type(4);
  event.set_step("reserve");
  event.set_attempt(1);
  event.set_detail_json(R"({"output": {"reservation_id": "r-1"}})");
  w.Write(Kind::kHistoryEvent, event.SerializeAsString());

  persistence::WorkflowRecord workflow;
  workflow.set_name("tiny");
  workflow.set_version(2);
  workflow.set_definition_json(
      R"({"name": "tiny", "start_at": "a", "steps": {"a": {"type": "task",
          "activity": "x.y", "next": "b"}, "b": {"type": "wait",
          "duration": "1s"}}})");
  workflow.set_content_hash("0123456789abcdef0123456789abcdef");
  workflow.set_created_at_ms(1'800'000'000'000);
  workflow.set_step_count(2);
  w.Write(Kind::kWorkflowRecord, workflow.SerializeAsString());

  persistence::ScheduleRecord cron;
  cron.set_schedule_id("nightly");
  cron.set_revision(3);
  cron.set_workflow("order_fulfillment");
  cron.set_input_json(R"({"order_id": "nightly"})");
  cron.set_cron("30 2 * * MON-FRI");
  cron.set_timezone("America/New_York");
  cron.set_overlap(2);
  cron.set_catchup_window_ms(3'600'000);
  cron.set_next_fire_ms(1'800'000'000'000);
  cron.set_buffered_nominal_ms(1'799'990'000'000);
  persistence::ScheduleActionRecord* action = cron.add_recent_actions();
  action->set_nominal_time_ms(1'799'990'000'000);
  action->set_actual_time_ms(1'799'990'000'100);
  action->set_outcome(1);
  action->set_run_id("nightly-2027-01-15T02:30:00Z");
  w.Write(Kind::kScheduleRecord, cron.SerializeAsString());
  persistence::ScheduleRecord interval;
  interval.set_schedule_id("every-5m");
  interval.set_workflow("approval_flow");
  interval.set_interval_ms(300'000);
  interval.set_start_time_ms(1'799'000'000'000);
  interval.set_end_time_ms(1'900'000'000'000);
  interval.set_next_fire_ms(1'800'000'100'000);
  w.Write(Kind::kScheduleRecord, interval.SerializeAsString());
  w.Write(Kind::kOtherRecord, std::string(1, 4) + action->SerializeAsString());

  persistence::TaskRecord task;
  task.set_task_id("t-1");
  task.set_run_id("r-1");
  task.set_step("reserve");
  task.set_attempt(1);
  task.set_activity("inventory.reserve");
  task.set_input_json("{}");
  w.Write(Kind::kOtherRecord, std::string(1, 0) + task.SerializeAsString());
  persistence::TimerRecord timer;
  timer.set_timer_id("tm-1");
  timer.set_run_id("r-1");
  timer.set_due_at_ms(1'800'000'000'000);
  timer.set_kind(3);
  w.Write(Kind::kOtherRecord, std::string(1, 1) + timer.SerializeAsString());
  persistence::LeaseRecord lease;
  lease.set_task_id("t-1");
  lease.set_run_id("r-1");
  lease.set_worker_id("w-1");
  lease.set_expires_at_ms(1'800'000'030'000);
  w.Write(Kind::kOtherRecord, std::string(1, 2) + lease.SerializeAsString());
  persistence::SignalRecord signal;
  signal.set_run_id("r-1");
  signal.set_seq(9);
  signal.set_name("approval");
  signal.set_payload_json(R"({"approved": true})");
  w.Write(Kind::kOtherRecord, std::string(1, 3) + signal.SerializeAsString());
}

void WriteTokensAndText(Writer& w) {
  auto target = MakeTokenTarget();
  for (const engine::Dispatch& d :
       engine::PendingRemoteDispatches(*target, FromUnixMillis(0), Options())) {
    w.Write(Kind::kTaskToken, d.token);
  }
  w.Write(Kind::kTaskToken,
          std::string("v1.722d746f6b656e.0.0.1.c.") + kTokenSecret);
  w.Write(
      Kind::kStoredJson,
      R"({"a": [1, 2.5, -3e7, "\u00e9\ud83d\ude00", null, true], "b": {}})");
  w.Write(Kind::kStoredJson,
          "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]");
  // Listings: workflows from the start and after "alpha"; runs by time,
  // workflow and status, each from the start.
  w.Write(Kind::kPageToken, std::string(1, 0x10));
  w.Write(Kind::kPageToken,
          std::string(1, 0x10) + persistence::keys::ToHex("alpha"));
  for (char listing : {0x11, 0x12, 0x23}) {
    w.Write(Kind::kPageToken, std::string(1, listing));
  }
  std::string after_key;
  persistence::keys::AppendTime(&after_key, 1'800'000'002'000);
  w.Write(Kind::kPageToken, std::string(1, 0x11) + "t" +
                                persistence::keys::ToHex(after_key + "run-7"));
}

}  // namespace
}  // namespace sagaflow::fuzz

int main(int argc, char** argv) {
  using namespace sagaflow::fuzz;
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  Writer w(argv[1]);
  WriteRuns(w);
  WriteOtherRecords(w);
  WriteTokensAndText(w);
  std::printf("records_seeds: %d seeds in %s\n", w.count(), argv[1]);
  return 0;
}
