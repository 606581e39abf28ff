#include "event/json_check.h"

namespace viewpipe {
namespace {

using simdjson::error_code;
using simdjson::SUCCESS;
namespace od = simdjson::ondemand;

constexpr int kMaxCheckedDepth = 128;  // deeper values are skipped unchecked

// Keeps the first hard error; an unpaired surrogate (UTF8_ERROR) only
// sticks when nothing worse is found, and does not stop the walk.
class ErrorSink {
 public:
  // Returns true when the walk must stop.
  bool Add(error_code e) {
    if (e == simdjson::UTF8_ERROR) {
      soft_ = e;
      return false;
    }
    hard_ = e;
    return e != SUCCESS;
  }
  error_code result() const { return hard_ != SUCCESS ? hard_ : soft_; }

 private:
  error_code hard_ = SUCCESS;
  error_code soft_ = SUCCESS;
};

error_code ConsumeChecked(od::value& v, int depth);

error_code ConsumeArray(od::value& v, int depth) {
  od::array array;
  ErrorSink sink;
  if (sink.Add(v.get_array().get(array))) return sink.result();
  for (auto element : array) {
    if (sink.Add(element.error())) return sink.result();
    if (sink.Add(ConsumeChecked(element.value_unsafe(), depth + 1))) return sink.result();
  }
  return sink.result();
}

error_code ConsumeObject(od::value& v, int depth) {
  od::object object;
  ErrorSink sink;
  if (sink.Add(v.get_object().get(object))) return sink.result();
  for (auto field_result : object) {
    if (sink.Add(field_result.error())) return sink.result();
    od::field& field = field_result.value_unsafe();
    error_code e;
    FieldKey(field, &e);  // checks the key's escapes
    if (sink.Add(e) || sink.Add(ConsumeChecked(field.value(), depth + 1))) return sink.result();
  }
  return sink.result();
}

error_code ConsumeChecked(od::value& v, int depth) {
  od::json_type type;
  if (error_code e = v.type().get(type)) return e;
  switch (type) {
    case od::json_type::array:
      return depth >= kMaxCheckedDepth ? SUCCESS : ConsumeArray(v, depth);
    case od::json_type::object:
      return depth >= kMaxCheckedDepth ? SUCCESS : ConsumeObject(v, depth);
    case od::json_type::number: {
      double d;
      return v.get_double().get(d);
    }
    case od::json_type::string: {
      error_code e;
      StringValue(v, &e);
      return e;
    }
    case od::json_type::boolean: {
      bool b;
      return v.get_bool().get(b);
    }
    case od::json_type::null: {
      bool is_null = false;
      if (error_code e = v.is_null().get(is_null)) return e;
      return is_null ? SUCCESS : simdjson::N_ATOM_ERROR;
    }
  }
  return simdjson::TAPE_ERROR;
}

error_code ConsumeScalar(od::document& doc, od::json_type type) {
  switch (type) {
    case od::json_type::number: {
      double d;
      return doc.get_double().get(d);
    }
    case od::json_type::string: {
      std::string_view s;
      error_code e = doc.get_string().get(s);
      if (e != simdjson::STRING_ERROR) return e;
      std::string_view token;
      if (doc.raw_json_token().get(token) != SUCCESS) return e;
      while (!token.empty() && IsJsonWhitespace(token.back())) token.remove_suffix(1);
      const bool quoted = token.size() >= 2 && token.back() == '"';
      return quoted && EscapesWellFormed(token.substr(1, token.size() - 2)) ? simdjson::UTF8_ERROR
                                                                            : e;
    }
    case od::json_type::boolean: {
      bool b;
      return doc.get_bool().get(b);
    }
    case od::json_type::null: {
      bool is_null = false;
      if (error_code e = doc.is_null().get(is_null)) return e;
      return is_null ? SUCCESS : simdjson::N_ATOM_ERROR;
    }
    default:
      return simdjson::TAPE_ERROR;
  }
}

bool IsHex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

}  // namespace

error_code ConsumeJsonValue(od::value& v) { return ConsumeChecked(v, 0); }

error_code ConsumeJsonDocument(od::document& doc) {
  od::json_type type;
  if (error_code e = doc.type().get(type)) return e;
  ErrorSink sink;
  if (type == od::json_type::array || type == od::json_type::object) {
    od::value root;
    if (sink.Add(doc.get_value().get(root)) || sink.Add(ConsumeChecked(root, 0))) {
      return sink.result();
    }
  } else if (sink.Add(ConsumeScalar(doc, type))) {
    return sink.result();
  }
  const char* trailing;
  if (doc.current_location().get(trailing) != simdjson::OUT_OF_BOUNDS) {
    return simdjson::TRAILING_CONTENT;
  }
  return sink.result();
}

bool EscapesWellFormed(std::string_view body) {
  for (size_t i = 0; i < body.size(); ++i) {
    if (body[i] != '\\') continue;
    if (++i == body.size()) return false;
    switch (body[i]) {
      case '"':
      case '\\':
      case '/':
      case 'b':
      case 'f':
      case 'n':
      case 'r':
      case 't':
        break;
      case 'u':
        if (body.size() - i <= 4 || !IsHex(body[i + 1]) || !IsHex(body[i + 2]) ||
            !IsHex(body[i + 3]) || !IsHex(body[i + 4])) {
          return false;
        }
        i += 4;
        break;
      default:
        return false;
    }
  }
  return true;
}

}  // namespace viewpipe
