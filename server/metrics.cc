#include "server/metrics.h"

#include <prometheus/collectable.h>
#include <prometheus/counter.h>
#include <prometheus/exposer.h>
#include <prometheus/family.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <exception>
#include <string_view>

#include "sagaflow/v1/types.pb.h"

namespace sagaflow::server {
namespace {

bool IsActive(persistence::RunStatus status) {
  return status == storage::RUN_STATUS_RUNNING ||
         status == storage::RUN_STATUS_COMPENSATING;
}

std::string StatusLabel(persistence::RunStatus status) {
  constexpr std::string_view kPrefix = "RUN_STATUS_";
  std::string name = v1::RunStatus_Name(static_cast<v1::RunStatus>(status));
  if (name.compare(0, kPrefix.size(), kPrefix) == 0) {
    name.erase(0, kPrefix.size());
  }
  return name;
}

// Read at scrape time, so the hot path keeps no gauge up to date.
class QueueDepthCollector : public prometheus::Collectable {
 public:
  explicit QueueDepthCollector(Metrics::QueueDepths depths)
      : depths_(std::move(depths)) {}

  std::vector<prometheus::MetricFamily> Collect() const override {
    prometheus::MetricFamily family;
    family.name = "sagaflow_queue_depth";
    family.help = "Remote tasks waiting for a worker, per activity";
    family.type = prometheus::MetricType::Gauge;
    for (const auto& [activity, depth] : depths_()) {
      prometheus::ClientMetric metric;
      metric.label.push_back({"activity", activity});
      metric.gauge.value = static_cast<double>(depth);
      family.metric.push_back(std::move(metric));
    }
    return {std::move(family)};
  }

 private:
  Metrics::QueueDepths depths_;
};

const prometheus::Histogram::BucketBoundaries kStepBuckets = {
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
    1,     2.5,   5,    10,    30,   60,  300};
const prometheus::Histogram::BucketBoundaries kCommitBuckets = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
    0.01,   0.025,   0.05,   0.1,   0.25,   1};

}  // namespace

class Metrics::Impl {
 public:
  Impl(const std::string& listen, QueueDepths depths)
      : exposer_(listen),
        registry_(std::make_shared<prometheus::Registry>()),
        queues_(std::make_shared<QueueDepthCollector>(std::move(depths))),
        runs_started_(prometheus::BuildCounter()
                          .Name("sagaflow_runs_started_total")
                          .Help("Runs started, by workflow")
                          .Register(*registry_)),
        runs_finished_(prometheus::BuildCounter()
                           .Name("sagaflow_runs_finished_total")
                           .Help("Runs that stopped (ended, or wait for an "
                                 "operator), by workflow and status")
                           .Register(*registry_)),
        attempt_seconds_(prometheus::BuildHistogram()
                             .Name("sagaflow_step_duration_seconds")
                             .Help("Activity attempt durations, from start "
                                   "to reported result")
                             .Register(*registry_)),
        commit_seconds_(prometheus::BuildHistogram()
                            .Name("sagaflow_commit_duration_seconds")
                            .Help("Transition commit latency (store write "
                                  "and fsync)")
                            .Register(*registry_)
                            .Add({}, kCommitBuckets)) {
    for (int compensation = 0; compensation < 2; ++compensation) {
      for (int ok = 0; ok < 2; ++ok) {
        attempts_[compensation][ok] = &attempt_seconds_.Add(
            {{"kind", compensation ? "compensation" : "step"},
             {"outcome", ok ? "ok" : "error"}},
            kStepBuckets);
      }
    }
    exposer_.RegisterCollectable(registry_);
    exposer_.RegisterCollectable(queues_);
  }

  void OnCommitted(const engine::CommitInfo& info) {
    const persistence::RunRecord& run = info.run;
    if (info.previous_status == persistence::RunStatus{}) {
      runs_started_.Add({{"workflow", run.workflow()}}).Increment();
    }
    if (IsActive(info.previous_status) ||
        info.previous_status == persistence::RunStatus{}) {
      if (!IsActive(run.status())) {
        runs_finished_
            .Add({{"workflow", run.workflow()},
                  {"status", StatusLabel(run.status())}})
            .Increment();
      }
    }
    for (const engine::AttemptTiming& t : info.attempt_timings) {
      attempts_[t.compensation][t.ok]->Observe(
          static_cast<double>(t.duration_ms) / 1000.0);
    }
    commit_seconds_.Observe(
        std::chrono::duration<double>(info.commit_latency).count());
  }

  int port() const {
    auto ports = exposer_.GetListeningPorts();
    return ports.empty() ? 0 : ports.front();
  }

 private:
  prometheus::Exposer exposer_;
  std::shared_ptr<prometheus::Registry> registry_;
  std::shared_ptr<QueueDepthCollector> queues_;
  prometheus::Family<prometheus::Counter>& runs_started_;
  prometheus::Family<prometheus::Counter>& runs_finished_;
  prometheus::Family<prometheus::Histogram>& attempt_seconds_;
  prometheus::Histogram& commit_seconds_;
  prometheus::Histogram* attempts_[2][2] = {};
};

Result<std::unique_ptr<Metrics>> Metrics::Start(const std::string& listen,
                                                QueueDepths queue_depths) {
  try {
    auto impl = std::make_unique<Impl>(listen, std::move(queue_depths));
    return std::unique_ptr<Metrics>(new Metrics(std::move(impl)));
  } catch (const std::exception& e) {
    return Status::InvalidArgument("cannot serve metrics on " + listen + ": " +
                                   e.what());
  }
}

Metrics::Metrics(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Metrics::~Metrics() = default;

void Metrics::OnCommitted(const engine::CommitInfo& info) {
  impl_->OnCommitted(info);
}

int Metrics::port() const { return impl_->port(); }

}  // namespace sagaflow::server
