#pragma once
// SreGroupModule: the SRE path as one of several processes sharing the
// partitions of `qoe` (viewpipe consume --path sre; docs/scale.md, "The sre
// path as several processes"). Consumer group "sre" (the same as
// SreModule's, so a `serve` still running the one-process path and a group
// member exclude each other loudly), SreGroupProcessor over SreShards,
// checkpoints and the member list (sre/members/) in the group's shared
// store ([ops] state_uri, as the ops group), the detector (GroupDetector,
// on the owner of partition 0) and the merged /v1/sre/* routes.
// Knobs: SreModule's VIEWPIPE_SRE_* variables, plus
//   VIEWPIPE_SRE_SLICE_KEEP_MS  how far behind its watermark a partition
//                               keeps its 1 s slices for the detector (120000)

#include <memory>
#include <string>

#include "api/server_module.h"
#include "lake/object_store.h"

namespace viewpipe::sre {

struct SreGroupOptions {
  bool enabled = false;  // `consume --path sre` builds this module instead of SreModule
  // The group's store (null: a LocalObjectStore at state_dir, or
  // <data_dir>/sre/shared when that is empty: one machine only).
  std::shared_ptr<ObjectStore> state_store;
  std::string state_dir;
  std::string advertise_url;  // http://host:port the other members reach
};
SreGroupOptions& SreGroupServeOptions();

std::unique_ptr<ServerModule> MakeSreGroupModule();

}  // namespace viewpipe::sre
