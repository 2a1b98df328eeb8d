#include "dsl/path.h"

#include <cstdio>
#include <utility>

#include "common/text.h"

namespace sagaflow::dsl {
namespace {

bool IsNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '_' || c == '-';
}

std::string At(size_t pos) {
  return " at character " + std::to_string(pos + 1);
}

// The character at text[pos] for a message: the whole UTF-8 sequence when one
// starts there (never a lone byte of it, which would make the message invalid
// UTF-8), else the byte as \xNN, as are control characters.
std::string Printable(std::string_view text, size_t pos) {
  const auto byte = [&](size_t i) {
    return static_cast<unsigned char>(text[i]);
  };
  const unsigned char c = byte(pos);
  if (c >= 0x20 && c < 0x7f) return std::string(1, static_cast<char>(c));
  size_t length = 0;
  uint32_t min = 0;
  if (c >= 0xc2 && c <= 0xdf) {
    length = 2;
    min = 0x80;
  } else if (c >= 0xe0 && c <= 0xef) {
    length = 3;
    min = 0x800;
  } else if (c >= 0xf0 && c <= 0xf4) {
    length = 4;
    min = 0x10000;
  }
  if (length > 0 && pos + length <= text.size()) {
    uint32_t code = c & (0x7f >> length);
    bool valid = true;
    for (size_t k = 1; k < length && valid; ++k) {
      valid = (byte(pos + k) & 0xc0) == 0x80;
      code = (code << 6) | (byte(pos + k) & 0x3f);
    }
    if (valid && code >= min && code <= 0x10ffff &&
        !(code >= 0xd800 && code <= 0xdfff)) {
      return std::string(text.substr(pos, length));
    }
  }
  char buf[8];
  std::snprintf(buf, sizeof buf, "\\x%02x", c);
  return buf;
}

// Splits "$.a[0]['b c']" into segments; the root is interpreted afterwards.
Result<std::vector<PathSegment>, std::string> Split(std::string_view text) {
  std::vector<PathSegment> segments;
  size_t i = 1;  // text[0] == '$'
  while (i < text.size()) {
    const char c = text[i];
    if (c == '.') {
      const size_t start = ++i;
      while (i < text.size() && IsNameChar(text[i])) ++i;
      if (i == start) return "expected a name after '.'" + At(start);
      segments.push_back(
          {std::string(text.substr(start, i - start)), 0, false});
    } else if (c == '[') {
      ++i;
      if (i < text.size() && text[i] >= '0' && text[i] <= '9') {
        uint64_t value = 0;
        const size_t start = i;
        while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
          value = value * 10 + static_cast<uint64_t>(text[i] - '0');
          if (value > UINT32_MAX) return "array index too large" + At(start);
          ++i;
        }
        segments.push_back({std::string(), static_cast<uint32_t>(value), true});
      } else if (i < text.size() && text[i] == '\'') {
        // ['key']: any characters; \' is a quote and \\ a backslash.
        const size_t start = ++i;
        std::string key;
        while (i < text.size() && text[i] != '\'') {
          if (text[i] == '\\') {
            if (i + 1 < text.size() &&
                (text[i + 1] == '\'' || text[i + 1] == '\\')) {
              key.push_back(text[i + 1]);
              i += 2;
              continue;
            }
            if (i + 1 >= text.size()) {
              i = text.size();  // Unterminated, reported below.
              break;
            }
            return "unknown escape \"\\" + Printable(text, i + 1) + "\"" +
                   At(i) +
                   " (in a quoted key, \\' is a quote and \\\\ a backslash)";
          }
          key.push_back(text[i]);
          ++i;
        }
        if (i >= text.size()) return "unterminated quoted key" + At(start - 1);
        segments.push_back({std::move(key), 0, false});
        ++i;
      } else {
        return "expected an index or a 'quoted key' after '['" + At(i);
      }
      if (i >= text.size() || text[i] != ']') return "expected ']'" + At(i);
      ++i;
    } else {
      return "unexpected character '" + Printable(text, i) + "'" + At(i) +
             " (segments are .name, [N] or ['key'])";
    }
  }
  return segments;
}

