// The real CLI, the real sagaflowd and the real trip-worker together: what a
// user does in samples/README.md, checked.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "tests/server/server_harness.h"

namespace sagaflow::testing {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

json Trip(const std::string& id) {
  return {{"trip_id", id},
          {"traveler", "Ada"},
          {"origin", "CDG"},
          {"destination", "SFO"},
          {"depart_date", "2026-12-01"},
          {"return_date", "2026-12-08"}};
}

json ParseOut(const CliResult& r) {
  json parsed = json::parse(r.out, nullptr, /*allow_exceptions=*/false);
  EXPECT_FALSE(parsed.is_discarded()) << "stdout is not one JSON document:\n"
                                      << r.out << "\nstderr:\n"
                                      << r.err;
  return parsed;
}

std::vector<json> ReadEffects(const std::string& path) {
  std::vector<json> effects;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) effects.push_back(json::parse(line));
  }
  return effects;
}

class ServerCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.Start();
    effects_ = server_.data_dir() + "-effects.jsonl";
  }
  // A trip-worker that refuses a car for trip T2.
  std::unique_ptr<ChildProcess> StartWorker(
      std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {
        "--server",       server_.address(),
        "--fail",         "book_car:NoCarsAvailable",
        "--when-trip-id", "T2",
        "--effects-log",  effects_};
    args.insert(args.end(), extra.begin(), extra.end());
    return std::make_unique<ChildProcess>(BinDir() + "/trip-worker", args,
                                          server_.data_dir() + "-worker.log");
  }
  CliResult Cli(std::vector<std::string> args) {
    return RunCli(server_.address(), std::move(args));
  }

  ServerProcess server_;
  std::string effects_;
};

TEST_F(ServerCliTest, TripCompletesAndAnotherCompensates) {
  CliResult registered =
      Cli({"workflow", "register", SourceDir() + "/samples/trip_booking.json"});
  ASSERT_EQ(registered.code, 0) << registered.err;
  EXPECT_THAT(registered.out, HasSubstr("trip_booking"));
  auto worker = StartWorker();

  CliResult done = Cli({"-o", "json", "run", "start", "trip_booking", "--input",
                        Trip("T1").dump(), "--wait"});
  ASSERT_EQ(done.code, 0) << done.out << done.err;
  json done_doc = ParseOut(done);
  EXPECT_EQ(done_doc["run"]["status"], "COMPLETED");
  EXPECT_THAT(done_doc["run"]["output"]["car_booking_id"].get<std::string>(),
              HasSubstr("car-T1-"));
  const std::string done_id = done_doc["run_id"];

  CliResult undone = Cli({"-o", "json", "run", "start", "trip_booking",
                          "--input", Trip("T2").dump(), "--wait"});
  EXPECT_EQ(undone.code, 1) << "a run that did not complete exits 1";
  json undone_doc = ParseOut(undone);
  EXPECT_EQ(undone_doc["run"]["status"], "COMPENSATED");
  EXPECT_EQ(undone_doc["run"]["error"], "NoCarsAvailable");
  const std::string undone_id = undone_doc["run_id"];

  // Side effects: T2's hotel and flight were cancelled, newest first.
  std::vector<std::string> t2;
  for (const json& e : ReadEffects(effects_)) {
    if (e["run_id"] == undone_id && e["outcome"] == "completed") {
      t2.push_back(e["activity"]);
    }
  }
  EXPECT_THAT(
      t2, ::testing::ElementsAre("trip.book_flight", "trip.book_hotel",
                                 "trip.cancel_hotel", "trip.cancel_flight"));

  CliResult show = Cli({"-o", "json", "run", "show", undone_id});
  ASSERT_EQ(show.code, 0) << show.err;
  json card = ParseOut(show);
  EXPECT_EQ(card["status"], "COMPENSATED");
  ASSERT_TRUE(card["steps"].is_array());
  EXPECT_GE(card["steps"].size(), 3u);
  CliResult table = Cli({"run", "show", undone_id});
  ASSERT_EQ(table.code, 0);
  EXPECT_THAT(table.out, HasSubstr("book_car"));
  EXPECT_THAT(table.out, HasSubstr("COMPENSATED"));

  CliResult history = Cli({"-o", "json", "run", "history", undone_id});
  ASSERT_EQ(history.code, 0) << history.err;
  json events = ParseOut(history)["events"];
  ASSERT_FALSE(events.empty());
  for (size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(events[i]["seq"], i + 1);
  }
  EXPECT_EQ(events.back()["type"], "RUN_COMPENSATED");

  CliResult listed = Cli({"-o", "json", "run", "list", "--workflow",
                          "trip_booking", "--status", "completed"});
  ASSERT_EQ(listed.code, 0) << listed.err;
  json runs = ParseOut(listed)["runs"];
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0]["run_id"], done_id);

  CliResult follow = Cli({"run", "start", "trip_booking", "--input",
                          Trip("T3").dump(), "--follow"});
  EXPECT_EQ(follow.code, 0) << follow.err;
  EXPECT_THAT(follow.out, HasSubstr("STEP_COMPLETED"));
  EXPECT_THAT(follow.out, HasSubstr("RUN_COMPLETED"));

  CliResult workflows = Cli({"-o", "json", "workflow", "list"});
  ASSERT_EQ(workflows.code, 0);
  EXPECT_EQ(ParseOut(workflows)["workflows"][0]["name"], "trip_booking");
  CliResult graph = Cli({"workflow", "graph", "trip_booking"});
  EXPECT_EQ(graph.code, 0);
  EXPECT_THAT(graph.out, HasSubstr("book_hotel"));
  EXPECT_EQ(worker->Terminate(), 0);
}

