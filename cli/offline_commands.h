#ifndef SAGAFLOW_CLI_OFFLINE_COMMANDS_H_
#define SAGAFLOW_CLI_OFFLINE_COMMANDS_H_

#include <string>
#include <vector>

#include "cli/cli.h"

namespace sagaflow::cli {

// `sagaflow validate FILE...`: compiles each file; prints OK with a summary, or
// every error with its JSON path. Exit 2 when any file is invalid or
// unreadable.
int ValidateFiles(const Globals& globals,
                  const std::vector<std::string>& files);

// `sagaflow workflow graph FILE --format mermaid|dot`.
int GraphFile(const Globals& globals, const std::string& file,
              const std::string& format);

}  // namespace sagaflow::cli

#endif  // SAGAFLOW_CLI_OFFLINE_COMMANDS_H_
