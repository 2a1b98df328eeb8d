#include "cli/server_commands.h"

#include <sys/stat.h>

#include <algorithm>
#include <functional>
#include <iostream>
#include <thread>
#include <utility>
#include <vector>

#include "cli/client.h"
#include "cli/offline_commands.h"
#include "cli/render.h"
#include "common/time.h"
#include "dsl/json.h"
#include "dsl/limits.h"

namespace sagaflow::cli {
namespace {

using std::chrono::milliseconds;

// What the CLI reads locally (definitions, inputs, payloads) before the server
// applies its own, configurable limits; the gRPC message limit.
constexpr size_t kMaxReadBytes = size_t{64} << 20;

// Definitions fetched from the server were accepted under its limits, which
// may be larger than the defaults; graphing one must not refuse it.
dsl::Limits ServerDefinitionLimits() {
  dsl::Limits limits;
  limits.max_definition_bytes = kMaxReadBytes;
  limits.max_steps = 1'000'000;
  return limits;
}

dsl::JsonParseOptions ArgumentParseOptions() {
  dsl::JsonParseOptions options;
  options.max_bytes = kMaxReadBytes;
  options.max_depth = 128;
  return options;
}

TimePoint Now() { return SystemClock::Default()->Now(); }

bool JsonOutput(const Globals& globals) {
  return globals.output == OutputFormat::kJson;
}

void PrintJson(const Globals& globals, const Json& doc) {
  *globals.out << dsl::DumpJson(doc, 2) << "\n";
}

// "error: " and the first line; further lines (a list of validation errors)
// indented below it.
void PrintError(const Globals& globals, std::string_view message) {
  std::ostream& err = *globals.err;
  err << "error: ";
  size_t start = 0;
  bool first = true;
  while (start <= message.size()) {
    const size_t end = std::min(message.find('\n', start), message.size());
    const std::string_view line = message.substr(start, end - start);
    if (!line.empty()) {
      if (!first) err << "  ";
      err << line << "\n";
      first = false;
    }
    start = end + 1;
  }
  if (first) err << "\n";
}

int Fail(const Globals& globals, const CallError& error) {
  PrintError(globals, error.message);
  return error.exit_code;
}

int UsageError(const Globals& globals, const std::string& message) {
  PrintError(globals, message);
  return kExitUsage;
}

std::unique_ptr<Client> Connect(const Globals& globals) {
  ClientOptions options;
  options.address = globals.server;
  return std::make_unique<Client>(std::move(options));
}

// Reads stdin, stopping once it has read more than `max_bytes`.
Result<std::string> ReadStdin(size_t max_bytes) {
  std::string text;
  char buffer[1 << 16];
  while (text.size() <= max_bytes && std::cin) {
    std::cin.read(buffer, sizeof buffer);
    text.append(buffer, static_cast<size_t>(std::cin.gcount()));
  }
  if (std::cin.bad()) return Status::IoError("cannot read stdin");
  if (text.size() > max_bytes) {
    return Status::ResourceExhausted("stdin is more than " +
                                     std::to_string(max_bytes) + " bytes");
  }
  return text;
}

// The JSON text of an option given inline or as a file ("-": stdin), checked
// to be JSON so a typo fails here with its line and column rather than at the
// server. Empty when neither was given. On failure prints the error and sets
// `exit_code`.
std::optional<std::string> LoadJsonArgument(
    const Globals& globals, const std::optional<std::string>& inline_text,
    const char* inline_name, const std::optional<std::string>& file,
    const char* file_name, int* exit_code) {
  *exit_code = kExitOk;
  std::string text;
  std::string source = inline_name;
  if (inline_text) {
    text = *inline_text;
  } else if (file) {
    source = std::string(file_name) + " " + *file;
    auto read = *file == "-"
                    ? ReadStdin(kMaxReadBytes)
                    : ReadFileLimited(*file, kMaxReadBytes, "a payload");
    if (!read.ok()) {
      *exit_code = UsageError(globals, read.status().message());
      return std::nullopt;
    }
    text = std::move(read).value();
  } else {
    return std::string();
  }
  auto parsed = dsl::ParseJson(text, ArgumentParseOptions());
  if (!parsed.ok()) {
    *exit_code = UsageError(
        globals, source + " is not valid JSON: " + parsed.status().message());
    return std::nullopt;
  }
  return text;
}

// Parses --wait-timeout; nullopt deadline when none was given.
bool ParseWaitDeadline(const Globals& globals, const WaitArgs& args,
                       std::optional<TimePoint>* deadline, int* exit_code) {
  deadline->reset();
  if (args.wait_timeout.empty()) return true;
  auto timeout = ParseDuration(args.wait_timeout);
  if (!timeout.ok()) {
    *exit_code =
        UsageError(globals, "--wait-timeout: " + timeout.status().message());
    return false;
  }
  *deadline = Now() + *timeout;
  return true;
}

// Every event of a run, in seq order. GetHistory has no paging of its own;
// asking again after the last seq until nothing new comes keeps this correct
// should the server ever cap a reply.
CallResult<std::vector<v1::HistoryEvent>> FetchHistory(
    Client& client, const std::string& run_id) {
  std::vector<v1::HistoryEvent> events;
  uint64_t after = 0;
  for (;;) {
    v1::GetHistoryRequest request;
    request.set_run_id(run_id);
    request.set_after_seq(after);
    auto reply = client.GetHistory(request);
    if (!reply.ok()) return std::move(reply).error();
    bool advanced = false;
    for (v1::HistoryEvent& event : *reply->mutable_events()) {
      if (event.seq() <= after) continue;
      after = event.seq();
      events.push_back(std::move(event));
      advanced = true;
    }
    if (!advanced) return events;
  }
}

// Follows a run through WatchRun until it stops, then returns it. Each event
// reaches `on_event` once, in seq order. When the stream breaks (the server
// stopped or restarted), reconnects from the last seq seen, with backoff,
// until `deadline` (none: for as long as it takes), telling stderr once per
// outage.
class RunFollower {
 public:
  RunFollower(const Globals& globals, Client& client, std::string run_id,
              std::optional<TimePoint> deadline, std::string timeout_text)
      : globals_(globals),
        client_(client),
        run_id_(std::move(run_id)),
        deadline_(deadline),
        timeout_text_(std::move(timeout_text)) {}

