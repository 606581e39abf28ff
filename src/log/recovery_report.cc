#include "log/recovery_report.h"

namespace viewpipe {

bool RecoveryReport::Clean() const {
  for (const auto& p : partitions) {
    if (p.bytes_truncated > 0 || !p.problem.empty()) return false;
  }
  return true;
}

uint64_t RecoveryReport::BytesTruncated() const {
  uint64_t total = 0;
  for (const auto& p : partitions) total += p.bytes_truncated;
  return total;
}

std::string RecoveryReport::ToString() const {
  std::string out;
  for (const auto& p : partitions) {
    if (p.bytes_truncated == 0 && p.problem.empty() && !p.index_rebuilt) continue;
    out += p.topic + "/" + std::to_string(p.partition) + ": offsets [" +
           std::to_string(p.start_offset) + ", " + std::to_string(p.end_offset) + ")";
    if (p.bytes_truncated > 0) out += ", truncated " + std::to_string(p.bytes_truncated) + " bytes";
    if (p.index_rebuilt) out += ", index rebuilt";
    if (!p.problem.empty()) out += ": " + p.problem;
    out += "\n";
  }
  return out.empty() ? "clean\n" : out;
}

}  // namespace viewpipe
