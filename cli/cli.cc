#include "cli/cli.h"

#include <CLI/CLI.hpp>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <limits>
#include <optional>
#include <ostream>
#include <utility>
#include <vector>

#include "cli/offline_commands.h"
#include "cli/server_commands.h"

namespace sagaflow::cli {
namespace {

// A subcommand and what to do when it is the one given.
struct Command {
  CLI::App* app;
  std::function<int()> run;
};

CLI::Option* AddVersionOption(CLI::App* app, uint32_t* version,
                              const std::string& help) {
  return app->add_option("--version", *version, help)
      ->check(CLI::Range(uint32_t{1}, std::numeric_limits<uint32_t>::max()));
}

void AddPageOptions(CLI::App* app, PageArgs* page) {
  app->add_option("--limit", page->limit,
                  "At most N results (default: the server's page size)")
      ->check(CLI::Range(1, 100000));
  app->add_option("--page-token", page->page_token,
                  "Continue after a previous page (its next_page_token)");
}

// Sets `*target` when the option was given; CLI11 2.1 has no std::optional.
void AddOptionalString(CLI::App* app, const std::string& name,
                       std::optional<std::string>* target,
                       const std::string& help) {
  app->add_option_function<std::string>(
      name, [target](const std::string& value) { *target = value; }, help);
}

// The spec flags of `schedule create` and `schedule update`. `paused` is read
// after parsing (a flag, so that `--paused=false` works in an update).
void AddScheduleSpecOptions(CLI::App* app, ScheduleSpecArgs* args, bool* paused,
                            CLI::Option** paused_option, bool create) {
  AddOptionalString(
      app, "--workflow", &args->workflow,
      create ? "Workflow to start (required)" : "Workflow to start");
  app->add_option_function<uint32_t>(
      "--version", [args](const uint32_t& v) { args->version = v; },
      "Workflow version (default: the latest at each fire; 0 = latest)");
  AddOptionalString(app, "--input", &args->input,
                    "Input of every run as JSON (default {})");
  AddOptionalString(app, "--input-file", &args->input_file,
                    "Read the input from a file ('-': stdin)");
  app->get_option("--input")->excludes("--input-file");
  AddOptionalString(app, "--cron", &args->cron,
                    "Cron expression, 5 fields or @daily etc." +
                        std::string(create ? "" : " (replaces an interval)"));
  AddOptionalString(app, "--interval", &args->interval,
                    "Fixed interval, e.g. 5m" +
                        std::string(create ? "" : " (replaces a cron)"));
  AddOptionalString(app, "--overlap", &args->overlap,
                    "While the last run goes on: skip (default), buffer_one, "
                    "allow_all or cancel_other");
  AddOptionalString(app, "--timezone", &args->timezone,
                    "IANA zone the cron expression is read in (default UTC; "
                    "\"\" clears)");
  AddOptionalString(app, "--catchup-window", &args->catchup_window,
                    "How late a missed fire may still run (default 1h; \"\" "
                    "resets)");
  AddOptionalString(app, "--start-time", &args->start_time,
                    "No fire before this RFC 3339 time (\"\" clears)");
  AddOptionalString(app, "--end-time", &args->end_time,
                    "No fire after this RFC 3339 time (\"\" clears)");
  *paused_option = app->add_flag(
      "--paused", *paused,
      create ? "Create it paused" : "Pause it (--paused=false unpauses)");
  AddOptionalString(app, "--note", &args->note,
                    "Free text, e.g. why it is paused");
}

}  // namespace

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
  std::vector<Command> commands;

  // validate
  std::vector<std::string> validate_files;
  CLI::App* validate =
      app.add_subcommand("validate", "Check workflow definition files offline");
  validate->add_option("files", validate_files, "Definition files")->required();
  commands.push_back(
      {validate, [&] { return ValidateFiles(globals, validate_files); }});

  // workflow ...
  CLI::App* workflow = app.add_subcommand("workflow", "Workflow definitions");
  workflow->require_subcommand(1);

  std::string register_file;
  CLI::App* register_cmd = workflow->add_subcommand(
      "register", "Register a definition (a new version when it changed)");
  register_cmd->add_option("file", register_file, "Definition file")
      ->required();
  commands.push_back({register_cmd, [&] {
                        return RegisterWorkflowCommand(globals, register_file);
                      }});

  PageArgs workflow_page;
  CLI::App* workflow_list =
      workflow->add_subcommand("list", "List registered workflows");
  AddPageOptions(workflow_list, &workflow_page);
  commands.push_back({workflow_list, [&] {
                        return ListWorkflowsCommand(globals, workflow_page);
                      }});

