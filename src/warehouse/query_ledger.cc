#include "warehouse/query_ledger.h"

#include <simdjson.h>

#include "common/json_writer.h"

namespace viewpipe {
namespace {

void Add(LedgerTotals* t, std::string_view tier, uint64_t cold, uint64_t hot, double cost) {
  ++t->queries;
  if (tier != "hot") ++t->cold_queries;
  t->bytes_cold += cold;
  t->bytes_hot += hot;
  t->cost_usd += cost;
}

}  // namespace

Status QueryLedger::Record(const LedgerEntry& e) {
  std::lock_guard<std::mutex> lock(mu_);
  if (path_.empty()) {
    Add(&memory_, e.tier, e.bytes_cold, e.bytes_hot, e.cost_usd);
    return Status::OK();
  }
  if (!file_) {
    VP_RETURN_IF_ERROR(env_->CreateDirs(DirName(path_)));
    auto f = env_->NewAppendableFile(path_);
    if (!f.ok()) return f.status();
    file_ = std::move(f).value();
  }
  std::string line = "{\"at\":";
  AppendJsonInt(&line, e.at_ms);
  line += ",\"tier\":";
  AppendJsonString(&line, e.tier);
  line += ",\"bytes_scanned\":";
  AppendJsonInt(&line, static_cast<int64_t>(e.bytes_cold + e.bytes_hot));
  line += ",\"bytes_cold\":";
  AppendJsonInt(&line, static_cast<int64_t>(e.bytes_cold));
  line += ",\"bytes_hot\":";
  AppendJsonInt(&line, static_cast<int64_t>(e.bytes_hot));
  line += ",\"cost_usd\":";
  AppendJsonDouble(&line, e.cost_usd);
  line += ",\"elapsed_ms\":";
  AppendJsonInt(&line, e.elapsed_ms);
  line += "}\n";
  return file_->Append(line);
}

Result<LedgerTotals> QueryLedger::Totals() {
  std::lock_guard<std::mutex> lock(mu_);
  if (path_.empty()) return memory_;
  LedgerTotals t;
  std::string text;
  Status st = env_->ReadFileToString(path_, &text);
  if (!st.ok()) return st.IsNotFound() ? Result<LedgerTotals>(t) : Result<LedgerTotals>(st);
  simdjson::dom::parser parser;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) break;  // a torn last line
    simdjson::dom::element doc;
    simdjson::padded_string line(std::string_view(text).substr(pos, end - pos));
    pos = end + 1;
    if (parser.parse(line).get(doc)) continue;
    std::string_view tier;
    int64_t cold = 0, hot = 0;
    double cost = 0;
    if (doc["tier"].get_string().get(tier) || doc["bytes_cold"].get_int64().get(cold) ||
        doc["bytes_hot"].get_int64().get(hot) || doc["cost_usd"].get_double().get(cost)) {
      continue;
    }
    Add(&t, tier, static_cast<uint64_t>(cold), static_cast<uint64_t>(hot), cost);
  }
  return t;
}

}  // namespace viewpipe
