#include "server/server.h"

#include <fmt/ranges.h>
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <future>
#include <mutex>
#include <thread>

#include "activities/registry.h"
#include "engine/engine.h"
#include "persistence/rocksdb_store.h"
#include "sagaflow/v1/types.pb.h"
#include "schedules/runner.h"
#include "server/metrics.h"
#include "server/schedule_service.h"
#include "server/services.h"
#include "server/watch_hub.h"

namespace sagaflow::server {
namespace {

// Room for the request's own fields around the largest definition or
// payload a request may carry.
constexpr size_t kEnvelopeBytes = 64 << 10;

std::string HostOf(const std::string& listen) {
  const size_t colon = listen.rfind(':');
  std::string host =
      colon == std::string::npos ? listen : listen.substr(0, colon);
  if (host.empty() || host == "0.0.0.0" || host == "[::]") host = "127.0.0.1";
  return host;
}

}  // namespace

class Server::Impl {
 public:
  explicit Impl(const ServerOptions& options)
      : options_(options),
        registry_(activities::ActivityRegistry::WithBuiltins(
            activities::ExecOptions{options.allow_exec})) {}

  Status Start() {
    std::error_code ec;
    for (const std::string& path : options_.allow_exec) {
      if (!std::filesystem::exists(path, ec)) {
        return Status::InvalidArgument("--allow-exec " + path +
                                       ": no such file or directory");
      }
    }
    if (options_.register_activities) {
      Status added = options_.register_activities(registry_);
      if (!added.ok()) return added;
    }
    if (!options_.allow_exec.empty()) {
      spdlog::warn("builtin.exec may run programs under: {}",
                   fmt::join(options_.allow_exec, ", "));
    }
    std::filesystem::create_directories(options_.data_dir, ec);
    if (ec) {
      return Status::IoError("cannot create the data directory " +
                             options_.data_dir + ": " + ec.message());
    }
    persistence::RocksDbOptions store_options;
    store_options.path = options_.data_dir;
    store_options.durability = options_.durability;
    // On the store's committer thread: cheap, and never a store call.
    store_options.on_health_change = [this](const Status& health) {
      OnStoreHealth(health);
    };
    if (options_.tune_store) options_.tune_store(store_options);
    auto store = persistence::RocksDbStore::Open(store_options);
    if (!store.ok()) return store.status();
    store_ = std::move(*store);
    watches_ = std::make_unique<WatchHub>(store_.get());

    if (!options_.metrics_listen.empty()) {
      auto metrics = Metrics::Start(options_.metrics_listen, [this] {
        engine::Engine* engine = engine_ptr_.load();
        return engine ? engine->QueueDepths()
                      : std::vector<std::pair<std::string, size_t>>{};
      });
      if (!metrics.ok()) return metrics.status();
      metrics_ = std::move(*metrics);
    }

    engine::EngineOptions engine_options;
    engine_options.partitions = options_.partitions;
    engine_options.agent_threads = options_.agent_threads;
    engine_options.limits = options_.limits;
    engine_options.max_step_transitions = options_.max_step_transitions;
    engine_options.max_history_events = options_.max_history_events;
    engine_options.on_committed = [this](const engine::CommitInfo& info) {
      watches_->Notify(info.run.run_id(), info.run.status(),
                       info.run.last_event_seq());
      if (metrics_) metrics_->OnCommitted(info);
      // One atomic load at the default level; formatting only when asked.
      if (info.previous_status != info.run.status() &&
          spdlog::should_log(spdlog::level::debug)) {
        spdlog::debug(
            "run {} ({} v{}) is now {}", info.run.run_id(), info.run.workflow(),
            info.run.workflow_version(),
            v1::RunStatus_Name(static_cast<v1::RunStatus>(info.run.status())));
      }
    };
    engine_options.on_run_stopped = [this](const persistence::RunRecord& run) {
      if (run.schedule_id().empty()) return;
      if (auto* runner = runner_ptr_.load()) runner->OnRunStopped(run);
    };
    auto engine = engine::Engine::Open(store_.get(), &registry_,
                                       std::move(engine_options));
    if (!engine.ok()) return engine.status();
    engine_ = std::move(*engine);
    engine_ptr_.store(engine_.get());
    auto runner = schedules::Runner::Open(store_.get(), engine_.get());
    if (!runner.ok()) return runner.status();
    runner_ = std::move(*runner);
    runner_ptr_.store(runner_.get());

    workflow_service_ =
        std::make_unique<WorkflowServiceImpl>(engine_.get(), watches_.get());
    PollSettings poll;
    poll.default_wait = options_.default_poll_wait;
    poll.max_wait = options_.max_poll_wait;
    worker_service_ = std::make_unique<WorkerServiceImpl>(engine_.get(), poll);
    schedule_service_ =
        std::make_unique<ScheduleServiceImpl>(runner_.get(), store_.get());

    grpc::EnableDefaultHealthCheckService(true);
    grpc::reflection::InitProtoReflectionServerBuilderPlugin();
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort(options_.listen, grpc::InsecureServerCredentials(),
                             &port);
    const size_t largest = std::max(options_.limits.max_definition_bytes,
                                    options_.limits.max_payload_bytes);
    builder.SetMaxReceiveMessageSize(
        static_cast<int>(largest + kEnvelopeBytes));
    builder.RegisterService(workflow_service_.get());
    builder.RegisterService(worker_service_.get());
    builder.RegisterService(schedule_service_.get());
    grpc_server_ = builder.BuildAndStart();
    if (grpc_server_ == nullptr || port == 0) {
      return Status::Unavailable("cannot listen on " + options_.listen +
                                 " (address in use or not valid)");
    }
    {
      std::lock_guard<std::mutex> lock(health_mu_);
      health_service_ = grpc_server_->GetHealthCheckService();
    }
    // A failure during start-up (before there was a health service).
    if (!store_->Health().ok()) OnStoreHealth(store_->Health());
    address_ = HostOf(options_.listen) + ":" + std::to_string(port);
    return Status();
  }

