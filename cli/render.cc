#include "cli/render.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <functional>
#include <utility>

namespace sagaflow::cli {
namespace {

constexpr std::string_view kRunStatusPrefix = "RUN_STATUS_";
constexpr std::string_view kEventTypePrefix = "EVENT_TYPE_";
constexpr std::string_view kOverlapPrefix = "OVERLAP_POLICY_";
constexpr std::string_view kOutcomePrefix = "OUTCOME_";

// Payloads come from the server, which bounds them far below this; the limits
// only keep a misbehaving server from exhausting the CLI.
dsl::JsonParseOptions PayloadParseOptions() {
  dsl::JsonParseOptions options;
  options.max_bytes = size_t{64} << 20;
  options.max_depth = 128;
  return options;
}

std::string StripPrefix(const std::string& name, std::string_view prefix,
                        int number) {
  if (name.empty()) return "UNKNOWN(" + std::to_string(number) + ")";
  if (name.compare(0, prefix.size(), prefix) == 0)
    return name.substr(prefix.size());
  return name;
}

bool IsContinuationByte(char c) {
  return (static_cast<unsigned char>(c) & 0xC0) == 0x80;
}

size_t DisplayWidth(std::string_view text) {
  return static_cast<size_t>(std::count_if(
      text.begin(), text.end(), [](char c) { return !IsContinuationByte(c); }));
}

// Control characters (a newline in an error message) as spaces, so a value
// stays on its row or line.
std::string OneLine(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7F) c = ' ';
  }
  return out;
}

std::string PadRight(const std::string& text, size_t width) {
  const size_t shown = DisplayWidth(text);
  return shown >= width ? text : text + std::string(width - shown, ' ');
}

std::string TimeOrDash(const google::protobuf::Timestamp& ts) {
  const std::string text = FormatTimestamp(ts);
  return text.empty() ? "-" : text;
}

// When a run stopped changing: its end, or for a run waiting on an operator
// (SUSPENDED, COMPENSATION_FAILED, which have no end) its last update;
// nullopt while it still runs.
std::optional<TimePoint> StoppedAt(const v1::Run& run) {
  if (auto ended = ToTimePoint(run.ended_at())) return ended;
  if (IsStopped(run.status())) return ToTimePoint(run.updated_at());
  return std::nullopt;
}

std::string RunDuration(const v1::Run& run, TimePoint now, bool* so_far) {
  *so_far = false;
  const auto created = ToTimePoint(run.created_at());
  if (!created) return "-";
  auto end = StoppedAt(run);
  if (!end) {
    *so_far = true;
    end = now;
  }
  return FormatElapsed(*end - *created);
}

// ---------------------------------------------------------------- steps

constexpr char kScheduled[] = "SCHEDULED";
constexpr char kRunning[] = "RUNNING";
constexpr char kWaiting[] = "WAITING";
constexpr char kRetrying[] = "RETRYING";
constexpr char kCompleted[] = "COMPLETED";
constexpr char kFailed[] = "FAILED";
constexpr char kTimedOut[] = "TIMED_OUT";
constexpr char kCaught[] = "CAUGHT";
constexpr char kCompensating[] = "COMPENSATING";
constexpr char kCompensated[] = "COMPENSATED";
constexpr char kCompensationFailed[] = "COMPENSATION_FAILED";
constexpr char kCancelled[] = "CANCELLED";
constexpr char kInterrupted[] = "INTERRUPTED";

bool IsOpen(const StepRow& row) {
  return row.status == kScheduled || row.status == kRunning ||
         row.status == kWaiting || row.status == kRetrying ||
         row.status == kCompensating;
}

bool HasFailed(const StepRow& row) {
  return row.status == kFailed || row.status == kTimedOut;
}

// Builds the rows of DeriveSteps one event at a time.
class StepDeriver {
 public:
  void Apply(const v1::HistoryEvent& event);
  std::vector<StepRow> Finish(v1::RunStatus status) &&;

 private:
  using Predicate = std::function<bool(const StepRow&)>;

  // The earliest open row of this step, preferring one at `attempt`.
  StepRow* FindOpen(const std::string& step, bool compensation,
                    uint32_t attempt);
  // The latest row of this step that satisfies `pred`.
  StepRow* FindLatest(const std::string& step, bool compensation,
                      const Predicate& pred);
  StepRow& NewRow(const std::string& step, bool compensation, TimePoint time);
  StepRow& OpenOrNew(const std::string& step, bool compensation,
                     uint32_t attempt, TimePoint time);

