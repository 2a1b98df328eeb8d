#include "dsl/compiler.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <unordered_map>
#include <utility>

#include "common/text.h"
#include "dsl/fields.h"
#include "dsl/names.h"

namespace sagaflow::dsl {
namespace {

constexpr uint32_t kMaxAttempts = 1000;
constexpr double kMaxBackoffCoefficient = 100.0;
constexpr uint32_t kMaxMapConcurrency = 10000;

const std::vector<std::string_view>& StepTypeNames() {
  static const auto* const names = new std::vector<std::string_view>{
      "task", "choice", "wait", "signal", "parallel", "map", "succeed", "fail"};
  return *names;
}

std::optional<StepType> ParseStepType(std::string_view name) {
  const auto& names = StepTypeNames();
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i] == name) return static_cast<StepType>(i);
  }
  return std::nullopt;
}

// `message` with control characters escaped as Quote would write them. Names
// and keys from the definition are quoted with Quote where a message embeds
// them; this catches what else a message may carry from the definition (a
// malformed path or duration, a regex), so that every error stays one line.
std::string EscapeControlCharacters(std::string message) {
  const bool clean = std::none_of(message.begin(), message.end(), [](char c) {
    return static_cast<unsigned char>(c) < 0x20;
  });
  if (clean) return message;
  std::string out;
  for (char c : message) {
    if (static_cast<unsigned char>(c) >= 0x20) {
      out.push_back(c);
    } else {
      const std::string quoted = Quote(std::string_view(&c, 1));
      out.append(quoted, 1, quoted.size() - 2);  // Without the quotes.
    }
  }
  return out;
}

}  // namespace

class Compiler final : public PathBinder {
 public:
  explicit Compiler(const Limits& limits) : limits_(limits) {}

  CompileResult Run(const Json& doc,
                    const std::vector<DuplicateKey>& duplicates);

  bool Bind(Path* path, const std::string& location) override;
  void Error(const std::string& location, std::string message) override {
    errors_.push_back({location, EscapeControlCharacters(std::move(message))});
  }

 private:
  struct ScopeSource {
    const Json* steps = nullptr;  // The `steps` object.
    const Json* start_at = nullptr;
    std::string location;  // Of the object holding start_at and steps ("" for
                           // the root).
    // False when an edge of the scope may be missing (it failed to resolve, its
    // rule was dropped, or an unknown field might be a misspelt "next"):
    // reachability is then skipped, since "unreachable" would only echo that
    // error.
    bool edges_ok = true;
  };

  void CompileTopLevel(const Json& doc);
  void CompileDefaults(const Json& defaults);
  // Pass 1: registers the steps of a `steps` object (and, recursively, of its
  // branches and iterators) so that every name is known before any edge or path
  // is resolved.
  std::optional<ScopeIndex> CollectScope(const Json& holder,
                                         const std::string& location,
                                         StepIndex owner);
  void CollectStep(const std::string& name, const Json& def,
                   const std::string& location, ScopeIndex scope);
  // Pass 2.
  void CompileScope(ScopeIndex scope);
  void CompileStep(Step& step, const Json& def);
  void CompileTask(Step& step, const Json& def);
  void CompileChoice(Step& step, const Json& def);
  void CompileWait(Step& step, const Json& def);
  void CompileSignal(Step& step, const Json& def);
  void CompileMap(Step& step, const Json& def);
  void CompileSucceed(Step& step, const Json& def);
  void CompileFail(Step& step, const Json& def);
  void CompileCatches(Step& step, const Json& def);
  // Pass 3.
  void CheckReachability(ScopeIndex scope);

  StepIndex ResolveEdge(const Json& value, const std::string& location,
                        ScopeIndex scope);
  std::optional<Duration> DurationField(const Json& object, const char* key,
                                        const std::string& location,
                                        bool allow_zero = false);
  std::optional<RetryPolicy> RetryField(const Json& object,
                                        const std::string& location);
  Template InputField(const Json& object, const std::string& location);
  const Json* RequiredField(const Json& object, const char* key,
                            const std::string& location);
  const Json* StringField(const Json& object, const char* key,
                          const std::string& location, bool required);
  std::string NameHint(std::string_view name, ScopeIndex scope) const;

  const Limits& limits_;
  std::shared_ptr<Plan> plan_{new Plan()};
  ValidationErrors errors_;
  std::vector<const Json*> step_defs_;      // Parallel to plan_->steps_.
  std::vector<ScopeSource> scope_sources_;  // Parallel to plan_->scopes_.
  std::vector<bool> step_type_known_;
  std::unordered_map<std::string, std::string>
      first_location_;  // Step name -> location.
  size_t step_count_ = 0;

  // Defaults from the definition, merged into each task.
  std::optional<Duration> default_timeout_;
  std::optional<Duration> default_heartbeat_;
  std::optional<RetryPolicy> default_retry_;

