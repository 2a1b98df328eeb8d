// builtin.exec with real processes: output, JSON, stdin, environment, exit
// codes, timeouts that kill the whole process group, cancellation, size
// limits and the allow list.
#include "activities/exec.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "common/text.h"

namespace sagaflow::activities {
namespace {

namespace fs = std::filesystem;

ActivityResult RunExec(const Json& input, ExecOptions options = {},
                       const Cancellation* cancellation = nullptr) {
  if (options.allowed.empty()) options.allowed = {"/usr/bin", "/bin"};
  auto exec = NewExec(std::move(options));
  ActivityContext context;
  context.run_id = "r-1";
  context.step = "convert";
  context.cancellation = cancellation;
  return exec->Run(input, context);
}

bool Alive(pid_t pid) {
  if (kill(pid, 0) != 0) return false;
  // A zombie waiting for its (new) parent is dead for our purpose.
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string pid_text, comm, state;
  stat >> pid_text >> comm >> state;
  return state != "Z";
}

TEST(ExecTest, RunsAProgramAndCapturesItsOutput) {
  auto result = RunExec({{"command", {"echo", "hello", "world"}}});
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ((*result)["exit_code"], 0);
  EXPECT_EQ((*result)["stdout"], "hello world\n");
  EXPECT_EQ((*result)["stderr"], "");
}

TEST(ExecTest, JsonStdoutIsParsedAndStdinIsFed) {
  auto json = RunExec({{"command", {"sh", "-c", "echo '{\"pages\": 3}'"}}});
  ASSERT_TRUE(json.ok()) << json.error().message;
  EXPECT_EQ((*json)["stdout"], Json({{"pages", 3}}));
  auto fed = RunExec({{"command", {"cat"}}, {"stdin", "from stdin"}});
  ASSERT_TRUE(fed.ok()) << fed.error().message;
  EXPECT_EQ((*fed)["stdout"], "from stdin");
}

TEST(ExecTest, TheChildSeesItsEnvironmentAndNotTheServers) {
  setenv("SAGAFLOW_TEST_SECRET", "server-only", 1);
  auto result =
      RunExec({{"command", {"sh", "-c", "echo \"$FOO/$SAGAFLOW_TEST_SECRET\""}},
               {"env", {{"FOO", "bar"}}}});
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ((*result)["stdout"], "bar/\n");
}

TEST(ExecTest, NonZeroExitFailsWithExitCodeN) {
  auto result = RunExec({{"command", {"sh", "-c", "echo broken >&2; exit 3"}}});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().error, "ExitCode3");
  EXPECT_NE(result.error().message.find("broken"), std::string::npos);
  EXPECT_FALSE(result.error().non_retryable);
}

TEST(ExecTest, TimeoutKillsTheProgramAndItsChildren) {
  const fs::path pid_file =
      fs::temp_directory_path() / ("exec-child-" + std::to_string(getpid()));
  const auto started = std::chrono::steady_clock::now();
  auto result =
      RunExec({{"command",
                {"sh", "-c",
                 "sleep 30 & echo $! > " + pid_file.string() + "; sleep 30"}},
               {"timeout", "300ms"}});
  EXPECT_LT(std::chrono::steady_clock::now() - started,
            std::chrono::seconds(5));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().error, "Timeout");
  std::ifstream in(pid_file);
  pid_t child = 0;
  in >> child;
  ASSERT_GT(child, 0);
  // The grandchild was in the same process group: killed too (its reaping by
  // init may take a moment).
  bool gone = false;
  for (int i = 0; i < 200 && !gone; ++i) {
    gone = !Alive(child);
    if (!gone) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(gone) << "grandchild " << child << " survived the timeout";
  fs::remove(pid_file);
}

TEST(ExecTest, CancellationKillsTheProgram) {
  Cancellation cancellation;
  std::thread canceller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    cancellation.Cancel();
  });
  const auto started = std::chrono::steady_clock::now();
  auto result = RunExec({{"command", {"sleep", "30"}}}, {}, &cancellation);
  canceller.join();
  EXPECT_LT(std::chrono::steady_clock::now() - started,
            std::chrono::seconds(5));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().error, kCancelled);
}

TEST(ExecTest, OutputBeyondTheLimitIsDroppedAndFlagged) {
  ExecOptions options;
  options.max_output_bytes = 1000;
  auto result = RunExec(
      {{"command", {"sh", "-c", "head -c 100000 /dev/zero | tr '\\0' x"}}},
      options);
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ((*result)["stdout"].get<std::string>().size(), 1000u);
  EXPECT_EQ((*result)["stdout_truncated"], true);
}

