// sagaflowd as a process: kill -9 with runs in flight and a restart that
// finishes them, SIGTERM with long polls parked, many parked polls without a
// thread each, health, reflection and metrics.
#include <gmock/gmock.h>
#include <grpcpp/generic/generic_stub.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>

#include <atomic>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "tests/server/server_harness.h"

namespace sagaflow::testing {
namespace {

using nlohmann::json;

// Three remote steps, each compensated; per-attempt timeout 1 s so attempts
// leased to a worker that vanished with the server are retried soon.
json ThreeStepSaga(const std::string& name) {
  json steps;
  const std::vector<std::string> names = {"s1", "s2", "s3"};
  for (size_t i = 0; i < names.size(); ++i) {
    json step = {
        {"type", "task"},
        {"activity", name + "." + names[i]},
        {"timeout", "1s"},
        {"retry", {{"max_attempts", 20}, {"initial_interval", "50ms"}}},
        {"compensate", {{"activity", name + ".undo"}}}};
    if (i + 1 < names.size()) step["next"] = names[i + 1];
    steps[names[i]] = step;
  }
  return {{"name", name}, {"start_at", "s1"}, {"steps", steps}};
}

std::vector<std::string> Activities(const std::string& name) {
  return {name + ".s1", name + ".s2", name + ".s3", name + ".undo"};
}

int ThreadCount(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("Threads:", 0) == 0) return std::stoi(line.substr(8));
  }
  return -1;
}

TEST(ServerProcessTest,
     KillNineLosesNothingAcknowledgedAndRestartFinishesRuns) {
  ServerProcess server;
  server.Start();
  Register(server, ThreeStepSaga("crashy").dump());

  // Starts keep coming while the server is killed: every acknowledged one
  // must exist afterwards.
  std::mutex mu;
  std::vector<std::string> acked_runs;
  std::set<std::pair<std::string, std::string>> acked_completions;
  std::atomic<bool> stop{false};
  auto channel = server.channel();
  std::thread starter([&, stub = v1::WorkflowService::NewStub(channel)] {
    for (int i = 0; !stop.load() && i < 400; ++i) {
      v1::StartRunRequest request;
      request.set_workflow("crashy");
      v1::StartRunResponse response;
      if (!stub->StartRun(Context().get(), request, &response).ok()) break;
      std::lock_guard<std::mutex> lock(mu);
      acked_runs.push_back(response.run_id());
    }
  });
  std::thread worker([&, stub = v1::WorkerService::NewStub(channel)] {
    while (!stop.load()) {
      v1::PollTaskRequest poll;
      for (const auto& a : Activities("crashy")) poll.add_activities(a);
      poll.set_wait_ms(200);
      v1::PollTaskResponse task;
      if (!stub->PollTask(Context().get(), poll, &task).ok()) break;
      if (task.task_token().empty()) continue;
      v1::CompleteTaskRequest complete;
      complete.set_task_token(task.task_token());
      v1::CompleteTaskResponse done;
      if (!stub->CompleteTask(Context().get(), complete, &done).ok()) break;
      std::lock_guard<std::mutex> lock(mu);
      acked_completions.insert({task.run_id(), task.step()});
    }
  });
  ASSERT_TRUE(Eventually([&] {
    std::lock_guard<std::mutex> lock(mu);
    return acked_runs.size() >= 50 && acked_completions.size() >= 40;
  }));
  server.Kill9();
  stop.store(true);
  starter.join();
  worker.join();

  server.Start();
  std::map<std::string, std::set<std::string>> completed_steps;
  for (const std::string& run_id : acked_runs) {
    v1::GetRunRequest request;
    request.set_run_id(run_id);
    v1::Run run;
    ASSERT_TRUE(server.workflows().GetRun(Context().get(), request, &run).ok())
        << "acknowledged start of " << run_id << " was lost";
  }
  // Finish every run with a fresh worker; attempts leased before the crash
  // time out and are offered again.
  std::atomic<bool> finishing{true};
  std::thread finisher([&] {
    while (finishing.load()) {
      auto task =
          Poll(server, Activities("crashy"), std::chrono::milliseconds(200));
      // NOT_FOUND is possible: an attempt that timed out meanwhile.
      if (task) Complete(server, task->task_token()).ok();
    }
  });
  for (const std::string& run_id : acked_runs) {
    v1::Run run = AwaitStopped(server, run_id, std::chrono::seconds(60));
    EXPECT_EQ(StatusName(run.status()), "COMPLETED") << run_id;
    for (const auto& e : History(server, run_id)) {
      if (EventName(e.type()) == "STEP_COMPLETED") {
        completed_steps[run_id].insert(e.step());
      }
    }
  }
  finishing.store(false);
  finisher.join();
  for (const auto& [run_id, step] : acked_completions) {
    EXPECT_TRUE(completed_steps[run_id].count(step))
        << "acknowledged completion of " << run_id << "/" << step << " lost";
  }
  EXPECT_EQ(server.Terminate(), 0);
}

