#include "features/feature_routes.h"

#include <httplib.h>
#include <simdjson.h>

#include <charconv>
#include <optional>

#include "api/json_error.h"
#include "api/lookup_http_server.h"
#include "common/json_writer.h"
#include "event/utf8.h"
#include "features/feature_merge.h"
#include "features/feature_vector.h"

namespace viewpipe::features {
namespace {

// The merged state of the values present (one whole state, or the partials
// of a shared store; feature_merge.h); false when there is none. A merge of
// one state is that state, so one value is used as it is.
template <typename State, typename Decode, typename Merge>
Result<bool> Merged(std::span<const std::optional<std::string>> values, Decode decode,
                    Merge merge, State* out) {
  std::vector<State> parts;
  for (const auto& v : values) {
    if (!v) continue;
    VP_RETURN_IF_ERROR(decode(*v, &parts.emplace_back()));
  }
  if (parts.empty()) return false;
  *out = parts.size() == 1 ? std::move(parts[0]) : merge(parts);
  return true;
}

// Appends id's vector as of as_of from its values; false: no state.
Result<bool> AppendVector(FeatureKind kind, std::string_view id,
                          std::span<const std::optional<std::string>> values, int64_t as_of,
                          std::string* out) {
  if (kind == FeatureKind::kProfile) {
    ProfileState s;
    auto found = Merged(values, DecodeProfileState, MergeProfileStates, &s);
    if (found.ok() && *found) AppendProfileJson(id, EvaluateProfile(s, as_of), out);
    return found;
  }
  TitleState s;
  auto found = Merged(values, DecodeTitleState, MergeTitleStates, &s);
  if (found.ok() && *found) AppendTitleJson(id, EvaluateTitle(s, as_of), out);
  return found;
}

int HttpStatus(const Status& st) {
  if (st.IsNotFound()) return 404;
  if (st.code() == Status::Code::kInvalidArgument) return 400;
  if (st.code() == Status::Code::kUnavailable) return 503;  // e.g. Redis down
  return 500;
}

// `at` parameter (nullopt when absent): the evaluation time, default now.
bool AsOf(const std::optional<std::string>& at, Clock* clock, int64_t* out, std::string* why) {
  *out = clock->NowMs();
  if (!at) return true;
  const std::string& v = *at;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), *out);
  if (!v.empty() && ec == std::errc() && p == v.data() + v.size() && *out >= 0) return true;
  *why = "at must be a non-negative integer (ms), got '" + v + "'";
  return false;
}

std::optional<std::string> AtParam(const httplib::Request& req) {
  if (!req.has_param("at")) return std::nullopt;
  return req.get_param_value("at");
}

const char* KindName(FeatureKind kind) {
  return kind == FeatureKind::kProfile ? "profile" : "title";
}

}  // namespace

bool ValidFeatureId(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  const auto* p = reinterpret_cast<const unsigned char*>(id.data());
  size_t i = 0;
  while (i < id.size()) {
    const size_t n = utf8::SequenceLength(p + i, id.size() - i);
    if (n == 0 || (n == 1 && (p[i] < 0x20 || p[i] == 0x7f))) return false;
    i += n;
  }
  return true;
}

FeatureRoutes::FeatureRoutes(FeatureStore* store, Clock* clock, MetricsRegistry* metrics,
                             size_t max_batch, LookupCache* cache, int partitions)
    : store_(store),
      cache_(cache),
      clock_(clock),
      max_batch_(max_batch),
      partitions_(partitions) {
  if (metrics) {
    lookups_ = metrics->GetCounter("viewpipe_features_lookups_total",
                                   "Feature vectors looked up over HTTP");
  }
}

Result<std::string> FeatureRoutes::Lookup(FeatureKind kind, std::string_view id, int64_t as_of) {
  if (!ValidFeatureId(id)) {
    return Status::InvalidArgument(std::string("malformed ") + KindName(kind) +
                                   " id: want 1-64 bytes of UTF-8 without control characters");
  }
  if (kind == FeatureKind::kProfile && cache_) return LookupProfile(id, as_of);
  std::vector<std::optional<std::string>> values;
  if (partitions_ == 0) {
    auto v = store_->Get({kind, std::string(id)});
    if (!v.ok()) return v.status();
    values.push_back(std::move(v).value());
  } else {
    std::vector<FeatureKey> keys;
    AddStateKeys(kind, id, &keys);
    auto v = store_->MultiGet(keys);  // one MGET: every partial at one moment
    if (!v.ok()) return v.status();
    values = std::move(v).value();
  }
  std::string out;
  auto found = AppendVector(kind, id, values, as_of, &out);
  if (!found.ok()) return found.status();
  if (!*found) return Status::NotFound(std::string("unknown ") + KindName(kind) + " id");
  if (lookups_) lookups_->Inc();
  return out;
}

void FeatureRoutes::AddStateKeys(FeatureKind kind, std::string_view id,
                                 std::vector<FeatureKey>* keys) const {
  if (partitions_ == 0) {
    keys->push_back({kind, std::string(id)});
    return;
  }
  for (PartitionId p = 0; p < partitions_; ++p) keys->push_back({kind, std::string(id), p});
}

