#include "features/lake_event_source.h"

#include "lake/duck.h"

namespace viewpipe::features {
namespace {

constexpr char kColumns[] =
    "event_id, type, ts, session_id, profile_id, title_id, device_type, position_ms, fatal";

Status ToEvent(const DuckChunk& c, size_t r, EventView* e) {
  e->event_id = c.String(0, r);
  auto type = ParseEventType(c.String(1, r));
  auto device = ParseDeviceType(c.String(6, r));
  if (!type || !device) return Status::Corruption("lake row with a bad type or device_type");
  e->type = *type;
  e->device_type = *device;
  e->ts_ms = c.Int(2, r);
  e->session_id = c.String(3, r);
  e->profile_id = c.String(4, r);
  e->title_id = c.String(5, r);
  e->position_ms = c.IsNull(7, r) ? std::nullopt : std::optional<int64_t>(c.Int(7, r));
  e->fatal = c.IsNull(8, r) ? std::nullopt : std::optional<bool>(c.Bool(8, r));
  return Status::OK();
}

}  // namespace

Status LakeEventSource::ForEach(const std::function<Status(const EventView&)>& fn) {
  LakeRange range;
  range.min_ms = min_ms_;
  range.max_ms = max_ms_;
  auto files = reader_->Files(range);
  if (!files.ok()) return files.status();
  files_ = static_cast<int64_t>(files->size());
  if (files->empty()) return Status::OK();
  std::string list;
  for (const LakeFileRef& f : *files) list += (list.empty() ? "" : ", ") + SqlQuote(f.uri);
  auto db = DuckDatabase::Open("", {{"threads", "2"}});
  if (!db.ok()) return db.status();
  auto conn = (*db)->Connect();
  if (!conn.ok()) return conn.status();
  const std::string sql = std::string("SELECT ") + kColumns + " FROM read_parquet([" + list +
                          "]) WHERE ts >= " + std::to_string(min_ms_) +
                          " AND ts <= " + std::to_string(max_ms_) + " ORDER BY ts, event_id";
  auto res = (*conn)->Query(sql);
  if (!res.ok()) return res.status();
  EventView e;
  return res->ForEachChunk([&](const DuckChunk& c) -> Status {
    for (size_t r = 0; r < c.rows(); ++r) {
      VP_RETURN_IF_ERROR(ToEvent(c, r, &e));
      VP_RETURN_IF_ERROR(fn(e));
    }
    return Status::OK();
  });
}

}  // namespace viewpipe::features
