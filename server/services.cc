#include "server/services.h"

#include <algorithm>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>
#include <utility>

#include "server/convert.h"
#include "server/unary.h"

namespace sagaflow::server {
namespace {

constexpr int32_t kDefaultWorkflowPage = 100;
constexpr int32_t kDefaultRunPage = 50;
constexpr int32_t kMaxPage = 1000;
// A long poll answers this long before the caller's deadline, so a task is
// not handed to a caller that has already given up.
constexpr auto kPollDeadlineMargin = std::chrono::milliseconds(200);

// Names and free text that the engine stores (some in every checkpoint
// while an attempt runs) are bounded here, below the message limit.
constexpr size_t kMaxNameBytes = 256;     // worker_id, signal and error names
constexpr size_t kMaxReasonBytes = 4096;  // cancel reason
constexpr size_t kMaxMessageBytes = 64 << 10;  // FailTask message
constexpr int kMaxPolledActivities = 256;
// A delayed start further away than this is a mistake (ms for seconds?).
constexpr Duration kMaxStartDelay = std::chrono::hours(24 * 366 * 10);

grpc::Status TooLong(std::string_view field, size_t limit) {
  return Invalid(std::string(field) + " is longer than " +
                 std::to_string(limit) + " bytes");
}

Result<size_t> PageSize(int32_t requested, int32_t fallback) {
  if (requested < 0) {
    return Status::InvalidArgument("page_size must not be negative (got " +
                                   std::to_string(requested) + ")");
  }
  if (requested == 0) return static_cast<size_t>(fallback);
  return static_cast<size_t>(std::min(requested, kMaxPage));
}

}  // namespace

// ------------------------------------------------------------ workflows

grpc::ServerUnaryReactor* WorkflowServiceImpl::RegisterWorkflow(
    grpc::CallbackServerContext* context,
    const v1::RegisterWorkflowRequest* request,
    v1::RegisterWorkflowResponse* response) {
  if (request->definition_json().empty()) {
    return Done(context, Invalid("definition_json is empty"));
  }
  auto registered = engine_->RegisterWorkflow(request->definition_json());
  if (!registered.ok()) return Done(context, registered.status());
  response->set_name(registered->name);
  response->set_version(registered->version);
  response->set_created(registered->created);
  return Done(context, grpc::Status::OK);
}

grpc::ServerUnaryReactor* WorkflowServiceImpl::GetWorkflow(
    grpc::CallbackServerContext* context, const v1::GetWorkflowRequest* request,
    v1::WorkflowInfo* response) {
  if (request->name().empty()) return Done(context, Invalid("name is empty"));
  if (request->name().size() > kMaxNameBytes) {
    return Done(context, TooLong("name", kMaxNameBytes));
  }
  auto record =
      engine_->store()->GetWorkflow(request->name(), request->version());
  if (!record.ok()) return Done(context, record.status());
  ToProto(*record, response);
  return Done(context, grpc::Status::OK);
}

grpc::ServerUnaryReactor* WorkflowServiceImpl::ListWorkflows(
    grpc::CallbackServerContext* context,
    const v1::ListWorkflowsRequest* request,
    v1::ListWorkflowsResponse* response) {
  auto page_size = PageSize(request->page_size(), kDefaultWorkflowPage);
  if (!page_size.ok()) return Done(context, page_size.status());
  auto page =
      engine_->store()->ListWorkflows(*page_size, request->page_token());
  if (!page.ok()) return Done(context, page.status());
  for (const persistence::WorkflowRecord& record : page->items) {
    ToProto(record, response->add_workflows());
  }
  response->set_next_page_token(page->next_page_token);
  return Done(context, grpc::Status::OK);
}

// ------------------------------------------------------------ runs

grpc::ServerUnaryReactor* WorkflowServiceImpl::StartRun(
    grpc::CallbackServerContext* context, const v1::StartRunRequest* request,
    v1::StartRunResponse* response) {
  if (request->workflow().empty()) {
    return Done(context, Invalid("workflow is empty"));
  }
  engine::StartRunRequest start;
  if (request->has_start_at() && request->start_delay_ms() != 0) {
    return Done(context, Invalid("start_at and start_delay_ms: set one, not "
                                 "both"));
  }
  if (request->has_start_at()) {
    start.start_at_ms = UnixMillisOf(request->start_at());
    if (start.start_at_ms < 0) {
      return Done(context, Invalid("start_at: out of range (years 1970 to "
                                   "9999)"));
    }
  } else if (request->start_delay_ms() != 0) {
    if (request->start_delay_ms() < 0 ||
        request->start_delay_ms() > kMaxStartDelay.count()) {
      return Done(context, Invalid("start_delay_ms: " +
                                   std::to_string(request->start_delay_ms()) +
                                   " is not between 0 and " +
                                   std::to_string(kMaxStartDelay.count())));
    }
    start.start_at_ms =
        ToUnixMillis(SystemClock::Default()->Now()) + request->start_delay_ms();
  }
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  start.workflow = request->workflow();
  start.version = request->version();
  start.input_json = request->input_json();
  start.run_id = request->run_id();
  engine_->StartRunAsync(
      std::move(start),
      [reactor, response](Result<engine::StartRunResponse> started) {
        if (started.ok()) {
          response->set_run_id(started->run_id);
          response->set_version(started->version);
          response->set_already_started(started->already_started);
        }
        reactor->Finish(ToGrpc(started.status()));
      });
  return reactor;
}

grpc::ServerUnaryReactor* WorkflowServiceImpl::GetRun(
    grpc::CallbackServerContext* context, const v1::GetRunRequest* request,
    v1::Run* response) {
  if (request->run_id().empty())
    return Done(context, Invalid("run_id is empty"));
  auto run = engine_->GetRun(request->run_id());
  if (!run.ok()) return Done(context, run.status());
  ToProto(*run, response);
  return Done(context, grpc::Status::OK);
}

grpc::ServerUnaryReactor* WorkflowServiceImpl::ListRuns(
    grpc::CallbackServerContext* context, const v1::ListRunsRequest* request,
    v1::ListRunsResponse* response) {
  auto page_size = PageSize(request->page_size(), kDefaultRunPage);
  if (!page_size.ok()) return Done(context, page_size.status());
  if (!v1::RunStatus_IsValid(request->status())) {
    return Done(context, Invalid("status " + std::to_string(request->status()) +
                                 " is not a RunStatus"));
  }
  persistence::RunFilter filter;
  filter.workflow = request->workflow();
  if (request->status() != v1::RUN_STATUS_UNSPECIFIED) {
    filter.status = static_cast<persistence::RunStatus>(request->status());
  }
  auto page =
      engine_->store()->ListRuns(filter, *page_size, request->page_token());
  if (!page.ok()) return Done(context, page.status());
  for (persistence::RunRecord& record : page->items) {
    record.clear_checkpoint();
    ToProto(record, response->add_runs());
  }
  response->set_next_page_token(page->next_page_token);
  return Done(context, grpc::Status::OK);
}

grpc::ServerUnaryReactor* WorkflowServiceImpl::GetHistory(
    grpc::CallbackServerContext* context, const v1::GetHistoryRequest* request,
    v1::GetHistoryResponse* response) {
  if (request->run_id().empty())
    return Done(context, Invalid("run_id is empty"));
  auto events =
      engine_->store()->ReadHistory(request->run_id(), request->after_seq(), 0);
  if (!events.ok()) return Done(context, events.status());
  response->mutable_events()->Reserve(static_cast<int>(events->size()));
  for (const persistence::HistoryEventRecord& event : *events) {
    ToProto(event, response->add_events());
  }
  return Done(context, grpc::Status::OK);
}

grpc::ServerWriteReactor<v1::HistoryEvent>* WorkflowServiceImpl::WatchRun(
    grpc::CallbackServerContext* /*context*/,
    const v1::WatchRunRequest* request) {
  return watches_->Watch(request->run_id(), request->after_seq());
}

grpc::ServerUnaryReactor* WorkflowServiceImpl::SignalRun(
    grpc::CallbackServerContext* context, const v1::SignalRunRequest* request,
    v1::SignalRunResponse* /*response*/) {
  if (request->run_id().empty())
    return Done(context, Invalid("run_id is empty"));
  if (request->name().empty()) return Done(context, Invalid("name is empty"));
  if (request->name().size() > kMaxNameBytes) {
    return Done(context, TooLong("name", kMaxNameBytes));
  }
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  engine_->SignalRunAsync(
      request->run_id(), request->name(), request->payload_json(),
      [reactor](Status status) { reactor->Finish(ToGrpc(status)); });
  return reactor;
}

grpc::ServerUnaryReactor* WorkflowServiceImpl::CancelRun(
    grpc::CallbackServerContext* context, const v1::CancelRunRequest* request,
    v1::CancelRunResponse* response) {
  if (request->run_id().empty()) {
    return Done(context, Invalid("run_id is empty"));
  }
  if (request->reason().size() > kMaxReasonBytes) {
    return Done(context, TooLong("reason", kMaxReasonBytes));
  }
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  engine_->CancelRunAsync(
      request->run_id(), request->reason(),
      [reactor, response](Result<persistence::RunStatus> status) {
        if (status.ok()) {
          response->set_status(static_cast<v1::RunStatus>(*status));
        }
        reactor->Finish(ToGrpc(status.status()));
      });
  return reactor;
}

grpc::ServerUnaryReactor* WorkflowServiceImpl::ResumeRun(
    grpc::CallbackServerContext* context, const v1::ResumeRunRequest* request,
    v1::ResumeRunResponse* response) {
  if (request->run_id().empty()) {
    return Done(context, Invalid("run_id is empty"));
  }
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  engine_->ResumeRunAsync(
      request->run_id(),
      [reactor, response](Result<persistence::RunStatus> status) {
        if (status.ok()) {
          response->set_status(static_cast<v1::RunStatus>(*status));
        }
        reactor->Finish(ToGrpc(status.status()));
      });
  return reactor;
}

// ------------------------------------------------------------ workers

// A parked PollTask. The engine's deliver callback may outlive the call (a
// task claimed just as the caller cancelled), so what they share lives in
// Shared, and whoever takes `reactor` first finishes the call.
class WorkerServiceImpl::PollReactor : public grpc::ServerUnaryReactor {
 public:
  PollReactor(engine::Engine* engine, v1::PollTaskResponse* response)
      : engine_(engine), shared_(std::make_shared<Shared>()) {
    shared_->reactor = this;
    shared_->response = response;
  }

