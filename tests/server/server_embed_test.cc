// A program embedding the server with its own in-process activity
// (server/run.h, docs/ACTIVITIES.md), in this process.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "activities/registry.h"
#include "server/server.h"
#include "tests/server/server_harness.h"

namespace sagaflow::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class Price final : public activities::Activity {
 public:
  activities::ActivityResult Run(const activities::Json& input,
                                 const activities::ActivityContext&) override {
    return activities::Json{{"total", input.value("qty", 0) * 3}};
  }
};

server::ServerOptions Options(const fs::path& dir) {
  server::ServerOptions options;
  options.listen = "127.0.0.1:0";
  options.data_dir = (dir / "data").string();
  options.log_level = "off";
  return options;
}

TEST(ServerEmbedTest, ProgramsAddTheirOwnInProcessActivities) {
  const fs::path dir = fs::temp_directory_path() /
                       ("sagaflow-embed-" + std::to_string(::getpid()));
  server::ServerOptions options = Options(dir);
  options.register_activities = [](activities::ActivityRegistry& registry) {
    return registry.Register("shop.price", std::make_unique<Price>());
  };
  auto server = server::Server::Start(options);
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  auto channel = grpc::CreateChannel((*server)->address(),
                                     grpc::InsecureChannelCredentials());
  auto stub = v1::WorkflowService::NewStub(channel);

  v1::RegisterWorkflowRequest reg;
  reg.set_definition_json(
      json({{"name", "priced"},
            {"start_at", "price"},
            {"steps",
             {{"price", {{"type", "task"}, {"activity", "shop.price"}}}}}})
          .dump());
  v1::RegisterWorkflowResponse registered;
  ASSERT_TRUE(stub->RegisterWorkflow(Context().get(), reg, &registered).ok());
  v1::StartRunRequest start;
  start.set_workflow("priced");
  start.set_input_json(R"({"qty": 4})");
  v1::StartRunResponse started;
  ASSERT_TRUE(stub->StartRun(Context().get(), start, &started).ok());
  v1::WatchRunRequest watch;
  watch.set_run_id(started.run_id());
  auto context = Context();
  auto reader = stub->WatchRun(context.get(), watch);
  v1::HistoryEvent event;
  while (reader->Read(&event)) {
  }
  ASSERT_TRUE(reader->Finish().ok());
  v1::GetRunRequest get;
  get.set_run_id(started.run_id());
  v1::Run run;
  ASSERT_TRUE(stub->GetRun(Context().get(), get, &run).ok());
  EXPECT_EQ(StatusName(run.status()), "COMPLETED");
  EXPECT_EQ(json::parse(run.output_json()), json({{"total", 12}}));
  (*server)->Stop(std::chrono::seconds(1));

  // A registration that fails stops the server from starting, and says why.
  server::ServerOptions clashing = Options(dir);
  clashing.register_activities = [](activities::ActivityRegistry& registry) {
    return registry.Register("builtin.noop", std::make_unique<Price>());
  };
  auto refused = server::Server::Start(clashing);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("builtin.noop"), std::string::npos);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace sagaflow::testing
