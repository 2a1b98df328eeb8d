// Answers for unary calls that finish on the calling thread.
#ifndef SAGAFLOW_SERVER_UNARY_H_
#define SAGAFLOW_SERVER_UNARY_H_

#include <grpcpp/support/server_callback.h>

#include <string>

#include "common/status.h"
#include "server/convert.h"

namespace sagaflow::server {

inline grpc::ServerUnaryReactor* Done(grpc::CallbackServerContext* context,
                                      const grpc::Status& status) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(status);
  return reactor;
}

inline grpc::ServerUnaryReactor* Done(grpc::CallbackServerContext* context,
                                      const Status& status) {
  return Done(context, ToGrpc(status));
}

inline grpc::Status Invalid(std::string message) {
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, std::move(message));
}

}  // namespace sagaflow::server

#endif  // SAGAFLOW_SERVER_UNARY_H_