  StepIndex binding_step_ =
      kNoStep;              // The step whose templates are being compiled.
  size_t edge_errors_ = 0;  // Errors that may hide an edge; see ScopeSource.
};

CompileResult Compiler::Run(const Json& doc,
                            const std::vector<DuplicateKey>& duplicates) {
  if (!doc.is_object()) {
    Error("$", std::string("a workflow definition is a JSON object, got ") +
                   JsonTypeName(doc));
  } else {
    CompileTopLevel(doc);
  }
  // Reported after the walk, which tells which objects are `steps` objects: a
  // repeated key there is a duplicate step name; anywhere else (say, inside an
  // input literal) it is a plain key.
  for (const DuplicateKey& d : duplicates) {
    const bool in_steps = std::any_of(
        scope_sources_.begin(), scope_sources_.end(),
        [&](const ScopeSource& source) {
          return JoinPath(source.location, "steps") == d.object_path;
        });
    Error(JoinPath(d.object_path == "$" ? "" : d.object_path, d.key),
          in_steps ? "duplicate step name " + Quote(d.key)
                   : "duplicate key " + Quote(d.key));
  }
  if (!errors_.empty()) {
    // By location, so that a definition's errors read top to bottom.
    std::stable_sort(errors_.begin(), errors_.end(),
                     [](const ValidationError& a, const ValidationError& b) {
                       return a.path < b.path;
                     });
    return std::move(errors_);
  }
  return std::shared_ptr<const Plan>(std::move(plan_));
}

void Compiler::CompileTopLevel(const Json& doc) {
  static const std::vector<std::string_view> kAllowed = {
      "name",    "description", "start_at", "steps",
      "timeout", "on_failure",  "defaults"};
  CheckFields(doc, "", kAllowed, "the workflow definition", this);

  if (const Json* name = StringField(doc, "name", "", true)) {
    plan_->name_ = name->get<std::string>();
    if (!IsQualifiedName(plan_->name_)) {
      Error("name", "invalid workflow name " + DumpJson(*name) +
                        ": use a letter, then letters, digits, '_', '.' or '-' "
                        "(128 at most)");
    }
  }
  if (const Json* d = StringField(doc, "description", "", false)) {
    plan_->description_ = d->get<std::string>();
  }
  plan_->run_timeout_ = DurationField(doc, "timeout", "");
  if (const Json* policy = StringField(doc, "on_failure", "", false)) {
    static const std::vector<std::string_view> kPolicies = {"compensate",
                                                            "fail", "suspend"};
    const std::string p = policy->get<std::string>();
    if (p == "compensate") {
      plan_->on_failure_ = OnFailure::kCompensate;
    } else if (p == "fail") {
      plan_->on_failure_ = OnFailure::kFail;
    } else if (p == "suspend") {
      plan_->on_failure_ = OnFailure::kSuspend;
    } else {
      Error("on_failure", "unknown policy " + Quote(p) +
                              DidYouMean(p, kPolicies) +
                              "; expected compensate, fail or suspend");
    }
  }
  if (auto it = doc.find("defaults"); it != doc.end()) CompileDefaults(*it);

  // Pass 1: every step of every scope gets its index, so names resolve in
  // pass 2.
  const bool has_steps = doc.contains("steps");
  if (!has_steps) Error("steps", "required field is missing");
  if (!doc.contains("start_at")) Error("start_at", "required field is missing");
  if (!has_steps) return;
  if (!CollectScope(doc, "", kNoStep)) return;
  if (step_count_ > limits_.max_steps) {
    // Steps past the limit were not collected, so passes 2 and 3 would only
    // report edges to them as missing: the limit is the one error to fix.
    Error("steps", "the definition has " + std::to_string(step_count_) +
                       " steps; the limit is " +
                       std::to_string(limits_.max_steps));
    return;
  }

  for (const Step& step : plan_->steps_) {
    plan_->by_name_.emplace(step.name, step.index);
  }
  for (ScopeIndex s = 0; s < plan_->scopes_.size(); ++s) CompileScope(s);
  for (ScopeIndex s = 0; s < plan_->scopes_.size(); ++s) CheckReachability(s);
}

void Compiler::CompileDefaults(const Json& defaults) {
  if (!defaults.is_object()) {
    Error("defaults",
          std::string("expected an object, got ") + JsonTypeName(defaults));
    return;
  }
  static const std::vector<std::string_view> kAllowed = {
      "timeout", "heartbeat_timeout", "retry"};
  CheckFields(defaults, "defaults", kAllowed, "defaults", this);
  default_timeout_ = DurationField(defaults, "timeout", "defaults");
  default_heartbeat_ = DurationField(defaults, "heartbeat_timeout", "defaults");
  default_retry_ = RetryField(defaults, "defaults");
}

