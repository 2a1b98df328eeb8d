#include "activities/exec.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <map>
#include <optional>

namespace sagaflow::activities {
namespace {

using SteadyClock = std::chrono::steady_clock;

ActivityError InvalidInput(std::string message) {
  return ActivityError{kInvalidInput, "builtin.exec: " + std::move(message),
                       /*non_retryable=*/true};
}

std::optional<std::string> RealPath(const std::string& path) {
  char resolved[PATH_MAX];
  if (::realpath(path.c_str(), resolved) == nullptr) return std::nullopt;
  return std::string(resolved);
}

// The program a command names: a path as given, or a bare name found on the
// server's PATH.
std::optional<std::string> FindProgram(const std::string& name) {
  if (name.find('/') != std::string::npos) return RealPath(name);
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/bin:/bin";
  size_t start = 0;
  while (start <= dirs.size()) {
    size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    std::string candidate =
        (end > start ? dirs.substr(start, end - start) : ".") + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return RealPath(candidate);
    start = end + 1;
  }
  return std::nullopt;
}

struct Pipe {
  int read = -1;
  int write = -1;
};

void CloseFd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

// One captured stream: keeps up to `limit` bytes, counts the rest.
struct Capture {
  int fd = -1;
  std::string data;
  bool truncated = false;
};

class Exec final : public Activity {
 public:
  explicit Exec(ExecOptions options) : options_(std::move(options)) {
    for (const std::string& entry : options_.allowed) {
      if (auto real = RealPath(entry)) allowed_.push_back(*real);
    }
  }

  ActivityResult Run(const Json& input,
                     const ActivityContext& context) override {
    if (options_.allowed.empty()) {
      return ActivityError{"ExecDisabled",
                           "builtin.exec is off on this server: start "
                           "sagaflowd with --allow-exec PATH[,PATH...] to "
                           "allow programs or directories",
                           /*non_retryable=*/true};
    }
    auto command = ParseCommand(input);
    if (!command.ok()) return command.error();
    return Execute(*command, context);
  }

 private:
  struct Command {
    std::vector<std::string> argv;
    std::string program;  // Resolved, allowed.
    std::vector<std::string> env;
    std::string stdin_text;
    std::optional<Duration> timeout;
  };

  Result<Command, ActivityError> ParseCommand(const Json& input) const {
    if (!input.is_object()) {
      return InvalidInput(
          "input is an object: {\"command\": [\"prog\", \"arg\"...], "
          "\"env\": {}, \"stdin\": \"...\", \"timeout\": \"30s\"}");
    }
    for (const auto& [key, value] : input.items()) {
      if (key != "command" && key != "env" && key != "stdin" &&
          key != "timeout") {
        return InvalidInput("unknown field \"" + key +
                            "\" (expected command, env, stdin, timeout)");
      }
    }
    Command c;
    auto it = input.find("command");
    if (it == input.end() || !it->is_array() || it->empty()) {
      return InvalidInput("\"command\" is a non-empty array of strings");
    }
    for (const Json& arg : *it) {
      if (!arg.is_string()) {
        return InvalidInput("\"command\" holds a non-string: " + arg.dump());
      }
      const std::string& text = arg.get_ref<const std::string&>();
      if (text.find('\0') != std::string::npos) {
        return InvalidInput("\"command\" holds a NUL character");
      }
      c.argv.push_back(text);
    }
    auto program = FindProgram(c.argv[0]);
    if (!program) {
      return ActivityError{"ProgramNotFound",
                           "builtin.exec: no program \"" + c.argv[0] + "\"",
                           /*non_retryable=*/true};
    }
    if (!Allowed(*program)) {
      return ActivityError{
          "ExecNotAllowed",
          "builtin.exec: " + *program + " is not under any --allow-exec path",
          /*non_retryable=*/true};
    }
    c.program = *program;
    // The child's environment: PATH and HOME as the server has them, then
    // the step's own; nothing else of the server's leaks into it.
    std::map<std::string, std::string> env;
    for (const char* name : {"PATH", "HOME", "LANG"}) {
      if (const char* value = std::getenv(name)) env[name] = value;
    }
    if (auto e = input.find("env"); e != input.end()) {
      if (!e->is_object()) {
        return InvalidInput("\"env\" is an object of strings");
      }
      for (const auto& [key, value] : e->items()) {
        if (!value.is_string() || key.empty() ||
            key.find('=') != std::string::npos ||
            key.find('\0') != std::string::npos ||
            value.get_ref<const std::string&>().find('\0') !=
                std::string::npos) {
          return InvalidInput("\"env\"." + key +
                              ": names and values are strings without = "
                              "(in names) or NUL");
        }
        env[key] = value.get<std::string>();
      }
    }
    for (const auto& [key, value] : env) c.env.push_back(key + "=" + value);
    if (auto s = input.find("stdin"); s != input.end()) {
      if (!s->is_string()) return InvalidInput("\"stdin\" is a string");
      c.stdin_text = s->get<std::string>();
    }
    if (auto t = input.find("timeout"); t != input.end()) {
      if (!t->is_string()) return InvalidInput("\"timeout\" is a duration");
      auto parsed = ParseDuration(t->get_ref<const std::string&>());
      if (!parsed.ok()) return InvalidInput(parsed.status().message());
      c.timeout = *parsed;
    }
    return c;
  }

