#pragma once
// The folded state behind the features of one profile and one title: what
// FeatureFold (feature_fold.h) accumulates from events and what the online
// store keeps per key. Every part is an order-independent aggregate (maxima
// by (ts, event_id), sums into time buckets, set unions), so folding the same
// events in log order (online) or in time order (offline) gives the same
// state up to pruning of data no window can see any more.
//
// Binary encoding (version 1), the value of a store key: u8 version, then
// the fields in declaration order; integers as zigzag varints, strings as
// varint length + bytes, maps/vectors as varint count + entries, doubles as
// 8 raw bytes (IEEE-754, little endian). DecodeProfileState/DecodeTitleState
// reject anything else with Corruption.

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace viewpipe::features {

inline constexpr int kDeviceSlots = 6;  // DeviceType 1..6

// The newest event of a title a profile watched.
struct RecentTitle {
  std::string title_id;
  int64_t ts = 0;
  std::string event_id;      // ties of ts are broken by event_id
  int64_t position_ms = -1;  // of that event; -1: it carried none
};

// One UTC day of a profile's activity.
struct ProfileDay {
  int32_t day = 0;       // days since 1970-01-01
  int64_t attempts = 0;  // sessions started (attempt events)
  std::map<std::string, int64_t> genre_heartbeats;
  std::array<int64_t, kDeviceSlots> device_heartbeats{};
};

struct ProfileState {
  int64_t last_ts = 0;                       // newest event ts (0: none)
  std::vector<RecentTitle> recent;           // newest first, at most kRecentTitles
  std::vector<ProfileDay> days;              // ascending day
  std::map<std::string, int64_t> completed;  // title -> newest completing event ts
  int64_t updated_at_ms = 0;                 // wall time of the last write (not a feature input)
};

// The newest event of one session (a store key of its own, kind kSession:
// never pruned with the title, so late events cannot lose `started`).
struct SessionMark {
  int64_t ts = 0;
  std::string event_id;   // empty: no event yet
  bool terminal = false;  // that newest event is a stop or a fatal error
  bool started = false;   // the session has an attempt or play_start
  bool Alive() const { return started && !terminal && !event_id.empty(); }
};

struct TitleState {
  int64_t last_ts = 0;
  // Second (start ms) -> sessions of the title whose mark is alive and in that
  // second; seconds older than the concurrency window of last_ts are pruned.
  std::map<int64_t, int64_t> alive_seconds;
  std::map<int64_t, int64_t> plays_5min;  // bucket start ms -> play_start events
  std::map<int64_t, int64_t> plays_hour;  // bucket start ms -> play_start events
  double trend_score = 0;                 // decayed play count at trend_ref_ms
  int64_t trend_ref_ms = 0;
  int64_t completion_permille_sum = 0;  // over stop events with a position
  int64_t completion_count = 0;
  int64_t updated_at_ms = 0;
};

std::string EncodeProfileState(const ProfileState& s);
std::string EncodeTitleState(const TitleState& s);
Status DecodeProfileState(std::string_view data, ProfileState* s);
Status DecodeTitleState(std::string_view data, TitleState* s);
std::string EncodeSessionMark(const SessionMark& m);
Status DecodeSessionMark(std::string_view data, SessionMark* m);

}  // namespace viewpipe::features
