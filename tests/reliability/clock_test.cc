// The wall clock jumps under a real sagaflowd (libfaketime from Debian moves
// its CLOCK_REALTIME; the monotonic clock is left alone, as NTP would): a
// jump forward fires each overdue timer once, a jump backward fires nothing
// twice and expires no lease early. The engine tests do the same with an
// injectable clock (EngineFaultsTest.AClockJump*).
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "sagaflow/v1/worker_service.grpc.pb.h"
#include "sagaflow/v1/workflow_service.grpc.pb.h"
#include "tests/reliability/server_child.h"

namespace sagaflow::testing {
namespace {

using nlohmann::json;

constexpr char kFaketimeLibrary[] =
    "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1";

class FaketimeTest : public ::testing::Test {
 protected:
  void SetUp() override {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    GTEST_SKIP() << "a sanitizer runtime must come first: no LD_PRELOAD";
#endif
    if (!std::filesystem::exists(kFaketimeLibrary)) {
      GTEST_SKIP()
          << "faketime is not installed (scripts/setup.sh installs it)";
    }
    offset_file_ = server_.dir() + "/faketime";
    Jump("+0");
    ASSERT_TRUE(server_
                    .Start("", {{"LD_PRELOAD", kFaketimeLibrary},
                                {"FAKETIME_TIMESTAMP_FILE", offset_file_},
                                {"FAKETIME_CACHE_DURATION", "1"},
                                {"FAKETIME_DONT_FAKE_MONOTONIC", "1"}})
                    .has_value())
        << server_.Log();
    auto channel = grpc::CreateChannel(server_.address(),
                                       grpc::InsecureChannelCredentials());
    workflows_ = v1::WorkflowService::NewStub(channel);
    workers_ = v1::WorkerService::NewStub(channel);
  }
  void TearDown() override {
    if (workflows_) {
      EXPECT_EQ(server_.Terminate(), 0) << server_.Log();
    }
  }

  // The server's wall clock becomes real time + `offset` ("+2h", "-30m"),
  // within FAKETIME_CACHE_DURATION.
  void Jump(const std::string& offset) {
    std::ofstream(offset_file_, std::ios::trunc) << offset << "\n";
  }

  void Register(const json& definition) {
    v1::RegisterWorkflowRequest request;
    request.set_definition_json(definition.dump());
    v1::RegisterWorkflowResponse response;
    grpc::Status s =
        workflows_->RegisterWorkflow(Context().get(), request, &response);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  std::string StartRun(const std::string& workflow, const std::string& id) {
    v1::StartRunRequest request;
    request.set_workflow(workflow);
    request.set_run_id(id);
    v1::StartRunResponse response;
    grpc::Status s = workflows_->StartRun(Context().get(), request, &response);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return id;
  }
  v1::Run Get(const std::string& id) {
    v1::GetRunRequest request;
    request.set_run_id(id);
    v1::Run run;
    EXPECT_TRUE(workflows_->GetRun(Context().get(), request, &run).ok());
    return run;
  }
  int Count(const std::string& id, v1::EventType type) {
    v1::GetHistoryRequest request;
    request.set_run_id(id);
    v1::GetHistoryResponse response;
    EXPECT_TRUE(
        workflows_->GetHistory(Context().get(), request, &response).ok());
    int n = 0;
    for (const auto& e : response.events()) n += e.type() == type;
    return n;
  }
  bool AwaitStatus(const std::string& id, v1::RunStatus status) {
    return Eventually([&] { return Get(id).status() == status; },
                      std::chrono::seconds(20));
  }
  std::optional<v1::PollTaskResponse> Poll(const std::string& activity) {
    v1::PollTaskRequest request;
    request.add_activities(activity);
    request.set_wait_ms(10'000);
    v1::PollTaskResponse response;
    grpc::Status s = workers_->PollTask(Context().get(), request, &response);
    if (!s.ok() || response.task_token().empty()) return std::nullopt;
    return response;
  }

  ServerChild server_;
  std::string offset_file_;
  std::unique_ptr<v1::WorkflowService::Stub> workflows_;
  std::unique_ptr<v1::WorkerService::Stub> workers_;
};

TEST_F(FaketimeTest, JumpsForwardAndBackFireTimersOnceAndKeepLeases) {
  Register({{"name", "nap"},
            {"start_at", "w"},
            {"steps",
             {{"w", {{"type", "wait"}, {"duration", "1h"}, {"next", "end"}}},
              {"end", {{"type", "succeed"}}}}}});
  Register({{"name", "leased"},
            {"start_at", "r"},
            {"steps",
             {{"r",
               {{"type", "task"},
                {"activity", "clock.r"},
                {"timeout", "10m"},
                {"retry", {{"max_attempts", 3}}}}}}}});

  // Forward two hours: the one-hour timer is overdue and fires, once.
  const std::string early = StartRun("nap", "early");
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(Get(early).status(), v1::RUN_STATUS_RUNNING);
  Jump("+120m");
  EXPECT_TRUE(AwaitStatus(early, v1::RUN_STATUS_COMPLETED));
  EXPECT_EQ(Count(early, v1::EVENT_TYPE_TIMER_FIRED), 1);

  // At +2h: a new one-hour timer, and a ten-minute lease.
  const std::string late = StartRun("nap", "late");
  const std::string lease = StartRun("leased", "lease");
  auto task = Poll("clock.r");
  ASSERT_TRUE(task.has_value());

  // Back to real time (two hours back): nothing may fire, no lease expire,
  // for longer than the server needs to notice the jump.
  Jump("+0");
  std::this_thread::sleep_for(std::chrono::seconds(3));
  EXPECT_EQ(Get(late).status(), v1::RUN_STATUS_RUNNING);
  EXPECT_EQ(Count(late, v1::EVENT_TYPE_TIMER_FIRED), 0);
  EXPECT_EQ(Count(early, v1::EVENT_TYPE_TIMER_FIRED), 1);
  v1::HeartbeatTaskRequest beat;
  beat.set_task_token(task->task_token());
  v1::HeartbeatTaskResponse beat_response;
  grpc::Status beat_status =
      workers_->HeartbeatTask(Context().get(), beat, &beat_response);
  EXPECT_TRUE(beat_status.ok()) << beat_status.error_message();
  v1::CompleteTaskRequest complete;
  complete.set_task_token(task->task_token());
  complete.set_output_json("{}");
  v1::CompleteTaskResponse completed;
  grpc::Status complete_status =
      workers_->CompleteTask(Context().get(), complete, &completed);
  EXPECT_TRUE(complete_status.ok()) << complete_status.error_message();
  EXPECT_TRUE(AwaitStatus(lease, v1::RUN_STATUS_COMPLETED));
  EXPECT_EQ(Count(lease, v1::EVENT_TYPE_STEP_COMPLETED), 1);
  EXPECT_EQ(Count(lease, v1::EVENT_TYPE_STEP_TIMED_OUT), 0);

  // Forward past "late"'s timer (due at +2h + 1h): it fires, once.
  Jump("+181m");
  EXPECT_TRUE(AwaitStatus(late, v1::RUN_STATUS_COMPLETED));
  EXPECT_EQ(Count(late, v1::EVENT_TYPE_TIMER_FIRED), 1);
  EXPECT_EQ(Count(early, v1::EVENT_TYPE_TIMER_FIRED), 1);
}

}  // namespace
}  // namespace sagaflow::testing