  std::string show_name;
  uint32_t show_version = 0;
  CLI::App* workflow_show = workflow->add_subcommand(
      "show", "Show a registered workflow and its definition");
  workflow_show->add_option("name", show_name, "Workflow name")->required();
  AddVersionOption(workflow_show, &show_version, "Version (default: latest)");
  commands.push_back(
      {workflow_show,
       [&] { return ShowWorkflowCommand(globals, show_name, show_version); }});

  std::string graph_target;
  std::string graph_format = "mermaid";
  uint32_t graph_version = 0;
  CLI::App* graph = workflow->add_subcommand(
      "graph",
      "Draw a workflow's state machine (a file, or a registered name)");
  graph->add_option("target", graph_target, "Definition file or workflow name")
      ->required();
  graph->add_option("--format", graph_format, "mermaid or dot")
      ->check(CLI::IsMember({"mermaid", "dot"}));
  AddVersionOption(graph, &graph_version,
                   "Version of a registered workflow (default: latest)");
  commands.push_back({graph, [&] {
                        return GraphWorkflowCommand(
                            globals, graph_target, graph_version, graph_format);
                      }});

  // run ...
  CLI::App* run = app.add_subcommand("run", "Workflow runs");
  run->require_subcommand(1);

  RunStartArgs start;
  CLI::App* run_start = run->add_subcommand("start", "Start a run");
  run_start->add_option("workflow", start.workflow, "Workflow name")
      ->required();
  AddVersionOption(run_start, &start.version, "Version (default: latest)");
  AddOptionalString(run_start, "--input", &start.input,
                    "Run input as JSON (default {})");
  AddOptionalString(run_start, "--input-file", &start.input_file,
                    "Read the run input from a file ('-': stdin)");
  run_start->get_option("--input")->excludes("--input-file");
  run_start->add_option("--run-id", start.run_id,
                        "Client-chosen run id: starting it again returns the "
                        "existing run");
  run_start->add_flag("--wait", start.wait,
                      "Wait until the run stops; exit 0 only if it COMPLETED");
  run_start->add_flag("--follow", start.follow,
                      "Like --wait, printing each event as it happens");
  run_start->add_option("--wait-timeout", start.wait_args.wait_timeout,
                        "Give up waiting after this long, e.g. 10m (default: "
                        "no limit)");
  AddOptionalString(run_start, "--delay", &start.delay,
                    "Start the first step after this long, e.g. 10m");
  AddOptionalString(run_start, "--at", &start.at,
                    "Start the first step at this RFC 3339 time");
  commands.push_back(
      {run_start, [&] { return StartRunCommand(globals, start); }});

  RunListArgs list;
  CLI::App* run_list = run->add_subcommand("list", "List runs");
  run_list->add_option("--workflow", list.workflow, "Only runs of a workflow");
  run_list->add_option("--status", list.status,
                       "Only runs in a status (RUNNING, COMPLETED, ...)");
  AddPageOptions(run_list, &list.page);
  commands.push_back(
      {run_list, [&] { return ListRunsCommand(globals, list); }});

  std::string run_id;
  CLI::App* run_show =
      run->add_subcommand("show", "Show a run's status card and its steps");
  run_show->add_option("run_id", run_id, "Run id")->required();
  commands.push_back(
      {run_show, [&] { return ShowRunCommand(globals, run_id); }});

  bool history_follow = false;
  WaitArgs history_wait;
  CLI::App* run_history =
      run->add_subcommand("history", "Show a run's history events");
  run_history->add_option("run_id", run_id, "Run id")->required();
  run_history->add_flag("--follow", history_follow,
                        "Keep printing events until the run stops");
  run_history->add_option("--wait-timeout", history_wait.wait_timeout,
                          "With --follow: give up after this long");
  commands.push_back({run_history, [&] {
                        return RunHistoryCommand(globals, run_id,
                                                 history_follow, history_wait);
                      }});

  CLI::App* run_resume = run->add_subcommand(
      "resume", "Continue a SUSPENDED, FAILED or COMPENSATION_FAILED run");
  run_resume->add_option("run_id", run_id, "Run id")->required();
  commands.push_back(
      {run_resume, [&] { return ResumeRunCommand(globals, run_id); }});

  std::string cancel_reason;
  CLI::App* run_cancel = run->add_subcommand(
      "cancel", "Cancel a run (it compensates, then ends CANCELLED)");
  run_cancel->add_option("run_id", run_id, "Run id")->required();
  run_cancel->add_option("--reason", cancel_reason, "Recorded in the history");
  commands.push_back({run_cancel, [&] {
                        return CancelRunCommand(globals, run_id, cancel_reason);
                      }});