  std::vector<StepRow> rows_;
  bool cancel_requested_ = false;
};

StepRow* StepDeriver::FindOpen(const std::string& step, bool compensation,
                               uint32_t attempt) {
  StepRow* any = nullptr;
  for (StepRow& row : rows_) {
    if (row.step != step || row.compensation != compensation || !IsOpen(row))
      continue;
    if (attempt == 0 || row.attempts == attempt) return &row;
    if (any == nullptr) any = &row;
  }
  return any;
}

StepRow* StepDeriver::FindLatest(const std::string& step, bool compensation,
                                 const Predicate& pred) {
  for (auto it = rows_.rbegin(); it != rows_.rend(); ++it) {
    if (it->step == step && it->compensation == compensation && pred(*it))
      return &*it;
  }
  return nullptr;
}

StepRow& StepDeriver::NewRow(const std::string& step, bool compensation,
                             TimePoint time) {
  StepRow& row = rows_.emplace_back();
  row.step = step;
  row.compensation = compensation;
  row.started = time;
  return row;
}

StepRow& StepDeriver::OpenOrNew(const std::string& step, bool compensation,
                                uint32_t attempt, TimePoint time) {
  if (StepRow* row = FindOpen(step, compensation, attempt)) return *row;
  return NewRow(step, compensation, time);
}

void StepDeriver::Apply(const v1::HistoryEvent& event) {
  const TimePoint time = ToTimePoint(event.time()).value_or(TimePoint());
  const std::string& step = event.step();
  // Run-level events (a delayed start's timer among them) belong to no step.
  if (step.empty() && event.type() != v1::EVENT_TYPE_RUN_CANCEL_REQUESTED) {
    return;
  }
  const uint32_t attempt = event.attempt();
  const Json detail = PayloadToJson(event.detail_json());
  auto detail_string = [&](const char* key) -> std::string {
    if (!detail.is_object()) return "";
    auto it = detail.find(key);
    return it != detail.end() && it->is_string() ? it->get<std::string>() : "";
  };
  bool compensation = false;
  if (detail.is_object()) {
    auto it = detail.find("compensation");
    compensation = it != detail.end() && *it == Json(true);
  }
  auto end = [&](StepRow& row, const char* status) {
    row.status = status;
    row.ended = time;
    row.attempts = std::max(row.attempts, attempt);
    // A step that succeeded in the end shows no error from an earlier
    // attempt.
    if (row.status == kCompleted || row.status == kCompensated) {
      row.error.clear();
      row.error_message.clear();
    }
    const std::string error = detail_string("error");
    if (!error.empty()) {
      row.error = error;
      row.error_message = detail_string("message");
    }
  };

  switch (event.type()) {
    case v1::EVENT_TYPE_STEP_SCHEDULED: {
      StepRow* row = nullptr;
      // A retry, or the new attempt a resumed run gives an interrupted step.
      if (attempt > 1) {
        row = FindLatest(step, false, [&](const StepRow& r) {
          return r.attempts + 1 == attempt && r.status != kCompleted &&
                 r.status != kCaught;
        });
      }
      if (row == nullptr) row = &NewRow(step, false, time);
      row->status = kScheduled;
      row->attempts = attempt;
      row->ended.reset();
      break;
    }
    case v1::EVENT_TYPE_STEP_STARTED: {
      StepRow& row = OpenOrNew(step, compensation, attempt, time);
      if (compensation) {
        row.status = kCompensating;
      } else {
        // A signal step starts by waiting for its signal.
        row.status = detail.is_object() && detail.contains("signal") ? kWaiting
                                                                     : kRunning;
      }
      row.attempts = std::max(row.attempts, attempt);
      break;
    }
    case v1::EVENT_TYPE_TIMER_STARTED:
      OpenOrNew(step, false, 0, time).status = kWaiting;
      break;
    case v1::EVENT_TYPE_STEP_COMPLETED:
      end(OpenOrNew(step, false, attempt, time), kCompleted);
      break;
    case v1::EVENT_TYPE_STEP_FAILED:
      end(OpenOrNew(step, false, attempt, time), kFailed);
      break;
    case v1::EVENT_TYPE_STEP_TIMED_OUT:
      end(OpenOrNew(step, false, attempt, time), kTimedOut);
      break;
    case v1::EVENT_TYPE_STEP_RETRY_SCHEDULED: {
      // `attempt` is the attempt to come.
      StepRow* row = FindLatest(step, compensation, [&](const StepRow& r) {
        return r.attempts + 1 == attempt &&
               (compensation ? r.status == kCompensationFailed : HasFailed(r));
      });
      if (row != nullptr) {
        row->status = kRetrying;
        row->ended.reset();
      }
      break;
    }
    case v1::EVENT_TYPE_STEP_CAUGHT: {
      // The step's own failure just before, or a parallel / map step still
      // running whose branch failed.
      StepRow* row = FindLatest(step, false, [](const StepRow& r) {
        return HasFailed(r) || IsOpen(r);
      });
      end(row != nullptr ? *row : NewRow(step, false, time), kCaught);
      break;
    }
    case v1::EVENT_TYPE_COMPENSATION_STARTED: {
      StepRow* row = nullptr;
      if (attempt > 1) {
        row = FindLatest(step, true, [&](const StepRow& r) {
          return r.attempts + 1 == attempt &&
                 (r.status == kRetrying || r.status == kCompensationFailed);
        });
      }
      if (row == nullptr) row = &NewRow(step, true, time);
      row->status = kCompensating;
      row->attempts = attempt;
      row->ended.reset();
      break;
    }
    case v1::EVENT_TYPE_COMPENSATION_COMPLETED:
      end(OpenOrNew(step, true, attempt, time), kCompensated);
      break;
    case v1::EVENT_TYPE_COMPENSATION_FAILED:
      end(OpenOrNew(step, true, attempt, time), kCompensationFailed);
      break;
    case v1::EVENT_TYPE_RUN_CANCEL_REQUESTED:
      cancel_requested_ = true;
      break;
    default:
      break;
  }
}