TEST(ServerProcessTest, SigtermEndsParkedPollsAndExitsZero) {
  ServerProcess server({"--grace-period", "3s"});
  server.Start();
  constexpr int kPollers = 40;
  std::atomic<int> answered{0};
  std::atomic<int> bad{0};
  std::mutex mu;
  std::vector<std::chrono::steady_clock::time_point> answered_at;  // mu
  std::vector<std::thread> pollers;
  for (int i = 0; i < kPollers; ++i) {
    pollers.emplace_back([&] {
      v1::PollTaskRequest request;
      request.add_activities("nobody.sends.this");
      request.set_wait_ms(60'000);
      v1::PollTaskResponse response;
      grpc::Status status = server.workers().PollTask(
          Context(std::chrono::seconds(90)).get(), request, &response);
      {
        std::lock_guard<std::mutex> lock(mu);
        answered_at.push_back(std::chrono::steady_clock::now());
      }
      // An empty answer, or UNAVAILABLE if the poll arrived as the server
      // was closing: either way at once, not after 60 s.
      if (!(status.ok() && response.task_token().empty()) &&
          status.error_code() != grpc::StatusCode::UNAVAILABLE) {
        ++bad;
      }
      ++answered;
    });
  }
  // Let the polls park (a parked poll is invisible from outside; the log
  // has no line per poll), then stop.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const auto stopping = std::chrono::steady_clock::now();
  EXPECT_EQ(server.Terminate(std::chrono::seconds(20)), 0) << server.Log();
  const auto exited = std::chrono::steady_clock::now();
  for (auto& t : pollers) t.join();
  EXPECT_EQ(answered.load(), kPollers);
  EXPECT_EQ(bad.load(), 0);
  // The parked polls are answered at once, well before the grace period
  // would cancel them...
  for (const auto& at : answered_at) {
    EXPECT_LT(at - stopping, std::chrono::milliseconds(1500));
  }
  // ...and the server exits within the grace period. It may use the period
  // even with no call left: gRPC closes each connection with a GOAWAY and a
  // PING round trip, and a client that is slow to answer holds the exit
  // until the grace period cuts the connection (docs/SERVER.md).
  EXPECT_LT(exited - stopping, std::chrono::seconds(3 + 2));
  EXPECT_THAT(server.Log(), ::testing::HasSubstr("SIGTERM received"));
}

// A load balancer watching grpc.health.v1 sees the server go NOT_SERVING as
// soon as SIGTERM arrives, before it stops taking calls.
TEST(ServerProcessTest, SigtermTurnsHealthNotServingForWatchers) {
  ServerProcess server({"--grace-period", "3s"});
  server.Start();
  grpc::GenericStub generic(server.channel());
  grpc::CompletionQueue cq;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(20));
  auto stream =
      generic.PrepareCall(&context, "/grpc.health.v1.Health/Watch", &cq);
  void* tag;
  bool ok;
  stream->StartCall(reinterpret_cast<void*>(1));
  ASSERT_TRUE(cq.Next(&tag, &ok) && ok);
  // HealthCheckRequest{service: ""} is the empty message.
  grpc::ByteBuffer request(nullptr, 0);
  stream->Write(request, reinterpret_cast<void*>(2));
  ASSERT_TRUE(cq.Next(&tag, &ok) && ok);
  stream->WritesDone(reinterpret_cast<void*>(3));
  ASSERT_TRUE(cq.Next(&tag, &ok) && ok);
  auto read_status = [&]() -> std::string {
    grpc::ByteBuffer response;
    stream->Read(&response, reinterpret_cast<void*>(4));
    if (!cq.Next(&tag, &ok) || !ok) return "stream ended";
    return BufferBytes(response);
  };
  // HealthCheckResponse{status: SERVING (1)} is 08 01; NOT_SERVING (2) 08 02.
  EXPECT_EQ(read_status(), std::string("\x08\x01", 2));
  ASSERT_EQ(kill(server.pid(), SIGTERM), 0);
  EXPECT_EQ(read_status(), std::string("\x08\x02", 2));
  context.TryCancel();
  grpc::Status finish;
  stream->Finish(&finish, reinterpret_cast<void*>(5));
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
  EXPECT_EQ(server.Terminate(std::chrono::seconds(20)), 0) << server.Log();
}