  void Start(std::vector<std::string> activities, std::string worker_id,
             Duration wait) {
    engine::Engine* engine = engine_;
    std::shared_ptr<Shared> shared = shared_;
    const uint64_t id = engine_->PollTaskAsync(
        std::move(activities), std::move(worker_id), wait,
        [engine, shared](std::optional<engine::PolledTask> task) {
          std::unique_lock<std::mutex> lock(shared->mu);
          PollReactor* reactor = std::exchange(shared->reactor, nullptr);
          if (reactor == nullptr) {
            lock.unlock();
            // The caller is gone but the task is leased to it: give the
            // attempt back now (retried under its policy) instead of
            // letting it wait out its timeout.
            if (task) {
              engine->FailTaskAsync(
                  task->task_token, "WorkerLost",
                  "the polling worker went away before receiving the task",
                  /*non_retryable=*/false, [](Status) {});
            }
            return;
          }
          if (task) Fill(*task, shared->response);
          reactor->Finish(grpc::Status::OK);
        });
    // The engine may have answered already, and gRPC then deleted this
    // reactor: from here on only the local `shared` is touched.
    bool cancelled = false;
    {
      std::lock_guard<std::mutex> lock(shared->mu);
      shared->poll_id = id;
      cancelled = shared->cancelled;
    }
    // OnCancel ran before the id was known: withdraw the poll now.
    if (cancelled) engine->CancelPoll(id);
  }

