// Task tokens: what a worker receives with a task and returns with its result.
// A token names one attempt of one step instance of one run, and carries a
// random secret stored with the task, so a token cannot be guessed or forged
// from another. Tokens are printable ASCII, safe in logs, URLs and JSON.
#ifndef SAGAFLOW_ENGINE_TASK_TOKEN_H_
#define SAGAFLOW_ENGINE_TASK_TOKEN_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace sagaflow::engine {

struct TaskToken {
  std::string run_id;
  uint32_t scope_instance = 0;  // The root scope, a branch or a map iteration.
  uint32_t step = 0;            // The step's index in the run's plan.
  uint32_t attempt = 0;         // 1, 2, ...
  bool compensation =
      false;  // The attempt runs the step's compensate activity.
  std::string
      secret;  // kSecretBytes random bytes, as 2*kSecretBytes hex digits.

  static constexpr size_t kSecretBytes = 16;
  static constexpr size_t kMaxRunIdBytes = 256;

  // A token for the given attempt with a fresh secret.
  static TaskToken New(std::string run_id, uint32_t scope_instance,
                       uint32_t step, uint32_t attempt, bool compensation);

  // "v1.<run id in hex>.<scope>.<step>.<attempt>.<t|c>.<secret>"
  std::string Encode() const;
  // Parses a token. Anything that is not exactly a token this version encodes
  // fails with INVALID_ARGUMENT (CONTRACT.md §2: a malformed token), with a
  // message that does not echo the secret.
  static Result<TaskToken> Decode(std::string_view text);

  // Whether `secret` matches this token's, in time independent of where they
  // differ.
  bool SecretMatches(std::string_view secret) const;
};

}  // namespace sagaflow::engine

#endif  // SAGAFLOW_ENGINE_TASK_TOKEN_H_