std::optional<ScopeIndex> Compiler::CollectScope(const Json& holder,
                                                 const std::string& location,
                                                 StepIndex owner) {
  const std::string steps_loc = JoinPath(location, "steps");
  auto steps_it = holder.find("steps");
  if (steps_it == holder.end()) {
    Error(steps_loc, "required field is missing");
    return std::nullopt;
  }
  if (!steps_it->is_object() || steps_it->empty()) {
    Error(steps_loc, steps_it->is_object()
                         ? std::string("expected at least one step")
                         : std::string("expected an object of steps, got ") +
                               JsonTypeName(*steps_it));
    return std::nullopt;
  }
  const ScopeIndex index = static_cast<ScopeIndex>(plan_->scopes_.size());
  plan_->scopes_.push_back(Scope{kNoStep, owner, {}});
  ScopeSource source;
  source.steps = &*steps_it;
  auto start_it = holder.find("start_at");
  source.start_at = start_it == holder.end() ? nullptr : &*start_it;
  source.location = location;
  scope_sources_.push_back(std::move(source));
  for (const auto& [name, def] : steps_it->items()) {
    CollectStep(name, def, JoinPath(steps_loc, name), index);
  }
  return index;
}

void Compiler::CollectStep(const std::string& name, const Json& def,
                           const std::string& location, ScopeIndex scope) {
  ++step_count_;
  if (step_count_ > limits_.max_steps)
    return;  // Reported once, with the total.
  if (!IsStepName(name)) {
    Error(location,
          "invalid step name " + Quote(name) +
              ": use a letter or '_', then letters, digits, '_' or '-' "
              "(128 at most), so that $.steps." +
              "NAME can refer to it");
  }
  auto [first, inserted] = first_location_.emplace(name, location);
  if (!inserted) {
    Error(location, "duplicate step name " + Quote(name) +
                        " (also defined at " + first->second +
                        "); step names are unique across the whole definition");
    return;
  }
  Step step;
  step.name = name;
  step.index = static_cast<StepIndex>(plan_->steps_.size());
  step.scope = scope;
  step.location = location;
  bool known = false;
  if (!def.is_object()) {
    Error(location,
          std::string("expected a step object, got ") + JsonTypeName(def));
  } else if (auto type_it = def.find("type"); type_it == def.end()) {
    Error(JoinPath(location, "type"),
          "required field is missing; one of task, choice, wait, signal, "
          "parallel, map, "
          "succeed, fail");
  } else if (!type_it->is_string()) {
    Error(JoinPath(location, "type"),
          std::string("expected a string, got ") + JsonTypeName(*type_it));
  } else if (auto type = ParseStepType(type_it->get<std::string>())) {
    step.type = *type;
    known = true;
  } else {
    const std::string t = type_it->get<std::string>();
    Error(JoinPath(location, "type"),
          "unknown step type " + Quote(t) + DidYouMean(t, StepTypeNames()) +
              "; expected one of task, choice, wait, signal, "
              "parallel, map, succeed, fail");
  }
  const StepIndex index = step.index;
  plan_->steps_.push_back(std::move(step));
  plan_->scopes_[scope].steps.push_back(index);
  step_defs_.push_back(&def);
  step_type_known_.push_back(known);
  if (!known) return;

  // Nested scopes are collected now so that their names are known in pass 2.
  // Their shape is checked here too; everything else about the step waits for
  // pass 2.
  if (plan_->steps_[index].type == StepType::kParallel) {
    ParallelSpec spec;
    const std::string loc = JoinPath(location, "branches");
    auto it = def.find("branches");
    if (it == def.end()) {
      Error(loc, "required field is missing");
    } else if (!it->is_array() || it->empty()) {
      Error(
          loc,
          "expected a non-empty array of branches ({\"start_at\", \"steps\"})");
    } else {
      for (size_t i = 0; i < it->size(); ++i) {
        const Json& branch = (*it)[i];
        const std::string branch_loc = JoinPath(loc, i);
        if (!branch.is_object()) {
          Error(branch_loc, std::string("expected a branch object, got ") +
                                JsonTypeName(branch));
          continue;
        }
        CheckFields(branch, branch_loc, {"start_at", "steps"}, "a branch",
                    this);
        if (auto s = CollectScope(branch, branch_loc, index))
          spec.branches.push_back(*s);
      }
    }
    plan_->steps_[index].spec = std::move(spec);
  } else if (plan_->steps_[index].type == StepType::kMap) {
    MapSpec spec;
    const std::string loc = JoinPath(location, "iterator");
    auto it = def.find("iterator");
    if (it == def.end()) {
      Error(loc, "required field is missing");
    } else if (!it->is_object()) {
      Error(
          loc,
          std::string(
              "expected an iterator object ({\"start_at\", \"steps\"}), got ") +
              JsonTypeName(*it));
    } else {
      CheckFields(*it, loc, {"start_at", "steps"}, "an iterator", this);
      if (auto s = CollectScope(*it, loc, index)) spec.iterator = *s;
    }
    plan_->steps_[index].spec = std::move(spec);
  }
}