const std::vector<std::string_view>& RootNames() {
  static const auto* const names = new std::vector<std::string_view>{
      "input", "steps", "signals", "run", "item", "index"};
  return *names;
}

}  // namespace

bool Path::LooksLikePath(std::string_view text) {
  return !text.empty() && text[0] == '$' &&
         (text.size() == 1 || text[1] == '.' || text[1] == '[');
}

Result<Path, std::string> Path::Parse(std::string_view text) {
  if (!LooksLikePath(text)) return std::string("a path starts with \"$.\"");
  auto split = Split(text);
  if (!split.ok()) return std::move(split).error();
  std::vector<PathSegment> segments = std::move(split).value();

  Path path;
  path.text_ = std::string(text);
  if (segments.empty()) {
    path.root_ = PathRoot::kContext;
    return path;
  }
  auto rest_from = [&](size_t first) {
    path.rest_.assign(std::make_move_iterator(segments.begin() + first),
                      std::make_move_iterator(segments.end()));
  };
  const PathSegment& head = segments[0];
  if (head.is_index)
    return std::string(
        "the context is an object; index it by name, e.g. $.input");
  const std::string& root = head.key;
  if (root == "input") {
    path.root_ = PathRoot::kInput;
    rest_from(1);
  } else if (root == "steps") {
    if (segments.size() == 1) {
      path.root_ = PathRoot::kSteps;
      return path;
    }
    if (segments[1].is_index)
      return std::string("expected a step name after $.steps");
    path.name_ = segments[1].key;
    if (segments.size() == 2) {
      path.root_ = PathRoot::kStep;
      return path;
    }
    const PathSegment& field = segments[2];
    if (!field.is_index && field.key == "output") {
      path.root_ = PathRoot::kStepOutput;
    } else if (!field.is_index && field.key == "error") {
      path.root_ = PathRoot::kStepError;
    } else {
      return "expected .output or .error after $.steps." + path.name_;
    }
    rest_from(3);
  } else if (root == "signals") {
    if (segments.size() == 1) {
      path.root_ = PathRoot::kSignals;
      return path;
    }
    if (segments[1].is_index)
      return std::string("expected a signal name after $.signals");
    path.root_ = PathRoot::kSignal;
    path.name_ = segments[1].key;
    rest_from(2);
  } else if (root == "run") {
    if (segments.size() == 1) {
      path.root_ = PathRoot::kRun;
    } else if (segments.size() == 2 && !segments[1].is_index &&
               segments[1].key == "id") {
      path.root_ = PathRoot::kRunId;
    } else if (segments.size() == 2 && !segments[1].is_index &&
               segments[1].key == "workflow") {
      path.root_ = PathRoot::kRunWorkflow;
    } else {
      return std::string("$.run has only .id and .workflow");
    }
  } else if (root == "item") {
    path.root_ = PathRoot::kItem;
    rest_from(1);
  } else if (root == "index") {
    if (segments.size() > 1)
      return std::string("$.index is a number and has no fields");
    path.root_ = PathRoot::kIndex;
  } else {
    std::string message = "unknown root \"" + root + "\"";
    if (auto hint = ClosestMatch(root, RootNames())) {
      message += " (did you mean \"" + *hint + "\"?)";
    }
    return message +
           "; a path starts with $.input, $.steps, $.signals, $.run, $.item or "
           "$.index";
  }
  return path;
}

