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

// ---------------------------------------------------------------- schedules

TEST_F(ServerCommandsTest, ScheduleCreateUsageErrorsExitTwoAndSendNothing) {
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{"schedule", "create", "s", "--workflow", "w"},
       "error: schedule create needs --cron EXPR or --interval DURATION\n"},
      {{"schedule", "create", "s", "--workflow", "w", "--cron", "* * * * *",
        "--interval", "5m"},
       "error: give --cron or --interval, not both\n"},
      {{"schedule", "create", "s", "--cron", "@daily"},
       "error: schedule create needs --workflow W\n"},
      {{"schedule", "create", "s", "--workflow", "w", "--interval", "5x"},
       "error: --interval: malformed duration \"5x\""},
      {{"schedule", "create", "s", "--workflow", "w", "--interval", "0s"},
       "error: --interval: must not be 0\n"},
      {{"schedule", "create", "s", "--workflow", "w", "--interval", "5m",
        "--catchup-window", "soon"},
       "error: --catchup-window: malformed duration \"soon\""},
      {{"schedule", "create", "s", "--workflow", "w", "--interval", "5m",
        "--overlap", "sometimes"},
       "error: unknown overlap policy \"sometimes\"; use skip, buffer_one, "
       "allow_all or cancel_other\n"},
      {{"schedule", "create", "s", "--workflow", "w", "--interval", "5m",
        "--input", "{\"a\": }"},
       "error: --input is not valid JSON: "},
      {{"schedule", "create", "s", "--workflow", "w", "--interval", "5m",
        "--input-file", (dir_ / "none.json").string()},
       "cannot open"},
      {{"schedule", "create", "s", "--workflow", "w", "--interval", "5m",
        "--start-time", "yesterday"},
       "error: --start-time: malformed RFC 3339 timestamp \"yesterday\""},
      {{"schedule", "create", "s", "--workflow", "w", "--interval", "5m",
        "--end-time", "2026-13-01T00:00:00Z"},
       "error: --end-time: malformed RFC 3339 timestamp"},
      {{"schedule", "create", "s", "--workflow", "w", "--interval", "5m",
        "--version", "x"},
       "error: "},
      {{"schedule", "create", "--workflow", "w", "--interval", "5m"},
       "error: "},
      {{"schedule", "update", "s"}, "error: nothing to change"},
      {{"schedule", "update", "s", "--interval", "1y"},
       "error: --interval: malformed duration"},
      {{"schedule", "update", "s", "--cron", "@daily", "--interval", "1h"},
       "error: give --cron or --interval, not both\n"},
      {{"schedule", "trigger", "s", "--overlap", "all"},
       "error: unknown overlap policy \"all\""},
      {{"schedule", "show"}, "error: "},
      {{"schedule"}, "error: "},
  };
  for (const Case& c : cases) {
    for (const char* output : {"table", "json"}) {
      std::vector<std::string> args = c.args;
      args.insert(args.begin(), {"-o", output});
      const Outcome r = Cli(args);
      EXPECT_EQ(r.code, kExitUsage) << c.args[1] << " " << r.err;
      EXPECT_EQ(r.err.rfind("error: ", 0), 0u) << r.err;
      EXPECT_NE(r.err.find(c.message), std::string::npos) << r.err;
      EXPECT_TRUE(r.out.empty()) << r.out;
    }
  }
  EXPECT_EQ(state_.schedule_calls, 0);
  EXPECT_TRUE(state_.schedules.empty());
}

