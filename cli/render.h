// What the server commands print, kept apart from the RPCs so it can be tested
// with hand-built messages: enum names, times, payloads as JSON values, the
// step table derived from a run's history, and plain-text tables and cards.
// Only protobuf messages appear here, never gRPC.
#ifndef SAGAFLOW_CLI_RENDER_H_
#define SAGAFLOW_CLI_RENDER_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/time.h"
#include "dsl/json.h"
#include "sagaflow/v1/schedule_service.pb.h"
#include "sagaflow/v1/types.pb.h"

namespace sagaflow::cli {

namespace v1 = ::sagaflow::v1;
using dsl::Json;

// ---------------------------------------------------------------- names

// "COMPLETED" for RUN_STATUS_COMPLETED; a number unknown to this build is
// printed as "UNKNOWN(<n>)" rather than dropped.
std::string RunStatusName(v1::RunStatus status);
// "STEP_FAILED" for EVENT_TYPE_STEP_FAILED; unknown numbers as above.
std::string EventTypeName(v1::EventType type);
// Reads a status as a user types it: case-insensitive, with or without the
// RUN_STATUS_ prefix. UNSPECIFIED is not accepted.
std::optional<v1::RunStatus> ParseRunStatus(std::string_view text);
// "RUNNING, COMPLETED, ..." for messages.
std::string RunStatusNames();
// A run that is neither RUNNING nor COMPENSATING: nothing happens until an
// operator acts (resume) or ever again (terminal). WatchRun ends there.
bool IsStopped(v1::RunStatus status);
// "skip", "buffer_one", "allow_all", "cancel_other", as the --overlap flag
// takes them. UNSPECIFIED is "skip" (what it means in a spec); unknown numbers
// are "unknown(<n>)".
std::string OverlapName(v1::OverlapPolicy policy);
// Reads an overlap policy as a user types it: case-insensitive, '-' for '_',
// with or without the OVERLAP_POLICY_ prefix. UNSPECIFIED is not accepted.
std::optional<v1::OverlapPolicy> ParseOverlap(std::string_view text);
// "skip, buffer_one, allow_all or cancel_other" for messages.
std::string OverlapNames();
// "STARTED" for OUTCOME_STARTED; unknown numbers as "UNKNOWN(<n>)".
std::string ActionOutcomeName(v1::ScheduleAction::Outcome outcome);
// "paused" (spec.paused), "ended" (not paused and no next fire time: its
// end_time has passed) or "active".
std::string ScheduleStatus(const v1::Schedule& schedule);

// ---------------------------------------------------------------- times

// Nullopt for an unset timestamp (0 seconds, 0 nanos). Values outside the
// years 0001-9999 are clamped, so a bad timestamp cannot overflow.
std::optional<TimePoint> ToTimePoint(const google::protobuf::Timestamp& ts);
// RFC 3339 in UTC, always with milliseconds: "2026-11-25T10:00:00.250Z".
std::string FormatTime(TimePoint t);
// FormatTime, or "" for an unset timestamp.
std::string FormatTimestamp(const google::protobuf::Timestamp& ts);
// A JSON string for a set timestamp, null for an unset one.
Json TimestampToJson(const google::protobuf::Timestamp& ts);
// The Timestamp of `t` (whole milliseconds; nanos never negative).
google::protobuf::Timestamp ToTimestamp(TimePoint t);
// Elapsed time for people: "850ms", "12.3s", "4m05s", "2h03m", "3d04h".
std::string FormatElapsed(Duration d);

// ---------------------------------------------------------------- JSON

// A *_json payload embedded as a JSON value: null when empty, the string
// itself when it is not valid JSON (so a malformed payload is still shown).
Json PayloadToJson(const std::string& text);

// The Run's proto field names; input_json and output_json become "input" and
// "output" (JSON values), status has no prefix, unset times are null
// (schedule_id, nominal_time and start_at included).
Json RunToJson(const v1::Run& run);
// {"seq", "time", "type", "step", "attempt", "detail"}.
Json EventToJson(const v1::HistoryEvent& event);
// The WorkflowInfo fields; "definition" (a JSON value) only when asked for.
Json WorkflowToJson(const v1::WorkflowInfo& workflow, bool with_definition);
// The Schedule's proto field names: "spec" an object whose input_json is
// "input" (a JSON value) and whose overlap is OverlapName; times RFC 3339 or
// null; "recent_actions" as ActionToJson; plus "status" (ScheduleStatus).
Json ScheduleToJson(const v1::Schedule& schedule);
// {"nominal_time", "actual_time", "outcome", "run_id", "error"}.
Json ActionToJson(const v1::ScheduleAction& action);

// ---------------------------------------------------------------- steps

// One execution of a step (or of its compensation), as `run show` lists it.
struct StepRow {
  std::string step;
  bool compensation = false;
  // SCHEDULED, RUNNING, WAITING, RETRYING, COMPLETED, FAILED, TIMED_OUT,
  // CAUGHT; COMPENSATING, COMPENSATED, COMPENSATION_FAILED for compensations;
  // CANCELLED or INTERRUPTED for work the run abandoned when it stopped.
  std::string status;
  // Highest attempt number seen; 0 for steps without attempts (choice, wait,
  // signal, parallel, map, succeed, fail).
  uint32_t attempts = 0;
  std::optional<TimePoint> started;
  std::optional<TimePoint> ended;
  std::string error;
  std::string error_message;
};

// Folds a run's history (in seq order) into step rows, in the order the steps
// began; compensations follow as their own rows. A step that runs again (a
// loop, a map iteration) gets a row per execution; events are matched to an
// execution by step name and attempt, which is exact except for concurrent
// iterations of one map step, whose events carry the same name. `status` (the
// run's, RUN_STATUS_UNSPECIFIED when unknown) settles rows the history leaves
// open: work in flight when a run stopped is CANCELLED (after a cancel
// request) or INTERRUPTED.
std::vector<StepRow> DeriveSteps(const std::vector<v1::HistoryEvent>& events,
                                 v1::RunStatus status);
// {"step", "compensation", "status", "attempts", "started_at", "ended_at",
// "duration_ms", "error", "error_message"}.
Json StepToJson(const StepRow& row);

// ---------------------------------------------------------------- text

// Columns padded to their widest cell (in UTF-8 characters), two spaces apart,
// no trailing spaces. Control characters in cells print as spaces, so a
// message with a newline cannot break a row.
class Table {
 public:
  explicit Table(std::vector<std::string> headers);
  void AddRow(std::vector<std::string> cells);
  std::string Render() const;
  bool empty() const { return rows_.empty(); }

