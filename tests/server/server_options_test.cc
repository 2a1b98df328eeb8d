// sagaflowd's configuration: every flag has a SAGAFLOW_* environment variable,
// a flag given on the command line wins over its variable, and a bad value in
// either is refused with exit 2 naming the option. Also the JSON log format,
// one object per line, from the real server.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "server/options.h"
#include "tests/server/server_harness.h"

namespace sagaflow::testing {
namespace {

using server::LogFormat;
using server::ParseCommandLine;
using server::ParsedCommandLine;

// Sets environment variables for one test and removes them after it.
class ScopedEnv {
 public:
  void Set(const std::string& name, const std::string& value) {
    ASSERT_EQ(setenv(name.c_str(), value.c_str(), 1), 0);
    names_.push_back(name);
  }
  ~ScopedEnv() {
    for (const std::string& name : names_) unsetenv(name.c_str());
  }

 private:
  std::vector<std::string> names_;
};

ParsedCommandLine Parse(std::vector<const char*> args) {
  args.insert(args.begin(), "sagaflowd");
  return ParseCommandLine(static_cast<int>(args.size()), args.data());
}

TEST(ServerOptionsTest, EveryOptionComesFromTheEnvironment) {
  ScopedEnv env;
  env.Set("SAGAFLOW_LISTEN", "0.0.0.0:7700");
  env.Set("SAGAFLOW_DATA_DIR", "/var/lib/sagaflow");
  env.Set("SAGAFLOW_DURABILITY", "sync");
  env.Set("SAGAFLOW_PARTITIONS", "8");
  env.Set("SAGAFLOW_AGENT_THREADS", "16");
  env.Set("SAGAFLOW_MAX_PAYLOAD_BYTES", "65536");
  env.Set("SAGAFLOW_MAX_HISTORY_EVENTS", "1000");
  env.Set("SAGAFLOW_MAX_POLL_WAIT", "1m");
  env.Set("SAGAFLOW_GRACE_PERIOD", "2s");
  env.Set("SAGAFLOW_LOG_LEVEL", "debug");
  env.Set("SAGAFLOW_LOG_FORMAT", "json");
  env.Set("SAGAFLOW_METRICS_LISTEN", "127.0.0.1:9100");
  env.Set("SAGAFLOW_ALLOW_EXEC", "/usr/bin/tr,/opt/tools");
  const ParsedCommandLine parsed = Parse({});
  ASSERT_FALSE(parsed.exit_now) << parsed.text;
  const server::ServerOptions& o = parsed.options;
  EXPECT_EQ(o.listen, "0.0.0.0:7700");
  EXPECT_EQ(o.data_dir, "/var/lib/sagaflow");
  EXPECT_EQ(o.durability, persistence::Durability::kSync);
  EXPECT_EQ(o.partitions, 8u);
  EXPECT_EQ(o.agent_threads, 16u);
  EXPECT_EQ(o.limits.max_payload_bytes, 65536u);
  EXPECT_EQ(o.max_history_events, 1000u);
  EXPECT_EQ(o.max_poll_wait, std::chrono::minutes(1));
  // The default wait (30 s) stays below the longest one.
  EXPECT_EQ(o.default_poll_wait, std::chrono::seconds(30));
  EXPECT_EQ(o.grace_period, std::chrono::seconds(2));
  EXPECT_EQ(o.log_level, "debug");
  EXPECT_EQ(o.log_format, LogFormat::kJson);
  EXPECT_EQ(o.metrics_listen, "127.0.0.1:9100");
  EXPECT_THAT(o.allow_exec,
              ::testing::ElementsAre("/usr/bin/tr", "/opt/tools"));
}

TEST(ServerOptionsTest, AFlagWinsOverItsVariable) {
  ScopedEnv env;
  env.Set("SAGAFLOW_DURABILITY", "none");
  env.Set("SAGAFLOW_LISTEN", "0.0.0.0:7700");
  const ParsedCommandLine parsed =
      Parse({"--durability", "group", "--listen", "127.0.0.1:0"});
  ASSERT_FALSE(parsed.exit_now) << parsed.text;
  EXPECT_EQ(parsed.options.durability, persistence::Durability::kGroup);
  EXPECT_EQ(parsed.options.listen, "127.0.0.1:0");
}

TEST(ServerOptionsTest, BadValuesAreRefusedNamingTheOption) {
  {
    ScopedEnv env;
    env.Set("SAGAFLOW_DURABILITY", "fast");
    const ParsedCommandLine parsed = Parse({});
    EXPECT_TRUE(parsed.exit_now);
    EXPECT_EQ(parsed.exit_code, 2);
    EXPECT_THAT(parsed.text, ::testing::HasSubstr("--durability"));
    EXPECT_THAT(parsed.text, ::testing::HasSubstr("fast"));
  }
  const ParsedCommandLine bad_duration = Parse({"--grace-period", "soon"});
  EXPECT_EQ(bad_duration.exit_code, 2);
  EXPECT_THAT(bad_duration.text, ::testing::HasSubstr("--grace-period"));
  const ParsedCommandLine bad_range = Parse({"--partitions", "0"});
  EXPECT_EQ(bad_range.exit_code, 2);
  EXPECT_THAT(bad_range.text, ::testing::HasSubstr("--partitions"));
}

TEST(ServerOptionsTest, JsonLogsAreOneObjectPerLine) {
  ServerProcess server({"--log-format", "json"});
  server.Start();
  ASSERT_EQ(server.Terminate(), 0) << server.Log();
  std::istringstream log(server.Log());
  std::string line;
  int lines = 0;
  bool saw_sigterm = false;
  while (std::getline(log, line)) {
    if (line.empty()) continue;
    ++lines;
    const nlohmann::json entry = nlohmann::json::parse(line, nullptr, false);
    ASSERT_TRUE(entry.is_object()) << "not a JSON object: " << line;
    EXPECT_TRUE(entry["time"].is_string()) << line;
    EXPECT_TRUE(entry["level"].is_string()) << line;
    ASSERT_TRUE(entry["msg"].is_string()) << line;
    if (entry["msg"].get<std::string>().find("SIGTERM received") !=
        std::string::npos) {
      saw_sigterm = true;
    }
  }
  EXPECT_GT(lines, 2);
  EXPECT_TRUE(saw_sigterm) << server.Log();
}

}  // namespace
}  // namespace sagaflow::testing
