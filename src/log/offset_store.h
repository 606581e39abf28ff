#pragma once
// OffsetStore: the committed offsets of consumer groups, one small file per
// (group, topic): "<log dir>/groups/<group>/<topic>". Each commit rewrites
// the file with Env::WriteFileAtomic (temp file, fsync, rename, fsync of the
// directory), so a reader sees the old or the new offsets, never a mix.
//
// File format (text, so an operator can read it):
//   <partition> <next offset>\n        one line per partition, ascending
//   crc32c <8 lowercase hex digits>\n  CRC32C of all the lines above
//
// Thread safety: thread safe. Commits are serialised.

#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/env.h"
#include "log/log.h"

namespace viewpipe {

class OffsetStore {
 public:
  // env must outlive the store. dir: "<log dir>/groups".
  OffsetStore(Env* env, std::string dir) : env_(env), dir_(std::move(dir)) {}

  // The group's committed offsets for topic (empty when it has none).
  Result<std::map<PartitionId, Offset>> Load(std::string_view group, std::string_view topic) const;
  // Merges next_offsets into what is stored and writes it durably.
  Status Commit(std::string_view group, std::string_view topic,
                const std::map<PartitionId, Offset>& next_offsets);
  // Every (group, topic) with committed offsets on disk.
  Result<std::vector<std::pair<std::string, std::string>>> List() const;

  // Group names: 1-128 characters of [A-Za-z0-9._-], not starting with '.'.
  static bool ValidName(std::string_view name);
  static std::string Encode(const std::map<PartitionId, Offset>& offsets);
  static Status Decode(std::string_view data, std::map<PartitionId, Offset>* offsets);

 private:
  std::string PathOf(std::string_view group, std::string_view topic) const;

  Env* const env_;
  const std::string dir_;
  std::mutex commit_mu_;
};

}  // namespace viewpipe
