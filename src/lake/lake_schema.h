#pragma once
// The schema of the lake's Parquet files and of the logical table `events`
// (api.md: every field of events.md plus received_at and event_date).
//
// Schema version 1, column order fixed:
//   event_id VARCHAR, type VARCHAR, ts BIGINT (ms, UTC), session_id,
//   profile_id, title_id, device_type, country, cdn, os, app_version, isp
//   (VARCHAR), position_ms BIGINT, bitrate_kbps INTEGER, startup_ms INTEGER,
//   rebuffer_ms INTEGER, error_code VARCHAR, fatal BOOLEAN, live_event_id
//   VARCHAR, experiments MAP(VARCHAR, VARCHAR), received_at BIGINT (ms)
// Absent optional fields are NULL (also empty strings and an empty
// experiments object). Parquet files hold these 21 columns; event_date
// (DATE) and hour (two digits) come from the Hive path
// events/event_date=YYYY-MM-DD/hour=HH/, as every Hive reader expects.

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "event/event.h"

namespace viewpipe {

class DuckAppender;

inline constexpr int kLakeSchemaVersion = 1;

struct LakeColumn {
  std::string_view name;
  std::string_view type;  // DuckDB type of the column
};

// The 21 stored columns, in order.
const std::vector<LakeColumn>& LakeColumns();
// "event_id VARCHAR, ..." with experiments as VARCHAR (JSON text): the
// columns of a staging table fed by AppendEventColumns.
std::string LakeStagingColumnsDdl();
// "event_id VARCHAR, ..., experiments MAP(VARCHAR, VARCHAR), ...".
std::string LakeColumnsDdl();
// The select list turning staging columns into stored ones (the JSON text
// of experiments becomes a MAP).
std::string LakeSelectFromStaging();
// "event_id, type, ..., received_at": the stored columns by name.
std::string LakeColumnNames();
// Whether name is a column of the logical table (stored columns + event_date).
bool IsLogicalColumn(std::string_view name);

// Appends the 21 staging columns of e to a row of a (staging) appender.
void AppendEventColumns(const EventView& e, DuckAppender* a);

}  // namespace viewpipe
