// Body-level behaviour of ParseBatch: formats, limits, 400s, UTF-8, raw text.
// Per-field rules are in event_validator_test.cc.

#include "event/parser.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>

#include "event/codec.h"
#include "event/parser_test_util.h"

namespace viewpipe {
namespace {

using testing::EventJson;
using testing::JsonBody;
using testing::kNow;
using testing::NdjsonBody;
using testing::Parse;

std::string ValidEvent(int i) {
  return EventJson::Valid().SetString("event_id", "e-" + std::to_string(i)).Json();
}

// A valid event whose JSON text is exactly `bytes` long.
std::string EventOfSize(size_t bytes) {
  std::string e = EventJson::Valid().SetString("pad", "").Json();
  e.insert(e.size() - 2, std::string(bytes - e.size(), 'x'));
  return e;
}

// VP_JSON_ARCH's flags reach the parser's own code (without them On Demand
// runs simdjson's scalar fallback whatever the CPU).
TEST(ParseBatchTest, OnDemandIsCompiledForTheConfiguredInstructionSet) {
  EXPECT_EQ(JsonParserKernel(), VP_JSON_KERNEL_EXPECTED);
}

TEST(ParseBatchTest, JsonAndNdjsonAgree) {
  std::vector<std::string> events = {ValidEvent(1), "{\"event_id\":\"bad\"}", ValidEvent(2)};
  auto json = Parse(JsonBody(events), BodyFormat::kJson);
  auto ndjson = Parse(NdjsonBody(events), BodyFormat::kNdjson);
  ASSERT_TRUE(json.ok());
  ASSERT_TRUE(ndjson.ok());
  EXPECT_EQ(json->total, 3u);
  EXPECT_EQ(ndjson->total, 3u);
  ASSERT_EQ(json->accepted.size(), 2u);
  ASSERT_EQ(ndjson->accepted.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(json->accepted[i].encoded, ndjson->accepted[i].encoded);
    EXPECT_EQ(json->accepted[i].index, ndjson->accepted[i].index);
  }
  EXPECT_EQ(json->accepted[1].index, 2u);
  ASSERT_EQ(json->rejected.size(), 1u);
  EXPECT_EQ(json->rejected[0].index, 1u);
  EXPECT_EQ(json->rejected[0].event_id, "bad");
  EXPECT_EQ(json->rejected[0].raw, "{\"event_id\":\"bad\"}");
  EXPECT_EQ(ndjson->rejected[0].raw, json->rejected[0].raw);
  EXPECT_EQ(ndjson->rejected[0].error, json->rejected[0].error);
}

TEST(ParseBatchTest, AcceptedViewsPointIntoTheArena) {
  std::vector<std::string> events;
  for (int i = 0; i < 300; ++i) events.push_back(ValidEvent(i));
  auto batch = Parse(JsonBody(events));
  ASSERT_TRUE(batch.ok());
  ASSERT_EQ(batch->accepted.size(), 300u);
  const char* begin = batch->arena.data();
  const char* end = begin + batch->arena.size();
  size_t offset = 0;
  for (size_t i = 0; i < 300; ++i) {
    const AcceptedEvent& a = batch->accepted[i];
    EXPECT_EQ(a.encoded.data(), begin + offset);  // back to back
    offset += a.encoded.size();
    EXPECT_TRUE(a.event_id.data() >= begin && a.event_id.data() + a.event_id.size() <= end);
    EXPECT_EQ(a.event_id, "e-" + std::to_string(i));
    EXPECT_EQ(a.key, "s-1");  // not a UUID: the text
    EXPECT_TRUE(a.key.data() >= a.encoded.data() &&
                a.key.data() + a.key.size() <= a.encoded.data() + a.encoded.size());
    EventView v;
    DecodedIds ids;
    ASSERT_TRUE(DecodeEvent(a.encoded, &v, &ids).ok());
    EXPECT_EQ(v.event_id, a.event_id);
    EXPECT_EQ(v.received_at_ms, kNow);
  }
  EXPECT_EQ(offset, batch->arena.size());
}

TEST(ParseBatchTest, EmptyEventsArrayIsFine) {
  auto batch = Parse("{\"events\":[]}");
  ASSERT_TRUE(batch.ok());
  EXPECT_EQ(batch->total, 0u);
}

TEST(ParseBatchTest, OtherTopLevelFieldsAreIgnored) {
  auto batch = Parse("{\"v\":1,\"events\":[" + ValidEvent(1) + "],\"meta\":{\"a\":[null]}}");
  ASSERT_TRUE(batch.ok());
  EXPECT_EQ(batch->accepted.size(), 1u);
}

TEST(ParseBatchTest, NonObjectElementIsRejectedAlone) {
  auto batch = Parse("{\"events\":[" + ValidEvent(1) + ", 5 ,[1,2],\"x\",null]}");
  ASSERT_TRUE(batch.ok());
  EXPECT_EQ(batch->accepted.size(), 1u);
  ASSERT_EQ(batch->rejected.size(), 4u);
  EXPECT_EQ(batch->rejected[0].error, "event is not a JSON object");
  EXPECT_EQ(batch->rejected[0].raw, "5");
  EXPECT_EQ(batch->rejected[1].raw, "[1,2]");
  EXPECT_EQ(batch->rejected[3].index, 4u);
}

TEST(ParseBatchTest, RawTextIsTheEventAsSent) {
  const std::string odd = "{ \"event_id\" : \"odd\" ,\n \"x\" : [ 1 , { } ] }";
  auto batch = Parse("{\"events\":[\n  " + odd + "  \n]}");
  ASSERT_TRUE(batch.ok());
  ASSERT_EQ(batch->rejected.size(), 1u);
  EXPECT_EQ(batch->rejected[0].raw, odd);
  EXPECT_EQ(batch->rejected[0].event_id, "odd");
}

TEST(ParseBatchTest, InvalidEventIdIsNotReported) {
  auto batch = Parse(JsonBody({EventJson::Valid().SetString("event_id", "").Json(),
                               EventJson::Valid().Set("event_id", "7").Json()}));
  ASSERT_TRUE(batch.ok());
  ASSERT_EQ(batch->rejected.size(), 2u);
  EXPECT_EQ(batch->rejected[0].event_id, "");
  EXPECT_EQ(batch->rejected[1].event_id, "");
}

TEST(ParseBatchTest, UnknownFieldsAreIgnored) {
  const std::string plain = EventJson::Valid().Json();
  const std::string extra =
      EventJson::Valid()
          .Set("extra", R"({"deep":[1,-2.5e3,true,false,null,"s\n",{"k":[]}]})")
          .Set("another", "\"x\"")
          .Json();
  auto a = Parse(JsonBody({plain}));
  auto b = Parse(JsonBody({extra}));
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_EQ(b->accepted.size(), 1u);
  EXPECT_EQ(a->accepted[0].encoded, b->accepted[0].encoded);
}

TEST(ParseBatchTest, NullOptionalFieldIsAbsent) {
  const std::string plain = EventJson::Valid().Json();
  EventJson nulls = EventJson::Valid();
  for (const char* f : {"os", "app_version", "isp", "position_ms", "bitrate_kbps", "startup_ms",
                        "rebuffer_ms", "error_code", "fatal", "live_event_id", "experiments"}) {
    nulls.Set(f, "null");
  }
  auto a = Parse(JsonBody({plain}));
  auto b = Parse(JsonBody({nulls.Json()}));
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_EQ(b->accepted.size(), 1u);
  EXPECT_EQ(a->accepted[0].encoded, b->accepted[0].encoded);
}

TEST(ParseBatchTest, DuplicateFieldIsRejected) {
  const std::string e = EventJson::Valid().Json();
  const std::string dup = e.substr(0, e.size() - 1) + ",\"ts\":5}";
  auto batch = Parse(JsonBody({dup}));
  ASSERT_TRUE(batch.ok());
  ASSERT_EQ(batch->rejected.size(), 1u);
  EXPECT_EQ(batch->rejected[0].error, "field 'ts': appears more than once");
}

TEST(ParseBatchTest, EscapesAreDecodedInValuesAndKeys) {
  const std::string e = EventJson::Valid()
                            .Remove("event_id")
                            .Set("ev\\u0065nt_id", "\"e\\u002d1\"")
                            .SetString("isp", "a\\\"b\\\\c\\nd\\u00e9")
                            .Json();
  auto batch = Parse(JsonBody({e}));
  ASSERT_TRUE(batch.ok());
  ASSERT_EQ(batch->accepted.size(), 1u) << batch->rejected[0].error;
  EXPECT_EQ(batch->accepted[0].event_id, "e-1");
  EventView v;
  DecodedIds ids;
  ASSERT_TRUE(DecodeEvent(batch->accepted[0].encoded, &v, &ids).ok());
  EXPECT_EQ(v.isp, "a\"b\\c\nd\xc3\xa9");
}

TEST(ParseBatchTest, UuidIdsAreEncodedCompactAndTheKeyIsASliceOfTheEncoding) {
  // Many events with UUID ids (escaped in one, to be sure the text is what
  // was meant, not what was sent), more than the ids arena reserves.
  std::vector<std::string> events;
  for (int i = 0; i < 50; ++i) {
    char id[37];
    std::snprintf(id, sizeof(id), "%08x-0000-4000-8000-%012x", i, 7 * i);
    events.push_back(EventJson::Valid()
                         .SetString("event_id", id)
                         .SetString("session_id", "7c9e6679-7425-40de-944b-e07fc1f90ae7")
                         .Json());
  }
  events.push_back(EventJson::Valid()
                       .Set("event_id", "\"0f8fad5b\\u002dd9cb-469f-a165-70867728950e\"")
                       .Json());
  auto batch = Parse(JsonBody(events));
  ASSERT_TRUE(batch.ok());
  ASSERT_EQ(batch->accepted.size(), 51u);
  for (size_t i = 0; i < 51; ++i) {
    const AcceptedEvent& a = batch->accepted[i];
    char id[37];
    std::snprintf(id, sizeof(id), "%08x-0000-4000-8000-%012x", static_cast<int>(i),
                  7 * static_cast<int>(i));
    EXPECT_EQ(a.event_id, i < 50 ? std::string_view(id) : "0f8fad5b-d9cb-469f-a165-70867728950e");
    EventView v;
    DecodedIds ids;
    ASSERT_TRUE(DecodeEvent(a.encoded, &v, &ids).ok());
    EXPECT_EQ(v.event_id, a.event_id);
    if (i < 50) {
      EXPECT_EQ(v.session_id, "7c9e6679-7425-40de-944b-e07fc1f90ae7");
      ASSERT_EQ(a.key.size(), 16u);  // the session's 16 bytes, inside the encoding
      EXPECT_EQ(a.key.substr(0, 2), std::string_view("\x7c\x9e", 2));
    } else {
      EXPECT_EQ(a.key, "s-1");
    }
    EXPECT_TRUE(a.key.data() >= a.encoded.data() &&
                a.key.data() + a.key.size() <= a.encoded.data() + a.encoded.size());
  }
}

TEST(NdjsonTest, BlankLinesAndCrlfAreIgnored) {
  const std::string body = "\n" + ValidEvent(1) + "\r\n\r\n   \n\t\n" + ValidEvent(2);
  auto batch = Parse(body, BodyFormat::kNdjson);
  ASSERT_TRUE(batch.ok());
  EXPECT_EQ(batch->total, 2u);
  ASSERT_EQ(batch->accepted.size(), 2u);
  EXPECT_EQ(batch->accepted[1].index, 1u);
}

TEST(NdjsonTest, InvalidLineIsRejectedOthersLand) {
  const std::string body = ValidEvent(1) + "\n{\"event_id\": oops}\n" + ValidEvent(2) + "\n";
  auto batch = Parse(body, BodyFormat::kNdjson);
  ASSERT_TRUE(batch.ok());
  EXPECT_EQ(batch->accepted.size(), 2u);
  ASSERT_EQ(batch->rejected.size(), 1u);
  EXPECT_EQ(batch->rejected[0].index, 1u);
  EXPECT_EQ(batch->rejected[0].error, "not valid JSON");
  EXPECT_EQ(batch->rejected[0].raw, "{\"event_id\": oops}");
}

TEST(NdjsonTest, TrailingContentOnALineIsNotJson) {
  auto batch = Parse(ValidEvent(1) + " {}\n" + ValidEvent(2), BodyFormat::kNdjson);
  ASSERT_TRUE(batch.ok());
  ASSERT_EQ(batch->rejected.size(), 1u);
  EXPECT_EQ(batch->rejected[0].error, "not valid JSON");
}

TEST(NdjsonTest, NonObjectLineIsRejected) {
  auto batch = Parse("5\n[1]\n" + ValidEvent(1), BodyFormat::kNdjson);
  ASSERT_TRUE(batch.ok());
  ASSERT_EQ(batch->rejected.size(), 2u);
  EXPECT_EQ(batch->rejected[0].error, "event is not a JSON object");
}

TEST(NdjsonTest, NoLineParsesIsBadRequest) {
  auto batch = Parse("garbage\n{nope\n", BodyFormat::kNdjson);
  EXPECT_EQ(batch.status().code(), Status::Code::kInvalidArgument);
}

class BadBodyTest : public ::testing::TestWithParam<const char*> {};

TEST_P(BadBodyTest, IsInvalidArgument) {
  auto batch = Parse(GetParam(), BodyFormat::kJson);
  EXPECT_EQ(batch.status().code(), Status::Code::kInvalidArgument) << GetParam();
}

INSTANTIATE_TEST_SUITE_P(
    Bodies, BadBodyTest,
    ::testing::Values("", "   \n", "garbage", "[]", "[{\"events\":[]}]", "{\"events\":5}",
                      "{\"events\":null}", "{\"events\":{}}", "{}", "\"events\"", "5",
                      "{\"events\":[]} x", "{\"events\":[]}{}", "{\"events\":[1 2]}",
                      "{\"events\":[{\"a\":1,}]}", "{\"events\":[{\"a\":tru}]}",
                      "{\"events\":[{\"a\":01}]}", "{\"events\":[],\"events\":[]}", "{\"events\":[",
                      "{\"events\":[{\"a\":\"b\tc\"}]}", "{\"events\":[{\"x\":[1 2]}]}",
                      "{\"events\":[{\"x\":\"\\q\"}]}", "{\"events\":[],\"x\":\"\xff\"}"));

TEST(BadBodyTest, EmptyNdjsonIsInvalidArgument) {
  EXPECT_EQ(Parse("", BodyFormat::kNdjson).status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(Parse("\n \r\n", BodyFormat::kNdjson).status().code(), Status::Code::kInvalidArgument);
}

class LimitsTest : public ::testing::TestWithParam<BodyFormat> {
 protected:
  std::string Body(const std::vector<std::string>& events) {
    return GetParam() == BodyFormat::kJson ? JsonBody(events) : NdjsonBody(events);
  }
};

TEST_P(LimitsTest, MaxEventsIsAllowed) {
  ParseLimits limits;
  limits.max_events = 5;
  auto batch = Parse(Body(std::vector<std::string>(5, ValidEvent(1))), GetParam(), limits);
  ASSERT_TRUE(batch.ok());
  EXPECT_EQ(batch->total, 5u);
}

TEST_P(LimitsTest, MoreThanMaxEventsIsAborted) {
  ParseLimits limits;
  limits.max_events = 5;
  auto batch = Parse(Body(std::vector<std::string>(6, "{}")), GetParam(), limits);
  EXPECT_EQ(batch.status().code(), Status::Code::kAborted);
  EXPECT_NE(batch.status().message().find("max_events"), std::string::npos);
}

TEST_P(LimitsTest, DefaultMaxEventsIsAThousand) {
  EXPECT_TRUE(Parse(Body(std::vector<std::string>(1000, "{}")), GetParam()).ok());
  EXPECT_EQ(Parse(Body(std::vector<std::string>(1001, "{}")), GetParam()).status().code(),
            Status::Code::kAborted);
}

TEST_P(LimitsTest, EventOfMaxBytesIsAllowed) {
  ParseLimits limits;
  limits.max_event_bytes = 600;
  auto batch = Parse(Body({ValidEvent(1), EventOfSize(600)}), GetParam(), limits);
  ASSERT_TRUE(batch.ok()) << batch.status().ToString();
  EXPECT_EQ(batch->accepted.size(), 2u);
}

TEST_P(LimitsTest, EventOverMaxBytesIsAborted) {
  ParseLimits limits;
  limits.max_event_bytes = 600;
  auto batch = Parse(Body({ValidEvent(1), EventOfSize(601)}), GetParam(), limits);
  EXPECT_EQ(batch.status().code(), Status::Code::kAborted);
  EXPECT_NE(batch.status().message().find("max_event_bytes"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Formats, LimitsTest,
                         ::testing::Values(BodyFormat::kJson, BodyFormat::kNdjson));

// (name, bytes to splice into one event's string)
class Utf8Test : public ::testing::TestWithParam<std::tuple<BodyFormat, const char*>> {};

TEST_P(Utf8Test, OneBadEventIsRejectedOthersLand) {
  const auto [format, bad] = GetParam();
  const std::string bad_event =
      EventJson::Valid().SetString("event_id", "e-bad").SetString("isp", bad).Json();
  const std::vector<std::string> events = {ValidEvent(1), bad_event, ValidEvent(2)};
  const std::string body = format == BodyFormat::kJson ? JsonBody(events) : NdjsonBody(events);
  auto batch = Parse(body, format);
  ASSERT_TRUE(batch.ok()) << batch.status().ToString();
  EXPECT_EQ(batch->total, 3u);
  ASSERT_EQ(batch->accepted.size(), 2u);
  EXPECT_EQ(batch->accepted[1].event_id, "e-2");
  ASSERT_EQ(batch->rejected.size(), 1u);
  EXPECT_EQ(batch->rejected[0].index, 1u);
  EXPECT_EQ(batch->rejected[0].error, "invalid UTF-8");
  EXPECT_EQ(batch->rejected[0].raw, bad_event);  // the original bytes, not the repaired ones
  EXPECT_EQ(batch->rejected[0].event_id, "e-bad");
}

INSTANTIATE_TEST_SUITE_P(
    Bytes, Utf8Test,
    ::testing::Combine(::testing::Values(BodyFormat::kJson, BodyFormat::kNdjson),
                       ::testing::Values("\xff", "a\xc0\xaf", "\xed\xa0\x80", "\xe2\x82", "\x80",
                                         "\xf4\x90\x80\x80", "ok\xc3")));

TEST(Utf8Test2, BadBytesInKeyOrUnknownFieldRejectTheEvent) {
  const std::vector<std::string> events = {
      ValidEvent(1), EventJson::Valid().Set("x\xfe", "1").Json(),
      EventJson::Valid().Set("x", "[\"\xfe\"]").Json(), ValidEvent(2)};
  for (BodyFormat format : {BodyFormat::kJson, BodyFormat::kNdjson}) {
    auto batch = Parse(format == BodyFormat::kJson ? JsonBody(events) : NdjsonBody(events), format);
    ASSERT_TRUE(batch.ok());
    EXPECT_EQ(batch->accepted.size(), 2u);
    ASSERT_EQ(batch->rejected.size(), 2u);
    EXPECT_EQ(batch->rejected[1].error, "invalid UTF-8");
  }
}

TEST(Utf8Test2, ValidMultiByteTextIsAccepted) {
  auto batch = Parse(JsonBody({EventJson::Valid().SetString("isp", "Télécom 📺 中国").Json()}));
  ASSERT_TRUE(batch.ok());
  EXPECT_EQ(batch->accepted.size(), 1u);
}

TEST(Utf8Test2, UnpairedSurrogateEscapeRejectsTheEventOnly) {
  const std::vector<std::string> events = {
      ValidEvent(1), EventJson::Valid().SetString("isp", "\\ud800").Json(),
      EventJson::Valid().Set("x", "{\"y\":[\"\\udc00\",1]}").Json(), "\"\\ud800\"", ValidEvent(2)};
  for (BodyFormat format : {BodyFormat::kJson, BodyFormat::kNdjson}) {
    auto batch = Parse(format == BodyFormat::kJson ? JsonBody(events) : NdjsonBody(events), format);
    ASSERT_TRUE(batch.ok()) << batch.status().ToString();
    EXPECT_EQ(batch->accepted.size(), 2u);
    ASSERT_EQ(batch->rejected.size(), 3u);
    EXPECT_EQ(batch->rejected[0].error, "field 'isp': invalid UTF-8 (unpaired surrogate escape)");
    EXPECT_EQ(batch->rejected[1].error, "invalid UTF-8 (unpaired surrogate escape)");
    EXPECT_EQ(batch->rejected[2].error, "invalid UTF-8");
  }
}

TEST(ParseBatchTest, ThreadsDoNotShareState) {
  std::vector<std::string> events;
  for (int i = 0; i < 200; ++i) events.push_back(i % 7 ? ValidEvent(i) : "{\"bad\":1}");
  const std::string body = JsonBody(events);
  const std::string expected_arena = Parse(body)->arena;
  auto work = [&] {
    for (int i = 0; i < 50; ++i) {
      auto batch = Parse(body);
      ASSERT_TRUE(batch.ok());
      ASSERT_EQ(batch->arena, expected_arena);
      ASSERT_TRUE(Parse(ValidEvent(i), BodyFormat::kNdjson).ok());  // small after big
    }
  };
  std::thread a(work), b(work);
  a.join();
  b.join();
}

}  // namespace
}  // namespace viewpipe

namespace viewpipe {
namespace {

// The body in a buffer with kBodyPaddingBytes readable bytes after it
// (filled with a JSON-looking trap, which the parser must not read as body).
std::string PaddedBuffer(const std::string& body) {
  return body + std::string(kBodyPaddingBytes, '}');
}

TEST(ParseBatchInPlaceTest, SameResultAsTheCopyAndTheBodyIsUntouched) {
  const std::string bad_utf8 =
      EventJson::Valid().SetString("event_id", "e-bad").SetString("isp", "\xff\xfe").Json();
  const std::vector<std::vector<std::string>> bodies = {
      {ValidEvent(1), ValidEvent(2), ValidEvent(3)},
      {ValidEvent(1), "{\"event_id\":\"bad\"}", "17", ValidEvent(2)},
      {ValidEvent(1), bad_utf8, ValidEvent(2)},  // second pass: a repaired copy
  };
  for (const auto& events : bodies) {
    const std::string body = JsonBody(events);
    std::string buffer = PaddedBuffer(body);
    const std::string before = buffer;
    const std::string_view view(buffer.data(), body.size());
    auto copied = Parse(body, BodyFormat::kJson);
    auto in_place = ParseBatch(view, BodyFormat::kJson, testing::kNow, ParseLimits{},
                               BodyPadding::kReadable);
    ASSERT_TRUE(copied.ok() && in_place.ok()) << in_place.status().ToString();
    EXPECT_EQ(buffer, before);  // never modified, even when UTF-8 was repaired
    EXPECT_EQ(in_place->arena, copied->arena);
    ASSERT_EQ(in_place->rejected.size(), copied->rejected.size());
    for (size_t i = 0; i < copied->rejected.size(); ++i) {
      EXPECT_EQ(in_place->rejected[i].error, copied->rejected[i].error);
      EXPECT_EQ(in_place->rejected[i].raw, copied->rejected[i].raw);
    }
  }
  // Not JSON, and truncated JSON (the padding must not complete it).
  for (const std::string& body : {std::string("hello"), "{\"events\":[" + ValidEvent(1)}) {
    std::string buffer = PaddedBuffer(body);
    auto r = ParseBatch(std::string_view(buffer.data(), body.size()), BodyFormat::kJson,
                        testing::kNow, ParseLimits{}, BodyPadding::kReadable);
    EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument) << body;
  }
}

}  // namespace
}  // namespace viewpipe
