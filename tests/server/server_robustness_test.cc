// Bad requests get the right status code and a message naming what is wrong,
// and thousands of malformed and random requests leave the server serving.
#include <gmock/gmock.h>
#include <grpcpp/generic/generic_stub.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <limits>
#include <nlohmann/json.hpp>
#include <random>

#include "tests/server/server_harness.h"

namespace sagaflow::testing {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

constexpr int kMaxPayload = 4096;

class ServerRobustnessTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ =
        new ServerProcess({"--max-payload-bytes", std::to_string(kMaxPayload),
                           "--max-definition-bytes", "65536"});
    server_->Start();
    json def = {
        {"name", "robust"},
        {"start_at", "x"},
        {"steps", {{"x", {{"type", "task"}, {"activity", "robust.x"}}}}}};
    Register(*server_, def.dump());
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  ServerProcess& server() { return *server_; }

  grpc::Status RegisterText(const std::string& text) {
    v1::RegisterWorkflowRequest request;
    request.set_definition_json(text);
    v1::RegisterWorkflowResponse response;
    return server().workflows().RegisterWorkflow(Context().get(), request,
                                                 &response);
  }
  grpc::Status StartWith(const std::string& workflow,
                         const std::string& input) {
    v1::StartRunRequest request;
    request.set_workflow(workflow);
    request.set_input_json(input);
    v1::StartRunResponse response;
    return server().workflows().StartRun(Context().get(), request, &response);
  }

  static ServerProcess* server_;
};
ServerProcess* ServerRobustnessTest::server_ = nullptr;

#define EXPECT_CODE(status_expr, code, text)                          \
  do {                                                                \
    grpc::Status s_ = (status_expr);                                  \
    EXPECT_EQ(s_.error_code(), grpc::StatusCode::code)                \
        << #status_expr << ": " << s_.error_message();                \
    EXPECT_THAT(s_.error_message(), HasSubstr(text)) << #status_expr; \
  } while (0)

TEST_F(ServerRobustnessTest, MalformedDefinitionsListEveryError) {
  EXPECT_CODE(RegisterText(""), INVALID_ARGUMENT, "empty");
  EXPECT_CODE(RegisterText("{not json"), INVALID_ARGUMENT, "JSON");
  json def = {{"name", "broken"},
              {"start_at", "a"},
              {"steps",
               {{"a", {{"type", "task"}, {"activity", "x.y"}, {"next", "shp"}}},
                {"ship", {{"type", "taks"}}}}}};
  grpc::Status status = RegisterText(def.dump());
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("steps.a.next"));
  EXPECT_THAT(status.error_message(), HasSubstr("\"ship\""));
  EXPECT_THAT(status.error_message(), HasSubstr("steps.ship.type"));
}

