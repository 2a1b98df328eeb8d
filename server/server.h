// sagaflowd's core: the store, the engine, the gRPC services, health,
// reflection and metrics, wired together, with a graceful stop. main.cc only
// parses flags and waits for a signal.
#ifndef SAGAFLOW_SERVER_SERVER_H_
#define SAGAFLOW_SERVER_SERVER_H_

#include <memory>
#include <string>

#include "common/result.h"
#include "server/options.h"

namespace sagaflow::server {

class Server {
 public:
  // Opens the store in options.data_dir (recovering every active run),
  // starts the engine and serves gRPC (and metrics, when asked). Fails with a
  // message naming what could not be opened or bound.
  static Result<std::unique_ptr<Server>> Start(const ServerOptions& options);
  ~Server();  // Stop()s with no grace.
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // The bound gRPC address ("127.0.0.1:43117").
  const std::string& address() const;
  // The bound metrics port; 0 when metrics are off.
  int metrics_port() const;

  // Graceful stop: health turns NOT_SERVING, parked polls and watches end,
  // new calls are refused, and calls in flight get `grace` to finish before
  // they are cancelled; then the engine and the store close. Idempotent.
  void Stop(Duration grace);

  class Impl;

 private:
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sagaflow::server

#endif  // SAGAFLOW_SERVER_SERVER_H_
