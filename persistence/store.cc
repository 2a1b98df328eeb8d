#include "persistence/store.h"

#include <condition_variable>
#include <mutex>

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

Result<Committed> Store::Commit(Transition transition) {
  std::mutex mu;
  std::condition_variable cv;
  std::optional<Result<Committed>> outcome;
  CommitAsync(std::move(transition), [&](Result<Committed> r) {
    std::lock_guard<std::mutex> lock(mu);
    outcome.emplace(std::move(r));
    cv.notify_one();
  });
  std::unique_lock<std::mutex> lock(mu);
  cv.wait(lock, [&] { return outcome.has_value(); });
  return std::move(*outcome);
}

}  // namespace sagaflow::persistence
