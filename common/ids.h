// Identifiers: run ids that sort by creation time, and unguessable random parts
// for task tokens.
#ifndef SAGAFLOW_COMMON_IDS_H_
#define SAGAFLOW_COMMON_IDS_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "common/time.h"

namespace sagaflow {

// Fills `out` with `size` bytes from the kernel's CSPRNG (getrandom).
// Thread-safe.
void FillRandom(void* out, size_t size);

// A UUIDv7 (RFC 9562) as 36 lowercase hex characters with dashes: 48 bits of
// Unix milliseconds from `now`, then 74 random bits. Ids made later sort after
// ids made earlier (to the ms).
std::string NewRunId(TimePoint now);

// `bytes` random bytes as 2*bytes lowercase hex characters.
std::string RandomHex(size_t bytes);

}  // namespace sagaflow

#endif  // SAGAFLOW_COMMON_IDS_H_
