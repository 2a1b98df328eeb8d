#include "tests/server/server_harness.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace sagaflow::testing {
namespace fs = std::filesystem;

std::string BinDir() { return SAGAFLOW_TEST_BIN_DIR; }
std::string SourceDir() { return SAGAFLOW_TEST_SOURCE_DIR; }

namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string MakeTempDir() {
  std::string pattern =
      (fs::temp_directory_path() / "sagaflow-server-XXXXXX").string();
  char* made = mkdtemp(pattern.data());
  if (made == nullptr) std::abort();
  return made;
}

// Waits for `pid` to exit within `timeout`; returns its wait status.
std::optional<int> WaitExit(pid_t pid, std::chrono::milliseconds timeout) {
  int status = 0;
  std::optional<int> result;
  Eventually(
      [&] {
        const pid_t done = waitpid(pid, &status, WNOHANG);
        if (done == pid) result = status;
        return done == pid || done < 0;
      },
      timeout);
  return result;
}

pid_t Spawn(const std::string& program, const std::vector<std::string>& args,
            const std::string& out_file, const std::string& err_file) {
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(program.c_str()));
  for (const std::string& a : args)
    argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    const int out = open(out_file.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    const int err = open(err_file.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    const int null = open("/dev/null", O_RDONLY);
    dup2(null, 0);
    dup2(out, 1);
    dup2(err, 2);
    execv(program.c_str(), argv.data());
    _exit(127);
  }
  return pid;
}

}  // namespace

ChildProcess::ChildProcess(const std::string& program,
                           std::vector<std::string> args,
                           const std::string& log_file)
    : pid_(Spawn(program, args, log_file, log_file)) {}

ChildProcess::~ChildProcess() {
  if (pid_ > 0 && Terminate() < 0 && pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
}

int ChildProcess::Terminate(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return -1;
  kill(pid_, SIGTERM);
  std::optional<int> status = WaitExit(pid_, timeout);
  if (!status) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
    return -1;
  }
  pid_ = -1;
  return WIFEXITED(*status) ? WEXITSTATUS(*status) : -1;
}

bool Eventually(const std::function<bool()>& condition,
                std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto pause = std::chrono::milliseconds(1);
  while (true) {
    if (condition()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(20));
  }
}

ServerProcess::ServerProcess(std::vector<std::string> extra_flags)
    : extra_flags_(std::move(extra_flags)), dir_(MakeTempDir()) {
  data_dir_ = dir_ + "/data";
  port_file_ = dir_ + "/port";
  log_file_ = dir_ + "/sagaflowd.log";
}

ServerProcess::~ServerProcess() {
  if (pid_ > 0) Kill9();
  if (std::getenv("SAGAFLOW_TEST_KEEP") == nullptr) {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
}

void ServerProcess::Start() {
  ASSERT_LT(pid_, 0) << "already running";
  std::error_code ec;
  fs::remove(port_file_, ec);
  // A restart listens where the last start did, so clients and workers
  // pointed at the old address reconnect.
  const std::string listen = address_.empty() ? "127.0.0.1:0" : address_;
  std::vector<std::string> args = {"--listen",    listen,        "--data-dir",
                                   data_dir_,     "--port-file", port_file_,
                                   "--log-level", "debug"};
  args.insert(args.end(), extra_flags_.begin(), extra_flags_.end());
  pid_ = Spawn(BinDir() + "/sagaflowd", args, dir_ + "/stdout", log_file_);
  ASSERT_GT(pid_, 0);
  bool exited = false;
  const bool serving = Eventually([&] {
    if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
      exited = true;
      return true;
    }
    return fs::exists(port_file_);
  });
  if (exited) pid_ = -1;
  ASSERT_TRUE(serving && !exited) << "sagaflowd did not start:\n" << Log();
  std::string address = ReadFile(port_file_);
  while (!address.empty() && address.back() == '\n') address.pop_back();
  address_ = address;
  grpc::ChannelArguments args_for_channel;
  args_for_channel.SetMaxReceiveMessageSize(256 << 20);
  // A fresh channel per start: no backoff state left from a killed server.
  args_for_channel.SetInt("sagaflow.test.generation", pid_);
  channel_ = grpc::CreateCustomChannel(
      address_, grpc::InsecureChannelCredentials(), args_for_channel);
  workflows_ = v1::WorkflowService::NewStub(channel_);
  workers_ = v1::WorkerService::NewStub(channel_);
}

void ServerProcess::Kill9() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

int ServerProcess::Terminate(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return -1;
  kill(pid_, SIGTERM);
  std::optional<int> status = WaitExit(pid_, timeout);
  if (!status) {
    Kill9();
    return -1;
  }
  pid_ = -1;
  return WIFEXITED(*status) ? WEXITSTATUS(*status) : -1;
}

std::string BufferBytes(const grpc::ByteBuffer& buffer) {
  std::string out;
  std::vector<grpc::Slice> slices;
  if (!buffer.Valid() || !buffer.Dump(&slices).ok()) return out;
  for (const grpc::Slice& slice : slices) {
    out.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  }
  return out;
}

