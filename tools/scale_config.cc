#include "tools/scale_config.h"

#include <CLI/CLI.hpp>
#include <toml++/toml.h>

#include <cstdlib>

#include "common/env.h"
#include "features/features_module.h"
#include "lake/s3_object_store.h"
#include "opsgroup/ops_group_module.h"
#include "tools/pipeline_server.h"
#include "warehouse/history_module.h"

namespace viewpipe::tools {
namespace {

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? "" : v;
}

Status ApplyServer(const toml::table& t, ServerConfig* c) {
  if (auto listen = t["listen"].value<std::string>()) {
    size_t colon = listen->rfind(':');
    if (colon == std::string::npos) return Status::InvalidArgument("server.listen: HOST:PORT");
    c->host = listen->substr(0, colon);
    c->port = std::atoi(listen->c_str() + colon + 1);
  }
  if (auto dir = t["data_dir"].value<std::string>()) c->data_dir = *dir;
  if (const toml::array* keys = t["write_keys"].as_array()) {
    c->collector.write_keys.clear();
    for (const auto& k : *keys) {
      if (auto s = k.value<std::string>()) c->collector.write_keys.push_back(*s);
    }
  }
  return Status::OK();
}

Status ApplyLog(const toml::table& t, ServerConfig* c) {
  c->log_backend = t["backend"].value_or(c->log_backend);
  if (c->log_backend != "file" && c->log_backend != "kafka") {
    return Status::InvalidArgument("log.backend must be \"file\" or \"kafka\", not \"" +
                                   c->log_backend + "\"");
  }
  c->kafka.brokers = t["brokers"].value_or(c->kafka.brokers);
  c->kafka.topic_prefix = t["topic_prefix"].value_or(c->kafka.topic_prefix);
  c->kafka.group_prefix = t["group_prefix"].value_or(c->kafka.group_prefix);
  c->kafka.replication_factor = t["replication_factor"].value_or(c->kafka.replication_factor);
  c->kafka.delivery_timeout_ms = t["delivery_timeout_ms"].value_or(c->kafka.delivery_timeout_ms);
  if (const toml::table* props = t["properties"].as_table()) {
    for (const auto& [k, v] : *props) {
      auto s = v.value<std::string>();
      if (!s) return Status::InvalidArgument("log.properties." + std::string(k) + ": a string");
      c->kafka.properties[std::string(k)] = *s;
    }
  }
  if (c->log_backend == "kafka" && c->kafka.brokers.empty()) {
    return Status::InvalidArgument("log.backend = \"kafka\" needs log.brokers");
  }
  // On Kafka the lake path's processes share its partitions (docs/scale.md).
  HistoryServeOptions().lake_shared = c->log_backend == "kafka";
  return Status::OK();
}

Status ApplyLake(const toml::table& t, const ServerConfig& c) {
  HistoryOptions& history = HistoryServeOptions();
  history.lake_roll_ms = t["roll_ms"].value_or(history.lake_roll_ms);
  const std::string uri = t["uri"].value_or(std::string());
  if (uri.empty()) return Status::OK();
  if (uri.starts_with("/") || uri.starts_with("file://")) {
    // A directory every lake process mounts (one host, or a POSIX shared
    // filesystem with link(2)).
    const std::string dir = uri.starts_with("file://") ? uri.substr(7) : uri;
    VP_RETURN_IF_ERROR(Env::Default()->CreateDirs(dir));
    history.lake_store = std::make_shared<LocalObjectStore>(Env::Default(), dir);
    history.lake_read_dir = dir;
    return Status::OK();
  }
  S3Options o;
  VP_RETURN_IF_ERROR(S3ObjectStore::ParseUri(uri, &o));
  o.endpoint = t["endpoint"].value_or(std::string("https://s3.amazonaws.com"));
  o.region = t["region"].value_or(o.region);
  o.multipart_threshold = t["multipart_threshold_bytes"].value_or(o.multipart_threshold);
  o.part_bytes = t["part_bytes"].value_or(o.part_bytes);
  o.access_key = Env("AWS_ACCESS_KEY_ID");
  o.secret_key = Env("AWS_SECRET_ACCESS_KEY");
  o.session_token = Env("AWS_SESSION_TOKEN");
  if (o.access_key.empty() || o.secret_key.empty()) {
    return Status::InvalidArgument("lake.uri is s3://: set AWS_ACCESS_KEY_ID and "
                                   "AWS_SECRET_ACCESS_KEY");
  }
  o.cache_dir = JoinPath(HistoryDir(c.data_dir), "s3-cache");
  auto store = std::make_shared<S3ObjectStore>(o);
  if (t["create_bucket"].value_or(false)) VP_RETURN_IF_ERROR(store->CreateBucket());
  HistoryOptions& h = HistoryServeOptions();
  h.lake_store = store;
  h.lake_read_dir = o.cache_dir;
  return Status::OK();
}

Status ApplyFeatures(const toml::table& t) {
  features::FeaturesOptions& f = features::FeaturesServeOptions();
  f.store = t["store"].value_or(f.store);
  if (f.store != "rocksdb" && f.store != "redis") {
    return Status::InvalidArgument("features.store must be \"rocksdb\" or \"redis\", not \"" +
                                   f.store + "\"");
  }
  f.redis_url = t["redis_url"].value_or(f.redis_url);
  f.redis_key_prefix = t["redis_key_prefix"].value_or(f.redis_key_prefix);
  if (!f.redis_url.starts_with("redis://")) {
    return Status::InvalidArgument("features.redis_url must be redis://host:port/db");
  }
  return Status::OK();
}

// [ops] state_uri: where the ops group's checkpoints and member list live
// (consume --path ops); s3:// uses the [lake] endpoint and region unless
// [ops] sets its own.
Status ApplyOps(const toml::table& t, const toml::table* lake) {
  ops::OpsGroupOptions& g = ops::OpsGroupServeOptions();
  g.advertise_url = t["advertise_url"].value_or(g.advertise_url);
  const std::string uri = t["state_uri"].value_or(std::string());
  if (uri.empty()) return Status::OK();
  if (!uri.starts_with("s3://")) {
    g.state_dir = uri;
    return Status::OK();
  }
  S3Options o;
  VP_RETURN_IF_ERROR(S3ObjectStore::ParseUri(uri, &o));
  const std::string lake_endpoint =
      lake != nullptr ? (*lake)["endpoint"].value_or(std::string()) : std::string();
  o.endpoint = t["endpoint"].value_or(
      lake_endpoint.empty() ? std::string("https://s3.amazonaws.com") : lake_endpoint);
  o.region = t["region"].value_or(lake != nullptr ? (*lake)["region"].value_or(o.region)
                                                  : o.region);
  o.access_key = Env("AWS_ACCESS_KEY_ID");
  o.secret_key = Env("AWS_SECRET_ACCESS_KEY");
  o.session_token = Env("AWS_SESSION_TOKEN");
  if (o.access_key.empty() || o.secret_key.empty()) {
    return Status::InvalidArgument("ops.state_uri is s3://: set AWS_ACCESS_KEY_ID and "
                                   "AWS_SECRET_ACCESS_KEY");
  }
  auto store = std::make_shared<S3ObjectStore>(o);
  if (t["create_bucket"].value_or(false)) VP_RETURN_IF_ERROR(store->CreateBucket());
  g.state_store = store;
  return Status::OK();
}

}  // namespace

