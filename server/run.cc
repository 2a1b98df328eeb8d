#include "server/run.h"

#include <pthread.h>
#include <signal.h>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <fstream>
#include <iostream>

#include "server/logging.h"
#include "server/server.h"

namespace sagaflow::server {
namespace {

// Written whole under a temporary name, then renamed: a reader never sees a
// partial address.
bool WritePortFile(const std::string& path, const std::string& address) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << address << "\n";
    if (!out) return false;
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  return !ec;
}

}  // namespace

int RunSagaflowd(int argc, const char* const* argv,
                 RegisterActivities register_activities) {
  ParsedCommandLine parsed = ParseCommandLine(argc, argv);
  if (parsed.exit_now) {
    (parsed.exit_code == 0 ? std::cout : std::cerr) << parsed.text;
    return parsed.exit_code;
  }
  parsed.options.register_activities = std::move(register_activities);
  const ServerOptions& options = parsed.options;
  // SIGTERM and SIGINT are blocked in every thread (threads inherit the mask)
  // and taken synchronously below, so no handler runs in a signal context.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  SetUpLogging(options);
  auto server = Server::Start(options);
  if (!server.ok()) {
    spdlog::error("cannot start: {}", server.status().ToString());
    return 1;
  }
  spdlog::info(
      "serving on {} (data {}, durability {}{})", (*server)->address(),
      options.data_dir, persistence::DurabilityName(options.durability),
      (*server)->metrics_port() != 0
          ? ", metrics on port " + std::to_string((*server)->metrics_port())
          : std::string());
  if (!options.port_file.empty() &&
      !WritePortFile(options.port_file, (*server)->address())) {
    spdlog::error("cannot write the port file {}", options.port_file);
    (*server)->Stop(Duration(0));
    return 1;
  }

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  spdlog::info("{} received: stopping, in-flight calls have {}",
               signal_number == SIGTERM ? "SIGTERM" : "SIGINT",
               FormatDuration(options.grace_period));
  (*server)->Stop(options.grace_period);
  spdlog::info("stopped");
  return 0;
}

}  // namespace sagaflow::server
