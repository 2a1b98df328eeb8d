// Fuzzes every decoder the engine applies to bytes it reads back from the
// store or receives from clients, and what the engine does next with what
// decodes. The first byte picks the decoder (Kind); the rest is its input:
//
// - run records and checkpoints, loaded as Partition::Load does (checkpoint
//   validation, caches, pending timers and remote attempts) and then driven by
//   a sequence of events taken from the input (recover, timers, attempt
//   outcomes, signals, cancel, resume, restarts), checking that everything the
//   engine would commit decodes and loads again (fuzz/records_fixtures.h);
// - history events, workflow records (compiled as ResolvePlan does), schedule
//   records (FireTimes, validation, the run ids of their fires), tasks,
//   timers, leases and signals;
// - task tokens (TaskToken::Decode, which must only accept what Encode
//   produces, then handed to the decider against a live run);
// - stored JSON (ParseStoredJson must round-trip);
// - page tokens, through a real RocksDbStore's listings, and the key codecs.
//
// Every record that decodes must re-encode to a record equal to itself.
// Crashes, sanitizer reports and broken invariants (Check) are findings.
#include <google/protobuf/stubs/logging.h>
#include <google/protobuf/util/message_differencer.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>

#include "common/time.h"
#include "dsl/compiler.h"
#include "dsl/json.h"
#include "engine/task_token.h"
#include "fuzz/records_fixtures.h"
#include "persistence/keys.h"
#include "persistence/rocksdb_store.h"
#include "schedules/runner.h"
#include "schedules/spec.h"