Status ApplyConfigFile(const std::string& path, ServerConfig* config) {
  toml::table t;
  try {
    t = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    return Status::InvalidArgument(path + ": " + std::string(e.description()));
  }
  if (const toml::table* s = t["server"].as_table()) VP_RETURN_IF_ERROR(ApplyServer(*s, config));
  if (const toml::table* l = t["log"].as_table()) VP_RETURN_IF_ERROR(ApplyLog(*l, config));
  if (const toml::table* l = t["lake"].as_table()) VP_RETURN_IF_ERROR(ApplyLake(*l, *config));
  if (const toml::table* f = t["features"].as_table()) VP_RETURN_IF_ERROR(ApplyFeatures(*f));
  if (const toml::table* o = t["ops"].as_table()) {
    VP_RETURN_IF_ERROR(ApplyOps(*o, t["lake"].as_table()));
  }
  return Status::OK();
}

void AddConfigFlag(CLI::App* cmd, ServerConfig* config) {
  cmd->add_option_function<std::string>(
      "--config",
      [config](const std::string& path) {
        Status st = ApplyConfigFile(path, config);
        if (!st.ok()) throw CLI::ValidationError("--config", st.ToString());
      },
      "TOML file selecting the backends: [log] file|kafka, [lake] s3://, "
      "[features] rocksdb|redis (docs/scale.md)");
}

void AddLakeConfigFlag(CLI::App* cmd, std::string* data_dir) {
  cmd->add_option_function<std::string>(
      "--config",
      [data_dir](const std::string& path) {
        ServerConfig config;
        config.data_dir = *data_dir;
        Status st = ApplyConfigFile(path, &config);
        if (!st.ok()) throw CLI::ValidationError("--config", st.ToString());
        *data_dir = config.data_dir;
      },
      "TOML file of `serve --config`: its [lake] uri = s3://... is the lake read and "
      "written here (docs/scale.md)");
}

}  // namespace viewpipe::tools
