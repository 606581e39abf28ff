#pragma once
// The lake's commit points: one immutable root manifest per version,
//
//   _lake/roots/r<version, 20 digits>.json
//
// created with ObjectStore::PutIfAbsent, so of the writers that read root N
// exactly one creates N+1 (optimistic concurrency: the others re-read and
// merge, partition_committer.h). The newest version is the lake's state;
// the ones before it are kept a while (kKeptRoots) for readers that listed
// them a moment ago, then deleted.
//
// A lake written before versioned roots has only _lake/root.json (the
// legacy commit point, replaced in place): it is read as the newest root
// until the first versioned commit, which removes it.

#include <cstdint>
#include <string>

#include "common/status.h"
#include "lake/manifest.h"
#include "lake/object_store.h"

namespace viewpipe {

inline constexpr char kRootsPrefix[] = "_lake/roots/";
inline constexpr int64_t kKeptRoots = 20;

std::string RootKey(int64_t version);
// The version a key under kRootsPrefix names; 0 when it is not a root.
int64_t RootVersionOfKey(const std::string& key);

// The newest committed root (an empty RootManifest for an empty lake).
Result<RootManifest> LoadLatestRoot(ObjectStore* store);
// Commits root (root.version must be the newest + 1): AlreadyExists when
// another writer created that version first. A request retried after its
// first attempt had in fact created the object counts as ours (the stored
// bytes are compared).
Status CreateRoot(ObjectStore* store, const RootManifest& root);
// Deletes roots older than current - kKeptRoots (every 10th version), and
// the legacy root when legacy (the lake was just migrated).
Status PruneRoots(ObjectStore* store, int64_t current, bool legacy);

}  // namespace viewpipe