  bool Allowed(const std::string& program) const {
    for (const std::string& entry : allowed_) {
      if (program == entry) return true;
      const std::string dir = entry == "/" ? entry : entry + "/";
      if (program.compare(0, dir.size(), dir) == 0) return true;
    }
    return false;
  }

  ActivityResult Execute(const Command& c, const ActivityContext& context) {
    Pipe in, out, err;
    int fds[2];
    for (Pipe* p : {&in, &out, &err}) {
      if (::pipe2(fds, O_CLOEXEC) != 0) {
        for (Pipe* q : {&in, &out, &err}) {
          CloseFd(q->read);
          CloseFd(q->write);
        }
        return ActivityError{
            "ExecFailed", std::string("pipe: ") + std::strerror(errno), false};
      }
      p->read = fds[0];
      p->write = fds[1];
    }
    // Everything the child needs is built before fork: after it, a
    // multithreaded parent's child may only make async-signal-safe calls.
    std::vector<char*> argv, envp;
    for (const std::string& a : c.argv)
      argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    for (const std::string& e : c.env)
      envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);

    const pid_t pid = ::fork();
    if (pid < 0) {
      for (Pipe* q : {&in, &out, &err}) {
        CloseFd(q->read);
        CloseFd(q->write);
      }
      return ActivityError{"ExecFailed",
                           std::string("fork: ") + std::strerror(errno), false};
    }
    if (pid == 0) {
      ::setpgid(0, 0);  // Its own group, so a kill reaches its children too.
      ::dup2(in.read, 0);
      ::dup2(out.write, 1);
      ::dup2(err.write, 2);
      // Every other descriptor of the server (sockets, the store's files)
      // stays out of the child.
      ::syscall(SYS_close_range, 3U, ~0U, 0U);
      sigset_t none;
      sigemptyset(&none);
      ::sigprocmask(SIG_SETMASK, &none, nullptr);
      ::signal(SIGPIPE, SIG_DFL);
      ::execve(c.program.c_str(), argv.data(), envp.data());
      _exit(127);
    }
    ::setpgid(pid, pid);  // Also from here: no race with an early kill.
    CloseFd(in.read);
    CloseFd(out.write);
    CloseFd(err.write);
    return Supervise(pid, c, context, in.write, out.read, err.read);
  }

