#include "log/log.h"

namespace viewpipe {

PartitionId Log::PartitionForKey(std::string_view topic, std::string_view key) const {
  return HashPartition(key, Partitions(topic));
}

uint32_t KeyHash(std::string_view key) {
  uint32_t h = 2166136261u;  // FNV-1a 32 offset basis
  for (char c : key) {
    h ^= static_cast<uint8_t>(c);
    h *= 16777619u;  // FNV prime
  }
  return h;
}

PartitionId PartitionOfHash(uint32_t hash, int partitions) {
  if (partitions <= 1) return 0;
  return static_cast<PartitionId>(hash % static_cast<uint32_t>(partitions));
}

PartitionId HashPartition(std::string_view key, int partitions) {
  return PartitionOfHash(KeyHash(key), partitions);
}

}  // namespace viewpipe
