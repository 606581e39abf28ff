#include "warehouse/sql_guard.h"

#include <simdjson.h>

#include <algorithm>
#include <cctype>
#include <optional>

#include "lake/duck.h"
#include "lake/lake_schema.h"
#include "lake/lake_time.h"

namespace viewpipe {
namespace {

using simdjson::dom::array;
using simdjson::dom::element;
using simdjson::dom::object;
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string_view Str(element e, const char* key) {
  std::string_view v;
  if (e.is_object() && e[key].get_string().get(v) == simdjson::SUCCESS) return v;
  return {};
}

struct Range {
  int64_t lo = kMin;
  int64_t hi = kMax;
};

// Event-time bounds implied by the top-level AND of a WHERE clause over the
// table reference named `qualifier`.
class BoundFinder {
 public:
  explicit BoundFinder(std::string qualifier) : qualifier_(std::move(qualifier)) {}

  void Constrain(element e, Range* r) const {
    if (!e.is_object()) return;
    std::string_view type = Str(e, "type");
    std::string_view cls = Str(e, "class");
    if (type == "CONJUNCTION_AND") {
      array children;
      if (e["children"].get_array().get(children) == simdjson::SUCCESS) {
        for (element c : children) Constrain(c, r);
      }
    } else if (cls == "COMPARISON") {
      element left, right;
      if (e["left"].get(left) || e["right"].get(right)) return;
      if (auto col = Column(left)) {
        Apply(*col, type, right, r);
      } else if (auto col2 = Column(right)) {
        Apply(*col2, Flip(type), left, r);
      }
    } else if (type == "COMPARE_BETWEEN") {
      element input, lower, upper;
      if (e["input"].get(input) || e["lower"].get(lower) || e["upper"].get(upper)) return;
      if (auto col = Column(input)) {
        Apply(*col, "COMPARE_GREATERTHANOREQUALTO", lower, r);
        Apply(*col, "COMPARE_LESSTHANOREQUALTO", upper, r);
      }
    } else if (type == "COMPARE_IN") {
      array children;
      if (e["children"].get_array().get(children) || children.size() < 2) return;
      auto col = Column(children.at(0).value_unsafe());
      if (!col) return;
      Range in{kMax, kMin};
      bool first = true;
      for (element c : children) {
        if (first) {
          first = false;
          continue;
        }
        Range one;
        if (!Apply(*col, "COMPARE_EQUAL", c, &one)) return;  // a non-constant: no bound
        in.lo = std::min(in.lo, one.lo);
        in.hi = std::max(in.hi, one.hi);
      }
      r->lo = std::max(r->lo, in.lo);
      r->hi = std::min(r->hi, in.hi);
    }
  }

 private:
  static std::string_view Flip(std::string_view op) {
    if (op == "COMPARE_GREATERTHAN") return "COMPARE_LESSTHAN";
    if (op == "COMPARE_LESSTHAN") return "COMPARE_GREATERTHAN";
    if (op == "COMPARE_GREATERTHANOREQUALTO") return "COMPARE_LESSTHANOREQUALTO";
    if (op == "COMPARE_LESSTHANOREQUALTO") return "COMPARE_GREATERTHANOREQUALTO";
    return op;
  }

  // "ts" or "event_date" when e names that column of our table reference.
  std::optional<std::string> Column(element e) const {
    element cast_type;
    if (Str(e, "class") == "CAST" && !e["cast_type"].get(cast_type) &&
        Lower(Str(cast_type, "id")) == "date") {
      element child;
      if (e["child"].get(child)) return std::nullopt;
      auto col = Column(child);
      if (col && *col == "event_date") return col;
      return std::nullopt;
    }
    if (Str(e, "class") != "COLUMN_REF") return std::nullopt;
    array names;
    if (e["column_names"].get_array().get(names)) return std::nullopt;
    std::vector<std::string> parts;
    for (element n : names) {
      std::string_view s;
      if (n.get_string().get(s)) return std::nullopt;
      parts.push_back(Lower(s));
    }
    if (parts.empty() || parts.size() > 2) return std::nullopt;
    if (parts.size() == 2 && parts[0] != qualifier_) return std::nullopt;
    if (parts.back() == "ts" || parts.back() == "event_date") return parts.back();
    return std::nullopt;
  }

