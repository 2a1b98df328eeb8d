// ScheduleService and delayed starts end to end: the real sagaflowd with its
// real clock, driven over gRPC.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>
#include <thread>

#include "common/time.h"
#include "sagaflow/v1/schedule_service.grpc.pb.h"
#include "tests/server/server_harness.h"

namespace sagaflow::testing {
namespace {

using ::testing::HasSubstr;

constexpr char kQuick[] = R"({"name": "sched_quick", "start_at": "a",
  "steps": {"a": {"type": "task", "activity": "builtin.noop"}}})";

class ServerScheduleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.Start();
    schedules_ = v1::ScheduleService::NewStub(server_.channel());
    Register(server_, kQuick);
  }

  void Restart() {
    server_.Start();
    schedules_ = v1::ScheduleService::NewStub(server_.channel());
  }

  grpc::Status Create(const std::string& id, int64_t interval_ms,
                      v1::Schedule* out = nullptr) {
    v1::CreateScheduleRequest request;
    request.set_schedule_id(id);
    request.mutable_spec()->set_workflow("sched_quick");
    request.mutable_spec()->set_interval_ms(interval_ms);
    v1::Schedule response;
    grpc::Status s = schedules_->CreateSchedule(Context().get(), request,
                                                out ? out : &response);
    return s;
  }

  v1::Schedule Get(const std::string& id) {
    v1::GetScheduleRequest request;
    request.set_schedule_id(id);
    v1::Schedule response;
    grpc::Status s =
        schedules_->GetSchedule(Context().get(), request, &response);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return response;
  }

  // The runs this schedule started, from the server's run list.
  std::vector<v1::Run> RunsOf(const std::string& id) {
    v1::ListRunsRequest request;
    request.set_workflow("sched_quick");
    request.set_page_size(1000);
    v1::ListRunsResponse response;
    grpc::Status s =
        server_.workflows().ListRuns(Context().get(), request, &response);
    EXPECT_TRUE(s.ok()) << s.error_message();
    std::vector<v1::Run> runs;
    for (const v1::Run& r : response.runs()) {
      if (r.schedule_id() == id) runs.push_back(r);
    }
    return runs;
  }

  ServerProcess server_;
  std::unique_ptr<v1::ScheduleService::Stub> schedules_;
};

TEST_F(ServerScheduleTest, IntervalPauseTriggerDelete) {
  v1::Schedule created;
  ASSERT_TRUE(Create("every_second", 1000, &created).ok());
  EXPECT_EQ(created.spec().overlap(), v1::OVERLAP_POLICY_SKIP);
  EXPECT_TRUE(created.has_next_fire_time());

  // A one-second schedule starts runs.
  ASSERT_TRUE(Eventually([&] { return RunsOf("every_second").size() >= 2; },
                         std::chrono::seconds(15)));
  for (const v1::Run& r : RunsOf("every_second")) {
    EXPECT_EQ(
        r.run_id(), "every_second-" + [&] {
          // The run id is the schedule id and the nominal time.
          const int64_t ms = r.nominal_time().seconds() * 1000 +
                             r.nominal_time().nanos() / 1000000;
          return FormatRfc3339(FromUnixMillis(ms));
        }());
  }

  // Paused, it starts nothing. Absence cannot be awaited: the test watches
  // for three fire intervals.
  v1::PauseScheduleRequest pause;
  pause.set_schedule_id("every_second");
  pause.set_note("maintenance");
  v1::Schedule paused;
  ASSERT_TRUE(schedules_->PauseSchedule(Context().get(), pause, &paused).ok());
  EXPECT_TRUE(paused.spec().paused());
  EXPECT_FALSE(paused.has_next_fire_time());
  const size_t count = RunsOf("every_second").size();
  std::this_thread::sleep_for(std::chrono::seconds(3));
  EXPECT_EQ(RunsOf("every_second").size(), count);

  // Trigger starts one at once, paused or not.
  v1::TriggerScheduleRequest trigger;
  trigger.set_schedule_id("every_second");
  trigger.set_overlap(v1::OVERLAP_POLICY_ALLOW_ALL);
  v1::TriggerScheduleResponse triggered;
  ASSERT_TRUE(
      schedules_->TriggerSchedule(Context().get(), trigger, &triggered).ok());
  EXPECT_EQ(triggered.action().outcome(), v1::ScheduleAction::OUTCOME_STARTED);
  EXPECT_EQ(RunsOf("every_second").size(), count + 1);
  EXPECT_EQ(
      StatusName(AwaitStopped(server_, triggered.action().run_id()).status()),
      "COMPLETED");
  const v1::Schedule after = Get("every_second");
  EXPECT_EQ(after.last_run_id(), triggered.action().run_id());
  EXPECT_FALSE(after.last_run_running());
  EXPECT_EQ(after.runs_started(), count + 1);

  // Delete removes it.
  v1::DeleteScheduleRequest del;
  del.set_schedule_id("every_second");
  v1::DeleteScheduleResponse deleted;
  ASSERT_TRUE(schedules_->DeleteSchedule(Context().get(), del, &deleted).ok());
  v1::GetScheduleRequest get;
  get.set_schedule_id("every_second");
  v1::Schedule gone;
  EXPECT_EQ(schedules_->GetSchedule(Context().get(), get, &gone).error_code(),
            grpc::StatusCode::NOT_FOUND);
  v1::ListSchedulesResponse list;
  ASSERT_TRUE(
      schedules_
          ->ListSchedules(Context().get(), v1::ListSchedulesRequest(), &list)
          .ok());
  EXPECT_EQ(list.schedules_size(), 0);
}

