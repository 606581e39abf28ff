#include "lake/manifest.h"

#include <simdjson.h>

#include <algorithm>
#include <cstdio>
#include <limits>

#include "common/crc32c.h"
#include "common/json_writer.h"

namespace viewpipe {
namespace {

constexpr int kFormatVersion = 1;
constexpr char kDayFormat[] = "viewpipe-lake-day";
constexpr char kRootFormat[] = "viewpipe-lake-root";

void Key(std::string* out, const char* k) {
  if (out->back() != '{' && out->back() != '[') *out += ',';
  AppendJsonString(out, k);
  *out += ':';
}
void Int(std::string* out, const char* k, int64_t v) {
  Key(out, k);
  AppendJsonInt(out, v);
}
void Str(std::string* out, const char* k, std::string_view v) {
  Key(out, k);
  AppendJsonString(out, v);
}
void Bool(std::string* out, const char* k, bool v) {
  Key(out, k);
  *out += v ? "true" : "false";
}

// Reads from a simdjson object with defaults; the first error wins.
class Reader {
 public:
  explicit Reader(simdjson::dom::object o) : o_(o) {}
  int64_t Int(const char* k, int64_t def = 0) {
    int64_t v = def;
    auto e = o_[k];
    if (e.error() == simdjson::NO_SUCH_FIELD) return def;
    if (e.get_int64().get(v) != simdjson::SUCCESS) {
      uint64_t u = 0;
      if (e.get_uint64().get(u) == simdjson::SUCCESS) return static_cast<int64_t>(u);
      Fail(k);
    }
    return v;
  }
  std::string Str(const char* k) {
    std::string_view v;
    auto e = o_[k];
    if (e.error() == simdjson::NO_SUCH_FIELD) return "";
    if (e.get_string().get(v) != simdjson::SUCCESS) Fail(k);
    return std::string(v);
  }
  bool Bool(const char* k) {
    bool v = false;
    auto e = o_[k];
    if (e.error() == simdjson::NO_SUCH_FIELD) return false;
    if (e.get_bool().get(v) != simdjson::SUCCESS) Fail(k);
    return v;
  }
  simdjson::dom::array Array(const char* k) {
    simdjson::dom::array a;
    auto e = o_[k];
    if (e.error() == simdjson::NO_SUCH_FIELD) return a;
    if (e.get_array().get(a) != simdjson::SUCCESS) Fail(k);
    return a;
  }
  simdjson::dom::object Object(const char* k) {
    simdjson::dom::object o;
    auto e = o_[k];
    if (e.error() == simdjson::NO_SUCH_FIELD) return o;
    if (e.get_object().get(o) != simdjson::SUCCESS) Fail(k);
    return o;
  }
  bool Has(const char* k) { return o_[k].error() != simdjson::NO_SUCH_FIELD; }
  void Fail(const char* k) {
    if (error_.empty()) error_ = std::string("field '") + k + "' has the wrong type";
  }
  const std::string& error() const { return error_; }

 private:
  simdjson::dom::object o_;
  std::string error_;
};

Result<simdjson::dom::object> ParseObject(simdjson::dom::parser* parser, std::string_view json,
                                          const char* format) {
  simdjson::dom::element doc;
  simdjson::padded_string padded(json);
  if (parser->parse(padded).get(doc) != simdjson::SUCCESS) {
    return Status::Corruption(std::string(format) + ": not JSON");
  }
  simdjson::dom::object o;
  if (doc.get_object().get(o) != simdjson::SUCCESS) {
    return Status::Corruption(std::string(format) + ": not a JSON object");
  }
  Reader r(o);
  if (r.Str("format") != format) return Status::Corruption(std::string("not a ") + format);
  if (r.Int("format_version") != kFormatVersion) {
    return Status::Corruption(std::string(format) + ": unknown format_version");
  }
  return o;
}

}  // namespace

std::string DayPrefix(EventDate date) {
  return std::string(kEventsPrefix) + "event_date=" + date.ToString() + "/";
}

std::string DayManifestKey(EventDate date, int64_t version, const std::string& tag) {
  char buf[40];
  std::snprintf(buf, sizeof(buf), "_manifest-v%08lld", static_cast<long long>(version));
  return DayPrefix(date) + buf + (tag.empty() ? "" : "-" + tag) + ".json";
}

std::string SuccessKey(EventDate date) { return DayPrefix(date) + "_SUCCESS"; }

std::string DataFileKey(EventDate date, int hour, const std::string& name) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "hour=%02d/", hour);
  return DayPrefix(date) + buf + name;
}