  void OnCancel() override {
    uint64_t id = 0;
    {
      std::lock_guard<std::mutex> lock(shared_->mu);
      if (shared_->reactor == nullptr) return;  // Already answered.
      shared_->reactor = nullptr;
      shared_->cancelled = true;
      id = shared_->poll_id;
    }
    if (id != 0) engine_->CancelPoll(id);
    Finish(grpc::Status(grpc::StatusCode::CANCELLED, "poll cancelled"));
  }

  void OnDone() override { delete this; }

 private:
  struct Shared {
    std::mutex mu;
    PollReactor* reactor = nullptr;  // mu; null once the call is answered.
    v1::PollTaskResponse* response = nullptr;
    uint64_t poll_id = 0;    // mu; 0 until PollTaskAsync returned.
    bool cancelled = false;  // mu; OnCancel answered the call.
  };

  static void Fill(engine::PolledTask& task, v1::PollTaskResponse* response) {
    response->set_task_token(std::move(task.task_token));
    response->set_run_id(std::move(task.run_id));
    response->set_step(std::move(task.step));
    response->set_activity(std::move(task.activity));
    response->set_input_json(std::move(task.input_json));
    response->set_attempt(task.attempt);
    response->set_deadline_ms(task.deadline_ms);
    response->set_is_compensation(task.is_compensation);
  }

