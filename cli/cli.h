// The `sagaflow` command-line tool. Main() parses the command line and
// dispatches; each command returns one of the exit codes below. Commands that
// need no server (validate, workflow graph of a file) live in
// offline_commands.cc, those that talk to sagaflowd in server_commands.cc
// (over client.h; what they print is in render.h). docs/CLI.md describes them.
#ifndef SAGAFLOW_CLI_CLI_H_
#define SAGAFLOW_CLI_CLI_H_

#include <iosfwd>
#include <string>

namespace sagaflow::cli {

// CONTRACT.md §3.
enum ExitCode : int {
  kExitOk = 0,
  kExitFailed =
      1,  // The operation failed, or a waited-for run did not end COMPLETED.
  kExitUsage = 2,        // Usage error, or an invalid definition or input.
  kExitUnreachable = 3,  // The server could not be reached.
};

enum class OutputFormat { kTable, kJson };

// What every command sees: global options and where to write.
struct Globals {
  std::string server = "127.0.0.1:7600";
  OutputFormat output = OutputFormat::kTable;
  std::ostream* out;
  std::ostream* err;
};

// Runs the CLI with `argv`, writing to `out` and `err`; returns the process
// exit code.
int Main(int argc, const char* const* argv, std::ostream& out,
         std::ostream& err);

}  // namespace sagaflow::cli

#endif  // SAGAFLOW_CLI_CLI_H_
