#include "persistence/keys.h"

namespace sagaflow::persistence::keys {

void AppendU64(std::string* dst, uint64_t v) {
  char buf[8];
  for (int i = 7; i >= 0; --i) {
    buf[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
  dst->append(buf, 8);
}

void AppendU32(std::string* dst, uint32_t v) {
  char buf[4];
  for (int i = 3; i >= 0; --i) {
    buf[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
  dst->append(buf, 4);
}

void AppendTime(std::string* dst, int64_t ms) {
  AppendU64(dst, static_cast<uint64_t>(ms) ^ (uint64_t{1} << 63));
}

uint64_t ReadU64(std::string_view src) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(src[i]);
  return v;
}

uint32_t ReadU32(std::string_view src) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<uint8_t>(src[i]);
  return v;
}

int64_t ReadTime(std::string_view src) {
  return static_cast<int64_t>(ReadU64(src) ^ (uint64_t{1} << 63));
}

std::string WorkflowPrefix(std::string_view name) {
  std::string k(name);
  k.push_back('\0');
  return k;
}

std::string Workflow(std::string_view name, uint32_t version) {
  std::string k = WorkflowPrefix(name);
  AppendU32(&k, version);
  return k;
}

std::string RunPrefix(uint64_t run_no) {
  std::string k;
  AppendU64(&k, run_no);
  return k;
}

std::string RunSeq(uint64_t run_no, uint64_t seq) {
  std::string k = RunPrefix(run_no);
  AppendU64(&k, seq);
  return k;
}

std::string ByTime(int64_t created_at_ms, std::string_view run_id) {
  std::string k;
  AppendTime(&k, created_at_ms);
  k.append(run_id);
  return k;
}

std::string StatusPrefix(int status) {
  return std::string(1, static_cast<char>(status));
}

std::string ByStatus(int status, int64_t created_at_ms,
                     std::string_view run_id) {
  std::string k = StatusPrefix(status);
  AppendTime(&k, created_at_ms);
  k.append(run_id);
  return k;
}

std::string WorkflowIndexPrefix(std::string_view workflow) {
  return WorkflowPrefix(workflow);
}

std::string ByWorkflow(std::string_view workflow, int64_t created_at_ms,
                       std::string_view run_id) {
  std::string k = WorkflowIndexPrefix(workflow);
  AppendTime(&k, created_at_ms);
  k.append(run_id);
  return k;
}

std::string ByEnded(int64_t ended_at_ms, std::string_view run_id) {
  std::string k;
  AppendTime(&k, ended_at_ms);
  k.append(run_id);
  return k;
}

std::string Timer(int64_t due_at_ms, std::string_view timer_id) {
  std::string k;
  AppendTime(&k, due_at_ms);
  k.append(timer_id);
  return k;
}

std::string PrefixEnd(std::string_view prefix) {
  // Run ids are at most a few hundred bytes; 1 KiB of 0xff sorts after any of
  // them.
  std::string k(prefix);
  k.append(1024, '\xff');
  return k;
}

std::string ToHex(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 0xf]);
  }
  return out;
}

bool FromHex(std::string_view hex, std::string* bytes) {
  if (hex.size() % 2 != 0) return false;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  bytes->clear();
  for (size_t i = 0; i < hex.size(); i += 2) {
    const int hi = nibble(hex[i]), lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) return false;
    bytes->push_back(static_cast<char>(hi << 4 | lo));
  }
  return true;
}

}  // namespace sagaflow::persistence::keys
