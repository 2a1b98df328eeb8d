// WatchRun streams: each watch sends a run's history from the store, then
// every event as it commits, and ends once the run is neither RUNNING nor
// COMPENSATING. A watch parks without a thread; one hub thread turns commit
// notifications into store reads.
#ifndef SAGAFLOW_SERVER_WATCH_HUB_H_
#define SAGAFLOW_SERVER_WATCH_HUB_H_

#include <grpcpp/support/server_callback.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>

#include "persistence/store.h"
#include "sagaflow/v1/types.pb.h"

namespace sagaflow::server {

class WatchHub {
 public:
  explicit WatchHub(persistence::Store* store);
  ~WatchHub();  // Stop()s.
  WatchHub(const WatchHub&) = delete;
  WatchHub& operator=(const WatchHub&) = delete;

  // Starts a watch of `run_id` from after `after_seq`; the reactor finishes
  // NOT_FOUND for an unknown run.
  grpc::ServerWriteReactor<v1::HistoryEvent>* Watch(std::string run_id,
                                                    uint64_t after_seq);

  // A commit of `run_id` is durable and visible in the store, leaving the run
  // in `status` with history up to `last_event_seq`. Calls for one run come
  // in commit order. Cheap when nobody watches: one atomic load. Any thread;
  // never blocks on a store read.
  void Notify(const std::string& run_id, persistence::RunStatus status,
              uint64_t last_event_seq);

  // Ends every watch (UNAVAILABLE: the server is stopping) and refuses new
  // ones. Idempotent.
  void Stop();

  size_t Watching() const;

 private:
  // What the latest commit of a run left: lets a caught-up watch end, or wait,
  // without reading the run back from the store.
  struct Progress {
    persistence::RunStatus status = persistence::RunStatus{};
    uint64_t last_event_seq = 0;
  };
  class Stream;
  void Remove(Stream* stream);
  void Loop();

  persistence::Store* const store_;
  std::atomic<size_t> count_{0};
  mutable std::mutex mu_;  // Guards streams_ and stopped_; taken before any
                           // Stream's own mutex.
  std::unordered_multimap<std::string, Stream*> streams_;
  bool stopped_ = false;

  std::mutex queue_mu_;
  std::condition_variable queue_cv_;
  std::unordered_map<std::string, Progress> dirty_;  // queue_mu_
  bool quit_ = false;                                // queue_mu_
  std::thread thread_;
};

}  // namespace sagaflow::server

#endif  // SAGAFLOW_SERVER_WATCH_HUB_H_
