// The server commands over real gRPC against FakeWorkflowService: what they
// send, what they print in both output formats, their exit codes, and how
// --wait and --follow survive a stream that breaks or a server that restarts.
#include "cli/server_commands.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "cli/cli.h"
#include "tests/cli/fake_server.h"
#include "tests/cli/test_support.h"

namespace sagaflow::cli {
namespace {

namespace fs = std::filesystem;
using testing::FakeServer;
using testing::FakeState;

using testdata::Outcome;
using testdata::RunCli;

nlohmann::json ParseJson(const std::string& text) {
  try {
    return nlohmann::json::parse(text);
  } catch (const std::exception& e) {
    ADD_FAILURE() << "not one JSON document (" << e.what() << "):\n" << text;
    return nullptr;
  }
}

using testdata::kThreeMistakes;
using testdata::kValid;

class ServerCommandsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<FakeServer>(&state_);
    ASSERT_TRUE(server_->ok());
    dir_ = fs::temp_directory_path() /
           ("sagaflow-cli-server-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override {
    server_.reset();
    fs::remove_all(dir_);
  }

  // The CLI pointed at the fake server.
  Outcome Cli(std::vector<std::string> args) {
    args.insert(args.begin(), {"--server", server_->address()});
    return RunCli(std::move(args));
  }

  std::string Write(const std::string& name, const std::string& text) {
    const fs::path path = dir_ / name;
    std::ofstream(path) << text;
    return path.string();
  }

  // A run of a workflow the test drives by hand.
  std::string StartManualRun(const std::string& run_id) {
    const Outcome r = Cli({"run", "start", "manual", "--run-id", run_id});
    EXPECT_EQ(r.code, kExitOk) << r.err;
    return run_id;
  }

  FakeState state_;
  std::unique_ptr<FakeServer> server_;
  fs::path dir_;
};

TEST_F(ServerCommandsTest, RegisterCreatesThenReportsUnchanged) {
  const std::string file = Write("tiny.json", kValid);
  Outcome r = Cli({"workflow", "register", file});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out, "tiny version 1 created\n");
  r = Cli({"workflow", "register", file});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_NE(r.out.find("tiny version 1 unchanged"), std::string::npos);
  r = Cli({"-o", "json", "workflow", "register", file});
  EXPECT_EQ(ParseJson(r.out),
            nlohmann::json::parse(
                R"({"name": "tiny", "version": 1, "created": false})"));
}

TEST_F(ServerCommandsTest, RegisterInvalidPrintsEveryErrorAndExitsTwo) {
  const Outcome r =
      Cli({"workflow", "register", Write("bad.json", kThreeMistakes)});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_TRUE(r.out.empty());
  EXPECT_EQ(r.err.rfind("error: ", 0), 0u) << r.err;
  EXPECT_NE(r.err.find("  steps.charge.next: no step named \"shp\""),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("  steps.reserve.timeout"), std::string::npos);
  EXPECT_NE(r.err.find("  steps.ship.type"), std::string::npos);
  // No gRPC code names or numbers.
  EXPECT_EQ(r.err.find("INVALID_ARGUMENT"), std::string::npos);
}

TEST_F(ServerCommandsTest, RegisterMissingFileIsAUsageError) {
  const Outcome r = Cli({"workflow", "register", (dir_ / "nope").string()});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_NE(r.err.find("cannot open"), std::string::npos);
}

