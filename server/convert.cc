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