int64_t DayManifest::Rows() const {
  int64_t n = 0;
  for (const LakeFile& f : files) n += f.rows;
  return n;
}

uint64_t DayManifest::Bytes() const {
  uint64_t n = 0;
  for (const LakeFile& f : files) n += f.bytes;
  return n;
}

int64_t DayManifest::MinTs() const {
  int64_t v = std::numeric_limits<int64_t>::max();
  for (const LakeFile& f : files) v = std::min(v, f.min_ts);
  return files.empty() ? 0 : v;
}

int64_t DayManifest::MaxTs() const {
  int64_t v = std::numeric_limits<int64_t>::min();
  for (const LakeFile& f : files) v = std::max(v, f.max_ts);
  return files.empty() ? 0 : v;
}

uint32_t DayManifest::Checksum() const {
  uint32_t crc = 0;
  for (const LakeFile& f : files) {
    std::string line = f.key + "\n" + std::to_string(f.rows) + "\n" + std::to_string(f.bytes) +
                       "\n" + std::to_string(f.crc32c) + "\n";
    crc = crc32c::Extend(crc, line.data(), line.size());
  }
  return crc;
}

std::string EncodeDayManifest(const DayManifest& m) {
  std::string out = "{";
  Str(&out, "format", kDayFormat);
  Int(&out, "format_version", kFormatVersion);
  Int(&out, "schema_version", m.schema_version);
  Str(&out, "event_date", m.date.ToString());
  Int(&out, "version", m.version);
  if (!m.tag.empty()) Str(&out, "tag", m.tag);
  Int(&out, "committed_at", m.committed_at_ms);
  Bool(&out, "sealed", m.sealed);
  Int(&out, "sealed_at", m.sealed_at_ms);
  Int(&out, "sealed_version", m.sealed_version);
  Int(&out, "rows", m.Rows());
  Int(&out, "bytes", static_cast<int64_t>(m.Bytes()));
  Int(&out, "min_ts", m.MinTs());
  Int(&out, "max_ts", m.MaxTs());
  Key(&out, "late");
  out += '{';
  Int(&out, "events", m.late.events);
  Int(&out, "max_lateness_ms", m.late.max_lateness_ms);
  Int(&out, "versions", m.late.versions);
  out += '}';
  if (m.backfill_seed != 0) Int(&out, "backfill_seed", static_cast<int64_t>(m.backfill_seed));
  Int(&out, "checksum", m.Checksum());
  Key(&out, "files");
  out += '[';
  for (const LakeFile& f : m.files) {
    out += out.back() == '[' ? "\n{" : ",\n{";
    Str(&out, "key", f.key);
    Int(&out, "hour", f.hour);
    Int(&out, "rows", f.rows);
    Int(&out, "bytes", static_cast<int64_t>(f.bytes));
    Int(&out, "min_ts", f.min_ts);
    Int(&out, "max_ts", f.max_ts);
    Int(&out, "crc32c", f.crc32c);
    out += '}';
  }
  out += "]}\n";
  return out;
}