TEST(ServerProcessTest,
     HundredsOfParkedPollsShareAFewThreadsAndAreServedFairly) {
  ServerProcess server;
  server.Start();
  json def = {{"name", "fanin"},
              {"start_at", "x"},
              {"steps", {{"x", {{"type", "task"}, {"activity", "fanin.x"}}}}}};
  Register(server, def.dump());
  const int threads_idle = ThreadCount(server.pid());

  constexpr int kPolls = 300;
  grpc::CompletionQueue cq;
  struct Call {
    grpc::ClientContext context;
    v1::PollTaskResponse response;
    grpc::Status status;
    std::unique_ptr<grpc::ClientAsyncResponseReader<v1::PollTaskResponse>> rpc;
  };
  std::vector<std::unique_ptr<Call>> calls;
  for (int i = 0; i < kPolls; ++i) {
    auto call = std::make_unique<Call>();
    call->context.set_deadline(std::chrono::system_clock::now() +
                               std::chrono::seconds(60));
    v1::PollTaskRequest request;
    request.add_activities("fanin.x");
    request.set_worker_id("poller-" + std::to_string(i));
    request.set_wait_ms(45'000);
    call->rpc = server.workers().AsyncPollTask(&call->context, request, &cq);
    call->rpc->Finish(&call->response, &call->status, call.get());
    calls.push_back(std::move(call));
  }
  // Wait for the server to hold them all: they are parked once runs started
  // now are all taken by them.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const int threads_parked = ThreadCount(server.pid());
  EXPECT_LT(threads_parked, threads_idle + 16)
      << "parked polls must not hold a thread each";

  std::set<std::string> started;
  for (int i = 0; i < kPolls; ++i) started.insert(Start(server, "fanin"));
  std::set<std::string> delivered;
  std::set<Call*> answered;
  for (int i = 0; i < kPolls; ++i) {
    void* tag = nullptr;
    bool ok = false;
    ASSERT_TRUE(cq.Next(&tag, &ok));
    Call* call = static_cast<Call*>(tag);
    ASSERT_TRUE(call->status.ok()) << call->status.error_message();
    EXPECT_FALSE(call->response.task_token().empty());
    delivered.insert(call->response.run_id());
    answered.insert(call);
    EXPECT_TRUE(Complete(server, call->response.task_token()).ok());
  }
  // Every poll got exactly one task and every run was delivered once.
  EXPECT_EQ(answered.size(), static_cast<size_t>(kPolls));
  EXPECT_EQ(delivered, started);
  cq.Shutdown();
  void* tag;
  bool ok;
  while (cq.Next(&tag, &ok)) {
  }
}

// grpc.health.v1.Health/Check and the reflection service, by raw bytes: the
// test needs no generated code for them.
TEST(ServerProcessTest, HealthAndReflectionAreServed) {
  ServerProcess server;
  server.Start();
  grpc::GenericStub generic(server.channel());
  grpc::CompletionQueue cq;

  auto unary = [&](const std::string& method,
                   const std::string& request_bytes) -> std::string {
    grpc::Slice slice(request_bytes);
    grpc::ByteBuffer request(&slice, 1);
    grpc::ByteBuffer response;
    grpc::Status status;
    auto context = Context();
    auto rpc = generic.PrepareUnaryCall(context.get(), method, request, &cq);
    rpc->StartCall();
    rpc->Finish(&response, &status, reinterpret_cast<void*>(1));
    void* tag;
    bool ok;
    EXPECT_TRUE(cq.Next(&tag, &ok));
    EXPECT_TRUE(status.ok()) << method << ": " << status.error_message();
    return BufferBytes(response);
  };
  // HealthCheckResponse{status: SERVING (1)} is the bytes 08 01.
  EXPECT_EQ(unary("/grpc.health.v1.Health/Check", ""),
            std::string("\x08\x01", 2));

  // ServerReflectionRequest{list_services: ""} (field 7), on the bidi stream.
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(10));
  auto stream = generic.PrepareCall(
      &context,
      "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", &cq);
  void* tag;
  bool ok;
  stream->StartCall(reinterpret_cast<void*>(2));
  ASSERT_TRUE(cq.Next(&tag, &ok) && ok);
  grpc::Slice slice(std::string("\x3a\x00", 2));
  grpc::ByteBuffer request(&slice, 1);
  stream->Write(request, reinterpret_cast<void*>(3));
  ASSERT_TRUE(cq.Next(&tag, &ok) && ok);
  grpc::ByteBuffer response;
  stream->Read(&response, reinterpret_cast<void*>(4));
  ASSERT_TRUE(cq.Next(&tag, &ok) && ok);
  ASSERT_TRUE(response.Valid());
  const std::string bytes = BufferBytes(response);
  EXPECT_THAT(bytes, ::testing::HasSubstr("sagaflow.v1.WorkflowService"));
  EXPECT_THAT(bytes, ::testing::HasSubstr("sagaflow.v1.WorkerService"));
  EXPECT_THAT(bytes, ::testing::HasSubstr("grpc.health.v1.Health"));
  context.TryCancel();
  grpc::Status finish;
  stream->Finish(&finish, reinterpret_cast<void*>(5));
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
}

