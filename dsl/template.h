// Value templates: a JSON value from a definition (a step's `input`, a succeed
// `output`, a condition's `value`) compiled once, then evaluated against a run
// context. A string that is exactly a path is replaced by the value there;
// "{{$.path}}" inside a longer string is replaced by that value as text (only
// "{{" followed by optional whitespace and '$' starts a reference, so "Hi {{
// name }}" or "{{#each}}" stay literal text); everything else is a literal.
#ifndef SAGAFLOW_DSL_TEMPLATE_H_
#define SAGAFLOW_DSL_TEMPLATE_H_

#include <string>
#include <string_view>
#include <vector>

#include "dsl/path.h"

namespace sagaflow::dsl {

// Receives what the template compiler finds: each path (to check its root
// against the step's scope and bind step names), and each syntax error with its
// location.
class PathBinder {
 public:
  virtual ~PathBinder() = default;
  // Returns false after reporting an error when the path cannot be used at
  // `location`.
  virtual bool Bind(Path* path, const std::string& location) = 0;
  virtual void Error(const std::string& location, std::string message) = 0;
};

class Template {
 public:
  // A template that evaluates to null.
  Template() = default;
  // A template that evaluates to `value` as it is, with no paths in it.
  static Template Literal(Json value);
  // Compiles `value`, located at `location` in the definition (for messages).
  // On error, reports to `binder` and returns a template whose valid() is
  // false, which must not be evaluated.
  static Template Compile(const Json& value, const std::string& location,
                          PathBinder* binder);
  // Compiles a string whose result must always be a string (a fail step's
  // `message`): "{{$.path}}" parts as in Compile, and a string that is exactly
  // a path is rendered as text too (AppendAsText) instead of keeping the
  // value's type.
  static Template CompileAsText(const std::string& text,
                                const std::string& location,
                                PathBinder* binder);
  // Compiles a string that must be exactly one path.
  static Template FromPath(Path path);

  bool valid() const { return valid_; }
  bool is_literal() const { return root_.kind == Node::kLiteral; }
  // The value, when the whole template is a literal; else nullptr. Lets a
  // caller that only reads the result (a condition) skip the copy Evaluate
  // makes.
  const Json* literal() const {
    return root_.kind == Node::kLiteral ? &root_.literal : nullptr;
  }
  // The path, when the whole template is one path reference; else nullptr.
  const Path* as_path() const {
    return root_.kind == Node::kPath ? &root_.path : nullptr;
  }

  // The value of the template in `context`. Fails with PathNotFound from a
  // path, or with PayloadTooLarge when the result would cross `limits` (checked
  // while it is built, before a large value is copied or rendered).
  EvalResult<Json> Evaluate(const EvalContext& context,
                            const EvalLimits& limits = {}) const;

 private:
  struct TextPart {
    bool is_path = false;
    std::string literal;
    Path path;
  };
  struct Node {
    enum Kind : uint8_t { kLiteral, kPath, kText, kObject, kArray };
    Kind kind = kLiteral;
    Json literal;
    // kLiteral: the literal's nesting depth and approximate size
    // (MeasurePayload), computed once at compile time so that evaluation
    // checks a literal against the limits in constant time. The defaults
    // describe null.
    int literal_depth = 0;
    size_t literal_bytes = 4;
    // kObject, kArray: brackets, commas and quoted keys.
    size_t container_bytes = 0;
    Path path;
    std::vector<TextPart> parts;    // kText
    std::vector<std::string> keys;  // kObject, parallel to children
    std::vector<Node> children;     // kObject, kArray
  };
  // The running state of one evaluation: bytes used so far in the result.
  struct Budget {
    const EvalLimits& limits;
    size_t bytes = 0;
  };

  static void SetLiteral(Json value, Node* out);
  static bool CompileNode(const Json& value, const std::string& location,
                          PathBinder* binder, Node* out);
  static bool CompileText(const std::string& text, const std::string& location,
                          PathBinder* binder, Node* out);
  static bool CompilePath(const std::string& text, const std::string& location,
                          PathBinder* binder, Path* out);
  // Evaluates `node`, which sits inside `depth` containers of the result.
  static EvalResult<Json> EvaluateNode(const Node& node,
                                       const EvalContext& context, int depth,
                                       Budget* budget);

  Node root_;
  bool valid_ = true;
};

// Appends `value` as text: strings without quotes, everything else as compact
// JSON.
void AppendAsText(const Json& value, std::string* out);

}  // namespace sagaflow::dsl

#endif  // SAGAFLOW_DSL_TEMPLATE_H_