std::vector<StepRow> StepDeriver::Finish(v1::RunStatus status) && {
  if (status != v1::RUN_STATUS_UNSPECIFIED) {
    for (StepRow& row : rows_) {
      if (!IsOpen(row)) continue;
      if (!row.compensation && status != v1::RUN_STATUS_RUNNING) {
        row.status = cancel_requested_ ? kCancelled : kInterrupted;
      } else if (row.compensation && status != v1::RUN_STATUS_COMPENSATING) {
        row.status = kInterrupted;
      }
    }
  }
  return std::move(rows_);
}

}  // namespace

// ---------------------------------------------------------------- names

std::string RunStatusName(v1::RunStatus status) {
  return StripPrefix(v1::RunStatus_Name(status), kRunStatusPrefix,
                     static_cast<int>(status));
}

std::string EventTypeName(v1::EventType type) {
  return StripPrefix(v1::EventType_Name(type), kEventTypePrefix,
                     static_cast<int>(type));
}

std::optional<v1::RunStatus> ParseRunStatus(std::string_view text) {
  std::string name;
  for (char c : text) {
    name +=
        c == '-'
            ? '_'
            : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  if (name.compare(0, kRunStatusPrefix.size(), kRunStatusPrefix) != 0)
    name.insert(0, kRunStatusPrefix);
  v1::RunStatus status;
  if (!v1::RunStatus_Parse(name, &status) ||
      status == v1::RUN_STATUS_UNSPECIFIED)
    return std::nullopt;
  return status;
}

std::string RunStatusNames() {
  std::string names;
  for (int i = v1::RunStatus_MIN; i <= v1::RunStatus_MAX; ++i) {
    if (!v1::RunStatus_IsValid(i) || i == v1::RUN_STATUS_UNSPECIFIED) continue;
    if (!names.empty()) names += ", ";
    names += RunStatusName(static_cast<v1::RunStatus>(i));
  }
  return names;
}

bool IsStopped(v1::RunStatus status) {
  return status != v1::RUN_STATUS_RUNNING &&
         status != v1::RUN_STATUS_COMPENSATING;
}

std::string OverlapName(v1::OverlapPolicy policy) {
  if (policy == v1::OVERLAP_POLICY_UNSPECIFIED)
    policy = v1::OVERLAP_POLICY_SKIP;
  const std::string& name = v1::OverlapPolicy_Name(policy);
  if (name.empty()) return "unknown(" + std::to_string(policy) + ")";
  std::string out = StripPrefix(name, kOverlapPrefix, policy);
  for (char& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::optional<v1::OverlapPolicy> ParseOverlap(std::string_view text) {
  std::string name;
  for (char c : text) {
    name +=
        c == '-'
            ? '_'
            : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  if (name.compare(0, kOverlapPrefix.size(), kOverlapPrefix) != 0)
    name.insert(0, kOverlapPrefix);
  v1::OverlapPolicy policy;
  if (!v1::OverlapPolicy_Parse(name, &policy) ||
      policy == v1::OVERLAP_POLICY_UNSPECIFIED)
    return std::nullopt;
  return policy;
}

std::string OverlapNames() {
  std::vector<std::string> names;
  for (int i = v1::OverlapPolicy_MIN; i <= v1::OverlapPolicy_MAX; ++i) {
    if (!v1::OverlapPolicy_IsValid(i) || i == v1::OVERLAP_POLICY_UNSPECIFIED)
      continue;
    names.push_back(OverlapName(static_cast<v1::OverlapPolicy>(i)));
  }
  std::string text;
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) text += i + 1 == names.size() ? " or " : ", ";
    text += names[i];
  }
  return text;
}

std::string ActionOutcomeName(v1::ScheduleAction::Outcome outcome) {
  return StripPrefix(v1::ScheduleAction::Outcome_Name(outcome), kOutcomePrefix,
                     static_cast<int>(outcome));
}

std::string ScheduleStatus(const v1::Schedule& schedule) {
  if (schedule.spec().paused()) return "paused";
  if (!ToTimePoint(schedule.next_fire_time())) return "ended";
  return "active";
}

// ---------------------------------------------------------------- times

std::optional<TimePoint> ToTimePoint(const google::protobuf::Timestamp& ts) {
  if (ts.seconds() == 0 && ts.nanos() == 0) return std::nullopt;
  // 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z, the range of Timestamp.
  constexpr int64_t kMinSeconds = -62135596800;
  constexpr int64_t kMaxSeconds = 253402300799;
  const int64_t seconds = std::clamp(ts.seconds(), kMinSeconds, kMaxSeconds);
  const int64_t nanos = std::clamp<int64_t>(ts.nanos(), 0, 999'999'999);
  return FromUnixMillis(seconds * 1000 + nanos / 1'000'000);
}

std::string FormatTime(TimePoint t) {
  std::string text = FormatRfc3339(t);
  // FormatRfc3339 leaves out a zero fraction; ours always has one, so times
  // line up in columns and parse the same way everywhere.
  if (text.find('.') == std::string::npos && !text.empty())
    text.insert(text.size() - 1, ".000");
  return text;
}

std::string FormatTimestamp(const google::protobuf::Timestamp& ts) {
  const auto t = ToTimePoint(ts);
  return t ? FormatTime(*t) : "";
}

Json TimestampToJson(const google::protobuf::Timestamp& ts) {
  const auto t = ToTimePoint(ts);
  return t ? Json(FormatTime(*t)) : Json();
}

google::protobuf::Timestamp ToTimestamp(TimePoint t) {
  const int64_t ms = ToUnixMillis(t);
  int64_t seconds = ms / 1000;
  int64_t rest = ms % 1000;
  if (rest < 0) {
    rest += 1000;
    --seconds;
  }
  google::protobuf::Timestamp ts;
  ts.set_seconds(seconds);
  ts.set_nanos(static_cast<int32_t>(rest) * 1'000'000);
  return ts;
}

std::string FormatElapsed(Duration d) {
  const long long ms = std::max<long long>(d.count(), 0);
  char buf[48];
  if (ms < 1000) {
    std::snprintf(buf, sizeof buf, "%lldms", ms);
  } else if (ms < 60'000) {
    std::snprintf(buf, sizeof buf, "%lld.%llds", ms / 1000, ms % 1000 / 100);
  } else if (ms < 3'600'000) {
    std::snprintf(buf, sizeof buf, "%lldm%02llds", ms / 60'000, ms / 1000 % 60);
  } else if (ms < 86'400'000) {
    std::snprintf(buf, sizeof buf, "%lldh%02lldm", ms / 3'600'000,
                  ms / 60'000 % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%lldd%02lldh", ms / 86'400'000,
                  ms / 3'600'000 % 24);
  }
  return buf;
}

// ---------------------------------------------------------------- JSON

Json PayloadToJson(const std::string& text) {
  if (text.empty()) return Json();
  auto parsed = dsl::ParseJson(text, PayloadParseOptions());
  if (!parsed.ok()) return Json(text);
  return std::move(parsed).value();
}

Json RunToJson(const v1::Run& run) {
  Json current = Json::array();
  for (const std::string& step : run.current_steps()) current.push_back(step);
  return {
      {"run_id", run.run_id()},
      {"workflow", run.workflow()},
      {"version", run.version()},
      {"status", RunStatusName(run.status())},
      {"input", PayloadToJson(run.input_json())},
      {"output", PayloadToJson(run.output_json())},
      {"error", run.error()},
      {"error_message", run.error_message()},
      {"current_steps", std::move(current)},
      {"created_at", TimestampToJson(run.created_at())},
      {"updated_at", TimestampToJson(run.updated_at())},
      {"ended_at", TimestampToJson(run.ended_at())},
      {"schedule_id", run.schedule_id()},
      {"nominal_time", TimestampToJson(run.nominal_time())},
      {"start_at", TimestampToJson(run.start_at())},
  };
}

Json EventToJson(const v1::HistoryEvent& event) {
  return {
      {"seq", event.seq()},
      {"time", TimestampToJson(event.time())},
      {"type", EventTypeName(event.type())},
      {"step", event.step()},
      {"attempt", event.attempt()},
      {"detail", PayloadToJson(event.detail_json())},
  };
}

Json WorkflowToJson(const v1::WorkflowInfo& workflow, bool with_definition) {
  Json doc = {
      {"name", workflow.name()},
      {"version", workflow.version()},
      {"description", workflow.description()},
      {"content_hash", workflow.content_hash()},
      {"created_at", TimestampToJson(workflow.created_at())},
      {"step_count", workflow.step_count()},
  };
  if (with_definition)
    doc["definition"] = PayloadToJson(workflow.definition_json());
  return doc;
}

Json ActionToJson(const v1::ScheduleAction& action) {
  return {
      {"nominal_time", TimestampToJson(action.nominal_time())},
      {"actual_time", TimestampToJson(action.actual_time())},
      {"outcome", ActionOutcomeName(action.outcome())},
      {"run_id", action.run_id()},
      {"error", action.error()},
  };
}

Json ScheduleToJson(const v1::Schedule& schedule) {
  const v1::ScheduleSpec& spec = schedule.spec();
  Json actions = Json::array();
  for (const v1::ScheduleAction& action : schedule.recent_actions())
    actions.push_back(ActionToJson(action));
  return {
      {"schedule_id", schedule.schedule_id()},
      {"status", ScheduleStatus(schedule)},
      {"spec",
       {
           {"workflow", spec.workflow()},
           {"version", spec.version()},
           {"input", PayloadToJson(spec.input_json())},
           {"cron", spec.cron()},
           {"interval_ms", spec.interval_ms()},
           {"timezone", spec.timezone()},
           {"start_time", TimestampToJson(spec.start_time())},
           {"end_time", TimestampToJson(spec.end_time())},
           {"overlap", OverlapName(spec.overlap())},
           {"catchup_window_ms", spec.catchup_window_ms()},
           {"paused", spec.paused()},
           {"note", spec.note()},
       }},
      {"next_fire_time", TimestampToJson(schedule.next_fire_time())},
      {"created_at", TimestampToJson(schedule.created_at())},
      {"updated_at", TimestampToJson(schedule.updated_at())},
      {"revision", schedule.revision()},
      {"recent_actions", std::move(actions)},
      {"last_run_id", schedule.last_run_id()},
      {"last_run_running", schedule.last_run_running()},
      {"buffered_nominal_time",
       TimestampToJson(schedule.buffered_nominal_time())},
      {"runs_started", schedule.runs_started()},
      {"skipped_overlap", schedule.skipped_overlap()},
      {"missed_catchup", schedule.missed_catchup()},
  };
}

// ---------------------------------------------------------------- steps

std::vector<StepRow> DeriveSteps(const std::vector<v1::HistoryEvent>& events,
                                 v1::RunStatus status) {
  StepDeriver deriver;
  for (const v1::HistoryEvent& event : events) deriver.Apply(event);
  return std::move(deriver).Finish(status);
}

Json StepToJson(const StepRow& row) {
  Json duration;
  if (row.started && row.ended)
    duration = std::max<int64_t>((*row.ended - *row.started).count(), 0);
  return {
      {"step", row.step},
      {"compensation", row.compensation},
      {"status", row.status},
      {"attempts", row.attempts},
      {"started_at", row.started ? Json(FormatTime(*row.started)) : Json()},
      {"ended_at", row.ended ? Json(FormatTime(*row.ended)) : Json()},
      {"duration_ms", std::move(duration)},
      {"error", row.error},
      {"error_message", row.error_message},
  };
}

// ---------------------------------------------------------------- text

Table::Table(std::vector<std::string> headers) : headers_(std::move(headers)) {}

void Table::AddRow(std::vector<std::string> cells) {
  cells.resize(headers_.size());
  for (std::string& cell : cells) cell = OneLine(cell);
  rows_.push_back(std::move(cells));
}

std::string Table::Render() const {
  std::vector<size_t> widths(headers_.size());
  for (size_t i = 0; i < headers_.size(); ++i)
    widths[i] = DisplayWidth(headers_[i]);
  for (const auto& row : rows_) {
    for (size_t i = 0; i < row.size(); ++i)
      widths[i] = std::max(widths[i], DisplayWidth(row[i]));
  }
  std::string out;
  auto add_line = [&](const std::vector<std::string>& cells) {
    std::string line;
    for (size_t i = 0; i < cells.size(); ++i) {
      if (i > 0) line += "  ";
      line += i + 1 < cells.size() ? PadRight(cells[i], widths[i]) : cells[i];
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line;
    out += '\n';
  };
  add_line(headers_);
  for (const auto& row : rows_) add_line(row);
  return out;
}

std::string Truncate(std::string_view text, size_t max_chars) {
  if (DisplayWidth(text) <= max_chars) return std::string(text);
  constexpr std::string_view kEllipsis = "...";
  const size_t keep =
      max_chars > kEllipsis.size() ? max_chars - kEllipsis.size() : 0;
  size_t chars = 0;
  size_t end = 0;
  // Stop at the first character past `keep`: its lead byte ends the cut.
  for (; end < text.size(); ++end) {
    if (!IsContinuationByte(text[end]) && chars++ == keep) break;
  }
  return std::string(text.substr(0, end)) + std::string(kEllipsis);
}

std::string CompactPayload(const std::string& text) {
  if (text.empty()) return "";
  const Json value = PayloadToJson(text);
  return value.is_string() && value.get_ref<const std::string&>() == text
             ? OneLine(text)
             : dsl::DumpJson(value);
}

std::string RenderRunTable(const std::vector<v1::Run>& runs, TimePoint now) {
  Table table({"RUN_ID", "WORKFLOW", "VERSION", "STATUS", "CURRENT", "STARTED",
               "DURATION"});
  for (const v1::Run& run : runs) {
    std::string current;
    for (const std::string& step : run.current_steps()) {
      if (!current.empty()) current += ",";
      current += step;
    }
    bool so_far = false;
    table.AddRow({run.run_id(), run.workflow(), std::to_string(run.version()),
                  RunStatusName(run.status()),
                  current.empty() ? "-" : Truncate(current, 40),
                  TimeOrDash(run.created_at()),
                  RunDuration(run, now, &so_far)});
  }
  return table.Render();
}

std::string RenderRunCard(const v1::Run& run, TimePoint now) {
  std::string out;
  auto line = [&](std::string_view label, const std::string& value) {
    out += PadRight(std::string(label) + ":", 11);
    out += OneLine(value);
    out += '\n';
  };
  line("Run", run.run_id());
  line("Workflow",
       run.workflow() + " (version " + std::to_string(run.version()) + ")");
  if (!run.schedule_id().empty()) line("Schedule", run.schedule_id());
  if (ToTimePoint(run.nominal_time()))
    line("Nominal", TimeOrDash(run.nominal_time()));
  line("Status", RunStatusName(run.status()));
  if (run.current_steps_size() > 0) {
    std::string current;
    for (const std::string& step : run.current_steps()) {
      if (!current.empty()) current += ", ";
      current += step;
    }
    line("Current", current);
  }
  line("Created", TimeOrDash(run.created_at()));
  if (ToTimePoint(run.start_at())) line("Start at", TimeOrDash(run.start_at()));
  if (ToTimePoint(run.ended_at())) line("Ended", TimeOrDash(run.ended_at()));
  bool so_far = false;
  const std::string duration = RunDuration(run, now, &so_far);
  line("Duration", so_far ? duration + " so far" : duration);
  if (!run.error().empty()) {
    line("Error", run.error_message().empty()
                      ? run.error()
                      : run.error() + ": " + run.error_message());
  }
  line("Input", Truncate(CompactPayload(run.input_json()), 300));
  if (!run.output_json().empty())
    line("Output", Truncate(CompactPayload(run.output_json()), 300));
  return out;
}

std::string RenderStepTable(const std::vector<StepRow>& rows) {
  const bool any_error =
      std::any_of(rows.begin(), rows.end(),
                  [](const StepRow& row) { return !row.error.empty(); });
  std::vector<std::string> headers = {"STEP", "STATUS", "ATTEMPTS", "STARTED",
                                      "DURATION"};
  if (any_error) headers.push_back("ERROR");
  Table table(std::move(headers));
  for (const StepRow& row : rows) {
    std::vector<std::string> cells = {
        row.compensation ? "↺ " + row.step + " (compensation)" : row.step,
        row.status, row.attempts > 0 ? std::to_string(row.attempts) : "-",
        row.started ? FormatTime(*row.started) : "-",
        row.started && row.ended ? FormatElapsed(*row.ended - *row.started)
                                 : "-"};
    if (any_error) {
      std::string error = row.error;
      if (!row.error_message.empty()) error += ": " + row.error_message;
      cells.push_back(Truncate(error, 60));
    }
    table.AddRow(std::move(cells));
  }
  return table.Render();
}

namespace {

constexpr size_t kDetailChars = 80;

std::vector<std::string> EventCells(const v1::HistoryEvent& event) {
  return {std::to_string(event.seq()),
          TimeOrDash(event.time()),
          EventTypeName(event.type()),
          event.step().empty() ? "-" : event.step(),
          event.attempt() > 0 ? std::to_string(event.attempt()) : "-",
          Truncate(CompactPayload(event.detail_json()), kDetailChars)};
}

const std::vector<std::string> kEventHeaders = {"SEQ",  "TIME",    "TYPE",
                                                "STEP", "ATTEMPT", "DETAIL"};
// Widths for events printed as they arrive: the time's fixed length and the
// longest event type, COMPENSATION_COMPLETED.
const size_t kEventWidths[] = {5, 24, 22, 20, 7};

std::string FixedLine(const std::vector<std::string>& cells) {
  std::string line;
  for (size_t i = 0; i < cells.size(); ++i) {
    if (i > 0) line += "  ";
    line += i + 1 < cells.size() ? PadRight(OneLine(cells[i]), kEventWidths[i])
                                 : OneLine(cells[i]);
  }
  while (!line.empty() && line.back() == ' ') line.pop_back();
  return line + "\n";
}

}  // namespace

std::string RenderEventTable(const std::vector<v1::HistoryEvent>& events) {
  Table table(kEventHeaders);
  for (const v1::HistoryEvent& event : events) table.AddRow(EventCells(event));
  return table.Render();
}

std::string EventHeaderLine() { return FixedLine(kEventHeaders); }

std::string EventLine(const v1::HistoryEvent& event) {
  return FixedLine(EventCells(event));
}

std::string RenderWorkflowTable(
    const std::vector<v1::WorkflowInfo>& workflows) {
  Table table({"NAME", "VERSION", "STEPS", "CREATED", "DESCRIPTION"});
  for (const v1::WorkflowInfo& workflow : workflows) {
    table.AddRow({workflow.name(), std::to_string(workflow.version()),
                  std::to_string(workflow.step_count()),
                  TimeOrDash(workflow.created_at()),
                  Truncate(workflow.description(), 60)});
  }
  return table.Render();
}

std::string RenderWorkflowCard(const v1::WorkflowInfo& workflow) {
  std::string out;
  auto line = [&](std::string_view label, const std::string& value) {
    out += PadRight(std::string(label) + ":", 14);
    out += OneLine(value);
    out += '\n';
  };
  line("Workflow", workflow.name());
  line("Version", std::to_string(workflow.version()));
  if (!workflow.description().empty())
    line("Description", workflow.description());
  line("Steps", std::to_string(workflow.step_count()));
  line("Created", TimeOrDash(workflow.created_at()));
  if (!workflow.content_hash().empty())
    line("Content hash", workflow.content_hash());
  out += '\n';
  const Json definition = PayloadToJson(workflow.definition_json());
  out += definition.is_string() ? definition.get<std::string>()
                                : dsl::DumpJson(definition, 2);
  out += '\n';
  return out;
}

std::string ScheduleSpecText(const v1::ScheduleSpec& spec) {
  if (!spec.cron().empty()) {
    return spec.cron() + " (" +
           (spec.timezone().empty() ? "UTC" : spec.timezone()) + ")";
  }
  if (spec.interval_ms() > 0)
    return "every " + FormatDuration(Duration(spec.interval_ms()));
  return "-";
}

namespace {

std::string WorkflowOfSchedule(const v1::ScheduleSpec& spec, bool long_form) {
  if (spec.version() == 0)
    return long_form ? spec.workflow() + " (latest version)" : spec.workflow();
  return long_form ? spec.workflow() + " (version " +
                         std::to_string(spec.version()) + ")"
                   : spec.workflow() + " v" + std::to_string(spec.version());
}

std::string LastRunText(const v1::Schedule& schedule) {
  if (schedule.last_run_id().empty()) return "-";
  return schedule.last_run_id() +
         (schedule.last_run_running() ? " (running)" : "");
}

}  // namespace

std::string RenderScheduleTable(const std::vector<v1::Schedule>& schedules) {
  Table table({"SCHEDULE_ID", "WORKFLOW", "SPEC", "OVERLAP", "STATUS",
               "NEXT_FIRE", "LAST_RUN"});
  for (const v1::Schedule& schedule : schedules) {
    const v1::ScheduleSpec& spec = schedule.spec();
    table.AddRow({schedule.schedule_id(), WorkflowOfSchedule(spec, false),
                  Truncate(ScheduleSpecText(spec), 50),
                  OverlapName(spec.overlap()), ScheduleStatus(schedule),
                  TimeOrDash(schedule.next_fire_time()),
                  LastRunText(schedule)});
  }
  return table.Render();
}

std::string RenderScheduleCard(const v1::Schedule& schedule) {
  const v1::ScheduleSpec& spec = schedule.spec();
  std::string out;
  auto line = [&](std::string_view label, const std::string& value) {
    out += PadRight(std::string(label) + ":", 12);
    out += OneLine(value);
    out += '\n';
  };
  line("Schedule", schedule.schedule_id());
  line("Workflow", WorkflowOfSchedule(spec, true));
  if (!spec.cron().empty()) {
    line("Cron", spec.cron());
    line("Time zone", spec.timezone().empty() ? "UTC" : spec.timezone());
  } else {
    line("Interval", spec.interval_ms() > 0
                         ? FormatDuration(Duration(spec.interval_ms()))
                         : "-");
    if (!spec.timezone().empty()) line("Time zone", spec.timezone());
  }
  line("Overlap", OverlapName(spec.overlap()));
  line("Catch-up", spec.catchup_window_ms() > 0
                       ? FormatDuration(Duration(spec.catchup_window_ms()))
                       : "1h (default)");
  if (ToTimePoint(spec.start_time()))
    line("Start", TimeOrDash(spec.start_time()));
  if (ToTimePoint(spec.end_time())) line("End", TimeOrDash(spec.end_time()));
  line("Status", ScheduleStatus(schedule));
  if (!spec.note().empty()) line("Note", spec.note());
  line("Input", spec.input_json().empty()
                    ? "{}"
                    : Truncate(CompactPayload(spec.input_json()), 300));
  line("Next fire", TimeOrDash(schedule.next_fire_time()));
  line("Runs", std::to_string(schedule.runs_started()) + " started, " +
                   std::to_string(schedule.skipped_overlap()) +
                   " skipped (overlap), " +
                   std::to_string(schedule.missed_catchup()) +
                   " missed (catch-up window)");
  line("Last run",
       schedule.last_run_id().empty()
           ? "-"
           : schedule.last_run_id() +
                 (schedule.last_run_running() ? " (running)" : " (ended)"));
  if (ToTimePoint(schedule.buffered_nominal_time()))
    line("Buffered", "a fire for " +
                         TimeOrDash(schedule.buffered_nominal_time()) +
                         " starts when the last run ends");
  line("Created", TimeOrDash(schedule.created_at()));
  line("Updated", TimeOrDash(schedule.updated_at()));
  line("Revision", std::to_string(schedule.revision()));
  return out;
}

std::string RenderActionTable(
    const google::protobuf::RepeatedPtrField<v1::ScheduleAction>& actions) {
  const bool any_error = std::any_of(
      actions.begin(), actions.end(),
      [](const v1::ScheduleAction& a) { return !a.error().empty(); });
  std::vector<std::string> headers = {"NOMINAL", "ACTUAL", "OUTCOME", "RUN_ID"};
  if (any_error) headers.push_back("ERROR");
  Table table(std::move(headers));
  for (const v1::ScheduleAction& action : actions) {
    std::vector<std::string> cells = {
        TimeOrDash(action.nominal_time()), TimeOrDash(action.actual_time()),
        ActionOutcomeName(action.outcome()),
        action.run_id().empty() ? "-" : action.run_id()};
    if (any_error) cells.push_back(Truncate(action.error(), 80));
    table.AddRow(std::move(cells));
  }
  return table.Render();
}

}  // namespace sagaflow::cli
