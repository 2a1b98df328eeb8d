// What the server commands print, from hand-built messages: no server.
#include "cli/render.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace sagaflow::cli {
namespace {

// 2026-11-25T10:00:00Z
constexpr int64_t kBaseSeconds = 1795600800;

google::protobuf::Timestamp At(int64_t ms_after_base) {
  google::protobuf::Timestamp ts;
  const int64_t ms = kBaseSeconds * 1000 + ms_after_base;
  ts.set_seconds(ms / 1000);
  ts.set_nanos(static_cast<int32_t>(ms % 1000) * 1'000'000);
  return ts;
}

TimePoint TimeAt(int64_t ms_after_base) {
  return FromUnixMillis(kBaseSeconds * 1000 + ms_after_base);
}

// Builds a history with seq numbers and times 100 ms apart.
class History {
 public:
  History& Add(v1::EventType type, std::string step = "", uint32_t attempt = 0,
               std::string detail = "") {
    v1::HistoryEvent& e = events_.emplace_back();
    e.set_seq(events_.size());
    *e.mutable_time() = At(static_cast<int64_t>(events_.size()) * 100);
    e.set_type(type);
    e.set_step(std::move(step));
    e.set_attempt(attempt);
    e.set_detail_json(std::move(detail));
    return *this;
  }
  const std::vector<v1::HistoryEvent>& events() const { return events_; }

