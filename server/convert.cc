#include "server/convert.h"

#include <google/protobuf/timestamp.pb.h>

namespace sagaflow::server {
namespace {

grpc::StatusCode GrpcCode(StatusCode code) {
  switch (code) {
    case StatusCode::kOk:
      return grpc::StatusCode::OK;
    case StatusCode::kInvalidArgument:
      return grpc::StatusCode::INVALID_ARGUMENT;
    case StatusCode::kNotFound:
      return grpc::StatusCode::NOT_FOUND;
    case StatusCode::kAlreadyExists:
      return grpc::StatusCode::ALREADY_EXISTS;
    case StatusCode::kFailedPrecondition:
      return grpc::StatusCode::FAILED_PRECONDITION;
    case StatusCode::kResourceExhausted:
      return grpc::StatusCode::RESOURCE_EXHAUSTED;
    case StatusCode::kUnavailable:
      return grpc::StatusCode::UNAVAILABLE;
    case StatusCode::kCancelled:
      return grpc::StatusCode::CANCELLED;
    case StatusCode::kDeadlineExceeded:
      return grpc::StatusCode::DEADLINE_EXCEEDED;
    case StatusCode::kCorruption:
      return grpc::StatusCode::DATA_LOSS;
    case StatusCode::kIoError:
    case StatusCode::kInternal:
      return grpc::StatusCode::INTERNAL;
  }
  return grpc::StatusCode::UNKNOWN;
}

}  // namespace

grpc::Status ToGrpc(const Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(GrpcCode(status.code()), status.message());
}

void SetTimestamp(int64_t unix_ms, google::protobuf::Timestamp* ts) {
  int64_t seconds = unix_ms / 1000;
  int64_t millis = unix_ms % 1000;
  if (millis < 0) {
    --seconds;
    millis += 1000;
  }
  ts->set_seconds(seconds);
  ts->set_nanos(static_cast<int32_t>(millis * 1'000'000));
}

int64_t UnixMillisOf(const google::protobuf::Timestamp& ts) {
  // Years 1970 to 9999; anything else reads as -1, which validation refuses.
  constexpr int64_t kMaxSeconds = 253'402'300'799;
  if (ts.seconds() < 0 || ts.seconds() > kMaxSeconds || ts.nanos() < 0 ||
      ts.nanos() > 999'999'999) {
    return -1;
  }
  return ts.seconds() * 1000 + ts.nanos() / 1'000'000;
}

void ToProto(const persistence::RunRecord& record, v1::Run* run) {
  run->set_run_id(record.run_id());
  run->set_workflow(record.workflow());
  run->set_version(record.workflow_version());
  // The store's RunStatus numbers are the API's (records.proto says so).
  run->set_status(static_cast<v1::RunStatus>(record.status()));
  run->set_input_json(record.input_json());
  run->set_output_json(record.output_json());
  run->set_error(record.error());
  run->set_error_message(record.error_message());
  for (const std::string& step : record.current_steps()) {
    run->add_current_steps(step);
  }
  SetTimestamp(record.created_at_ms(), run->mutable_created_at());
  SetTimestamp(record.updated_at_ms(), run->mutable_updated_at());
  if (record.ended_at_ms() != 0) {
    SetTimestamp(record.ended_at_ms(), run->mutable_ended_at());
  }
  if (!record.schedule_id().empty()) {
    run->set_schedule_id(record.schedule_id());
    SetTimestamp(record.nominal_time_ms(), run->mutable_nominal_time());
  }
  if (record.start_at_ms() != 0) {
    SetTimestamp(record.start_at_ms(), run->mutable_start_at());
  }
}

void ToProto(const persistence::ScheduleActionRecord& record,
             v1::ScheduleAction* action) {
  SetTimestamp(record.nominal_time_ms(), action->mutable_nominal_time());
  SetTimestamp(record.actual_time_ms(), action->mutable_actual_time());
  action->set_outcome(
      static_cast<v1::ScheduleAction::Outcome>(record.outcome()));
  action->set_run_id(record.run_id());
  action->set_error(record.error());
}

void ToProto(const persistence::ScheduleRecord& record, v1::Schedule* out) {
  out->set_schedule_id(record.schedule_id());
  v1::ScheduleSpec* spec = out->mutable_spec();
  spec->set_workflow(record.workflow());
  spec->set_version(record.workflow_version());
  spec->set_input_json(record.input_json());
  spec->set_cron(record.cron());
  spec->set_interval_ms(record.interval_ms());
  spec->set_timezone(record.timezone());
  if (record.start_time_ms() != 0) {
    SetTimestamp(record.start_time_ms(), spec->mutable_start_time());
  }
  if (record.end_time_ms() != 0) {
    SetTimestamp(record.end_time_ms(), spec->mutable_end_time());
  }
  spec->set_overlap(static_cast<v1::OverlapPolicy>(record.overlap()));
  spec->set_catchup_window_ms(record.catchup_window_ms());
  spec->set_paused(record.paused());
  spec->set_note(record.note());
  if (record.next_fire_ms() != 0) {
    SetTimestamp(record.next_fire_ms(), out->mutable_next_fire_time());
  }
  SetTimestamp(record.created_at_ms(), out->mutable_created_at());
  SetTimestamp(record.updated_at_ms(), out->mutable_updated_at());
  out->set_revision(record.revision());
  for (const auto& action : record.recent_actions()) {
    ToProto(action, out->add_recent_actions());
  }
  out->set_last_run_id(record.last_run_id());
  if (record.buffered_nominal_ms() != 0) {
    SetTimestamp(record.buffered_nominal_ms(),
                 out->mutable_buffered_nominal_time());
  }
  out->set_runs_started(record.runs_started());
  out->set_skipped_overlap(record.skipped_overlap());
  out->set_missed_catchup(record.missed_catchup());
}

persistence::ScheduleRecord FromProto(const std::string& schedule_id,
                                      const v1::ScheduleSpec& spec) {
  persistence::ScheduleRecord r;
  r.set_schedule_id(schedule_id);
  r.set_workflow(spec.workflow());
  r.set_workflow_version(spec.version());
  r.set_input_json(spec.input_json());
  r.set_cron(spec.cron());
  r.set_interval_ms(spec.interval_ms());
  r.set_timezone(spec.timezone());
  r.set_start_time_ms(UnixMillisOf(spec.start_time()));
  r.set_end_time_ms(UnixMillisOf(spec.end_time()));
  r.set_overlap(spec.overlap());
  r.set_catchup_window_ms(spec.catchup_window_ms());
  r.set_paused(spec.paused());
  r.set_note(spec.note());
  return r;
}

void ToProto(const persistence::HistoryEventRecord& record,
             v1::HistoryEvent* event) {
  event->set_seq(record.seq());
  SetTimestamp(record.time_ms(), event->mutable_time());
  event->set_type(static_cast<v1::EventType>(record.type()));
  event->set_step(record.step());
  event->set_attempt(record.attempt());
  event->set_detail_json(record.detail_json());
}

void ToProto(const persistence::WorkflowRecord& record,
             v1::WorkflowInfo* info) {
  info->set_name(record.name());
  info->set_version(record.version());
  info->set_description(record.description());
  info->set_definition_json(record.definition_json());
  info->set_content_hash(record.content_hash());
  SetTimestamp(record.created_at_ms(), info->mutable_created_at());
  info->set_step_count(record.step_count());
}

}  // namespace sagaflow::server