TEST_F(ServerCommandsTest, WorkflowListShowAndGraphByName) {
  ASSERT_EQ(Cli({"workflow", "register", Write("tiny.json", kValid)}).code, 0);
  Outcome r = Cli({"workflow", "list"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out.rfind("NAME  VERSION  STEPS  CREATED", 0), 0u) << r.out;
  EXPECT_NE(r.out.find("\ntiny  1        2      "), std::string::npos) << r.out;

  r = Cli({"-o", "json", "workflow", "list"});
  nlohmann::json doc = ParseJson(r.out);
  ASSERT_EQ(doc["workflows"].size(), 1u);
  EXPECT_EQ(doc["workflows"][0]["name"], "tiny");
  EXPECT_EQ(doc["next_page_token"], "");

  r = Cli({"workflow", "show", "tiny"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_NE(r.out.find("Workflow:     tiny\nVersion:      1\n"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("\"start_at\": \"a\""), std::string::npos) << r.out;

  r = Cli({"-o", "json", "workflow", "show", "tiny", "--version", "1"});
  doc = ParseJson(r.out);
  EXPECT_EQ(doc["definition"]["start_at"], "a");
  EXPECT_EQ(doc["version"], 1);

  r = Cli({"workflow", "graph", "tiny"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_NE(r.out.find("flowchart TD"), std::string::npos) << r.out;
  r = Cli({"-o", "json", "workflow", "graph", "tiny", "--format", "dot"});
  doc = ParseJson(r.out);
  EXPECT_EQ(doc["workflow"], "tiny");
  EXPECT_EQ(doc["version"], 1);
  EXPECT_EQ(doc["graph"].get<std::string>().rfind("digraph", 0), 0u);

  r = Cli({"workflow", "show", "nope"});
  EXPECT_EQ(r.code, kExitFailed);
  EXPECT_EQ(r.err, "error: workflow \"nope\" not found\n");
  r = Cli({"workflow", "graph", "nope"});
  EXPECT_EQ(r.code, kExitFailed);
  EXPECT_NE(r.err.find("(and there is no file nope)"), std::string::npos)
      << r.err;
}

TEST_F(ServerCommandsTest, StartPrintsTheRunId) {
  Outcome r = Cli({"run", "start", "manual", "--input", R"({"n": 1})"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out, "run-1\n");
  EXPECT_EQ(state_.runs["run-1"].input_json(), R"({"n": 1})");

  r = Cli({"-o", "json", "run", "start", "manual", "--run-id", "mine"});
  EXPECT_EQ(
      ParseJson(r.out),
      nlohmann::json::parse(
          R"({"run_id": "mine", "version": 1, "already_started": false})"));
  r = Cli({"run", "start", "manual", "--run-id", "mine"});
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_EQ(r.out, "mine\n");
  EXPECT_NE(r.err.find("already existed"), std::string::npos);
  r = Cli({"-o", "json", "run", "start", "manual", "--run-id", "mine"});
  EXPECT_EQ(ParseJson(r.out)["already_started"], true);
}

TEST_F(ServerCommandsTest, StartReadsInputFromAFile) {
  const Outcome r =
      Cli({"run", "start", "echo", "--input-file",
           Write("in.json", R"({"from": "file"})"), "--wait", "-o", "json"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(ParseJson(r.out)["run"]["output"]["from"], "file");
}

TEST_F(ServerCommandsTest, WaitExitsByTheFinalStatus) {
  Outcome r = Cli({"run", "start", "echo", "--input", R"({"a": 1})", "--wait"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out.rfind("run-1\n\nRun:       run-1\n", 0), 0u) << r.out;
  EXPECT_NE(r.out.find("Status:    COMPLETED\n"), std::string::npos);
  EXPECT_NE(r.out.find("Output:    {\"a\":1}\n"), std::string::npos);

  r = Cli({"-o", "json", "run", "start", "echo", "--input", "[1]", "--wait"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  nlohmann::json doc = ParseJson(r.out);
  EXPECT_EQ(doc["run_id"], "run-2");
  EXPECT_EQ(doc["run"]["status"], "COMPLETED");
  EXPECT_EQ(doc["run"]["output"], nlohmann::json::parse("[1]"));
  EXPECT_FALSE(doc.contains("events"));

  r = Cli({"-o", "json", "run", "start", "declined", "--wait"});
  EXPECT_EQ(r.code, kExitFailed);
  doc = ParseJson(r.out);
  EXPECT_EQ(doc["run"]["status"], "COMPENSATED");
  EXPECT_EQ(doc["run"]["error"], "CardDeclined");
}

TEST_F(ServerCommandsTest, FollowPrintsEveryEvent) {
  Outcome r = Cli({"run", "start", "declined", "--follow"});
  EXPECT_EQ(r.code, kExitFailed);
  EXPECT_NE(r.out.find("SEQ    TIME"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("STEP_FAILED"), std::string::npos);
  EXPECT_NE(r.out.find("COMPENSATION_COMPLETED"), std::string::npos);
  EXPECT_NE(r.out.find("Status:    COMPENSATED"), std::string::npos);
  EXPECT_NE(r.out.find("Error:     CardDeclined: card declined"),
            std::string::npos);

  r = Cli({"-o", "json", "run", "start", "declined", "--follow"});
  const nlohmann::json doc = ParseJson(r.out);
  ASSERT_EQ(doc["events"].size(), 8u) << r.out;
  EXPECT_EQ(doc["events"][0]["type"], "RUN_STARTED");
  EXPECT_EQ(doc["events"][4]["detail"]["error"], "CardDeclined");
  EXPECT_EQ(doc["events"][7]["type"], "RUN_COMPENSATED");
  EXPECT_EQ(doc["run"]["status"], "COMPENSATED");
}

TEST_F(ServerCommandsTest, WaitReconnectsWhenTheStreamBreaks) {
  const std::string id = StartManualRun("r-break");
  state_.break_watch_after = 1;
  auto waiting = std::async(std::launch::async, [&] {
    return Cli(
        {"-o", "json", "run", "start", "manual", "--run-id", id, "--follow"});
  });
  for (int i = 0; i < 3; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    state_.Append(id, v1::EVENT_TYPE_STEP_SCHEDULED, "s" + std::to_string(i),
                  1);
  }
  state_.Append(id, v1::EVENT_TYPE_RUN_COMPLETED);
  state_.SetStatus(id, v1::RUN_STATUS_COMPLETED);
  const Outcome r = waiting.get();
  EXPECT_EQ(r.code, kExitOk) << r.err;
  const nlohmann::json doc = ParseJson(r.out);
  ASSERT_EQ(doc["events"].size(), 5u) << r.out;
  for (size_t i = 0; i < 5; ++i) EXPECT_EQ(doc["events"][i]["seq"], i + 1);
  EXPECT_GE(state_.watch_calls, 2);
  EXPECT_NE(r.err.find("reconnecting"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("reconnected"), std::string::npos) << r.err;
}

TEST_F(ServerCommandsTest, FollowSurvivesAServerRestart) {
  const std::string id = StartManualRun("r-restart");
  const int port = server_->port();
  auto waiting = std::async(std::launch::async, [&] {
    return Cli({"run", "history", id, "--follow"});
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  state_.Append(id, v1::EVENT_TYPE_STEP_SCHEDULED, "before", 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  server_->Stop();  // The stream breaks; the CLI retries.
  state_.Append(id, v1::EVENT_TYPE_STEP_SCHEDULED, "while_down", 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  server_ = std::make_unique<FakeServer>(&state_, port);
  ASSERT_TRUE(server_->ok());
  state_.Append(id, v1::EVENT_TYPE_STEP_SCHEDULED, "after", 1);
  state_.Append(id, v1::EVENT_TYPE_RUN_COMPLETED);
  state_.SetStatus(id, v1::RUN_STATUS_COMPLETED);
  const Outcome r = waiting.get();
  EXPECT_EQ(r.code, kExitOk) << r.err;
  for (const char* step : {"before", "while_down", "after"}) {
    const size_t at = r.out.find(step);
    EXPECT_NE(at, std::string::npos) << step << "\n" << r.out;
    EXPECT_EQ(r.out.find(step, at + 1), std::string::npos) << step << " twice\n"
                                                           << r.out;
  }
  EXPECT_NE(r.out.find("RUN_COMPLETED"), std::string::npos);
  EXPECT_NE(r.err.find("cannot reach the sagaflow server at 127.0.0.1:" +
                       std::to_string(port)),
            std::string::npos)
      << r.err;
}

TEST_F(ServerCommandsTest, WaitTimeout) {
  const std::string id = StartManualRun("r-slow");
  const auto start = std::chrono::steady_clock::now();
  Outcome r = Cli({"run", "start", "manual", "--run-id", id, "--wait",
                   "--wait-timeout", "300ms"});
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_EQ(r.code, kExitFailed);
  EXPECT_NE(r.err.find("run r-slow is still RUNNING after --wait-timeout "
                       "300ms"),
            std::string::npos)
      << r.err;

  // JSON output still names the run that was started.
  r = Cli({"-o", "json", "run", "start", "manual", "--run-id", id, "--wait",
           "--wait-timeout", "200ms"});
  EXPECT_EQ(r.code, kExitFailed);
  const nlohmann::json doc = ParseJson(r.out);
  EXPECT_EQ(doc["run_id"], id);
  EXPECT_FALSE(doc.contains("run"));

  // The server gone for good: exit 3 once the timeout passes.
  server_->Stop();
  r = Cli({"run", "history", id, "--follow", "--wait-timeout", "1s"});
  EXPECT_EQ(r.code, kExitUnreachable);
  EXPECT_NE(r.err.find("gave up after --wait-timeout 1s"), std::string::npos)
      << r.err;
}

TEST_F(ServerCommandsTest, RunListTableJsonFiltersAndPages) {
  ASSERT_EQ(Cli({"run", "start", "echo"}).code, 0);
  ASSERT_EQ(Cli({"run", "start", "declined"}).code, 0);
  ASSERT_EQ(Cli({"run", "start", "manual"}).code, 0);
  Outcome r = Cli({"run", "list"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out.rfind("RUN_ID  WORKFLOW  VERSION  STATUS       CURRENT  "
                        "STARTED",
                        0),
            0u)
      << r.out;
  EXPECT_NE(r.out.find("run-2   declined  1        COMPENSATED  -"),
            std::string::npos)
      << r.out;

  r = Cli({"-o", "json", "run", "list", "--status", "completed"});
  nlohmann::json doc = ParseJson(r.out);
  ASSERT_EQ(doc["runs"].size(), 1u);
  EXPECT_EQ(doc["runs"][0]["run_id"], "run-1");
  EXPECT_EQ(doc["runs"][0]["status"], "COMPLETED");
  EXPECT_EQ(doc["runs"][0]["output"], nlohmann::json::object());

  r = Cli({"-o", "json", "run", "list", "--workflow", "manual"});
  EXPECT_EQ(ParseJson(r.out)["runs"].size(), 1u);

  r = Cli({"-o", "json", "run", "list", "--limit", "2"});
  doc = ParseJson(r.out);
  EXPECT_EQ(doc["runs"].size(), 2u);
  const std::string token = doc["next_page_token"];
  ASSERT_FALSE(token.empty());
  EXPECT_TRUE(r.err.empty());  // JSON mode: the token is in the document.
  r = Cli({"run", "list", "--limit", "2"});
  EXPECT_EQ(r.err,
            "more results: sagaflow run list --page-token " + token + "\n");
  r = Cli({"-o", "json", "run", "list", "--page-token", token});
  doc = ParseJson(r.out);
  ASSERT_EQ(doc["runs"].size(), 1u);
  EXPECT_EQ(doc["runs"][0]["run_id"], "run-3");
}

TEST_F(ServerCommandsTest, RunShowCardAndSteps) {
  ASSERT_EQ(Cli({"run", "start", "declined"}).code, 0);
  Outcome r = Cli({"run", "show", "run-1"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_NE(r.out.find("Status:    COMPENSATED\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("STEP                      STATUS"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("↺ reserve (compensation)  COMPENSATED"),
            std::string::npos)
      << r.out;

  r = Cli({"-o", "json", "run", "show", "run-1"});
  const nlohmann::json doc = ParseJson(r.out);
  EXPECT_EQ(doc["run_id"], "run-1");
  EXPECT_EQ(doc["status"], "COMPENSATED");
  ASSERT_EQ(doc["steps"].size(), 3u);
  EXPECT_EQ(doc["steps"][1]["step"], "charge");
  EXPECT_EQ(doc["steps"][1]["status"], "FAILED");
  EXPECT_EQ(doc["steps"][2]["compensation"], true);

  r = Cli({"run", "show", "nope"});
  EXPECT_EQ(r.code, kExitFailed);
  EXPECT_EQ(r.err, "error: run nope not found\n");
  EXPECT_TRUE(r.out.empty());
}

TEST_F(ServerCommandsTest, RunHistory) {
  ASSERT_EQ(Cli({"run", "start", "echo", "--input", R"({"k": "v"})"}).code, 0);
  Outcome r = Cli({"run", "history", "run-1"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out.rfind("SEQ  TIME", 0), 0u) << r.out;
  EXPECT_NE(r.out.find("STEP_COMPLETED  echo  1        "
                       "{\"output\":{\"k\":\"v\"}}"),
            std::string::npos)
      << r.out;

  r = Cli({"-o", "json", "run", "history", "run-1"});
  const nlohmann::json doc = ParseJson(r.out);
  ASSERT_EQ(doc["events"].size(), 5u);
  EXPECT_EQ(doc["events"][3]["type"], "STEP_COMPLETED");
  EXPECT_EQ(doc["events"][3]["detail"]["output"]["k"], "v");
  EXPECT_EQ(doc["events"][3]["attempt"], 1);
  EXPECT_TRUE(doc["events"][3]["time"].get<std::string>().back() == 'Z');

  // A stopped run's --follow prints its history and ends.
  r = Cli({"-o", "json", "run", "history", "run-1", "--follow"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(ParseJson(r.out)["events"].size(), 5u);
}

TEST_F(ServerCommandsTest, SignalCancelResume) {
  const std::string id = StartManualRun("r-ops");
  Outcome r =
      Cli({"run", "signal", id, "approve", "--payload", R"({"by": "ann"})"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out, "signal approve sent to run r-ops\n");
  ASSERT_EQ(state_.signals.size(), 1u);
  EXPECT_EQ(state_.signals[0].payload_json(), R"({"by": "ann"})");

  r = Cli({"run", "signal", id, "approve", "--payload", "{nope"});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_NE(r.err.find("--payload is not valid JSON"), std::string::npos);
  EXPECT_EQ(state_.signals.size(), 1u);

  r = Cli({"run", "resume", id});
  EXPECT_EQ(r.code, kExitFailed);
  EXPECT_EQ(r.err, "error: run r-ops is RUNNING, not resumable\n");

  r = Cli({"-o", "json", "run", "cancel", id, "--reason", "testing"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(ParseJson(r.out),
            nlohmann::json::parse(
                R"({"run_id": "r-ops", "status": "COMPENSATING"})"));
  EXPECT_NE(state_.history[id].back().detail_json().find("testing"),
            std::string::npos);

  state_.SetStatus(id, v1::RUN_STATUS_SUSPENDED);
  r = Cli({"run", "resume", id});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out, "run r-ops resumed; now RUNNING\n");

  r = Cli({"run", "cancel", "ghost"});
  EXPECT_EQ(r.code, kExitFailed);
  EXPECT_EQ(r.err, "error: run ghost not found\n");
}

}  // namespace
}  // namespace sagaflow::cli
