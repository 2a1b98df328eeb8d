// Mutation fuzzing of the real sagaflowd over gRPC. Valid serialized requests
// for every method of WorkflowService, WorkerService and ScheduleService
// (naming real workflows, runs, task tokens and schedules) are mutated and
// sent as raw bytes through grpc::GenericStub: half field by field (edge
// numbers, unknown enum values, empty, huge or odd strings, other requests'
// strings), which keeps them well-formed, half byte by byte (bit flips,
// truncation, inserted and deleted bytes, fields spliced in from other
// requests, duplication), which mostly does not; some go to another method
// than the one they were built for.
//
// Every reply must be a status the contract allows (CheckReply; the list is
// also in docs/FUZZING.md): the request's fault (INVALID_ARGUMENT, NOT_FOUND,
// ALREADY_EXISTS, FAILED_PRECONDITION, RESOURCE_EXHAUSTED, OUT_OF_RANGE) or OK
// with a body that decodes as the method's response. UNIMPLEMENTED only for
// bytes that do not decode as the method's request (gRPC's callback API
// answers those so, before any handler runs) and for the unknown method;
// DEADLINE_EXCEEDED only for WatchRun (a stream that follows a live run until
// it ends) and for PollTask, whose deadline here is kept just above the
// server's answer margin. Never UNKNOWN (a handler threw), INTERNAL or
// DATA_LOSS (the server failed, not the request), UNAVAILABLE (it went away).
// Afterwards the server must still be alive, run workflows end to end, and
// exit 0 on SIGTERM.
//
// Deterministic for a seed. SAGAFLOW_FUZZ_CALLS (default 3000, about 5 s) and
// SAGAFLOW_FUZZ_SEED (default 20261207) run it longer or differently, e.g.
// SAGAFLOW_FUZZ_CALLS=200000 build/bin/server_test --gtest_filter='ServerFuzz*'
#include <google/protobuf/message.h>
#include <google/protobuf/stubs/logging.h>
#include <grpcpp/generic/generic_stub.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "sagaflow/v1/schedule_service.grpc.pb.h"
#include "tests/server/server_harness.h"

namespace sagaflow::testing {
namespace {

using google::protobuf::Message;
using nlohmann::json;

// Calls in flight at once: enough to interleave requests in the server, few
// enough for a 2-core machine.
constexpr int kInFlight = 4;
constexpr auto kUnaryDeadline = std::chrono::seconds(10);
// A PollTask answers this long before its deadline (server/services.cc,
// kPollDeadlineMargin) so the deadline bounds how long a poll parks.
constexpr auto kPollDeadline = std::chrono::milliseconds(260);
constexpr auto kWatchDeadline = std::chrono::milliseconds(300);

uint64_t EnvOr(const char* name, uint64_t fallback) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return fallback;
  return std::strtoull(value, nullptr, 10);
}

// One method: its full name, and prototypes of its request and response
// types, to check what is sent and what comes back.
struct Method {
  std::string name;  // "/sagaflow.v1.WorkflowService/StartRun"
  const Message* request;
  const Message* response;
  bool streaming = false;
};

// A valid request for one method.
struct Seed {
  size_t method;
  std::string bytes;
};

std::string Hex(const std::string& bytes, size_t max = 160) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < bytes.size() && i < max; ++i) {
    const auto c = static_cast<unsigned char>(bytes[i]);
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 0xf]);
  }
  if (bytes.size() > max) out += "...";
  return out;
}

void CollectStrings(const Message& m, std::vector<std::string>* out) {
  using google::protobuf::FieldDescriptor;
  const google::protobuf::Reflection* r = m.GetReflection();
  std::vector<const FieldDescriptor*> fields;
  r->ListFields(m, &fields);
  for (const FieldDescriptor* f : fields) {
    if (f->cpp_type() == FieldDescriptor::CPPTYPE_STRING) {
      if (f->is_repeated()) {
        for (int i = 0; i < r->FieldSize(m, f); ++i) {
          out->push_back(r->GetRepeatedString(m, f, i));
        }
      } else {
        out->push_back(r->GetString(m, f));
      }
    } else if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE &&
               !f->is_repeated()) {
      CollectStrings(r->GetMessage(m, f), out);
    }
  }
}

bool Decodes(const Message& prototype, const std::string& bytes) {
  std::unique_ptr<Message> m(prototype.New());
  return m->ParseFromString(bytes);
}

class Mutator {
 public:
  explicit Mutator(uint64_t seed) : rng_(seed) {}

  size_t Pick(size_t n) { return n == 0 ? 0 : static_cast<size_t>(rng_() % n); }
  bool OneIn(size_t n) { return Pick(n) == 0; }

