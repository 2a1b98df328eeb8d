// Prometheus metrics of sagaflowd, served on an optional HTTP port
// (docs/SERVER.md lists them). Thread-safe.
#ifndef SAGAFLOW_SERVER_METRICS_H_
#define SAGAFLOW_SERVER_METRICS_H_

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"
#include "engine/observer.h"

namespace sagaflow::server {

class Metrics {
 public:
  using QueueDepths =
      std::function<std::vector<std::pair<std::string, size_t>>()>;

  // Serves /metrics on `listen` (host:port; port 0 picks one).
  static Result<std::unique_ptr<Metrics>> Start(const std::string& listen,
                                                QueueDepths queue_depths);
  ~Metrics();

  // The engine's on_committed hook: run starts and ends, attempt durations,
  // commit latency.
  void OnCommitted(const engine::CommitInfo& info);
  // The bound port.
  int port() const;

  class Impl;

 private:
  explicit Metrics(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sagaflow::server

#endif  // SAGAFLOW_SERVER_METRICS_H_
