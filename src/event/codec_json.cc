// AppendEventJson (codec.h): an event as one flat JSON object, for the lake
// writers and the HTTP API.

#include <simdjson.h>

#include <charconv>

#include "event/codec.h"
#include "event/utf8.h"

namespace viewpipe {
namespace {

constexpr char kHex[] = "0123456789abcdef";

bool NeedsEscape(unsigned char c) { return c < 0x20 || c == '"' || c == '\\'; }

void AppendEscapedByte(unsigned char c, std::string* out) {
  switch (c) {
    case '"':
      out->append("\\\"");
      return;
    case '\\':
      out->append("\\\\");
      return;
    case '\n':
      out->append("\\n");
      return;
    case '\r':
      out->append("\\r");
      return;
    case '\t':
      out->append("\\t");
      return;
    case '\b':
      out->append("\\b");
      return;
    case '\f':
      out->append("\\f");
      return;
    default:
      break;
  }
  const char esc[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xF]};
  out->append(esc, sizeof(esc));
}

// Appends s as a JSON string. With sanitize, every byte that does not start
// a well-formed UTF-8 sequence becomes U+FFFD; otherwise s must be valid UTF-8.
void AppendString(std::string_view s, bool sanitize, std::string* out) {
  out->push_back('"');
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  size_t run = 0;  // start of the pending run of bytes copied verbatim
  for (size_t i = 0; i < n;) {
    const unsigned char c = p[i];
    if (c < 0x80 && !NeedsEscape(c)) {
      ++i;
      continue;
    }
    size_t len = c < 0x80 ? 1 : (sanitize ? utf8::SequenceLength(p + i, n - i) : 1);
    if (len != 0 && c >= 0x80) {  // a valid multi-byte sequence: keep it
      i += len;
      continue;
    }
    out->append(s.data() + run, i - run);
    if (len == 0) {
      out->append("\xEF\xBF\xBD");
    } else {
      AppendEscapedByte(c, out);
    }
    run = ++i;
  }
  out->append(s.data() + run, n - run);
  out->push_back('"');
}

class ObjectWriter {
 public:
  ObjectWriter(std::string* out, bool sanitize) : out_(out), sanitize_(sanitize) {
    out_->push_back('{');
  }
  void Close() { out_->push_back('}'); }
  void Key(std::string_view key) {
    if (!first_) out_->push_back(',');
    first_ = false;
    out_->push_back('"');
    out_->append(key);
    out_->append("\":");
  }
  void String(std::string_view key, std::string_view value) {
    Key(key);
    AppendString(value, sanitize_, out_);
  }
  void OptionalString(std::string_view key, std::string_view value) {
    if (!value.empty()) String(key, value);
  }
  void Int(std::string_view key, int64_t value) {
    Key(key);
    char buf[24];
    auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), value);
    out_->append(buf, static_cast<size_t>(end - buf));
  }
  template <typename T>
  void OptionalInt(std::string_view key, const std::optional<T>& value) {
    if (value) Int(key, *value);
  }
  void Experiments(const EventView& e) {
    if (e.experiments.empty()) return;
    Key("experiments");
    out_->push_back('{');
    for (size_t i = 0; i < e.experiments.size(); ++i) {
      if (i > 0) out_->push_back(',');
      AppendString(e.experiments[i].first, sanitize_, out_);
      out_->push_back(':');
      AppendString(e.experiments[i].second, sanitize_, out_);
    }
    out_->push_back('}');
  }

 private:
  std::string* out_;
  bool sanitize_;
  bool first_ = true;
};

void WriteEvent(const EventView& e, bool sanitize, std::string* out) {
  ObjectWriter w(out, sanitize);
  w.String("event_id", e.event_id);
  w.String("type", EventTypeName(e.type));
  w.Int("ts", e.ts_ms);
  w.Int("received_at", e.received_at_ms);
  w.String("session_id", e.session_id);
  w.String("profile_id", e.profile_id);
  w.String("title_id", e.title_id);
  w.String("device_type", DeviceTypeName(e.device_type));
  w.String("country", e.country);
  w.String("cdn", e.cdn);
  w.OptionalString("os", e.os);
  w.OptionalString("app_version", e.app_version);
  w.OptionalString("isp", e.isp);
  w.OptionalInt("position_ms", e.position_ms);
  w.OptionalInt("bitrate_kbps", e.bitrate_kbps);
  w.OptionalInt("startup_ms", e.startup_ms);
  w.OptionalInt("rebuffer_ms", e.rebuffer_ms);
  w.OptionalString("error_code", e.error_code);
  if (e.fatal) {
    w.Key("fatal");
    out->append(*e.fatal ? "true" : "false");
  }
  w.OptionalString("live_event_id", e.live_event_id);
  w.Experiments(e);
  w.Close();
}

}  // namespace

void AppendEventJson(const EventView& e, std::string* out) {
  const size_t start = out->size();
  WriteEvent(e, /*sanitize=*/false, out);
  if (simdjson::validate_utf8(out->data() + start, out->size() - start)) return;
  out->resize(start);
  WriteEvent(e, /*sanitize=*/true, out);
}

}  // namespace viewpipe
