#pragma once
// Well-formedness checks over simdjson On Demand values. On Demand only
// validates what is read, so everything the parser does not read (unknown
// fields, values of the wrong type, non-object events) is consumed through
// here to keep "not JSON" bodies from slipping through.

#include <simdjson.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <cstring>
#include <string_view>

namespace viewpipe {

// Consumes v (of any type) and returns SUCCESS if it is well-formed JSON,
// else simdjson's error. UTF8_ERROR is special: v was well-formed JSON and
// fully consumed, but a string in it escapes an unpaired surrogate
// ("\ud800"), which has no UTF-8 form; simdjson refuses to decode it, and the
// event holding it is rejected rather than the body. Values nested deeper
// than 128 levels are skipped without checking (the parent's iteration still
// balances brackets).
simdjson::error_code ConsumeJsonValue(simdjson::ondemand::value& v);

// Consumes a whole document (any root type) and checks nothing follows it.
// Errors as ConsumeJsonValue.
simdjson::error_code ConsumeJsonDocument(simdjson::ondemand::document& doc);

// Whether the body of a JSON string (between its quotes) has only
// well-formed escapes: \" \\ \/ \b \f \n \r \t \uXXXX.
bool EscapesWellFormed(std::string_view body);

// Fast paths around simdjson's unescaping, which is an out-of-line call per
// string: most keys and values have no escapes, and then their text is the
// bytes between the quotes in the (padded, caller-owned) input. Views are
// valid as long as the input buffer, or, for escaped strings, until the
// parser's next document.

// simdjson's tokens run from one structural character to the next, so a
// string token is the string plus any whitespace before the next ',' ':'
// '}' or ']': the closing quote is its last non-space byte. Finding a string's
// end needs no scan; only "has it a backslash?" does.

inline bool IsJsonWhitespace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// Whether s[0, n) holds a backslash. REQUIRES: 16 bytes past s + n are
// readable (simdjson's padding guarantees that inside its input).
inline bool HasBackslash(const char* s, size_t n) {
#if defined(__SSE2__)
  const __m128i backslash = _mm_set1_epi8('\\');
  for (size_t i = 0; i < n; i += 16) {
    const __m128i chunk = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + i));
    unsigned mask = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(chunk, backslash)));
    if (n - i < 16) mask &= (1u << (n - i)) - 1;
    if (mask != 0) return true;
  }
  return false;
#else
  return std::memchr(s, '\\', n) != nullptr;
#endif
}

// The key of field as written between its quotes (escapes not processed).
// REQUIRES: field.value() not yet consumed.
inline std::string_view RawFieldKey(simdjson::ondemand::field& field) {
  // Walk back from the value over "<ws>:<ws>" to the key's closing quote.
  const char* p = field.value().raw_json_token().data() - 1;
  while (IsJsonWhitespace(*p)) --p;
  if (*p == ':') --p;
  while (IsJsonWhitespace(*p)) --p;
  const char* body = field.key().raw();
  return p >= body ? std::string_view(body, static_cast<size_t>(p - body)) : std::string_view();
}

// The key of field, unescaped; *error says if that failed (UTF8_ERROR: an
// unpaired surrogate escape, see ConsumeJsonValue). (Views come back
// by value: an out-parameter string_view, stored as two words and reloaded
// as one, costs a store-forwarding stall on every field.)
// REQUIRES: field.value() not yet consumed.
inline std::string_view FieldKey(simdjson::ondemand::field& field, simdjson::error_code* error) {
  *error = simdjson::SUCCESS;
  const std::string_view raw = RawFieldKey(field);
  if (!HasBackslash(raw.data(), raw.size())) return raw;
  std::string_view key;
  *error = field.unescaped_key().get(key);
  if (*error == simdjson::STRING_ERROR && EscapesWellFormed(raw)) *error = simdjson::UTF8_ERROR;
  return key;
}

// Consumes string value v and returns its unescaped text; *error says if
// that failed (UTF8_ERROR: an unpaired surrogate escape, see
// ConsumeJsonValue). REQUIRES: v.type() is string.
inline std::string_view StringValue(simdjson::ondemand::value& v, simdjson::error_code* error) {
  const std::string_view token = v.raw_json_token();
  const char* close_quote = token.data() + token.size() - 1;
  while (close_quote > token.data() && IsJsonWhitespace(*close_quote)) --close_quote;
  std::string_view s;
  if (close_quote > token.data() && *close_quote == '"') {
    const char* body = token.data() + 1;
    const size_t n = static_cast<size_t>(close_quote - body);
    if (!HasBackslash(body, n)) {
      simdjson::ondemand::raw_json_string raw;
      *error = v.get_raw_json_string().get(raw);
      return std::string_view(body, n);
    }
  }
  *error = v.get_string().get(s);
  // simdjson says STRING_ERROR for bad escapes and for unpaired surrogates
  // alike; only the first makes the JSON malformed.
  if (*error == simdjson::STRING_ERROR && close_quote > token.data() && *close_quote == '"' &&
      EscapesWellFormed(std::string_view(token.data() + 1,
                                         static_cast<size_t>(close_quote - token.data() - 1)))) {
    *error = simdjson::UTF8_ERROR;
  }
  return s;
}

}  // namespace viewpipe