TEST_F(ServerCliTest, SignalCancelResumeAndIdempotentStart) {
  const std::string dir = server_.data_dir() + "-defs";
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/gate.json")
      << json({{"name", "gate"},
               {"start_at", "approve"},
               {"on_failure", "suspend"},
               {"steps",
                {{"approve",
                  {{"type", "signal"}, {"signal", "go"}, {"next", "check"}}},
                 {"check",
                  {{"type", "task"},
                   {"activity", "builtin.fail"},
                   {"input", {{"error", "NotYet"}, {"times", 1}}},
                   {"retry", {{"max_attempts", 1}}}}}}}})
             .dump();
  ASSERT_EQ(Cli({"workflow", "register", dir + "/gate.json"}).code, 0);

  CliResult started =
      Cli({"run", "start", "gate", "--run-id", "gate-1", "--input", "{}"});
  ASSERT_EQ(started.code, 0) << started.err;
  EXPECT_THAT(started.out, HasSubstr("gate-1"));
  CliResult again =
      Cli({"-o", "json", "run", "start", "gate", "--run-id", "gate-1"});
  ASSERT_EQ(again.code, 0);
  EXPECT_EQ(ParseOut(again)["already_started"], true);

  ASSERT_EQ(
      Cli({"run", "signal", "gate-1", "go", "--payload", R"({"by": "ana"})"})
          .code,
      0);
  // builtin.fail fails its first attempt: the run suspends.
  CliResult suspended =
      Cli({"-o", "json", "run", "history", "gate-1", "--follow"});
  ASSERT_EQ(suspended.code, 0) << suspended.err;
  EXPECT_EQ(ParseOut(suspended)["events"].back()["type"], "RUN_SUSPENDED");
  CliResult resumed = Cli({"run", "resume", "gate-1"});
  EXPECT_EQ(resumed.code, 0) << resumed.err;
  CliResult finished = Cli(
      {"-o", "json", "run", "start", "gate", "--run-id", "gate-1", "--wait"});
  EXPECT_EQ(finished.code, 0) << finished.err;
  EXPECT_EQ(ParseOut(finished)["run"]["status"], "COMPLETED");
  EXPECT_EQ(Cli({"run", "resume", "gate-1"}).code, 1)
      << "completed: not resumable";

  ASSERT_EQ(Cli({"run", "start", "gate", "--run-id", "gate-2"}).code, 0);
  CliResult cancelled = Cli({"run", "cancel", "gate-2", "--reason", "test"});
  EXPECT_EQ(cancelled.code, 0) << cancelled.err;
  CliResult waited = Cli(
      {"-o", "json", "run", "start", "gate", "--run-id", "gate-2", "--wait"});
  EXPECT_EQ(waited.code, 1);
  EXPECT_EQ(ParseOut(waited)["run"]["status"], "CANCELLED");

  EXPECT_EQ(Cli({"run", "show", "no-such-run"}).code, 1);
  EXPECT_EQ(Cli({"run", "start", "gate", "--input", "{nope"}).code, 2);
  EXPECT_EQ(Cli({"run", "signal", "gate-2", "go"}).code, 1)
      << "ended: no signals";
}

TEST_F(ServerCliTest, KillNineMidRunThenRestartFinishesEveryTrip) {
  ASSERT_EQ(
      Cli({"workflow", "register", SourceDir() + "/samples/trip_booking.json"})
          .code,
      0);
  auto worker = StartWorker({"--delay", "100ms", "--concurrency", "8"});
  std::vector<std::string> ids;
  for (int i = 0; i < 6; ++i) {
    const std::string id = "trip-" + std::to_string(i);
    ASSERT_EQ(Cli({"run", "start", "trip_booking", "--run-id", id, "--input",
                   Trip("K" + std::to_string(i)).dump()})
                  .code,
              0);
    ids.push_back(id);
  }
  // Kill once some bookings happened but before every trip is done.
  ASSERT_TRUE(Eventually([&] { return ReadEffects(effects_).size() >= 4; }));
  server_.Kill9();
  server_.Start();
  for (const std::string& id : ids) {
    CliResult waited = Cli({"-o", "json", "run", "start", "trip_booking",
                            "--run-id", id, "--wait"});
    EXPECT_EQ(waited.code, 0) << id << ": " << waited.out << waited.err;
    EXPECT_EQ(ParseOut(waited)["run"]["status"], "COMPLETED") << id;
  }
  // Every trip has one booking of each kind that the run's output names.
  std::map<std::string, std::set<std::string>> booked;
  for (const json& e : ReadEffects(effects_)) {
    if (e["outcome"] == "completed" && !e["booking_id"].is_null()) {
      booked[e["run_id"]].insert(e["booking_id"].get<std::string>());
    }
  }
  for (const std::string& id : ids) {
    CliResult shown = Cli({"-o", "json", "run", "show", id});
    json output = ParseOut(shown)["output"];
    for (const char* key :
         {"flight_booking_id", "hotel_booking_id", "car_booking_id"}) {
      EXPECT_TRUE(booked[id].count(output[key].get<std::string>()))
          << id << " " << key;
    }
  }
  EXPECT_EQ(worker->Terminate(), 0);
}

}  // namespace
}  // namespace sagaflow::testing
