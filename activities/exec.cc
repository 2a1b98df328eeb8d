#include "activities/exec.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
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

#include "common/text.h"

namespace sagaflow::activities {
namespace {

using SteadyClock = std::chrono::steady_clock;

// How long output is still read after the program exited, from processes it
// left behind outside its group.
constexpr auto kDrainAfterExit = std::chrono::milliseconds(500);

// Environment names a step may not set: they make the dynamic loader, a shell
// or an interpreter run code of the caller's choosing, around the allow list.
bool ForbiddenEnvName(const std::string& name) {
  static const char* const kExact[] = {
      "BASH_ENV",     "ENV",        "GCONV_PATH",    "PERL5OPT",
      "PERL5LIB",     "PYTHONPATH", "PYTHONSTARTUP", "PYTHONHOME",
      "NODE_OPTIONS", "PATH",       "SHELLOPTS",     "PS4",
      "IFS",          "RUBYOPT",    "HOSTALIASES"};
  for (const char* exact : kExact) {
    if (name == exact) return true;
  }
  return name.rfind("LD_", 0) == 0 || name.rfind("BASH_FUNC_", 0) == 0 ||
         name.find('%') != std::string::npos;
}

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
        if (ForbiddenEnvName(key)) {
          return InvalidInput("\"env\"." + key +
                              " may not be set: it would let the program "
                              "load or run other code");
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
    // stdin, stdout, stderr, and the channel on which a failed execve
    // reports its errno (end of file: the program started).
    Pipe in, out, err, status;
    auto close_all = [&] {
      for (Pipe* q : {&in, &out, &err, &status}) {
        CloseFd(q->read);
        CloseFd(q->write);
      }
    };
    for (Pipe* p : {&in, &out, &err, &status}) {
      int fds[2];
      if (::pipe2(fds, O_CLOEXEC) != 0) {
        close_all();
        return ActivityError{
            "ExecFailed", std::string("pipe: ") + std::strerror(errno), false};
      }
      // Never 0, 1 or 2 (a server started with one closed): dup2 onto the
      // same number would keep close-on-exec set.
      p->read = AboveStdio(fds[0]);
      p->write = AboveStdio(fds[1]);
      if (p->read < 0 || p->write < 0) {
        close_all();
        return ActivityError{"ExecFailed", "builtin.exec: out of descriptors",
                             false};
      }
    }
    // Everything the child needs is built before fork: after it, a
    // multithreaded parent's child may only make async-signal-safe calls.
    std::vector<char*> argv, envp;
    for (const std::string& a : c.argv) {
      argv.push_back(const_cast<char*>(a.c_str()));
    }
    argv.push_back(nullptr);
    for (const std::string& e : c.env) {
      envp.push_back(const_cast<char*>(e.c_str()));
    }
    envp.push_back(nullptr);
    rlimit files{};
    const int max_fd = ::getrlimit(RLIMIT_NOFILE, &files) == 0 &&
                               files.rlim_cur != RLIM_INFINITY &&
                               files.rlim_cur < 1'000'000
                           ? static_cast<int>(files.rlim_cur)
                           : 65536;
    const int report_fd = status.write;

    const pid_t pid = ::fork();
    if (pid < 0) {
      close_all();
      return ActivityError{"ExecFailed",
                           std::string("fork: ") + std::strerror(errno), false};
    }
    if (pid == 0) {
      ::setpgid(0, 0);  // Its own group, so a kill reaches its children too.
      ::dup2(in.read, 0);
      ::dup2(out.write, 1);
      ::dup2(err.write, 2);
      // Every other descriptor of the server (sockets, the store's files)
      // stays out of the child; the errno channel closes at exec.
      if (::syscall(SYS_close_range, 3U, static_cast<unsigned>(report_fd - 1),
                    0U) != 0 ||
          ::syscall(SYS_close_range, static_cast<unsigned>(report_fd + 1), ~0U,
                    0U) != 0) {
        for (int fd = 3; fd < max_fd; ++fd) {
          if (fd != report_fd) ::close(fd);
        }
      }
      sigset_t none;
      sigemptyset(&none);
      ::sigprocmask(SIG_SETMASK, &none, nullptr);
      ::signal(SIGPIPE, SIG_DFL);
      ::execve(c.program.c_str(), argv.data(), envp.data());
      const int error = errno;
      [[maybe_unused]] ssize_t ignored =
          ::write(report_fd, &error, sizeof(error));
      _exit(127);
    }
    ::setpgid(pid, pid);  // Also from here: no race with an early kill.
    CloseFd(in.read);
    CloseFd(out.write);
    CloseFd(err.write);
    CloseFd(status.write);
    int exec_errno = 0;
    ssize_t got;
    do {
      got = ::read(status.read, &exec_errno, sizeof(exec_errno));
    } while (got < 0 && errno == EINTR);
    CloseFd(status.read);
    if (got == static_cast<ssize_t>(sizeof(exec_errno))) {
      Reap(pid);
      CloseFd(in.write);
      CloseFd(out.read);
      CloseFd(err.read);
      const bool permanent = exec_errno == ENOENT || exec_errno == EACCES ||
                             exec_errno == ENOEXEC || exec_errno == ENOTDIR ||
                             exec_errno == ELOOP || exec_errno == EPERM;
      return ActivityError{"ExecFailed",
                           "builtin.exec: cannot execute " + c.program + ": " +
                               std::strerror(exec_errno),
                           permanent};
    }
    return Supervise(pid, c, context, in.write, out.read, err.read);
  }

