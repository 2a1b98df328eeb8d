#ifndef SAGAFLOW_CLI_OFFLINE_COMMANDS_H_
#define SAGAFLOW_CLI_OFFLINE_COMMANDS_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cli/cli.h"
#include "common/result.h"
#include "dsl/limits.h"

namespace sagaflow::cli {

// Reads a whole file, refusing one larger than `max_bytes`: a regular file by
// its size before reading it, and anything else (a pipe, a device such as
// /dev/zero, whose size reads as 0) by stopping as soon as it has read more
// than the limit. `what` names the content in the message ("a definition is at
// most
// ... bytes"). NOT_FOUND when the file cannot be opened.
Result<std::string> ReadFileLimited(const std::string& path, size_t max_bytes,
                                    std::string_view what);

// `sagaflow validate FILE...`: compiles each file; prints OK with a summary, or
// every error with its JSON path. Exit 2 when any file is invalid or
// unreadable.
int ValidateFiles(const Globals& globals,
                  const std::vector<std::string>& files);

// `sagaflow workflow graph FILE --format mermaid|dot`.
int GraphFile(const Globals& globals, const std::string& file,
              const std::string& format);

// Compiles `definition` under `limits` and prints its graph (JSON output adds
// the workflow name, and `version` when the definition came from the server).
// `source` names the definition in errors. Exit 2 when it does not compile.
int PrintGraph(const Globals& globals, std::string_view definition,
               const std::string& source, const dsl::Limits& limits,
               const std::string& format, std::optional<uint32_t> version);

}  // namespace sagaflow::cli

#endif  // SAGAFLOW_CLI_OFFLINE_COMMANDS_H_