TEST(ServerProcessTest, MetricsCountRunsStepsQueuesAndCommits) {
  ServerProcess server({"--metrics-listen", "127.0.0.1:0"});
  server.Start();
  std::smatch match;
  const std::string log = server.Log();
  ASSERT_TRUE(
      std::regex_search(log, match, std::regex("metrics on port (\\d+)")))
      << log;
  const int port = std::stoi(match[1]);

  json done = {
      {"name", "metered"},
      {"start_at", "x"},
      {"steps", {{"x", {{"type", "task"}, {"activity", "builtin.echo"}}}}}};
  Register(server, done.dump());
  json waiting = {
      {"name", "queued"},
      {"start_at", "x"},
      {"steps", {{"x", {{"type", "task"}, {"activity", "metered.remote"}}}}}};
  Register(server, waiting.dump());
  for (int i = 0; i < 3; ++i) AwaitStopped(server, Start(server, "metered"));
  Start(server, "queued");
  Start(server, "queued");

  httplib::Client http("127.0.0.1", port);
  auto scraped = http.Get("/metrics");
  ASSERT_TRUE(scraped) << "no answer from the metrics port";
  ASSERT_EQ(scraped->status, 200);
  const std::string& text = scraped->body;
  EXPECT_THAT(text, ::testing::HasSubstr(
                        "sagaflow_runs_started_total{workflow=\"metered\"} 3"));
  EXPECT_THAT(text, ::testing::HasSubstr("sagaflow_runs_finished_total{"));
  EXPECT_TRUE(
      std::regex_search(text, std::regex("sagaflow_runs_finished_total\\{[^}]*"
                                         "status=\"COMPLETED\"[^}]*\\} 3")))
      << text;
  EXPECT_THAT(text, ::testing::HasSubstr(
                        "sagaflow_queue_depth{activity=\"metered.remote\"} 2"));
  EXPECT_TRUE(std::regex_search(
      text, std::regex("sagaflow_step_duration_seconds_count\\{kind=\"step\","
                       "outcome=\"ok\"\\} 3")))
      << text;
  EXPECT_TRUE(std::regex_search(
      text, std::regex("sagaflow_commit_duration_seconds_count [1-9]")))
      << text;
}