namespace sagaflow::fuzz {
namespace {

using persistence::RunRecord;

// Decodes `bytes` as the store does (rocksdb_store.cc, Decode) and checks
// that re-encoding gives back an equal record.
template <typename Message>
bool DecodeRecord(std::string_view bytes, Message* out) {
  if (!out->ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return false;
  }
  Message again;
  Check(again.ParseFromString(out->SerializeAsString()),
        "a decoded record does not decode after re-encoding");
  Check(google::protobuf::util::MessageDifferencer::Equals(*out, again),
        "a decoded record changes when re-encoded");
  return true;
}

// A 64-bit mix of the input, so the event sequence driving a run depends on
// every byte without consuming any.
uint64_t Hash(std::string_view bytes) {
  uint64_t h = 0xcbf29ce484222325u;
  for (unsigned char c : bytes) h = (h ^ c) * 0x100000001b3u;
  return h;
}

void DriveLoaded(RunRecord record, std::string_view script) {
  std::unique_ptr<engine::Run> run;
  if (!LoadRecord(std::move(record), &run)) return;
  Driver driver(run.get());
  driver.Recover();
  uint64_t state = Hash(script);
  for (int i = 0; i < 24; ++i) {
    state = state * 6364136223846793005u + 1442695040888963407u;
    driver.Step(static_cast<uint32_t>(state >> 33));
  }
}

void FuzzRunRecord(std::string_view bytes) {
  RunRecord record;
  if (!DecodeRecord(bytes, &record)) return;
  DriveLoaded(std::move(record), bytes);
}

// [status][workflow index] then the checkpoint: reaches checkpoint states
// without the RunRecord framing around them.
void FuzzCheckpoint(std::string_view bytes) {
  if (bytes.size() < 2) return;
  RunRecord record;
  record.set_run_id("r-fuzz");
  record.set_run_no(7);
  record.set_status(static_cast<persistence::RunStatus>(bytes[0] % 9));
  record.set_workflow_version(static_cast<uint8_t>(bytes[1]));
  record.set_input_json(R"({"order_id": "o-1", "items": [1, 2]})");
  record.set_created_at_ms(1'800'000'000'000);
  record.set_updated_at_ms(1'800'000'000'000);
  record.set_last_event_seq(40);
  record.set_checkpoint(std::string(bytes.substr(2)));
  DriveLoaded(std::move(record), bytes);
}

void FuzzHistoryEvent(std::string_view bytes) {
  persistence::HistoryEventRecord event;
  if (!DecodeRecord(bytes, &event)) return;
  // Readers (watchers, the CLI's step table) parse details back.
  if (!event.detail_json().empty()) {
    (void)engine::ParseStoredJson(event.detail_json());
  }
  (void)FormatRfc3339(FromUnixMillis(event.time_ms()));
}

void FuzzWorkflowRecord(std::string_view bytes) {
  persistence::WorkflowRecord record;
  if (!DecodeRecord(bytes, &record)) return;
  // Partition::ResolvePlan compiles a stored definition again.
  auto plan = dsl::CompileDefinition(record.definition_json());
  if (!plan.ok()) (void)dsl::FormatErrors(plan.error());
}

void FuzzScheduleRecord(std::string_view bytes) {
  persistence::ScheduleRecord record;
  if (!DecodeRecord(bytes, &record)) return;
  (void)schedules::OverlapOf(record);
  (void)schedules::CatchupWindowOf(record);
  (void)schedules::ValidateSpec(record);
  // Runner::Load keeps only the schedules whose fire times are valid, then
  // fires each at next_fire_ms under ScheduledRunId.
  auto times = schedules::FireTimes::Of(record);
  if (!times.ok()) return;
  for (int64_t nominal :
       {record.next_fire_ms(), record.buffered_nominal_ms()}) {
    if (nominal != 0) {
      (void)schedules::ScheduledRunId(record.schedule_id(), nominal);
    }
  }
  for (int64_t from : {record.next_fire_ms(), record.updated_at_ms(),
                       int64_t{1'800'000'000'000}}) {
    std::optional<int64_t> at = from;
    for (int i = 0; i < 4 && at; ++i) {
      const int64_t previous = *at;
      at = times->NextAfter(previous);
      if (!at) break;
      Check(*at > previous, "a schedule's next fire time is not later");
      if (record.end_time_ms() > 0) {
        Check(*at <= record.end_time_ms(), "a fire time is after end_time");
      }
      (void)schedules::ScheduledRunId(record.schedule_id(), *at);
    }
  }
}

void FuzzOtherRecord(std::string_view bytes) {
  if (bytes.empty()) return;
  const std::string_view rest = bytes.substr(1);
  switch (static_cast<uint8_t>(bytes[0]) % 5) {
    case 0: {
      persistence::TaskRecord r;
      (void)DecodeRecord(rest, &r);
      break;
    }
    case 1: {
      persistence::TimerRecord r;
      (void)DecodeRecord(rest, &r);
      break;
    }
    case 2: {
      persistence::LeaseRecord r;
      (void)DecodeRecord(rest, &r);
      break;
    }
    case 3: {
      persistence::SignalRecord r;
      if (DecodeRecord(rest, &r) && !r.payload_json().empty()) {
        (void)engine::ParseStoredJson(r.payload_json());
      }
      break;
    }
    default: {
      persistence::ScheduleActionRecord r;
      (void)DecodeRecord(rest, &r);
      break;
    }
  }
}

// A run in flight with deterministic secrets, so seeded tokens can name its
// attempts (records_fixtures.h).
const engine::Run& TokenTarget() {
  static const engine::Run* const run = MakeTokenTarget().release();
  return *run;
}

void FuzzTaskToken(std::string_view bytes) {
  auto token = engine::TaskToken::Decode(bytes);
  if (!token.ok()) return;
  // One text per token: whatever decodes is exactly what Encode writes.
  Check(token->Encode() == bytes,
        "a task token decodes from a non-canonical "
        "text");
  Check(token->SecretMatches(token->secret), "a token's own secret differs");
  // What the engine does with a client's token: the partition of its run
  // decides on it (CompleteTask, FailTask, the start of a polled task,
  // HeartbeatTask).
  for (int kind = 0; kind < 4; ++kind) {
    engine::Run run = TokenTarget();
    engine::Event event;
    switch (kind) {
      case 0: {
        engine::TaskResultEvent ev;
        ev.token = *token;
        ev.output = {{"ok", true}};
        event = std::move(ev);
        break;
      }
      case 1: {
        engine::TaskResultEvent ev;
        ev.token = *token;
        ev.ok = false;
        ev.error = "Boom";
        event = std::move(ev);
        break;
      }
      case 2:
        event = engine::TaskStartedEvent{*token, "w"};
        break;
      default:
        event = engine::HeartbeatEvent{*token};
        break;
    }
    (void)engine::Decide(run, event, FromUnixMillis(1'800'000'100'000),
                         Options());
  }
}

void FuzzStoredJson(std::string_view bytes) {
  auto parsed = engine::ParseStoredJson(bytes);
  // Client payloads are parsed under tighter limits; what passes those is
  // stored, and must always load back.
  auto strict = dsl::ParseJson(bytes, dsl::JsonParseOptions{});
  if (strict.ok()) {
    Check(parsed.ok(), "JSON accepted from a client does not load back");
  }
  if (!parsed.ok()) return;
  const std::string text = dsl::DumpJson(*parsed);
  auto again = engine::ParseStoredJson(text);
  Check(again.ok(), "dumped JSON does not parse back");
  Check(*again == *parsed, "JSON changes through a dump and a parse");
}

// A store with a few workflows and runs, so that listings have pages to
// resume.
persistence::RocksDbStore* ListingStore() {
  static persistence::RocksDbStore* const store = [] {
    std::string dir =
        (std::filesystem::temp_directory_path() / "records_fuzz-XXXXXX")
            .string();
    Check(mkdtemp(dir.data()) != nullptr, "cannot make a temp dir");
    persistence::RocksDbOptions options;
    options.path = dir + "/store";
    options.durability = persistence::Durability::kNone;
    auto opened = persistence::RocksDbStore::Open(options);
    Check(opened.ok(), "cannot open the listing store");
    auto* s = opened->release();
    for (const char* name : {"alpha", "beta", "gamma\x01", "delta"}) {
      for (int v = 0; v < 2; ++v) {
        persistence::WorkflowRecord w;
        w.set_name(name);
        w.set_definition_json("{}");
        w.set_content_hash(std::string(name) + std::to_string(v));
        Check(s->RegisterWorkflow(w).ok(), "cannot register a workflow");
      }
    }
    for (int i = 0; i < 12; ++i) {
      persistence::Transition t;
      t.create = true;
      t.run.set_run_id("run-" + std::to_string(i));
      t.run.set_workflow(i % 2 ? "alpha" : "beta");
      t.run.set_workflow_version(1);
      t.run.set_status(static_cast<persistence::RunStatus>(1 + i % 8));
      t.run.set_created_at_ms(1'800'000'000'000 + (i / 3) * 1000);
      t.run.set_updated_at_ms(1'800'000'000'000 + i * 1000);
      Check(s->Commit(std::move(t)).ok(), "cannot commit a run");
    }
    // Nothing is written from here on and RocksDB keeps its files open, so
    // the directory can go now: a fuzzer that dies (or _Exits, as libFuzzer
    // does) leaves nothing behind.
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
    auto all = s->ListRuns({}, 100, "");
    Check(all.ok() && all->items.size() == 12,
          "the listing store does not list its runs");
    return s;
  }();
  return store;
}

void FuzzPageToken(std::string_view bytes) {
  if (bytes.empty()) return;
  const uint8_t which = static_cast<uint8_t>(bytes[0]);
  const std::string_view token = bytes.substr(1);
  // The key codecs behind tokens and index keys.
  std::string raw;
  if (persistence::keys::FromHex(token, &raw)) {
    Check(persistence::keys::ToHex(raw) == token,
          "hex decodes from a non-canonical text");
  }
  if (token.size() >= 8) {
    std::string u64, time;
    persistence::keys::AppendU64(&u64, persistence::keys::ReadU64(token));
    persistence::keys::AppendTime(&time, persistence::keys::ReadTime(token));
    Check(u64 == token.substr(0, 8) && time == token.substr(0, 8),
          "a key integer does not round-trip");
  }
  persistence::RocksDbStore* store = ListingStore();
  const size_t page_size = 1 + (which >> 4) % 4;
  // Follows next_page_token for a few pages: a token the store returned must
  // always be accepted back.
  std::string next(token);
  for (int page = 0; page < 4; ++page) {
    if (which % 4 == 0) {
      auto listed = store->ListWorkflows(page_size, next);
      if (!listed.ok()) {
        Check(page == 0, "ListWorkflows refuses its own page token");
        return;
      }
      if (listed->next_page_token.empty()) return;
      next = listed->next_page_token;
      continue;
    }
    persistence::RunFilter filter;
    if (which % 4 == 2) filter.workflow = (which & 4) ? "alpha" : "beta";
    if (which % 4 == 3 || (which & 8)) {
      filter.status = static_cast<persistence::RunStatus>(1 + (which >> 5) % 8);
    }
    auto listed = store->ListRuns(filter, page_size, next);
    if (!listed.ok()) {
      Check(page == 0, "ListRuns refuses its own page token");
      return;
    }
    if (listed->next_page_token.empty()) return;
    next = listed->next_page_token;
  }
}

}  // namespace
}  // namespace sagaflow::fuzz

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  // Protobuf logs every string field with invalid UTF-8 it refuses to
  // decode: noise at thousands of inputs a second.
  google::protobuf::SetLogHandler(nullptr);
  // Built once, outside any input: compiling the samples and opening the
  // store are not what is being fuzzed.
  (void)sagaflow::fuzz::Plans();
  (void)sagaflow::fuzz::TokenTarget();
  (void)sagaflow::fuzz::ListingStore();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sagaflow::fuzz;
  if (size == 0) return 0;
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1,
                              size - 1);
  switch (static_cast<Kind>(data[0] % kKindCount)) {
    case Kind::kRunRecord:
      FuzzRunRecord(rest);
      break;
    case Kind::kCheckpoint:
      FuzzCheckpoint(rest);
      break;
    case Kind::kHistoryEvent:
      FuzzHistoryEvent(rest);
      break;
    case Kind::kWorkflowRecord:
      FuzzWorkflowRecord(rest);
      break;
    case Kind::kScheduleRecord:
      FuzzScheduleRecord(rest);
      break;
    case Kind::kOtherRecord:
      FuzzOtherRecord(rest);
      break;
    case Kind::kTaskToken:
      FuzzTaskToken(rest);
      break;
    case Kind::kStoredJson:
      FuzzStoredJson(rest);
      break;
    case Kind::kPageToken:
      FuzzPageToken(rest);
      break;
  }
  return 0;
}