TEST(ExecTest, OnlyAllowedProgramsRun) {
  const fs::path dir =
      fs::temp_directory_path() / ("exec-allow-" + std::to_string(getpid()));
  fs::create_directories(dir);
  const fs::path script = dir / "convert.sh";
  std::ofstream(script) << "#!/bin/sh\necho converted\n";
  fs::permissions(script, fs::perms::owner_all);

  ExecOptions only_script;
  only_script.allowed = {script.string()};
  auto ran = RunExec({{"command", {script.string()}}}, only_script);
  ASSERT_TRUE(ran.ok()) << ran.error().message;
  EXPECT_EQ((*ran)["stdout"], "converted\n");
  // Not the directory's other programs, not the system's.
  auto refused = RunExec({{"command", {"echo", "hi"}}}, only_script);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().error, "ExecNotAllowed");
  EXPECT_TRUE(refused.error().non_retryable);
  // A symlink into an allowed place is judged by where it points.
  ExecOptions only_dir;
  only_dir.allowed = {dir.string()};
  fs::create_symlink("/usr/bin/id", dir / "id");
  auto via_link = RunExec({{"command", {(dir / "id").string()}}}, only_dir);
  ASSERT_FALSE(via_link.ok());
  EXPECT_EQ(via_link.error().error, "ExecNotAllowed");
  fs::remove_all(dir);
}

TEST(ExecTest, OffUnlessAllowedAndBadInputIsNonRetryable) {
  auto exec = NewExec({});
  ActivityContext context;
  auto off = exec->Run({{"command", {"echo"}}}, context);
  ASSERT_FALSE(off.ok());
  EXPECT_EQ(off.error().error, "ExecDisabled");
  EXPECT_NE(off.error().message.find("--allow-exec"), std::string::npos);
  EXPECT_TRUE(off.error().non_retryable);

  for (const Json& bad :
       {Json("echo"), Json({{"command", Json::array()}}),
        Json({{"command", {"echo", 3}}}),
        Json({{"command", {"echo"}}, {"shell", true}}),
        Json({{"command", {"echo"}}, {"timeout", "soon"}}),
        Json({{"command", {"echo"}}, {"env", {{"A=B", "c"}}}})}) {
    auto result = RunExec(bad);
    ASSERT_FALSE(result.ok()) << bad.dump();
    EXPECT_EQ(result.error().error, kInvalidInput) << bad.dump();
    EXPECT_TRUE(result.error().non_retryable);
  }
  auto missing = RunExec({{"command", {"no-such-program-xyz"}}});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().error, "ProgramNotFound");
}

TEST(ExecTest, AProgramThatClosesItsOutputStillTimesOut) {
  const auto started = std::chrono::steady_clock::now();
  auto result = RunExec({{"command", {"sh", "-c", "exec >&- 2>&-; sleep 30"}},
                         {"timeout", "300ms"}});
  EXPECT_LT(std::chrono::steady_clock::now() - started,
            std::chrono::seconds(5));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().error, "Timeout");
}

TEST(ExecTest, AnEscapedProcessHoldingThePipeDoesNotHoldTheStep) {
  // setsid takes `sleep` out of the group, with stdout still open: the step
  // ends once the program itself exits, after a short drain.
  const auto started = std::chrono::steady_clock::now();
  auto result =
      RunExec({{"command", {"sh", "-c", "setsid sleep 5 & echo started"}},
               {"timeout", "20s"}});
  EXPECT_LT(std::chrono::steady_clock::now() - started,
            std::chrono::seconds(3));
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ((*result)["stdout"], "started\n");
}

TEST(ExecTest, ExitCode127IsAnExitCodeAndStdinToANonReaderIsHarmless) {
  auto code = RunExec({{"command", {"sh", "-c", "exit 127"}}});
  ASSERT_FALSE(code.ok());
  EXPECT_EQ(code.error().error, "ExitCode127");
  // A megabyte of stdin to a program that never reads it: no SIGPIPE kills
  // this process, the step completes.
  auto ignored =
      RunExec({{"command", {"true"}}, {"stdin", std::string(1 << 20, 'x')}});
  ASSERT_TRUE(ignored.ok()) << ignored.error().message;
}

TEST(ExecTest, ErrorMessagesAreValidUtf8) {
  auto result = RunExec(
      {{"command", {"sh", "-c", "printf 'bad \\377 bytes' >&2; exit 2"}}});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().error, "ExitCode2");
  EXPECT_EQ(ValidUtf8(result.error().message), result.error().message);
  EXPECT_NE(result.error().message.find("bad"), std::string::npos);
}

TEST(ExecTest, EnvironmentThatWouldLoadOtherCodeIsRefused) {
  for (const char* name :
       {"LD_PRELOAD", "BASH_FUNC_date%%", "BASH_ENV", "PATH"}) {
    auto result = RunExec({{"command", {"true"}}, {"env", {{name, "x"}}}});
    ASSERT_FALSE(result.ok()) << name;
    EXPECT_EQ(result.error().error, kInvalidInput) << name;
  }
}

TEST(ExecTest, TheChildGetsNoServerDescriptors) {
  const int leaked = ::open("/dev/null", O_RDONLY);  // Not close-on-exec.
  ASSERT_GE(leaked, 3);
  auto result =
      RunExec({{"command", {"sh", "-c", "ls /proc/self/fd | wc -l"}}});
  ::close(leaked);
  ASSERT_TRUE(result.ok()) << result.error().message;
  // 0, 1, 2 and the descriptor ls uses to read the directory.
  EXPECT_EQ((*result)["stdout"], 4);
}

}  // namespace
}  // namespace sagaflow::activities