// A profile lookup through the cache: the answer from it, or rendered from
// the store and kept (under a ticket taken before the store read).
Result<std::string> FeatureRoutes::LookupProfile(std::string_view id, int64_t as_of) {
  std::string out;
  if (cache_->Find(id, as_of, &out)) {
    if (lookups_) lookups_->Inc();
    return out;
  }
  const uint64_t ticket = cache_->Ticket(id);
  auto v = store_->Get({FeatureKind::kProfile, std::string(id)});
  if (!v.ok()) return v.status();
  if (!*v) return Status::NotFound("unknown profile id");
  ProfileState s;
  VP_RETURN_IF_ERROR(DecodeProfileState(**v, &s));
  if (lookups_) lookups_->Inc();
  AppendProfileJson(id, EvaluateProfile(s, as_of), &out);
  cache_->Insert(id, ticket, as_of, ProfileValidUntil(s, as_of), out);
  return out;
}

Result<std::string> FeatureRoutes::LookupBatch(FeatureKind kind, std::string_view body,
                                               int64_t as_of) {
  simdjson::dom::parser parser;
  simdjson::padded_string padded(body);
  simdjson::dom::array ids;
  if (parser.parse(padded)["ids"].get_array().get(ids) != simdjson::SUCCESS) {
    return Status::InvalidArgument("body must be {\"ids\": [\"...\", ...]}");
  }
  if (ids.size() > max_batch_) {
    return Status::InvalidArgument("too many ids: " + std::to_string(ids.size()) + " > " +
                                   std::to_string(max_batch_));
  }
  std::vector<FeatureKey> keys;
  for (simdjson::dom::element e : ids) {
    std::string_view id;
    if (e.get_string().get(id) != simdjson::SUCCESS || !ValidFeatureId(id)) {
      return Status::InvalidArgument("ids must be strings of 1-64 bytes of UTF-8");
    }
    AddStateKeys(kind, id, &keys);
  }
  auto values = store_->MultiGet(keys);
  if (!values.ok()) return values.status();
  std::string out = "{\"as_of\":";
  AppendJsonInt(&out, as_of);
  std::string items;
  int64_t found = 0;
  const size_t per_id = partitions_ == 0 ? 1 : static_cast<size_t>(partitions_);
  for (size_t i = 0; i < keys.size(); i += per_id) {
    if (i > 0) items.push_back(',');
    std::span<const std::optional<std::string>> mine(values->data() + i, per_id);
    auto present = AppendVector(kind, keys[i].id, mine, as_of, &items);
    if (!present.ok()) return present.status();
    if (!*present) items.append("null");
    found += *present ? 1 : 0;
  }
  if (lookups_) lookups_->Inc(static_cast<uint64_t>(found));
  out.append(",\"found\":");
  AppendJsonInt(&out, found);
  out.append(kind == FeatureKind::kProfile ? ",\"profiles\":[" : ",\"titles\":[");
  out.append(items);
  out.append("]}");
  return out;
}

void FeatureRoutes::Register(httplib::Server* server) {
  auto one = [this](FeatureKind kind) {
    return [this, kind](const httplib::Request& req, httplib::Response& res) {
      int64_t as_of = 0;
      std::string why;
      if (!AsOf(AtParam(req), clock_, &as_of, &why)) return SendJsonError(res, 400, why);
      auto r = Lookup(kind, req.matches[1].str(), as_of);
      if (!r.ok()) return SendJsonError(res, HttpStatus(r.status()), r.status().message());
      res.set_content(*r, "application/json");
    };
  };
  auto batch = [this](FeatureKind kind) {
    return [this, kind](const httplib::Request& req, httplib::Response& res) {
      int64_t as_of = 0;
      std::string why;
      if (!AsOf(AtParam(req), clock_, &as_of, &why)) return SendJsonError(res, 400, why);
      auto r = LookupBatch(kind, req.body, as_of);
      if (!r.ok()) return SendJsonError(res, HttpStatus(r.status()), r.status().message());
      res.set_content(*r, "application/json");
    };
  };
  server->Get(R"(/v1/features/profiles/(.*))", one(FeatureKind::kProfile));
  server->Get(R"(/v1/features/titles/(.*))", one(FeatureKind::kTitle));
  server->Post("/v1/features/profiles:batch", batch(FeatureKind::kProfile));
  server->Post("/v1/features/titles:batch", batch(FeatureKind::kTitle));
}

void FeatureRoutes::RegisterLookups(LookupHttpServer* server) {
  auto one = [this](FeatureKind kind) {
    return [this, kind](std::string_view id, const HttpRequestHead& head, LookupReply* reply) {
      int64_t as_of = 0;
      std::string why;
      if (!AsOf(head.Param("at"), clock_, &as_of, &why)) {
        reply->status = 400;
        reply->body = JsonErrorBody(why);
        return;
      }
      auto r = Lookup(kind, id, as_of);
      if (!r.ok()) {
        reply->status = HttpStatus(r.status());
        reply->body = JsonErrorBody(r.status().message());
        return;
      }
      reply->body = std::move(r).value();
    };
  };
  server->AddPrefix("/v1/features/profiles/", one(FeatureKind::kProfile));
  server->AddPrefix("/v1/features/titles/", one(FeatureKind::kTitle));
}

}  // namespace viewpipe::features
