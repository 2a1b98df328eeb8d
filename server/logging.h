// sagaflowd's logs: spdlog to stderr, as text or as one JSON object per line.
#ifndef SAGAFLOW_SERVER_LOGGING_H_
#define SAGAFLOW_SERVER_LOGGING_H_

#include "server/options.h"

namespace sagaflow::server {

// Installs the default logger. Call once, before any thread logs.
void SetUpLogging(const ServerOptions& options);

}  // namespace sagaflow::server

#endif  // SAGAFLOW_SERVER_LOGGING_H_
