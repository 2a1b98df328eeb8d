// A full disk under a running server (in this process, over real gRPC, with a
// fault-injecting RocksDB file system): writes fail with a clear status,
// reads keep working, health says NOT_SERVING, and when space returns the
// server serves again and the runs whose commits failed go on.
#include <grpcpp/generic/generic_stub.h>
#include <gtest/gtest.h>
#include <rocksdb/env.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "persistence/rocksdb_store.h"
#include "server/server.h"
#include "tests/persistence/fault_injection_fs.h"
#include "tests/server/server_harness.h"

namespace sagaflow::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using persistence::testing::FaultInjectionFs;

// grpc.health.v1.Health/Check by raw bytes: "SERVING", "NOT_SERVING", or
// the error.
std::string HealthOf(const std::shared_ptr<grpc::Channel>& channel) {
  grpc::GenericStub generic(channel);
  grpc::CompletionQueue cq;
  grpc::Slice empty("");
  grpc::ByteBuffer request(&empty, 1);
  grpc::ByteBuffer response;
  grpc::Status status;
  auto context = Context();
  auto rpc = generic.PrepareUnaryCall(
      context.get(), "/grpc.health.v1.Health/Check", request, &cq);
  rpc->StartCall();
  rpc->Finish(&response, &status, reinterpret_cast<void*>(1));
  void* tag;
  bool ok;
  cq.Next(&tag, &ok);
  if (!status.ok()) return "error: " + status.error_message();
  const std::string bytes = BufferBytes(response);
  // HealthCheckResponse{status}: field 1, SERVING = 1, NOT_SERVING = 2.
  if (bytes == std::string("\x08\x01", 2)) return "SERVING";
  if (bytes == std::string("\x08\x02", 2)) return "NOT_SERVING";
  return "unexpected bytes";
}

TEST(ServerDiskTest, ADiskFullStopsWritesNotReadsAndTheServerRecovers) {
  const fs::path dir = fs::temp_directory_path() /
                       ("sagaflow-disk-" + std::to_string(::getpid()));
  auto faulty =
      std::make_shared<FaultInjectionFs>(rocksdb::FileSystem::Default());
  std::unique_ptr<rocksdb::Env> env = rocksdb::NewCompositeEnv(faulty);
  server::ServerOptions options;
  options.listen = "127.0.0.1:0";
  options.data_dir = (dir / "data").string();
  options.log_level = "off";
  options.tune_store = [&](persistence::RocksDbOptions& store) {
    store.env = env.get();
    store.recovery_interval = std::chrono::milliseconds(50);
  };
  auto server = server::Server::Start(options);
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  auto channel = grpc::CreateChannel((*server)->address(),
                                     grpc::InsecureChannelCredentials());
  auto stub = v1::WorkflowService::NewStub(channel);
  EXPECT_EQ(HealthOf(channel), "SERVING");

  v1::RegisterWorkflowRequest reg;
  reg.set_definition_json(
      json({{"name", "nap"},
            {"start_at", "w"},
            {"steps",
             {{"w", {{"type", "wait"}, {"duration", "300ms"}, {"next", "a"}}},
              {"a", {{"type", "task"}, {"activity", "builtin.noop"}}}}}})
          .dump());
  v1::RegisterWorkflowResponse registered;
  ASSERT_TRUE(stub->RegisterWorkflow(Context().get(), reg, &registered).ok());
  auto start = [&](const std::string& run_id) {
    v1::StartRunRequest request;
    request.set_workflow("nap");
    request.set_run_id(run_id);
    v1::StartRunResponse response;
    return stub->StartRun(Context().get(), request, &response);
  };
  auto get = [&](const std::string& run_id) {
    v1::GetRunRequest request;
    request.set_run_id(run_id);
    v1::Run run;
    grpc::Status status = stub->GetRun(Context().get(), request, &run);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return run;
  };
  ASSERT_TRUE(start("before").ok());

  // The disk fills up while "before" waits on its timer.
  faulty->SetWriteFault(FaultInjectionFs::WriteFault::kNoSpace);
  grpc::Status refused = start("during");
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error_message().find("No space left"), std::string::npos)
      << refused.error_message();
  EXPECT_TRUE(Eventually([&] { return HealthOf(channel) == "NOT_SERVING"; },
                         std::chrono::seconds(10)));
  // Later writes are refused at once, and say why; reads keep working.
  grpc::Status again = start("during");
  EXPECT_EQ(again.error_code(), grpc::StatusCode::UNAVAILABLE)
      << again.error_message();
  EXPECT_NE(again.error_message().find("not writable"), std::string::npos)
      << again.error_message();
  EXPECT_EQ(StatusName(get("before").status()), "RUNNING");
  v1::ListRunsRequest list;
  v1::ListRunsResponse listed;
  ASSERT_TRUE(stub->ListRuns(Context().get(), list, &listed).ok());
  EXPECT_GE(listed.runs_size(), 1);
  // "before"'s timer comes due now: its commit fails too, and the run waits
  // for the disk.
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  EXPECT_EQ(StatusName(get("before").status()), "RUNNING");

  // Space returns: the server serves again without a restart, and the run
  // whose timer fired during the outage finishes.
  faulty->SetWriteFault(FaultInjectionFs::WriteFault::kNone);
  EXPECT_TRUE(Eventually([&] { return HealthOf(channel) == "SERVING"; },
                         std::chrono::seconds(10)));
  EXPECT_TRUE(Eventually(
      [&] { return StatusName(get("before").status()) == "COMPLETED"; },
      std::chrono::seconds(10)))
      << StatusName(get("before").status());
  grpc::Status after = start("during");
  EXPECT_TRUE(after.ok()) << after.error_message();
  EXPECT_TRUE(Eventually(
      [&] { return StatusName(get("during").status()) == "COMPLETED"; },
      std::chrono::seconds(10)));
  (*server)->Stop(std::chrono::seconds(1));
  server->reset();
  std::error_code ec;
  fs::remove_all(dir, ec);
}

}  // namespace
}  // namespace sagaflow::testing
