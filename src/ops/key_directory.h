#pragma once
// KeyDirectory: the names of each dimension's values and the ViewerSeries
// key of each (dimension, value id) pair.
//
// Thread safety: Intern runs on the ops consumer thread under the ops
// state's exclusive lock; Find/Key/size under the shared lock; names(d).Name
// as NameTable allows.

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "ops/dimension.h"
#include "ops/name_table.h"
#include "ops/viewer_series.h"

namespace viewpipe::ops {

class KeyDirectory {
 public:
  // The name every new value maps to once a dimension holds
  // NameTable::kMaxNames - 1 names (a client inventing title ids).
  static constexpr std::string_view kOverflowName = "(other)";

  // The id of name in dimension d, adding it (and a series key) when new.
  uint32_t Intern(Dimension d, std::string_view name, ViewerSeries* series);
  // Checkpoint restore: adds name as the next id of d, for series key key.
  // False if name is already there.
  bool Restore(Dimension d, std::string_view name, ViewerSeries::KeyId key);
  std::optional<uint32_t> Find(Dimension d, std::string_view name) const {
    return names_[Index(d)].Find(name);
  }
  ViewerSeries::KeyId Key(Dimension d, uint32_t id) const { return keys_[Index(d)][id]; }
  uint32_t size(Dimension d) const { return static_cast<uint32_t>(keys_[Index(d)].size()); }
  const NameTable& names(Dimension d) const { return names_[Index(d)]; }
  size_t MemoryBytes() const;

 private:
  std::array<NameTable, kDimensionCount> names_;
  std::array<std::vector<ViewerSeries::KeyId>, kDimensionCount> keys_;
};

}  // namespace viewpipe::ops
