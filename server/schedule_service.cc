#include "server/schedule_service.h"

#include <algorithm>

#include "server/convert.h"
#include "server/unary.h"

namespace sagaflow::server {
namespace {

constexpr int32_t kDefaultSchedulePage = 100;
constexpr int32_t kMaxSchedulePage = 1000;

// Validation proper (the id's pattern, every spec field) is the runner's;
// this only keeps absurd sizes away from it.
grpc::Status CheckId(const std::string& id) {
  if (id.empty()) return Invalid("schedule_id is empty");
  if (id.size() > schedules::kMaxScheduleIdBytes) {
    return Invalid("schedule_id is longer than " +
                   std::to_string(schedules::kMaxScheduleIdBytes) + " bytes");
  }
  return grpc::Status::OK;
}

grpc::Status CheckOverlap(v1::OverlapPolicy overlap) {
  if (!v1::OverlapPolicy_IsValid(overlap)) {
    return Invalid("overlap " + std::to_string(overlap) +
                   " is not an OverlapPolicy");
  }
  return grpc::Status::OK;
}

}  // namespace

void ScheduleServiceImpl::Fill(const persistence::ScheduleRecord& record,
                               v1::Schedule* out) {
  ToProto(record, out);
  if (!record.last_run_id().empty()) {
    auto run = store_->GetRun(record.last_run_id());
    out->set_last_run_running(run.ok() &&
                              !persistence::IsEndedStatus(run->status()));
  }
}

grpc::ServerUnaryReactor* ScheduleServiceImpl::CreateSchedule(
    grpc::CallbackServerContext* context,
    const v1::CreateScheduleRequest* request, v1::Schedule* response) {
  if (grpc::Status s = CheckId(request->schedule_id()); !s.ok()) {
    return Done(context, s);
  }
  if (grpc::Status s = CheckOverlap(request->spec().overlap()); !s.ok()) {
    return Done(context, s);
  }
  auto created =
      runner_->Create(FromProto(request->schedule_id(), request->spec()));
  if (!created.ok()) return Done(context, created.status());
  Fill(*created, response);
  return Done(context, grpc::Status::OK);
}

grpc::ServerUnaryReactor* ScheduleServiceImpl::GetSchedule(
    grpc::CallbackServerContext* context, const v1::GetScheduleRequest* request,
    v1::Schedule* response) {
  if (grpc::Status s = CheckId(request->schedule_id()); !s.ok()) {
    return Done(context, s);
  }
  auto record = runner_->Get(request->schedule_id());
  if (!record.ok()) return Done(context, record.status());
  Fill(*record, response);
  return Done(context, grpc::Status::OK);
}

grpc::ServerUnaryReactor* ScheduleServiceImpl::ListSchedules(
    grpc::CallbackServerContext* context,
    const v1::ListSchedulesRequest* request,
    v1::ListSchedulesResponse* response) {
  if (request->page_size() < 0) {
    return Done(context, Invalid("page_size must not be negative (got " +
                                 std::to_string(request->page_size()) + ")"));
  }
  const size_t page_size = static_cast<size_t>(
      request->page_size() == 0
          ? kDefaultSchedulePage
          : std::min(request->page_size(), kMaxSchedulePage));
  auto page = runner_->List(page_size, request->page_token());
  if (!page.ok()) return Done(context, page.status());
  for (const persistence::ScheduleRecord& record : page->items) {
    Fill(record, response->add_schedules());
  }
  response->set_next_page_token(page->next_page_token);
  return Done(context, grpc::Status::OK);
}

grpc::ServerUnaryReactor* ScheduleServiceImpl::UpdateSchedule(
    grpc::CallbackServerContext* context,
    const v1::UpdateScheduleRequest* request, v1::Schedule* response) {
  if (grpc::Status s = CheckId(request->schedule_id()); !s.ok()) {
    return Done(context, s);
  }
  if (grpc::Status s = CheckOverlap(request->spec().overlap()); !s.ok()) {
    return Done(context, s);
  }
  auto updated =
      runner_->Update(FromProto(request->schedule_id(), request->spec()),
                      request->expected_revision());
  if (!updated.ok()) return Done(context, updated.status());
  Fill(*updated, response);
  return Done(context, grpc::Status::OK);
}

grpc::ServerUnaryReactor* ScheduleServiceImpl::PauseSchedule(
    grpc::CallbackServerContext* context,
    const v1::PauseScheduleRequest* request, v1::Schedule* response) {
  if (grpc::Status s = CheckId(request->schedule_id()); !s.ok()) {
    return Done(context, s);
  }
  auto paused = runner_->Pause(request->schedule_id(), request->note());
  if (!paused.ok()) return Done(context, paused.status());
  Fill(*paused, response);
  return Done(context, grpc::Status::OK);
}

grpc::ServerUnaryReactor* ScheduleServiceImpl::UnpauseSchedule(
    grpc::CallbackServerContext* context,
    const v1::UnpauseScheduleRequest* request, v1::Schedule* response) {
  if (grpc::Status s = CheckId(request->schedule_id()); !s.ok()) {
    return Done(context, s);
  }
  auto unpaused = runner_->Unpause(request->schedule_id(), request->note());
  if (!unpaused.ok()) return Done(context, unpaused.status());
  Fill(*unpaused, response);
  return Done(context, grpc::Status::OK);
}

grpc::ServerUnaryReactor* ScheduleServiceImpl::DeleteSchedule(
    grpc::CallbackServerContext* context,
    const v1::DeleteScheduleRequest* request,
    v1::DeleteScheduleResponse* /*response*/) {
  if (grpc::Status s = CheckId(request->schedule_id()); !s.ok()) {
    return Done(context, s);
  }
  return Done(context, runner_->Delete(request->schedule_id()));
}

grpc::ServerUnaryReactor* ScheduleServiceImpl::TriggerSchedule(
    grpc::CallbackServerContext* context,
    const v1::TriggerScheduleRequest* request,
    v1::TriggerScheduleResponse* response) {
  if (grpc::Status s = CheckId(request->schedule_id()); !s.ok()) {
    return Done(context, s);
  }
  if (grpc::Status s = CheckOverlap(request->overlap()); !s.ok()) {
    return Done(context, s);
  }
  auto action = runner_->Trigger(request->schedule_id(), request->overlap());
  if (!action.ok()) return Done(context, action.status());
  ToProto(*action, response->mutable_action());
  return Done(context, grpc::Status::OK);
}

}  // namespace sagaflow::server