Result<DayManifest> DecodeDayManifest(std::string_view json) {
  simdjson::dom::parser parser;
  auto obj = ParseObject(&parser, json, kDayFormat);
  if (!obj.ok()) return obj.status();
  Reader r(*obj);
  DayManifest m;
  auto date = EventDate::Parse(r.Str("event_date"));
  if (!date) return Status::Corruption("day manifest: bad event_date");
  m.date = *date;
  m.schema_version = static_cast<int>(r.Int("schema_version"));
  m.version = r.Int("version");
  m.tag = r.Str("tag");
  m.committed_at_ms = r.Int("committed_at");
  m.sealed = r.Bool("sealed");
  m.sealed_at_ms = r.Int("sealed_at");
  m.sealed_version = r.Int("sealed_version");
  m.backfill_seed = static_cast<uint64_t>(r.Int("backfill_seed"));
  Reader late(r.Object("late"));
  m.late.events = late.Int("events");
  m.late.max_lateness_ms = late.Int("max_lateness_ms");
  m.late.versions = late.Int("versions");
  for (simdjson::dom::element e : r.Array("files")) {
    simdjson::dom::object fo;
    if (e.get_object().get(fo) != simdjson::SUCCESS) return Status::Corruption("bad file entry");
    Reader f(fo);
    LakeFile file;
    file.key = f.Str("key");
    file.hour = static_cast<int>(f.Int("hour"));
    file.rows = f.Int("rows");
    file.bytes = static_cast<uint64_t>(f.Int("bytes"));
    file.min_ts = f.Int("min_ts");
    file.max_ts = f.Int("max_ts");
    file.crc32c = static_cast<uint32_t>(f.Int("crc32c"));
    if (!f.error().empty()) return Status::Corruption("day manifest file: " + f.error());
    m.files.push_back(std::move(file));
  }
  if (!r.error().empty()) return Status::Corruption("day manifest: " + r.error());
  if (!late.error().empty()) return Status::Corruption("day manifest: " + late.error());
  if (r.Int("rows") != m.Rows() || static_cast<uint64_t>(r.Int("bytes")) != m.Bytes()) {
    return Status::Corruption("day manifest " + m.date.ToString() + ": totals do not match files");
  }
  if (static_cast<uint32_t>(r.Int("checksum")) != m.Checksum()) {
    return Status::Corruption("day manifest " + m.date.ToString() + " v" +
                              std::to_string(m.version) + ": checksum mismatch");
  }
  return m;
}

std::string EncodeRootManifest(const RootManifest& m) {
  std::string out = "{";
  Str(&out, "format", kRootFormat);
  Int(&out, "format_version", kFormatVersion);
  Int(&out, "schema_version", m.schema_version);
  Int(&out, "version", m.version);
  Int(&out, "committed_at", m.committed_at_ms);
  Int(&out, "watermark_ms", m.watermark_ms);
  Key(&out, "offsets");
  out += '{';
  for (const auto& [p, o] : m.offsets) Int(&out, std::to_string(p).c_str(), o);
  out += '}';
  if (!m.watermarks.empty()) {
    Key(&out, "watermarks");
    out += '{';
    for (const auto& [p, w] : m.watermarks) Int(&out, std::to_string(p).c_str(), w);
    out += '}';
  }
  Key(&out, "days");
  out += '[';
  for (const auto& [date, d] : m.days) {
    out += out.back() == '[' ? "\n{" : ",\n{";
    Str(&out, "date", date.ToString());
    Int(&out, "manifest", d.manifest);
    if (!d.tag.empty()) Str(&out, "tag", d.tag);
    Bool(&out, "sealed", d.sealed);
    Int(&out, "rows", d.rows);
    Int(&out, "bytes", static_cast<int64_t>(d.bytes));
    Int(&out, "files", d.files);
    out += '}';
  }
  out += ']';
  Key(&out, "pending");
  out += '[';
  for (const Publish& p : m.pending) {
    out += out.back() == '[' ? "{" : ",{";
    Str(&out, "from", p.from);
    Str(&out, "to", p.to);
    out += '}';
  }
  out += ']';
  Key(&out, "touched");
  out += '[';
  for (EventDate d : m.touched) {
    if (out.back() != '[') out += ',';
    AppendJsonString(&out, d.ToString());
  }
  out += ']';
  Key(&out, "tombstones");
  out += '[';
  for (const Tombstone& t : m.tombstones) {
    out += out.back() == '[' ? "{" : ",{";
    Str(&out, "key", t.key);
    Int(&out, "delete_after", t.delete_after_ms);
    out += '}';
  }
  out += "]}\n";
  return out;
}