  // 1 to 3 edits of `s`; `other` is another seed's bytes, for splicing.
  std::string Mutate(std::string s, const std::string& other) {
    const size_t edits = 1 + Pick(3);
    for (size_t i = 0; i < edits; ++i) {
      const size_t at = Pick(s.size() + 1);
      switch (Pick(9)) {
        case 0:  // Bit flips.
          for (size_t n = 1 + Pick(4); n > 0 && !s.empty(); --n) {
            s[Pick(s.size())] ^= static_cast<char>(1 << Pick(8));
          }
          break;
        case 1:  // Truncation.
          s.resize(at);
          break;
        case 2:  // Random bytes inserted.
          s.insert(at, RandomBytes(1 + Pick(8)));
          break;
        case 3:  // A range deleted.
          if (at < s.size()) s.erase(at, 1 + Pick(16));
          break;
        case 4: {  // An interesting byte (length and varint edges).
          static constexpr char kBytes[] = {0x00, 0x01, 0x7f, '\x80', '\xff'};
          if (!s.empty()) s[Pick(s.size())] = kBytes[Pick(sizeof kBytes)];
          break;
        }
        case 5: {  // Fields of another request spliced in (a merge).
          const size_t from = Pick(other.size() + 1);
          s.insert(at, other.substr(from, Pick(other.size() - from + 1)));
          break;
        }
        case 6:  // Another request appended whole: its fields, read as ours.
          s += other;
          break;
        case 7:  // A field with an absurd length or a huge varint.
          s.insert(at, OneIn(2) ? std::string("\x12\xff\xff\xff\xff\x0f", 6)
                                : std::string("\x18\xff\xff\xff\xff\xff\xff"
                                              "\xff\xff\xff\x01",
                                              11));
          break;
        default:  // Duplicated: every field twice (repeated fields grow).
          s += s;
          break;
      }
    }
    return s;
  }

  // Decodes `bytes` as `prototype`, changes one to three fields to values
  // a careless or hostile client might send (edge numbers, unknown enum
  // values, empty, huge or odd strings, other requests' strings, cleared or
  // extra elements), and encodes it again: well-formed requests that reach
  // the handlers with odd values. `dictionary` holds every string of every
  // seed (run ids, tokens, names, JSON).
  std::string MutateFields(const Message& prototype, const std::string& bytes,
                           const std::vector<std::string>& dictionary) {
    std::unique_ptr<Message> m(prototype.New());
    if (!m->ParseFromString(bytes)) return bytes;
    for (size_t n = 1 + Pick(3); n > 0; --n)
      MutateOneField(m.get(), dictionary, 0);
    return m->SerializeAsString();
  }