TEST_F(ServerRobustnessTest, OversizedRequestsAreResourceExhausted) {
  // Over the definition limit but inside the message limit: the engine says.
  json big = {{"name", "big"},
              {"description", std::string(70'000, 'd')},
              {"start_at", "x"},
              {"steps", {{"x", {{"type", "succeed"}}}}}};
  EXPECT_CODE(RegisterText(big.dump()), RESOURCE_EXHAUSTED, "limit");
  // Over the message limit: gRPC refuses it before any handler.
  EXPECT_EQ(RegisterText(std::string(300'000, ' ')).error_code(),
            grpc::StatusCode::RESOURCE_EXHAUSTED);
  json input = {{"blob", std::string(kMaxPayload + 100, 'x')}};
  EXPECT_EQ(StartWith("robust", input.dump()).error_code(),
            grpc::StatusCode::RESOURCE_EXHAUSTED);
}

TEST_F(ServerRobustnessTest, BadInputsAndUnknownNames) {
  EXPECT_CODE(StartWith("robust", "{\"a\": "), INVALID_ARGUMENT, "input");
  EXPECT_CODE(StartWith("no_such_flow", "{}"), NOT_FOUND, "no_such_flow");
  EXPECT_CODE(StartWith("", "{}"), INVALID_ARGUMENT, "workflow");

  v1::GetRunRequest get;
  get.set_run_id("no-such-run");
  v1::Run run;
  EXPECT_CODE(server().workflows().GetRun(Context().get(), get, &run),
              NOT_FOUND, "no-such-run");
  v1::GetHistoryRequest history;
  history.set_run_id("no-such-run");
  v1::GetHistoryResponse events;
  EXPECT_CODE(
      server().workflows().GetHistory(Context().get(), history, &events),
      NOT_FOUND, "no-such-run");
  v1::SignalRunRequest signal;
  signal.set_run_id("no-such-run");
  signal.set_name("go");
  v1::SignalRunResponse signalled;
  EXPECT_CODE(
      server().workflows().SignalRun(Context().get(), signal, &signalled),
      NOT_FOUND, "no-such-run");
  v1::CancelRunRequest cancel;
  cancel.set_run_id("no-such-run");
  v1::CancelRunResponse cancelled;
  EXPECT_CODE(
      server().workflows().CancelRun(Context().get(), cancel, &cancelled),
      NOT_FOUND, "no-such-run");
  v1::ResumeRunRequest resume;
  resume.set_run_id("no-such-run");
  v1::ResumeRunResponse resumed;
  EXPECT_CODE(server().workflows().ResumeRun(Context().get(), resume, &resumed),
              NOT_FOUND, "no-such-run");
  v1::WatchRunRequest watch;
  watch.set_run_id("no-such-run");
  auto context = Context();
  auto reader = server().workflows().WatchRun(context.get(), watch);
  v1::HistoryEvent event;
  EXPECT_FALSE(reader->Read(&event));
  EXPECT_CODE(reader->Finish(), NOT_FOUND, "no-such-run");

  const std::string run_id = Start(server(), "robust");
  signal.set_run_id(run_id);
  signal.set_payload_json("[1,");
  EXPECT_CODE(
      server().workflows().SignalRun(Context().get(), signal, &signalled),
      INVALID_ARGUMENT, "payload");
  auto task = Poll(server(), {"robust.x"});
  ASSERT_TRUE(task.has_value());
  EXPECT_CODE(Complete(server(), task->task_token(), "{oops"), INVALID_ARGUMENT,
              "output");
  EXPECT_CODE(Fail(server(), task->task_token(), ""), INVALID_ARGUMENT,
              "error");

  // The largest after_seq means "nothing after it", not a wrap to 0.
  history.set_run_id(run_id);
  history.set_after_seq(std::numeric_limits<uint64_t>::max());
  ASSERT_TRUE(
      server().workflows().GetHistory(Context().get(), history, &events).ok());
  EXPECT_EQ(events.events_size(), 0);
  // Names the engine stores are bounded.
  signal.set_name(std::string(300, 'n'));
  signal.set_payload_json("1");
  EXPECT_CODE(
      server().workflows().SignalRun(Context().get(), signal, &signalled),
      INVALID_ARGUMENT, "name is longer than 256 bytes");
  EXPECT_CODE(Fail(server(), task->task_token(), std::string(300, 'E')),
              INVALID_ARGUMENT, "error is longer");

  v1::PollTaskRequest poll;
  v1::PollTaskResponse polled;
  poll.add_activities("robust.x");
  poll.set_worker_id(std::string(1000, 'w'));
  EXPECT_CODE(server().workers().PollTask(Context().get(), poll, &polled),
              INVALID_ARGUMENT, "worker_id");
  poll.Clear();
  EXPECT_CODE(server().workers().PollTask(Context().get(), poll, &polled),
              INVALID_ARGUMENT, "activities");

  v1::ListRunsRequest list;
  v1::ListRunsResponse listed;
  list.set_page_size(-1);
  EXPECT_CODE(server().workflows().ListRuns(Context().get(), list, &listed),
              INVALID_ARGUMENT, "page_size");
  list.set_page_size(10);
  list.set_page_token("garbage!");
  EXPECT_EQ(server()
                .workflows()
                .ListRuns(Context().get(), list, &listed)
                .error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  list.set_page_token("");
  list.set_status(static_cast<v1::RunStatus>(99));
  EXPECT_CODE(server().workflows().ListRuns(Context().get(), list, &listed),
              INVALID_ARGUMENT, "status");
}

// Thousands of malformed and random requests: typed ones with random and
// mutated fields, and raw random bytes to every method. Then the server must
// still be up and run a workflow end to end.
TEST_F(ServerRobustnessTest, SurvivesThousandsOfRandomRequests) {
  std::mt19937_64 rng(20261125);
  auto pick = [&](size_t n) { return static_cast<size_t>(rng() % n); };
  auto random_text = [&](size_t max_len) {
    std::string s(pick(max_len + 1), ' ');
    for (char& c : s) c = static_cast<char>(32 + pick(95));
    return s;
  };
  const std::string valid =
      json({{"name", "fuzzed"},
            {"start_at", "a"},
            {"steps",
             {{"a",
               {{"type", "task"}, {"activity", "builtin.noop"}, {"next", "b"}}},
              {"b", {{"type", "wait"}, {"duration", "10ms"}}}}}})
          .dump();
  auto mutate = [&](std::string s) {
    const size_t edits = 1 + pick(4);
    for (size_t i = 0; i < edits && !s.empty(); ++i) {
      const size_t at = pick(s.size());
      switch (pick(3)) {
        case 0:
          s[at] = static_cast<char>(32 + pick(95));
          break;
        case 1:
          s.erase(at, 1 + pick(8));
          break;
        default:
          s.insert(at, random_text(8));
          break;
      }
    }
    return s;
  };
  auto& wf = server().workflows();
  auto& wk = server().workers();
  int answered = 0;
  for (int i = 0; i < 3000; ++i) {
    auto context = Context(std::chrono::seconds(10));
    grpc::Status status;
    switch (pick(10)) {
      case 0: {
        v1::RegisterWorkflowRequest r;
        r.set_definition_json(pick(2) ? mutate(valid) : random_text(200));
        v1::RegisterWorkflowResponse out;
        status = wf.RegisterWorkflow(context.get(), r, &out);
        break;
      }
      case 1: {
        v1::StartRunRequest r;
        r.set_workflow(pick(2) ? "fuzzed" : random_text(20));
        r.set_input_json(pick(2) ? mutate("{\"a\": [1, 2, {\"b\": null}]}")
                                 : random_text(50));
        r.set_run_id(pick(4) == 0 ? random_text(40) : "");
        r.set_version(static_cast<uint32_t>(pick(4)));
        v1::StartRunResponse out;
        status = wf.StartRun(context.get(), r, &out);
        break;
      }
      case 2: {
        v1::GetRunRequest r;
        r.set_run_id(random_text(40));
        v1::Run out;
        status = wf.GetRun(context.get(), r, &out);
        break;
      }
      case 3: {
        v1::ListRunsRequest r;
        r.set_workflow(random_text(10));
        r.set_page_size(static_cast<int32_t>(rng()));
        r.set_page_token(random_text(30));
        r.set_status(static_cast<v1::RunStatus>(pick(12)));
        v1::ListRunsResponse out;
        status = wf.ListRuns(context.get(), r, &out);
        break;
      }
      case 4: {
        v1::SignalRunRequest r;
        r.set_run_id(random_text(30));
        r.set_name(random_text(10));
        r.set_payload_json(random_text(40));
        v1::SignalRunResponse out;
        status = wf.SignalRun(context.get(), r, &out);
        break;
      }
      case 5: {
        v1::CompleteTaskRequest r;
        r.set_task_token(random_text(120));
        r.set_output_json(random_text(40));
        v1::CompleteTaskResponse out;
        status = wk.CompleteTask(context.get(), r, &out);
        break;
      }
      case 6: {
        v1::FailTaskRequest r;
        r.set_task_token(random_text(120));
        r.set_error(random_text(10));
        r.set_non_retryable(pick(2));
        v1::FailTaskResponse out;
        status = wk.FailTask(context.get(), r, &out);
        break;
      }
      case 7: {
        v1::HeartbeatTaskRequest r;
        r.set_task_token(random_text(120));
        v1::HeartbeatTaskResponse out;
        status = wk.HeartbeatTask(context.get(), r, &out);
        break;
      }
      case 8: {
        v1::PollTaskRequest r;
        for (size_t n = pick(3); n > 0; --n) r.add_activities(random_text(12));
        r.set_wait_ms(static_cast<uint32_t>(1 + pick(5)));
        v1::PollTaskResponse out;
        status = wk.PollTask(context.get(), r, &out);
        break;
      }
      default: {
        // Raw bytes that may not even parse as the method's request.
        static const char* kMethods[] = {
            "/sagaflow.v1.WorkflowService/RegisterWorkflow",
            "/sagaflow.v1.WorkflowService/StartRun",
            "/sagaflow.v1.WorkflowService/GetRun",
            "/sagaflow.v1.WorkflowService/GetHistory",
            "/sagaflow.v1.WorkflowService/CancelRun",
            "/sagaflow.v1.WorkerService/CompleteTask",
            "/sagaflow.v1.WorkerService/PollTask",
            "/sagaflow.v1.NoSuchService/Nothing"};
        std::string bytes(pick(64), '\0');
        for (char& c : bytes) c = static_cast<char>(rng());
        grpc::GenericStub generic(server().channel());
        grpc::CompletionQueue cq;
        grpc::Slice slice(bytes);
        grpc::ByteBuffer request(&slice, 1);
        grpc::ByteBuffer response;
        auto rpc = generic.PrepareUnaryCall(context.get(), kMethods[pick(8)],
                                            request, &cq);
        rpc->StartCall();
        rpc->Finish(&response, &status, reinterpret_cast<void*>(1));
        void* tag;
        bool ok;
        cq.Next(&tag, &ok);
        cq.Shutdown();
        while (cq.Next(&tag, &ok)) {
        }
        break;
      }
    }
    EXPECT_NE(status.error_code(), grpc::StatusCode::INTERNAL)
        << "request " << i << ": " << status.error_message();
    EXPECT_NE(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED)
        << "request " << i << " hung";
    ++answered;
  }
  EXPECT_EQ(answered, 3000);
  ASSERT_EQ(kill(server().pid(), 0), 0) << "the server died:\n"
                                        << server().Log();

  // Still serving: a run from start to end, with a remote step.
  const std::string run_id = Start(server(), "robust");
  auto task = Poll(server(), {"robust.x"});
  ASSERT_TRUE(task.has_value());
  ASSERT_TRUE(Complete(server(), task->task_token(), R"({"ok": true})").ok());
  EXPECT_EQ(StatusName(AwaitStopped(server(), run_id).status()), "COMPLETED");
}

}  // namespace
}  // namespace sagaflow::testing