TEST_F(ServerScheduleTest, BadRequestsGetClearStatuses) {
  v1::CreateScheduleRequest request;
  request.set_schedule_id("bad");
  request.mutable_spec()->set_workflow("sched_quick");
  request.mutable_spec()->set_cron("0 25 * * *");
  request.mutable_spec()->set_timezone("Nowhere/City");
  v1::Schedule response;
  grpc::Status s =
      schedules_->CreateSchedule(Context().get(), request, &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("cron:"));
  EXPECT_THAT(s.error_message(), HasSubstr("hour"));
  EXPECT_THAT(s.error_message(), HasSubstr("timezone:"));

  ASSERT_TRUE(Create("dup", 60'000).ok());
  EXPECT_EQ(Create("dup", 60'000).error_code(),
            grpc::StatusCode::ALREADY_EXISTS);

  v1::UpdateScheduleRequest update;
  update.set_schedule_id("dup");
  update.mutable_spec()->set_workflow("sched_quick");
  update.mutable_spec()->set_interval_ms(120'000);
  update.set_expected_revision(99);
  EXPECT_EQ(schedules_->UpdateSchedule(Context().get(), update, &response)
                .error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);

  v1::TriggerScheduleRequest trigger;
  trigger.set_schedule_id("nope");
  v1::TriggerScheduleResponse triggered;
  EXPECT_EQ(schedules_->TriggerSchedule(Context().get(), trigger, &triggered)
                .error_code(),
            grpc::StatusCode::NOT_FOUND);
  trigger.set_schedule_id("dup");
  trigger.set_overlap(static_cast<v1::OverlapPolicy>(42));
  EXPECT_EQ(schedules_->TriggerSchedule(Context().get(), trigger, &triggered)
                .error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(ServerScheduleTest, SchedulesSurviveKill9WithoutDoubleFires) {
  ASSERT_TRUE(Create("durable", 1000).ok());
  ASSERT_TRUE(Eventually([&] { return RunsOf("durable").size() >= 2; },
                         std::chrono::seconds(15)));
  server_.Kill9();
  Restart();
  const size_t before = RunsOf("durable").size();
  ASSERT_TRUE(Eventually([&] { return RunsOf("durable").size() >= before + 2; },
                         std::chrono::seconds(15)));
  std::set<std::string> nominal;
  for (const v1::Run& r : RunsOf("durable")) {
    EXPECT_TRUE(nominal.insert(r.nominal_time().DebugString()).second)
        << "two runs for one fire time: " << r.run_id();
  }
}

TEST_F(ServerScheduleTest, DelayedStartWaitsAndSurvivesKill9) {
  v1::StartRunRequest request;
  request.set_workflow("sched_quick");
  request.set_start_delay_ms(2000);
  v1::StartRunResponse started;
  ASSERT_TRUE(
      server_.workflows().StartRun(Context().get(), request, &started).ok());
  v1::Run run = GetRun(server_, started.run_id());
  EXPECT_EQ(StatusName(run.status()), "RUNNING");
  EXPECT_TRUE(run.has_start_at());
  EXPECT_EQ(run.current_steps_size(), 0);

  server_.Kill9();
  Restart();
  run = AwaitStopped(server_, started.run_id());
  EXPECT_EQ(StatusName(run.status()), "COMPLETED");
  const auto types = EventTypes(History(server_, started.run_id()));
  ASSERT_GE(types.size(), 3u);
  EXPECT_EQ(types[1], "TIMER_STARTED");
  EXPECT_EQ(types[2], "TIMER_FIRED");

  request.set_start_delay_ms(-5);
  grpc::Status s =
      server_.workflows().StartRun(Context().get(), request, &started);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  request.set_start_delay_ms(1000);
  request.mutable_start_at()->set_seconds(1);
  s = server_.workflows().StartRun(Context().get(), request, &started);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("not both"));
}

}  // namespace
}  // namespace sagaflow::testing
