#include "server/options.h"

#include <CLI/CLI.hpp>

namespace sagaflow::server {
namespace {

// A CLI11 validator for sagaflow durations ("250ms", "10s", "5m").
CLI::Validator DurationValidator() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        auto parsed = ParseDuration(text);
        return parsed.ok() ? std::string() : parsed.status().message();
      },
      "DURATION");
}

Duration ParsedDuration(const std::string& text, Duration fallback) {
  auto parsed = ParseDuration(text);
  return parsed.ok() ? *parsed : fallback;
}

}  // namespace

ParsedCommandLine ParseCommandLine(int argc, const char* const* argv) {
  ParsedCommandLine parsed;
  ServerOptions& o = parsed.options;
  CLI::App app{"sagaflowd: the sagaflow workflow server", "sagaflowd"};
  app.set_version_flag("--version", "sagaflowd 0.1.0");
  std::string durability = "group";
  std::string log_format = "text";
  std::string default_poll_wait = "30s";
  std::string max_poll_wait = "5m";
  std::string grace = "10s";

  app.add_option("--listen", o.listen, "gRPC address (port 0: any free port)")
      ->envname("SAGAFLOW_LISTEN")
      ->capture_default_str();
  app.add_option("--data-dir", o.data_dir, "Directory of the embedded store")
      ->envname("SAGAFLOW_DATA_DIR")
      ->capture_default_str();
  app.add_option("--durability", durability,
                 "sync, group (fsync shared by concurrent commits) or none")
      ->envname("SAGAFLOW_DURABILITY")
      ->check(CLI::IsMember({"sync", "group", "none"}))
      ->capture_default_str();
  app.add_option("--partitions", o.partitions, "Scheduler threads")
      ->envname("SAGAFLOW_PARTITIONS")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  app.add_option("--agent-threads", o.agent_threads,
                 "Threads running in-process activities")
      ->envname("SAGAFLOW_AGENT_THREADS")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  app.add_option("--max-definition-bytes", o.limits.max_definition_bytes,
                 "Largest workflow definition")
      ->envname("SAGAFLOW_MAX_DEFINITION_BYTES")
      ->check(CLI::Range(size_t{1024}, size_t{64} << 20))
      ->capture_default_str();
  app.add_option("--max-payload-bytes", o.limits.max_payload_bytes,
                 "Largest run input, step output or signal payload")
      ->envname("SAGAFLOW_MAX_PAYLOAD_BYTES")
      ->check(CLI::Range(size_t{1024}, size_t{64} << 20))
      ->capture_default_str();
  app.add_option("--max-steps", o.limits.max_steps,
                 "Most steps in a definition")
      ->envname("SAGAFLOW_MAX_STEPS")
      ->check(CLI::Range(1, 100'000))
      ->capture_default_str();
  app.add_option("--max-json-depth", o.limits.max_json_depth,
                 "Deepest JSON nesting accepted")
      ->envname("SAGAFLOW_MAX_JSON_DEPTH")
      ->check(CLI::Range(4, 1024))
      ->capture_default_str();
  app.add_option("--max-step-transitions", o.max_step_transitions,
                 "Steps a run may start before it fails")
      ->envname("SAGAFLOW_MAX_STEP_TRANSITIONS")
      ->check(CLI::Range(1, 100'000'000))
      ->capture_default_str();
  app.add_option("--max-history-events", o.max_history_events,
                 "History events after which a run fails")
      ->envname("SAGAFLOW_MAX_HISTORY_EVENTS")
      ->check(CLI::Range(16, 100'000'000))
      ->capture_default_str();
  app.add_option("--default-poll-wait", default_poll_wait,
                 "PollTask wait when a worker asks for 0")
      ->envname("SAGAFLOW_DEFAULT_POLL_WAIT")
      ->check(DurationValidator())
      ->capture_default_str();
  app.add_option("--max-poll-wait", max_poll_wait, "Longest PollTask wait")
      ->envname("SAGAFLOW_MAX_POLL_WAIT")
      ->check(DurationValidator())
      ->capture_default_str();
  app.add_option("--grace-period", grace,
                 "On SIGTERM/SIGINT, how long in-flight calls may finish")
      ->envname("SAGAFLOW_GRACE_PERIOD")
      ->check(DurationValidator())
      ->capture_default_str();
  app.add_option("--log-level", o.log_level,
                 "trace, debug, info, warn, error or off")
      ->envname("SAGAFLOW_LOG_LEVEL")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}))
      ->capture_default_str();
  app.add_option("--log-format", log_format, "text or json (one object/line)")
      ->envname("SAGAFLOW_LOG_FORMAT")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  app.add_option("--metrics-listen", o.metrics_listen,
                 "Prometheus /metrics HTTP address (empty: off)")
      ->envname("SAGAFLOW_METRICS_LISTEN");
  app.add_option("--allow-exec", o.allow_exec,
                 "Programs or directories builtin.exec may run (comma-"
                 "separated; default: exec is off)")
      ->envname("SAGAFLOW_ALLOW_EXEC")
      ->delimiter(',');
  app.add_option("--port-file", o.port_file,
                 "Write the bound gRPC address here once serving")
      ->envname("SAGAFLOW_PORT_FILE");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    parsed.exit_now = true;
    parsed.text = app.help();
    return parsed;
  } catch (const CLI::CallForVersion&) {
    parsed.exit_now = true;
    parsed.text = app.version() + "\n";
    return parsed;
  } catch (const CLI::ParseError& e) {
    parsed.exit_now = true;
    parsed.exit_code = 2;
    parsed.text = std::string("sagaflowd: ") + e.what() +
                  "\nrun 'sagaflowd --help' for usage\n";
    return parsed;
  }
  o.durability =
      persistence::ParseDurability(durability).value_or(o.durability);
  o.log_format = log_format == "json" ? LogFormat::kJson : LogFormat::kText;
  o.default_poll_wait = ParsedDuration(default_poll_wait, o.default_poll_wait);
  o.max_poll_wait = ParsedDuration(max_poll_wait, o.max_poll_wait);
  o.grace_period = ParsedDuration(grace, o.grace_period);
  if (o.default_poll_wait > o.max_poll_wait) {
    o.default_poll_wait = o.max_poll_wait;
  }
  return parsed;
}

}  // namespace sagaflow::server