  // A constant's value: an integer, or the date of a 'YYYY-MM-DD' string
  // (as days), possibly under CASTs.
  static std::optional<int64_t> Constant(element e, bool date) {
    if (Str(e, "class") == "CAST") {
      element child;
      if (e["child"].get(child)) return std::nullopt;
      return Constant(child, date);
    }
    if (Str(e, "type") != "VALUE_CONSTANT") return std::nullopt;
    element value;
    if (e["value"].get(value)) return std::nullopt;
    bool is_null = true;
    if (value["is_null"].get_bool().get(is_null) || is_null) return std::nullopt;
    element v;
    if (value["value"].get(v)) return std::nullopt;
    if (date) {
      std::string_view s;
      if (v.get_string().get(s)) return std::nullopt;
      auto d = EventDate::Parse(s);
      if (!d) return std::nullopt;
      return d->days;
    }
    int64_t i = 0;
    if (v.get_int64().get(i) == simdjson::SUCCESS) return i;
    return std::nullopt;
  }

  // Narrows r by `column op constant`; false when the constant is not one.
  static bool Apply(const std::string& column, std::string_view op, element constant, Range* r) {
    const bool date = column == "event_date";
    auto c = Constant(constant, date);
    if (!c) return false;
    int64_t lo, hi;  // the rows `column = c` covers, as event time
    if (date) {
      EventDate d{static_cast<int32_t>(*c)};
      lo = d.StartMs();
      hi = d.EndMs() - 1;
    } else {
      lo = hi = *c;
    }
    if (op == "COMPARE_EQUAL") {
      r->lo = std::max(r->lo, lo);
      r->hi = std::min(r->hi, hi);
    } else if (op == "COMPARE_GREATERTHAN") {
      r->lo = std::max(r->lo, hi == kMax ? hi : hi + 1);
    } else if (op == "COMPARE_GREATERTHANOREQUALTO") {
      r->lo = std::max(r->lo, lo);
    } else if (op == "COMPARE_LESSTHAN") {
      r->hi = std::min(r->hi, lo == kMin ? lo : lo - 1);
    } else if (op == "COMPARE_LESSTHANOREQUALTO") {
      r->hi = std::min(r->hi, hi);
    }
    return true;
  }

  std::string qualifier_;
};

class Checker {
 public:
  void CollectCtes(element e) {
    if (e.is_array()) {
      for (element c : array(e)) CollectCtes(c);
      return;
    }
    if (!e.is_object()) return;
    object o(e);
    element map;
    if (o["cte_map"]["map"].get(map) == simdjson::SUCCESS && map.is_array()) {
      for (element entry : array(map)) {
        std::string_view key;
        if (entry["key"].get_string().get(key) == simdjson::SUCCESS) ctes_.insert(Lower(key));
      }
    }
    for (auto field : o) CollectCtes(field.value);
  }

  void Walk(element e) {
    if (!error_.empty()) return;
    if (e.is_array()) {
      for (element c : array(e)) Walk(c);
      return;
    }
    if (!e.is_object()) return;
    object o(e);
    std::string_view type = Str(e, "type");
    std::string_view cls = Str(e, "class");
    if (!cls.empty()) {
      Expression(e, cls);
    } else if (o["sample"].error() != simdjson::NO_SUCH_FIELD &&
               o["modifiers"].error() == simdjson::NO_SUCH_FIELD) {
      TableRef(e, type);  // a FROM item (query nodes have modifiers)
    }
    if (type == "SELECT_NODE") SelectNode(e);
    for (auto field : o) Walk(field.value);
  }

  Result<QueryShape> Finish() {
    if (!error_.empty()) return Status::InvalidArgument(error_);
    if (events_refs_ == 0) {  // reads no data
      shape_.min_ms = kMax;
      shape_.max_ms = kMin;
    } else if (events_refs_ > bounded_refs_ || !any_bound_) {
      shape_.min_ms = kMin;
      shape_.max_ms = kMax;
    } else {
      shape_.min_ms = hull_.lo;
      shape_.max_ms = hull_.hi;
    }
    return shape_;
  }

