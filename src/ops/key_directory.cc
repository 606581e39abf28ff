#include "ops/key_directory.h"

namespace viewpipe::ops {

uint32_t KeyDirectory::Intern(Dimension d, std::string_view name, ViewerSeries* series) {
  NameTable& names = names_[Index(d)];
  if (names.size() >= NameTable::kMaxNames - 1) {
    if (auto id = names.Find(name)) return *id;
    name = kOverflowName;
  }
  const uint32_t id = names.Intern(name);
  std::vector<ViewerSeries::KeyId>& keys = keys_[Index(d)];
  if (id == keys.size()) keys.push_back(series->AddKey());
  return id;
}

bool KeyDirectory::Restore(Dimension d, std::string_view name, ViewerSeries::KeyId key) {
  NameTable& names = names_[Index(d)];
  if (names.Find(name)) return false;
  names.Intern(name);
  keys_[Index(d)].push_back(key);
  return true;
}

size_t KeyDirectory::MemoryBytes() const {
  size_t bytes = 0;
  for (size_t d = 0; d < kDimensionCount; ++d) {
    bytes += names_[d].MemoryBytes() + keys_[d].capacity() * sizeof(ViewerSeries::KeyId);
  }
  return bytes;
}

}  // namespace viewpipe::ops
