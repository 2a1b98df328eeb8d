// Key encodings of the RocksDB store. Integers are big-endian (signed times
// with the sign bit flipped) so that byte order is numeric order and range
// scans come out sorted.
#ifndef SAGAFLOW_PERSISTENCE_KEYS_H_
#define SAGAFLOW_PERSISTENCE_KEYS_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace sagaflow::persistence::keys {

void AppendU64(std::string* dst, uint64_t v);
void AppendU32(std::string* dst, uint32_t v);
void AppendTime(std::string* dst, int64_t ms);
uint64_t ReadU64(std::string_view src);  // Precondition: src.size() >= 8.
uint32_t ReadU32(std::string_view src);  // Precondition: src.size() >= 4.
int64_t ReadTime(std::string_view src);  // Precondition: src.size() >= 8.

// workflows: name \0 version
std::string Workflow(std::string_view name, uint32_t version);
std::string WorkflowPrefix(std::string_view name);

// history and signals: run_no seq (16 bytes; the 8-byte run_no is the prefix)
std::string RunSeq(uint64_t run_no, uint64_t seq);
std::string RunPrefix(uint64_t run_no);
inline constexpr size_t kRunPrefixSize = 8;

// Run indexes; each ends with the run id, after fixed-size parts.
std::string ByTime(int64_t created_at_ms, std::string_view run_id);
std::string ByStatus(int status, int64_t created_at_ms,
                     std::string_view run_id);
std::string StatusPrefix(int status);
std::string ByWorkflow(std::string_view workflow, int64_t created_at_ms,
                       std::string_view run_id);
std::string WorkflowIndexPrefix(std::string_view workflow);
std::string ByEnded(int64_t ended_at_ms, std::string_view run_id);

// timers: due time, then the timer id
std::string Timer(int64_t due_at_ms, std::string_view timer_id);

// Upper bound for reverse scans: the prefix followed by bytes greater than any
// key's suffix.
std::string PrefixEnd(std::string_view prefix);

// Page tokens are index keys rendered as hex, so a token is opaque and
// printable.
std::string ToHex(std::string_view bytes);
bool FromHex(std::string_view hex, std::string* bytes);

}  // namespace sagaflow::persistence::keys

#endif  // SAGAFLOW_PERSISTENCE_KEYS_H_