 private:
  void Expression(element e, std::string_view cls) {
    if (cls == "COLUMN_REF") {
      array names;
      if (e["column_names"].get_array().get(names) == simdjson::SUCCESS && names.size() > 0) {
        std::string_view last;
        if (names.at(names.size() - 1).get_string().get(last) == simdjson::SUCCESS &&
            IsLogicalColumn(Lower(last))) {
          shape_.columns.insert(Lower(last));
        }
      }
    } else if (cls == "STAR") {
      shape_.all_columns = true;
    }
  }

  void TableRef(element e, std::string_view type) {
    if (type == "BASE_TABLE") {
      std::string name = Lower(Str(e, "table_name"));
      if (!Str(e, "schema_name").empty() || !Str(e, "catalog_name").empty()) {
        Fail("qualified table names are not allowed (" + name + "): query the table `events`");
      } else if (name == "events") {
        ++events_refs_;
      } else if (!ctes_.count(name)) {
        Fail("unknown table `" + name + "`: only the table `events` can be queried");
      }
    } else if (type == "TABLE_FUNCTION") {
      element function;
      std::string fn = e["function"].get(function) ? "" : std::string(Str(function, "function_name"));
      Fail("table functions are not allowed (" + fn + "): query the table `events`");
    } else if (type == "SHOW_REF") {
      element query;
      if (e["query"].get(query) || query.is_null()) Fail("SHOW is not allowed");
    } else if (type != "SUBQUERY" && type != "JOIN" && type != "EMPTY" &&
               type != "EXPRESSION_LIST" && type != "PIVOT") {
      Fail("FROM items of type " + std::string(type) + " are not allowed");
    }
  }

  void SelectNode(element e) {
    element from;
    if (e["from_table"].get(from) || Str(from, "type") != "BASE_TABLE") return;
    if (Lower(Str(from, "table_name")) != "events" || !Str(from, "schema_name").empty()) return;
    std::string alias = Lower(Str(from, "alias"));
    BoundFinder finder(alias.empty() ? "events" : alias);
    Range r;
    element where;
    if (e["where_clause"].get(where) == simdjson::SUCCESS && !where.is_null()) {
      finder.Constrain(where, &r);
    }
    ++bounded_refs_;
    if (r.lo != kMin || r.hi != kMax) any_bound_ = true;
    if (!first_) {
      hull_.lo = std::min(hull_.lo, r.lo);
      hull_.hi = std::max(hull_.hi, r.hi);
    } else {
      hull_ = r;
      first_ = false;
    }
  }

  void Fail(std::string msg) {
    if (error_.empty()) error_ = std::move(msg);
  }

  std::set<std::string> ctes_;
  QueryShape shape_;
  std::string error_;
  int events_refs_ = 0;
  int bounded_refs_ = 0;
  bool any_bound_ = false;
  bool first_ = true;
  Range hull_;
};

}  // namespace

Result<QueryShape> CheckQuery(DuckConnection* conn, const std::string& sql) {
  auto res = conn->QueryParams("SELECT json_serialize_sql($1::VARCHAR)", {sql});
  if (!res.ok()) return Status::InvalidArgument("cannot parse the query: " + res.status().message());
  std::string json;
  VP_RETURN_IF_ERROR(res->ForEachChunk([&](const DuckChunk& c) {
    if (c.rows() > 0 && json.empty()) json = std::string(c.String(0, 0));
    return Status::OK();
  }));
  simdjson::dom::parser parser;
  simdjson::padded_string padded(json);
  element doc;
  if (parser.parse(padded).get(doc)) return Status::InvalidArgument("cannot parse the query");
  bool error = false;
  if (doc["error"].get_bool().get(error) == simdjson::SUCCESS && error) {
    std::string msg(Str(doc, "error_message"));
    if (msg.find("Only SELECT") != std::string::npos) {
      return Status::InvalidArgument(
          "only read-only queries (SELECT) are allowed; writes, COPY, ATTACH, SET, PRAGMA, "
          "INSTALL/LOAD and DDL are refused");
    }
    return Status::InvalidArgument("syntax error: " + msg);
  }
  array statements;
  if (doc["statements"].get_array().get(statements) || statements.size() != 1) {
    return Status::InvalidArgument("exactly one SELECT statement is allowed");
  }
  Checker checker;
  checker.CollectCtes(doc);
  checker.Walk(doc);
  return checker.Finish();
}

}  // namespace viewpipe