void Compiler::CompileScope(ScopeIndex scope_index) {
  ScopeSource& source = scope_sources_[scope_index];
  const std::string start_loc = JoinPath(source.location, "start_at");
  if (source.start_at == nullptr) {
    if (scope_index != kRootScope)
      Error(start_loc, "required field is missing");
    source.edges_ok = false;
  } else {
    const StepIndex start =
        ResolveEdge(*source.start_at, start_loc, scope_index);
    plan_->scopes_[scope_index].start = start;
    if (start == kNoStep) source.edges_ok = false;
  }
  for (StepIndex index : plan_->scopes_[scope_index].steps) {
    if (!step_type_known_[index]) {
      source.edges_ok = false;
      continue;
    }
    const size_t edge_errors_before = edge_errors_;
    binding_step_ = index;
    CompileStep(plan_->steps_[index], *step_defs_[index]);
    binding_step_ = kNoStep;
    if (edge_errors_ != edge_errors_before) source.edges_ok = false;
  }
}

void Compiler::CompileStep(Step& step, const Json& def) {
  static const std::vector<std::string_view> kCommon = {"type", "description",
                                                        "next", "catch"};
  std::vector<std::string_view> allowed = kCommon;
  switch (step.type) {
    case StepType::kTask:
      allowed.insert(
          allowed.end(),
          {"activity", "input", "timeout", "heartbeat_timeout", "queue_timeout",
           "retry", "compensate", "compensate_on_failure"});
      break;
    case StepType::kChoice:
      allowed = {"type", "description", "catch", "choices", "default"};
      break;
    case StepType::kWait:
      allowed.insert(allowed.end(), {"duration", "until"});
      break;
    case StepType::kSignal:
      allowed.insert(allowed.end(), {"signal", "timeout"});
      break;
    case StepType::kParallel:
      allowed.push_back("branches");
      break;
    case StepType::kMap:
      allowed.insert(allowed.end(), {"items", "iterator", "max_concurrency"});
      break;
    case StepType::kSucceed:
      allowed = {"type", "description", "output"};
      break;
    case StepType::kFail:
      allowed = {"type", "description", "error", "message"};
      break;
  }
  const std::string what =
      "a " + std::string(StepTypeName(step.type)) + " step";
  for (const auto& [key, value] : def.items()) {
    if (std::find(allowed.begin(), allowed.end(), key) != allowed.end())
      continue;
    ++edge_errors_;
    const std::string loc = JoinPath(step.location, key);
    if (key == "next" && step.type == StepType::kChoice) {
      Error(loc,
            "a choice step routes with \"choices\" and \"default\", not "
            "\"next\"");
    } else if (key == "next" || key == "catch") {
      Error(loc, "\"" + key + "\" is not allowed on " + what +
                     ", which ends its scope");
    } else if (key == "compensate" || key == "compensate_on_failure" ||
               key == "retry" || key == "activity") {
      Error(loc, "\"" + key + "\" is only allowed on task steps");
    } else {
      Error(loc, "unknown field " + Quote(key) + " in " + what +
                     DidYouMean(key, allowed));
    }
  }
  StringField(def, "description", step.location, false);

  if (auto it = def.find("next");
      it != def.end() && step.type != StepType::kChoice &&
      step.type != StepType::kSucceed && step.type != StepType::kFail) {
    step.next = ResolveEdge(*it, JoinPath(step.location, "next"), step.scope);
  }
  if (step.type != StepType::kSucceed && step.type != StepType::kFail)
    CompileCatches(step, def);

  switch (step.type) {
    case StepType::kTask:
      CompileTask(step, def);
      break;
    case StepType::kChoice:
      CompileChoice(step, def);
      break;
    case StepType::kWait:
      CompileWait(step, def);
      break;
    case StepType::kSignal:
      CompileSignal(step, def);
      break;
    case StepType::kParallel:
      break;  // Branches were collected in pass 1 and compile as scopes of
              // their own.
    case StepType::kMap:
      CompileMap(step, def);
      break;
    case StepType::kSucceed:
      CompileSucceed(step, def);
      break;
    case StepType::kFail:
      CompileFail(step, def);
      break;
  }
}

