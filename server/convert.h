// Conversions between the store's records and the sagaflow.v1 API messages,
// and from Status to grpc::Status: the only place the two vocabularies meet.
#ifndef SAGAFLOW_SERVER_CONVERT_H_
#define SAGAFLOW_SERVER_CONVERT_H_

#include <grpcpp/support/status.h>

#include <cstdint>

#include "common/status.h"
#include "persistence/store.h"
#include "sagaflow/v1/schedule_service.pb.h"
#include "sagaflow/v1/types.pb.h"

namespace sagaflow::server {

// The status codes of CONTRACT.md §2; the message is kept as written.
grpc::Status ToGrpc(const Status& status);

void ToProto(const persistence::RunRecord& record, v1::Run* run);
void ToProto(const persistence::HistoryEventRecord& record,
             v1::HistoryEvent* event);
void ToProto(const persistence::WorkflowRecord& record, v1::WorkflowInfo* info);

void ToProto(const persistence::ScheduleRecord& record, v1::Schedule* schedule);
void ToProto(const persistence::ScheduleActionRecord& record,
             v1::ScheduleAction* action);
// The spec fields of a ScheduleRecord; its state is left empty.
persistence::ScheduleRecord FromProto(const std::string& schedule_id,
                                      const v1::ScheduleSpec& spec);

void SetTimestamp(int64_t unix_ms, google::protobuf::Timestamp* ts);
// Unix milliseconds; 0 for an unset timestamp.
int64_t UnixMillisOf(const google::protobuf::Timestamp& ts);

}  // namespace sagaflow::server

#endif  // SAGAFLOW_SERVER_CONVERT_H_