EvalResult<const Json*> Path::Resolve(const EvalContext& context, Json* scratch,
                                      const EvalLimits& limits) const {
  auto not_found = [&](std::string why) {
    return StepError{std::string(kPathNotFound),
                     "no value at " + text_ + ": " + why};
  };
  const Json* value = nullptr;
  switch (root_) {
    case PathRoot::kContext: {
      // Each part is bounded on its own (stored values are, and the context
      // bounds the objects it builds), so the whole is at most a few times the
      // limit before the evaluator measures it.
      Json doc = Json::object();
      if (const Json* in = context.Input()) doc["input"] = *in;
      auto steps = context.StepsObject(limits);
      if (!steps.ok()) return std::move(steps).error();
      doc["steps"] = std::move(steps).value();
      auto signals = context.SignalsObject(limits);
      if (!signals.ok()) return std::move(signals).error();
      doc["signals"] = std::move(signals).value();
      doc["run"] = {{"id", context.RunId()},
                    {"workflow", context.WorkflowName()}};
      if (const Json* item = context.Item()) doc["item"] = *item;
      if (auto index = context.Index()) doc["index"] = *index;
      *scratch = std::move(doc);
      value = scratch;
      break;
    }
    case PathRoot::kInput:
      value = context.Input();
      if (!value) return not_found("the run has no input");
      break;
    case PathRoot::kSteps: {
      auto steps = context.StepsObject(limits);
      if (!steps.ok()) return std::move(steps).error();
      *scratch = std::move(steps).value();
      value = scratch;
      break;
    }
    case PathRoot::kStep: {
      const Json* out = context.StepOutput(step_);
      const Json* err = context.StepError(step_);
      if (!out && !err)
        return not_found("step \"" + name_ +
                         "\" has neither output nor error yet");
      *scratch = Json::object();
      if (out) (*scratch)["output"] = *out;
      if (err) (*scratch)["error"] = *err;
      value = scratch;
      break;
    }
    case PathRoot::kStepOutput:
      value = context.StepOutput(step_);
      if (!value)
        return not_found("step \"" + name_ +
                         "\" has no output (it has not completed)");
      break;
    case PathRoot::kStepError:
      value = context.StepError(step_);
      if (!value)
        return not_found("step \"" + name_ + "\" has no caught error");
      break;
    case PathRoot::kSignals: {
      auto signals = context.SignalsObject(limits);
      if (!signals.ok()) return std::move(signals).error();
      *scratch = std::move(signals).value();
      value = scratch;
      break;
    }
    case PathRoot::kSignal:
      value = context.Signal(name_);
      if (!value)
        return not_found("signal \"" + name_ + "\" has not been received");
      break;
    case PathRoot::kRun:
      *scratch = {{"id", context.RunId()},
                  {"workflow", context.WorkflowName()}};
      value = scratch;
      break;
    case PathRoot::kRunId:
      *scratch = context.RunId();
      value = scratch;
      break;
    case PathRoot::kRunWorkflow:
      *scratch = context.WorkflowName();
      value = scratch;
      break;
    case PathRoot::kItem:
      value = context.Item();
      if (!value) return not_found("not inside a map iteration");
      break;
    case PathRoot::kIndex: {
      auto index = context.Index();
      if (!index) return not_found("not inside a map iteration");
      *scratch = *index;
      value = scratch;
      break;
    }
  }
  for (const PathSegment& seg : rest_) {
    if (seg.is_index) {
      if (!value->is_array()) {
        return not_found("[" + std::to_string(seg.index) + "] applied to " +
                         JsonTypeName(*value));
      }
      if (seg.index >= value->size()) {
        return not_found("index " + std::to_string(seg.index) +
                         " is out of range (size " +
                         std::to_string(value->size()) + ")");
      }
      value = &(*value)[seg.index];
    } else {
      if (!value->is_object()) {
        return not_found("field \"" + seg.key + "\" looked up in " +
                         JsonTypeName(*value));
      }
      auto it = value->find(seg.key);
      if (it == value->end())
        return not_found("field \"" + seg.key + "\" is missing");
      value = &*it;
    }
  }
  return value;
}

EvalResult<Json> Path::Evaluate(const EvalContext& context,
                                const EvalLimits& limits) const {
  Json scratch;
  auto resolved = Resolve(context, &scratch, limits);
  if (!resolved.ok()) return std::move(resolved).error();
  size_t bytes = 0;
  const PayloadCheck check =
      MeasurePayload(*resolved.value(), 0, limits, &bytes);
  if (check != PayloadCheck::kOk)
    return PayloadTooLargeError(check, limits, text_);
  if (resolved.value() == &scratch) return scratch;
  return *resolved.value();
}

}  // namespace sagaflow::dsl