void Compiler::CompileTask(Step& step, const Json& def) {
  TaskSpec task;
  if (const Json* activity =
          StringField(def, "activity", step.location, true)) {
    task.activity = activity->get<std::string>();
    if (!IsQualifiedName(task.activity)) {
      Error(JoinPath(step.location, "activity"),
            "invalid activity name " + DumpJson(*activity) +
                ": use a letter, then letters, digits, '_', '.' or '-' (128 at "
                "most)");
    }
  }
  task.input = InputField(def, step.location);
  task.timeout = DurationField(def, "timeout", step.location);
  if (!task.timeout)
    task.timeout = default_timeout_ ? default_timeout_ : kDefaultTaskTimeout;
  task.heartbeat_timeout =
      DurationField(def, "heartbeat_timeout", step.location);
  if (!task.heartbeat_timeout) task.heartbeat_timeout = default_heartbeat_;
  task.queue_timeout = DurationField(def, "queue_timeout", step.location);
  auto retry = RetryField(def, step.location);
  task.retry =
      retry ? *retry : (default_retry_ ? *default_retry_ : RetryPolicy());

  if (auto it = def.find("compensate_on_failure"); it != def.end()) {
    if (!it->is_boolean()) {
      Error(JoinPath(step.location, "compensate_on_failure"),
            std::string("expected true or false, got ") + JsonTypeName(*it));
    } else {
      task.compensate_on_failure = it->get<bool>();
    }
  }
  if (auto it = def.find("compensate"); it != def.end()) {
    const std::string loc = JoinPath(step.location, "compensate");
    if (!it->is_object()) {
      Error(loc, std::string(
                     "expected an object ({\"activity\", \"input\"}), got ") +
                     JsonTypeName(*it));
    } else {
      CheckFields(
          *it, loc,
          {"activity", "input", "timeout", "heartbeat_timeout", "retry"},
          "compensate", this);
      Compensation comp;
      if (const Json* activity = StringField(*it, "activity", loc, true)) {
        comp.activity = activity->get<std::string>();
        if (!IsQualifiedName(comp.activity)) {
          Error(JoinPath(loc, "activity"),
                "invalid activity name " + DumpJson(*activity));
        }
      }
      comp.input = InputField(*it, loc);
      comp.timeout = DurationField(*it, "timeout", loc);
      if (!comp.timeout)
        comp.timeout =
            default_timeout_ ? default_timeout_ : kDefaultTaskTimeout;
      comp.heartbeat_timeout = DurationField(*it, "heartbeat_timeout", loc);
      if (!comp.heartbeat_timeout) comp.heartbeat_timeout = default_heartbeat_;
      auto comp_retry = RetryField(*it, loc);
      comp.retry = comp_retry
                       ? *comp_retry
                       : (default_retry_ ? *default_retry_ : RetryPolicy());
      task.compensate = std::move(comp);
    }
  } else if (task.compensate_on_failure) {
    Error(JoinPath(step.location, "compensate_on_failure"),
          "is true but the step has no \"compensate\" activity to run");
  }
  step.spec = std::move(task);
}

void Compiler::CompileChoice(Step& step, const Json& def) {
  ChoiceSpec spec;
  const std::string loc = JoinPath(step.location, "choices");
  auto it = def.find("choices");
  if (it == def.end()) {
    Error(loc, "required field is missing");
  } else if (!it->is_array() || it->empty()) {
    ++edge_errors_;
    Error(loc, "expected a non-empty array of {\"when\", \"next\"}");
  } else {
    for (size_t i = 0; i < it->size(); ++i) {
      const Json& rule = (*it)[i];
      const std::string rule_loc = JoinPath(loc, i);
      if (!rule.is_object()) {
        ++edge_errors_;
        Error(rule_loc, std::string("expected {\"when\", \"next\"}, got ") +
                            JsonTypeName(rule));
        continue;
      }
      CheckFields(rule, rule_loc, {"when", "next"}, "a choice", this);
      const Json* when = RequiredField(rule, "when", rule_loc);
      const Json* next = RequiredField(rule, "next", rule_loc);
      std::optional<Condition> cond;
      if (when)
        cond = Condition::Compile(*when, JoinPath(rule_loc, "when"), this);
      StepIndex target = kNoStep;
      if (next)
        target = ResolveEdge(*next, JoinPath(rule_loc, "next"), step.scope);
      if (cond && target != kNoStep) {
        spec.choices.push_back({std::move(*cond), target});
      } else {
        ++edge_errors_;
      }
    }
  }
  if (auto d = def.find("default"); d != def.end()) {
    const StepIndex target =
        ResolveEdge(*d, JoinPath(step.location, "default"), step.scope);
    if (target != kNoStep) spec.default_next = target;
  }
  step.spec = std::move(spec);
}

void Compiler::CompileWait(Step& step, const Json& def) {
  WaitSpec spec;
  const bool has_duration = def.contains("duration");
  const bool has_until = def.contains("until");
  if (has_duration == has_until) {
    Error(step.location,
          has_duration ? "a wait step has \"duration\" or \"until\", not both"
                       : "a wait step needs \"duration\" or \"until\"");
  }
  spec.duration =
      DurationField(def, "duration", step.location, /*allow_zero=*/true);
  if (const Json* until = StringField(def, "until", step.location, false)) {
    const std::string loc = JoinPath(step.location, "until");
    const std::string text = until->get<std::string>();
    if (Path::LooksLikePath(text)) {
      auto path = Path::Parse(text);
      if (!path.ok()) {
        Error(loc, "malformed path " + text + ": " + path.error());
      } else {
        spec.until_path = std::move(path).value();
        Bind(&*spec.until_path, loc);
      }
    } else if (auto t = ParseRfc3339(text); t.ok()) {
      spec.until_time = t.value();
    } else {
      Error(loc, t.status().message() + ", or a path to one");
    }
  }
  step.spec = std::move(spec);
}

