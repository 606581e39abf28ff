#include "ingest/collector.h"

#include <unistd.h>

#include <algorithm>

#include "common/json_writer.h"
#include "event/codec.h"

namespace viewpipe {

namespace {

// The dedup index's bound in ids for CollectorOptions::dedup_max_bytes.
size_t DedupMaxIds(int64_t max_bytes) {
  if (max_bytes < 0) return 0;  // unbounded
  if (max_bytes == 0) {
    const long pages = sysconf(_SC_PHYS_PAGES);
    const long page = sysconf(_SC_PAGE_SIZE);
    max_bytes = pages > 0 && page > 0 ? static_cast<int64_t>(pages) * page / 4 : int64_t{4} << 30;
  }
  // 21-58 bytes an id (dedup_index.h); 40 keeps the tables under the bound.
  return std::max<size_t>(1, static_cast<size_t>(max_bytes) / 40);
}

}  // namespace

std::string DeadLetterJson(const RejectedEvent& rejected, int64_t received_at_ms) {
  std::string out = "{\"received_at\":";
  AppendJsonInt(&out, received_at_ms);
  out += ",\"index\":";
  AppendJsonInt(&out, rejected.index);
  out += ",\"event_id\":";
  AppendJsonString(&out, rejected.event_id);
  out += ",\"error\":";
  AppendJsonString(&out, rejected.error);
  out += ",\"raw\":";
  AppendJsonString(&out, rejected.raw);
  out += '}';
  return out;
}

Collector::Collector(Log* log, Clock* clock, MetricsRegistry* metrics, CollectorOptions options)
    : log_(log),
      clock_(clock),
      metrics_(metrics),
      options_(std::move(options)),
      dedup_(options_.dedup_window_ms, DedupMaxIds(options_.dedup_max_bytes)) {
  const std::string help = "Events posted to the collector, by outcome";
  accepted_ = metrics_->GetCounter("viewpipe_events_total", help, {{"outcome", "accepted"}});
  duplicates_ = metrics_->GetCounter("viewpipe_events_total", help, {{"outcome", "duplicate"}});
  rejected_ = metrics_->GetCounter("viewpipe_events_total", help, {{"outcome", "rejected"}});
  unavailable_ = metrics_->GetCounter("viewpipe_events_total", help,
                                      {{"outcome", "unavailable"}});
  metrics_->AddSampler("viewpipe_dedup_ids", "event_ids remembered by the dedup index",
                       MetricsRegistry::Type::kGauge, [this] {
                         return std::vector<std::pair<Labels, double>>{
                             {{}, static_cast<double>(dedup_.Size())}};
                       });
  metrics_->AddSampler("viewpipe_dedup_window_effective_seconds",
                       "How long event_ids are remembered now: --dedup-window-ms, unless the "
                       "memory bound (--dedup-max-bytes) made the index forget the oldest",
                       MetricsRegistry::Type::kGauge, [this] {
                         return std::vector<std::pair<Labels, double>>{
                             {{}, static_cast<double>(dedup_.EffectiveWindowMs(clock_->NowMs())) /
                                      1000.0}};
                       });
  metrics_->AddSampler("viewpipe_dedup_bytes", "memory held by the dedup index",
                       MetricsRegistry::Type::kGauge, [this] {
                         return std::vector<std::pair<Labels, double>>{
                             {{}, static_cast<double>(dedup_.MemoryBytes())}};
                       });
}

bool Collector::Authorized(std::string_view header) const {
  constexpr std::string_view kBearer = "Bearer ";
  if (header.substr(0, kBearer.size()) != kBearer) return false;
  std::string_view key = header.substr(kBearer.size());
  return std::any_of(options_.write_keys.begin(), options_.write_keys.end(),
                     [&](const std::string& k) { return k == key; });
}

void Collector::CountRejection(std::string_view reason) {
  // The label is the part before the first ':' ("field 'ts'"), so its
  // cardinality stays bounded by the number of fields and rules.
  std::string label(reason.substr(0, std::min(reason.find(':'), size_t{80})));
  metrics_->GetCounter("viewpipe_events_rejected_total", "Rejected events by reason",
                       {{"reason", label}})
      ->Inc();
}

IngestResponse Collector::Refuse(int status, std::string_view reason) {
  metrics_->GetCounter("viewpipe_requests_refused_total", "Requests refused whole, by status",
                       {{"status", std::to_string(status)}})
      ->Inc();
  IngestResponse r{status, "{\"error\":", 0};
  AppendJsonString(&r.body, reason);
  r.body += '}';
  return r;
}

IngestResponse Collector::Unavailable(const Status& status) {
  IngestResponse r = Refuse(503, "storage unavailable, retry later: " + status.ToString());
  r.retry_after_s = options_.retry_after_seconds;
  return r;
}

IngestResponse Collector::Ingest(std::string_view body, BodyFormat format, BodyPadding padding) {
  if (!ready()) {
    IngestResponse r = Refuse(503, "collector is recovering, retry shortly");
    r.retry_after_s = options_.retry_after_seconds;
    return r;
  }
  const int64_t now = clock_->NowMs();
  Result<ParsedBatch> parsed = ParseBatch(body, format, now, options_.limits, padding);
  if (!parsed.ok()) {
    bool too_big = parsed.status().code() == Status::Code::kAborted;
    return Refuse(too_big ? 413 : 400, parsed.status().message());
  }
  ParsedBatch& batch = *parsed;

  // Per-thread buffers, reused: the steady state allocates none of these.
  thread_local std::vector<DedupIndex::Key> keys, claimed;
  thread_local std::vector<DedupIndex::Claim> claims;
  thread_local std::vector<ProduceRecord> records;
  keys.clear();
  for (const AcceptedEvent& e : batch.accepted) keys.push_back(DedupIndex::KeyOf(e.event_id));
  const DedupIndex::Ticket ticket = dedup_.ClaimAll(keys, now, &claims);

  std::vector<std::string> dead_letters;
  dead_letters.reserve(batch.rejected.size());
  for (const RejectedEvent& r : batch.rejected) dead_letters.push_back(DeadLetterJson(r, now));

  records.clear();
  claimed.clear();
  for (size_t i = 0; i < batch.accepted.size(); ++i) {
    if (claims[i] != DedupIndex::Claim::kNew) continue;
    const AcceptedEvent& e = batch.accepted[i];
    claimed.push_back(keys[i]);
    records.push_back(ProduceRecord{kTopicViewing, e.key, e.encoded, now});
    if (IsQoe(e.type)) records.push_back(ProduceRecord{kTopicQoe, e.key, e.encoded, now});
  }
  for (const std::string& d : dead_letters) {
    records.push_back(ProduceRecord{kTopicDeadLetters, {}, d, now});
  }

  if (!records.empty()) {
    Status st = log_->Append(records);
    if (!st.ok()) {
      dedup_.Release(ticket, claimed);
      unavailable_->Inc(batch.total);
      return Unavailable(st);
    }
  }
  dedup_.Commit(ticket);

  const size_t duplicates = keys.size() - claimed.size();
  accepted_->Inc(claimed.size());
  duplicates_->Inc(duplicates);
  rejected_->Inc(batch.rejected.size());
  for (const RejectedEvent& r : batch.rejected) CountRejection(r.error);
  return Accepted(batch, claimed.size(), duplicates);
}

IngestResponse Collector::Accepted(const ParsedBatch& batch, size_t accepted, size_t duplicates) {
  IngestResponse resp;
  resp.body.reserve(64 + batch.rejected.size() * 96);
  resp.body += "{\"accepted\":";
  AppendJsonInt(&resp.body, static_cast<int64_t>(accepted));
  resp.body += ",\"duplicates\":";
  AppendJsonInt(&resp.body, static_cast<int64_t>(duplicates));
  resp.body += ",\"rejected\":";
  AppendJsonInt(&resp.body, static_cast<int64_t>(batch.rejected.size()));
  resp.body += ",\"errors\":[";
  for (size_t i = 0; i < batch.rejected.size(); ++i) {
    const RejectedEvent& r = batch.rejected[i];
    if (i > 0) resp.body += ',';
    resp.body += "{\"index\":";
    AppendJsonInt(&resp.body, r.index);
    resp.body += ",\"event_id\":";
    AppendJsonString(&resp.body, r.event_id);
    resp.body += ",\"error\":";
    AppendJsonString(&resp.body, r.error);
    resp.body += '}';
  }
  resp.body += "]}";
  return resp;
}

}  // namespace viewpipe