  void Stop(Duration grace) {
    std::lock_guard<std::mutex> lock(stop_mu_);
    if (stopped_) return;
    stopped_ = true;
    stopping_.store(true);
    if (grpc_server_) {
      if (auto* health = grpc_server_->GetHealthCheckService()) {
        health->SetServingStatus(false);
      }
    }
    if (watches_) watches_->Stop();
    spdlog::debug("stop: watches ended");
    // No fire starts a run on an engine that is going away.
    if (runner_) runner_->Shutdown();
    if (engine_) engine_->StopPolling();
    spdlog::debug("stop: polls answered");
    if (grpc_server_) {
      // Shutdown refuses new calls, waits for those in flight until the
      // deadline, then cancels them. A call still waiting on the engine after
      // that is answered (UNAVAILABLE) by the engine's own shutdown.
      const auto deadline = std::chrono::system_clock::now() + grace;
      auto drained = std::async(std::launch::async, [this, deadline] {
        grpc_server_->Shutdown(deadline);
      });
      if (drained.wait_for(grace + std::chrono::seconds(1)) !=
          std::future_status::ready) {
        if (engine_) engine_->Shutdown();
      }
      drained.wait();
      spdlog::debug("stop: gRPC calls drained");
    }
    if (engine_) engine_->Shutdown();
    spdlog::debug("stop: engine stopped");
    if (grpc_server_) grpc_server_->Wait();
    runner_ptr_.store(nullptr);
    {
      std::lock_guard<std::mutex> lock(health_mu_);
      engine_ptr_.store(nullptr);
      health_service_ = nullptr;
    }
    grpc_server_.reset();
    // A scrape may still hold the engine pointer it loaded: the metrics
    // server stops (and finishes its scrapes) before the engine goes.
    metrics_.reset();
    spdlog::debug("stop: metrics stopped");
    runner_.reset();
    engine_.reset();
    store_.reset();
  }

  const std::string& address() const { return address_; }
  int metrics_port() const { return metrics_ ? metrics_->port() : 0; }

 private:
  // The store stopped taking writes (disk full, I/O errors) or took them
  // again: health follows, reads go on, and after a recovery the engine
  // reloads the runs it evicted when their commits failed.
  void OnStoreHealth(const Status& health) {
    if (health.ok()) {
      spdlog::info("the store takes writes again");
    } else {
      spdlog::error("the store refuses writes: {}", health.ToString());
    }
    std::lock_guard<std::mutex> lock(health_mu_);
    if (health_service_ != nullptr && !stopping_.load()) {
      health_service_->SetServingStatus(health.ok());
    }
    if (health.ok()) {
      if (auto* engine = engine_ptr_.load()) engine->ReloadActiveRunsAsync();
    }
  }

  const ServerOptions options_;
  activities::ActivityRegistry registry_;
  // Destroyed in reverse order: the engine before what its hooks call.
  std::unique_ptr<persistence::RocksDbStore> store_;
  std::unique_ptr<WatchHub> watches_;
  std::unique_ptr<Metrics> metrics_;
  std::unique_ptr<engine::Engine> engine_;
  std::atomic<engine::Engine*> engine_ptr_{nullptr};  // For metric scrapes.
  // Destroyed before the engine, whose hook reaches it through runner_ptr_.
  std::unique_ptr<schedules::Runner> runner_;
  std::atomic<schedules::Runner*> runner_ptr_{nullptr};
  std::unique_ptr<WorkflowServiceImpl> workflow_service_;
  std::unique_ptr<WorkerServiceImpl> worker_service_;
  std::unique_ptr<ScheduleServiceImpl> schedule_service_;
  std::unique_ptr<grpc::Server> grpc_server_;
  std::string address_;
  // Guards the health service and engine pointers against a store callback
  // racing the stop.
  std::mutex health_mu_;
  grpc::HealthCheckServiceInterface* health_service_ = nullptr;  // health_mu_
  std::atomic<bool> stopping_{false};
  std::mutex stop_mu_;
  bool stopped_ = false;  // stop_mu_
};

Result<std::unique_ptr<Server>> Server::Start(const ServerOptions& options) {
  auto impl = std::make_unique<Impl>(options);
  Status started = impl->Start();
  if (!started.ok()) {
    impl->Stop(Duration(0));
    return started;
  }
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Server::~Server() { impl_->Stop(Duration(0)); }

const std::string& Server::address() const { return impl_->address(); }
int Server::metrics_port() const { return impl_->metrics_port(); }
void Server::Stop(Duration grace) { impl_->Stop(grace); }

}  // namespace sagaflow::server
