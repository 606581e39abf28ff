#include "sre/alert_book.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <bit>

#include "ops/bytes.h"
#include "ops/checkpoint_file.h"

namespace viewpipe::sre {
namespace {

namespace bytes = ops::bytes;
constexpr uint8_t kSectionAlert = 1;

void PutDouble(std::string* out, double v) { bytes::PutFixed64(out, std::bit_cast<uint64_t>(v)); }
bool GetDouble(std::string_view* in, double* v) {
  uint64_t u;
  if (!bytes::GetFixed64(in, &u)) return false;
  *v = std::bit_cast<double>(u);
  return true;
}

std::string Encode(const Alert& a) {
  std::string out;
  for (const std::string* s : {&a.id, &a.kind, &a.dimension, &a.key, &a.metric, &a.severity}) {
    bytes::PutString(&out, *s);
  }
  bytes::PutU8(&out, a.open ? 1 : 0);
  PutDouble(&out, a.value);
  PutDouble(&out, a.baseline);
  bytes::PutSigned(&out, a.started_at);
  bytes::PutSigned(&out, a.detected_at);
  bytes::PutSigned(&out, a.resolved_at.value_or(INT64_MIN));
  bytes::PutSigned(&out, a.detected_event_time);
  return out;
}

bool Decode(std::string_view in, Alert* a) {
  for (std::string* s : {&a->id, &a->kind, &a->dimension, &a->key, &a->metric, &a->severity}) {
    std::string_view v;
    if (!bytes::GetString(&in, &v)) return false;
    s->assign(v);
  }
  uint8_t open;
  int64_t resolved;
  if (!bytes::GetU8(&in, &open) || !GetDouble(&in, &a->value) ||
      !GetDouble(&in, &a->baseline) || !bytes::GetSigned(&in, &a->started_at) ||
      !bytes::GetSigned(&in, &a->detected_at) || !bytes::GetSigned(&in, &resolved) ||
      !bytes::GetSigned(&in, &a->detected_event_time)) {
    return false;
  }
  a->open = open != 0;
  if (resolved != INT64_MIN) a->resolved_at = resolved;
  return in.empty();
}

}  // namespace

AlertBook::AlertBook(Env* env, std::string path) : env_(env), path_(std::move(path)) {}

Status AlertBook::Load() {
  if (path_.empty()) return Status::OK();
  auto reader = ops::CheckpointReader::Open(env_, path_);
  if (!reader.ok()) return reader.status().IsNotFound() ? Status::OK() : reader.status();
  std::vector<Alert> loaded;
  for (;;) {
    uint8_t kind;
    std::string payload;
    VP_RETURN_IF_ERROR((*reader)->Next(&kind, &payload));
    if (kind == ops::CheckpointReader::kEnd) break;
    Alert a;
    if (kind != kSectionAlert || !Decode(payload, &a)) {
      return Status::Corruption(path_ + ": bad alert record");
    }
    loaded.push_back(std::move(a));
  }
  std::lock_guard lock(mu_);
  alerts_ = std::move(loaded);
  by_id_.clear();
  for (size_t i = 0; i < alerts_.size(); ++i) by_id_[alerts_[i].id] = i;
  return Status::OK();
}

Status AlertBook::SaveLocked() {
  if (path_.empty()) return Status::OK();
  auto w = ops::CheckpointWriter::Create(env_, path_);
  if (!w.ok()) return w.status();
  for (const Alert& a : alerts_) VP_RETURN_IF_ERROR((*w)->Section(kSectionAlert, Encode(a)));
  return (*w)->Commit();
}

bool AlertBook::Raise(const Alert& a) {
  Alert copy;
  {
    std::lock_guard lock(mu_);
    if (by_id_.count(a.id) > 0) return false;
    by_id_[a.id] = alerts_.size();
    alerts_.push_back(a);
    copy = a;
    write_error_ = SaveLocked();
    if (!write_error_.ok()) spdlog::error("sre: alerts not saved: {}", write_error_.ToString());
  }
  if (listener_) listener_(copy);
  return true;
}

std::optional<std::string> AlertBook::Recorded(const Alert& a, int64_t tolerance_ms) const {
  std::lock_guard lock(mu_);
  for (auto it = alerts_.rbegin(); it != alerts_.rend(); ++it) {
    const Alert& b = *it;
    if (b.kind != a.kind || b.dimension != a.dimension || b.key != a.key || b.metric != a.metric) {
      continue;
    }
    const bool same = b.open ? b.started_at <= a.started_at + tolerance_ms
                             : a.started_at >= b.started_at - tolerance_ms &&
                                   a.started_at <= b.resolved_at.value_or(b.started_at);
    if (same) return b.id;
  }
  return std::nullopt;
}

void AlertBook::Update(const std::string& id, double value) {
  std::lock_guard lock(mu_);
  auto it = by_id_.find(id);
  if (it == by_id_.end() || !alerts_[it->second].open) return;
  Alert& a = alerts_[it->second];
  a.value = std::max(a.value, value);
}

void AlertBook::Resolve(const std::string& id, int64_t resolved_at) {
  Alert copy;
  {
    std::lock_guard lock(mu_);
    auto it = by_id_.find(id);
    if (it == by_id_.end() || !alerts_[it->second].open) return;
    Alert& a = alerts_[it->second];
    a.open = false;
    a.resolved_at = resolved_at;
    copy = a;
    write_error_ = SaveLocked();
    if (!write_error_.ok()) spdlog::error("sre: alerts not saved: {}", write_error_.ToString());
  }
  if (listener_) listener_(copy);
}

std::vector<Alert> AlertBook::List(bool open_only, int64_t since) const {
  std::lock_guard lock(mu_);
  std::vector<Alert> out;
  for (const Alert& a : alerts_) {
    if (open_only ? a.open : a.started_at >= since || a.open) out.push_back(a);
  }
  std::sort(out.begin(), out.end(), [](const Alert& x, const Alert& y) {
    return x.started_at != y.started_at ? x.started_at > y.started_at : x.id < y.id;
  });
  return out;
}

std::optional<Alert> AlertBook::Get(const std::string& id) const {
  std::lock_guard lock(mu_);
  auto it = by_id_.find(id);
  if (it == by_id_.end()) return std::nullopt;
  return alerts_[it->second];
}

size_t AlertBook::open_count() const {
  std::lock_guard lock(mu_);
  return static_cast<size_t>(std::count_if(alerts_.begin(), alerts_.end(),
                                           [](const Alert& a) { return a.open; }));
}

}  // namespace viewpipe::sre
