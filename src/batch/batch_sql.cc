#include "batch/batch_sql.h"

#include "lake/duck.h"

namespace viewpipe::batch {

std::string SessionsSql(const std::string& source) {
  std::string gap = std::to_string(kMaxPlayingGapMs);
  // The window runs over the few columns it needs (memory: a day's events
  // pass through it); the wide per-session columns are a plain aggregate.
  return R"(
WITH ev AS (
  SELECT session_id, ts, event_id,
         CASE WHEN type IN ('play_start', 'resume', 'rebuffer_end') THEN 'playing'
              WHEN type = 'pause' THEN 'paused'
              WHEN type = 'rebuffer_start' THEN 'stalled'
              WHEN type = 'stop' OR (type = 'error' AND fatal) THEN 'ended' END AS set_state
  FROM )" + source + R"(),
st AS (
  SELECT session_id, ts,
    last_value(set_state IGNORE NULLS) OVER (PARTITION BY session_id ORDER BY ts, event_id
        ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS state,
    lead(ts) OVER (PARTITION BY session_id ORDER BY ts, event_id) AS next_ts
  FROM ev),
play AS (
  SELECT session_id,
    coalesce(sum(least(next_ts - ts, )" + gap + R"())
             FILTER (WHERE state = 'playing' AND next_ts IS NOT NULL), 0)::BIGINT AS watch_time_ms
  FROM st GROUP BY session_id),
s AS (
  SELECT session_id,
    arg_min(profile_id, ts) AS profile_id, arg_min(title_id, ts) AS title_id,
    arg_min(device_type, ts) AS device_type, arg_min(country, ts) AS country,
    arg_min(cdn, ts) AS cdn,
    arg_min(os, ts) FILTER (WHERE os IS NOT NULL) AS os,
    arg_min(app_version, ts) FILTER (WHERE app_version IS NOT NULL) AS app_version,
    arg_min(isp, ts) FILTER (WHERE isp IS NOT NULL) AS isp,
    arg_min(live_event_id, ts) FILTER (WHERE live_event_id IS NOT NULL) AS live_event_id,
    coalesce(min(ts) FILTER (WHERE type = 'attempt'), min(ts)) AS start_ts,
    max(ts) AS end_ts,
    count(*) AS events,
    bool_or(type = 'attempt') AS attempted,
    min(ts) FILTER (WHERE type = 'play_start') AS play_start_ts,
    arg_min(startup_ms, ts) FILTER (WHERE type = 'play_start') AS startup_ms,
    coalesce(sum(rebuffer_ms) FILTER (WHERE type = 'rebuffer_end'), 0)::BIGINT AS rebuffer_ms,
    count(*) FILTER (WHERE type = 'rebuffer_end') AS rebuffer_count,
    max(position_ms) AS max_position_ms,
    min(ts) FILTER (WHERE type = 'error' AND fatal) AS fatal_ts,
    arg_min(error_code, ts) FILTER (WHERE type = 'error' AND fatal) AS fatal_error_code,
    count(*) FILTER (WHERE type = 'error') AS errors,
    bool_or(type = 'stop') AS stopped,
    arg_min(experiments, ts) FILTER (WHERE experiments IS NOT NULL) AS experiments
  FROM )" + source + R"( GROUP BY session_id)
SELECT s.session_id, profile_id, s.title_id, device_type, country, cdn, os, app_version, isp,
  live_event_id, start_ts, end_ts, events, attempted,
  play_start_ts IS NOT NULL AS started, startup_ms, p.watch_time_ms, rebuffer_ms, rebuffer_count,
  max_position_ms, c.duration_s,
  CASE WHEN c.duration_s > 0 AND max_position_ms IS NOT NULL
       THEN least(1.0, max_position_ms / (c.duration_s * 1000.0)) END AS completion,
  CASE WHEN c.duration_s > 0 AND max_position_ms IS NOT NULL
       THEN max_position_ms >= 0.9 * c.duration_s * 1000.0 END AS completed,
  CASE WHEN fatal_ts IS NOT NULL AND play_start_ts IS NOT NULL AND fatal_ts >= play_start_ts
         THEN 'playback_failure'
       WHEN attempted AND play_start_ts IS NULL AND fatal_ts IS NOT NULL THEN 'vsf'
       WHEN attempted AND play_start_ts IS NULL THEN 'ebvs'
       WHEN fatal_ts IS NOT NULL THEN 'playback_failure' END AS failure,
  fatal_error_code, errors,
  CASE WHEN fatal_ts IS NOT NULL THEN 'fatal_error' WHEN stopped THEN 'stop' ELSE 'open' END
    AS end_reason,
  experiments
FROM s JOIN play p ON p.session_id = s.session_id
LEFT JOIN catalog c ON c.title_id = s.title_id)";
}

std::string InteractionsSql() {
  return R"(
SELECT profile_id, title_id,
  count(*) AS sessions,
  count(*) FILTER (WHERE started) AS started_sessions,
  sum(watch_time_ms)::BIGINT AS watch_time_ms,
  min(start_ts) AS first_start_ts,
  max(end_ts) AS last_end_ts,
  max(completion) AS max_completion,
  bool_or(completed) AS completed,
  count(DISTINCT device_type) AS devices
FROM sessions GROUP BY profile_id, title_id
ORDER BY profile_id, title_id)";
}