TEST_F(ServerCommandsTest, ScheduleCreateAndShow) {
  Outcome r = Cli({"schedule",
                   "create",
                   "nightly",
                   "--workflow",
                   "report",
                   "--version",
                   "2",
                   "--cron",
                   "0 2 * * *",
                   "--timezone",
                   "Europe/Paris",
                   "--input",
                   R"({"n": 1})",
                   "--overlap",
                   "buffer_one",
                   "--catchup-window",
                   "10m",
                   "--start-time",
                   "2026-01-01T00:00:00Z",
                   "--end-time",
                   "2099-01-01T00:00:00+01:00",
                   "--note",
                   "the report"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  ASSERT_EQ(state_.schedules.count("nightly"), 1u);
  const v1::ScheduleSpec& spec = state_.schedules["nightly"].spec();
  EXPECT_EQ(spec.workflow(), "report");
  EXPECT_EQ(spec.version(), 2u);
  EXPECT_EQ(spec.cron(), "0 2 * * *");
  EXPECT_EQ(spec.interval_ms(), 0);
  EXPECT_EQ(spec.timezone(), "Europe/Paris");
  EXPECT_EQ(spec.input_json(), R"({"n": 1})");
  EXPECT_EQ(spec.overlap(), v1::OVERLAP_POLICY_BUFFER_ONE);
  EXPECT_EQ(spec.catchup_window_ms(), 600'000);
  EXPECT_EQ(spec.start_time().seconds(), 1767225600);
  EXPECT_EQ(spec.end_time().seconds(), 4070905200);
  EXPECT_FALSE(spec.paused());
  EXPECT_EQ(spec.note(), "the report");
  // Printed like `schedule show`.
  EXPECT_EQ(r.out.rfind("Schedule:   nightly\n"
                        "Workflow:   report (version 2)\n"
                        "Cron:       0 2 * * *\n"
                        "Time zone:  Europe/Paris\n"
                        "Overlap:    buffer_one\n"
                        "Catch-up:   10m\n"
                        "Start:      2026-01-01T00:00:00.000Z\n"
                        "End:        2098-12-31T23:00:00.000Z\n"
                        "Status:     active\n"
                        "Note:       the report\n"
                        "Input:      {\"n\":1}\n"
                        "Next fire:  ",
                        0),
            0u)
      << r.out;
  EXPECT_NE(r.out.find("Runs:       0 started, 0 skipped (overlap), 0 missed "
                       "(catch-up window)\n"
                       "Last run:   -\n"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("Revision:   1\n\nNo actions yet.\n"), std::string::npos)
      << r.out;

  const Outcome shown = Cli({"schedule", "show", "nightly"});
  EXPECT_EQ(shown.code, kExitOk) << shown.err;
  EXPECT_EQ(shown.out, r.out);

  r = Cli({"-o", "json", "schedule", "show", "nightly"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  const nlohmann::json doc = ParseJson(r.out);
  EXPECT_EQ(doc["schedule_id"], "nightly");
  EXPECT_EQ(doc["status"], "active");
  EXPECT_EQ(doc["spec"]["workflow"], "report");
  EXPECT_EQ(doc["spec"]["version"], 2);
  EXPECT_EQ(doc["spec"]["input"], nlohmann::json::parse(R"({"n": 1})"));
  EXPECT_FALSE(doc["spec"].contains("input_json"));
  EXPECT_EQ(doc["spec"]["cron"], "0 2 * * *");
  EXPECT_EQ(doc["spec"]["interval_ms"], 0);
  EXPECT_EQ(doc["spec"]["timezone"], "Europe/Paris");
  EXPECT_EQ(doc["spec"]["overlap"], "buffer_one");
  EXPECT_EQ(doc["spec"]["catchup_window_ms"], 600000);
  EXPECT_EQ(doc["spec"]["start_time"], "2026-01-01T00:00:00.000Z");
  EXPECT_EQ(doc["spec"]["end_time"], "2098-12-31T23:00:00.000Z");
  EXPECT_EQ(doc["spec"]["paused"], false);
  EXPECT_EQ(doc["spec"]["note"], "the report");
  ASSERT_TRUE(doc["next_fire_time"].is_string());
  EXPECT_EQ(doc["next_fire_time"].get<std::string>().back(), 'Z');
  EXPECT_TRUE(doc["created_at"].is_string());
  EXPECT_EQ(doc["revision"], 1);
  EXPECT_EQ(doc["recent_actions"], nlohmann::json::array());
  EXPECT_EQ(doc["last_run_id"], "");
  EXPECT_EQ(doc["last_run_running"], false);
  EXPECT_TRUE(doc["buffered_nominal_time"].is_null());
  EXPECT_EQ(doc["runs_started"], 0);
  EXPECT_EQ(doc["skipped_overlap"], 0);
  EXPECT_EQ(doc["missed_catchup"], 0);

  // The id is taken.
  r = Cli({"schedule", "create", "nightly", "--workflow", "report",
           "--interval", "1h"});
  EXPECT_EQ(r.code, kExitFailed);
  EXPECT_EQ(r.err, "error: schedule nightly already exists\n");
  EXPECT_TRUE(r.out.empty());

  // An interval, created paused, in JSON.
  r = Cli({"-o", "json", "schedule", "create", "tick", "--workflow", "ping",
           "--interval", "5m", "--paused"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  const nlohmann::json tick = ParseJson(r.out);
  EXPECT_EQ(tick["status"], "paused");
  EXPECT_EQ(tick["spec"]["interval_ms"], 300000);
  EXPECT_EQ(tick["spec"]["cron"], "");
  EXPECT_EQ(tick["spec"]["overlap"], "skip");  // Unset: the server's default.
  EXPECT_TRUE(tick["spec"]["input"].is_null());
  EXPECT_TRUE(tick["next_fire_time"].is_null());
  EXPECT_EQ(state_.schedules["tick"].spec().overlap(),
            v1::OVERLAP_POLICY_UNSPECIFIED);
  r = Cli({"schedule", "show", "tick"});
  EXPECT_NE(r.out.find("Interval:   5m\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Status:     paused\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Catch-up:   1h (default)\n"), std::string::npos);
  EXPECT_NE(r.out.find("Next fire:  -\n"), std::string::npos);

  // The server's INVALID_ARGUMENT is a usage error too.
  r = Cli({"schedule", "create", "zoned", "--workflow", "ping", "--interval",
           "5m", "--timezone", "Europe/Paris"});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_EQ(r.err,
            "error: timezone: only a cron expression is read in a time zone\n");
}

TEST_F(ServerCommandsTest, ScheduleCreateReadsInputFromAFile) {
  const Outcome r =
      Cli({"schedule", "create", "f", "--workflow", "w", "--interval", "1m",
           "--input-file", Write("in.json", R"({"from": "file"})")});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(state_.schedules["f"].spec().input_json(), R"({"from": "file"})");
}

TEST_F(ServerCommandsTest, ScheduleListTableJsonAndPages) {
  Outcome r = Cli({"schedule", "list"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out,
            "SCHEDULE_ID  WORKFLOW  SPEC  OVERLAP  STATUS  NEXT_FIRE  "
            "LAST_RUN\n");
  r = Cli({"-o", "json", "schedule", "list"});
  EXPECT_EQ(
      ParseJson(r.out),
      nlohmann::json::parse(R"({"schedules": [], "next_page_token": ""})"));

  ASSERT_EQ(Cli({"schedule", "create", "a-nightly", "--workflow", "report",
                 "--cron", "0 2 * * *"})
                .code,
            0);
  ASSERT_EQ(
      Cli({"schedule", "create", "b-tick", "--workflow", "ping", "--version",
           "3", "--interval", "5m", "--overlap", "allow-all", "--paused"})
          .code,
      0);
  ASSERT_EQ(Cli({"schedule", "create", "c-over", "--workflow", "ping",
                 "--interval", "1h", "--end-time", "2020-01-01T00:00:00Z"})
                .code,
            0);
  r = Cli({"schedule", "list"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out.rfind("SCHEDULE_ID  WORKFLOW  SPEC             OVERLAP    "
                        "STATUS  NEXT_FIRE",
                        0),
            0u)
      << r.out;
  EXPECT_NE(r.out.find("\na-nightly    report    0 2 * * * (UTC)  skip       "
                       "active  20"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("\nb-tick       ping v3   every 5m         allow_all  "
                       "paused  -"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("\nc-over       ping      every 1h         skip       "
                       "ended   -"),
            std::string::npos)
      << r.out;

  r = Cli({"-o", "json", "schedule", "list"});
  nlohmann::json doc = ParseJson(r.out);
  ASSERT_TRUE(doc.is_object());
  ASSERT_EQ(doc["schedules"].size(), 3u);
  EXPECT_EQ(doc["next_page_token"], "");
  EXPECT_EQ(doc["schedules"][0]["schedule_id"], "a-nightly");
  EXPECT_EQ(doc["schedules"][1]["spec"]["overlap"], "allow_all");
  EXPECT_EQ(doc["schedules"][1]["status"], "paused");
  EXPECT_EQ(doc["schedules"][2]["status"], "ended");

  r = Cli({"-o", "json", "schedule", "list", "--limit", "2"});
  doc = ParseJson(r.out);
  EXPECT_EQ(doc["schedules"].size(), 2u);
  const std::string token = doc["next_page_token"];
  ASSERT_FALSE(token.empty());
  r = Cli({"schedule", "list", "--limit", "2"});
  EXPECT_EQ(r.err, "more results: sagaflow schedule list --page-token " +
                       token + "\n");
  r = Cli({"-o", "json", "schedule", "list", "--page-token", token});
  doc = ParseJson(r.out);
  ASSERT_EQ(doc["schedules"].size(), 1u);
  EXPECT_EQ(doc["schedules"][0]["schedule_id"], "c-over");
}

TEST_F(ServerCommandsTest, ScheduleUpdateChangesOnlyTheGivenFields) {
  ASSERT_EQ(Cli({"schedule", "create", "s", "--workflow", "report", "--cron",
                 "0 2 * * *", "--timezone", "Europe/Paris", "--input",
                 R"({"n": 1})", "--overlap", "cancel_other", "--note", "keep",
                 "--start-time", "2026-01-01T00:00:00Z"})
                .code,
            0);
  const uint64_t revision = state_.schedules["s"].revision();

  // An interval replaces the cron expression and its time zone.
  Outcome r = Cli({"schedule", "update", "s", "--interval", "1h"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  ASSERT_EQ(state_.schedule_updates.size(), 1u);
  const v1::UpdateScheduleRequest& first = state_.schedule_updates[0];
  EXPECT_EQ(first.schedule_id(), "s");
  EXPECT_EQ(first.expected_revision(), revision);
  EXPECT_EQ(first.spec().interval_ms(), 3'600'000);
  EXPECT_EQ(first.spec().cron(), "");
  EXPECT_EQ(first.spec().timezone(), "");
  EXPECT_EQ(first.spec().workflow(), "report");
  EXPECT_EQ(first.spec().input_json(), R"({"n": 1})");
  EXPECT_EQ(first.spec().overlap(), v1::OVERLAP_POLICY_CANCEL_OTHER);
  EXPECT_EQ(first.spec().note(), "keep");
  EXPECT_EQ(first.spec().start_time().seconds(), 1767225600);
  EXPECT_EQ(r.out.rfind("Schedule:   s\n", 0), 0u) << r.out;
  EXPECT_NE(r.out.find("Interval:   1h\n"), std::string::npos) << r.out;

  // A cron expression replaces the interval; a zone may come with it.
  r = Cli({"-o", "json", "schedule", "update", "s", "--cron", "*/5 * * * *",
           "--timezone", "America/New_York", "--version", "4", "--overlap",
           "SKIP", "--catchup-window", "2h", "--input", "[1]"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  ASSERT_EQ(state_.schedule_updates.size(), 2u);
  const v1::ScheduleSpec& second = state_.schedule_updates[1].spec();
  EXPECT_EQ(state_.schedule_updates[1].expected_revision(), revision + 1);
  EXPECT_EQ(second.cron(), "*/5 * * * *");
  EXPECT_EQ(second.interval_ms(), 0);
  EXPECT_EQ(second.timezone(), "America/New_York");
  EXPECT_EQ(second.version(), 4u);
  EXPECT_EQ(second.overlap(), v1::OVERLAP_POLICY_SKIP);
  EXPECT_EQ(second.catchup_window_ms(), 7'200'000);
  EXPECT_EQ(second.input_json(), "[1]");
  EXPECT_EQ(second.note(), "keep");
  nlohmann::json doc = ParseJson(r.out);
  EXPECT_EQ(doc["spec"]["cron"], "*/5 * * * *");
  EXPECT_EQ(doc["spec"]["input"], nlohmann::json::parse("[1]"));
  EXPECT_EQ(doc["revision"], revision + 2);

  // Empty values clear; --paused=false undoes --paused.
  r = Cli({"schedule", "update", "s", "--timezone", "", "--start-time", "",
           "--catchup-window", "", "--note", "", "--paused"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  const v1::ScheduleSpec& third = state_.schedule_updates[2].spec();
  EXPECT_EQ(third.timezone(), "");
  EXPECT_FALSE(third.has_start_time());
  EXPECT_EQ(third.catchup_window_ms(), 0);
  EXPECT_EQ(third.note(), "");
  EXPECT_TRUE(third.paused());
  EXPECT_EQ(third.cron(), "*/5 * * * *");
  EXPECT_NE(r.out.find("Status:     paused\n"), std::string::npos) << r.out;
  r = Cli({"schedule", "update", "s", "--paused=false"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_FALSE(state_.schedule_updates[3].spec().paused());
  EXPECT_FALSE(state_.schedules["s"].spec().paused());

  // A change between the read and the write: refused, nothing changed.
  state_.change_after_next_get = true;
  r = Cli({"schedule", "update", "s", "--workflow", "other"});
  EXPECT_EQ(r.code, kExitFailed);
  EXPECT_NE(r.err.find("(it changed since it was read); nothing was changed: "
                       "run the update again"),
            std::string::npos)
      << r.err;
  EXPECT_TRUE(r.out.empty());
  EXPECT_EQ(state_.schedules["s"].spec().workflow(), "report");
  // Again, against the schedule as it is now.
  r = Cli({"schedule", "update", "s", "--workflow", "other"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(state_.schedules["s"].spec().workflow(), "other");
  EXPECT_EQ(state_.schedules["s"].spec().note(), "changed by someone else");
}

TEST_F(ServerCommandsTest, SchedulePauseUnpauseTriggerDelete) {
  ASSERT_EQ(Cli({"schedule", "create", "s", "--workflow", "manual",
                 "--interval", "1h", "--input", R"({"k": 1})"})
                .code,
            0);
  Outcome r = Cli({"schedule", "pause", "s", "--note", "maintenance"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out, "schedule s paused\n");
  EXPECT_TRUE(state_.schedules["s"].spec().paused());
  EXPECT_EQ(state_.schedules["s"].spec().note(), "maintenance");
  r = Cli({"schedule", "show", "s"});
  EXPECT_NE(r.out.find("Status:     paused\nNote:       maintenance\n"),
            std::string::npos)
      << r.out;

  r = Cli({"-o", "json", "schedule", "unpause", "s"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  nlohmann::json doc = ParseJson(r.out);
  EXPECT_EQ(doc["status"], "active");
  EXPECT_EQ(doc["spec"]["note"], "maintenance");  // No --note: kept.
  r = Cli({"schedule", "pause", "s"});
  r = Cli({"schedule", "unpause", "s", "--note", "back"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out.rfind("schedule s unpaused; next fire 20", 0), 0u) << r.out;
  EXPECT_EQ(state_.schedules["s"].spec().note(), "back");

  // A fire that starts a run.
  r = Cli({"schedule", "trigger", "s"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  ASSERT_EQ(state_.schedules["s"].last_run_id().empty(), false);
  const std::string run_id = state_.schedules["s"].last_run_id();
  EXPECT_EQ(r.out, "schedule s triggered: STARTED run " + run_id + "\n");
  EXPECT_EQ(state_.schedule_triggers.back().overlap(),
            v1::OVERLAP_POLICY_UNSPECIFIED);
  EXPECT_EQ(state_.runs[run_id].input_json(), R"({"k": 1})");

  // The run it started names the schedule and its nominal time.
  r = Cli({"run", "show", run_id});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_NE(r.out.find("Schedule:  s\nNominal:   20"), std::string::npos)
      << r.out;
  r = Cli({"-o", "json", "run", "show", run_id});
  doc = ParseJson(r.out);
  EXPECT_EQ(doc["schedule_id"], "s");
  EXPECT_TRUE(doc["nominal_time"].is_string());
  EXPECT_TRUE(doc["start_at"].is_null());

  // The run still goes: skip skips, allow_all starts another.
  r = Cli({"-o", "json", "schedule", "trigger", "s"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  doc = ParseJson(r.out);
  EXPECT_EQ(doc["schedule_id"], "s");
  EXPECT_EQ(doc["action"]["outcome"], "SKIPPED_OVERLAP");
  EXPECT_EQ(doc["action"]["run_id"], run_id);
  EXPECT_TRUE(doc["action"]["nominal_time"].is_string());
  EXPECT_EQ(doc["action"]["error"], "");
  r = Cli({"schedule", "trigger", "s"});
  EXPECT_EQ(r.out, "schedule s triggered: SKIPPED_OVERLAP (run " + run_id +
                       " has not ended)\n");
  r = Cli({"schedule", "trigger", "s", "--overlap", "buffer_one"});
  EXPECT_EQ(r.out,
            "schedule s triggered: BUFFERED (starts when the last run ends)\n");
  r = Cli({"schedule", "trigger", "s", "--overlap", "allow_all"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(state_.schedule_triggers.back().overlap(),
            v1::OVERLAP_POLICY_ALLOW_ALL);
  EXPECT_EQ(r.out.rfind("schedule s triggered: STARTED run ", 0), 0u) << r.out;

  // The actions, newest first.
  r = Cli({"schedule", "show", "s"});
  EXPECT_NE(r.out.find("Runs:       2 started, 2 skipped (overlap), 0 missed"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("Buffered:   a fire for 20"), std::string::npos);
  EXPECT_NE(r.out.find("Last run:   s-"), std::string::npos);
  EXPECT_NE(r.out.find(" (running)\n"), std::string::npos);
  const size_t table = r.out.find(
      "\nNOMINAL                   ACTUAL        "
      "            OUTCOME          RUN_ID\n");
  ASSERT_NE(table, std::string::npos) << r.out;
  const size_t started = r.out.find("STARTED", table);
  const size_t buffered = r.out.find("BUFFERED", table);
  const size_t skipped = r.out.find("SKIPPED_OVERLAP", table);
  EXPECT_LT(started, buffered);
  EXPECT_LT(buffered, skipped);
  r = Cli({"-o", "json", "schedule", "show", "s"});
  doc = ParseJson(r.out);
  ASSERT_EQ(doc["recent_actions"].size(), 5u);
  EXPECT_EQ(doc["recent_actions"][0]["outcome"], "STARTED");
  EXPECT_EQ(doc["recent_actions"][4]["outcome"], "STARTED");
  EXPECT_EQ(doc["recent_actions"][4]["run_id"], run_id);
  EXPECT_EQ(doc["runs_started"], 2);
  EXPECT_EQ(doc["last_run_running"], true);
  EXPECT_TRUE(doc["buffered_nominal_time"].is_string());

  r = Cli({"schedule", "delete", "s"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out, "schedule s deleted (the runs it started are left alone)\n");
  EXPECT_EQ(state_.schedules.count("s"), 0u);
  EXPECT_EQ(state_.runs.count(run_id), 1u);
  ASSERT_EQ(
      Cli({"schedule", "create", "t", "--workflow", "w", "--interval", "1m"})
          .code,
      0);
  r = Cli({"-o", "json", "schedule", "delete", "t"});
  EXPECT_EQ(ParseJson(r.out),
            nlohmann::json::parse(R"({"schedule_id": "t", "deleted": true})"));
}

TEST_F(ServerCommandsTest, ScheduleTriggerThatFailsToStartExitsOne) {
  ASSERT_EQ(Cli({"schedule", "create", "m", "--workflow", "missing",
                 "--interval", "1h"})
                .code,
            0);
  Outcome r = Cli({"schedule", "trigger", "m"});
  EXPECT_EQ(r.code, kExitFailed);
  EXPECT_EQ(r.out, "schedule m triggered: START_FAILED\n");
  EXPECT_EQ(r.err,
            "error: schedule m could not start a run: workflow \"missing\" not "
            "found\n");
  r = Cli({"-o", "json", "schedule", "trigger", "m"});
  EXPECT_EQ(r.code, kExitFailed);
  const nlohmann::json doc = ParseJson(r.out);
  EXPECT_EQ(doc["action"]["outcome"], "START_FAILED");
  EXPECT_EQ(doc["action"]["run_id"], "");
  EXPECT_EQ(doc["action"]["error"], "workflow \"missing\" not found");
  r = Cli({"schedule", "show", "m"});
  EXPECT_NE(r.out.find("ERROR\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("START_FAILED  -       workflow \"missing\" not found"),
            std::string::npos)
      << r.out;
}

TEST_F(ServerCommandsTest, UnknownScheduleExitsOneWithAPlainMessage) {
  for (const char* output : {"table", "json"}) {
    for (std::vector<std::string> args : std::vector<std::vector<std::string>>{
             {"schedule", "show", "ghost"},
             {"schedule", "update", "ghost", "--note", "x"},
             {"schedule", "pause", "ghost"},
             {"schedule", "unpause", "ghost"},
             {"schedule", "delete", "ghost"},
             {"schedule", "trigger", "ghost"}}) {
      args.insert(args.begin(), {"-o", output});
      const Outcome r = Cli(args);
      EXPECT_EQ(r.code, kExitFailed) << args[3];
      EXPECT_EQ(r.err, "error: schedule ghost not found\n") << args[3];
      EXPECT_TRUE(r.out.empty()) << r.out;
    }
  }
  // update stopped at its read.
  EXPECT_TRUE(state_.schedule_updates.empty());
}

TEST_F(ServerCommandsTest, StartWithADelayOrAtATime) {
  Outcome r = Cli({"run", "start", "manual", "--delay", "10m"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out, "run-1\n");
  EXPECT_EQ(r.err, "note: run run-1 starts its first step in 10m\n");
  ASSERT_EQ(state_.starts.size(), 1u);
  EXPECT_EQ(state_.starts[0].start_delay_ms(), 600'000);
  EXPECT_FALSE(state_.starts[0].has_start_at());

  r = Cli(
      {"-o", "json", "run", "start", "manual", "--at", "2026-12-08T06:00:00Z"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(ParseJson(r.out)["run_id"], "run-2");
  ASSERT_EQ(state_.starts.size(), 2u);
  EXPECT_EQ(state_.starts[1].start_at().seconds(), 1796709600);
  EXPECT_EQ(state_.starts[1].start_at().nanos(), 0);
  EXPECT_EQ(state_.starts[1].start_delay_ms(), 0);

  // The card and the JSON show when the run starts.
  r = Cli({"run", "show", "run-2"});
  EXPECT_NE(r.out.find("Start at:  2026-12-08T06:00:00.000Z\n"),
            std::string::npos)
      << r.out;
  EXPECT_EQ(r.out.find("Schedule:"), std::string::npos);
  r = Cli({"-o", "json", "run", "show", "run-2"});
  nlohmann::json doc = ParseJson(r.out);
  EXPECT_EQ(doc["start_at"], "2026-12-08T06:00:00.000Z");
  EXPECT_EQ(doc["schedule_id"], "");
  EXPECT_TRUE(doc["nominal_time"].is_null());

  // Both, or a malformed value: exit 2, nothing sent.
  for (std::vector<std::string> args : std::vector<std::vector<std::string>>{
           {"run", "start", "manual", "--delay", "10m", "--at",
            "2026-12-08T06:00:00Z"},
           {"run", "start", "manual", "--delay", "soon"},
           {"run", "start", "manual", "--delay", "-5m"},
           {"run", "start", "manual", "--at", "2026-12-08"}}) {
    r = Cli(args);
    EXPECT_EQ(r.code, kExitUsage) << args[3];
    EXPECT_TRUE(r.out.empty());
  }
  r = Cli({"run", "start", "manual", "--delay", "10m", "--at",
           "2026-12-08T06:00:00Z"});
  EXPECT_EQ(r.err, "error: give --delay or --at, not both\n");
  r = Cli({"run", "start", "manual", "--at", "2026-12-08"});
  EXPECT_EQ(r.err.rfind("error: --at: malformed RFC 3339 timestamp", 0), 0u)
      << r.err;
  EXPECT_EQ(state_.starts.size(), 2u);

  // With --wait it waits as without a delay.
  r = Cli({"run", "start", "echo", "--delay", "1s", "--wait"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(state_.starts.back().start_delay_ms(), 1000);
  EXPECT_NE(r.out.find("Status:    COMPLETED\n"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace sagaflow::cli
