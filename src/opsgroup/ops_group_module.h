#pragma once
// OpsGroupModule: the ops path as one of several processes sharing the
// partitions of `viewing` (viewpipe consume --path ops; docs/scale.md,
// "The ops path as several processes"). Consumer group "ops" (the same as
// OpsModule's, so a `serve` still running the one-process ops path and a
// group member exclude each other loudly instead of counting twice),
// OpsGroupProcessor over PartitionShards, checkpoints and the member list
// in a shared store, and the merged /v1/ops/* routes (OpsGroupRoutes).
// Knobs: OpsModule's VIEWPIPE_OPS_* variables.

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "api/server_module.h"
#include "lake/object_store.h"

namespace viewpipe::ops {

struct OpsGroupOptions {
  bool enabled = false;  // `serve`/`consume` build this module instead of OpsModule
  // Where checkpoints and the member list live: every process of the group
  // must see the same store (an S3 prefix, or a directory they all mount).
  // Null: a LocalObjectStore at state_dir.
  std::shared_ptr<ObjectStore> state_store;
  std::string state_dir;  // empty: <data_dir>/ops/shared (one machine only)
  // The URL the other members reach this process at (http://host:port).
  std::string advertise_url;
};
// The options the next OpsGroupModule::Start uses (set by the command line).
OpsGroupOptions& OpsGroupServeOptions();

std::unique_ptr<ServerModule> MakeOpsGroupModule();

}  // namespace viewpipe::ops