  // Waits for `pid`; false when it cannot be waited for (not our child any
  // more: an embedder reaping every child).
  static bool Reap(pid_t pid, int* status = nullptr) {
    int ignored = 0;
    pid_t r;
    do {
      r = ::waitpid(pid, status ? status : &ignored, 0);
    } while (r < 0 && errno == EINTR);
    return r == pid;
  }

  static int AboveStdio(int fd) {
    if (fd > 2) return fd;
    const int moved = ::fcntl(fd, F_DUPFD_CLOEXEC, 3);
    ::close(fd);
    return moved;
  }

  ActivityResult Supervise(pid_t pid, const Command& c,
                           const ActivityContext& context, int stdin_fd,
                           int stdout_fd, int stderr_fd) {
    // Writing stdin to a program that stopped reading must not raise SIGPIPE
    // in an embedder that does not ignore it: blocked in this thread, and a
    // pending one consumed before the mask is restored.
    sigset_t pipe_signal, old_mask;
    sigemptyset(&pipe_signal);
    sigaddset(&pipe_signal, SIGPIPE);
    ::pthread_sigmask(SIG_BLOCK, &pipe_signal, &old_mask);

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
    bool reaped = true;
    SteadyClock::time_point exited_at;
    char buffer[64 << 10];

    while (true) {
      const auto now = SteadyClock::now();
      // The group is killed only while the program is unreaped: its pid,
      // and so the group id, cannot have been reused yet.
      if (!exited && !stop_reason) {
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
        // Noticed without reaping, so whatever the program left running in
        // its group is killed with it before the group id is released; its
        // pipes then reach end of file.
        siginfo_t info{};
        const int waited = ::waitid(P_PID, static_cast<id_t>(pid), &info,
                                    WEXITED | WNOHANG | WNOWAIT);
        if (waited == 0 && info.si_pid == pid) {
          ::kill(-pid, SIGKILL);
          reaped = Reap(pid, &status);
          exited = true;
          exited_at = now;
        } else if (waited < 0 && errno == ECHILD) {
          reaped = false;
          exited = true;
          exited_at = now;
        }
      }
      if (exited) {
        if (out.fd < 0 && err.fd < 0) break;
        // A process that left the group (setsid) may hold the pipes open
        // forever: after a short drain they are closed on it.
        if (stop_reason || now - exited_at > kDrainAfterExit) break;
      }
      pollfd fds[3];
      int n = 0;
      for (Capture* cap : {&out, &err}) {
        if (cap->fd >= 0) fds[n++] = {cap->fd, POLLIN, 0};
      }
      if (stdin_fd >= 0) fds[n++] = {stdin_fd, POLLOUT, 0};
      // A short wait keeps cancellation, the timeout and the program's exit
      // noticed within 50 ms without a thread per attempt.
      // With the pipes closed only the exit is awaited: a shorter tick, so a
      // finished program is reported without a 50 ms delay.
      ::poll(n > 0 ? fds : nullptr, static_cast<nfds_t>(n), n > 0 ? 50 : 5);
      for (int i = 0; i < n; ++i) {
        if (fds[i].revents == 0) continue;
        if (fds[i].fd == stdin_fd) {
          const ssize_t w = ::write(stdin_fd, c.stdin_text.data() + written,
                                    c.stdin_text.size() - written);
          if (w > 0) written += static_cast<size_t>(w);
          if (w < 0 && errno != EAGAIN && errno != EINTR) {
            written = c.stdin_text.size();  // The reader is gone.
          }
          if (written >= c.stdin_text.size()) CloseFd(stdin_fd);
          continue;
        }
        Capture* cap = fds[i].fd == out.fd ? &out : &err;
        const ssize_t r = ::read(cap->fd, buffer, sizeof(buffer));
        if (r <= 0) {
          if (r < 0 && (errno == EINTR || errno == EAGAIN)) continue;
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
    const timespec no_wait{0, 0};
    while (::sigtimedwait(&pipe_signal, nullptr, &no_wait) == SIGPIPE) {
    }
    ::pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);

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
    if (!reaped) {
      return ActivityError{"ExecFailed",
                           "builtin.exec: lost track of " + c.argv[0] +
                               " (reaped by someone else)",
                           false};
    }
    if (WIFSIGNALED(status)) {
      return ActivityError{"Signal" + std::to_string(WTERMSIG(status)),
                           "builtin.exec: " + c.argv[0] + " was killed by " +
                               SignalName(WTERMSIG(status)) + Tail(err.data),
                           false};
    }
    const int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (code != 0) {
      return ActivityError{"ExitCode" + std::to_string(code),
                           "builtin.exec: " + c.argv[0] + " exited with " +
                               std::to_string(code) + Tail(err.data),
                           false};
    }
    Json output = {{"exit_code", 0}, {"stderr", ValidUtf8(err.data)}};
    // stdout that is JSON is returned parsed; anything else as text.
    dsl::JsonParseOptions parse;
    parse.max_bytes = options_.max_output_bytes;
    Result<Json> parsed = out.truncated || out.data.empty()
                              ? Result<Json>(Status::InvalidArgument(""))
                              : dsl::ParseJson(out.data, parse);
    output["stdout"] =
        parsed.ok() ? std::move(*parsed) : Json(ValidUtf8(out.data));
    if (out.truncated) output["stdout_truncated"] = true;
    if (err.truncated) output["stderr_truncated"] = true;
    return output;
  }

  static std::string SignalName(int signal) {
    const char* name = ::sigabbrev_np(signal);
    return name ? std::string("SIG") + name
                : "signal " + std::to_string(signal);
  }

  static std::string Tail(const std::string& text) {
    if (text.empty()) return "";
    constexpr size_t kTail = 512;
    return ": " + ValidUtf8(text.size() > kTail
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