 private:
  std::vector<v1::HistoryEvent> events_;
};

const StepRow* Find(const std::vector<StepRow>& rows, const std::string& step,
                    bool compensation, int nth = 0) {
  for (const StepRow& row : rows) {
    if (row.step == step && row.compensation == compensation && nth-- == 0)
      return &row;
  }
  return nullptr;
}

TEST(RenderNames, StatusesAndEventTypesWithoutPrefix) {
  EXPECT_EQ(RunStatusName(v1::RUN_STATUS_COMPLETED), "COMPLETED");
  EXPECT_EQ(RunStatusName(v1::RUN_STATUS_COMPENSATION_FAILED),
            "COMPENSATION_FAILED");
  EXPECT_EQ(RunStatusName(static_cast<v1::RunStatus>(42)), "UNKNOWN(42)");
  EXPECT_EQ(EventTypeName(v1::EVENT_TYPE_STEP_RETRY_SCHEDULED),
            "STEP_RETRY_SCHEDULED");
  EXPECT_EQ(EventTypeName(v1::EVENT_TYPE_RUN_CANCELLED), "RUN_CANCELLED");
  EXPECT_EQ(EventTypeName(static_cast<v1::EventType>(99)), "UNKNOWN(99)");
}

TEST(RenderNames, ParseRunStatusIsForgiving) {
  EXPECT_EQ(ParseRunStatus("completed"), v1::RUN_STATUS_COMPLETED);
  EXPECT_EQ(ParseRunStatus("Compensation-Failed"),
            v1::RUN_STATUS_COMPENSATION_FAILED);
  EXPECT_EQ(ParseRunStatus("RUN_STATUS_SUSPENDED"), v1::RUN_STATUS_SUSPENDED);
  EXPECT_EQ(ParseRunStatus("unspecified"), std::nullopt);
  EXPECT_EQ(ParseRunStatus("done"), std::nullopt);
  EXPECT_EQ(ParseRunStatus(""), std::nullopt);
  EXPECT_EQ(RunStatusNames(),
            "RUNNING, COMPLETED, FAILED, COMPENSATING, COMPENSATED, "
            "COMPENSATION_FAILED, CANCELLED, SUSPENDED");
}

TEST(RenderNames, StoppedStatuses) {
  EXPECT_FALSE(IsStopped(v1::RUN_STATUS_RUNNING));
  EXPECT_FALSE(IsStopped(v1::RUN_STATUS_COMPENSATING));
  EXPECT_TRUE(IsStopped(v1::RUN_STATUS_SUSPENDED));
  EXPECT_TRUE(IsStopped(v1::RUN_STATUS_COMPENSATION_FAILED));
  EXPECT_TRUE(IsStopped(v1::RUN_STATUS_COMPLETED));
}

TEST(RenderTimes, Rfc3339UtcAlwaysWithMilliseconds) {
  EXPECT_EQ(FormatTimestamp(At(0)), "2026-11-25T10:00:00.000Z");
  EXPECT_EQ(FormatTimestamp(At(1250)), "2026-11-25T10:00:01.250Z");
  EXPECT_EQ(FormatTimestamp(google::protobuf::Timestamp()), "");
  EXPECT_TRUE(TimestampToJson(google::protobuf::Timestamp()).is_null());
  EXPECT_EQ(TimestampToJson(At(7)), "2026-11-25T10:00:00.007Z");
  // Out of Timestamp's range: clamped, not overflowed.
  google::protobuf::Timestamp huge;
  huge.set_seconds(std::numeric_limits<int64_t>::max());
  huge.set_nanos(-5);
  EXPECT_EQ(FormatTimestamp(huge), "9999-12-31T23:59:59.000Z");
}

TEST(RenderTimes, ElapsedForPeople) {
  using std::chrono::milliseconds;
  EXPECT_EQ(FormatElapsed(milliseconds(0)), "0ms");
  EXPECT_EQ(FormatElapsed(milliseconds(-5)), "0ms");
  EXPECT_EQ(FormatElapsed(milliseconds(850)), "850ms");
  EXPECT_EQ(FormatElapsed(milliseconds(12'345)), "12.3s");
  EXPECT_EQ(FormatElapsed(milliseconds(245'000)), "4m05s");
  EXPECT_EQ(FormatElapsed(milliseconds(7'380'000)), "2h03m");
  EXPECT_EQ(FormatElapsed(milliseconds(273'600'000)), "3d04h");
}

TEST(RenderJson, PayloadsAreValues) {
  EXPECT_TRUE(PayloadToJson("").is_null());
  EXPECT_EQ(PayloadToJson(R"({"a":[1,2]})"), Json::parse(R"({"a":[1,2]})"));
  EXPECT_EQ(PayloadToJson("42"), Json(42));
  // Not JSON: shown as the text it is rather than lost.
  EXPECT_EQ(PayloadToJson("{oops"), Json("{oops"));
}

TEST(RenderJson, RunFields) {
  v1::Run run;
  run.set_run_id("r-1");
  run.set_workflow("order");
  run.set_version(3);
  run.set_status(v1::RUN_STATUS_COMPENSATED);
  run.set_input_json(R"({"order_id":"o-9"})");
  run.set_error("CardDeclined");
  run.set_error_message("card declined");
  run.add_current_steps("charge");
  *run.mutable_created_at() = At(0);
  *run.mutable_updated_at() = At(1500);
  *run.mutable_ended_at() = At(1500);
  const Json doc = RunToJson(run);
  EXPECT_EQ(doc["run_id"], "r-1");
  EXPECT_EQ(doc["workflow"], "order");
  EXPECT_EQ(doc["version"], 3);
  EXPECT_EQ(doc["status"], "COMPENSATED");
  EXPECT_EQ(doc["input"], Json::parse(R"({"order_id":"o-9"})"));
  EXPECT_TRUE(doc["output"].is_null());
  EXPECT_EQ(doc["error"], "CardDeclined");
  EXPECT_EQ(doc["error_message"], "card declined");
  EXPECT_EQ(doc["current_steps"], Json::array({"charge"}));
  EXPECT_EQ(doc["created_at"], "2026-11-25T10:00:00.000Z");
  EXPECT_EQ(doc["ended_at"], "2026-11-25T10:00:01.500Z");
  EXPECT_FALSE(doc.contains("input_json"));
}

TEST(RenderJson, EventFields) {
  History h;
  h.Add(v1::EVENT_TYPE_STEP_FAILED, "charge", 2,
        R"({"error":"Boom","message":"x"})");
  const Json doc = EventToJson(h.events()[0]);
  EXPECT_EQ(doc, Json::parse(R"({"seq": 1, "time": "2026-11-25T10:00:00.100Z",
      "type": "STEP_FAILED", "step": "charge", "attempt": 2,
      "detail": {"error": "Boom", "message": "x"}})"));
  History empty_detail;
  empty_detail.Add(v1::EVENT_TYPE_RUN_STARTED);
  EXPECT_TRUE(EventToJson(empty_detail.events()[0])["detail"].is_null());
}

TEST(RenderJson, WorkflowFields) {
  v1::WorkflowInfo w;
  w.set_name("tiny");
  w.set_version(2);
  w.set_definition_json(R"({"name":"tiny"})");
  w.set_step_count(2);
  EXPECT_FALSE(WorkflowToJson(w, false).contains("definition"));
  const Json doc = WorkflowToJson(w, true);
  EXPECT_EQ(doc["definition"], Json::parse(R"({"name":"tiny"})"));
  EXPECT_EQ(doc["version"], 2);
  EXPECT_EQ(doc["step_count"], 2);
  EXPECT_TRUE(doc["created_at"].is_null());
}

// A saga: reserve completes, charge fails twice (a retry in between) and then
// for good, the saga compensates reserve after one failed compensation
// attempt.
History SagaHistory() {
  History h;
  h.Add(v1::EVENT_TYPE_RUN_STARTED)
      .Add(v1::EVENT_TYPE_STEP_SCHEDULED, "reserve", 1,
           R"({"activity":"inv.reserve"})")
      .Add(v1::EVENT_TYPE_STEP_STARTED, "reserve", 1)
      .Add(v1::EVENT_TYPE_STEP_COMPLETED, "reserve", 1, R"({"output":{}})")
      .Add(v1::EVENT_TYPE_STEP_SCHEDULED, "charge", 1)
      .Add(v1::EVENT_TYPE_STEP_STARTED, "charge", 1)
      .Add(v1::EVENT_TYPE_STEP_FAILED, "charge", 1,
           R"({"error":"Timeout","message":"slow"})")
      .Add(v1::EVENT_TYPE_STEP_RETRY_SCHEDULED, "charge", 2,
           R"({"delay_ms":200})")
      .Add(v1::EVENT_TYPE_STEP_SCHEDULED, "charge", 2)
      .Add(v1::EVENT_TYPE_STEP_STARTED, "charge", 2)
      .Add(v1::EVENT_TYPE_STEP_FAILED, "charge", 2,
           R"({"error":"CardDeclined","message":"declined"})")
      .Add(v1::EVENT_TYPE_COMPENSATION_STARTED, "reserve", 1)
      .Add(v1::EVENT_TYPE_STEP_STARTED, "reserve", 1,
           R"({"compensation":true})")
      .Add(v1::EVENT_TYPE_COMPENSATION_FAILED, "reserve", 1,
           R"({"error":"Down","message":"m","final":false})")
      .Add(v1::EVENT_TYPE_STEP_RETRY_SCHEDULED, "reserve", 2,
           R"({"delay_ms":100,"compensation":true})")
      .Add(v1::EVENT_TYPE_COMPENSATION_STARTED, "reserve", 2)
      .Add(v1::EVENT_TYPE_COMPENSATION_COMPLETED, "reserve", 2)
      .Add(v1::EVENT_TYPE_RUN_COMPENSATED);
  return h;
}

TEST(RenderSteps, RetriesAndCompensations) {
  const auto rows =
      DeriveSteps(SagaHistory().events(), v1::RUN_STATUS_COMPENSATED);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].step, "reserve");
  EXPECT_EQ(rows[0].status, "COMPLETED");
  EXPECT_EQ(rows[0].attempts, 1u);
  EXPECT_EQ(rows[0].started, TimeAt(200));
  EXPECT_EQ(rows[0].ended, TimeAt(400));

  EXPECT_EQ(rows[1].step, "charge");
  EXPECT_EQ(rows[1].status, "FAILED");
  EXPECT_EQ(rows[1].attempts, 2u);
  EXPECT_EQ(rows[1].error, "CardDeclined");
  EXPECT_EQ(rows[1].error_message, "declined");
  EXPECT_EQ(rows[1].started, TimeAt(500));
  EXPECT_EQ(rows[1].ended, TimeAt(1100));

  EXPECT_EQ(rows[2].step, "reserve");
  EXPECT_TRUE(rows[2].compensation);
  EXPECT_EQ(rows[2].status, "COMPENSATED");
  EXPECT_EQ(rows[2].attempts, 2u);
  EXPECT_EQ(rows[2].started, TimeAt(1200));
  EXPECT_EQ(rows[2].ended, TimeAt(1700));

  const Json doc = StepToJson(rows[2]);
  EXPECT_EQ(doc["step"], "reserve");
  EXPECT_EQ(doc["compensation"], true);
  EXPECT_EQ(doc["status"], "COMPENSATED");
  EXPECT_EQ(doc["attempts"], 2);
  EXPECT_EQ(doc["duration_ms"], 500);
  EXPECT_EQ(doc["started_at"], "2026-11-25T10:00:01.200Z");

  const std::string table = RenderStepTable(rows);
  EXPECT_NE(table.find("↺ reserve (compensation)  COMPENSATED"),
            std::string::npos)
      << table;
  EXPECT_NE(table.find("CardDeclined: declined"), std::string::npos) << table;
}

TEST(RenderSteps, CaughtChoiceWaitSignalAndLoops) {
  History h;
  h.Add(v1::EVENT_TYPE_RUN_STARTED)
      .Add(v1::EVENT_TYPE_STEP_SCHEDULED, "charge", 1)
      .Add(v1::EVENT_TYPE_STEP_STARTED, "charge", 1)
      .Add(v1::EVENT_TYPE_STEP_FAILED, "charge", 1,
           R"({"error":"CardDeclined","message":"no"})")
      .Add(v1::EVENT_TYPE_STEP_CAUGHT, "charge", 1,
           R"({"error":"CardDeclined","message":"no","next":"check"})")
      .Add(v1::EVENT_TYPE_STEP_COMPLETED, "check", 0, R"({"next":"pause"})")
      .Add(v1::EVENT_TYPE_TIMER_STARTED, "pause", 0, R"({"due":"x"})")
      .Add(v1::EVENT_TYPE_TIMER_FIRED, "pause")
      .Add(v1::EVENT_TYPE_STEP_COMPLETED, "pause", 0, R"({"output":{}})")
      // The loop comes back to charge: a second execution, a second row.
      .Add(v1::EVENT_TYPE_STEP_SCHEDULED, "charge", 1)
      .Add(v1::EVENT_TYPE_STEP_STARTED, "charge", 1)
      .Add(v1::EVENT_TYPE_STEP_COMPLETED, "charge", 1, R"({"output":{}})")
      .Add(v1::EVENT_TYPE_STEP_STARTED, "approve", 0, R"({"signal":"ok"})");
  const auto rows = DeriveSteps(h.events(), v1::RUN_STATUS_RUNNING);
  ASSERT_EQ(rows.size(), 5u);
  EXPECT_EQ(rows[0].step, "charge");
  EXPECT_EQ(rows[0].status, "CAUGHT");
  EXPECT_EQ(rows[0].error, "CardDeclined");
  EXPECT_EQ(rows[1].step, "check");
  EXPECT_EQ(rows[1].status, "COMPLETED");
  EXPECT_EQ(rows[1].attempts, 0u);
  EXPECT_EQ(rows[2].step, "pause");
  EXPECT_EQ(rows[2].status, "COMPLETED");
  EXPECT_EQ(rows[2].started, TimeAt(700));
  EXPECT_EQ(rows[3].step, "charge");
  EXPECT_EQ(rows[3].status, "COMPLETED");
  EXPECT_EQ(rows[4].step, "approve");
  EXPECT_EQ(rows[4].status, "WAITING");
  EXPECT_FALSE(rows[4].ended.has_value());
  EXPECT_NE(RenderStepTable(rows).find("approve  WAITING    -"),
            std::string::npos)
      << RenderStepTable(rows);
}

TEST(RenderSteps, WorkInFlightWhenTheRunStopped) {
  History h;
  h.Add(v1::EVENT_TYPE_RUN_STARTED)
      .Add(v1::EVENT_TYPE_STEP_SCHEDULED, "book", 1)
      .Add(v1::EVENT_TYPE_STEP_STARTED, "book", 1)
      .Add(v1::EVENT_TYPE_RUN_CANCEL_REQUESTED, "", 0, R"({"reason":"r"})")
      .Add(v1::EVENT_TYPE_RUN_CANCELLED);
  auto rows = DeriveSteps(h.events(), v1::RUN_STATUS_CANCELLED);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].status, "CANCELLED");
  // Still running while the status is unknown or RUNNING.
  EXPECT_EQ(DeriveSteps(h.events(), v1::RUN_STATUS_UNSPECIFIED)[0].status,
            "RUNNING");

  // Suspended with a step in flight, then resumed: the new attempt continues
  // the same row.
  History s;
  s.Add(v1::EVENT_TYPE_STEP_SCHEDULED, "a", 1)
      .Add(v1::EVENT_TYPE_STEP_SCHEDULED, "b", 1)
      .Add(v1::EVENT_TYPE_STEP_FAILED, "b", 1, R"({"error":"E"})")
      .Add(v1::EVENT_TYPE_RUN_SUSPENDED, "b", 0, R"({"error":"E"})");
  rows = DeriveSteps(s.events(), v1::RUN_STATUS_SUSPENDED);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].status, "INTERRUPTED");
  EXPECT_EQ(rows[1].status, "FAILED");
  s.Add(v1::EVENT_TYPE_RUN_RESUMED)
      .Add(v1::EVENT_TYPE_STEP_SCHEDULED, "b", 2)
      .Add(v1::EVENT_TYPE_STEP_SCHEDULED, "a", 2)
      .Add(v1::EVENT_TYPE_STEP_COMPLETED, "a", 2)
      .Add(v1::EVENT_TYPE_STEP_COMPLETED, "b", 2);
  rows = DeriveSteps(s.events(), v1::RUN_STATUS_RUNNING);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].status, "COMPLETED");
  EXPECT_EQ(rows[0].attempts, 2u);
  EXPECT_EQ(rows[1].status, "COMPLETED");
  EXPECT_EQ(rows[1].attempts, 2u);
}

