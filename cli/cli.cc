#include "cli/cli.h"

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <ostream>
#include <vector>

#include "cli/offline_commands.h"

namespace sagaflow::cli {

int Main(int argc, const char* const* argv, std::ostream& out,
         std::ostream& err) {
  Globals globals;
  globals.out = &out;
  globals.err = &err;
  if (const char* env = std::getenv("SAGAFLOW_SERVER"); env && *env)
    globals.server = env;

  CLI::App app{"sagaflow: durable workflows with sagas", "sagaflow"};
  app.require_subcommand(1);
  app.fallthrough();
  std::string output = "table";
  app.add_option(
      "--server", globals.server,
      "Server address (default 127.0.0.1:7600, or $SAGAFLOW_SERVER)");
  app.add_option("-o,--output", output, "Output format: table or json")
      ->check(CLI::IsMember({"table", "json"}));

  std::vector<std::string> validate_files;
  CLI::App* validate =
      app.add_subcommand("validate", "Check workflow definition files offline");
  validate->add_option("files", validate_files, "Definition files")->required();

  CLI::App* workflow = app.add_subcommand("workflow", "Workflow definitions");
  workflow->require_subcommand(1);
  std::string graph_target;
  std::string graph_format = "mermaid";
  CLI::App* graph =
      workflow->add_subcommand("graph", "Draw a workflow's state machine");
  graph->add_option("file", graph_target, "Definition file")->required();
  graph->add_option("--format", graph_format, "mermaid or dot")
      ->check(CLI::IsMember({"mermaid", "dot"}));
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    out << app.help();
    return kExitOk;
  } catch (const CLI::CallForAllHelp&) {
    out << app.help("", CLI::AppFormatMode::All);
    return kExitOk;
  } catch (const CLI::ParseError& e) {
    err << "error: " << e.what() << "\n"
        << "run 'sagaflow --help' for usage\n";
    return kExitUsage;
  }
  globals.output =
      output == "json" ? OutputFormat::kJson : OutputFormat::kTable;
  if (validate->parsed()) return ValidateFiles(globals, validate_files);
  if (graph->parsed()) return GraphFile(globals, graph_target, graph_format);
  err << "error: no command given; run 'sagaflow --help'\n";
  return kExitUsage;
}

}  // namespace sagaflow::cli
