#include "cli/offline_commands.h"

#include <sys/stat.h>

#include <fstream>
#include <map>
#include <ostream>

#include "common/result.h"
#include "dsl/compiler.h"
#include "dsl/graph.h"

namespace sagaflow::cli {
namespace {

// "6 steps (4 task, 1 succeed, 1 fail), 2 compensated, on_failure compensate"
std::string Summary(const dsl::Plan& plan) {
  std::map<std::string_view, int> by_type;
  int compensated = 0;
  for (const dsl::Step& step : plan.steps()) {
    ++by_type[dsl::StepTypeName(step.type)];
    if (step.type == dsl::StepType::kTask && step.task().compensate)
      ++compensated;
  }
  std::string types;
  for (const auto& [type, count] : by_type) {
    if (!types.empty()) types += ", ";
    types += std::to_string(count) + " " + std::string(type);
  }
  return std::to_string(plan.steps().size()) + " steps (" + types + "), " +
         std::to_string(compensated) + " compensated, on_failure " +
         std::string(dsl::OnFailureName(plan.on_failure()));
}

int BadGraphFormat(const Globals& globals, const std::string& format) {
  *globals.err << "error: unknown graph format \"" << format
               << "\"; use mermaid or dot\n";
  return kExitUsage;
}

}  // namespace

Result<std::string> ReadFileLimited(const std::string& path, size_t max_bytes,
                                    std::string_view what) {
  auto too_large = [&](const std::string& size) {
    return Status::ResourceExhausted(path + " is " + size + " bytes; " +
                                     std::string(what) + " is at most " +
                                     std::to_string(max_bytes) + " bytes");
  };
  struct stat st;
  if (::stat(path.c_str(), &st) != 0)
    return Status::NotFound("cannot open " + path);
  if (S_ISDIR(st.st_mode))
    return Status::InvalidArgument(path + " is a directory");
  if (static_cast<size_t>(st.st_size) > max_bytes)
    return too_large(std::to_string(st.st_size));
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound("cannot open " + path);
  // In chunks, so a generous limit costs nothing for a small file.
  std::string text;
  char chunk[1 << 16];
  while (text.size() <= max_bytes && in) {
    in.read(chunk, sizeof chunk);
    text.append(chunk, static_cast<size_t>(in.gcount()));
  }
  if (in.bad()) return Status::IoError("cannot read " + path);
  if (text.size() > max_bytes)
    return too_large("more than " + std::to_string(max_bytes));
  return text;
}

int ValidateFiles(const Globals& globals,
                  const std::vector<std::string>& files) {
  std::ostream& out = *globals.out;
  const dsl::Limits limits;
  nlohmann::json report = {{"files", nlohmann::json::array()}};
  bool all_valid = true;
  for (const std::string& file : files) {
    nlohmann::json entry = {{"file", file}};
    dsl::ValidationErrors errors;
    auto text =
        ReadFileLimited(file, limits.max_definition_bytes, "a definition");
    std::shared_ptr<const dsl::Plan> plan;
    if (!text.ok()) {
      errors.push_back({"$", text.status().message()});
    } else {
      auto compiled = dsl::CompileDefinition(text.value(), limits);
      if (compiled.ok()) {
        plan = compiled.value();
      } else {
        errors = std::move(compiled).error();
      }
    }
    entry["valid"] = errors.empty();
    if (plan) {
      entry["workflow"] = plan->name();
      entry["steps"] = plan->steps().size();
      entry["summary"] = Summary(*plan);
    }
    entry["errors"] = nlohmann::json::array();
    for (const auto& e : errors)
      entry["errors"].push_back({{"path", e.path}, {"message", e.message}});
    if (globals.output == OutputFormat::kTable) {
      if (plan) {
        out << "OK  " << file << ": " << plan->name() << ", " << Summary(*plan)
            << "\n";
      } else {
        out << "INVALID  " << file << ": " << errors.size()
            << (errors.size() == 1 ? " error" : " errors") << "\n";
        for (const auto& e : errors) out << "  " << e.ToString() << "\n";
      }
    }
    all_valid &= errors.empty();
    report["files"].push_back(std::move(entry));
  }
  // DumpJson, not dump(): a message may quote invalid UTF-8 from a file, on
  // which dump() throws.
  if (globals.output == OutputFormat::kJson)
    out << dsl::DumpJson(report, 2) << "\n";
  return all_valid ? kExitOk : kExitUsage;
}

int GraphFile(const Globals& globals, const std::string& file,
              const std::string& format) {
  if (!dsl::ParseGraphFormat(format)) return BadGraphFormat(globals, format);
  const dsl::Limits limits;
  auto text =
      ReadFileLimited(file, limits.max_definition_bytes, "a definition");
  if (!text.ok()) {
    *globals.err << "error: " << text.status().message() << "\n";
    return kExitUsage;
  }
  return PrintGraph(globals, text.value(), file, limits, format, std::nullopt);
}

int PrintGraph(const Globals& globals, std::string_view definition,
               const std::string& source, const dsl::Limits& limits,
               const std::string& format, std::optional<uint32_t> version) {
  auto parsed_format = dsl::ParseGraphFormat(format);
  if (!parsed_format) return BadGraphFormat(globals, format);
  auto compiled = dsl::CompileDefinition(definition, limits);
  if (!compiled.ok()) {
    *globals.err << "error: " << source
                 << " is not a valid workflow definition:\n";
    for (const auto& e : compiled.error())
      *globals.err << "  " << e.ToString() << "\n";
    return kExitUsage;
  }
  const std::string graph = dsl::RenderGraph(*compiled.value(), *parsed_format);
  if (globals.output == OutputFormat::kJson) {
    nlohmann::json doc = nlohmann::json::object();
    doc["workflow"] = compiled.value()->name();
    if (version) doc["version"] = *version;
    doc["format"] = format;
    doc["graph"] = graph;
    *globals.out << dsl::DumpJson(doc, 2) << "\n";
  } else {
    *globals.out << graph;
  }
  return kExitOk;
}

}  // namespace sagaflow::cli
