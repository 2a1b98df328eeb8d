#include "fuzz/records_fixtures.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <utility>

#include "common/time.h"
#include "dsl/compiler.h"
#include "dsl/json.h"
#include "engine/task_token.h"

namespace sagaflow::fuzz {
namespace {

using engine::Decision;
using engine::Dispatch;
using engine::Run;
using engine::TaskToken;
using engine::TimerRequest;
using persistence::RunRecord;

// The engine's clock when a driven run starts: 2027-01-15, so that stored
// times around "now" in seeds are plausible.
constexpr int64_t kStartMs = 1'800'000'000'000;
// Timers further than this from the driver's clock never fire: a partition's
// clock is the wall clock, which does not jump years ahead.
constexpr int64_t kHorizonMs = int64_t{400} * 24 * 3600 * 1000;
// Bounds on what the driver keeps, so a state with thousands of attempts
// stays fast to fuzz.
constexpr size_t kMaxPending = 64;

constexpr const char* kSamples[] = {
    "order_fulfillment", "trip_booking",    "thumbnail_pipeline",
    "approval_flow",     "parallel_fanout", "document_pipeline",
};

std::string ReadSample(const std::string& name) {
  const std::string path =
      std::string(SAGAFLOW_SOURCE_DIR) + "/samples/" + name + ".json";
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  Check(in.good() || in.eof(), "cannot read " + path);
  return text.str();
}

bool IsLowerHex32(std::string_view s) {
  if (s.size() != 2 * TaskToken::kSecretBytes) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
  });
}

// Whether `d.token` is a token TaskToken::Decode must accept: everything it
// was made of is well formed (a fuzzed checkpoint can hold a secret or an
// attempt number no worker could send back).
bool Decodable(const Dispatch& d, const Run& run) {
  const std::string& id = run.record.run_id();
  const size_t dot = d.token.rfind('.');
  return !id.empty() && id.size() <= TaskToken::kMaxRunIdBytes &&
         d.attempt != 0 && dot != std::string::npos &&
         IsLowerHex32(std::string_view(d.token).substr(dot + 1));
}

// The token a worker would send back for `d`, if it can be decoded; checks
// that the engine's encoding and decoding agree.
std::optional<TaskToken> TokenOf(const Dispatch& d, const Run& run) {
  auto token = TaskToken::Decode(d.token);
  if (!token.ok()) {
    Check(!Decodable(d, run),
          "the engine issued a task token that does not "
          "decode: " +
              token.status().message());
    return std::nullopt;
  }
  Check(token->Encode() == d.token, "a decoded task token encodes otherwise");
  Check(token->SecretMatches(token->secret), "a token's secret does not match");
  return std::move(token).value();
}

// What a worker returns: every output field the samples read.
const dsl::Json& Output() {
  static const auto* const output = new dsl::Json(dsl::Json::parse(R"({
    "ok": true, "status": "ok", "approved": true, "images": [{"url": "a"},
    {"url": "b"}], "path": "/tmp/a", "key": "k", "body": "text",
    "stdout": "out", "order_id": "o-1", "reservation_id": "rv-1",
    "charge_id": "ch-1", "booking_id": "bk-1", "tracking": "tr-1",
    "ticket_id": "tk-1", "cache_id": "c-1", "database_id": "db-1",
    "environment_id": "env-1"})"));
  return *output;
}

}  // namespace

void Check(bool condition, std::string_view what) {
  if (condition) return;
  std::fprintf(stderr, "records_fuzz: invariant broken: %.*s\n",
               static_cast<int>(what.size()), what.data());
  std::abort();
}

const std::vector<std::shared_ptr<const dsl::Plan>>& Plans() {
  static const auto* const plans = [] {
    auto* out = new std::vector<std::shared_ptr<const dsl::Plan>>;
    for (const char* name : kSamples) {
      auto plan = dsl::CompileDefinition(ReadSample(name));
      Check(plan.ok(), std::string("sample ") + name + " does not compile");
      out->push_back(std::move(plan).value());
    }
    return out;
  }();
  return *plans;
}

std::shared_ptr<const dsl::Plan> PlanFor(const RunRecord& record) {
  const auto& plans = Plans();
  for (const auto& plan : plans) {
    if (plan->name() == record.workflow()) return plan;
  }
  return plans[record.workflow_version() % plans.size()];
}

