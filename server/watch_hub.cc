#include "server/watch_hub.h"

#include <deque>
#include <optional>
#include <vector>

#include "server/convert.h"

namespace sagaflow::server {
namespace {

// Events read from the store per refill, and the bytes of details a refill
// keeps: bound a watch's memory.
constexpr size_t kReadBatch = 64;
constexpr size_t kBatchBytes = 4 << 20;

bool IsActive(persistence::RunStatus status) {
  return status == storage::RUN_STATUS_RUNNING ||
         status == storage::RUN_STATUS_COMPENSATING;
}

}  // namespace

// One WatchRun call. Pump() runs from the hub thread (a commit), from gRPC
// (a write done) and from Start; mu_ serialises them. At most one write is in
// flight; the stream finishes exactly once, after any write in flight.
class WatchHub::Stream : public grpc::ServerWriteReactor<v1::HistoryEvent> {
 public:
  Stream(WatchHub* hub, std::string run_id, uint64_t after_seq)
      : hub_(hub), run_id_(std::move(run_id)), last_seq_(after_seq) {}

  const std::string& run_id() const { return run_id_; }

  void Pump() {
    std::lock_guard<std::mutex> lock(mu_);
    PumpLocked();
  }

  void Pump(const Progress& progress) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!known_ || progress.last_event_seq >= known_->last_event_seq) {
      known_ = progress;
    }
    PumpLocked();
  }

  void End(grpc::Status status) {
    std::lock_guard<std::mutex> lock(mu_);
    FinishLocked(std::move(status));
  }

  void OnWriteDone(bool ok) override {
    std::lock_guard<std::mutex> lock(mu_);
    writing_ = false;
    if (finishing_) {  // Asked to finish while this write was in flight.
      finished_ = true;
      Finish(final_status_);
      return;
    }
    if (!ok) {
      FinishLocked(
          grpc::Status(grpc::StatusCode::CANCELLED, "the watcher went away"));
      return;
    }
    PumpLocked();
  }

  void OnCancel() override {
    std::lock_guard<std::mutex> lock(mu_);
    FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "watch cancelled"));
  }

  void OnDone() override {
    hub_->Remove(this);
    delete this;
  }

 private:
  void PumpLocked() {
    if (finishing_ || writing_) return;
    if (pending_.empty()) {
      // Caught up with the latest commit we were told of: no read needed.
      if (known_ && last_seq_ >= known_->last_event_seq) {
        if (!IsActive(known_->status)) FinishLocked(grpc::Status::OK);
        return;
      }
      auto events = hub_->store_->ReadHistory(run_id_, last_seq_, kReadBatch);
      if (!events.ok()) {
        FinishLocked(ToGrpc(events.status()));
        return;
      }
      // A batch stops at a byte budget too (details carry outputs and
      // payloads); what is left over is read again on the next refill.
      size_t bytes = 0;
      for (const persistence::HistoryEventRecord& record : *events) {
        if (bytes >= kBatchBytes) break;
        bytes += record.detail_json().size() + record.step().size();
        ToProto(record, &pending_.emplace_back());
        last_seq_ = record.seq();
      }
    }
    if (pending_.empty()) {
      // Nothing to send and no commit heard of yet (a new watch): learn the
      // run's state once; later commits bring it along.
      auto run = hub_->store_->GetRun(run_id_);
      if (!run.ok()) {
        FinishLocked(ToGrpc(run.status()));
        return;
      }
      if (!known_ || run->last_event_seq() >= known_->last_event_seq) {
        known_ = Progress{run->status(), run->last_event_seq()};
      }
      if (!IsActive(known_->status) && last_seq_ >= known_->last_event_seq) {
        FinishLocked(grpc::Status::OK);
      }
      return;
    }
    current_ = std::move(pending_.front());
    pending_.pop_front();
    writing_ = true;
    // No buffer_hint: a hinted write may complete only with the next
    // unhinted one, and the next write waits for this one to complete.
    StartWrite(&current_);
  }

  // A finish requested while a write is in flight happens in OnWriteDone.
  void FinishLocked(grpc::Status status) {
    if (finishing_) return;
    finishing_ = true;
    final_status_ = std::move(status);
    if (!writing_ && !finished_) {
      finished_ = true;
      Finish(final_status_);
    }
  }

  WatchHub* const hub_;
  const std::string run_id_;
  std::mutex mu_;
  uint64_t last_seq_;                     // mu_
  std::deque<v1::HistoryEvent> pending_;  // mu_
  v1::HistoryEvent current_;              // mu_; alive until OnWriteDone
  std::optional<Progress> known_;         // mu_
  bool writing_ = false;                  // mu_
  bool finishing_ = false;                // mu_
  bool finished_ = false;                 // mu_
  grpc::Status final_status_;             // mu_
};

WatchHub::WatchHub(persistence::Store* store)
    : store_(store), thread_([this] { Loop(); }) {}

WatchHub::~WatchHub() {
  Stop();
  {
    std::lock_guard<std::mutex> lock(queue_mu_);
    quit_ = true;
  }
  queue_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

grpc::ServerWriteReactor<v1::HistoryEvent>* WatchHub::Watch(
    std::string run_id, uint64_t after_seq) {
  auto* stream = new Stream(this, std::move(run_id), after_seq);
  if (stream->run_id().empty()) {
    stream->End(
        grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "run_id is empty"));
    return stream;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopped_) {
      stream->End(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                               "the server is shutting down"));
      return stream;
    }
    // Registered before the first read, so no commit after that read is
    // missed.
    streams_.emplace(stream->run_id(), stream);
    count_.fetch_add(1);
  }
  stream->Pump();
  return stream;
}

void WatchHub::Remove(Stream* stream) {
  std::lock_guard<std::mutex> lock(mu_);
  auto range = streams_.equal_range(stream->run_id());
  for (auto it = range.first; it != range.second; ++it) {
    if (it->second == stream) {
      streams_.erase(it);
      count_.fetch_sub(1);
      return;
    }
  }
}

void WatchHub::Notify(const std::string& run_id, persistence::RunStatus status,
                      uint64_t last_event_seq) {
  if (count_.load() == 0) return;
  {
    std::lock_guard<std::mutex> lock(queue_mu_);
    dirty_[run_id] = Progress{status, last_event_seq};
  }
  queue_cv_.notify_one();
}

void WatchHub::Stop() {
  std::lock_guard<std::mutex> lock(mu_);
  if (stopped_) return;
  stopped_ = true;
  for (auto& [run_id, stream] : streams_) {
    stream->End(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                             "the server is shutting down"));
  }
}

size_t WatchHub::Watching() const { return count_.load(); }

void WatchHub::Loop() {
  while (true) {
    std::unordered_map<std::string, Progress> dirty;
    {
      std::unique_lock<std::mutex> lock(queue_mu_);
      queue_cv_.wait(lock, [this] { return quit_ || !dirty_.empty(); });
      if (quit_) return;
      dirty.swap(dirty_);
    }
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [run_id, progress] : dirty) {
      auto range = streams_.equal_range(run_id);
      for (auto it = range.first; it != range.second; ++it) {
        it->second->Pump(progress);
      }
    }
  }
}

}  // namespace sagaflow::server