void Compiler::CompileSignal(Step& step, const Json& def) {
  SignalSpec spec;
  if (const Json* name = StringField(def, "signal", step.location, true)) {
    spec.signal = name->get<std::string>();
    if (!IsStepName(spec.signal)) {
      Error(JoinPath(step.location, "signal"),
            "invalid signal name " + DumpJson(*name) +
                ": use a letter or '_', then letters, digits, '_' or '-' (so "
                "that "
                "$.signals.NAME can refer to it)");
    }
  }
  spec.timeout = DurationField(def, "timeout", step.location);
  step.spec = std::move(spec);
}

void Compiler::CompileMap(Step& step, const Json& def) {
  MapSpec& spec = std::get<MapSpec>(step.spec);
  const std::string loc = JoinPath(step.location, "items");
  if (const Json* items = StringField(def, "items", step.location, true)) {
    const std::string text = items->get<std::string>();
    auto path = Path::LooksLikePath(text)
                    ? Path::Parse(text)
                    : Result<Path, std::string>(
                          std::string("expected a path to an array, such as "
                                      "\"$.input.items\""));
    if (!path.ok()) {
      Error(loc, Path::LooksLikePath(text)
                     ? "malformed path " + text + ": " + path.error()
                     : path.error());
    } else {
      spec.items = std::move(path).value();
      Bind(&spec.items, loc);
    }
  }
  if (auto it = def.find("max_concurrency"); it != def.end()) {
    const std::string mc_loc = JoinPath(step.location, "max_concurrency");
    if (!it->is_number_integer() || it->get<int64_t>() < 0 ||
        it->get<int64_t>() > kMaxMapConcurrency) {
      Error(mc_loc, "expected an integer from 0 (no limit) to " +
                        std::to_string(kMaxMapConcurrency) + ", got " +
                        DumpJson(*it));
    } else {
      spec.max_concurrency = static_cast<uint32_t>(it->get<int64_t>());
    }
  }
}

void Compiler::CompileSucceed(Step& step, const Json& def) {
  SucceedSpec spec;
  if (auto it = def.find("output"); it != def.end()) {
    spec.output =
        Template::Compile(*it, JoinPath(step.location, "output"), this);
  }
  step.spec = std::move(spec);
}

void Compiler::CompileFail(Step& step, const Json& def) {
  FailSpec spec;
  if (const Json* error = StringField(def, "error", step.location, true)) {
    spec.error = error->get<std::string>();
    if (spec.error.empty())
      Error(JoinPath(step.location, "error"), "must not be empty");
  }
  if (const Json* message = StringField(def, "message", step.location, false)) {
    // Always a string, even when the message is exactly a path: the value is
    // rendered as text.
    spec.message = Template::CompileAsText(
        message->get<std::string>(), JoinPath(step.location, "message"), this);
  } else {
    spec.message = Template::Literal(Json(""));
  }
  step.spec = std::move(spec);
}

void Compiler::CompileCatches(Step& step, const Json& def) {
  auto it = def.find("catch");
  if (it == def.end()) return;
  const std::string loc = JoinPath(step.location, "catch");
  if (!it->is_array()) {
    ++edge_errors_;
    Error(loc,
          std::string("expected an array of {\"errors\", \"next\"}, got ") +
              JsonTypeName(*it));
    return;
  }
  for (size_t i = 0; i < it->size(); ++i) {
    const Json& rule = (*it)[i];
    const std::string rule_loc = JoinPath(loc, i);
    if (!rule.is_object()) {
      ++edge_errors_;
      Error(rule_loc, std::string("expected {\"errors\", \"next\"}, got ") +
                          JsonTypeName(rule));
      continue;
    }
    CheckFields(rule, rule_loc, {"errors", "next"}, "a catch rule", this);
    CatchRule out;
    bool ok = true;
    if (const Json* errors = RequiredField(rule, "errors", rule_loc)) {
      const std::string errors_loc = JoinPath(rule_loc, "errors");
      if (!errors->is_array() || errors->empty()) {
        Error(errors_loc,
              "expected a non-empty array of error names (or \"*\")");
        ok = false;
      } else {
        for (size_t j = 0; j < errors->size(); ++j) {
          const Json& e = (*errors)[j];
          if (!e.is_string() || e.get_ref<const std::string&>().empty()) {
            Error(JoinPath(errors_loc, j), "expected a non-empty error name");
            ok = false;
          } else {
            out.errors.push_back(e.get<std::string>());
          }
        }
      }
    } else {
      ok = false;
    }
    if (const Json* next = RequiredField(rule, "next", rule_loc)) {
      out.next = ResolveEdge(*next, JoinPath(rule_loc, "next"), step.scope);
      ok &= out.next != kNoStep;
    } else {
      ok = false;
    }
    if (ok) {
      step.catches.push_back(std::move(out));
    } else {
      ++edge_errors_;
    }
  }
}

