#include "persistence/store.h"

#include <condition_variable>
#include <mutex>
#include <optional>

namespace sagaflow::persistence {

std::string_view DurabilityName(Durability d) {
  switch (d) {
    case Durability::kSync:
      return "sync";
    case Durability::kGroup:
      return "group";
    case Durability::kNone:
      return "none";
  }
  return "?";
}

std::optional<Durability> ParseDurability(std::string_view name) {
  if (name == "sync") return Durability::kSync;
  if (name == "group") return Durability::kGroup;
  if (name == "none") return Durability::kNone;
  return std::nullopt;
}

bool IsEndedStatus(RunStatus status) {
  switch (status) {
    case storage::RUN_STATUS_COMPLETED:
    case storage::RUN_STATUS_FAILED:
    case storage::RUN_STATUS_COMPENSATED:
    case storage::RUN_STATUS_CANCELLED:
      return true;
    default:
      return false;
  }
}

namespace {

// Runs an asynchronous store call and waits for its answer.
template <typename T, typename Start>
Result<T> Wait(Start start) {
  std::mutex mu;
  std::condition_variable cv;
  std::optional<Result<T>> outcome;
  start([&](Result<T> r) {
    std::lock_guard<std::mutex> lock(mu);
    outcome.emplace(std::move(r));
    cv.notify_one();
  });
  std::unique_lock<std::mutex> lock(mu);
  cv.wait(lock, [&] { return outcome.has_value(); });
  return std::move(*outcome);
}

}  // namespace

Result<Committed> Store::Commit(Transition transition) {
  if (OnCallbackThread()) {
    return Status::FailedPrecondition(
        "Commit called from a commit callback would wait on itself; use "
        "CommitAsync");
  }
  return Wait<Committed>(
      [&](auto done) { CommitAsync(std::move(transition), std::move(done)); });
}

Result<size_t> Store::PurgeEndedRuns(int64_t ended_before_ms, size_t max_runs) {
  if (OnCallbackThread()) {
    return Status::FailedPrecondition(
        "PurgeEndedRuns called from a commit callback would wait on itself");
  }
  return Wait<size_t>([&](auto done) {
    PurgeEndedRunsAsync(ended_before_ms, max_runs, std::move(done));
  });
}

}  // namespace sagaflow::persistence
