// sagaflowd's configuration: command-line flags, each with an environment
// variable (the flag wins when both are given). docs/SERVER.md lists them.
#ifndef SAGAFLOW_SERVER_OPTIONS_H_
#define SAGAFLOW_SERVER_OPTIONS_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/time.h"
#include "dsl/limits.h"
#include "persistence/store.h"

namespace sagaflow::persistence {
struct RocksDbOptions;  // persistence/rocksdb_store.h
}  // namespace sagaflow::persistence

namespace sagaflow::activities {
class ActivityRegistry;
}

namespace sagaflow::server {

// Adds a program's own in-process activities to the server's registry
// (docs/ACTIVITIES.md); an error stops the server from starting.
using RegisterActivities =
    std::function<Status(activities::ActivityRegistry& registry)>;

enum class LogFormat { kText, kJson };

struct ServerOptions {
  std::string listen = "127.0.0.1:7600";  // Port 0 picks a free port.
  std::string data_dir = "sagaflow-data";
  persistence::Durability durability = persistence::Durability::kGroup;
  size_t partitions = 2;
  size_t agent_threads = 4;
  dsl::Limits limits;
  uint32_t max_step_transitions = 10'000;
  uint64_t max_history_events = 50'000;
  // PollTask: the wait when a request asks for 0, and the longest granted.
  Duration default_poll_wait = std::chrono::seconds(30);
  Duration max_poll_wait = std::chrono::minutes(5);
  // On SIGTERM/SIGINT: how long in-flight calls may take to finish.
  Duration grace_period = std::chrono::seconds(10);
  std::string log_level = "info";
  LogFormat log_format = LogFormat::kText;
  std::string metrics_listen;  // Empty: no metrics endpoint.
  std::string port_file;       // Written with the bound address once serving.
  // Programs and directories builtin.exec may run; empty: exec is off.
  std::vector<std::string> allow_exec;
  // Not a flag: set by a program that embeds the server.
  RegisterActivities register_activities;
  // Not a flag: adjusts the store's options before it opens (tests put a
  // fault-injecting file system there; RocksDbOptions documents the rest).
  std::function<void(persistence::RocksDbOptions&)> tune_store;
};

// What parsing the command line decided.
struct ParsedCommandLine {
  ServerOptions options;
  bool exit_now = false;  // --help or --version was answered.
  int exit_code = 0;
  std::string text;  // Help or error text to print.
};

// Parses sagaflowd's command line and environment. Never throws.
ParsedCommandLine ParseCommandLine(int argc, const char* const* argv);

}  // namespace sagaflow::server

#endif  // SAGAFLOW_SERVER_OPTIONS_H_
