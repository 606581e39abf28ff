#pragma once
// `viewpipe serve --config FILE.toml`: selects the backends (docs/scale.md,
// scale.toml at the repo root is an example).
//
//   [server]  listen = "HOST:PORT", data_dir, write_keys = [...]
//   [log]     backend = "file" | "kafka", brokers = "h:p,...",
//             topic_prefix, group_prefix, replication_factor,
//             delivery_timeout_ms, [log.properties] (librdkafka)
//   [lake]    uri = "s3://bucket/prefix" (default: <data_dir>/history/lake),
//             endpoint, region, create_bucket, multipart_threshold_bytes, part_bytes
//   [features] store = "rocksdb" | "redis", redis_url = "redis://HOST:PORT/DB",
//             redis_key_prefix (default "viewpipe:features:")
//   [ops]     state_uri = "s3://bucket/prefix" | "/shared/dir" (consume --path
//             ops: the ops group's checkpoints and members, and consume
//             --path sre's under sre/; default
//             <data_dir>/ops/shared), endpoint, region, create_bucket,
//             advertise_url (default http://<listen>)
//
// S3 credentials come from the environment only: AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY and optionally AWS_SESSION_TOKEN. Values in the file
// win over the same setting given as a flag.

#include <string>

#include "common/status.h"

namespace CLI {
class App;
}

namespace viewpipe::tools {

struct ServerConfig;

// Reads path into *config (server, log) and the history module's serve
// options (lake). InvalidArgument names the bad key.
Status ApplyConfigFile(const std::string& path, ServerConfig* config);
// Adds --config FILE to cmd; the file is applied after the other flags.
void AddConfigFlag(CLI::App* cmd, ServerConfig* config);
// Adds --config FILE to a command that works on a data dir's lake (batch,
// backfill, query, cost, lake, experiments): the file's [lake] selects the
// store OpenLakeStore(HistoryServeOptions(), ...) opens, and its [server]
// data_dir, if set, replaces *data_dir. Add it after --data-dir (CLI11 runs
// the options in the order they were added).
void AddLakeConfigFlag(CLI::App* cmd, std::string* data_dir);

}  // namespace viewpipe::tools