  engine::Engine* const engine_;
  std::shared_ptr<Shared> shared_;
};

grpc::ServerUnaryReactor* WorkerServiceImpl::PollTask(
    grpc::CallbackServerContext* context, const v1::PollTaskRequest* request,
    v1::PollTaskResponse* response) {
  if (request->activities().empty()) {
    return Done(context, Invalid("activities is empty: name at least one "
                                 "activity to poll for"));
  }
  if (request->activities_size() > kMaxPolledActivities) {
    return Done(context,
                Invalid("activities names more than " +
                        std::to_string(kMaxPolledActivities) + " activities"));
  }
  for (const std::string& activity : request->activities()) {
    if (activity.empty()) {
      return Done(context, Invalid("activities holds an empty name"));
    }
    if (activity.size() > kMaxNameBytes) {
      return Done(context, TooLong("an activity name", kMaxNameBytes));
    }
  }
  if (request->worker_id().size() > kMaxNameBytes) {
    return Done(context, TooLong("worker_id", kMaxNameBytes));
  }
  Duration wait = request->wait_ms() == 0
                      ? poll_.default_wait
                      : std::chrono::milliseconds(request->wait_ms());
  wait = std::min(wait, poll_.max_wait);
  const auto deadline = context->deadline();
  if (deadline != std::chrono::system_clock::time_point::max()) {
    const auto left = std::chrono::duration_cast<Duration>(
        deadline - std::chrono::system_clock::now() - kPollDeadlineMargin);
    // Too little time left to claim a task and answer: a task claimed now
    // could only be lost (and cost its attempt).
    if (left <= Duration(0)) return Done(context, grpc::Status::OK);
    wait = std::min(wait, left);
  }
  auto* reactor = new PollReactor(engine_, response);
  reactor->Start({request->activities().begin(), request->activities().end()},
                 request->worker_id(), wait);
  return reactor;
}

grpc::ServerUnaryReactor* WorkerServiceImpl::CompleteTask(
    grpc::CallbackServerContext* context,
    const v1::CompleteTaskRequest* request,
    v1::CompleteTaskResponse* /*response*/) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  engine_->CompleteTaskAsync(
      request->task_token(), request->output_json(),
      [reactor](Status status) { reactor->Finish(ToGrpc(status)); });
  return reactor;
}

grpc::ServerUnaryReactor* WorkerServiceImpl::FailTask(
    grpc::CallbackServerContext* context, const v1::FailTaskRequest* request,
    v1::FailTaskResponse* /*response*/) {
  if (request->error().empty()) {
    return Done(context, Invalid("error is empty: name the error (for "
                                 "example \"CardDeclined\")"));
  }
  if (request->error().size() > kMaxNameBytes) {
    return Done(context, TooLong("error", kMaxNameBytes));
  }
  if (request->message().size() > kMaxMessageBytes) {
    return Done(context, TooLong("message", kMaxMessageBytes));
  }
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  engine_->FailTaskAsync(
      request->task_token(), request->error(), request->message(),
      request->non_retryable(),
      [reactor](Status status) { reactor->Finish(ToGrpc(status)); });
  return reactor;
}

grpc::ServerUnaryReactor* WorkerServiceImpl::HeartbeatTask(
    grpc::CallbackServerContext* context,
    const v1::HeartbeatTaskRequest* request,
    v1::HeartbeatTaskResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  engine_->HeartbeatTaskAsync(request->task_token(),
                              [reactor, response](Result<bool> cancel) {
                                if (cancel.ok())
                                  response->set_cancel_requested(*cancel);
                                reactor->Finish(ToGrpc(cancel.status()));
                              });
  return reactor;
}

}  // namespace sagaflow::server