  std::string signal_name;
  std::optional<std::string> signal_payload;
  CLI::App* run_signal =
      run->add_subcommand("signal", "Send a named signal to a run");
  run_signal->add_option("run_id", run_id, "Run id")->required();
  run_signal->add_option("name", signal_name, "Signal name")->required();
  AddOptionalString(run_signal, "--payload", &signal_payload,
                    "Payload as JSON (default null)");
  commands.push_back({run_signal, [&] {
                        return SignalRunCommand(globals, run_id, signal_name,
                                                signal_payload);
                      }});

  // schedule ...
  CLI::App* schedule =
      app.add_subcommand("schedule",
                         "Schedules: start runs on a cron or an "
                         "interval");
  schedule->require_subcommand(1);

  std::string schedule_id;
  ScheduleSpecArgs create_args;
  bool create_paused = false;
  CLI::Option* create_paused_option = nullptr;
  CLI::App* schedule_create =
      schedule->add_subcommand("create", "Create a schedule");
  schedule_create->add_option("schedule_id", schedule_id, "Schedule id")
      ->required();
  AddScheduleSpecOptions(schedule_create, &create_args, &create_paused,
                         &create_paused_option, true);
  commands.push_back({schedule_create, [&] {
                        if (create_paused_option->count() > 0)
                          create_args.paused = create_paused;
                        return CreateScheduleCommand(globals, schedule_id,
                                                     create_args);
                      }});

  PageArgs schedule_page;
  CLI::App* schedule_list = schedule->add_subcommand("list", "List schedules");
  AddPageOptions(schedule_list, &schedule_page);
  commands.push_back({schedule_list, [&] {
                        return ListSchedulesCommand(globals, schedule_page);
                      }});

  CLI::App* schedule_show = schedule->add_subcommand(
      "show", "Show a schedule, its state and its recent actions");
  schedule_show->add_option("schedule_id", schedule_id, "Schedule id")
      ->required();
  commands.push_back({schedule_show, [&] {
                        return ShowScheduleCommand(globals, schedule_id);
                      }});

  ScheduleSpecArgs update_args;
  bool update_paused = false;
  CLI::Option* update_paused_option = nullptr;
  CLI::App* schedule_update = schedule->add_subcommand(
      "update", "Change the given fields of a schedule");
  schedule_update->add_option("schedule_id", schedule_id, "Schedule id")
      ->required();
  AddScheduleSpecOptions(schedule_update, &update_args, &update_paused,
                         &update_paused_option, false);
  commands.push_back({schedule_update, [&] {
                        if (update_paused_option->count() > 0)
                          update_args.paused = update_paused;
                        return UpdateScheduleCommand(globals, schedule_id,
                                                     update_args);
                      }});

  std::string pause_note;
  CLI::App* schedule_pause =
      schedule->add_subcommand("pause", "Pause a schedule: it fires nothing");
  schedule_pause->add_option("schedule_id", schedule_id, "Schedule id")
      ->required();
  schedule_pause->add_option("--note", pause_note, "Why it is paused");
  commands.push_back({schedule_pause, [&] {
                        return PauseScheduleCommand(globals, schedule_id, true,
                                                    pause_note);
                      }});

  CLI::App* schedule_unpause = schedule->add_subcommand(
      "unpause", "Unpause a schedule (missed fire times are not caught up)");
  schedule_unpause->add_option("schedule_id", schedule_id, "Schedule id")
      ->required();
  schedule_unpause->add_option("--note", pause_note, "Replaces the note");
  commands.push_back({schedule_unpause, [&] {
                        return PauseScheduleCommand(globals, schedule_id, false,
                                                    pause_note);
                      }});

  CLI::App* schedule_delete = schedule->add_subcommand(
      "delete", "Delete a schedule (the runs it started stay)");
  schedule_delete->add_option("schedule_id", schedule_id, "Schedule id")
      ->required();
  commands.push_back({schedule_delete, [&] {
                        return DeleteScheduleCommand(globals, schedule_id);
                      }});

  std::optional<std::string> trigger_overlap;
  CLI::App* schedule_trigger = schedule->add_subcommand(
      "trigger", "Fire a schedule now (also when paused)");
  schedule_trigger->add_option("schedule_id", schedule_id, "Schedule id")
      ->required();
  AddOptionalString(schedule_trigger, "--overlap", &trigger_overlap,
                    "Overlap policy for this fire (default: the schedule's)");
  commands.push_back({schedule_trigger, [&] {
                        return TriggerScheduleCommand(globals, schedule_id,
                                                      trigger_overlap);
                      }});

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
  for (const Command& command : commands) {
    if (command.app->parsed()) return command.run();
  }
  err << "error: no command given; run 'sagaflow --help'\n";
  return kExitUsage;
}

}  // namespace sagaflow::cli