void Compiler::CheckReachability(ScopeIndex scope_index) {
  const ScopeSource& source = scope_sources_[scope_index];
  const Scope& scope = plan_->scopes_[scope_index];
  if (!source.edges_ok || scope.start == kNoStep)
    return;  // Avoid errors that only echo others.
  std::vector<bool> seen(plan_->steps_.size(), false);
  std::deque<StepIndex> queue{scope.start};
  seen[scope.start] = true;
  auto visit = [&](StepIndex s) {
    if (s != kNoStep && !seen[s]) {
      seen[s] = true;
      queue.push_back(s);
    }
  };
  while (!queue.empty()) {
    const Step& step = plan_->steps_[queue.front()];
    queue.pop_front();
    visit(step.next);
    for (const CatchRule& rule : step.catches) visit(rule.next);
    if (step.type == StepType::kChoice) {
      for (const ChoiceRule& rule : step.choice().choices) visit(rule.next);
      if (step.choice().default_next) visit(*step.choice().default_next);
    }
  }
  const std::string start_name = plan_->steps_[scope.start].name;
  for (StepIndex s : scope.steps) {
    if (!seen[s]) {
      Error(plan_->steps_[s].location, "step " + Quote(plan_->steps_[s].name) +
                                           " is unreachable from start_at " +
                                           Quote(start_name));
    }
  }
}

StepIndex Compiler::ResolveEdge(const Json& value, const std::string& location,
                                ScopeIndex scope) {
  if (!value.is_string()) {
    ++edge_errors_;
    Error(location,
          std::string("expected a step name, got ") + JsonTypeName(value));
    return kNoStep;
  }
  const std::string name = value.get<std::string>();
  auto it = plan_->by_name_.find(name);
  if (it == plan_->by_name_.end()) {
    ++edge_errors_;
    Error(location, "no step named " + Quote(name) + NameHint(name, scope));
    return kNoStep;
  }
  const Step& target = plan_->steps_[it->second];
  if (target.scope != scope) {
    ++edge_errors_;
    const std::string& here = scope_sources_[scope].location;
    Error(location,
          "step " + Quote(name) + " is defined at " + target.location +
              ", outside " + (here.empty() ? "the top-level steps" : here) +
              "; a step can only go to steps of its own \"steps\" object");
    return kNoStep;
  }
  return it->second;
}

std::string Compiler::NameHint(std::string_view name, ScopeIndex scope) const {
  // Prefer a step of the same scope: that is where an edge may go.
  std::vector<std::string_view> candidates;
  if (scope < plan_->scopes_.size()) {
    for (StepIndex s : plan_->scopes_[scope].steps)
      candidates.push_back(plan_->steps_[s].name);
  }
  std::string hint = DidYouMean(name, candidates);
  if (!hint.empty()) return hint;
  candidates.clear();
  for (const Step& s : plan_->steps_) candidates.push_back(s.name);
  return DidYouMean(name, candidates);
}

bool Compiler::Bind(Path* path, const std::string& location) {
  switch (path->root()) {
    case PathRoot::kStep:
    case PathRoot::kStepOutput:
    case PathRoot::kStepError: {
      auto it = plan_->by_name_.find(path->step_name());
      if (it == plan_->by_name_.end()) {
        Error(location, "path " + path->text() + " names no step " +
                            Quote(path->step_name()) +
                            NameHint(path->step_name(), kRootScope));
        return false;
      }
      path->BindStep(it->second);
      return true;
    }
    case PathRoot::kItem:
    case PathRoot::kIndex:
      if (binding_step_ == kNoStep || !plan_->InsideMap(binding_step_)) {
        Error(location, "path " + path->text() +
                            " is only defined inside a map iterator (where "
                            "$.item and $.index "
                            "are the current element and its position)");
        return false;
      }
      return true;
    default:
      return true;
  }
}

const Json* Compiler::RequiredField(const Json& object, const char* key,
                                    const std::string& location) {
  auto it = object.find(key);
  if (it == object.end()) {
    Error(JoinPath(location, key), "required field is missing");
    return nullptr;
  }
  return &*it;
}

const Json* Compiler::StringField(const Json& object, const char* key,
                                  const std::string& location, bool required) {
  auto it = object.find(key);
  if (it == object.end()) {
    if (required) Error(JoinPath(location, key), "required field is missing");
    return nullptr;
  }
  if (!it->is_string()) {
    Error(JoinPath(location, key),
          std::string("expected a string, got ") + JsonTypeName(*it));
    return nullptr;
  }
  return &*it;
}

std::optional<Duration> Compiler::DurationField(const Json& object,
                                                const char* key,
                                                const std::string& location,
                                                bool allow_zero) {
  const Json* value = StringField(object, key, location, false);
  if (!value) return std::nullopt;
  auto parsed = ParseDuration(value->get_ref<const std::string&>());
  if (!parsed.ok()) {
    Error(JoinPath(location, key), parsed.status().message());
    return std::nullopt;
  }
  if (!allow_zero && parsed.value().count() == 0) {
    Error(JoinPath(location, key), "must be longer than zero");
    return std::nullopt;
  }
  return parsed.value();
}