Result<RootManifest> DecodeRootManifest(std::string_view json) {
  simdjson::dom::parser parser;
  auto obj = ParseObject(&parser, json, kRootFormat);
  if (!obj.ok()) return obj.status();
  Reader r(*obj);
  RootManifest m;
  m.schema_version = static_cast<int>(r.Int("schema_version"));
  m.version = r.Int("version");
  m.committed_at_ms = r.Int("committed_at");
  m.watermark_ms = r.Int("watermark_ms");
  for (auto [k, v] : r.Object("offsets")) {
    int64_t off = 0;
    if (v.get_int64().get(off) != simdjson::SUCCESS) return Status::Corruption("root: offsets");
    m.offsets[static_cast<PartitionId>(std::stol(std::string(k)))] = off;
  }
  // Absent in roots of one-writer lakes (and iterating a missing object
  // is not safe).
  if (r.Has("watermarks")) {
    for (auto [k, v] : r.Object("watermarks")) {
      int64_t wm = 0;
      if (v.get_int64().get(wm) != simdjson::SUCCESS) return Status::Corruption("root: watermarks");
      m.watermarks[static_cast<PartitionId>(std::stol(std::string(k)))] = wm;
    }
  }
  for (simdjson::dom::element e : r.Array("days")) {
    simdjson::dom::object o;
    if (e.get_object().get(o) != simdjson::SUCCESS) return Status::Corruption("root: days");
    Reader d(o);
    auto date = EventDate::Parse(d.Str("date"));
    if (!date) return Status::Corruption("root: bad day date");
    DayRef ref{d.Int("manifest"), d.Str("tag"), d.Bool("sealed"), d.Int("rows"),
               static_cast<uint64_t>(d.Int("bytes")), d.Int("files")};
    if (!d.error().empty()) return Status::Corruption("root day: " + d.error());
    m.days[*date] = ref;
  }
  for (simdjson::dom::element e : r.Array("pending")) {
    simdjson::dom::object o;
    if (e.get_object().get(o) != simdjson::SUCCESS) return Status::Corruption("root: pending");
    Reader p(o);
    m.pending.push_back({p.Str("from"), p.Str("to")});
  }
  for (simdjson::dom::element e : r.Array("touched")) {
    std::string_view s;
    std::optional<EventDate> d;
    if (e.get_string().get(s) != simdjson::SUCCESS || !(d = EventDate::Parse(s))) {
      return Status::Corruption("root: touched");
    }
    m.touched.push_back(*d);
  }
  for (simdjson::dom::element e : r.Array("tombstones")) {
    simdjson::dom::object o;
    if (e.get_object().get(o) != simdjson::SUCCESS) return Status::Corruption("root: tombstones");
    Reader t(o);
    m.tombstones.push_back({t.Str("key"), t.Int("delete_after")});
  }
  if (!r.error().empty()) return Status::Corruption("root manifest: " + r.error());
  return m;
}

std::string EncodeSuccess(const DayManifest& m) {
  std::string out = "{";
  Str(&out, "event_date", m.date.ToString());
  Str(&out, "manifest",
      DayManifestKey(m.date, m.version, m.tag).substr(DayPrefix(m.date).size()));
  Int(&out, "version", m.version);
  Int(&out, "rows", m.Rows());
  Int(&out, "files", static_cast<int64_t>(m.files.size()));
  Int(&out, "checksum", m.Checksum());
  Int(&out, "sealed_at", m.sealed_at_ms);
  Int(&out, "late_events", m.late.events);
  out += "}\n";
  return out;
}

}  // namespace viewpipe