TEST(ServerProcessTest, ExecRunsOnlyWhatTheServerAllows) {
  json def = {{"name", "converter"},
              {"start_at", "convert"},
              {"on_failure", "fail"},
              {"steps",
               {{"convert",
                 {{"type", "task"},
                  {"activity", "builtin.exec"},
                  {"input",
                   {{"command", {"sh", "-c", "tr a-z A-Z"}},
                    {"stdin", "$.input.text"}}},
                  {"retry", {{"max_attempts", 1}}}}}}}};
  {
    ServerProcess off;  // No --allow-exec: exec is off and says so.
    off.Start();
    Register(off, def.dump());
    v1::Run run =
        AwaitStopped(off, Start(off, "converter", R"({"text": "x"})"));
    EXPECT_EQ(StatusName(run.status()), "FAILED");
    EXPECT_EQ(run.error(), "ExecDisabled");
    EXPECT_THAT(run.error_message(), ::testing::HasSubstr("--allow-exec"));
  }
  ServerProcess on({"--allow-exec", "/usr/bin,/bin"});
  on.Start();
  Register(on, def.dump());
  v1::Run run =
      AwaitStopped(on, Start(on, "converter", R"({"text": "shout"})"));
  EXPECT_EQ(StatusName(run.status()), "COMPLETED") << run.error_message();
  EXPECT_EQ(json::parse(run.output_json())["stdout"], "SHOUT");
}

// The sample pipeline: builtin.http fetches from a local server whose first
// answer is a 503 (retried), then builtin.exec converts what it fetched.
TEST(ServerProcessTest, DocumentPipelineFetchesRetriesAndConverts) {
  httplib::Server web;
  web.set_keep_alive_max_count(1);
  std::atomic<int> calls{0};
  web.Get("/report.txt", [&](const httplib::Request&, httplib::Response& res) {
    if (calls++ == 0) {
      res.status = 503;
      res.set_content("warming up", "text/plain");
      return;
    }
    res.set_content("quarterly report", "text/plain");
  });
  const int port = web.bind_to_any_port("127.0.0.1");
  std::thread serving([&] { web.listen_after_bind(); });
  while (!web.is_running()) std::this_thread::yield();  // So stop() is seen.

  ServerProcess server({"--allow-exec", "/usr/bin,/bin"});
  server.Start();
  std::ifstream file(SourceDir() + "/samples/document_pipeline.json");
  std::stringstream text;
  text << file.rdbuf();
  Register(server, text.str());
  const std::string url =
      "http://127.0.0.1:" + std::to_string(port) + "/report.txt";
  v1::Run run = AwaitStopped(
      server, Start(server, "document_pipeline", json({{"url", url}}).dump()));
  web.stop();
  serving.join();
  ASSERT_EQ(StatusName(run.status()), "COMPLETED") << run.error_message();
  json output = json::parse(run.output_json());
  EXPECT_EQ(output["status"], 200);
  EXPECT_EQ(output["converted"], "QUARTERLY REPORT");
  EXPECT_EQ(output["words"], 2);  // wc's "2\n" is JSON: a number.
  EXPECT_EQ(calls.load(), 2);
  EXPECT_THAT(EventTypes(History(server, run.run_id())),
              ::testing::Contains("STEP_RETRY_SCHEDULED"));
}

}  // namespace
}  // namespace sagaflow::testing