  CallResult<v1::Run> Follow(
      const std::function<void(const v1::HistoryEvent&)>& on_event);

 private:
  // Waits before the next attempt after a broken connection; the error to
  // give up with once the deadline has passed.
  std::optional<CallError> Backoff(const CallError& error);
  CallError GaveUp(CallError outage) const;
  void Sleep(Duration d) const;
  void NoteConnected();
  CallError TimedOut();

  const Globals& globals_;
  Client& client_;
  const std::string run_id_;
  const std::optional<TimePoint> deadline_;
  const std::string timeout_text_;
  uint64_t last_seq_ = 0;
  bool lost_ = false;
  CallError last_outage_;
  Duration backoff_ = milliseconds(250);
};

CallResult<v1::Run> RunFollower::Follow(
    const std::function<void(const v1::HistoryEvent&)>& on_event) {
  auto deliver = [&](const v1::HistoryEvent& event) {
    NoteConnected();
    if (event.seq() <= last_seq_) return;  // Resent after a reconnection.
    last_seq_ = event.seq();
    on_event(event);
  };
  for (;;) {
    v1::WatchRunRequest watch;
    watch.set_run_id(run_id_);
    watch.set_after_seq(last_seq_);
    auto watched = client_.WatchRun(watch, deliver, deadline_);
    if (!watched.ok()) {
      const CallError& error = watched.error();
      if (error.kind == CallError::Kind::kTimeout) {
        if (lost_) return GaveUp(last_outage_);
        return TimedOut();
      }
      if (auto fatal = Backoff(error)) return *std::move(fatal);
      continue;
    }
    v1::GetRunRequest get;
    get.set_run_id(run_id_);
    auto run = client_.GetRun(get);
    if (!run.ok()) {
      if (auto fatal = Backoff(run.error())) return *std::move(fatal);
      continue;
    }
    NoteConnected();
    if (IsStopped(run->status())) {
      // The stream ends once the run stops; events it did not carry (a
      // stream the server closed early, as it does when shutting down) are
      // still in the history.
      v1::GetHistoryRequest rest;
      rest.set_run_id(run_id_);
      rest.set_after_seq(last_seq_);
      if (auto history = client_.GetHistory(rest); history.ok()) {
        for (const v1::HistoryEvent& event : history->events()) deliver(event);
      }
      return run;
    }
    // The server ended the stream while the run goes on: watch again.
    if (deadline_ && Now() >= *deadline_) return TimedOut();
    Sleep(milliseconds(200));
  }
}

std::optional<CallError> RunFollower::Backoff(const CallError& error) {
  if (!error.unreachable()) return error;
  const TimePoint now = Now();
  if (deadline_ && now >= *deadline_) return GaveUp(error);
  last_outage_ = error;
  if (!lost_) {
    *globals_.err << "warning: " << error.message << "; reconnecting...\n";
    lost_ = true;
  }
  Duration wait = backoff_;
  if (deadline_) wait = std::min<Duration>(wait, *deadline_ - now);
  Sleep(wait);
  backoff_ = std::min<Duration>(backoff_ * 2, milliseconds(4000));
  return std::nullopt;
}

CallError RunFollower::GaveUp(CallError error) const {
  error.message += "; gave up after --wait-timeout " + timeout_text_;
  return error;
}

void RunFollower::Sleep(Duration d) const {
  if (d.count() > 0) std::this_thread::sleep_for(d);
}

void RunFollower::NoteConnected() {
  if (!lost_) return;
  lost_ = false;
  backoff_ = milliseconds(250);
  *globals_.err << "reconnected to " << client_.address() << "; following run "
                << run_id_ << " from event " << last_seq_ + 1 << "\n";
}

CallError RunFollower::TimedOut() {
  std::string status = "still running";
  v1::GetRunRequest get;
  get.set_run_id(run_id_);
  if (auto run = client_.GetRun(get); run.ok())
    status = "still " + RunStatusName(run->status());
  return {CallError::Kind::kTimeout, kExitFailed,
          "run " + run_id_ + " is " + status + " after --wait-timeout " +
              timeout_text_};
}

void PrintResumeHint(const Globals& globals, const v1::Run& run) {
  switch (run.status()) {
    case v1::RUN_STATUS_SUSPENDED:
    case v1::RUN_STATUS_FAILED:
    case v1::RUN_STATUS_COMPENSATION_FAILED:
      *globals.err << "run " << run.run_id() << " is "
                   << RunStatusName(run.status())
                   << "; after fixing the cause: sagaflow run resume "
                   << run.run_id() << "\n";
      break;
    default:
      break;
  }
}

void PrintNextPageHint(const Globals& globals, const std::string& command,
                       const std::string& token) {
  if (token.empty() || JsonOutput(globals)) return;
  *globals.err << "more results: sagaflow " << command << " --page-token "
               << token << "\n";
}

// ScheduleSpecArgs, checked and parsed; unset fields are left alone.
struct SpecChanges {
  std::optional<std::string> workflow;
  std::optional<uint32_t> version;
  std::optional<std::string> input_json;
  std::optional<std::string> cron;
  std::optional<int64_t> interval_ms;
  std::optional<v1::OverlapPolicy> overlap;
  std::optional<std::string> timezone;
  std::optional<int64_t> catchup_window_ms;
  // Set to an unset Timestamp to clear.
  std::optional<google::protobuf::Timestamp> start_time;
  std::optional<google::protobuf::Timestamp> end_time;
  std::optional<bool> paused;
  std::optional<std::string> note;

