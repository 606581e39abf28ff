// One test (or test instance) per field rule of events.md.

#include <gtest/gtest.h>

#include <string>
#include <tuple>

#include "event/codec.h"
#include "event/event_fields.h"
#include "event/parser.h"
#include "event/parser_test_util.h"

namespace viewpipe {
namespace {

using testing::EventJson;
using testing::kNow;
using testing::Outcome;

// The decoded accepted event of a one-event JSON body.
EventView AcceptedView(const EventJson& e, ParsedBatch* keep) {
  auto batch = testing::Parse(testing::JsonBody({e.Json()}));
  EXPECT_TRUE(batch.ok());
  *keep = std::move(batch.value());
  EXPECT_EQ(keep->accepted.size(), 1u) << (keep->rejected.empty() ? "" : keep->rejected[0].error);
  EventView view;
  static DecodedIds ids;  // the returned view's compact ids point here
  if (!keep->accepted.empty()) {
    EXPECT_TRUE(DecodeEvent(keep->accepted[0].encoded, &view, &ids).ok());
  }
  return view;
}

std::string Repeat(const std::string& s, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) out += s;
  return out;
}

TEST(EventFieldsTest, EveryNameIsFoundAndNearMissesAreNot) {
  using event_fields::kFields;
  using event_fields::LookupField;
  for (size_t f = 0; f < kFields.size(); ++f) {
    const std::string name(kFields[f].name);
    EXPECT_EQ(LookupField(name), f) << name;
    // No field name has an upper-case letter, so each of these is unknown.
    for (size_t i = 0; i < name.size(); ++i) {
      std::string miss = name;
      miss[i] = 'Z';
      EXPECT_EQ(LookupField(miss), kFieldCount) << miss;
    }
    EXPECT_EQ(LookupField(name + "s"), kFieldCount) << name;
    EXPECT_EQ(LookupField(name.substr(1)), kFieldCount) << name;
    EXPECT_EQ(LookupField(name.substr(0, name.size() - 1)), kFieldCount) << name;
  }
  EXPECT_EQ(LookupField(""), kFieldCount);
}

TEST(FieldRulesTest, ValidMinimalEventIsAccepted) { EXPECT_EQ(Outcome(EventJson::Valid()), ""); }

TEST(FieldRulesTest, FullyPopulatedEventKeepsEveryField) {
  EventJson e = EventJson::Valid();
  e.SetString("type", "error")
      .SetString("os", "tizen")
      .SetString("app_version", "5.1")
      .SetString("isp", "Comcast")
      .Set("position_ms", "123")
      .Set("bitrate_kbps", "5800")
      .Set("startup_ms", "900")
      .Set("rebuffer_ms", "40")
      .SetString("error_code", "E42")
      .Set("fatal", "true")
      .SetString("live_event_id", "live-1")
      .Set("experiments", R"({"exp_a":"b","exp_c":"control"})");
  ParsedBatch batch;
  EventView v = AcceptedView(e, &batch);
  EXPECT_EQ(v.event_id, "e-1");
  EXPECT_EQ(v.type, EventType::kError);
  EXPECT_EQ(v.ts_ms, kNow);
  EXPECT_EQ(v.received_at_ms, kNow);
  EXPECT_EQ(v.device_type, DeviceType::kTv);
  EXPECT_EQ(v.country, "US");
  EXPECT_EQ(v.os, "tizen");
  EXPECT_EQ(v.app_version, "5.1");
  EXPECT_EQ(v.isp, "Comcast");
  EXPECT_EQ(v.position_ms, 123);
  EXPECT_EQ(v.bitrate_kbps, 5800);
  EXPECT_EQ(v.startup_ms, 900);
  EXPECT_EQ(v.rebuffer_ms, 40);
  EXPECT_EQ(v.error_code, "E42");
  EXPECT_EQ(v.fatal, true);
  EXPECT_EQ(v.live_event_id, "live-1");
  ASSERT_EQ(v.experiments.size(), 2u);
  EXPECT_EQ(v.experiments[1].first, "exp_c");
  EXPECT_EQ(v.experiments[1].second, "control");
  EXPECT_EQ(batch.accepted[0].event_id, "e-1");
  EXPECT_EQ(batch.accepted[0].key, "s-1");  // not a UUID: the text is the key
  EXPECT_EQ(batch.accepted[0].type, EventType::kError);
  EXPECT_EQ(batch.accepted[0].ts_ms, kNow);
}

const char* kRequired[] = {"event_id", "type",        "ts",      "session_id", "profile_id",
                           "title_id", "device_type", "country", "cdn"};

class RequiredFieldTest : public ::testing::TestWithParam<const char*> {};

TEST_P(RequiredFieldTest, MissingIsRejected) {
  EXPECT_EQ(Outcome(EventJson::Valid().Remove(GetParam())),
            std::string("missing field '") + GetParam() + "'");
}

TEST_P(RequiredFieldTest, NullIsMissing) {
  EXPECT_EQ(Outcome(EventJson::Valid().Set(GetParam(), "null")),
            std::string("missing field '") + GetParam() + "'");
}

INSTANTIATE_TEST_SUITE_P(Fields, RequiredFieldTest, ::testing::ValuesIn(kRequired));

class StringTypeTest : public ::testing::TestWithParam<const char*> {};

TEST_P(StringTypeTest, NumberIsNotAString) {
  EXPECT_EQ(Outcome(EventJson::Valid().Set(GetParam(), "5")),
            std::string("field '") + GetParam() + "': not a string");
}

TEST_P(StringTypeTest, ObjectIsNotAString) {
  EXPECT_EQ(Outcome(EventJson::Valid().Set(GetParam(), R"({"a":[1,"x"]})")),
            std::string("field '") + GetParam() + "': not a string");
}

INSTANTIATE_TEST_SUITE_P(Fields, StringTypeTest,
                         ::testing::Values("event_id", "type", "session_id", "profile_id",
                                           "title_id", "device_type", "country", "cdn", "os",
                                           "app_version", "isp", "error_code", "live_event_id"));

class IntTypeTest : public ::testing::TestWithParam<std::tuple<const char*, const char*>> {};

TEST_P(IntTypeTest, NonIntegerIsRejected) {
  const auto [field, value] = GetParam();
  EXPECT_EQ(Outcome(EventJson::Valid().Set(field, value)),
            std::string("field '") + field + "': not an integer");
}

INSTANTIATE_TEST_SUITE_P(Fields, IntTypeTest,
                         ::testing::Combine(::testing::Values("ts", "position_ms", "bitrate_kbps",
                                                              "startup_ms", "rebuffer_ms"),
                                            ::testing::Values("1.5", "1e3", "1.0", "true", "[1]",
                                                              "{}")));

TEST(FieldRulesTest, QuotedNumberIsNotAnInteger) {
  EXPECT_EQ(Outcome(EventJson::Valid().Set("bitrate_kbps", "\"5\"")),
            "field 'bitrate_kbps': not an integer");
}

TEST(FieldRulesTest, TsStringMustBeRfc3339) {
  EXPECT_EQ(Outcome(EventJson::Valid().SetString("ts", "1764396767123")),
            "field 'ts': not an RFC 3339 date-time");
}

TEST(FieldRulesTest, FatalMustBeBoolean) {
  EXPECT_EQ(Outcome(EventJson::Valid().SetString("fatal", "true")), "field 'fatal': not a boolean");
  EXPECT_EQ(Outcome(EventJson::Valid().Set("fatal", "1")), "field 'fatal': not a boolean");
}

TEST(FieldRulesTest, ExperimentsMustBeObject) {
  EXPECT_EQ(Outcome(EventJson::Valid().Set("experiments", R"(["a","b"])")),
            "field 'experiments': not an object");
  EXPECT_EQ(Outcome(EventJson::Valid().SetString("experiments", "a=b")),
            "field 'experiments': not an object");
}

// (field, min characters, max characters)
class LengthTest : public ::testing::TestWithParam<std::tuple<const char*, int, int>> {};

TEST_P(LengthTest, AtLimitIsAccepted) {
  const auto [field, min, max] = GetParam();
  EXPECT_EQ(Outcome(EventJson::Valid().SetString(field, std::string(max, 'a'))), "");
}

TEST_P(LengthTest, OverLimitIsRejected) {
  const auto [field, min, max] = GetParam();
  const std::string error = Outcome(EventJson::Valid().SetString(field, std::string(max + 1, 'a')));
  EXPECT_EQ(error, std::string("field '") + field + "': " +
                       (min > 0 ? "must be 1-" + std::to_string(max) + " characters"
                                : "longer than " + std::to_string(max) + " characters"));
}

TEST_P(LengthTest, LimitCountsCharactersNotBytes) {
  const auto [field, min, max] = GetParam();
  EXPECT_EQ(Outcome(EventJson::Valid().SetString(field, Repeat("é", max))), "");
  EXPECT_NE(Outcome(EventJson::Valid().SetString(field, Repeat("é", max + 1))), "");
}

TEST_P(LengthTest, EmptyIsRejectedOnlyForIds) {
  const auto [field, min, max] = GetParam();
  const std::string error = Outcome(EventJson::Valid().SetString(field, ""));
  if (min > 0) {
    EXPECT_EQ(error, std::string("field '") + field + "': must be 1-64 characters");
  } else {
    EXPECT_EQ(error, "");
  }
}

INSTANTIATE_TEST_SUITE_P(
    Fields, LengthTest,
    ::testing::Values(std::make_tuple("event_id", 1, 64), std::make_tuple("session_id", 1, 64),
                      std::make_tuple("profile_id", 1, 64), std::make_tuple("title_id", 1, 64),
                      std::make_tuple("cdn", 0, 32), std::make_tuple("os", 0, 32),
                      std::make_tuple("app_version", 0, 32), std::make_tuple("isp", 0, 64),
                      std::make_tuple("error_code", 0, 64),
                      std::make_tuple("live_event_id", 0, 64)));

TEST(FieldRulesTest, EveryEventTypeIsAccepted) {
  for (const char* type : {"attempt", "play_start", "heartbeat", "pause", "resume", "seek",
                           "bitrate_change", "rebuffer_start", "rebuffer_end", "error", "stop"}) {
    EventJson e = EventJson::Valid();
    e.SetString("type", type)
        .Set("startup_ms", "1")
        .Set("rebuffer_ms", "1")
        .SetString("error_code", "E")
        .Set("fatal", "false");
    EXPECT_EQ(Outcome(e), "") << type;
  }
}

TEST(FieldRulesTest, UnknownEventTypeIsRejected) {
  for (const char* type : {"Heartbeat", "beat", "", "heartbeat "}) {
    EXPECT_EQ(Outcome(EventJson::Valid().SetString("type", type)).substr(0, 34),
              "field 'type': unknown event type (")
        << type;
  }
}

TEST(FieldRulesTest, EveryDeviceTypeIsAccepted) {
  for (const char* device : {"tv", "mobile", "tablet", "web", "console", "other"}) {
    EXPECT_EQ(Outcome(EventJson::Valid().SetString("device_type", device)), "") << device;
  }
}

TEST(FieldRulesTest, UnknownDeviceTypeIsRejected) {
  EXPECT_EQ(Outcome(EventJson::Valid().SetString("device_type", "TV")).substr(0, 42),
            "field 'device_type': unknown device type (");
}

TEST(FieldRulesTest, CountryMustBeTwoUpperCaseLetters) {
  for (const char* ok : {"US", "GB", "ZZ"}) {
    EXPECT_EQ(Outcome(EventJson::Valid().SetString("country", ok)), "") << ok;
  }
  for (const char* bad : {"us", "Us", "USA", "U", "", "U1", "\xc3\x9cS", "U "}) {
    EXPECT_EQ(Outcome(EventJson::Valid().SetString("country", bad)),
              "field 'country': must be ISO 3166-1 alpha-2 upper case")
        << bad;
  }
}

class NonNegativeTest : public ::testing::TestWithParam<const char*> {};

TEST_P(NonNegativeTest, NegativeIsRejectedZeroAccepted) {
  EXPECT_EQ(Outcome(EventJson::Valid().Set(GetParam(), "-1")),
            std::string("field '") + GetParam() + "': must be >= 0");
  EXPECT_EQ(Outcome(EventJson::Valid().Set(GetParam(), "-99999999999999999999")),
            std::string("field '") + GetParam() + "': must be >= 0");
  EXPECT_EQ(Outcome(EventJson::Valid().Set(GetParam(), "0")), "");
}

INSTANTIATE_TEST_SUITE_P(Fields, NonNegativeTest,
                         ::testing::Values("position_ms", "bitrate_kbps", "startup_ms",
                                           "rebuffer_ms"));

class Int32Test : public ::testing::TestWithParam<const char*> {};

TEST_P(Int32Test, OverflowIsRejected) {
  EXPECT_EQ(Outcome(EventJson::Valid().Set(GetParam(), "2147483647")), "");
  EXPECT_EQ(Outcome(EventJson::Valid().Set(GetParam(), "2147483648")),
            std::string("field '") + GetParam() + "': out of int32 range");
  EXPECT_EQ(Outcome(EventJson::Valid().Set(GetParam(), "99999999999999999999")),
            std::string("field '") + GetParam() + "': out of int32 range");
}

INSTANTIATE_TEST_SUITE_P(Fields, Int32Test,
                         ::testing::Values("bitrate_kbps", "startup_ms", "rebuffer_ms"));

TEST(FieldRulesTest, Int64OverflowIsRejected) {
  EXPECT_EQ(Outcome(EventJson::Valid().Set("position_ms", "9223372036854775807")), "");
  EXPECT_EQ(Outcome(EventJson::Valid().Set("position_ms", "9223372036854775808")),
            "field 'position_ms': out of int64 range");
  EXPECT_EQ(Outcome(EventJson::Valid().Set("ts", "9223372036854775808")),
            "field 'ts': out of int64 range");
}

TEST(ConditionalFieldTest, PlayStartNeedsStartupMs) {
  EventJson e = EventJson::Valid().SetString("type", "play_start");
  EXPECT_EQ(Outcome(e), "missing field 'startup_ms' (required when type is play_start)");
  EXPECT_EQ(Outcome(e.Set("startup_ms", "null")),
            "missing field 'startup_ms' (required when type is play_start)");
  EXPECT_EQ(Outcome(e.Set("startup_ms", "1200")), "");
}

TEST(ConditionalFieldTest, RebufferEndNeedsRebufferMs) {
  EventJson e = EventJson::Valid().SetString("type", "rebuffer_end");
  EXPECT_EQ(Outcome(e), "missing field 'rebuffer_ms' (required when type is rebuffer_end)");
  EXPECT_EQ(Outcome(e.Set("rebuffer_ms", "0")), "");
}

TEST(ConditionalFieldTest, ErrorNeedsErrorCode) {
  EventJson e = EventJson::Valid().SetString("type", "error").Set("fatal", "true");
  EXPECT_EQ(Outcome(e), "missing field 'error_code' (required when type is error)");
  EXPECT_EQ(Outcome(e.SetString("error_code", "")),
            "field 'error_code': must not be empty when type is error");
  EXPECT_EQ(Outcome(e.SetString("error_code", "E1")), "");
}

TEST(ConditionalFieldTest, ErrorNeedsFatal) {
  EventJson e = EventJson::Valid().SetString("type", "error").SetString("error_code", "E1");
  EXPECT_EQ(Outcome(e), "missing field 'fatal' (required when type is error)");
  EXPECT_EQ(Outcome(e.Set("fatal", "false")), "");
}

TEST(ConditionalFieldTest, NotRequiredOnOtherTypes) {
  EXPECT_EQ(Outcome(EventJson::Valid().SetString("type", "stop")), "");
}

std::string Experiments(int n) {
  std::string out = "{";
  for (int i = 0; i < n; ++i) out += (i ? "," : "") + ("\"exp" + std::to_string(i) + "\":\"v\"");
  return out + "}";
}

TEST(ExperimentsTest, SixteenEntriesAreAccepted) {
  ParsedBatch keep;
  EXPECT_EQ(AcceptedView(EventJson::Valid().Set("experiments", Experiments(16)), &keep)
                .experiments.size(),
            16u);
}

TEST(ExperimentsTest, SeventeenEntriesAreRejected) {
  EXPECT_EQ(Outcome(EventJson::Valid().Set("experiments", Experiments(17))),
            "field 'experiments': more than 16 entries");
}

TEST(ExperimentsTest, NonStringVariantIsRejected) {
  for (const char* bad :
       {R"({"a":1})", R"({"a":null})", R"({"a":{"b":"c"}})", R"({"a":"b","c":true})"}) {
    EXPECT_EQ(Outcome(EventJson::Valid().Set("experiments", bad)),
              "field 'experiments': every variant must be a string")
        << bad;
  }
}

TEST(ExperimentsTest, NullAndEmptyMeanNone) {
  ParsedBatch keep;
  EXPECT_TRUE(
      AcceptedView(EventJson::Valid().Set("experiments", "null"), &keep).experiments.empty());
  EXPECT_TRUE(AcceptedView(EventJson::Valid().Set("experiments", "{}"), &keep).experiments.empty());
}

TEST(LatenessTest, OldestAcceptedIsExactlyMaxLateness) {
  const ParseLimits limits;
  EventJson e = EventJson::Valid();
  EXPECT_EQ(Outcome(e.Set("ts", std::to_string(kNow - limits.max_lateness_ms))), "");
  EXPECT_EQ(Outcome(e.Set("ts", std::to_string(kNow - limits.max_lateness_ms - 1))),
            "field 'ts': older than the accepted lateness (604800000 ms before received_at)");
  EXPECT_NE(Outcome(e.Set("ts", "-5")), "");
}

TEST(LatenessTest, NewestAcceptedIsExactlyMaxFuture) {
  const ParseLimits limits;
  EventJson e = EventJson::Valid();
  EXPECT_EQ(Outcome(e.Set("ts", std::to_string(kNow + limits.max_future_ms))), "");
  EXPECT_EQ(Outcome(e.Set("ts", std::to_string(kNow + limits.max_future_ms + 1))),
            "field 'ts': more than 300000 ms in the future");
}

TEST(LatenessTest, LimitsAreConfigurable) {
  ParseLimits limits;
  limits.max_lateness_ms = 1000;
  limits.max_future_ms = 0;
  EventJson e = EventJson::Valid();
  EXPECT_EQ(Outcome(e.Set("ts", std::to_string(kNow - 1000)), limits), "");
  EXPECT_NE(Outcome(e.Set("ts", std::to_string(kNow - 1001)), limits), "");
  EXPECT_EQ(Outcome(e.Set("ts", std::to_string(kNow)), limits), "");
  EXPECT_NE(Outcome(e.Set("ts", std::to_string(kNow + 1)), limits), "");
}

TEST(LatenessTest, RfcTimestampsAreCheckedToo) {
  EXPECT_EQ(Outcome(EventJson::Valid().SetString("ts", "2025-11-29T06:12:47.123Z")), "");
  EXPECT_NE(Outcome(EventJson::Valid().SetString("ts", "2025-11-01T00:00:00Z")), "");
  EXPECT_NE(Outcome(EventJson::Valid().SetString("ts", "2025-11-29T07:00:00Z")), "");
}

}  // namespace
}  // namespace viewpipe
