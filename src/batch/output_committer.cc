#include "batch/output_committer.h"

#include <simdjson.h>

#include <algorithm>

#include "common/crc32c.h"
#include "common/json_writer.h"

namespace viewpipe::batch {
namespace {

constexpr char kManifestName[] = "_manifest.json";
constexpr char kSuccessName[] = "_SUCCESS";

uint32_t FilesChecksum(const std::vector<ManifestFile>& files) {
  uint32_t crc = 0;
  for (const ManifestFile& f : files) {
    std::string line = f.name + "\n" + std::to_string(f.rows) + "\n" + std::to_string(f.bytes) +
                       "\n" + std::to_string(f.crc32c) + "\n";
    crc = crc32c::Extend(crc, line.data(), line.size());
  }
  return crc;
}

void AppendField(std::string* out, std::string_view name, std::string_view value) {
  out->push_back(',');
  AppendJsonString(out, name);
  out->push_back(':');
  AppendJsonString(out, value);
}

void AppendIntField(std::string* out, std::string_view name, int64_t value) {
  out->push_back(',');
  AppendJsonString(out, name);
  out->push_back(':');
  AppendJsonInt(out, value);
}

Status Malformed(std::string_view what) {
  return Status::Corruption("batch manifest: " + std::string(what));
}

}  // namespace

std::string EncodeOutputManifest(const OutputManifest& m) {
  std::string out = "{\"format\":\"viewpipe-batch-output\",\"format_version\":1";
  AppendField(&out, "job", m.job);
  AppendField(&out, "dataset", m.dataset);
  AppendField(&out, "partition", m.partition);
  out += std::string(",\"provisional\":") + (m.provisional ? "true" : "false");
  out += ",\"inputs\":{";
  bool first = true;
  for (const auto& [k, v] : m.inputs) {
    if (!first) out.push_back(',');
    first = false;
    AppendJsonString(&out, k);
    out.push_back(':');
    AppendJsonInt(&out, v);
  }
  out += "}";
  AppendIntField(&out, "rows", m.rows);
  AppendIntField(&out, "bytes", static_cast<int64_t>(m.bytes));
  AppendIntField(&out, "checksum", m.checksum);
  out += ",\"files\":[";
  for (size_t i = 0; i < m.files.size(); ++i) {
    const ManifestFile& f = m.files[i];
    out += i ? ",{\"name\":" : "{\"name\":";
    AppendJsonString(&out, f.name);
    AppendIntField(&out, "rows", f.rows);
    AppendIntField(&out, "bytes", static_cast<int64_t>(f.bytes));
    AppendIntField(&out, "crc32c", f.crc32c);
    out += "}";
  }
  out += "]}\n";
  return out;
}

Result<OutputManifest> DecodeOutputManifest(std::string_view json) {
  simdjson::dom::parser parser;
  simdjson::padded_string padded(json);
  simdjson::dom::element doc;
  if (parser.parse(padded).get(doc)) return Malformed("not JSON");
  OutputManifest m;
  std::string_view s;
  int64_t n = 0;
  if (doc["format"].get_string().get(s) || s != "viewpipe-batch-output") {
    return Malformed("wrong format");
  }
  auto str = [&](const char* k, std::string* out) {
    if (doc[k].get_string().get(s)) return false;
    *out = std::string(s);
    return true;
  };
  if (!str("job", &m.job) || !str("dataset", &m.dataset) || !str("partition", &m.partition) ||
      doc["provisional"].get_bool().get(m.provisional) || doc["rows"].get_int64().get(m.rows)) {
    return Malformed("missing fields");
  }
  if (doc["bytes"].get_int64().get(n)) return Malformed("bytes");
  m.bytes = static_cast<uint64_t>(n);
  if (doc["checksum"].get_int64().get(n)) return Malformed("checksum");
  m.checksum = static_cast<uint32_t>(n);
  simdjson::dom::object inputs;
  if (doc["inputs"].get_object().get(inputs)) return Malformed("inputs");
  for (auto field : inputs) {
    if (field.value.get_int64().get(n)) return Malformed("input version");
    m.inputs[std::string(field.key)] = n;
  }
  simdjson::dom::array files;
  if (doc["files"].get_array().get(files)) return Malformed("files");
  for (simdjson::dom::element f : files) {
    ManifestFile mf;
    int64_t bytes = 0, crc = 0;
    if (f["name"].get_string().get(s) || f["rows"].get_int64().get(mf.rows) ||
        f["bytes"].get_int64().get(bytes) || f["crc32c"].get_int64().get(crc)) {
      return Malformed("file entry");
    }
    mf.name = std::string(s);
    mf.bytes = static_cast<uint64_t>(bytes);
    mf.crc32c = static_cast<uint32_t>(crc);
    m.files.push_back(std::move(mf));
  }
  if (FilesChecksum(m.files) != m.checksum) return Malformed("checksum mismatch");
  return m;
}

Result<OutputManifest> ReadOutputManifest(ObjectStore* store, const std::string& prefix) {
  if (!store->Exists(prefix + kSuccessName)) {
    return Status::NotFound("no " + prefix + kSuccessName);
  }
  auto json = store->Get(prefix + kManifestName);
  if (!json.ok()) return json.status();
  return DecodeOutputManifest(*json);
}

OutputCommitter::OutputCommitter(ObjectStore* store, std::string run_key)
    : store_(store), run_key_(std::move(run_key)) {}

std::string OutputCommitter::StagedKey(const std::string& key) const {
  return std::string(kBatchStagingPrefix) + run_key_ + "/" + key;
}

std::string OutputCommitter::IntentKey() const {
  return std::string(kBatchCommitsPrefix) + run_key_ + ".json";
}

Status OutputCommitter::Recover() {
  auto intent = store_->Get(IntentKey());
  if (intent.ok()) return RollForward(*intent);
  if (!intent.status().IsNotFound()) return intent.status();
  return DeleteStaging();  // a run that never reached its commit point
}

Result<std::vector<OutputManifest>> OutputCommitter::Commit(const std::vector<Output>& outputs) {
  VP_RETURN_IF_ERROR(Recover());
  std::vector<OutputManifest> manifests;
  std::string intent = "{\"outputs\":[";
  for (const Output& o : outputs) {
    OutputManifest m{o.job, o.dataset, o.partition, o.provisional, o.inputs};
    std::string names;
    for (const OutputFile& f : o.files) {
      ManifestFile mf{f.name, f.rows};
      std::string staged = StagedKey(o.prefix + f.name);
      VP_RETURN_IF_ERROR(store_->PutFile(staged, f.local_path, &mf.crc32c));
      VP_RETURN_IF_ERROR(Probe("stage"));
      auto size = store_->Size(staged);
      if (!size.ok()) return size.status();
      mf.bytes = *size;
      m.rows += mf.rows;
      m.bytes += mf.bytes;
      if (!names.empty()) names.push_back(',');
      AppendJsonString(&names, f.name);
      m.files.push_back(std::move(mf));
    }
    m.checksum = FilesChecksum(m.files);
    intent += manifests.empty() ? "{\"prefix\":" : ",{\"prefix\":";
    AppendJsonString(&intent, o.prefix);
    intent += ",\"files\":[" + names + "],\"manifest\":";
    AppendJsonString(&intent, EncodeOutputManifest(m));
    intent += "}";
    manifests.push_back(std::move(m));
  }
  intent += "]}";
  VP_RETURN_IF_ERROR(Probe("before-intent"));
  VP_RETURN_IF_ERROR(store_->Put(IntentKey(), intent));  // the commit point
  VP_RETURN_IF_ERROR(Probe("intent"));
  VP_RETURN_IF_ERROR(RollForward(intent));
  return manifests;
}

Status OutputCommitter::RollForward(std::string_view intent) {
  simdjson::dom::parser parser;
  simdjson::padded_string padded(intent);
  simdjson::dom::element doc;
  simdjson::dom::array outputs;
  if (parser.parse(padded).get(doc) || doc["outputs"].get_array().get(outputs)) {
    return Status::Corruption("batch: unreadable commit intent " + IntentKey());
  }
  for (simdjson::dom::element o : outputs) {
    std::string_view prefix, manifest, name;
    simdjson::dom::array files;
    if (o["prefix"].get_string().get(prefix) || o["manifest"].get_string().get(manifest) ||
        o["files"].get_array().get(files)) {
      return Status::Corruption("batch: malformed commit intent " + IntentKey());
    }
    std::vector<std::string> names;
    for (simdjson::dom::element f : files) {
      if (f.get_string().get(name)) return Status::Corruption("batch: malformed file name");
      names.emplace_back(name);
    }
    VP_RETURN_IF_ERROR(Publish(std::string(prefix), names, std::string(manifest)));
  }
  VP_RETURN_IF_ERROR(store_->Delete(IntentKey()));
  VP_RETURN_IF_ERROR(Probe("done"));
  return DeleteStaging();
}

Status OutputCommitter::Publish(const std::string& prefix, const std::vector<std::string>& names,
                                const std::string& manifest) {
  VP_RETURN_IF_ERROR(store_->Delete(prefix + kSuccessName));  // readers wait from here on
  VP_RETURN_IF_ERROR(Probe("unmark"));
  for (const std::string& n : names) {
    std::string staged = StagedKey(prefix + n);
    if (store_->Exists(staged)) {
      VP_RETURN_IF_ERROR(store_->Rename(staged, prefix + n));
      VP_RETURN_IF_ERROR(Probe("publish"));
    } else if (!store_->Exists(prefix + n)) {
      return Status::Corruption("batch: committed file " + prefix + n + " is missing");
    }
  }
  auto listed = store_->List(prefix);
  if (!listed.ok()) return listed.status();
  for (const ObjectInfo& o : *listed) {
    std::string rel = o.key.substr(prefix.size());
    if (rel == kManifestName || std::find(names.begin(), names.end(), rel) != names.end()) continue;
    VP_RETURN_IF_ERROR(store_->Delete(o.key));  // a file of the previous output
  }
  VP_RETURN_IF_ERROR(store_->Put(prefix + kManifestName, manifest));
  VP_RETURN_IF_ERROR(Probe("manifest"));
  auto m = DecodeOutputManifest(manifest);
  if (!m.ok()) return m.status();
  std::string success = "{\"manifest\":\"_manifest.json\"";
  AppendIntField(&success, "rows", m->rows);
  AppendIntField(&success, "checksum", m->checksum);
  success += std::string(",\"provisional\":") + (m->provisional ? "true" : "false") + "}\n";
  return store_->Put(prefix + kSuccessName, success);
}

Status OutputCommitter::DeleteStaging() {
  auto staged = store_->List(std::string(kBatchStagingPrefix) + run_key_ + "/");
  if (!staged.ok()) return staged.status();
  for (const ObjectInfo& o : *staged) VP_RETURN_IF_ERROR(store_->Delete(o.key));
  return Status::OK();
}

}  // namespace viewpipe::batch
