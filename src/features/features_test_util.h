#pragma once
// Test helpers of src/features: events that own their strings, a catalog.

#include <deque>
#include <string>

#include "event/event.h"
#include "features/catalog_table.h"

namespace viewpipe::features::testing {

inline constexpr int64_t kDay = 24LL * 3600 * 1000;
inline constexpr int64_t kT0 = 1764288000000LL;  // 2025-11-28T00:00:00Z

// Owns the strings the EventViews point into.
class EventFactory {
 public:
  EventView Make(EventType type, int64_t ts, std::string profile, std::string title,
                 std::string session = "s1", DeviceType device = DeviceType::kTv) {
    EventView e;
    e.event_id = Keep("e" + std::to_string(next_id_++));
    e.type = type;
    e.ts_ms = ts;
    e.received_at_ms = ts;
    e.profile_id = Keep(std::move(profile));
    e.title_id = Keep(std::move(title));
    e.session_id = Keep(std::move(session));
    e.device_type = device;
    e.country = "DE";
    e.cdn = "cdn-a";
    return e;
  }

 private:
  std::string_view Keep(std::string s) { return strings_.emplace_back(std::move(s)); }
  std::deque<std::string> strings_;
  int next_id_ = 100000;
};

// t1: drama 60 min, t2: comedy 30 min, t3: sports 2 h; t9 is not in it.
inline CatalogTable TestCatalog() {
  return CatalogTable::Parse(
      "title_id,genre,kind,duration_s\n"
      "t1,drama,film,3600\nt2,comedy,series,1800\nt3,sports,live,7200\n");
}

}  // namespace viewpipe::features::testing