TEST(RenderSteps, ConcurrentMapIterationsGetARowEach) {
  History h;
  h.Add(v1::EVENT_TYPE_STEP_STARTED, "each", 0, R"({"items":2})")
      .Add(v1::EVENT_TYPE_STEP_SCHEDULED, "thumb", 1)
      .Add(v1::EVENT_TYPE_STEP_SCHEDULED, "thumb", 1)
      .Add(v1::EVENT_TYPE_STEP_COMPLETED, "thumb", 1)
      .Add(v1::EVENT_TYPE_STEP_FAILED, "thumb", 1, R"({"error":"E"})")
      .Add(v1::EVENT_TYPE_STEP_RETRY_SCHEDULED, "thumb", 2)
      .Add(v1::EVENT_TYPE_STEP_SCHEDULED, "thumb", 2)
      .Add(v1::EVENT_TYPE_STEP_COMPLETED, "thumb", 2)
      .Add(v1::EVENT_TYPE_STEP_COMPLETED, "each", 0);
  const auto rows = DeriveSteps(h.events(), v1::RUN_STATUS_RUNNING);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].status, "COMPLETED");
  const StepRow* first = Find(rows, "thumb", false, 0);
  const StepRow* second = Find(rows, "thumb", false, 1);
  ASSERT_TRUE(first && second);
  EXPECT_EQ(first->status, "COMPLETED");
  EXPECT_EQ(first->attempts, 1u);
  EXPECT_EQ(second->status, "COMPLETED");
  EXPECT_EQ(second->attempts, 2u);
}

