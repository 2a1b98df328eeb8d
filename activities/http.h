// builtin.http (CONTRACT.md §1) on libcurl's multi interface: every call in
// flight shares one I/O thread, so many concurrent calls cost no thread each.
#ifndef SAGAFLOW_ACTIVITIES_HTTP_H_
#define SAGAFLOW_ACTIVITIES_HTTP_H_

#include <cstddef>
#include <memory>

#include "activities/activity.h"

namespace sagaflow::activities {

struct HttpOptions {
  // Larger responses fail the attempt (ResponseTooLarge, not retried).
  size_t max_response_bytes = 2 << 20;
  long max_redirects = 5;
  // Per-attempt timeout when the input gives none.
  Duration default_timeout = std::chrono::seconds(30);
  // How often a call in flight heartbeats (when its step has a
  // heartbeat_timeout).
  Duration heartbeat_every = std::chrono::seconds(1);
};

std::unique_ptr<Activity> NewHttp(HttpOptions options = {});

}  // namespace sagaflow::activities

#endif  // SAGAFLOW_ACTIVITIES_HTTP_H_
