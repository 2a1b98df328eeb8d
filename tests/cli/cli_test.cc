// The CLI's offline commands, in-process (output captured) and through the real
// binary (exit codes as a shell sees them).
#include "cli/cli.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "tests/cli/test_support.h"

namespace sagaflow::cli {
namespace {

namespace fs = std::filesystem;

std::string SourceDir() { return SAGAFLOW_TEST_SOURCE_DIR; }

using testdata::Outcome;
using testdata::RunCli;

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("sagaflow-cli-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Write(const std::string& name, const std::string& text) {
    const fs::path path = dir_ / name;
    std::ofstream(path) << text;
    return path.string();
  }

  fs::path dir_;
};

using testdata::kThreeMistakes;
using testdata::kValid;

TEST_F(CliTest, ValidateValidFilePrintsOkAndSummary) {
  const Outcome r = RunCli({"validate", Write("ok.json", kValid)});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_NE(r.out.find("OK"), std::string::npos);
  EXPECT_NE(r.out.find("tiny, 2 steps (1 succeed, 1 task), 1 compensated"),
            std::string::npos)
      << r.out;
}

TEST_F(CliTest, ValidateReportsEveryMistakeWithItsPath) {
  const Outcome r = RunCli({"validate", Write("bad.json", kThreeMistakes)});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_NE(r.out.find("3 errors"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("steps.reserve.timeout: malformed duration \"10x\""),
            std::string::npos);
  EXPECT_NE(
      r.out.find(
          "steps.charge.next: no step named \"shp\" (did you mean \"ship\"?)"),
      std::string::npos);
  EXPECT_NE(r.out.find("steps.ship.type: unknown step type \"taks\" (did you "
                       "mean \"task\"?)"),
            std::string::npos);
}

TEST_F(CliTest, ValidateManyFilesFailsIfAnyIsInvalid) {
  const Outcome r =
      RunCli({"validate", Write("ok.json", kValid), Write("bad.json", "{")});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_NE(r.out.find("OK  "), std::string::npos);
  EXPECT_NE(r.out.find("invalid JSON"), std::string::npos) << r.out;
}

TEST_F(CliTest, ValidateJsonOutputIsOneDocument) {
  const Outcome r = RunCli({"-o", "json", "validate", Write("ok.json", kValid),
                            Write("bad.json", kThreeMistakes)});
  EXPECT_EQ(r.code, kExitUsage);
  const auto doc = nlohmann::json::parse(r.out);
  ASSERT_EQ(doc["files"].size(), 2u);
  EXPECT_TRUE(doc["files"][0]["valid"].get<bool>());
  EXPECT_EQ(doc["files"][0]["workflow"], "tiny");
  EXPECT_FALSE(doc["files"][1]["valid"].get<bool>());
  EXPECT_EQ(doc["files"][1]["errors"].size(), 3u);
  EXPECT_EQ(doc["files"][1]["errors"][0]["path"], "steps.charge.next");
}

TEST_F(CliTest, ValidateMissingFileIsAnError) {
  const Outcome r = RunCli({"validate", (dir_ / "nope.json").string()});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_NE(r.out.find("cannot open"), std::string::npos);
}

TEST_F(CliTest, ValidateRefusesOversizedFileWithoutReadingIt) {
  const Outcome r =
      RunCli({"validate", Write("big.json", std::string(2 << 20, ' '))});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_NE(r.out.find("a definition is at most 1048576 bytes"),
            std::string::npos)
      << r.out;
}

TEST_F(CliTest, GraphMermaidDrawsCompensationDashed) {
  const Outcome r = RunCli({"workflow", "graph", Write("ok.json", kValid)});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_NE(r.out.find("flowchart TD"), std::string::npos);
  EXPECT_NE(r.out.find("-.->|\"compensate\"|"), std::string::npos) << r.out;
}

TEST_F(CliTest, GraphDot) {
  const Outcome r = RunCli(
      {"workflow", "graph", Write("ok.json", kValid), "--format", "dot"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out.rfind("digraph \"tiny\" {", 0), 0u) << r.out;
  EXPECT_NE(r.out.find("style=dashed"), std::string::npos);
}

TEST_F(CliTest, GraphOfInvalidDefinitionExplains) {
  const Outcome r =
      RunCli({"workflow", "graph", Write("bad.json", kThreeMistakes)});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_NE(r.err.find("steps.charge.next"), std::string::npos) << r.err;
}

TEST_F(CliTest, UsageErrorsExitTwo) {
  EXPECT_EQ(RunCli({}).code, kExitUsage);
  EXPECT_EQ(RunCli({"frobnicate"}).code, kExitUsage);
  EXPECT_EQ(RunCli({"validate"}).code, kExitUsage);
  EXPECT_EQ(RunCli({"-o", "yaml", "validate", "x.json"}).code, kExitUsage);
  EXPECT_EQ(RunCli({"workflow", "graph", "x.json", "--format", "png"}).code,
            kExitUsage);
}

// Server commands with a bad argument fail before contacting a server: the
// address is unreachable, so reaching it would exit 3, not 2.
TEST_F(CliTest, ServerCommandUsageErrorsExitTwoWithoutTheServer) {
  auto run = [](std::vector<std::string> args) {
    args.insert(args.begin(), {"--server", "127.0.0.1:1"});
    return RunCli(std::move(args));
  };
  Outcome r = run({"run", "list", "--status", "finished"});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_NE(r.err.find("unknown status \"finished\"; use one of RUNNING, "
                       "COMPLETED"),
            std::string::npos)
      << r.err;
  r = run({"run", "start", "wf", "--input", "{\"a\": }"});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_NE(r.err.find("--input is not valid JSON: "), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("line 1, column 7"), std::string::npos) << r.err;
  r = run({"run", "start", "wf", "--input-file", Write("in.json", "[1,")});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_NE(r.err.find("--input-file " + (dir_ / "in.json").string() +
                       " is not valid JSON"),
            std::string::npos)
      << r.err;
  r = run({"run", "start", "wf", "--input-file", (dir_ / "none").string()});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_NE(r.err.find("cannot open"), std::string::npos) << r.err;
  EXPECT_EQ(run({"run", "start", "wf", "--input", "{}", "--input-file",
                 Write("ok.json", "{}")})
                .code,
            kExitUsage);
  r = run({"run", "start", "wf", "--wait", "--wait-timeout", "soon"});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_NE(r.err.find("--wait-timeout: "), std::string::npos) << r.err;
  r = run({"run", "start", "wf", "--wait-timeout", "1m"});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_NE(r.err.find("--wait-timeout needs --wait or --follow"),
            std::string::npos);
  EXPECT_EQ(run({"run", "history", "r", "--wait-timeout", "1m"}).code,
            kExitUsage);
  EXPECT_EQ(run({"run", "start", "wf", "--version", "0"}).code, kExitUsage);
  EXPECT_EQ(run({"run", "list", "--limit", "0"}).code, kExitUsage);
  EXPECT_EQ(run({"run", "signal", "r"}).code, kExitUsage);
  r = run({"run", "signal", "r", "go", "--payload", "nope"});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_NE(r.err.find("--payload is not valid JSON"), std::string::npos);
  EXPECT_EQ(run({"run", "show"}).code, kExitUsage);
  r = run(
      {"run", "start", "wf", "--delay", "1m", "--at", "2026-12-08T06:00:00Z"});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_NE(r.err.find("give --delay or --at, not both"), std::string::npos);
  r = run({"schedule", "create", "s", "--workflow", "w"});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_NE(r.err.find("needs --cron EXPR or --interval DURATION"),
            std::string::npos);
  EXPECT_EQ(run({"schedule", "create", "s", "--workflow", "w", "--interval",
                 "5m", "--overlap", "never"})
                .code,
            kExitUsage);
  EXPECT_EQ(run({"schedule", "update", "s"}).code, kExitUsage);
  EXPECT_EQ(run({"schedule", "trigger", "s", "--overlap", "x"}).code,
            kExitUsage);
  EXPECT_EQ(run({"run"}).code, kExitUsage);
  // A path that does not exist is graphed offline, never looked up by name.
  r = run({"workflow", "graph", (dir_ / "missing.json").string()});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_NE(r.err.find("cannot open"), std::string::npos) << r.err;
  EXPECT_EQ(
      run({"workflow", "graph", Write("ok.json", kValid), "--version", "2"})
          .code,
      kExitUsage);
}

TEST_F(CliTest, UnreachableServerExitsThreeQuickly) {
  const auto start = std::chrono::steady_clock::now();
  const Outcome r = RunCli({"--server", "127.0.0.1:1", "run", "list"});
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
  EXPECT_EQ(r.code, kExitUnreachable);
  EXPECT_TRUE(r.out.empty());
  EXPECT_EQ(r.err.rfind("error: cannot reach the sagaflow server at "
                        "127.0.0.1:1 (",
                        0),
            0u)
      << r.err;
  EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "one line: " << r.err;

  // Every server command, in both output formats.
  for (const char* output : {"table", "json"}) {
    for (std::vector<std::string> args : std::vector<std::vector<std::string>>{
             {"workflow", "list"},
             {"workflow", "show", "wf"},
             {"workflow", "graph", "wf"},
             {"workflow", "register", Write("ok.json", kValid)},
             {"run", "start", "wf", "--wait"},
             {"run", "show", "r"},
             {"run", "history", "r"},
             {"run", "resume", "r"},
             {"run", "cancel", "r"},
             {"run", "signal", "r", "go"},
             {"run", "start", "wf", "--delay", "1m"},
             {"schedule", "create", "s", "--workflow", "w", "--cron", "@daily"},
             {"schedule", "list"},
             {"schedule", "show", "s"},
             {"schedule", "update", "s", "--note", "n"},
             {"schedule", "pause", "s"},
             {"schedule", "unpause", "s"},
             {"schedule", "delete", "s"},
             {"schedule", "trigger", "s"}}) {
      args.insert(args.begin(), {"--server", "127.0.0.1:1", "-o", output});
      const Outcome each = RunCli(args);
      EXPECT_EQ(each.code, kExitUnreachable) << args[4] << " " << args[5];
      EXPECT_TRUE(each.out.empty()) << each.out;
    }
  }
}

TEST_F(CliTest, ServerAddressFromTheEnvironment) {
  ::setenv("SAGAFLOW_SERVER", "127.0.0.1:2", 1);
  const Outcome r = RunCli({"run", "list"});
  ::unsetenv("SAGAFLOW_SERVER");
  EXPECT_EQ(r.code, kExitUnreachable);
  EXPECT_NE(r.err.find("127.0.0.1:2"), std::string::npos) << r.err;
}

TEST_F(CliTest, HelpExitsZero) {
  const Outcome r = RunCli({"--help"});
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_NE(r.out.find("validate"), std::string::npos);
  EXPECT_NE(r.out.find("workflow"), std::string::npos);
}

// The real binary, as a shell runs it.
int RunBinary(const std::string& args) {
  const std::string cmd = std::string(SAGAFLOW_TEST_BIN_DIR) + "/sagaflow " +
                          args + " >/dev/null 2>&1";
  const int status = std::system(cmd.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST_F(CliTest, BinaryExitCodes) {
  EXPECT_EQ(RunBinary("validate " + Write("ok.json", kValid)), 0);
  EXPECT_EQ(RunBinary("validate " + Write("bad.json", kThreeMistakes)), 2);
  EXPECT_EQ(RunBinary("--no-such-flag"), 2);
  EXPECT_EQ(RunBinary("--server 127.0.0.1:1 run list"), 3);
  EXPECT_EQ(RunBinary("--server 127.0.0.1:1 run list --status nope"), 2);
}

// The real binary with stdout captured to a file; `signaled` is set when it
// died from a signal (an uncaught exception aborts).
struct BinaryOutcome {
  int code = -1;
  bool signaled = false;
  std::string out;
};

BinaryOutcome RunBinaryCapturing(const std::string& args,
                                 const fs::path& out_file) {
  const std::string cmd = std::string(SAGAFLOW_TEST_BIN_DIR) + "/sagaflow " +
                          args + " >" + out_file.string() + " 2>/dev/null";
  const int status = std::system(cmd.c_str());
  BinaryOutcome outcome;
  // system() runs a shell, which reports a child killed by SIGABRT as exit
  // status 128 + 6.
  if (WIFEXITED(status)) {
    outcome.code = WEXITSTATUS(status);
    outcome.signaled = outcome.code > 128;
  } else {
    outcome.signaled = true;
  }
  std::ifstream in(out_file, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  outcome.out = text.str();
  return outcome;
}

// Parses `text` as JSON (strict about UTF-8); ADD_FAILURE when it is not.
nlohmann::json ParseOutput(const std::string& text) {
  try {
    return nlohmann::json::parse(text);
  } catch (const std::exception& e) {
    ADD_FAILURE() << "not valid JSON (" << e.what() << "):\n" << text;
    return nullptr;
  }
}

TEST_F(CliTest, JsonOutputSurvivesNonAsciiAndInvalidUtf8) {
  const fs::path out = dir_ / "out.json";
  // A path with a non-ASCII character: the message quotes the whole 'ü'.
  const std::string umlaut = Write("umlaut.json", R"json({
    "name": "wf", "start_at": "a",
    "steps": {"a": {"type": "task", "activity": "x", "input": "$.inpüt"}}})json");
  BinaryOutcome r = RunBinaryCapturing("-o json validate " + umlaut, out);
  EXPECT_FALSE(r.signaled);
  EXPECT_EQ(r.code, 2);
  nlohmann::json doc = ParseOutput(r.out);
  ASSERT_TRUE(doc.is_object());
  EXPECT_EQ(doc["files"][0]["errors"][0]["path"], "steps.a.input");
  EXPECT_NE(
      doc["files"][0]["errors"][0]["message"].get<std::string>().find("'ü'"),
      std::string::npos)
      << r.out;

  // A raw 0xff byte: the parse error quotes it as \xff.
  const std::string raw = Write("raw.json", "{\"name\": \"wf\xff\"}\xff");
  r = RunBinaryCapturing("-o json validate " + raw, out);
  EXPECT_FALSE(r.signaled);
  EXPECT_EQ(r.code, 2);
  doc = ParseOutput(r.out);
  ASSERT_TRUE(doc.is_object());
  EXPECT_FALSE(doc["files"][0]["valid"].get<bool>());
  EXPECT_NE(doc["files"][0]["errors"][0]["message"].get<std::string>().find(
                "invalid JSON"),
            std::string::npos);

  // A graph whose catch label is cut inside a long run of 'é'.
  std::string name;
  for (int i = 0; i < 50; ++i) name += "é";
  for (const std::string& prefix : {std::string(""), std::string("x")}) {
    const std::string graph = Write("graph.json", R"json({
      "name": "wf", "start_at": "a",
      "steps": {"a": {"type": "task", "activity": "x",
                      "catch": [{"errors": [")json" + prefix +
                                                      name +
                                                      R"json("], "next": "h"}]},
                "h": {"type": "succeed"}}})json");
    for (const char* format : {"mermaid", "dot"}) {
      r = RunBinaryCapturing(std::string("-o json workflow graph --format ") +
                                 format + " " + graph,
                             out);
      EXPECT_FALSE(r.signaled) << prefix << format;
      EXPECT_EQ(r.code, 0) << prefix << format;
      doc = ParseOutput(r.out);
      ASSERT_TRUE(doc.is_object());
      EXPECT_NE(doc["graph"].get<std::string>().find("é..."),
                std::string::npos);
    }
  }
}

TEST_F(CliTest, ValidateRefusesAnEndlessFileOfUnknownSize) {
  // /dev/zero reports size 0 and never ends: reading stops after the limit.
  const Outcome r = RunCli({"validate", "/dev/zero"});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_NE(r.out.find("a definition is at most 1048576 bytes"),
            std::string::npos)
      << r.out;
  const Outcome graph = RunCli({"workflow", "graph", "/dev/zero"});
  EXPECT_EQ(graph.code, kExitUsage);
  EXPECT_NE(graph.err.find("a definition is at most 1048576 bytes"),
            std::string::npos)
      << graph.err;
}

TEST_F(CliTest, EverySampleValidates) {
  std::vector<std::string> args = {"validate"};
  for (const auto& entry :
       fs::directory_iterator(fs::path(SourceDir()) / "samples")) {
    if (entry.path().extension() == ".json")
      args.push_back(entry.path().string());
  }
  ASSERT_GE(args.size(), 6u);
  const Outcome r = RunCli(args);
  EXPECT_EQ(r.code, kExitOk) << r.out;
}

}  // namespace
}  // namespace sagaflow::cli
