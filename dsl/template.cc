#include "dsl/template.h"

#include <algorithm>
#include <limits>
#include <utility>

namespace sagaflow::dsl {
namespace {

// Whitespace allowed between the braces and the path: "{{ $.a }}", and a
// template split over lines.
bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

// Brackets and separating commas of a container with `n` elements, as
// MeasurePayload counts them.
size_t ContainerBytes(size_t n) { return 2 + (n == 0 ? 0 : n - 1); }

}  // namespace

void AppendAsText(const Json& value, std::string* out) {
  if (value.is_string()) {
    *out += value.get_ref<const std::string&>();
  } else {
    *out += DumpJson(value);
  }
}

void Template::SetLiteral(Json value, Node* out) {
  const PayloadSize size = MeasurePayloadSize(value);
  out->kind = Node::kLiteral;
  out->literal = std::move(value);
  out->literal_depth = size.depth;
  out->literal_bytes = size.bytes;
}

Template Template::Literal(Json value) {
  Template t;
  SetLiteral(std::move(value), &t.root_);
  return t;
}

Template Template::FromPath(Path path) {
  Template t;
  t.root_.kind = Node::kPath;
  t.root_.path = std::move(path);
  return t;
}

Template Template::Compile(const Json& value, const std::string& location,
                           PathBinder* binder) {
  Template t;
  t.valid_ = CompileNode(value, location, binder, &t.root_);
  return t;
}

Template Template::CompileAsText(const std::string& text,
                                 const std::string& location,
                                 PathBinder* binder) {
  Template t;
  if (!Path::LooksLikePath(text)) {
    t.valid_ = CompileText(text, location, binder, &t.root_);
    return t;
  }
  // A whole-string path becomes a text template with a single part, so the
  // value is rendered as text like "{{$.path}}" would be.
  TextPart part;
  part.is_path = true;
  t.valid_ = CompilePath(text, location, binder, &part.path);
  t.root_.kind = Node::kText;
  t.root_.parts.push_back(std::move(part));
  return t;
}

bool Template::CompilePath(const std::string& text, const std::string& location,
                           PathBinder* binder, Path* out) {
  auto parsed = Path::Parse(text);
  if (!parsed.ok()) {
    binder->Error(location, "malformed path " + text + ": " + parsed.error());
    return false;
  }
  *out = std::move(parsed).value();
  return binder->Bind(out, location);
}

bool Template::CompileText(const std::string& text, const std::string& location,
                           PathBinder* binder, Node* out) {
  std::vector<TextPart> parts;
  std::string literal;
  size_t pos = 0;
  bool ok = true;
  bool any_path = false;
  while (pos < text.size()) {
    const size_t open = text.find("{{", pos);
    if (open == std::string::npos) {
      literal.append(text, pos, std::string::npos);
      break;
    }
    size_t start = open + 2;
    while (start < text.size() && IsSpace(text[start])) ++start;
    if (start >= text.size() || text[start] != '$') {
      // Not a reference ("Hi {{ name }}", "{{#each}}"): the braces are text.
      // Step over one brace only, so that "{{{$.a}}}" still finds "{{$.a}}".
      literal.append(text, pos, open + 1 - pos);
      pos = open + 1;
      continue;
    }
    literal.append(text, pos, open - pos);
    const size_t close = text.find("}}", start);
    if (close == std::string::npos) {
      binder->Error(location, "unterminated \"{{\" at character " +
                                  std::to_string(open + 1) +
                                  " (a template is {{$.path}})");
      return false;
    }
    const std::string_view inner =
        Trim(std::string_view(text).substr(start, close - start));
    auto parsed = Path::Parse(inner);
    if (!parsed.ok()) {
      binder->Error(location, "in template {{" + std::string(inner) +
                                  "}}: " + parsed.error());
      ok = false;
    } else {
      Path path = std::move(parsed).value();
      if (!binder->Bind(&path, location)) ok = false;
      if (!literal.empty()) {
        parts.push_back({false, std::move(literal), Path()});
        literal.clear();
      }
      parts.push_back({true, std::string(), std::move(path)});
      any_path = true;
    }
    pos = close + 2;
  }
  if (!any_path) {
    // Braces without a reference: plain text.
    SetLiteral(Json(text), out);
    return ok;
  }
  if (!literal.empty()) parts.push_back({false, std::move(literal), Path()});
  out->kind = Node::kText;
  out->parts = std::move(parts);
  return ok;
}

bool Template::CompileNode(const Json& value, const std::string& location,
                           PathBinder* binder, Node* out) {
  if (value.is_string()) {
    const std::string& s = value.get_ref<const std::string&>();
    if (Path::LooksLikePath(s)) {
      out->kind = Node::kPath;
      return CompilePath(s, location, binder, &out->path);
    }
    if (s.find("{{") != std::string::npos)
      return CompileText(s, location, binder, out);
    SetLiteral(value, out);
    return true;
  }
  if (value.is_object() || value.is_array()) {
    bool ok = true;
    bool all_literal = true;
    std::vector<Node> children;
    std::vector<std::string> keys;
    size_t container_bytes = ContainerBytes(value.size());
    children.reserve(value.size());
    if (value.is_object()) {
      keys.reserve(value.size());
      for (const auto& [key, child] : value.items()) {
        Node node;
        ok &= CompileNode(child, JoinPath(location, key), binder, &node);
        all_literal &= node.kind == Node::kLiteral;
        container_bytes += key.size() + 3;  // Quotes and colon.
        keys.push_back(key);
        children.push_back(std::move(node));
      }
    } else {
      for (size_t i = 0; i < value.size(); ++i) {
        Node node;
        ok &= CompileNode(value[i], JoinPath(location, i), binder, &node);
        all_literal &= node.kind == Node::kLiteral;
        children.push_back(std::move(node));
      }
    }
    if (all_literal) {
      // A subtree without references evaluates by one copy, not a walk. Its
      // measure follows from its children's.
      out->kind = Node::kLiteral;
      out->literal = value;
      out->literal_depth = 1;
      out->literal_bytes = container_bytes;
      for (const Node& child : children) {
        out->literal_depth =
            std::max(out->literal_depth, 1 + child.literal_depth);
        out->literal_bytes += child.literal_bytes;
      }
    } else {
      out->kind = value.is_object() ? Node::kObject : Node::kArray;
      out->container_bytes = container_bytes;
      out->keys = std::move(keys);
      out->children = std::move(children);
    }
    return ok;
  }
  SetLiteral(value, out);
  return true;
}

EvalResult<Json> Template::Evaluate(const EvalContext& context,
                                    const EvalLimits& limits) const {
  Budget budget{limits};
  return EvaluateNode(root_, context, 0, &budget);
}

EvalResult<Json> Template::EvaluateNode(const Node& node,
                                        const EvalContext& context, int depth,
                                        Budget* budget) {
  const EvalLimits& limits = budget->limits;
  switch (node.kind) {
    case Node::kLiteral:
      if (depth + node.literal_depth > limits.max_depth)
        return PayloadTooLargeError(PayloadCheck::kTooDeep, limits, {});
      budget->bytes += node.literal_bytes;
      if (budget->bytes > limits.max_bytes)
        return PayloadTooLargeError(PayloadCheck::kTooLarge, limits, {});
      return node.literal;
    case Node::kPath: {
      Json scratch;
      auto resolved = node.path.Resolve(context, &scratch, limits);
      if (!resolved.ok()) return std::move(resolved).error();
      const Json* value = resolved.value();
      // Measured before the copy, which is then known to be bounded.
      const PayloadCheck check =
          MeasurePayload(*value, depth, limits, &budget->bytes);
      if (check != PayloadCheck::kOk)
        return PayloadTooLargeError(check, limits, node.path.text());
      if (value == &scratch) return scratch;
      return *value;
    }
    case Node::kText: {
      std::string text;
      Json scratch;
      // Whether the string, quotes included, plus `extra` bytes would cross
      // the size limit.
      auto over = [&](size_t extra) {
        return budget->bytes + text.size() + 2 + extra > limits.max_bytes;
      };
      for (const TextPart& part : node.parts) {
        if (!part.is_path) {
          text += part.literal;
          continue;
        }
        auto resolved = part.path.Resolve(context, &scratch, limits);
        if (!resolved.ok()) return std::move(resolved).error();
        const Json& value = *resolved.value();
        bool fits;
        if (value.is_string()) {
          fits = !over(value.get_ref<const std::string&>().size());
        } else {
          // Measured (with an early stop) before it is rendered, so a huge
          // value is never dumped. Depth does not matter: the result is a
          // string.
          const EvalLimits text_limits{std::numeric_limits<int>::max(),
                                       limits.max_bytes};
          size_t bytes = budget->bytes + text.size() + 2;
          fits = MeasurePayload(value, 0, text_limits, &bytes) ==
                 PayloadCheck::kOk;
        }
        if (!fits) {
          return PayloadTooLargeError(PayloadCheck::kTooLarge, limits,
                                      part.path.text());
        }
        AppendAsText(value, &text);
      }
      // Escapes make a rendered value longer than its measure: check again.
      if (over(0))
        return PayloadTooLargeError(PayloadCheck::kTooLarge, limits, {});
      budget->bytes += text.size() + 2;
      return Json(std::move(text));
    }
    case Node::kObject:
    case Node::kArray: {
      if (depth + 1 > limits.max_depth)
        return PayloadTooLargeError(PayloadCheck::kTooDeep, limits, {});
      budget->bytes += node.container_bytes;
      if (budget->bytes > limits.max_bytes)
        return PayloadTooLargeError(PayloadCheck::kTooLarge, limits, {});
      if (node.kind == Node::kObject) {
        Json object = Json::object();
        for (size_t i = 0; i < node.children.size(); ++i) {
          auto child =
              EvaluateNode(node.children[i], context, depth + 1, budget);
          if (!child.ok()) return std::move(child).error();
          object.emplace(node.keys[i], std::move(child).value());
        }
        return object;
      }
      Json array = Json::array();
      for (const Node& child_node : node.children) {
        auto child = EvaluateNode(child_node, context, depth + 1, budget);
        if (!child.ok()) return std::move(child).error();
        array.push_back(std::move(child).value());
      }
      return array;
    }
  }
  return Json();
}

}  // namespace sagaflow::dsl
