// The gRPC services of CONTRACT.md §2 over the callback API: thin handlers
// that validate a request, call the engine or read the store, and map the
// result. No handler blocks on anything but a store read or a workflow
// registration; long polls and watches park without a thread.
#ifndef SAGAFLOW_SERVER_SERVICES_H_
#define SAGAFLOW_SERVER_SERVICES_H_

#include "common/time.h"
#include "engine/engine.h"
#include "sagaflow/v1/worker_service.grpc.pb.h"
#include "sagaflow/v1/workflow_service.grpc.pb.h"
#include "server/watch_hub.h"

namespace sagaflow::server {

class WorkflowServiceImpl : public v1::WorkflowService::CallbackService {
 public:
  WorkflowServiceImpl(engine::Engine* engine, WatchHub* watches)
      : engine_(engine), watches_(watches) {}

  grpc::ServerUnaryReactor* RegisterWorkflow(
      grpc::CallbackServerContext* context,
      const v1::RegisterWorkflowRequest* request,
      v1::RegisterWorkflowResponse* response) override;
  grpc::ServerUnaryReactor* GetWorkflow(grpc::CallbackServerContext* context,
                                        const v1::GetWorkflowRequest* request,
                                        v1::WorkflowInfo* response) override;
  grpc::ServerUnaryReactor* ListWorkflows(
      grpc::CallbackServerContext* context,
      const v1::ListWorkflowsRequest* request,
      v1::ListWorkflowsResponse* response) override;
  grpc::ServerUnaryReactor* StartRun(grpc::CallbackServerContext* context,
                                     const v1::StartRunRequest* request,
                                     v1::StartRunResponse* response) override;
  grpc::ServerUnaryReactor* GetRun(grpc::CallbackServerContext* context,
                                   const v1::GetRunRequest* request,
                                   v1::Run* response) override;
  grpc::ServerUnaryReactor* ListRuns(grpc::CallbackServerContext* context,
                                     const v1::ListRunsRequest* request,
                                     v1::ListRunsResponse* response) override;
  grpc::ServerUnaryReactor* GetHistory(
      grpc::CallbackServerContext* context,
      const v1::GetHistoryRequest* request,
      v1::GetHistoryResponse* response) override;
  grpc::ServerWriteReactor<v1::HistoryEvent>* WatchRun(
      grpc::CallbackServerContext* context,
      const v1::WatchRunRequest* request) override;
  grpc::ServerUnaryReactor* SignalRun(grpc::CallbackServerContext* context,
                                      const v1::SignalRunRequest* request,
                                      v1::SignalRunResponse* response) override;
  grpc::ServerUnaryReactor* CancelRun(grpc::CallbackServerContext* context,
                                      const v1::CancelRunRequest* request,
                                      v1::CancelRunResponse* response) override;
  grpc::ServerUnaryReactor* ResumeRun(grpc::CallbackServerContext* context,
                                      const v1::ResumeRunRequest* request,
                                      v1::ResumeRunResponse* response) override;

 private:
  engine::Engine* const engine_;
  WatchHub* const watches_;
};

struct PollSettings {
  Duration default_wait = std::chrono::seconds(30);
  Duration max_wait = std::chrono::minutes(5);
};

class WorkerServiceImpl : public v1::WorkerService::CallbackService {
 public:
  WorkerServiceImpl(engine::Engine* engine, PollSettings poll)
      : engine_(engine), poll_(poll) {}

  grpc::ServerUnaryReactor* PollTask(grpc::CallbackServerContext* context,
                                     const v1::PollTaskRequest* request,
                                     v1::PollTaskResponse* response) override;
  grpc::ServerUnaryReactor* CompleteTask(
      grpc::CallbackServerContext* context,
      const v1::CompleteTaskRequest* request,
      v1::CompleteTaskResponse* response) override;
  grpc::ServerUnaryReactor* FailTask(grpc::CallbackServerContext* context,
                                     const v1::FailTaskRequest* request,
                                     v1::FailTaskResponse* response) override;
  grpc::ServerUnaryReactor* HeartbeatTask(
      grpc::CallbackServerContext* context,
      const v1::HeartbeatTaskRequest* request,
      v1::HeartbeatTaskResponse* response) override;

 private:
  class PollReactor;
  engine::Engine* const engine_;
  const PollSettings poll_;
};

}  // namespace sagaflow::server

#endif  // SAGAFLOW_SERVER_SERVICES_H_
