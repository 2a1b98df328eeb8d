// Errors as values. Every function that can fail across a module boundary
// returns a Status or a Result<T>; no exception crosses a module boundary. The
// server layer maps StatusCode to gRPC codes, and nothing below it knows about
// gRPC.
#ifndef SAGAFLOW_COMMON_STATUS_H_
#define SAGAFLOW_COMMON_STATUS_H_

#include <memory>
#include <string>
#include <string_view>
#include <utility>

namespace sagaflow {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,  // The caller's input is wrong; retrying it unchanged
                     // cannot help.
  kNotFound,       // A named thing (workflow, run, token, path) does not exist.
  kAlreadyExists,  // Creating something that is already there.
  kFailedPrecondition,  // The request is well formed but the target is in the
                        // wrong state.
  kResourceExhausted,   // A configured limit was reached.
  kUnavailable,  // Transient: shutting down, overloaded; may succeed later.
  kCancelled,    // The operation was cancelled by its caller.
  kDeadlineExceeded,  // The operation ran out of time.
  kIoError,           // The disk or the OS failed.
  kCorruption,        // Stored data does not decode.
  kInternal,          // A broken invariant; a bug.
};

std::string_view StatusCodeName(StatusCode code);

class Status {
 public:
  // An OK status allocates nothing.
  Status() noexcept = default;
  Status(StatusCode code, std::string message);

  static Status Ok() { return Status(); }
  static Status InvalidArgument(std::string msg) {
    return {StatusCode::kInvalidArgument, std::move(msg)};
  }
  static Status NotFound(std::string msg) {
    return {StatusCode::kNotFound, std::move(msg)};
  }
  static Status AlreadyExists(std::string msg) {
    return {StatusCode::kAlreadyExists, std::move(msg)};
  }
  static Status FailedPrecondition(std::string msg) {
    return {StatusCode::kFailedPrecondition, std::move(msg)};
  }
  static Status ResourceExhausted(std::string msg) {
    return {StatusCode::kResourceExhausted, std::move(msg)};
  }
  static Status Unavailable(std::string msg) {
    return {StatusCode::kUnavailable, std::move(msg)};
  }
  static Status Cancelled(std::string msg) {
    return {StatusCode::kCancelled, std::move(msg)};
  }
  static Status DeadlineExceeded(std::string msg) {
    return {StatusCode::kDeadlineExceeded, std::move(msg)};
  }
  static Status IoError(std::string msg) {
    return {StatusCode::kIoError, std::move(msg)};
  }
  static Status Corruption(std::string msg) {
    return {StatusCode::kCorruption, std::move(msg)};
  }
  static Status Internal(std::string msg) {
    return {StatusCode::kInternal, std::move(msg)};
  }

  bool ok() const { return rep_ == nullptr; }
  StatusCode code() const { return rep_ ? rep_->code : StatusCode::kOk; }
  const std::string& message() const;
  // "NOT_FOUND: run r-1 does not exist", or "OK".
  std::string ToString() const;

  Status(const Status& other);
  Status& operator=(const Status& other);
  Status(Status&&) noexcept = default;
  Status& operator=(Status&&) noexcept = default;

 private:
  struct Rep {
    StatusCode code;
    std::string message;
  };
  std::unique_ptr<Rep> rep_;
};

}  // namespace sagaflow

// Returns early from the enclosing function when `expr` yields a non-OK Status.
#define SAGAFLOW_RETURN_IF_ERROR(expr)                   \
  do {                                                   \
    ::sagaflow::Status sagaflow_status_ = (expr);        \
    if (!sagaflow_status_.ok()) return sagaflow_status_; \
  } while (0)

#endif  // SAGAFLOW_COMMON_STATUS_H_