std::string ReadParquetSql(const std::vector<std::string>& uris) {
  std::string list;
  for (const std::string& u : uris) list += (list.empty() ? "" : ", ") + SqlQuote(u);
  return "read_parquet([" + list + "])";
}

std::string WeeklySessionColumns() {
  return "session_id, profile_id, title_id, country, live_event_id, start_ts, end_ts, started, "
         "watch_time_ms, completion, completed";
}

std::string EmptyPrevWeekSql() {
  return "CREATE TABLE prev (dimension VARCHAR, \"key\" VARCHAR, unique_viewers BIGINT, "
         "hours_watched DOUBLE)";
}

std::string WeeklySql(const std::string& week) {
  return R"(
WITH s AS (
  SELECT s.* EXCLUDE (session_id), coalesce(c.genre, 'unknown') AS genre
  FROM sessions s LEFT JOIN catalog c ON c.title_id = s.title_id),
d AS (
  SELECT 'title' AS dimension, title_id AS dim_key, * FROM s
  UNION ALL SELECT 'genre', genre, * FROM s
  UNION ALL SELECT 'country', country, * FROM s),
first_view AS (
  SELECT dimension, dim_key, profile_id, min(start_ts) AS first_ts,
         arg_min(title_id, {'ts': start_ts, 'title': title_id}) AS first_title
  FROM d WHERE started GROUP BY dimension, dim_key, profile_id),
last_start AS (
  SELECT profile_id, title_id, max(start_ts) AS last_ts FROM s WHERE started
  GROUP BY profile_id, title_id),
cont AS (
  SELECT f.dimension, f.dim_key, count(DISTINCT f.profile_id) AS continued
  FROM first_view f JOIN last_start l
    ON l.profile_id = f.profile_id AND l.title_id <> f.first_title AND l.last_ts > f.first_ts
  GROUP BY f.dimension, f.dim_key),
live AS (
  SELECT dimension, dim_key, start_ts AS t, 1 AS delta FROM d WHERE live_event_id IS NOT NULL
  UNION ALL
  SELECT dimension, dim_key, end_ts AS t, -1 AS delta FROM d WHERE live_event_id IS NOT NULL),
live_run AS (
  SELECT dimension, dim_key, sum(delta) OVER (PARTITION BY dimension, dim_key
      ORDER BY t, delta DESC ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS open
  FROM live),
peak AS (SELECT dimension, dim_key, max(open) AS live_peak FROM live_run GROUP BY ALL),
agg AS (
  SELECT dimension, dim_key,
    count(DISTINCT profile_id) FILTER (WHERE started) AS unique_viewers,
    count(*) AS sessions,
    count(*) FILTER (WHERE started) AS started_sessions,
    sum(watch_time_ms)::BIGINT AS watch_time_ms,
    count(*) FILTER (WHERE completed) AS completed_sessions,
    count(*) FILTER (WHERE started AND completion IS NOT NULL) AS sessions_with_duration
  FROM d GROUP BY dimension, dim_key)
SELECT ')" + week + R"(' AS week, a.dimension, a.dim_key AS "key",
  a.unique_viewers, a.sessions, a.started_sessions, a.watch_time_ms,
  a.watch_time_ms / 3600000.0 AS hours_watched,
  a.completed_sessions / nullif(a.sessions_with_duration, 0) AS completion_rate,
  a.watch_time_ms / 60000.0 / nullif(a.started_sessions, 0) AS avg_session_minutes,
  coalesce(c.continued, 0) / nullif(a.unique_viewers, 0) AS second_start_share,
  coalesce(p.live_peak, 0)::BIGINT AS live_peak_concurrency,
  pw.unique_viewers AS prev_unique_viewers,
  pw.hours_watched AS prev_hours_watched,
  (a.unique_viewers - pw.unique_viewers) / nullif(pw.unique_viewers, 0) AS viewers_wow_change,
  (a.watch_time_ms / 3600000.0 - pw.hours_watched) / nullif(pw.hours_watched, 0)
    AS hours_wow_change
FROM agg a
LEFT JOIN cont c ON c.dimension = a.dimension AND c.dim_key = a.dim_key
LEFT JOIN peak p ON p.dimension = a.dimension AND p.dim_key = a.dim_key
LEFT JOIN prev pw ON pw.dimension = a.dimension AND pw."key" = a.dim_key
ORDER BY a.dimension, a.dim_key)";
}

}  // namespace viewpipe::batch