const engine::DeciderOptions& Options() {
  static const auto* const options = [] {
    auto* o = new engine::DeciderOptions;
    o->is_in_process = [](std::string_view activity) {
      return activity.substr(0, 8) == "builtin.";
    };
    return o;
  }();
  return *options;
}

std::unique_ptr<Run> NewRun(std::shared_ptr<const dsl::Plan> plan,
                            std::string run_id, std::string input_json) {
  auto run = std::make_unique<Run>();
  run->plan = std::move(plan);
  run->record.set_run_id(std::move(run_id));
  run->record.set_run_no(1);
  run->record.set_workflow(run->plan->name());
  run->record.set_workflow_version(1);
  run->record.set_status(storage::RUN_STATUS_RUNNING);
  run->record.set_created_at_ms(kStartMs);
  run->record.set_updated_at_ms(kStartMs);
  auto input = engine::ParseStoredJson(input_json);
  Check(input.ok(), "a fixture's input does not parse");
  run->input = std::move(input).value();
  run->record.set_input_json(std::move(input_json));
  run->RebuildIndexes();
  return run;
}

std::unique_ptr<Run> MakeTokenTarget() {
  auto run = NewRun(Plans()[0], "r-token",
                    R"({"order_id": "o-1", "amount": 12.5, "items": ["a"]})");
  Decision d = engine::Decide(*run, engine::StartEvent{},
                              FromUnixMillis(kStartMs), Options());
  Check(d.reply.ok() && !d.dispatches.empty(),
        "the token target does not start");
  for (auto& e : *run->state.mutable_execs()) {
    if (!e.secret().empty()) e.set_secret(kTokenSecret);
  }
  run->record.set_last_event_seq(d.events.size());
  return run;
}

bool LoadRecord(RunRecord record, std::unique_ptr<Run>* out) {
  // The order of Partition::Load: plan, checkpoint (decoded, validated),
  // input, caches.
  auto run = std::make_unique<Run>();
  run->plan = PlanFor(record);
  if (!run->state.ParseFromString(record.checkpoint())) return false;
  if (!engine::ValidateCheckpoint(*run->plan, record.status(), run->state)
           .ok()) {
    return false;
  }
  record.clear_checkpoint();
  auto input = engine::ParseStoredJson(
      record.input_json().empty() ? "{}" : record.input_json());
  if (!input.ok()) return false;
  run->input = std::move(input).value();
  run->record = std::move(record);
  run->RebuildIndexes();
  *out = std::move(run);
  return true;
}

Driver::Driver(Run* run, std::function<void(const RunRecord&)> observe)
    : run_(run),
      observe_(std::move(observe)),
      now_(FromUnixMillis(std::max(kStartMs, run->record.updated_at_ms()))) {
  // A stored time far in the future must not drag the clock along.
  if (ToUnixMillis(now_) > kStartMs + kHorizonMs) {
    now_ = FromUnixMillis(kStartMs);
  }
}

void Driver::AddDispatch(Dispatch d) {
  (void)TokenOf(d, *run_);
  if (dispatches_.size() < kMaxPending) {
    dispatches_.push_back({std::move(d), false});
  }
}

void Driver::Recover() {
  timers_.clear();
  dispatches_.clear();
  const auto status = run_->record.status();
  (void)engine::CurrentSteps(*run_);
  if (status == storage::RUN_STATUS_RUNNING ||
      status == storage::RUN_STATUS_COMPENSATING) {
    timers_ = engine::PendingTimers(*run_);
    if (timers_.size() > kMaxPending) timers_.resize(kMaxPending);
    for (Dispatch& d :
         engine::PendingRemoteDispatches(*run_, now_, Options())) {
      AddDispatch(std::move(d));
    }
  }
  Apply(engine::RecoverEvent{});
}

void Driver::Start() { Apply(engine::StartEvent{}); }