  bool empty() const {
    return !workflow && !version && !input_json && !cron && !interval_ms &&
           !overlap && !timezone && !catchup_window_ms && !start_time &&
           !end_time && !paused && !note;
  }
};

std::optional<v1::OverlapPolicy> ParseOverlapArgument(const Globals& globals,
                                                      const std::string& text,
                                                      int* exit_code) {
  const auto policy = ParseOverlap(text);
  if (!policy) {
    *exit_code = UsageError(globals, "unknown overlap policy \"" + text +
                                         "\"; use " + OverlapNames());
  }
  return policy;
}

// Checks every flag before anything is sent; on failure prints the error and
// sets `exit_code`.
std::optional<SpecChanges> ParseSpecArgs(const Globals& globals,
                                         const ScheduleSpecArgs& args,
                                         int* exit_code) {
  *exit_code = kExitOk;
  auto usage = [&](const std::string& message) -> std::optional<SpecChanges> {
    *exit_code = UsageError(globals, message);
    return std::nullopt;
  };
  if (args.cron && args.interval)
    return usage("give --cron or --interval, not both");
  if (args.input && args.input_file)
    return usage("give --input or --input-file, not both");
  SpecChanges changes;
  if (args.workflow) {
    if (args.workflow->empty()) return usage("--workflow: empty name");
    changes.workflow = *args.workflow;
  }
  changes.version = args.version;
  if (args.cron) {
    if (args.cron->empty()) return usage("--cron: empty expression");
    changes.cron = *args.cron;
  }
  if (args.interval) {
    auto interval = ParseDuration(*args.interval);
    if (!interval.ok())
      return usage("--interval: " + interval.status().message());
    if (interval->count() <= 0) return usage("--interval: must not be 0");
    changes.interval_ms = interval->count();
  }
  if (args.overlap) {
    changes.overlap = ParseOverlapArgument(globals, *args.overlap, exit_code);
    if (!changes.overlap) return std::nullopt;
  }
  changes.timezone = args.timezone;
  if (args.catchup_window) {
    if (args.catchup_window->empty()) {
      changes.catchup_window_ms = 0;  // The default.
    } else {
      auto window = ParseDuration(*args.catchup_window);
      if (!window.ok())
        return usage("--catchup-window: " + window.status().message());
      changes.catchup_window_ms = window->count();
    }
  }
  auto parse_time = [&](const std::optional<std::string>& text,
                        const char* flag,
                        std::optional<google::protobuf::Timestamp>* out) {
    if (!text) return true;
    if (text->empty()) {
      *out = google::protobuf::Timestamp();
      return true;
    }
    auto t = ParseRfc3339(*text);
    if (!t.ok()) {
      *exit_code =
          UsageError(globals, std::string(flag) + ": " + t.status().message());
      return false;
    }
    *out = ToTimestamp(*t);
    return true;
  };
  if (!parse_time(args.start_time, "--start-time", &changes.start_time) ||
      !parse_time(args.end_time, "--end-time", &changes.end_time))
    return std::nullopt;
  changes.paused = args.paused;
  changes.note = args.note;
  if (args.input || args.input_file) {
    auto input = LoadJsonArgument(globals, args.input, "--input",
                                  args.input_file, "--input-file", exit_code);
    if (!input) return std::nullopt;
    changes.input_json = std::move(*input);
  }
  return changes;
}

// Changes `spec` as asked. A cron expression replaces an interval and the
// other way round; an interval also drops the time zone (only a cron
// expression is read in one) unless one was given with it.
void ApplySpecChanges(const SpecChanges& changes, v1::ScheduleSpec* spec) {
  if (changes.workflow) spec->set_workflow(*changes.workflow);
  if (changes.version) spec->set_version(*changes.version);
  if (changes.input_json) spec->set_input_json(*changes.input_json);
  if (changes.cron) {
    spec->set_cron(*changes.cron);
    spec->set_interval_ms(0);
  }
  if (changes.interval_ms) {
    spec->set_interval_ms(*changes.interval_ms);
    spec->clear_cron();
    if (!changes.timezone) spec->clear_timezone();
  }
  if (changes.overlap) spec->set_overlap(*changes.overlap);
  if (changes.timezone) spec->set_timezone(*changes.timezone);
  if (changes.catchup_window_ms)
    spec->set_catchup_window_ms(*changes.catchup_window_ms);
  if (changes.start_time) {
    if (ToTimePoint(*changes.start_time)) {
      *spec->mutable_start_time() = *changes.start_time;
    } else {
      spec->clear_start_time();
    }
  }
  if (changes.end_time) {
    if (ToTimePoint(*changes.end_time)) {
      *spec->mutable_end_time() = *changes.end_time;
    } else {
      spec->clear_end_time();
    }
  }
  if (changes.paused) spec->set_paused(*changes.paused);
  if (changes.note) spec->set_note(*changes.note);
}

// A schedule as `schedule show` prints it: the card and its recent actions,
// or the Schedule as JSON.
void PrintSchedule(const Globals& globals, const v1::Schedule& schedule) {
  if (JsonOutput(globals)) {
    PrintJson(globals, ScheduleToJson(schedule));
    return;
  }
  *globals.out << RenderScheduleCard(schedule) << "\n";
  if (schedule.recent_actions().empty()) {
    *globals.out << "No actions yet.\n";
  } else {
    *globals.out << RenderActionTable(schedule.recent_actions());
  }
}

}  // namespace

// ---------------------------------------------------------------- workflows

int RegisterWorkflowCommand(const Globals& globals, const std::string& file) {
  auto text = ReadFileLimited(file, kMaxReadBytes, "a definition");
  if (!text.ok()) return UsageError(globals, text.status().message());
  auto client = Connect(globals);
  v1::RegisterWorkflowRequest request;
  request.set_definition_json(std::move(text).value());
  auto reply = client->RegisterWorkflow(request);
  if (!reply.ok()) {
    const CallError& error = reply.error();
    if (error.exit_code == kExitUsage)
      return Fail(globals, {error.kind, error.exit_code,
                            file + " was refused:\n" + error.message});
    return Fail(globals, error);
  }
  if (JsonOutput(globals)) {
    PrintJson(globals, {{"name", reply->name()},
                        {"version", reply->version()},
                        {"created", reply->created()}});
  } else {
    *globals.out << reply->name() << " version " << reply->version()
                 << (reply->created()
                         ? " created\n"
                         : " unchanged (identical to the registered "
                           "version)\n");
  }
  return kExitOk;
}

int ListWorkflowsCommand(const Globals& globals, const PageArgs& page) {
  auto client = Connect(globals);
  v1::ListWorkflowsRequest request;
  request.set_page_size(page.limit);
  request.set_page_token(page.page_token);
  auto reply = client->ListWorkflows(request);
  if (!reply.ok()) return Fail(globals, reply.error());
  if (JsonOutput(globals)) {
    Json workflows = Json::array();
    for (const v1::WorkflowInfo& w : reply->workflows())
      workflows.push_back(WorkflowToJson(w, false));
    PrintJson(globals, {{"workflows", std::move(workflows)},
                        {"next_page_token", reply->next_page_token()}});
  } else {
    *globals.out << RenderWorkflowTable(
        {reply->workflows().begin(), reply->workflows().end()});
    PrintNextPageHint(globals, "workflow list", reply->next_page_token());
  }
  return kExitOk;
}

int ShowWorkflowCommand(const Globals& globals, const std::string& name,
                        uint32_t version) {
  auto client = Connect(globals);
  v1::GetWorkflowRequest request;
  request.set_name(name);
  request.set_version(version);
  auto reply = client->GetWorkflow(request);
  if (!reply.ok()) return Fail(globals, reply.error());
  if (JsonOutput(globals)) {
    PrintJson(globals, WorkflowToJson(*reply, true));
  } else {
    *globals.out << RenderWorkflowCard(*reply);
  }
  return kExitOk;
}

int GraphWorkflowCommand(const Globals& globals, const std::string& target,
                         uint32_t version, const std::string& format) {
  struct stat st;
  const bool is_path =
      ::stat(target.c_str(), &st) == 0 || target.find('/') != std::string::npos;
  if (is_path) {
    if (version != 0)
      return UsageError(globals,
                        "--version applies to a registered workflow, "
                        "not to the file " +
                            target);
    return GraphFile(globals, target, format);
  }
  if (format != "mermaid" && format != "dot")
    return UsageError(
        globals, "unknown graph format \"" + format + "\"; use mermaid or dot");
  auto client = Connect(globals);
  v1::GetWorkflowRequest request;
  request.set_name(target);
  request.set_version(version);
  auto reply = client->GetWorkflow(request);
  if (!reply.ok()) {
    CallError error = reply.error();
    if (error.not_found)
      error.message += " (and there is no file " + target + ")";
    return Fail(globals, error);
  }
  return PrintGraph(globals, reply->definition_json(),
                    "workflow " + reply->name() + " version " +
                        std::to_string(reply->version()),
                    ServerDefinitionLimits(), format, reply->version());
}

// ---------------------------------------------------------------- runs

int StartRunCommand(const Globals& globals, const RunStartArgs& args) {
  if (args.input && args.input_file)
    return UsageError(globals, "give --input or --input-file, not both");
  const bool wait = args.wait || args.follow;
  if (!args.wait_args.wait_timeout.empty() && !wait)
    return UsageError(globals, "--wait-timeout needs --wait or --follow");
  int exit_code = kExitOk;
  std::optional<TimePoint> deadline;
  if (!ParseWaitDeadline(globals, args.wait_args, &deadline, &exit_code))
    return exit_code;
  if (args.delay && args.at)
    return UsageError(globals, "give --delay or --at, not both");
  std::optional<Duration> delay;
  std::optional<TimePoint> start_at;
  if (args.delay) {
    auto parsed = ParseDuration(*args.delay);
    if (!parsed.ok())
      return UsageError(globals, "--delay: " + parsed.status().message());
    delay = *parsed;
  }
  if (args.at) {
    auto parsed = ParseRfc3339(*args.at);
    if (!parsed.ok())
      return UsageError(globals, "--at: " + parsed.status().message());
    start_at = *parsed;
  }
  const auto input =
      LoadJsonArgument(globals, args.input, "--input", args.input_file,
                       "--input-file", &exit_code);
  if (!input) return exit_code;
  auto client = Connect(globals);
  v1::StartRunRequest request;
  request.set_workflow(args.workflow);
  request.set_version(args.version);
  request.set_input_json(*input);
  request.set_run_id(args.run_id);
  if (delay) request.set_start_delay_ms(delay->count());
  if (start_at) *request.mutable_start_at() = ToTimestamp(*start_at);
  auto started = client->StartRun(request);
  if (!started.ok()) return Fail(globals, started.error());
  Json doc = {{"run_id", started->run_id()},
              {"version", started->version()},
              {"already_started", started->already_started()}};
  if (!JsonOutput(globals)) {
    *globals.out << started->run_id() << "\n" << std::flush;
    if (started->already_started()) {
      *globals.err << "note: run " << started->run_id()
                   << " already existed; it was not started again\n";
    } else if (delay) {
      *globals.err << "note: run " << started->run_id()
                   << " starts its first step in " << FormatDuration(*delay)
                   << "\n";
    } else if (start_at) {
      *globals.err << "note: run " << started->run_id()
                   << " starts its first step at " << FormatTime(*start_at)
                   << "\n";
    }
  }
  if (!wait) {
    if (JsonOutput(globals)) PrintJson(globals, doc);
    return kExitOk;
  }

  Json events = Json::array();
  if (args.follow && !JsonOutput(globals))
    *globals.out << EventHeaderLine() << std::flush;
  RunFollower follower(globals, *client, started->run_id(), deadline,
                       args.wait_args.wait_timeout);
  auto run = follower.Follow([&](const v1::HistoryEvent& event) {
    if (!args.follow) return;
    if (JsonOutput(globals)) {
      events.push_back(EventToJson(event));
    } else {
      *globals.out << EventLine(event) << std::flush;
    }
  });
  if (!run.ok()) {
    // The run exists even though following it failed: JSON output still
    // names it (table output printed its id first thing).
    if (JsonOutput(globals)) {
      if (args.follow) doc["events"] = std::move(events);
      PrintJson(globals, doc);
    }
    return Fail(globals, run.error());
  }
  if (JsonOutput(globals)) {
    doc["run"] = RunToJson(*run);
    if (args.follow) doc["events"] = std::move(events);
    PrintJson(globals, doc);
  } else {
    *globals.out << "\n" << RenderRunCard(*run, Now());
  }
  PrintResumeHint(globals, *run);
  return run->status() == v1::RUN_STATUS_COMPLETED ? kExitOk : kExitFailed;
}

int ListRunsCommand(const Globals& globals, const RunListArgs& args) {
  v1::ListRunsRequest request;
  if (!args.status.empty()) {
    const auto status = ParseRunStatus(args.status);
    if (!status) {
      return UsageError(globals, "unknown status \"" + args.status +
                                     "\"; use one of " + RunStatusNames());
    }
    request.set_status(*status);
  }
  request.set_workflow(args.workflow);
  request.set_page_size(args.page.limit);
  request.set_page_token(args.page.page_token);
  auto client = Connect(globals);
  auto reply = client->ListRuns(request);
  if (!reply.ok()) return Fail(globals, reply.error());
  if (JsonOutput(globals)) {
    Json runs = Json::array();
    for (const v1::Run& run : reply->runs()) runs.push_back(RunToJson(run));
    PrintJson(globals, {{"runs", std::move(runs)},
                        {"next_page_token", reply->next_page_token()}});
  } else {
    *globals.out << RenderRunTable({reply->runs().begin(), reply->runs().end()},
                                   Now());
    PrintNextPageHint(globals, "run list", reply->next_page_token());
  }
  return kExitOk;
}

int ShowRunCommand(const Globals& globals, const std::string& run_id) {
  auto client = Connect(globals);
  v1::GetRunRequest request;
  request.set_run_id(run_id);
  // The run before its history: a history newer than the status can only
  // leave a row open, while a status newer than the history would mark
  // steps still running as interrupted.
  auto run = client->GetRun(request);
  if (!run.ok()) return Fail(globals, run.error());
  auto history = FetchHistory(*client, run_id);
  if (!history.ok()) return Fail(globals, history.error());
  const std::vector<StepRow> steps = DeriveSteps(*history, run->status());
  if (JsonOutput(globals)) {
    Json doc = RunToJson(*run);
    doc["steps"] = Json::array();
    for (const StepRow& row : steps) doc["steps"].push_back(StepToJson(row));
    PrintJson(globals, doc);
  } else {
    *globals.out << RenderRunCard(*run, Now()) << "\n";
    if (steps.empty()) {
      *globals.out << "No steps have run yet.\n";
    } else {
      *globals.out << RenderStepTable(steps);
    }
  }
  return kExitOk;
}

int RunHistoryCommand(const Globals& globals, const std::string& run_id,
                      bool follow, const WaitArgs& wait_args) {
  if (!wait_args.wait_timeout.empty() && !follow)
    return UsageError(globals, "--wait-timeout needs --follow");
  int exit_code = kExitOk;
  std::optional<TimePoint> deadline;
  if (!ParseWaitDeadline(globals, wait_args, &deadline, &exit_code))
    return exit_code;
  auto client = Connect(globals);
  if (!follow) {
    auto history = FetchHistory(*client, run_id);
    if (!history.ok()) return Fail(globals, history.error());
    if (JsonOutput(globals)) {
      Json events = Json::array();
      for (const v1::HistoryEvent& event : *history)
        events.push_back(EventToJson(event));
      PrintJson(globals, {{"events", std::move(events)}});
    } else {
      *globals.out << RenderEventTable(*history);
    }
    return kExitOk;
  }
  Json events = Json::array();
  if (!JsonOutput(globals)) *globals.out << EventHeaderLine() << std::flush;
  RunFollower follower(globals, *client, run_id, deadline,
                       wait_args.wait_timeout);
  auto run = follower.Follow([&](const v1::HistoryEvent& event) {
    if (JsonOutput(globals)) {
      events.push_back(EventToJson(event));
    } else {
      *globals.out << EventLine(event) << std::flush;
    }
  });
  if (!run.ok()) return Fail(globals, run.error());
  if (JsonOutput(globals)) PrintJson(globals, {{"events", std::move(events)}});
  return kExitOk;
}

int ResumeRunCommand(const Globals& globals, const std::string& run_id) {
  auto client = Connect(globals);
  v1::ResumeRunRequest request;
  request.set_run_id(run_id);
  auto reply = client->ResumeRun(request);
  if (!reply.ok()) return Fail(globals, reply.error());
  const std::string status = RunStatusName(reply->status());
  if (JsonOutput(globals)) {
    PrintJson(globals, {{"run_id", run_id}, {"status", status}});
  } else {
    *globals.out << "run " << run_id << " resumed; now " << status << "\n";
  }
  return kExitOk;
}

int CancelRunCommand(const Globals& globals, const std::string& run_id,
                     const std::string& reason) {
  auto client = Connect(globals);
  v1::CancelRunRequest request;
  request.set_run_id(run_id);
  request.set_reason(reason);
  auto reply = client->CancelRun(request);
  if (!reply.ok()) return Fail(globals, reply.error());
  const std::string status = RunStatusName(reply->status());
  if (JsonOutput(globals)) {
    PrintJson(globals, {{"run_id", run_id}, {"status", status}});
  } else {
    *globals.out << "cancel of run " << run_id << " accepted; now " << status
                 << "\n";
  }
  return kExitOk;
}

int SignalRunCommand(const Globals& globals, const std::string& run_id,
                     const std::string& name,
                     const std::optional<std::string>& payload) {
  int exit_code = kExitOk;
  const auto text = LoadJsonArgument(globals, payload, "--payload",
                                     std::nullopt, "", &exit_code);
  if (!text) return exit_code;
  auto client = Connect(globals);
  v1::SignalRunRequest request;
  request.set_run_id(run_id);
  request.set_name(name);
  request.set_payload_json(*text);
  auto reply = client->SignalRun(request);
  if (!reply.ok()) return Fail(globals, reply.error());
  if (JsonOutput(globals)) {
    PrintJson(globals, {{"run_id", run_id}, {"signal", name}});
  } else {
    *globals.out << "signal " << name << " sent to run " << run_id << "\n";
  }
  return kExitOk;
}

// ---------------------------------------------------------------- schedules

int CreateScheduleCommand(const Globals& globals, const std::string& id,
                          const ScheduleSpecArgs& args) {
  if (!args.workflow)
    return UsageError(globals, "schedule create needs --workflow W");
  if (!args.cron && !args.interval) {
    return UsageError(globals,
                      "schedule create needs --cron EXPR or --interval "
                      "DURATION");
  }
  int exit_code = kExitOk;
  const auto changes = ParseSpecArgs(globals, args, &exit_code);
  if (!changes) return exit_code;
  v1::CreateScheduleRequest request;
  request.set_schedule_id(id);
  ApplySpecChanges(*changes, request.mutable_spec());
  auto client = Connect(globals);
  auto created = client->CreateSchedule(request);
  if (!created.ok()) return Fail(globals, created.error());
  PrintSchedule(globals, *created);
  return kExitOk;
}

int ListSchedulesCommand(const Globals& globals, const PageArgs& page) {
  auto client = Connect(globals);
  v1::ListSchedulesRequest request;
  request.set_page_size(page.limit);
  request.set_page_token(page.page_token);
  auto reply = client->ListSchedules(request);
  if (!reply.ok()) return Fail(globals, reply.error());
  if (JsonOutput(globals)) {
    Json schedules = Json::array();
    for (const v1::Schedule& schedule : reply->schedules())
      schedules.push_back(ScheduleToJson(schedule));
    PrintJson(globals, {{"schedules", std::move(schedules)},
                        {"next_page_token", reply->next_page_token()}});
  } else {
    *globals.out << RenderScheduleTable(
        {reply->schedules().begin(), reply->schedules().end()});
    PrintNextPageHint(globals, "schedule list", reply->next_page_token());
  }
  return kExitOk;
}

int ShowScheduleCommand(const Globals& globals, const std::string& id) {
  auto client = Connect(globals);
  v1::GetScheduleRequest request;
  request.set_schedule_id(id);
  auto schedule = client->GetSchedule(request);
  if (!schedule.ok()) return Fail(globals, schedule.error());
  PrintSchedule(globals, *schedule);
  return kExitOk;
}

int UpdateScheduleCommand(const Globals& globals, const std::string& id,
                          const ScheduleSpecArgs& args) {
  int exit_code = kExitOk;
  const auto changes = ParseSpecArgs(globals, args, &exit_code);
  if (!changes) return exit_code;
  if (changes->empty()) {
    return UsageError(globals,
                      "nothing to change: give at least one of the flags of "
                      "'sagaflow schedule update --help'");
  }
  auto client = Connect(globals);
  v1::GetScheduleRequest get;
  get.set_schedule_id(id);
  auto current = client->GetSchedule(get);
  if (!current.ok()) return Fail(globals, current.error());
  v1::UpdateScheduleRequest request;
  request.set_schedule_id(id);
  *request.mutable_spec() = current->spec();
  ApplySpecChanges(*changes, request.mutable_spec());
  request.set_expected_revision(current->revision());
  auto updated = client->UpdateSchedule(request);
  if (!updated.ok()) {
    CallError error = updated.error();
    if (error.failed_precondition) {
      error.message +=
          "; nothing was changed: run the update again to apply it to the "
          "schedule as it is now";
    }
    return Fail(globals, error);
  }
  PrintSchedule(globals, *updated);
  return kExitOk;
}

int PauseScheduleCommand(const Globals& globals, const std::string& id,
                         bool pause, const std::string& note) {
  auto client = Connect(globals);
  auto reply = [&]() -> CallResult<v1::Schedule> {
    if (pause) {
      v1::PauseScheduleRequest request;
      request.set_schedule_id(id);
      request.set_note(note);
      return client->PauseSchedule(request);
    }
    v1::UnpauseScheduleRequest request;
    request.set_schedule_id(id);
    request.set_note(note);
    return client->UnpauseSchedule(request);
  }();
  if (!reply.ok()) return Fail(globals, reply.error());
  if (JsonOutput(globals)) {
    PrintJson(globals, ScheduleToJson(*reply));
    return kExitOk;
  }
  *globals.out << "schedule " << id << (pause ? " paused" : " unpaused");
  if (!pause && ToTimePoint(reply->next_fire_time()))
    *globals.out << "; next fire " << FormatTimestamp(reply->next_fire_time());
  *globals.out << "\n";
  return kExitOk;
}

int DeleteScheduleCommand(const Globals& globals, const std::string& id) {
  auto client = Connect(globals);
  v1::DeleteScheduleRequest request;
  request.set_schedule_id(id);
  auto reply = client->DeleteSchedule(request);
  if (!reply.ok()) return Fail(globals, reply.error());
  if (JsonOutput(globals)) {
    PrintJson(globals, {{"schedule_id", id}, {"deleted", true}});
  } else {
    *globals.out << "schedule " << id
                 << " deleted (the runs it started are left alone)\n";
  }
  return kExitOk;
}

int TriggerScheduleCommand(const Globals& globals, const std::string& id,
                           const std::optional<std::string>& overlap) {
  v1::TriggerScheduleRequest request;
  request.set_schedule_id(id);
  if (overlap) {
    int exit_code = kExitOk;
    const auto policy = ParseOverlapArgument(globals, *overlap, &exit_code);
    if (!policy) return exit_code;
    request.set_overlap(*policy);
  }
  auto client = Connect(globals);
  auto reply = client->TriggerSchedule(request);
  if (!reply.ok()) return Fail(globals, reply.error());
  const v1::ScheduleAction& action = reply->action();
  const bool failed =
      action.outcome() == v1::ScheduleAction::OUTCOME_START_FAILED;
  if (JsonOutput(globals)) {
    PrintJson(globals, {{"schedule_id", id}, {"action", ActionToJson(action)}});
  } else {
    std::string text =
        "schedule " + id + " triggered: " + ActionOutcomeName(action.outcome());
    const std::string& run = action.run_id();
    switch (action.outcome()) {
      case v1::ScheduleAction::OUTCOME_STARTED:
        if (!run.empty()) text += " run " + run;
        break;
      case v1::ScheduleAction::OUTCOME_SKIPPED_OVERLAP:
        text += run.empty() ? " (the last run has not ended)"
                            : " (run " + run + " has not ended)";
        break;
      case v1::ScheduleAction::OUTCOME_BUFFERED:
        text += run.empty() ? " (starts when the last run ends)"
                            : " (starts when run " + run + " ends)";
        break;
      default:
        if (!run.empty()) text += " run " + run;
        break;
    }
    *globals.out << text << "\n";
  }
  if (failed) {
    PrintError(globals,
               "schedule " + id + " could not start a run" +
                   (action.error().empty() ? "" : ": " + action.error()));
    return kExitFailed;
  }
  return kExitOk;
}

}  // namespace sagaflow::cli
