#include "worker/worker.h"

#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <condition_variable>
#include <exception>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <vector>

#include "sagaflow/v1/worker_service.grpc.pb.h"

namespace sagaflow::worker {

namespace v1 = ::sagaflow::v1;
using Millis = std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;

namespace {

// Deadline of one CompleteTask / FailTask / HeartbeatTask call.
constexpr Millis kCallTimeout{10'000};
// A poll's deadline is its wait plus this much.
constexpr Millis kPollSlack{10'000};

Status FromGrpc(const grpc::Status& s) {
  if (s.ok()) return Status::Ok();
  std::string msg = s.error_message();
  switch (s.error_code()) {
    case grpc::StatusCode::INVALID_ARGUMENT:
      return Status::InvalidArgument(std::move(msg));
    case grpc::StatusCode::NOT_FOUND:
      return Status::NotFound(std::move(msg));
    case grpc::StatusCode::ALREADY_EXISTS:
      return Status::AlreadyExists(std::move(msg));
    case grpc::StatusCode::FAILED_PRECONDITION:
      return Status::FailedPrecondition(std::move(msg));
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return Status::ResourceExhausted(std::move(msg));
    case grpc::StatusCode::UNAVAILABLE:
      return Status::Unavailable(std::move(msg));
    case grpc::StatusCode::CANCELLED:
      return Status::Cancelled(std::move(msg));
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return Status::DeadlineExceeded(std::move(msg));
    default:
      return Status::Internal("gRPC code " +
                              std::to_string(static_cast<int>(s.error_code())) +
                              ": " + msg);
  }
}

// Worth trying again: the server is restarting or the network hiccuped.
bool Transient(grpc::StatusCode code) {
  return code == grpc::StatusCode::UNAVAILABLE ||
         code == grpc::StatusCode::DEADLINE_EXCEEDED;
}

std::chrono::system_clock::time_point DeadlineIn(Millis d) {
  return std::chrono::system_clock::now() + d;
}

}  // namespace

namespace internal {

struct WorkerImpl;

struct TaskState {
  Task task;
  WorkerImpl* worker = nullptr;
  std::atomic<bool> cancel{false};
  std::mutex mu;  // guards nothing but the wait in SleepFor
  std::condition_variable cv;
  std::atomic<int64_t> last_heartbeat_ns{0};  // steady clock

  void Wake() {
    { std::lock_guard<std::mutex> lock(mu); }
    cv.notify_all();
  }
};

}  // namespace internal

using internal::TaskState;
using internal::WorkerImpl;

ActivityResult ActivityResult::Ok(std::string output_json) {
  return ActivityResult(std::variant<std::string, ActivityFailure>(
      std::in_place_index<0>, std::move(output_json)));
}

ActivityResult ActivityResult::Fail(std::string error, std::string message,
                                    bool non_retryable) {
  return ActivityResult(std::variant<std::string, ActivityFailure>(
      std::in_place_index<1>,
      ActivityFailure{std::move(error), std::move(message), non_retryable}));
}

std::string DefaultWorkerId() {
  char host[256] = {};
  if (gethostname(host, sizeof(host) - 1) != 0) host[0] = '\0';
  std::string id = host[0] != '\0' ? host : "worker";
  return id + "-" + std::to_string(getpid());
}

namespace internal {

struct WorkerImpl {
  WorkerOptions options;
  std::map<std::string, Handler> handlers;  // fixed once running

  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<v1::WorkerService::Stub> stub;

  std::atomic<bool> stopping{false};

  std::mutex mu;
  std::condition_variable cv;  // Stop(), the end of the poll loops
  bool running = false;
  bool loops_done = false;
  uint64_t connections = 0;                    // times the channel became READY
  std::set<grpc::ClientContext*> polls;        // outstanding PollTask
  std::set<std::shared_ptr<TaskState>> tasks;  // running handlers

  void Log(LogLevel level, const std::string& message) {
    if (options.on_log) {
      options.on_log(level, message);
      return;
    }
    const char* tag = level == LogLevel::kError     ? "error"
                      : level == LogLevel::kWarning ? "warning"
                                                    : "info";
    std::cerr << "[sagaflow-worker " << tag << "] " + message + "\n";
  }

  // Waits `d` unless Stop() comes first; returns false when stopping.
  bool WaitUnlessStopping(Millis d) {
    std::unique_lock<std::mutex> lock(mu);
    return !cv.wait_for(lock, d, [&] { return stopping.load(); });
  }

  // A poll loop's backoff: `d`, cut short when the connection comes up
  // (a restarted server is polled at once) or Stop() is called. Returns true
  // when woken by a new connection.
  bool Backoff(Millis d) {
    std::unique_lock<std::mutex> lock(mu);
    const uint64_t epoch = connections;
    cv.wait_for(lock, d,
                [&] { return stopping.load() || connections != epoch; });
    return connections != epoch;
  }

  void Stop() {
    std::vector<std::shared_ptr<TaskState>> running_tasks;
    {
      std::lock_guard<std::mutex> lock(mu);
      stopping = true;
      for (grpc::ClientContext* ctx : polls) ctx->TryCancel();
      running_tasks.assign(tasks.begin(), tasks.end());
    }
    cv.notify_all();
    for (auto& t : running_tasks) t->Wake();
  }

  void MarkCancel(TaskState& state) {
    if (!state.cancel.exchange(true)) state.Wake();
  }

  // One HeartbeatTask call; returns whether the handler should stop.
  bool SendHeartbeat(TaskState& state, std::string_view details) {
    state.last_heartbeat_ns = SteadyClock::now().time_since_epoch().count();
    grpc::ClientContext ctx;
    ctx.set_deadline(DeadlineIn(kCallTimeout));
    v1::HeartbeatTaskRequest request;
    request.set_task_token(state.task.token);
    request.set_details_json(std::string(details));
    v1::HeartbeatTaskResponse response;
    const grpc::Status s = stub->HeartbeatTask(&ctx, request, &response);
    if (s.ok()) {
      if (response.cancel_requested()) {
        if (!state.cancel) {
          Log(LogLevel::kInfo, "cancel requested for " + state.task.activity +
                                   " (run " + state.task.run_id + ", step " +
                                   state.task.step + ")");
        }
        MarkCancel(state);
      }
    } else if (s.error_code() == grpc::StatusCode::NOT_FOUND) {
      if (!state.cancel) {
        Log(LogLevel::kInfo,
            "attempt no longer current (heartbeat NOT_FOUND): " +
                state.task.activity + " run " + state.task.run_id + " step " +
                state.task.step + " attempt " +
                std::to_string(state.task.attempt));
      }
      MarkCancel(state);
    } else if (s.error_code() != grpc::StatusCode::UNAVAILABLE) {
      // (Outages are logged once by WatchLink.)
      Log(LogLevel::kWarning, "heartbeat failed: " + FromGrpc(s).ToString());
    }
    return state.cancel || stopping;
  }

  // Retries a report call on transient errors with backoff.
  template <typename Call>
  grpc::Status CallWithRetry(const char* what, const Task& task, Call call) {
    Millis backoff = options.initial_backoff;
    for (int attempt = 1;; ++attempt) {
      grpc::ClientContext ctx;
      ctx.set_deadline(DeadlineIn(kCallTimeout));
      // Wait for the connection (a restarting server) rather than failing
      // at once: the report goes out as soon as the server is back.
      ctx.set_wait_for_ready(true);
      grpc::Status s = call(ctx);
      if (s.ok() || !Transient(s.error_code()) ||
          attempt >= std::max(1, options.report_attempts)) {
        return s;
      }
      Log(LogLevel::kWarning, std::string(what) + " for run " + task.run_id +
                                  " step " + task.step + ": " +
                                  FromGrpc(s).ToString() + "; retrying in " +
                                  std::to_string(backoff.count()) + " ms");
      std::this_thread::sleep_for(backoff);
      backoff = std::min(options.max_backoff, backoff * 2);
    }
  }

  grpc::Status SendFailure(const Task& task, const ActivityFailure& failure) {
    v1::FailTaskRequest request;
    request.set_task_token(task.token);
    // The server refuses an empty error name.
    request.set_error(failure.error.empty() ? "ActivityFailed" : failure.error);
    request.set_message(failure.message);
    request.set_non_retryable(failure.non_retryable);
    return CallWithRetry("FailTask", task, [&](grpc::ClientContext& ctx) {
      v1::FailTaskResponse response;
      return stub->FailTask(&ctx, request, &response);
    });
  }

  Status Report(const Task& task, const ActivityResult& result) {
    grpc::Status s;
    if (result.ok()) {
      v1::CompleteTaskRequest request;
      request.set_task_token(task.token);
      request.set_output_json(result.output_json());
      s = CallWithRetry("CompleteTask", task, [&](grpc::ClientContext& ctx) {
        v1::CompleteTaskResponse response;
        return stub->CompleteTask(&ctx, request, &response);
      });
      // The server refused the output itself (not JSON, too large) without
      // touching the attempt: fail the attempt instead of leaving it to time
      // out.
      if (s.error_code() == grpc::StatusCode::INVALID_ARGUMENT ||
          s.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) {
        const bool too_large =
            s.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED;
        Log(LogLevel::kError, "output of " + task.activity + " (run " +
                                  task.run_id + ", step " + task.step +
                                  ") refused: " + FromGrpc(s).ToString() +
                                  "; failing the attempt");
        s = SendFailure(task, ActivityFailure{too_large ? "PayloadTooLarge"
                                                        : "InvalidOutput",
                                              s.error_message(), false});
      }
    } else {
      s = SendFailure(task, result.failure());
    }
    if (s.error_code() == grpc::StatusCode::NOT_FOUND) {
      Log(LogLevel::kWarning,
          "stale task token (attempt no longer current): " + task.activity +
              " run " + task.run_id + " step " + task.step + " attempt " +
              std::to_string(task.attempt) + "; result dropped");
    } else if (!s.ok()) {
      Log(LogLevel::kError, std::string("could not report ") +
                                (result.ok() ? "completion" : "failure") +
                                " of " + task.activity + " (run " +
                                task.run_id + ", step " + task.step +
                                "): " + FromGrpc(s).ToString());
    }
    return FromGrpc(s);
  }

  void Execute(const v1::PollTaskResponse& polled,
               SteadyClock::time_point polled_at) {
    auto state = std::make_shared<TaskState>();
    state->worker = this;
    Task& task = state->task;
    task.token = polled.task_token();
    task.run_id = polled.run_id();
    task.step = polled.step();
    task.activity = polled.activity();
    task.input_json = polled.input_json();
    task.attempt = polled.attempt();
    task.deadline_ms = polled.deadline_ms();
    task.is_compensation = polled.is_compensation();
    state->last_heartbeat_ns = polled_at.time_since_epoch().count();
    {
      std::lock_guard<std::mutex> lock(mu);
      tasks.insert(state);
    }

    const auto handler_start = SteadyClock::now();
    std::optional<ActivityResult> result;
    const auto it = handlers.find(task.activity);
    if (it == handlers.end()) {
      result = ActivityResult::Fail("ActivityNotRegistered",
                                    "worker " + options.worker_id +
                                        " has no handler for " + task.activity);
    } else {
      TaskContext context(state.get());
      try {
        result = it->second(task, context);
      } catch (const std::exception& e) {
        result = ActivityResult::Fail("ActivityException", e.what());
      } catch (...) {
        result = ActivityResult::Fail("ActivityException", "unknown exception");
      }
    }
    const auto handler_end = SteadyClock::now();

    TaskReport report;
    report.task = &task;
    report.result = &*result;
    report.report = Report(task, *result);
    const auto reported = SteadyClock::now();
    report.handler_time = std::chrono::duration_cast<std::chrono::microseconds>(
        handler_end - handler_start);
    report.poll_to_report =
        std::chrono::duration_cast<std::chrono::microseconds>(reported -
                                                              polled_at);
    {
      std::lock_guard<std::mutex> lock(mu);
      tasks.erase(state);
    }
    if (options.on_task_done) options.on_task_done(report);
  }

  void PollLoop() {
    v1::PollTaskRequest request;
    for (const auto& [name, handler] : handlers) request.add_activities(name);
    request.set_worker_id(options.worker_id);
    request.set_wait_ms(static_cast<uint32_t>(
        std::min<int64_t>(options.poll_wait.count(), UINT32_MAX)));
    Millis backoff = options.initial_backoff;
    bool erroring = false;
    const Millis quick =
        std::min(Millis(1000), std::max(Millis(1), options.poll_wait / 2));

    while (!stopping) {
      grpc::ClientContext ctx;
      ctx.set_deadline(DeadlineIn(options.poll_wait + kPollSlack));
      {
        std::lock_guard<std::mutex> lock(mu);
        if (stopping) break;
        polls.insert(&ctx);
      }
      v1::PollTaskResponse response;
      const auto t0 = SteadyClock::now();
      const grpc::Status s = stub->PollTask(&ctx, request, &response);
      const auto t1 = SteadyClock::now();
      {
        std::lock_guard<std::mutex> lock(mu);
        polls.erase(&ctx);
      }
      if (!s.ok()) {
        if (stopping) break;
        if (s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
          continue;  // a long poll the server did not answer in time
        }
        // Outages are logged by WatchLink, once each; other errors once per
        // streak of this loop.
        if (s.error_code() != grpc::StatusCode::UNAVAILABLE && !erroring) {
          Log(LogLevel::kError, "PollTask on " + options.server + ": " +
                                    FromGrpc(s).ToString() +
                                    "; retrying with backoff");
        }
        erroring = true;
        backoff = Backoff(backoff) ? options.initial_backoff
                                   : std::min(options.max_backoff, backoff * 2);
        continue;
      }
      erroring = false;
      if (response.task_token().empty()) {
        // Nothing came. A server that answers empty at once (shutting down,
        // or ignoring wait_ms) must not make us spin.
        if (t1 - t0 < quick) {
          WaitUnlessStopping(backoff);
          backoff = std::min(options.max_backoff, backoff * 2);
        } else {
          backoff = options.initial_backoff;
        }
        continue;
      }
      backoff = options.initial_backoff;
      // A task that came is run and reported even when stopping: it is
      // leased to us.
      Execute(response, t1);
    }
  }

  // Logs the connection coming up and going down (one line per change),
  // and keeps the channel trying to connect.
  void WatchLink() {
    enum { kUnknown, kUp, kDown } link = kUnknown;
    grpc_connectivity_state state = channel->GetState(true);
    const auto started = SteadyClock::now();
    while (!stopping) {
      if (state == GRPC_CHANNEL_READY && link != kUp) {
        link = kUp;
        {
          std::lock_guard<std::mutex> lock(mu);
          ++connections;
        }
        cv.notify_all();
        Log(LogLevel::kInfo,
            "connected to " + options.server + " as " + options.worker_id +
                " (" + std::to_string(handlers.size()) + " activities, " +
                std::to_string(options.concurrency) + " pollers)");
      } else if (state == GRPC_CHANNEL_TRANSIENT_FAILURE && link != kDown &&
                 (link == kUp || SteadyClock::now() - started > Millis(500))) {
        Log(LogLevel::kWarning,
            link == kUp
                ? "lost the connection to " + options.server + "; reconnecting"
                : "cannot reach " + options.server + "; retrying");
        link = kDown;
      }
      channel->WaitForStateChange(state, DeadlineIn(Millis(200)));
      state = channel->GetState(true);
    }
  }

  void HeartbeatLoop() {
    const Millis interval = options.heartbeat_interval;
    const Millis tick = std::max(Millis(10), interval / 4);
    std::unique_lock<std::mutex> lock(mu);
    while (!loops_done) {
      cv.wait_for(lock, tick, [&] { return loops_done; });
      if (loops_done) break;
      std::vector<std::shared_ptr<TaskState>> due;
      const int64_t now = SteadyClock::now().time_since_epoch().count();
      const int64_t interval_ns =
          std::chrono::duration_cast<std::chrono::nanoseconds>(interval)
              .count();
      for (const auto& t : tasks) {
        if (!t->cancel && now - t->last_heartbeat_ns >= interval_ns) {
          due.push_back(t);
        }
      }
      lock.unlock();
      for (auto& t : due) SendHeartbeat(*t, {});
      lock.lock();
    }
  }
};

}  // namespace internal

const Task& TaskContext::task() const { return state_->task; }

bool TaskContext::Heartbeat(std::string_view details_json) {
  return state_->worker->SendHeartbeat(*state_, details_json);
}

bool TaskContext::cancel_requested() const { return state_->cancel; }

bool TaskContext::stopping() const { return state_->worker->stopping; }

bool TaskContext::SleepFor(std::chrono::milliseconds duration) {
  std::unique_lock<std::mutex> lock(state_->mu);
  return !state_->cv.wait_for(lock, duration, [&] {
    return state_->cancel.load() || state_->worker->stopping.load();
  });
}

Worker::Worker(WorkerOptions options) : impl_(std::make_unique<WorkerImpl>()) {
  impl_->options = std::move(options);
  if (impl_->options.worker_id.empty()) {
    impl_->options.worker_id = DefaultWorkerId();
  }
}

Worker::~Worker() {
  Stop();
  // A Run() on another thread returns once its loops are done.
  std::unique_lock<std::mutex> lock(impl_->mu);
  impl_->cv.wait(lock, [&] { return !impl_->running; });
}

const WorkerOptions& Worker::options() const { return impl_->options; }

Status Worker::Register(std::string activity, Handler handler) {
  if (activity.empty()) {
    return Status::InvalidArgument("activity name is empty");
  }
  if (!handler) {
    return Status::InvalidArgument("no handler for " + activity);
  }
  std::lock_guard<std::mutex> lock(impl_->mu);
  if (impl_->running) {
    return Status::FailedPrecondition("register before Run()");
  }
  if (!impl_->handlers.emplace(activity, std::move(handler)).second) {
    return Status::AlreadyExists("activity " + activity +
                                 " is already registered");
  }
  return Status::Ok();
}

void Worker::Stop() { impl_->Stop(); }

Status Worker::Run() {
  WorkerImpl& w = *impl_;
  {
    std::lock_guard<std::mutex> lock(w.mu);
    if (w.running) return Status::FailedPrecondition("already running");
    if (w.handlers.empty()) {
      return Status::InvalidArgument("no activity registered");
    }
    if (w.options.server.empty()) {
      return Status::InvalidArgument("no server address");
    }
    if (w.options.concurrency < 1) {
      return Status::InvalidArgument("concurrency must be at least 1");
    }
    if (w.options.poll_wait.count() <= 0) {
      return Status::InvalidArgument("poll wait must be positive");
    }
    if (w.options.initial_backoff.count() <= 0 ||
        w.options.max_backoff < w.options.initial_backoff) {
      return Status::InvalidArgument("bad backoff");
    }
    if (w.stopping) return Status::Ok();
    w.running = true;
    w.loops_done = false;
  }

  grpc::ChannelArguments args;
  // Reconnect as fast as our own backoff after a server restart (gRPC's
  // defaults back off to two minutes). GRPC_ARG_MIN_RECONNECT_BACKOFF_MS is
  // left alone: it is also the connect timeout.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS,
              static_cast<int>(w.options.initial_backoff.count()));
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS,
              static_cast<int>(w.options.max_backoff.count()));
  args.SetMaxReceiveMessageSize(64 << 20);
  w.channel = grpc::CreateCustomChannel(
      w.options.server, grpc::InsecureChannelCredentials(), args);
  w.stub = v1::WorkerService::NewStub(w.channel);

  std::vector<std::thread> loops;
  loops.reserve(static_cast<size_t>(w.options.concurrency));
  for (int i = 0; i < w.options.concurrency; ++i) {
    loops.emplace_back([&w] { w.PollLoop(); });
  }
  std::thread link_watch([&w] { w.WatchLink(); });
  std::thread heartbeats;
  if (w.options.heartbeat_interval.count() > 0) {
    heartbeats = std::thread([&w] { w.HeartbeatLoop(); });
  }
  for (auto& t : loops) t.join();
  link_watch.join();
  {
    std::lock_guard<std::mutex> lock(w.mu);
    w.loops_done = true;
  }
  w.cv.notify_all();
  if (heartbeats.joinable()) heartbeats.join();
  std::lock_guard<std::mutex> lock(w.mu);
  w.running = false;
  w.cv.notify_all();  // under the lock: ~Worker may be waiting
  return Status::Ok();
}

}  // namespace sagaflow::worker