void Driver::Apply(const engine::Event& event) {
  Decision d = engine::Decide(*run_, event, now_, Options());
  if (!d.reply.ok()) return;
  // What the partition commits: history that continues without a gap, with
  // details any reader can parse back.
  uint64_t seq = run_->record.last_event_seq();
  for (const auto& e : d.events) {
    Check(e.seq() == ++seq, "a decision's history events skip a seq");
    if (!e.detail_json().empty()) {
      Check(engine::ParseStoredJson(e.detail_json()).ok(),
            "an event's detail_json does not parse back");
    }
  }
  run_->record.set_last_event_seq(seq);
  for (const auto& disarm : d.disarm) {
    timers_.erase(std::remove_if(timers_.begin(), timers_.end(),
                                 [&](const TimerRequest& t) {
                                   return t.ref.compensation ==
                                              disarm.compensation &&
                                          t.ref.exec == disarm.exec;
                                 }),
                  timers_.end());
  }
  for (const TimerRequest& t : d.timers) {
    if (timers_.size() < kMaxPending) timers_.push_back(t);
  }
  for (const std::string& token : d.cancelled_tokens) {
    dispatches_.erase(std::remove_if(dispatches_.begin(), dispatches_.end(),
                                     [&](const Pending& x) {
                                       return x.dispatch.token == token;
                                     }),
                      dispatches_.end());
  }
  for (Dispatch& x : d.dispatches) AddDispatch(std::move(x));
  if (!d.changed) return;
  // The checkpoint as the store would hold it must load again.
  RunRecord stored = run_->record;
  stored.set_checkpoint(run_->state.SerializeAsString());
  std::unique_ptr<Run> reloaded;
  Check(LoadRecord(stored, &reloaded),
        "a checkpoint the engine wrote does not load again");
  if (observe_) observe_(stored);
}

void Driver::Step(uint32_t choice) {
  const uint32_t arg = choice >> 3;
  switch (choice & 7) {
    case 0:
    case 1: {
      if (timers_.empty()) break;
      auto earliest =
          std::min_element(timers_.begin(), timers_.end(),
                           [](const TimerRequest& a, const TimerRequest& b) {
                             return a.due_ms < b.due_ms;
                           });
      const TimerRequest timer = *earliest;
      const int64_t now_ms = ToUnixMillis(now_);
      if ((choice & 7) == 0 && timer.due_ms > now_ms + 1000) break;
      timers_.erase(earliest);
      if (timer.due_ms > now_ms + kHorizonMs) return;
      if (timer.due_ms > now_ms) now_ = FromUnixMillis(timer.due_ms);
      Apply(engine::TimerEvent{timer.ref});
      return;
    }
    case 2:
    case 3:
    case 4: {
      if (dispatches_.empty()) break;
      const size_t at = arg % dispatches_.size();
      Pending& pending = dispatches_[at];
      auto token = TokenOf(pending.dispatch, *run_);
      if (!token) {
        dispatches_.erase(dispatches_.begin() + at);
        return;
      }
      now_ += Duration(1 + arg % 2000);
      if ((choice & 7) == 4) {
        Apply(engine::HeartbeatEvent{*token});
        return;
      }
      if (pending.dispatch.remote && !pending.started && (arg & 8) == 0) {
        pending.started = true;
        Apply(engine::TaskStartedEvent{*token, "fuzz-worker"});
        return;
      }
      dispatches_.erase(dispatches_.begin() + at);
      engine::TaskResultEvent result;
      result.token = *token;
      result.started_at_ms = ToUnixMillis(now_) - 1;
      if ((choice & 7) == 2) {
        result.output = Output();
      } else {
        static constexpr const char* kErrors[] = {"Boom", "CardDeclined",
                                                  "NotFound", "Timeout"};
        result.ok = false;
        result.error = kErrors[arg % 4];
        result.message = "failed by the driver";
        result.non_retryable = (arg & 16) != 0;
      }
      Apply(result);
      return;
    }
    case 5: {
      // A signal some step waits for, or one none does (buffered).
      std::vector<std::string> names = {"unexpected"};
      for (const dsl::Step& s : run_->plan->steps()) {
        if (s.type == dsl::StepType::kSignal)
          names.push_back(s.signal().signal);
      }
      engine::SignalEvent signal;
      signal.name = names[arg % names.size()];
      signal.payload = {{"approved", (arg & 64) != 0}, {"by", "fuzz"}};
      Apply(signal);
      return;
    }
    case 6:
      if (arg % 4 == 0) {
        Apply(engine::CancelEvent{"driver"});
      } else {
        Apply(engine::ResumeEvent{});
      }
      return;
    case 7: {
      // A restart: the run is loaded from what was committed, then recovered.
      RunRecord stored = run_->record;
      stored.set_checkpoint(run_->state.SerializeAsString());
      std::unique_ptr<Run> reloaded;
      Check(LoadRecord(stored, &reloaded),
            "a checkpoint the engine wrote does not load again");
      *run_ = std::move(*reloaded);
      Recover();
      return;
    }
  }
  // Nothing of the chosen kind is pending: let time pass instead.
  now_ += Duration(1000);
}

}  // namespace sagaflow::fuzz
