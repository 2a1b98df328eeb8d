// The commands that talk to sagaflowd (CONTRACT.md §3): workflow register,
// list, show and graph by name; run start, list, show, history, resume,
// cancel and signal; schedule create, list, show, update, pause, unpause,
// delete and trigger. Each returns an exit code; in JSON output each prints one
// document on stdout, or nothing when it fails (errors go to stderr).
#ifndef SAGAFLOW_CLI_SERVER_COMMANDS_H_
#define SAGAFLOW_CLI_SERVER_COMMANDS_H_

#include <cstdint>
#include <optional>
#include <string>

#include "cli/cli.h"

namespace sagaflow::cli {

// Paging of the list commands; 0 and "" leave them to the server.
struct PageArgs {
  int limit = 0;
  std::string page_token;
};

// How long --wait, --follow and `history --follow` may take in total,
// reconnections included; empty means as long as the run runs.
struct WaitArgs {
  std::string wait_timeout;
};

struct RunStartArgs {
  std::string workflow;
  uint32_t version = 0;  // 0: the latest.
  std::optional<std::string> input;
  std::optional<std::string> input_file;  // "-" reads stdin.
  std::string run_id;
  bool wait = false;
  bool follow = false;
  WaitArgs wait_args;
  // A delayed start, at most one of the two: a duration ("10m") or an RFC
  // 3339 timestamp.
  std::optional<std::string> delay;
  std::optional<std::string> at;
};

struct RunListArgs {
  std::string workflow;
  std::string status;  // A RunStatus name without prefix; "" for any.
  PageArgs page;
};

// The spec flags of `schedule create` and `schedule update`, as given (unset
// when absent). Create needs workflow and one of cron and interval; update
// changes only what is set. An empty timezone, catchup_window, start_time,
// end_time or note clears the field.
struct ScheduleSpecArgs {
  std::optional<std::string> workflow;
  std::optional<uint32_t> version;  // 0: the latest at each fire.
  std::optional<std::string> input;
  std::optional<std::string> input_file;  // "-" reads stdin.
  std::optional<std::string> cron;
  std::optional<std::string> interval;
  std::optional<std::string> overlap;
  std::optional<std::string> timezone;
  std::optional<std::string> catchup_window;
  std::optional<std::string> start_time;
  std::optional<std::string> end_time;
  std::optional<bool> paused;
  std::optional<std::string> note;
};

int RegisterWorkflowCommand(const Globals& globals, const std::string& file);
int ListWorkflowsCommand(const Globals& globals, const PageArgs& page);
int ShowWorkflowCommand(const Globals& globals, const std::string& name,
                        uint32_t version);
// A target naming an existing file (or any path with a '/') is graphed
// offline; anything else is a registered workflow's name.
int GraphWorkflowCommand(const Globals& globals, const std::string& target,
                         uint32_t version, const std::string& format);

int StartRunCommand(const Globals& globals, const RunStartArgs& args);
int ListRunsCommand(const Globals& globals, const RunListArgs& args);
int ShowRunCommand(const Globals& globals, const std::string& run_id);
int RunHistoryCommand(const Globals& globals, const std::string& run_id,
                      bool follow, const WaitArgs& wait_args);
int ResumeRunCommand(const Globals& globals, const std::string& run_id);
int CancelRunCommand(const Globals& globals, const std::string& run_id,
                     const std::string& reason);
int SignalRunCommand(const Globals& globals, const std::string& run_id,
                     const std::string& name,
                     const std::optional<std::string>& payload);

int CreateScheduleCommand(const Globals& globals, const std::string& id,
                          const ScheduleSpecArgs& args);
int ListSchedulesCommand(const Globals& globals, const PageArgs& page);
int ShowScheduleCommand(const Globals& globals, const std::string& id);
// GetSchedule, the given fields changed, UpdateSchedule with the revision
// read as expected_revision (a concurrent change fails, exit 1).
int UpdateScheduleCommand(const Globals& globals, const std::string& id,
                          const ScheduleSpecArgs& args);
int PauseScheduleCommand(const Globals& globals, const std::string& id,
                         bool pause, const std::string& note);
int DeleteScheduleCommand(const Globals& globals, const std::string& id);
// Exit 1 when the action's outcome is START_FAILED.
int TriggerScheduleCommand(const Globals& globals, const std::string& id,
                           const std::optional<std::string>& overlap);

}  // namespace sagaflow::cli

#endif  // SAGAFLOW_CLI_SERVER_COMMANDS_H_
