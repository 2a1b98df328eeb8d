// Result<T, E>: a value or an error, never both. E defaults to Status; the
// DSL's evaluator uses its own error type (a workflow error name and message)
// so the engine can route it to `catch`.
#ifndef SAGAFLOW_COMMON_RESULT_H_
#define SAGAFLOW_COMMON_RESULT_H_

#include <cassert>
#include <type_traits>
#include <utility>
#include <variant>

#include "common/status.h"

namespace sagaflow {

template <typename T, typename E = Status>
class [[nodiscard]] Result {
  static_assert(!std::is_same_v<T, E>, "value and error types must differ");

 public:
  // Implicit on purpose: `return value;` and `return Status::NotFound(...);`
  // both read naturally.
  Result(T value)
      : data_(std::in_place_index<0>, std::move(value)) {}             // NOLINT
  Result(E error) : data_(std::in_place_index<1>, std::move(error)) {  // NOLINT
    if constexpr (std::is_same_v<E, Status>) {
      assert(!std::get<1>(data_).ok() && "an OK Status is not an error");
    }
  }

  bool ok() const { return data_.index() == 0; }
  explicit operator bool() const { return ok(); }

  // Preconditions: ok() for value access, !ok() for error().
  T& value() & { return std::get<0>(data_); }
  const T& value() const& { return std::get<0>(data_); }
  T&& value() && { return std::get<0>(std::move(data_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const E& error() const& { return std::get<1>(data_); }
  E&& error() && { return std::get<1>(std::move(data_)); }

  // Status-compatible accessor for Result<T> (E = Status): OK when a value is
  // held.
  template <typename U = E,
            typename = std::enable_if_t<std::is_same_v<U, Status>>>
  Status status() const {
    return ok() ? Status() : std::get<1>(data_);
  }

 private:
  std::variant<T, E> data_;
};

}  // namespace sagaflow

#define SAGAFLOW_CONCAT_INNER(a, b) a##b
#define SAGAFLOW_CONCAT(a, b) SAGAFLOW_CONCAT_INNER(a, b)

// SAGAFLOW_ASSIGN_OR_RETURN(auto plan, Compile(doc)); returns the error when
// there is one.
#define SAGAFLOW_ASSIGN_OR_RETURN(lhs, expr)                                  \
  SAGAFLOW_ASSIGN_OR_RETURN_IMPL(SAGAFLOW_CONCAT(sagaflow_result_, __LINE__), \
                                 lhs, expr)
#define SAGAFLOW_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                   \
  if (!tmp.ok()) return std::move(tmp).error();        \
  lhs = std::move(tmp).value()

#endif  // SAGAFLOW_COMMON_RESULT_H_
