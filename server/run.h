// sagaflowd's main as a function, so a program can embed the server with its
// own in-process activities:
//
//   int main(int argc, char** argv) {
//     return sagaflow::server::RunSagaflowd(argc, argv, [](auto& registry) {
//       return registry.Register("images.resize", std::make_unique<Resize>());
//     });
//   }
//
// Parses the flags and environment, serves until SIGTERM or SIGINT, stops
// gracefully, and returns the process exit code.
#ifndef SAGAFLOW_SERVER_RUN_H_
#define SAGAFLOW_SERVER_RUN_H_

#include "server/options.h"

namespace sagaflow::server {

int RunSagaflowd(int argc, const char* const* argv,
                 RegisterActivities register_activities = nullptr);

}  // namespace sagaflow::server

#endif  // SAGAFLOW_SERVER_RUN_H_
