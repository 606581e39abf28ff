#pragma once
// SimEvent: one generated event in compact form (indexes into the catalog
// and the world tables); EventWriter turns it into the JSON object of
// events.md. Malformed events carry the rule they break.

#include <cstdint>
#include <string>
#include <vector>

#include "event/event.h"
#include "sim/catalog.h"
#include "sim/population.h"

namespace viewpipe::sim {

// The ways an intentionally malformed event breaks the contract.
enum class Malformed : uint8_t {
  kNone = 0,
  kMissingType,
  kUnknownType,
  kBadTs,
  kLowercaseCountry,
  kUnknownDevice,
  kNegativePosition,
  kPlayStartWithoutStartup,
  kLongEventId,
  kFatalNotBool,
  kFarFuture,
  kLongCdn,
  kExperimentsNotObject,
  kCount,
};

struct SimEvent {
  int64_t ts_ms = 0;
  uint64_t session_seq = 0;  // -> session_id
  uint32_t event_seq = 0;    // index within the session -> event_id
  EventType type = EventType::kHeartbeat;
  uint32_t profile = 0;
  uint32_t title = 0;
  uint8_t device = 0;  // DeviceType - 1
  uint8_t country = 0;
  uint8_t cdn = 0;
  uint8_t isp = 0;
  uint8_t os = 0;
  uint8_t app_version = 0;
  uint16_t live_event = 0;  // 0: none; i+1: scenario live event i
  int8_t error_code = -1;   // ErrorCode, -1: none
  bool fatal = false;
  Malformed malformed = Malformed::kNone;
  int32_t bitrate_kbps = -1;  // -1: absent (likewise below)
  int32_t startup_ms = -1;
  int32_t rebuffer_ms = -1;
  int64_t position_ms = -1;
  uint64_t variants = 0;  // packed experiment variants (Population::Variants)
};

// Serializes SimEvents. Ids are derived from run_key: session_id =
// uuid(Hash(run_key, session_seq)), event_id = uuid(Hash(run_key,
// session_seq, event_seq)). Not thread safe (caches formatted strings).
class EventWriter {
 public:
  EventWriter(uint64_t run_key, const Catalog* catalog, const Population* population,
              std::vector<std::string> live_event_ids);
  // Appends the event's JSON object (no newline) to *out.
  void Append(const SimEvent& e, std::string* out) const;
  std::string EventId(const SimEvent& e) const;
  std::string SessionId(uint64_t session_seq) const;

 private:
  void AppendValid(const SimEvent& e, std::string* out) const;
  void AppendMalformed(const SimEvent& e, std::string* out) const;
  void AppendExperiments(uint64_t variants, std::string* out) const;

  uint64_t run_key_;
  const Catalog* catalog_;
  const Population* population_;
  std::vector<std::string> live_event_ids_;
  std::vector<std::string> title_fields_;  // ,"title_id":"t00001"
  std::vector<std::string> country_fields_, cdn_fields_, isp_fields_, os_fields_, app_fields_,
      device_fields_;
};

}  // namespace viewpipe::sim