std::optional<RetryPolicy> Compiler::RetryField(const Json& object,
                                                const std::string& location) {
  auto it = object.find("retry");
  if (it == object.end()) return std::nullopt;
  const std::string loc = JoinPath(location, "retry");
  if (!it->is_object()) {
    Error(loc, std::string("expected an object, got ") + JsonTypeName(*it));
    return std::nullopt;
  }
  CheckFields(*it, loc,
              {"max_attempts", "initial_interval", "backoff_coefficient",
               "max_interval", "non_retryable_errors"},
              "retry", this);
  RetryPolicy policy;
  bool explicit_max_interval = false;
  if (auto m = it->find("max_attempts"); m != it->end()) {
    if (!m->is_number_integer() || m->get<int64_t>() < 1 ||
        m->get<int64_t>() > kMaxAttempts) {
      Error(JoinPath(loc, "max_attempts"), "expected an integer from 1 to " +
                                               std::to_string(kMaxAttempts) +
                                               ", got " + DumpJson(*m));
    } else {
      policy.max_attempts = static_cast<uint32_t>(m->get<int64_t>());
    }
  }
  // Intervals above kMaxRetryInterval cannot be meant, and bounding them keeps
  // backoff arithmetic far from overflow.
  auto interval_ok = [&](const char* key, Duration d) {
    if (d <= kMaxRetryInterval) return true;
    Error(JoinPath(loc, key), "must be at most " +
                                  FormatDuration(kMaxRetryInterval) + ", got " +
                                  FormatDuration(d));
    return false;
  };
  if (auto d = DurationField(*it, "initial_interval", loc, /*allow_zero=*/true);
      d && interval_ok("initial_interval", *d)) {
    policy.initial_interval = *d;
    policy.max_interval = std::min(*d * 100, kMaxRetryInterval);
  }
  if (auto c = it->find("backoff_coefficient"); c != it->end()) {
    if (!c->is_number() || !std::isfinite(c->get<double>()) ||
        c->get<double>() < 1.0 || c->get<double>() > kMaxBackoffCoefficient) {
      Error(JoinPath(loc, "backoff_coefficient"),
            "expected a number from 1 to 100, got " + DumpJson(*c));
    } else {
      policy.backoff_coefficient = c->get<double>();
    }
  }
  if (auto d = DurationField(*it, "max_interval", loc, /*allow_zero=*/true);
      d && interval_ok("max_interval", *d)) {
    policy.max_interval = *d;
    explicit_max_interval = true;
  }
  if (explicit_max_interval && policy.max_interval < policy.initial_interval) {
    Error(JoinPath(loc, "max_interval"),
          "is shorter than initial_interval (" +
              FormatDuration(policy.initial_interval) + ")");
  }
  if (auto n = it->find("non_retryable_errors"); n != it->end()) {
    const std::string n_loc = JoinPath(loc, "non_retryable_errors");
    if (!n->is_array()) {
      Error(n_loc, std::string("expected an array of error names, got ") +
                       JsonTypeName(*n));
    } else {
      for (size_t i = 0; i < n->size(); ++i) {
        const Json& e = (*n)[i];
        if (!e.is_string() || e.get_ref<const std::string&>().empty()) {
          Error(JoinPath(n_loc, i), "expected a non-empty error name");
        } else {
          policy.non_retryable_errors.push_back(e.get<std::string>());
        }
      }
    }
  }
  return policy;
}

Template Compiler::InputField(const Json& object, const std::string& location) {
  auto it = object.find("input");
  if (it == object.end()) {
    // A step's input defaults to the run input.
    auto path = Path::Parse("$.input");
    return Template::FromPath(std::move(path).value());
  }
  return Template::Compile(*it, JoinPath(location, "input"), this);
}

CompileResult CompileParsedDefinition(
    const Json& definition, const Limits& limits,
    const std::vector<DuplicateKey>& duplicates) {
  Compiler compiler(limits);
  return compiler.Run(definition, duplicates);
}

CompileResult CompileDefinition(std::string_view text, const Limits& limits) {
  std::vector<DuplicateKey> duplicates;
  auto parsed = ParseJson(
      text, {limits.max_definition_bytes, limits.max_json_depth}, &duplicates);
  if (!parsed.ok()) {
    return ValidationErrors{{"$", parsed.status().message()}};
  }
  return CompileParsedDefinition(parsed.value(), limits, duplicates);
}

std::string FormatErrors(const ValidationErrors& errors) {
  std::string out;
  for (const ValidationError& e : errors) {
    if (!out.empty()) out.push_back('\n');
    out += e.ToString();
  }
  return out;
}

}  // namespace sagaflow::dsl
