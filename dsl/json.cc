#include "dsl/json.h"

#include <cstdio>
#include <utility>

#include "common/text.h"

namespace sagaflow::dsl {
namespace {

bool IsIdentifier(std::string_view key) {
  if (key.empty()) return false;
  for (char c : key) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

// Builds the DOM iteratively (nlohmann's own SAX parser keeps an explicit
// stack, so nothing here recurses), stopping at the first value nested deeper
// than the limit.
class BoundedDomBuilder {
 public:
  using number_integer_t = Json::number_integer_t;
  using number_unsigned_t = Json::number_unsigned_t;
  using number_float_t = Json::number_float_t;
  using string_t = Json::string_t;
  using binary_t = Json::binary_t;

  BoundedDomBuilder(Json* root, int max_depth,
                    std::vector<DuplicateKey>* duplicates)
      : root_(root), max_depth_(max_depth), duplicates_(duplicates) {}

  bool null() { return Add(Json(nullptr)); }
  bool boolean(bool v) { return Add(Json(v)); }
  bool number_integer(number_integer_t v) { return Add(Json(v)); }
  bool number_unsigned(number_unsigned_t v) { return Add(Json(v)); }
  bool number_float(number_float_t v, const string_t&) { return Add(Json(v)); }
  bool string(string_t& v) { return Add(Json(std::move(v))); }
  bool binary(binary_t&) {
    error_ = "binary values are not JSON";
    return false;
  }
  bool start_object(std::size_t) { return Open(Json::object()); }
  bool start_array(std::size_t) { return Open(Json::array()); }
  bool end_object() { return Close(); }
  bool end_array() { return Close(); }

  bool key(string_t& k) {
    Frame& f = stack_.back();
    if (f.container->contains(k)) {
      if (duplicates_) duplicates_->push_back({PathOf(stack_.size()), k});
      f.container->erase(
          k);  // Re-inserted by the value that follows: the last one wins.
    }
    f.key = std::move(k);
    return true;
  }

  bool parse_error(std::size_t, const std::string&,
                   const nlohmann::detail::exception& ex) {
    std::string_view what = ex.what();
    // "[json.exception.parse_error.101] parse error at line 1, column 2: ..."
    // -> from "parse".
    if (auto pos = what.find("] "); pos != std::string_view::npos)
      what.remove_prefix(pos + 2);
    // The message quotes what the lexer last read ("last read: '...'"), which
    // may stop inside a multibyte character or be invalid UTF-8 altogether:
    // bytes >= 0x80 are escaped so the message is always valid text.
    error_.clear();
    for (char c : what) {
      const auto byte = static_cast<unsigned char>(c);
      if (byte < 0x80) {
        error_.push_back(c);
      } else {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\x%02x", byte);
        error_ += buf;
      }
    }
    return false;
  }

  const std::string& error() const { return error_; }

 private:
  struct Frame {
    Json* container;
    std::string key;  // The pending key, for objects.
  };

  Json* Insert(Json&& value) {
    if (stack_.empty()) {
      *root_ = std::move(value);
      return root_;
    }
    Frame& f = stack_.back();
    if (f.container->is_array()) {
      f.container->push_back(std::move(value));
      return &f.container->back();
    }
    Json& slot = (*f.container)[f.key];
    slot = std::move(value);
    return &slot;
  }

  bool Add(Json&& value) {
    Insert(std::move(value));
    return true;
  }

  bool Open(Json&& container) {
    if (static_cast<int>(stack_.size()) >= max_depth_) {
      error_ = "nesting deeper than " + std::to_string(max_depth_) +
               " levels at " + PathOfNewChild();
      return false;
    }
    Json* inserted = Insert(std::move(container));
    stack_.push_back({inserted, {}});
    return true;
  }

  bool Close() {
    stack_.pop_back();
    return true;
  }

  // The location of the value about to be inserted into the innermost open
  // container.
  std::string PathOfNewChild() const {
    std::string path;
    for (size_t i = 0; i < stack_.size(); ++i) {
      const Frame& f = stack_[i];
      if (f.container->is_array()) {
        const bool innermost = i + 1 == stack_.size();
        path = JoinPath(
            path, innermost ? f.container->size() : f.container->size() - 1);
      } else {
        path = JoinPath(path, f.key);
      }
    }
    return path.empty() ? "$" : path;
  }

  // The location of the container at depth `depth` (1 = the root) as a JoinPath
  // string.
  std::string PathOf(size_t depth) const {
    std::string path;
    for (size_t i = 1; i < depth; ++i) {
      const Frame& parent = stack_[i - 1];
      if (parent.container->is_array()) {
        path = JoinPath(path, parent.container->size() - 1);
      } else {
        path = JoinPath(path, parent.key);
      }
    }
    return path.empty() ? "$" : path;
  }

  Json* root_;
  const int max_depth_;
  std::vector<DuplicateKey>* duplicates_;
  std::vector<Frame> stack_;
  std::string error_;
};

}  // namespace

Result<Json> ParseJson(std::string_view text, const JsonParseOptions& options,
                       std::vector<DuplicateKey>* duplicates) {
  if (text.size() > options.max_bytes) {
    return Status::ResourceExhausted(
        "JSON document of " + std::to_string(text.size()) +
        " bytes exceeds the limit of " + std::to_string(options.max_bytes) +
        " bytes");
  }
  Json root;
  BoundedDomBuilder builder(&root, options.max_depth, duplicates);
  const bool ok = Json::sax_parse(text.begin(), text.end(), &builder,
                                  Json::input_format_t::json, /*strict=*/true,
                                  /*ignore_comments=*/false);
  if (!ok) {
    return Status::InvalidArgument("invalid JSON: " + builder.error());
  }
  return root;
}

std::string DumpJson(const Json& value, int indent) {
  return value.dump(indent, ' ', false, Json::error_handler_t::replace);
}

const char* JsonTypeName(const Json& value) {
  switch (value.type()) {
    case Json::value_t::object:
      return "object";
    case Json::value_t::array:
      return "array";
    case Json::value_t::string:
      return "string";
    case Json::value_t::boolean:
      return "boolean";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
    case Json::value_t::number_float:
      return "number";
    case Json::value_t::null:
      return "null";
    default:
      return "binary";
  }
}

std::string JoinPath(std::string_view base, std::string_view key) {
  std::string out(base);
  if (IsIdentifier(key)) {
    if (!out.empty()) out.push_back('.');
    out += key;
  } else {
    out += '[';
    out += Quote(key);
    out += ']';
  }
  return out;
}

std::string JoinPath(std::string_view base, size_t index) {
  std::string out(base);
  out += '[';
  out += std::to_string(index);
  out += ']';
  return out;
}

}  // namespace sagaflow::dsl