 private:
  void MutateOneField(Message* m, const std::vector<std::string>& dictionary,
                      int depth) {
    using google::protobuf::FieldDescriptor;
    const google::protobuf::Descriptor* d = m->GetDescriptor();
    const google::protobuf::Reflection* r = m->GetReflection();
    if (d->field_count() == 0) return;
    const FieldDescriptor* f =
        d->field(static_cast<int>(Pick(d->field_count())));
    if (OneIn(8)) {
      r->ClearField(m, f);
      return;
    }
    if (f->is_repeated()) {
      if (f->cpp_type() == FieldDescriptor::CPPTYPE_STRING) {
        for (size_t n = OneIn(4) ? 300 : 1 + Pick(3); n > 0; --n) {
          r->AddString(m, f, AnyString(dictionary));
        }
      } else if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE &&
                 depth < 3) {
        MutateOneField(r->AddMessage(m, f), dictionary, depth + 1);
      }
      return;
    }
    switch (f->cpp_type()) {
      case FieldDescriptor::CPPTYPE_INT32:
        r->SetInt32(m, f, static_cast<int32_t>(AnyNumber()));
        break;
      case FieldDescriptor::CPPTYPE_INT64:
        r->SetInt64(m, f, AnyNumber());
        break;
      case FieldDescriptor::CPPTYPE_UINT32:
        r->SetUInt32(m, f, static_cast<uint32_t>(AnyNumber()));
        break;
      case FieldDescriptor::CPPTYPE_UINT64:
        r->SetUInt64(m, f, static_cast<uint64_t>(AnyNumber()));
        break;
      case FieldDescriptor::CPPTYPE_BOOL:
        r->SetBool(m, f, !r->GetBool(*m, f));
        break;
      case FieldDescriptor::CPPTYPE_ENUM:
        r->SetEnumValue(m, f, static_cast<int>(AnyNumber()));
        break;
      case FieldDescriptor::CPPTYPE_STRING:
        r->SetString(
            m, f,
            OneIn(3) ? EditString(r->GetString(*m, f)) : AnyString(dictionary));
        break;
      case FieldDescriptor::CPPTYPE_MESSAGE:
        if (depth < 3) {
          MutateOneField(r->MutableMessage(m, f), dictionary, depth + 1);
        }
        break;
      default:
        break;
    }
  }

  int64_t AnyNumber() {
    static constexpr int64_t kEdges[] = {
        0,
        1,
        -1,
        2,
        7,
        99,
        1000,
        65535,
        86'400'000,
        std::numeric_limits<int32_t>::max(),
        std::numeric_limits<int32_t>::min(),
        std::numeric_limits<uint32_t>::max(),
        std::numeric_limits<int64_t>::max(),
        std::numeric_limits<int64_t>::min(),
        253'402'300'799,  // 9999-12-31T23:59:59Z, the last valid Timestamp
        253'402'300'800,
        -62'135'596'800,
        999'999'999,
        1'000'000'000,
        1'800'000'000'000};
    if (OneIn(4)) return static_cast<int64_t>(rng_());
    return kEdges[Pick(sizeof kEdges / sizeof kEdges[0])];
  }

  std::string AnyString(const std::vector<std::string>& dictionary) {
    switch (Pick(8)) {
      case 0:
        return "";
      case 1:
        return std::string(1 + Pick(70'000), 'x');
      case 2: {  // Deep JSON.
        const size_t depth = 1 + Pick(5000);
        return std::string(depth, '[') + std::string(depth, ']');
      }
      case 3: {
        static constexpr const char* kOdd[] = {
            "{",
            "[]",
            "null",
            "1e999",
            "-0",
            "\"\\u0000\"",
            "{\"a\":1,\"a\":2}",
            "\xc3\xa9t\xc3\xa9",
            "\xf0\x9f\x98\x80",
            "..",
            "a/b",
            "*",
            "-",
            "v1.00.0.0.1.t.00000000000000000000000000000000",
            "0 0 31 2 *",
            "@reboot",
            "Mars/Olympus",
            "Etc/GMT+14"};
        return kOdd[Pick(sizeof kOdd / sizeof kOdd[0])];
      }
      default:
        return dictionary.empty() ? std::string()
                                  : dictionary[Pick(dictionary.size())];
    }
  }

  // Printable ASCII edits, so the result stays valid UTF-8 (and decodes)
  // when the original was.
  std::string EditString(std::string s) {
    const size_t at = Pick(s.size() + 1);
    switch (Pick(3)) {
      case 0:
        if (!s.empty()) s[Pick(s.size())] = static_cast<char>(32 + Pick(95));
        break;
      case 1:
        if (at < s.size()) s.erase(at, 1 + Pick(8));
        break;
      default:
        s.insert(at,
                 std::string(1 + Pick(4), static_cast<char>(32 + Pick(95))));
        break;
    }
    return s;
  }

  std::string RandomBytes(size_t n) {
    std::string s(n, '\0');
    for (char& c : s) c = static_cast<char>(rng_());
    return s;
  }

  std::mt19937_64 rng_;
};

class ServerFuzzTest : public ::testing::Test {
 protected:
  ServerFuzzTest()
      : server_({"--max-poll-wait", "100ms", "--default-poll-wait", "50ms",
                 "--max-payload-bytes", "65536"}) {}

  void SetUp() override {
    server_.Start();
    schedules_ = v1::ScheduleService::NewStub(server_.channel());
    // Protobuf logs every string field with invalid UTF-8 it refuses to
    // decode; thousands of those are noise here.
    previous_log_handler_ = google::protobuf::SetLogHandler(nullptr);
  }
  void TearDown() override {
    google::protobuf::SetLogHandler(previous_log_handler_);
  }

  size_t AddMethod(const std::string& service, const std::string& name,
                   const Message& request, const Message& response,
                   bool streaming = false) {
    methods_.push_back({"/sagaflow.v1." + service + "/" + name, &request,
                        &response, streaming});
    return methods_.size() - 1;
  }
  void AddSeed(size_t method, const Message& request) {
    ASSERT_EQ(request.GetDescriptor(),
              methods_[method].request->GetDescriptor());
    seeds_.push_back({method, request.SerializeAsString()});
  }

  // Real objects for the requests to name, then one or more valid requests
  // per method.
  void BuildSeeds();
  // Checks one reply against the allowed statuses; records a failure (the
  // first 20 in full) when it is not allowed.
  void CheckReply(const Method& method, const std::string& bytes,
                  const grpc::Status& status, const grpc::ByteBuffer* body);
  grpc::Status Watch(const Method& method, const std::string& bytes);

  ServerProcess server_;
  std::unique_ptr<v1::ScheduleService::Stub> schedules_;
  google::protobuf::LogHandler* previous_log_handler_ = nullptr;
  std::vector<Method> methods_;
  std::vector<Seed> seeds_;
  std::map<std::string, int> codes_;  // "Method CODE" -> count, for the log
  int failures_ = 0;

  // Prototypes for methods_.
  v1::RegisterWorkflowRequest register_req_;
  v1::RegisterWorkflowResponse register_resp_;
  v1::GetWorkflowRequest get_workflow_req_;
  v1::WorkflowInfo workflow_info_;
  v1::ListWorkflowsRequest list_workflows_req_;
  v1::ListWorkflowsResponse list_workflows_resp_;
  v1::StartRunRequest start_req_;
  v1::StartRunResponse start_resp_;
  v1::GetRunRequest get_run_req_;
  v1::Run run_;
  v1::ListRunsRequest list_runs_req_;
  v1::ListRunsResponse list_runs_resp_;
  v1::GetHistoryRequest history_req_;
  v1::GetHistoryResponse history_resp_;
  v1::WatchRunRequest watch_req_;
  v1::HistoryEvent event_;
  v1::SignalRunRequest signal_req_;
  v1::SignalRunResponse signal_resp_;
  v1::CancelRunRequest cancel_req_;
  v1::CancelRunResponse cancel_resp_;
  v1::ResumeRunRequest resume_req_;
  v1::ResumeRunResponse resume_resp_;
  v1::PollTaskRequest poll_req_;
  v1::PollTaskResponse poll_resp_;
  v1::CompleteTaskRequest complete_req_;
  v1::CompleteTaskResponse complete_resp_;
  v1::FailTaskRequest fail_req_;
  v1::FailTaskResponse fail_resp_;
  v1::HeartbeatTaskRequest heartbeat_req_;
  v1::HeartbeatTaskResponse heartbeat_resp_;
  v1::CreateScheduleRequest create_schedule_req_;
  v1::GetScheduleRequest get_schedule_req_;
  v1::ListSchedulesRequest list_schedules_req_;
  v1::ListSchedulesResponse list_schedules_resp_;
  v1::UpdateScheduleRequest update_schedule_req_;
  v1::PauseScheduleRequest pause_schedule_req_;
  v1::UnpauseScheduleRequest unpause_schedule_req_;
  v1::DeleteScheduleRequest delete_schedule_req_;
  v1::DeleteScheduleResponse delete_schedule_resp_;
  v1::TriggerScheduleRequest trigger_schedule_req_;
  v1::TriggerScheduleResponse trigger_schedule_resp_;
  v1::Schedule schedule_;
};

const json kRemoteFlow = {
    {"name", "fuzz_remote"},
    {"start_at", "work"},
    {"on_failure", "compensate"},
    {"steps",
     {{"work",
       {{"type", "task"},
        {"activity", "fuzz.work"},
        {"input", {{"id", "$.input.id"}}},
        {"heartbeat_timeout", "30s"},
        {"compensate", {{"activity", "builtin.noop"}}},
        {"next", "gate"}}},
      {"gate",
       {{"type", "signal"},
        {"signal", "go"},
        {"timeout", "1h"},
        {"next", "pause"}}},
      {"pause", {{"type", "wait"}, {"duration", "10ms"}}}}}};

const json kLocalFlow = {{"name", "fuzz_local"},
                         {"start_at", "echo"},
                         {"steps",
                          {{"echo",
                            {{"type", "task"},
                             {"activity", "builtin.echo"},
                             {"input", {{"v", "$.input"}}},
                             {"next", "fan"}}},
                           {"fan",
                            {{"type", "map"},
                             {"items", "$.input.items"},
                             {"iterator",
                              {{"start_at", "each"},
                               {"steps",
                                {{"each",
                                  {{"type", "task"},
                                   {"activity", "builtin.noop"},
                                   {"input", {{"i", "$.index"}}}}}}}}}}}}}};

void ServerFuzzTest::BuildSeeds() {
  const size_t kRegister = AddMethod("WorkflowService", "RegisterWorkflow",
                                     register_req_, register_resp_);
  const size_t kGetWorkflow = AddMethod("WorkflowService", "GetWorkflow",
                                        get_workflow_req_, workflow_info_);
  const size_t kListWorkflows =
      AddMethod("WorkflowService", "ListWorkflows", list_workflows_req_,
                list_workflows_resp_);
  const size_t kStart =
      AddMethod("WorkflowService", "StartRun", start_req_, start_resp_);
  const size_t kGetRun =
      AddMethod("WorkflowService", "GetRun", get_run_req_, run_);
  const size_t kListRuns =
      AddMethod("WorkflowService", "ListRuns", list_runs_req_, list_runs_resp_);
  const size_t kHistory =
      AddMethod("WorkflowService", "GetHistory", history_req_, history_resp_);
  const size_t kWatch = AddMethod("WorkflowService", "WatchRun", watch_req_,
                                  event_, /*streaming=*/true);
  const size_t kSignal =
      AddMethod("WorkflowService", "SignalRun", signal_req_, signal_resp_);
  const size_t kCancel =
      AddMethod("WorkflowService", "CancelRun", cancel_req_, cancel_resp_);
  const size_t kResume =
      AddMethod("WorkflowService", "ResumeRun", resume_req_, resume_resp_);
  const size_t kPoll =
      AddMethod("WorkerService", "PollTask", poll_req_, poll_resp_);
  const size_t kComplete =
      AddMethod("WorkerService", "CompleteTask", complete_req_, complete_resp_);
  const size_t kFail =
      AddMethod("WorkerService", "FailTask", fail_req_, fail_resp_);
  const size_t kHeartbeat = AddMethod("WorkerService", "HeartbeatTask",
                                      heartbeat_req_, heartbeat_resp_);
  const size_t kCreateSchedule = AddMethod("ScheduleService", "CreateSchedule",
                                           create_schedule_req_, schedule_);
  const size_t kGetSchedule =
      AddMethod("ScheduleService", "GetSchedule", get_schedule_req_, schedule_);
  const size_t kListSchedules =
      AddMethod("ScheduleService", "ListSchedules", list_schedules_req_,
                list_schedules_resp_);
  const size_t kUpdateSchedule = AddMethod("ScheduleService", "UpdateSchedule",
                                           update_schedule_req_, schedule_);
  const size_t kPauseSchedule = AddMethod("ScheduleService", "PauseSchedule",
                                          pause_schedule_req_, schedule_);
  const size_t kUnpauseSchedule = AddMethod(
      "ScheduleService", "UnpauseSchedule", unpause_schedule_req_, schedule_);
  const size_t kDeleteSchedule =
      AddMethod("ScheduleService", "DeleteSchedule", delete_schedule_req_,
                delete_schedule_resp_);
  const size_t kTriggerSchedule =
      AddMethod("ScheduleService", "TriggerSchedule", trigger_schedule_req_,
                trigger_schedule_resp_);
  // Not a method: the server must answer UNIMPLEMENTED, whatever the bytes.
  AddMethod("WorkflowService", "NoSuchMethod", get_run_req_, run_);

  // Objects for the requests to name: both workflows, a completed run, a
  // run whose remote attempt a worker holds (its token), one waiting for a
  // signal, and a schedule.
  Register(server_, kRemoteFlow.dump());
  Register(server_, kLocalFlow.dump());
  const std::string done_run =
      Start(server_, "fuzz_local", R"({"items": [1, 2, 3]})", "fuzz-done");
  ASSERT_EQ(StatusName(AwaitStopped(server_, done_run).status()), "COMPLETED");
  const std::string held_run =
      Start(server_, "fuzz_remote", R"({"id": "held"})", "fuzz-held");
  auto task = Poll(server_, {"fuzz.work"});
  ASSERT_TRUE(task.has_value());
  const std::string signal_run =
      Start(server_, "fuzz_remote", R"({"id": "gate"})", "fuzz-gate");
  auto gate_task = Poll(server_, {"fuzz.work"});
  ASSERT_TRUE(gate_task.has_value());
  ASSERT_TRUE(Complete(server_, gate_task->task_token()).ok());
  v1::CreateScheduleRequest create;
  create.set_schedule_id("fuzz-nightly");
  v1::ScheduleSpec* spec = create.mutable_spec();
  spec->set_workflow("fuzz_local");
  spec->set_input_json(R"({"items": []})");
  spec->set_cron("30 2 * * MON-FRI");
  spec->set_timezone("Europe/Paris");
  spec->set_overlap(v1::OVERLAP_POLICY_BUFFER_ONE);
  spec->set_catchup_window_ms(600'000);
  spec->set_note("fuzzed");
  {
    v1::Schedule created;
    grpc::Status status =
        schedules_->CreateSchedule(Context().get(), create, &created);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  v1::RegisterWorkflowRequest reg;
  reg.set_definition_json(kRemoteFlow.dump());
  AddSeed(kRegister, reg);
  reg.set_definition_json(kLocalFlow.dump());
  AddSeed(kRegister, reg);
  v1::GetWorkflowRequest get_workflow;
  get_workflow.set_name("fuzz_remote");
  get_workflow.set_version(1);
  AddSeed(kGetWorkflow, get_workflow);
  v1::ListWorkflowsRequest list_workflows;
  list_workflows.set_page_size(1);
  AddSeed(kListWorkflows, list_workflows);
  {
    v1::ListWorkflowsResponse page;
    ASSERT_TRUE(server_.workflows()
                    .ListWorkflows(Context().get(), list_workflows, &page)
                    .ok());
    list_workflows.set_page_token(page.next_page_token());
    AddSeed(kListWorkflows, list_workflows);
  }
  v1::StartRunRequest start;
  start.set_workflow("fuzz_local");
  start.set_input_json(R"({"items": [true, {"a": null}], "n": 1.5})");
  AddSeed(kStart, start);
  start.set_workflow("fuzz_remote");
  start.set_version(1);
  start.set_run_id("fuzz-started");
  start.set_start_delay_ms(5);
  AddSeed(kStart, start);
  start.clear_start_delay_ms();
  start.mutable_start_at()->set_seconds(1'800'000'000);
  AddSeed(kStart, start);
  for (const std::string& id : {done_run, held_run, signal_run}) {
    v1::GetRunRequest get_run;
    get_run.set_run_id(id);
    AddSeed(kGetRun, get_run);
    v1::GetHistoryRequest history;
    history.set_run_id(id);
    history.set_after_seq(2);
    AddSeed(kHistory, history);
  }
  v1::ListRunsRequest list_runs;
  list_runs.set_page_size(2);
  AddSeed(kListRuns, list_runs);
  list_runs.set_workflow("fuzz_remote");
  list_runs.set_status(v1::RUN_STATUS_RUNNING);
  AddSeed(kListRuns, list_runs);
  {
    v1::ListRunsRequest first;
    first.set_page_size(1);
    v1::ListRunsResponse page;
    ASSERT_TRUE(
        server_.workflows().ListRuns(Context().get(), first, &page).ok());
    first.set_page_token(page.next_page_token());
    AddSeed(kListRuns, first);
  }
  v1::WatchRunRequest watch;
  watch.set_run_id(done_run);
  AddSeed(kWatch, watch);
  v1::SignalRunRequest signal;
  signal.set_run_id(signal_run);
  signal.set_name("go");
  signal.set_payload_json(R"({"approved": true})");
  AddSeed(kSignal, signal);
  v1::CancelRunRequest cancel;
  cancel.set_run_id(held_run);
  cancel.set_reason("fuzz");
  AddSeed(kCancel, cancel);
  v1::ResumeRunRequest resume;
  resume.set_run_id(signal_run);
  AddSeed(kResume, resume);

  v1::PollTaskRequest poll;
  poll.add_activities("fuzz.work");
  poll.add_activities("other.activity");
  poll.set_worker_id("fuzz-worker");
  poll.set_wait_ms(1);
  AddSeed(kPoll, poll);
  v1::CompleteTaskRequest complete;
  complete.set_task_token(task->task_token());
  complete.set_output_json(R"({"done": [1, 2]})");
  AddSeed(kComplete, complete);
  v1::FailTaskRequest fail;
  fail.set_task_token(task->task_token());
  fail.set_error("CardDeclined");
  fail.set_message("declined");
  fail.set_non_retryable(true);
  AddSeed(kFail, fail);
  v1::HeartbeatTaskRequest heartbeat;
  heartbeat.set_task_token(task->task_token());
  heartbeat.set_details_json(R"({"progress": 0.5})");
  AddSeed(kHeartbeat, heartbeat);

  AddSeed(kCreateSchedule, create);
  create.set_schedule_id("fuzz-hourly");
  create.mutable_spec()->clear_cron();
  create.mutable_spec()->clear_timezone();
  create.mutable_spec()->set_interval_ms(3'600'000);
  create.mutable_spec()->mutable_start_time()->set_seconds(1'700'000'000);
  create.mutable_spec()->mutable_end_time()->set_seconds(1'900'000'000);
  create.mutable_spec()->set_paused(true);
  AddSeed(kCreateSchedule, create);
  v1::GetScheduleRequest get_schedule;
  get_schedule.set_schedule_id("fuzz-nightly");
  AddSeed(kGetSchedule, get_schedule);
  v1::ListSchedulesRequest list_schedules;
  list_schedules.set_page_size(1);
  AddSeed(kListSchedules, list_schedules);
  list_schedules.set_page_token("fuzz-a");
  AddSeed(kListSchedules, list_schedules);
  v1::UpdateScheduleRequest update;
  update.set_schedule_id("fuzz-nightly");
  *update.mutable_spec() = create.spec();
  update.set_expected_revision(1);
  AddSeed(kUpdateSchedule, update);
  v1::PauseScheduleRequest pause;
  pause.set_schedule_id("fuzz-nightly");
  pause.set_note("paused by fuzz");
  AddSeed(kPauseSchedule, pause);
  v1::UnpauseScheduleRequest unpause;
  unpause.set_schedule_id("fuzz-nightly");
  unpause.set_note("back");
  AddSeed(kUnpauseSchedule, unpause);
  v1::DeleteScheduleRequest del;
  del.set_schedule_id("fuzz-hourly");
  AddSeed(kDeleteSchedule, del);
  v1::TriggerScheduleRequest trigger;
  trigger.set_schedule_id("fuzz-nightly");
  trigger.set_overlap(v1::OVERLAP_POLICY_ALLOW_ALL);
  AddSeed(kTriggerSchedule, trigger);
}

void ServerFuzzTest::CheckReply(const Method& method, const std::string& bytes,
                                const grpc::Status& status,
                                const grpc::ByteBuffer* body) {
  const grpc::StatusCode code = status.error_code();
  ++codes_[method.name.substr(method.name.rfind('/') + 1) + " " +
           std::to_string(code)];
  std::string why;
  switch (code) {
    case grpc::StatusCode::OK:
      if (body != nullptr && !Decodes(*method.response, BufferBytes(*body))) {
        why = "an OK reply whose body does not decode as " +
              method.response->GetDescriptor()->full_name();
      }
      break;
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::NOT_FOUND:
    case grpc::StatusCode::ALREADY_EXISTS:
    case grpc::StatusCode::FAILED_PRECONDITION:
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
    case grpc::StatusCode::OUT_OF_RANGE:
      break;
    case grpc::StatusCode::UNIMPLEMENTED:
      // An undecodable request (or an unknown method) is answered before any
      // handler; a decodable one reaching UNIMPLEMENTED means a handler threw.
      if (method.name.find("NoSuchMethod") == std::string::npos &&
          Decodes(*method.request, bytes)) {
        why = "UNIMPLEMENTED for a request that decodes";
      }
      break;
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      if (!method.streaming) why = "no answer before the deadline";
      break;
    default:
      why = "a status no request may cause";
      break;
  }
  if (why.empty()) return;
  ++failures_;
  if (failures_ <= 20) {
    ADD_FAILURE() << method.name << ": " << why << ": code " << code << " \""
                  << status.error_message() << "\"; request (" << bytes.size()
                  << " bytes): " << Hex(bytes);
  }
}

grpc::Status ServerFuzzTest::Watch(const Method& method,
                                   const std::string& bytes) {
  grpc::GenericStub generic(server_.channel());
  grpc::CompletionQueue cq;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + kWatchDeadline);
  auto call = generic.PrepareCall(&context, method.name, &cq);
  void* tag = nullptr;
  bool ok = false;
  call->StartCall(reinterpret_cast<void*>(1));
  cq.Next(&tag, &ok);
  if (ok) {
    grpc::Slice slice(bytes);
    grpc::ByteBuffer request(&slice, 1);
    call->WriteLast(request, grpc::WriteOptions(), reinterpret_cast<void*>(2));
    cq.Next(&tag, &ok);
    for (int reads = 0; ok && reads < 1000; ++reads) {
      grpc::ByteBuffer event;
      call->Read(&event, reinterpret_cast<void*>(3));
      cq.Next(&tag, &ok);
      if (ok && !Decodes(*method.response, BufferBytes(event))) {
        ++failures_;
        ADD_FAILURE() << method.name << ": a streamed event does not decode; "
                      << "request: " << Hex(bytes);
      }
    }
  }
  grpc::Status status;
  call->Finish(&status, reinterpret_cast<void*>(4));
  cq.Next(&tag, &ok);
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
  return status;
}

TEST_F(ServerFuzzTest, MutatedRequestsToEveryMethod) {
  BuildSeeds();
  if (HasFatalFailure()) return;
  // Every string field of every seed, for field mutations to swap in.
  std::vector<std::string> dictionary;
  for (const Seed& seed : seeds_) {
    std::unique_ptr<Message> m(methods_[seed.method].request->New());
    ASSERT_TRUE(m->ParseFromString(seed.bytes));
    CollectStrings(*m, &dictionary);
  }
  const uint64_t calls = EnvOr("SAGAFLOW_FUZZ_CALLS", 3000);
  const uint64_t seed = EnvOr("SAGAFLOW_FUZZ_SEED", 20261207);
  Mutator mutator(seed);

  // Unary calls, kInFlight at a time on one completion queue; WatchRun
  // calls one by one on their own.
  struct Call {
    size_t method = 0;
    std::string bytes;
    grpc::ClientContext context;
    grpc::ByteBuffer response;
    grpc::Status status;
    std::unique_ptr<grpc::GenericClientAsyncResponseReader> reader;
  };
  grpc::GenericStub generic(server_.channel());
  grpc::CompletionQueue cq;
  int in_flight = 0;
  uint64_t sent = 0;
  uint64_t answered = 0;
  const auto started = std::chrono::steady_clock::now();
  auto next_request = [&](size_t* method, std::string* bytes) {
    const Seed& s = seeds_[mutator.Pick(seeds_.size())];
    const Seed& other = seeds_[mutator.Pick(seeds_.size())];
    // Half with fields changed (well-formed), half with bytes changed (mostly
    // malformed), some as built (so the server's state moves on); sometimes
    // sent to another method than its own.
    if (mutator.OneIn(10)) {
      *bytes = s.bytes;
    } else if (mutator.OneIn(2)) {
      *bytes = mutator.MutateFields(*methods_[s.method].request, s.bytes,
                                    dictionary);
      if (mutator.OneIn(5)) *bytes = mutator.Mutate(*bytes, other.bytes);
    } else {
      *bytes = mutator.Mutate(s.bytes, other.bytes);
    }
    *method = mutator.OneIn(8) ? mutator.Pick(methods_.size()) : s.method;
  };
  while (answered < calls) {
    while (in_flight < kInFlight && sent < calls) {
      size_t method = 0;
      std::string bytes;
      next_request(&method, &bytes);
      ++sent;
      if (methods_[method].streaming) {
        CheckReply(methods_[method], bytes, Watch(methods_[method], bytes),
                   nullptr);
        ++answered;
        continue;
      }
      auto* call = new Call;
      call->method = method;
      call->bytes = std::move(bytes);
      const bool poll =
          methods_[method].name.find("/PollTask") != std::string::npos;
      const std::chrono::milliseconds timeout =
          poll ? std::chrono::milliseconds(kPollDeadline)
               : std::chrono::milliseconds(kUnaryDeadline);
      call->context.set_deadline(std::chrono::system_clock::now() + timeout);
      grpc::Slice slice(call->bytes);
      grpc::ByteBuffer request(&slice, 1);
      call->reader = generic.PrepareUnaryCall(
          &call->context, methods_[method].name, request, &cq);
      call->reader->StartCall();
      call->reader->Finish(&call->response, &call->status, call);
      ++in_flight;
    }
    if (in_flight == 0) continue;
    void* tag = nullptr;
    bool ok = false;
    ASSERT_TRUE(cq.Next(&tag, &ok));
    std::unique_ptr<Call> call(static_cast<Call*>(tag));
    --in_flight;
    ++answered;
    const Method& method = methods_[call->method];
    // A poll may come back DEADLINE_EXCEEDED when the client's deadline
    // passes with the server's answer on the wire: only this short
    // deadline's race, not a hang.
    if (method.name.find("/PollTask") != std::string::npos &&
        call->status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
      ++codes_["PollTask late"];
      continue;
    }
    CheckReply(method, call->bytes, call->status,
               call->status.ok() ? &call->response : nullptr);
  }
  cq.Shutdown();
  void* tag = nullptr;
  bool ok = false;
  while (cq.Next(&tag, &ok)) {
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started)
          .count();
  std::string summary;
  for (const auto& [what, count] : codes_) {
    summary += " " + what + ":" + std::to_string(count);
  }
  std::printf("server fuzz: %llu calls in %.1f s (seed %llu), %d failures;%s\n",
              static_cast<unsigned long long>(answered), seconds,
              static_cast<unsigned long long>(seed), failures_,
              summary.c_str());
  EXPECT_EQ(failures_, 0);

  // Still alive, and still serving: a local run and a remote one end to end.
  ASSERT_EQ(kill(server_.pid(), 0), 0) << "the server died:\n" << server_.Log();
  json after = kLocalFlow;
  after["name"] = "fuzz_after";
  ASSERT_EQ(Register(server_, after.dump()), "fuzz_after");
  const std::string local =
      Start(server_, "fuzz_after", R"({"items": [1, 2]})", "after-local");
  EXPECT_EQ(StatusName(AwaitStopped(server_, local).status()), "COMPLETED");
  EXPECT_EQ(GetRun(server_, local).workflow(), "fuzz_after");
  const std::string remote =
      Start(server_, "fuzz_remote", R"({"id": "after"})", "after-remote");
  // Earlier fuzzed starts may have queued attempts of their own: complete
  // tasks until this run's attempt comes up.
  bool completed = false;
  for (int i = 0; i < 5000 && !completed; ++i) {
    auto task = Poll(server_, {"fuzz.work"}, std::chrono::milliseconds(100));
    if (!task) continue;
    EXPECT_TRUE(Complete(server_, task->task_token()).ok());
    completed = task->run_id() == remote;
  }
  ASSERT_TRUE(completed) << "the remote attempt never came up";
  v1::SignalRunRequest go;
  go.set_run_id(remote);
  go.set_name("go");
  v1::SignalRunResponse signalled;
  ASSERT_TRUE(
      server_.workflows().SignalRun(Context().get(), go, &signalled).ok());
  EXPECT_EQ(StatusName(AwaitStopped(server_, remote).status()), "COMPLETED");
  EXPECT_EQ(server_.Terminate(), 0) << server_.Log().substr(0, 4000);
}

}  // namespace
}  // namespace sagaflow::testing
