// The ScheduleService (proto/sagaflow/v1/schedule_service.proto) over the
// schedule runner. Each change is a synced store write, answered on the
// calling thread like a workflow registration.
#ifndef SAGAFLOW_SERVER_SCHEDULE_SERVICE_H_
#define SAGAFLOW_SERVER_SCHEDULE_SERVICE_H_

#include "persistence/store.h"
#include "sagaflow/v1/schedule_service.grpc.pb.h"
#include "schedules/runner.h"

namespace sagaflow::server {

class ScheduleServiceImpl : public v1::ScheduleService::CallbackService {
 public:
  ScheduleServiceImpl(schedules::Runner* runner, persistence::Store* store)
      : runner_(runner), store_(store) {}

  grpc::ServerUnaryReactor* CreateSchedule(
      grpc::CallbackServerContext* context,
      const v1::CreateScheduleRequest* request,
      v1::Schedule* response) override;
  grpc::ServerUnaryReactor* GetSchedule(grpc::CallbackServerContext* context,
                                        const v1::GetScheduleRequest* request,
                                        v1::Schedule* response) override;
  grpc::ServerUnaryReactor* ListSchedules(
      grpc::CallbackServerContext* context,
      const v1::ListSchedulesRequest* request,
      v1::ListSchedulesResponse* response) override;
  grpc::ServerUnaryReactor* UpdateSchedule(
      grpc::CallbackServerContext* context,
      const v1::UpdateScheduleRequest* request,
      v1::Schedule* response) override;
  grpc::ServerUnaryReactor* PauseSchedule(
      grpc::CallbackServerContext* context,
      const v1::PauseScheduleRequest* request, v1::Schedule* response) override;
  grpc::ServerUnaryReactor* UnpauseSchedule(
      grpc::CallbackServerContext* context,
      const v1::UnpauseScheduleRequest* request,
      v1::Schedule* response) override;
  grpc::ServerUnaryReactor* DeleteSchedule(
      grpc::CallbackServerContext* context,
      const v1::DeleteScheduleRequest* request,
      v1::DeleteScheduleResponse* response) override;
  grpc::ServerUnaryReactor* TriggerSchedule(
      grpc::CallbackServerContext* context,
      const v1::TriggerScheduleRequest* request,
      v1::TriggerScheduleResponse* response) override;

 private:
  // The record as the API shows it, with whether its last run is going.
  void Fill(const persistence::ScheduleRecord& record, v1::Schedule* out);

  schedules::Runner* const runner_;
  persistence::Store* const store_;
};

}  // namespace sagaflow::server

#endif  // SAGAFLOW_SERVER_SCHEDULE_SERVICE_H_
