#include "activities/activity.h"

namespace sagaflow::activities {

void Cancellation::Cancel() {
  std::lock_guard<std::mutex> lock(mu_);
  cancelled_ = true;
  cv_.notify_all();
}

bool Cancellation::cancelled() const {
  std::lock_guard<std::mutex> lock(mu_);
  return cancelled_;
}

bool Cancellation::WaitFor(Duration timeout) const {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return cancelled_; });
}

std::string ActivityContext::IdempotencyKey() const {
  // Not the attempt: a retry must find the work the failed attempt may have
  // done. The step name cannot contain '/', so the parts cannot run together.
  std::string key = run_id;
  key += '/';
  key += std::to_string(scope_instance);
  key += '/';
  key += step;
  key += is_compensation ? "/compensate" : "/do";
  return key;
}

}  // namespace sagaflow::activities
