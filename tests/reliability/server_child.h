// sagaflowd as a child process for the reliability tests: it may die by
// itself (a failpoint) or be killed, and comes back on the same address and
// data directory.
#ifndef SAGAFLOW_TESTS_RELIABILITY_SERVER_CHILD_H_
#define SAGAFLOW_TESTS_RELIABILITY_SERVER_CHILD_H_

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "tests/server/server_harness.h"

namespace sagaflow::testing {

inline std::string ReadWholeFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// sagaflowd as a child that dies and comes back on the same address. Unlike
// ServerProcess it notices when the server dies by itself (a failpoint) and
// gives each start its own failpoint configuration.
class ServerChild {
 public:
  ServerChild() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "sagaflow-chaos-XXXXXX")
            .string();
    if (mkdtemp(pattern.data()) == nullptr) std::abort();
    dir_ = pattern;
    log_ = dir_ + "/server.log";
  }
  ~ServerChild() {
    Kill9();
    std::error_code ec;
    if (std::getenv("SAGAFLOW_CHAOS_KEEP") == nullptr)
      std::filesystem::remove_all(dir_, ec);
  }

  // Starts sagaflowd (with SAGAFLOW_FAILPOINTS=`failpoints` when not empty,
  // and `env` added to its environment) and waits until it serves. Returns
  // how long that took: the recovery time.
  std::optional<std::chrono::milliseconds> Start(
      const std::string& failpoints,
      const std::vector<std::pair<std::string, std::string>>& env = {}) {
    const std::string port_file = dir_ + "/port";
    std::error_code ec;
    std::filesystem::remove(port_file, ec);
    const std::string listen = address_.empty() ? "127.0.0.1:0" : address_;
    std::vector<std::string> args = {BinDir() + "/sagaflowd",
                                     "--listen",
                                     listen,
                                     "--data-dir",
                                     dir_ + "/data",
                                     "--port-file",
                                     port_file,
                                     "--grace-period",
                                     "2s"};
    const auto began = std::chrono::steady_clock::now();
    pid_ = fork();
    if (pid_ == 0) {
      const int out = open(log_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      dup2(out, 1);
      dup2(out, 2);
      if (failpoints.empty()) {
        unsetenv("SAGAFLOW_FAILPOINTS");
      } else {
        setenv("SAGAFLOW_FAILPOINTS", failpoints.c_str(), 1);
      }
      for (const auto& [name, value] : env) {
        setenv(name.c_str(), value.c_str(), 1);
      }
      std::vector<char*> argv;
      for (std::string& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
    const bool up = Eventually(
        [&] { return std::filesystem::exists(port_file) || !Alive(); },
        std::chrono::seconds(60));
    if (!up || !std::filesystem::exists(port_file)) return std::nullopt;
    std::string address = ReadWholeFile(port_file);
    while (!address.empty() && address.back() == '\n') address.pop_back();
    address_ = address;
    return std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - began);
  }

  // False once the process has exited (it is reaped here).
  bool Alive() {
    if (pid_ <= 0) return false;
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return false;
    }
    return true;
  }
  void Kill9() {
    if (pid_ <= 0) return;
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  // SIGTERM; the exit code, or -1.
  int Terminate() {
    if (pid_ <= 0) return -1;
    kill(pid_, SIGTERM);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  const std::string& address() const { return address_; }
  const std::string& dir() const { return dir_; }
  std::string Log() const { return ReadWholeFile(log_); }

 private:
  std::string dir_;
  std::string log_;
  std::string address_;
  pid_t pid_ = -1;
};

}  // namespace sagaflow::testing

#endif  // SAGAFLOW_TESTS_RELIABILITY_SERVER_CHILD_H_