std::string ServerProcess::Log() const { return ReadFile(log_file_); }

CliResult RunCli(const std::string& server, std::vector<std::string> args,
                 std::chrono::milliseconds timeout) {
  static std::atomic<int> counter{0};
  const std::string base =
      (fs::temp_directory_path() / ("sagaflow-cli-" + std::to_string(getpid()) +
                                    "-" + std::to_string(counter++)))
          .string();
  args.insert(args.begin(), {"--server", server});
  const pid_t pid =
      Spawn(BinDir() + "/sagaflow", args, base + ".out", base + ".err");
  CliResult result;
  std::optional<int> status = WaitExit(pid, timeout);
  if (!status) {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    result.code = -1;
  } else {
    result.code = WIFEXITED(*status) ? WEXITSTATUS(*status) : -1;
  }
  result.out = ReadFile(base + ".out");
  result.err = ReadFile(base + ".err");
  std::error_code ec;
  fs::remove(base + ".out", ec);
  fs::remove(base + ".err", ec);
  return result;
}

std::unique_ptr<grpc::ClientContext> Context(
    std::chrono::milliseconds timeout) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + timeout);
  return context;
}

std::string Register(ServerProcess& server, const std::string& definition) {
  v1::RegisterWorkflowRequest request;
  request.set_definition_json(definition);
  v1::RegisterWorkflowResponse response;
  grpc::Status status =
      server.workflows().RegisterWorkflow(Context().get(), request, &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return response.name();
}

std::string Start(ServerProcess& server, const std::string& workflow,
                  const std::string& input_json, const std::string& run_id) {
  v1::StartRunRequest request;
  request.set_workflow(workflow);
  request.set_input_json(input_json);
  request.set_run_id(run_id);
  v1::StartRunResponse response;
  grpc::Status status =
      server.workflows().StartRun(Context().get(), request, &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return response.run_id();
}

v1::Run GetRun(ServerProcess& server, const std::string& run_id) {
  v1::GetRunRequest request;
  request.set_run_id(run_id);
  v1::Run run;
  grpc::Status status =
      server.workflows().GetRun(Context().get(), request, &run);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return run;
}

std::vector<v1::HistoryEvent> History(ServerProcess& server,
                                      const std::string& run_id) {
  v1::GetHistoryRequest request;
  request.set_run_id(run_id);
  v1::GetHistoryResponse response;
  grpc::Status status =
      server.workflows().GetHistory(Context().get(), request, &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return {response.events().begin(), response.events().end()};
}

std::vector<std::string> EventTypes(
    const std::vector<v1::HistoryEvent>& events) {
  std::vector<std::string> types;
  for (const auto& e : events) types.push_back(EventName(e.type()));
  return types;
}

v1::Run AwaitStopped(ServerProcess& server, const std::string& run_id,
                     std::chrono::milliseconds timeout) {
  v1::WatchRunRequest request;
  request.set_run_id(run_id);
  auto context = Context(timeout);
  auto reader = server.workflows().WatchRun(context.get(), request);
  v1::HistoryEvent event;
  while (reader->Read(&event)) {
  }
  grpc::Status status = reader->Finish();
  EXPECT_TRUE(status.ok()) << "WatchRun " << run_id << ": "
                           << status.error_message();
  return GetRun(server, run_id);
}

std::optional<v1::PollTaskResponse> Poll(
    ServerProcess& server, const std::vector<std::string>& activities,
    std::chrono::milliseconds wait) {
  v1::PollTaskRequest request;
  for (const auto& a : activities) request.add_activities(a);
  request.set_worker_id("test-worker");
  request.set_wait_ms(static_cast<uint32_t>(wait.count()));
  v1::PollTaskResponse response;
  grpc::Status status = server.workers().PollTask(
      Context(wait + std::chrono::seconds(5)).get(), request, &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  if (response.task_token().empty()) return std::nullopt;
  return response;
}

grpc::Status Complete(ServerProcess& server, const std::string& token,
                      const std::string& output_json) {
  v1::CompleteTaskRequest request;
  request.set_task_token(token);
  request.set_output_json(output_json);
  v1::CompleteTaskResponse response;
  return server.workers().CompleteTask(Context().get(), request, &response);
}

grpc::Status Fail(ServerProcess& server, const std::string& token,
                  const std::string& error, bool non_retryable) {
  v1::FailTaskRequest request;
  request.set_task_token(token);
  request.set_error(error);
  request.set_message("failed by the test");
  request.set_non_retryable(non_retryable);
  v1::FailTaskResponse response;
  return server.workers().FailTask(Context().get(), request, &response);
}

std::string StatusName(v1::RunStatus status) {
  return v1::RunStatus_Name(status).substr(sizeof("RUN_STATUS_") - 1);
}

std::string EventName(v1::EventType type) {
  return v1::EventType_Name(type).substr(sizeof("EVENT_TYPE_") - 1);
}

}  // namespace sagaflow::testing