TEST(RenderSteps, EventsOutOfTheOrdinaryDoNotCrash) {
  History h;
  h.Add(v1::EVENT_TYPE_STEP_COMPLETED, "", 0, "not json")
      .Add(v1::EVENT_TYPE_STEP_RETRY_SCHEDULED, "x", 7)
      .Add(v1::EVENT_TYPE_COMPENSATION_COMPLETED, "y", 3, "[1]")
      .Add(v1::EVENT_TYPE_STEP_CAUGHT, "z", 0, R"({"error":5})")
      .Add(static_cast<v1::EventType>(77), "w", 1);
  const auto rows = DeriveSteps(h.events(), v1::RUN_STATUS_COMPLETED);
  // The step-less event is run-level and gets no row; y and z do.
  EXPECT_EQ(rows.size(), 2u);
  EXPECT_FALSE(RenderStepTable(rows).empty());
}

TEST(RenderSteps, DelayedStartTimerIsNotAStep) {
  History h;
  h.Add(v1::EVENT_TYPE_RUN_STARTED, "", 0)
      .Add(v1::EVENT_TYPE_TIMER_STARTED, "", 0,
           R"({"due":"2026-12-08T06:00:00Z","purpose":"start_at"})");
  EXPECT_TRUE(DeriveSteps(h.events(), v1::RUN_STATUS_RUNNING).empty());
  h.Add(v1::EVENT_TYPE_TIMER_FIRED, "", 0)
      .Add(v1::EVENT_TYPE_STEP_SCHEDULED, "a", 1);
  const auto rows = DeriveSteps(h.events(), v1::RUN_STATUS_RUNNING);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].step, "a");
}