  ActivityResult Supervise(pid_t pid, const Command& c,
                           const ActivityContext& context, int stdin_fd,
                           int stdout_fd, int stderr_fd) {
    Capture out{stdout_fd, {}, false}, err{stderr_fd, {}, false};
    size_t written = 0;
    if (c.stdin_text.empty()) CloseFd(stdin_fd);
    if (stdin_fd >= 0) ::fcntl(stdin_fd, F_SETFL, O_NONBLOCK);

    const auto start = SteadyClock::now();
    std::optional<SteadyClock::time_point> deadline;
    if (c.timeout) deadline = start + *c.timeout;
    auto last_beat = start;
    std::optional<std::string> stop_reason;  // Timeout or Cancelled.
    int status = 0;
    bool exited = false;
    char buffer[64 << 10];

    while (!exited || out.fd >= 0 || err.fd >= 0) {
      const auto now = SteadyClock::now();
      if (!stop_reason) {
        if (context.cancelled()) {
          stop_reason = kCancelled;
        } else if (deadline && now >= *deadline) {
          stop_reason = "Timeout";
        }
        if (stop_reason) ::kill(-pid, SIGKILL);
      }
      if (context.heartbeat && now - last_beat >= options_.heartbeat_every) {
        context.heartbeat(
            Json{{"running_ms",
                  std::chrono::duration_cast<Duration>(now - start).count()}});
        last_beat = now;
      }
      if (!exited) {
        // Noticed without reaping, so the group id cannot be reused before
        // the kill: whatever the program left running in its group goes with
        // it, and its pipes then reach end of file.
        siginfo_t info{};
        if (::waitid(P_PID, static_cast<id_t>(pid), &info,
                     WEXITED | WNOHANG | WNOWAIT) == 0 &&
            info.si_pid == pid) {
          ::kill(-pid, SIGKILL);
          ::waitpid(pid, &status, 0);
          exited = true;
        }
      }
      pollfd fds[3];
      int n = 0;
      for (Capture* cap : {&out, &err}) {
        if (cap->fd >= 0) fds[n++] = {cap->fd, POLLIN, 0};
      }
      if (stdin_fd >= 0) fds[n++] = {stdin_fd, POLLOUT, 0};
      if (n == 0) {
        if (!exited) ::waitpid(pid, &status, 0);
        exited = true;
        break;
      }
      // A short wait keeps cancellation, the timeout and the child's exit
      // noticed within 50 ms without a thread per attempt.
      ::poll(fds, n, 50);
      for (int i = 0; i < n; ++i) {
        if (fds[i].revents == 0) continue;
        if (fds[i].fd == stdin_fd) {
          const ssize_t w = ::write(stdin_fd, c.stdin_text.data() + written,
                                    c.stdin_text.size() - written);
          if (w > 0) written += static_cast<size_t>(w);
          if (w < 0 && errno != EAGAIN) written = c.stdin_text.size();
          if (written >= c.stdin_text.size()) CloseFd(stdin_fd);
          continue;
        }
        Capture* cap = fds[i].fd == out.fd ? &out : &err;
        const ssize_t r = ::read(cap->fd, buffer, sizeof(buffer));
        if (r <= 0) {
          if (r < 0 && errno == EINTR) continue;
          CloseFd(cap->fd);
          continue;
        }
        const size_t room =
            options_.max_output_bytes -
            std::min(options_.max_output_bytes, cap->data.size());
        cap->data.append(buffer, std::min(room, static_cast<size_t>(r)));
        if (static_cast<size_t>(r) > room) cap->truncated = true;
      }
    }
    CloseFd(stdin_fd);
    CloseFd(out.fd);
    CloseFd(err.fd);

    if (stop_reason) {
      return ActivityError{*stop_reason,
                           *stop_reason == kCancelled
                               ? "builtin.exec: cancelled; the process group "
                                 "was killed"
                               : "builtin.exec: " + c.argv[0] +
                                     " ran past its timeout; the process "
                                     "group was killed",
                           false};
    }
    if (WIFSIGNALED(status)) {
      return ActivityError{"Signal" + std::to_string(WTERMSIG(status)),
                           "builtin.exec: " + c.argv[0] + " was killed by " +
                               strsignal(WTERMSIG(status)) + Tail(err.data),
                           false};
    }
    const int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (code == 127 && out.data.empty() && err.data.empty()) {
      return ActivityError{
          "ExecFailed", "builtin.exec: could not execute " + c.program, true};
    }
    if (code != 0) {
      return ActivityError{"ExitCode" + std::to_string(code),
                           "builtin.exec: " + c.argv[0] + " exited with " +
                               std::to_string(code) + Tail(err.data),
                           false};
    }
    Json output = {{"exit_code", 0}, {"stderr", err.data}};
    // stdout that is JSON is returned parsed; anything else as text.
    dsl::JsonParseOptions parse;
    parse.max_bytes = options_.max_output_bytes;
    Result<Json> parsed = out.truncated || out.data.empty()
                              ? Result<Json>(Status::InvalidArgument(""))
                              : dsl::ParseJson(out.data, parse);
    output["stdout"] = parsed.ok() ? std::move(*parsed) : Json(out.data);
    if (out.truncated) output["stdout_truncated"] = true;
    if (err.truncated) output["stderr_truncated"] = true;
    return output;
  }

  static std::string Tail(const std::string& text) {
    if (text.empty()) return "";
    constexpr size_t kTail = 512;
    return ": " + (text.size() > kTail
                       ? "..." + text.substr(text.size() - kTail)
                       : text);
  }

  const ExecOptions options_;
  std::vector<std::string> allowed_;
};

}  // namespace

std::unique_ptr<Activity> NewExec(ExecOptions options) {
  return std::make_unique<Exec>(std::move(options));
}

}  // namespace sagaflow::activities