 private:
  std::vector<std::string> headers_;
  std::vector<std::vector<std::string>> rows_;
};

// At most `max_chars` UTF-8 characters, the last three "..." when cut; never
// splits a character.
std::string Truncate(std::string_view text, size_t max_chars);
// A payload as one line of compact JSON (the raw text when it is not JSON).
std::string CompactPayload(const std::string& text);

// RUN_ID, WORKFLOW, VERSION, STATUS, CURRENT, STARTED, DURATION. A run still
// going shows its duration so far, measured to `now`.
std::string RenderRunTable(const std::vector<v1::Run>& runs, TimePoint now);
// "Run:", "Workflow:", "Status:", times, error, input and output, one per line.
std::string RenderRunCard(const v1::Run& run, TimePoint now);
// STEP, STATUS, ATTEMPTS, STARTED, DURATION; compensation rows are marked
// "↺ NAME (compensation)".
std::string RenderStepTable(const std::vector<StepRow>& rows);
// SEQ, TIME, TYPE, STEP, ATTEMPT, DETAIL with the detail cut to keep lines
// readable.
std::string RenderEventTable(const std::vector<v1::HistoryEvent>& events);
// The header and one row of the same columns with fixed widths, for events
// printed as they arrive.
std::string EventHeaderLine();
std::string EventLine(const v1::HistoryEvent& event);
// NAME, VERSION, STEPS, CREATED, DESCRIPTION.
std::string RenderWorkflowTable(const std::vector<v1::WorkflowInfo>& workflows);
// "Workflow:", "Version:", ..., then the definition, pretty-printed.
std::string RenderWorkflowCard(const v1::WorkflowInfo& workflow);

// When a schedule fires, in a word or two: "0 2 * * * (Europe/Paris)" (UTC
// when no zone is set), or "every 5m" for an interval.
std::string ScheduleSpecText(const v1::ScheduleSpec& spec);
// SCHEDULE_ID, WORKFLOW, SPEC, OVERLAP, STATUS, NEXT_FIRE, LAST_RUN.
std::string RenderScheduleTable(const std::vector<v1::Schedule>& schedules);
// "Schedule:", "Workflow:", "Spec:", ..., counters, last run, one per line.
std::string RenderScheduleCard(const v1::Schedule& schedule);
// NOMINAL, ACTUAL, OUTCOME, RUN_ID (and ERROR when an action has one).
std::string RenderActionTable(
    const google::protobuf::RepeatedPtrField<v1::ScheduleAction>& actions);

}  // namespace sagaflow::cli

#endif  // SAGAFLOW_CLI_RENDER_H_