TEST(RenderText, TablePadsUtf8ByCharactersAndKeepsRowsOnOneLine) {
  Table table({"A", "BB"});
  table.AddRow({"↺ x", "1"});
  table.AddRow({"long\nvalue", "2"});
  EXPECT_EQ(table.Render(),
            "A           BB\n"
            "↺ x         1\n"
            "long value  2\n");
}

TEST(RenderText, TruncateNeverSplitsACharacter) {
  EXPECT_EQ(Truncate("abcdef", 6), "abcdef");
  EXPECT_EQ(Truncate("abcdefg", 6), "abc...");
  EXPECT_EQ(Truncate("ééééééé", 6), "ééé...");
  EXPECT_EQ(Truncate("abc", 2), "...");
}

TEST(RenderText, RunTableAndCard) {
  v1::Run done;
  done.set_run_id("r-1");
  done.set_workflow("order");
  done.set_version(2);
  done.set_status(v1::RUN_STATUS_COMPLETED);
  done.set_output_json(R"({"tracking": "T1"})");
  *done.mutable_created_at() = At(0);
  *done.mutable_ended_at() = At(2500);
  v1::Run going = done;
  going.set_run_id("r-2");
  going.set_status(v1::RUN_STATUS_RUNNING);
  going.clear_ended_at();
  going.clear_output_json();
  going.add_current_steps("a");
  going.add_current_steps("b");
  const std::string table = RenderRunTable({done, going}, TimeAt(65'000));
  EXPECT_EQ(table,
            "RUN_ID  WORKFLOW  VERSION  STATUS     CURRENT  STARTED          "
            "         DURATION\n"
            "r-1     order     2        COMPLETED  -        "
            "2026-11-25T10:00:00.000Z  2.5s\n"
            "r-2     order     2        RUNNING    a,b      "
            "2026-11-25T10:00:00.000Z  1m05s\n");

  const std::string card = RenderRunCard(done, TimeAt(65'000));
  EXPECT_NE(card.find("Status:    COMPLETED\n"), std::string::npos) << card;
  EXPECT_NE(card.find("Workflow:  order (version 2)\n"), std::string::npos);
  EXPECT_NE(card.find("Duration:  2.5s\n"), std::string::npos);
  EXPECT_NE(card.find("Output:    {\"tracking\":\"T1\"}\n"), std::string::npos);
  EXPECT_NE(RenderRunCard(going, TimeAt(65'000)).find("1m05s so far"),
            std::string::npos);
}

TEST(RenderText, EventTableCutsLongDetails) {
  History h;
  h.Add(v1::EVENT_TYPE_RUN_STARTED, "", 0,
        R"({"input": ")" + std::string(200, 'x') + R"("})");
  h.Add(v1::EVENT_TYPE_STEP_SCHEDULED, "reserve", 1,
        R"({"activity": "inv.reserve"})");
  const std::string table = RenderEventTable(h.events());
  EXPECT_NE(table.find("SEQ  TIME                      TYPE            STEP"
                       "     ATTEMPT  DETAIL\n"),
            std::string::npos)
      << table;
  EXPECT_NE(table.find("2    2026-11-25T10:00:00.200Z  STEP_SCHEDULED  "
                       "reserve  1        {\"activity\":\"inv.reserve\"}\n"),
            std::string::npos)
      << table;
  EXPECT_NE(table.find("xxx...\n"), std::string::npos);
  const std::string line = EventLine(h.events()[0]);
  EXPECT_LT(line.size(), 200u);
  EXPECT_EQ(line.rfind("1      2026-11-25T10:00:00.100Z  RUN_STARTED", 0), 0u)
      << line;
}

TEST(RenderNames, OverlapPoliciesAndOutcomes) {
  EXPECT_EQ(OverlapName(v1::OVERLAP_POLICY_SKIP), "skip");
  EXPECT_EQ(OverlapName(v1::OVERLAP_POLICY_UNSPECIFIED), "skip");
  EXPECT_EQ(OverlapName(v1::OVERLAP_POLICY_CANCEL_OTHER), "cancel_other");
  EXPECT_EQ(OverlapName(static_cast<v1::OverlapPolicy>(9)), "unknown(9)");
  EXPECT_EQ(ParseOverlap("buffer_one"), v1::OVERLAP_POLICY_BUFFER_ONE);
  EXPECT_EQ(ParseOverlap("Allow-All"), v1::OVERLAP_POLICY_ALLOW_ALL);
  EXPECT_EQ(ParseOverlap("OVERLAP_POLICY_SKIP"), v1::OVERLAP_POLICY_SKIP);
  EXPECT_EQ(ParseOverlap("unspecified"), std::nullopt);
  EXPECT_EQ(ParseOverlap(""), std::nullopt);
  EXPECT_EQ(OverlapNames(), "skip, buffer_one, allow_all or cancel_other");
  EXPECT_EQ(ActionOutcomeName(v1::ScheduleAction::OUTCOME_SKIPPED_OVERLAP),
            "SKIPPED_OVERLAP");
  EXPECT_EQ(ActionOutcomeName(static_cast<v1::ScheduleAction::Outcome>(42)),
            "UNKNOWN(42)");
}

TEST(RenderTimes, ToTimestampRoundTrips) {
  EXPECT_EQ(ToTimestamp(TimeAt(1250)).seconds(), kBaseSeconds + 1);
  EXPECT_EQ(ToTimestamp(TimeAt(1250)).nanos(), 250'000'000);
  EXPECT_EQ(ToTimePoint(ToTimestamp(TimeAt(1250))), TimeAt(1250));
  const auto before_epoch = ToTimestamp(FromUnixMillis(-1));
  EXPECT_EQ(before_epoch.seconds(), -1);
  EXPECT_EQ(before_epoch.nanos(), 999'000'000);
}

// A cron schedule with every field set, two actions and a kept fire.
v1::Schedule FullSchedule() {
  v1::Schedule s;
  s.set_schedule_id("nightly");
  v1::ScheduleSpec* spec = s.mutable_spec();
  spec->set_workflow("report");
  spec->set_version(2);
  spec->set_input_json(R"({"day": "today"})");
  spec->set_cron("0 2 * * *");
  spec->set_timezone("Europe/Paris");
  *spec->mutable_start_time() = At(0);
  *spec->mutable_end_time() = At(86'400'000);
  spec->set_overlap(v1::OVERLAP_POLICY_BUFFER_ONE);
  spec->set_catchup_window_ms(600'000);
  spec->set_paused(true);
  spec->set_note("db migration");
  *s.mutable_next_fire_time() = At(3'600'000);
  *s.mutable_created_at() = At(0);
  *s.mutable_updated_at() = At(500);
  s.set_revision(7);
  v1::ScheduleAction* failed = s.add_recent_actions();
  *failed->mutable_nominal_time() = At(60'000);
  *failed->mutable_actual_time() = At(60'250);
  failed->set_outcome(v1::ScheduleAction::OUTCOME_START_FAILED);
  failed->set_error("workflow \"report\" version 2 not found");
  v1::ScheduleAction* started = s.add_recent_actions();
  *started->mutable_nominal_time() = At(0);
  *started->mutable_actual_time() = At(20);
  started->set_outcome(v1::ScheduleAction::OUTCOME_STARTED);
  started->set_run_id("nightly-1");
  s.set_last_run_id("nightly-1");
  s.set_last_run_running(true);
  *s.mutable_buffered_nominal_time() = At(120'000);
  s.set_runs_started(5);
  s.set_skipped_overlap(2);
  s.set_missed_catchup(1);
  return s;
}

TEST(RenderJson, ScheduleFields) {
  const Json doc = ScheduleToJson(FullSchedule());
  EXPECT_EQ(doc, Json::parse(R"({
      "schedule_id": "nightly",
      "status": "paused",
      "spec": {
        "workflow": "report", "version": 2, "input": {"day": "today"},
        "cron": "0 2 * * *", "interval_ms": 0, "timezone": "Europe/Paris",
        "start_time": "2026-11-25T10:00:00.000Z",
        "end_time": "2026-11-26T10:00:00.000Z",
        "overlap": "buffer_one", "catchup_window_ms": 600000,
        "paused": true, "note": "db migration"},
      "next_fire_time": "2026-11-25T11:00:00.000Z",
      "created_at": "2026-11-25T10:00:00.000Z",
      "updated_at": "2026-11-25T10:00:00.500Z",
      "revision": 7,
      "recent_actions": [
        {"nominal_time": "2026-11-25T10:01:00.000Z",
         "actual_time": "2026-11-25T10:01:00.250Z", "outcome": "START_FAILED",
         "run_id": "", "error": "workflow \"report\" version 2 not found"},
        {"nominal_time": "2026-11-25T10:00:00.000Z",
         "actual_time": "2026-11-25T10:00:00.020Z", "outcome": "STARTED",
         "run_id": "nightly-1", "error": ""}],
      "last_run_id": "nightly-1",
      "last_run_running": true,
      "buffered_nominal_time": "2026-11-25T10:02:00.000Z",
      "runs_started": 5, "skipped_overlap": 2, "missed_catchup": 1})"));

  v1::Schedule bare;
  bare.set_schedule_id("b");
  bare.mutable_spec()->set_interval_ms(300'000);
  const Json empty = ScheduleToJson(bare);
  EXPECT_EQ(empty["status"], "ended");
  EXPECT_TRUE(empty["spec"]["input"].is_null());
  EXPECT_TRUE(empty["spec"]["start_time"].is_null());
  EXPECT_EQ(empty["spec"]["overlap"], "skip");
  EXPECT_TRUE(empty["next_fire_time"].is_null());
  EXPECT_EQ(empty["recent_actions"], Json::array());
}

TEST(RenderJson, RunScheduleAndDelayedStartFields) {
  v1::Run run;
  run.set_run_id("nightly-2026-11-25T10:00:00Z");
  run.set_schedule_id("nightly");
  *run.mutable_nominal_time() = At(0);
  Json doc = RunToJson(run);
  EXPECT_EQ(doc["schedule_id"], "nightly");
  EXPECT_EQ(doc["nominal_time"], "2026-11-25T10:00:00.000Z");
  EXPECT_TRUE(doc["start_at"].is_null());
  v1::Run later;
  *later.mutable_start_at() = At(600'000);
  doc = RunToJson(later);
  EXPECT_EQ(doc["schedule_id"], "");
  EXPECT_TRUE(doc["nominal_time"].is_null());
  EXPECT_EQ(doc["start_at"], "2026-11-25T10:10:00.000Z");
}

TEST(RenderText, RunCardWithScheduleAndStartAt) {
  v1::Run run;
  run.set_run_id("r-1");
  run.set_workflow("report");
  run.set_version(1);
  run.set_status(v1::RUN_STATUS_RUNNING);
  *run.mutable_created_at() = At(0);
  const std::string plain = RenderRunCard(run, TimeAt(1000));
  EXPECT_EQ(plain.find("Schedule:"), std::string::npos) << plain;
  EXPECT_EQ(plain.find("Nominal:"), std::string::npos);
  EXPECT_EQ(plain.find("Start at:"), std::string::npos);
  run.set_schedule_id("nightly");
  *run.mutable_nominal_time() = At(-60'000);
  *run.mutable_start_at() = At(600'000);
  const std::string card = RenderRunCard(run, TimeAt(1000));
  EXPECT_NE(card.find("Workflow:  report (version 1)\n"
                      "Schedule:  nightly\n"
                      "Nominal:   2026-11-25T09:59:00.000Z\n"
                      "Status:    RUNNING\n"),
            std::string::npos)
      << card;
  EXPECT_NE(card.find("Created:   2026-11-25T10:00:00.000Z\n"
                      "Start at:  2026-11-25T10:10:00.000Z\n"),
            std::string::npos)
      << card;
}

TEST(RenderText, ScheduleSpecText) {
  v1::ScheduleSpec spec;
  spec.set_cron("*/5 * * * *");
  EXPECT_EQ(ScheduleSpecText(spec), "*/5 * * * * (UTC)");
  spec.set_timezone("America/New_York");
  EXPECT_EQ(ScheduleSpecText(spec), "*/5 * * * * (America/New_York)");
  spec.Clear();
  spec.set_interval_ms(90'000);
  EXPECT_EQ(ScheduleSpecText(spec), "every 1m30s");
  spec.Clear();
  EXPECT_EQ(ScheduleSpecText(spec), "-");
}

TEST(RenderText, ScheduleTableCardAndActions) {
  const v1::Schedule full = FullSchedule();
  v1::Schedule tick;
  tick.set_schedule_id("tick");
  tick.mutable_spec()->set_workflow("ping");
  tick.mutable_spec()->set_interval_ms(300'000);
  *tick.mutable_next_fire_time() = At(300'000);
  EXPECT_EQ(RenderScheduleTable({full, tick}),
            "SCHEDULE_ID  WORKFLOW   SPEC                      OVERLAP     "
            "STATUS  NEXT_FIRE                 LAST_RUN\n"
            "nightly      report v2  0 2 * * * (Europe/Paris)  buffer_one  "
            "paused  2026-11-25T11:00:00.000Z  nightly-1 (running)\n"
            "tick         ping       every 5m                  skip        "
            "active  2026-11-25T10:05:00.000Z  -\n");

  EXPECT_EQ(RenderScheduleCard(full),
            "Schedule:   nightly\n"
            "Workflow:   report (version 2)\n"
            "Cron:       0 2 * * *\n"
            "Time zone:  Europe/Paris\n"
            "Overlap:    buffer_one\n"
            "Catch-up:   10m\n"
            "Start:      2026-11-25T10:00:00.000Z\n"
            "End:        2026-11-26T10:00:00.000Z\n"
            "Status:     paused\n"
            "Note:       db migration\n"
            "Input:      {\"day\":\"today\"}\n"
            "Next fire:  2026-11-25T11:00:00.000Z\n"
            "Runs:       5 started, 2 skipped (overlap), 1 missed (catch-up "
            "window)\n"
            "Last run:   nightly-1 (running)\n"
            "Buffered:   a fire for 2026-11-25T10:02:00.000Z starts when the "
            "last run ends\n"
            "Created:    2026-11-25T10:00:00.000Z\n"
            "Updated:    2026-11-25T10:00:00.500Z\n"
            "Revision:   7\n");

  const std::string card = RenderScheduleCard(tick);
  EXPECT_NE(card.find("Workflow:   ping (latest version)\n"
                      "Interval:   5m\n"
                      "Overlap:    skip\n"
                      "Catch-up:   1h (default)\n"
                      "Status:     active\n"
                      "Input:      {}\n"),
            std::string::npos)
      << card;
  EXPECT_EQ(card.find("Time zone:"), std::string::npos);
  EXPECT_NE(card.find("Last run:   -\n"), std::string::npos);
  EXPECT_EQ(card.find("Buffered:"), std::string::npos);

  EXPECT_EQ(RenderActionTable(full.recent_actions()),
            "NOMINAL                   ACTUAL                    OUTCOME       "
            "RUN_ID     ERROR\n"
            "2026-11-25T10:01:00.000Z  2026-11-25T10:01:00.250Z  START_FAILED  "
            "-          workflow \"report\" version 2 not found\n"
            "2026-11-25T10:00:00.000Z  2026-11-25T10:00:00.020Z  STARTED       "
            "nightly-1\n");
  // No ERROR column when no action has one.
  EXPECT_EQ(RenderActionTable(tick.recent_actions()),
            "NOMINAL  ACTUAL  OUTCOME  RUN_ID\n");
}

}  // namespace
}  // namespace sagaflow::cli
