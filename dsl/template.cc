#include "dsl/template.h"

#include <utility>

namespace sagaflow::dsl {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

}  // namespace

void AppendAsText(const Json& value, std::string* out) {
  if (value.is_string()) {
    *out += value.get_ref<const std::string&>();
  } else {
    *out += DumpJson(value);
  }
}

Template Template::Literal(Json value) {
  Template t;
  t.root_.literal = std::move(value);
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

bool Template::CompileText(const std::string& text, const std::string& location,
                           PathBinder* binder, Node* out) {
  std::vector<TextPart> parts;
  std::string literal;
  size_t pos = 0;
  bool ok = true;
  while (pos < text.size()) {
    const size_t open = text.find("{{", pos);
    if (open == std::string::npos) {
      literal.append(text, pos, std::string::npos);
      break;
    }
    literal.append(text, pos, open - pos);
    const size_t close = text.find("}}", open + 2);
    if (close == std::string::npos) {
      binder->Error(location, "unterminated \"{{\" at character " +
                                  std::to_string(open + 1) +
                                  " (a template is {{$.path}})");
      return false;
    }
    const std::string_view inner =
        Trim(std::string_view(text).substr(open + 2, close - open - 2));
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
    }
    pos = close + 2;
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
      auto parsed = Path::Parse(s);
      if (!parsed.ok()) {
        binder->Error(location, "malformed path " + std::string(s) + ": " +
                                    parsed.error());
        return false;
      }
      out->kind = Node::kPath;
      out->path = std::move(parsed).value();
      return binder->Bind(&out->path, location);
    }
    if (s.find("{{") != std::string::npos)
      return CompileText(s, location, binder, out);
    out->kind = Node::kLiteral;
    out->literal = value;
    return true;
  }
  if (value.is_object() || value.is_array()) {
    bool ok = true;
    bool all_literal = true;
    std::vector<Node> children;
    std::vector<std::string> keys;
    children.reserve(value.size());
    if (value.is_object()) {
      keys.reserve(value.size());
      for (const auto& [key, child] : value.items()) {
        Node node;
        ok &= CompileNode(child, JoinPath(location, key), binder, &node);
        all_literal &= node.kind == Node::kLiteral;
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
      // A subtree without references evaluates by one copy, not a walk.
      out->kind = Node::kLiteral;
      out->literal = value;
    } else {
      out->kind = value.is_object() ? Node::kObject : Node::kArray;
      out->keys = std::move(keys);
      out->children = std::move(children);
    }
    return ok;
  }
  out->kind = Node::kLiteral;
  out->literal = value;
  return true;
}

EvalResult<Json> Template::Evaluate(const EvalContext& context) const {
  return EvaluateNode(root_, context);
}

EvalResult<Json> Template::EvaluateNode(const Node& node,
                                        const EvalContext& context) {
  switch (node.kind) {
    case Node::kLiteral:
      return node.literal;
    case Node::kPath:
      return node.path.Evaluate(context);
    case Node::kText: {
      std::string text;
      Json scratch;
      for (const TextPart& part : node.parts) {
        if (!part.is_path) {
          text += part.literal;
          continue;
        }
        auto resolved = part.path.Resolve(context, &scratch);
        if (!resolved.ok()) return std::move(resolved).error();
        AppendAsText(*resolved.value(), &text);
      }
      return Json(std::move(text));
    }
    case Node::kObject: {
      Json object = Json::object();
      for (size_t i = 0; i < node.children.size(); ++i) {
        auto child = EvaluateNode(node.children[i], context);
        if (!child.ok()) return std::move(child).error();
        object.emplace(node.keys[i], std::move(child).value());
      }
      return object;
    }
    case Node::kArray: {
      Json array = Json::array();
      for (const Node& child_node : node.children) {
        auto child = EvaluateNode(child_node, context);
        if (!child.ok()) return std::move(child).error();
        array.push_back(std::move(child).value());
      }
      return array;
    }
  }
  return Json();
}

}  // namespace sagaflow::dsl
