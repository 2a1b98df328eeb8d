// builtin.exec (CONTRACT.md §1): runs a program without a shell, in its own
// process group, with a timeout, capturing stdout and stderr. Off unless the
// server allows programs or directories (`sagaflowd --allow-exec`).
#ifndef SAGAFLOW_ACTIVITIES_EXEC_H_
#define SAGAFLOW_ACTIVITIES_EXEC_H_

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "activities/activity.h"

namespace sagaflow::activities {

struct ExecOptions {
  // Programs (exact files) and directories (everything below them) that may
  // run, as given to --allow-exec; symlinks are resolved before matching.
  // Empty: builtin.exec is off and every attempt fails ExecDisabled.
  std::vector<std::string> allowed;
  // Bytes of stdout and of stderr kept; the rest is read and dropped
  // (`stdout_truncated` / `stderr_truncated` in the output).
  size_t max_output_bytes = 1 << 20;
  // How often a long-running program heartbeats (when its step has a
  // heartbeat_timeout).
  Duration heartbeat_every = std::chrono::seconds(1);
};

std::unique_ptr<Activity> NewExec(ExecOptions options);

}  // namespace sagaflow::activities

#endif  // SAGAFLOW_ACTIVITIES_EXEC_H_
