#ifndef SAGAFLOW_DSL_LIMITS_H_
#define SAGAFLOW_DSL_LIMITS_H_

#include <cstddef>

namespace sagaflow::dsl {

// Size limits of CONTRACT.md §1, configurable on the server. Defaults are the
// contract's.
struct Limits {
  size_t max_definition_bytes = 1 << 20;  // 1 MiB
  size_t max_steps = 1000;  // across the definition, branches included
  int max_json_depth = 64;
  size_t max_payload_bytes = 2 << 20;  // run input, step output, signal payload
};

}  // namespace sagaflow::dsl

#endif  // SAGAFLOW_DSL_LIMITS_H_
