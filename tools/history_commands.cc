// History subcommands (src/lake, src/warehouse):
//   viewpipe query "SQL"   run read-only SQL over `events` (hot tier / lake)
//   viewpipe cost          storage and scan costs
//   viewpipe backfill      write generated history into the lake
//   viewpipe lake          the lake's state (days, seals, late data)
// and the history flags of `serve` and `demo` (HistoryServeOptions()).
// query/cost/lake read a data dir directly (no server may run on it: the
// hot tier's file is locked by a server) or ask a server with --url.

#include <CLI/CLI.hpp>
#include <httplib.h>
#include <simdjson.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <ctime>

#include "common/json_writer.h"
#include "lake/backfill.h"
#include "tools/commands.h"
#include "tools/scale_config.h"
#include "warehouse/history_module.h"
#include "warehouse/history_routes.h"

namespace viewpipe::tools {
namespace {

struct HistoryCli {
  std::string data_dir = "data";
  std::string url;
  std::string sql;
  std::string tier = "auto";
  bool json = false;
  size_t recent_days = 14;
  HistoryOptions options;
  // backfill
  int days = 400;
  int64_t events_per_day = 50000;
  uint64_t seed = 1;
  std::string end_date;
  bool no_hot = false;
};

void AddPricingFlags(CLI::App* cmd, HistoryOptions* o) {
  cmd->add_option("--scan-usd-per-tb", o->router.usd_per_tb, "Serverless scan price (USD per TB)")
      ->capture_default_str();
  cmd->add_option("--scan-min-bytes", o->router.min_billed_bytes,
                  "Bytes billed at least per query that reads the lake (Athena: 10 MB)")
      ->capture_default_str();
  cmd->add_option("--storage-usd-per-gb-month", o->cost.storage_usd_per_gb_month,
                  "Object storage price")
      ->capture_default_str();
  cmd->add_option("--hot-usd-per-gb-month", o->cost.hot_usd_per_gb_month, "Hot tier price")
      ->capture_default_str();
  cmd->add_option("--hot-days", o->hot_days, "Days the hot tier holds (today included)")
      ->capture_default_str();
}

void AddServeFlags(CLI::App* cmd, HistoryOptions* o) {
  cmd->add_option("--lake-roll-ms", o->lake_roll_ms,
                  "Commit buffered lake rows at least this often (file roll interval)")
      ->capture_default_str();
  cmd->add_option("--lake-max-buffer-rows", o->lake_max_buffer_rows,
                  "Commit earlier once this many rows are buffered (file size)")
      ->capture_default_str();
  cmd->add_option("--lake-hour-close-ms", o->lake_hour_close_ms,
                  "An hour is compacted once the watermark passes its end + this")
      ->capture_default_str();
  cmd->add_option("--lake-seal-grace-ms", o->lake_seal_grace_ms,
                  "A day is sealed (T+1) once the watermark passes its end + this")
      ->capture_default_str();
  cmd->add_option("--lake-min-files-to-compact", o->lake_min_files_to_compact,
                  "Compact a closed hour with at least this many files")
      ->capture_default_str();
  cmd->add_option("--lake-target-file-bytes", o->lake_target_file_bytes,
                  "Size of the files compaction writes")
      ->capture_default_str();
  cmd->add_option("--lake-row-group-rows", o->lake_row_group_rows,
                  "Rows per row group in compacted files")
      ->capture_default_str();
  cmd->add_option("--lake-zstd-level", o->lake_zstd_level, "ZSTD level of the lake's Parquet")
      ->capture_default_str();
  cmd->add_option("--hot-memory-limit", o->hot_memory_limit, "DuckDB memory limit of the hot tier")
      ->capture_default_str();
  cmd->add_option("--query-max-rows", o->router.max_rows, "Rows a query returns at most")
      ->capture_default_str();
  cmd->add_option("--query-timeout-ms", o->router.timeout_ms, "Query timeout")
      ->capture_default_str();
  AddPricingFlags(cmd, o);
}

// GET or POST against a running server; the body, or an error.
Result<std::string> Http(const std::string& url, const std::string& path, const std::string* body) {
  httplib::Client client(url);
  client.set_read_timeout(600, 0);
  auto res = body ? client.Post(path, *body, "application/json") : client.Get(path);
  if (!res) return Status::Unavailable("cannot reach " + url + ": " + httplib::to_string(res.error()));
  if (res->status != 200) {
    return Status::InvalidArgument("HTTP " + std::to_string(res->status) + ": " + res->body);
  }
  return res->body;
}

void PrintTable(const std::string& json) {
  simdjson::dom::parser parser;
  simdjson::padded_string padded(json);
  simdjson::dom::element doc;
  simdjson::dom::array columns, rows;
  if (parser.parse(padded).get(doc) || doc["columns"].get_array().get(columns) ||
      doc["rows"].get_array().get(rows)) {
    std::printf("%s\n", json.c_str());
    return;
  }
  auto cell = [](simdjson::dom::element e) {
    std::string_view s;
    if (e.get_string().get(s) == simdjson::SUCCESS) return std::string(s);
    return simdjson::to_string(e);
  };
  std::string line;
  for (simdjson::dom::element c : columns) line += (line.empty() ? "" : "\t") + cell(c);
  std::printf("%s\n", line.c_str());
  for (simdjson::dom::element row : rows) {
    line.clear();
    bool first = true;
    simdjson::dom::array cells;
    if (row.get_array().get(cells)) continue;
    for (simdjson::dom::element c : cells) {
      line += (first ? "" : "\t") + cell(c);
      first = false;
    }
    std::printf("%s\n", line.c_str());
  }
  std::string_view tier;
  int64_t bytes = 0, elapsed = 0, files = 0;
  double cost = 0;
  bool truncated = false;
  bool bad = doc["tier"].get_string().get(tier) || doc["bytes_scanned"].get_int64().get(bytes) ||
             doc["cost_usd"].get_double().get(cost) || doc["elapsed_ms"].get_int64().get(elapsed) ||
             doc["files_scanned"].get_int64().get(files) || doc["truncated"].get_bool().get(truncated);
  if (bad) return;
  std::fprintf(stderr, "-- tier=%s bytes_scanned=%lld cost_usd=%.8f elapsed_ms=%lld files=%lld%s\n",
               std::string(tier).c_str(), static_cast<long long>(bytes), cost,
               static_cast<long long>(elapsed), static_cast<long long>(files),
               truncated ? " (truncated)" : "");
}

// The command's history options with the lake --config selected (if any).
HistoryOptions WithConfiguredLake(HistoryOptions o) {
  o.lake_store = HistoryServeOptions().lake_store;
  o.lake_read_dir = HistoryServeOptions().lake_read_dir;
  return o;
}

// The pieces `query` and `cost` need from a data dir, opened read-only.
struct LocalHistory {
  std::shared_ptr<ObjectStore> store;
  std::unique_ptr<LakeReader> reader;
  std::unique_ptr<HotTier> hot;
  std::unique_ptr<QueryLedger> ledger;
  Status hot_status;
  Status lake_status;  // not OK: no lake (store and reader are null)

  explicit LocalHistory(const HistoryCli& c) {
    const HistoryOptions o = WithConfiguredLake(c.options);
    auto s = OpenLakeStore(o, c.data_dir);
    if (!s.ok()) {
      lake_status = s.status();
      return;
    }
    store = std::move(s).value();
    reader = std::make_unique<LakeReader>(store.get());
    ledger = std::make_unique<QueryLedger>(Env::Default(), LedgerPath(c.data_dir));
    if (!Env::Default()->FileExists(HotDbPath(c.data_dir))) {
      hot_status = Status::NotFound("no hot tier at " + HotDbPath(c.data_dir));
      return;
    }
    auto h = HotTier::Open(MakeHotTierOptions(o, c.data_dir, Clock::System(), true));
    if (h.ok()) hot = std::move(h).value();
    else hot_status = h.status();
  }
};

int RunQuery(const HistoryCli& c) {
  QueryRequest req{c.sql, c.tier == "hot" ? TierChoice::kHot
                          : c.tier == "cold" ? TierChoice::kCold : TierChoice::kAuto};
  std::string json;
  if (!c.url.empty()) {
    std::string body = "{\"sql\":";
    AppendJsonString(&body, c.sql);
    body += ",\"tier\":";
    AppendJsonString(&body, c.tier);
    body += "}";
    auto res = Http(c.url, "/v1/query", &body);
    if (!res.ok()) return Fail(res.status());
    json = *res;
  } else {
    LocalHistory h(c);
    if (!h.lake_status.ok()) return Fail(h.lake_status);
    if (!h.hot) {
      return Fail(Status::Unavailable(
          h.hot_status.ToString() + " (a running server holds it: use --url http://HOST:PORT)"));
    }
    QueryRouter router(h.hot.get(), h.reader.get(), Clock::System(), c.options.router,
                       h.ledger.get());
    auto answer = router.Run(req);
    if (!answer.ok()) return Fail(answer.status());
    json = answer->ToJson();
  }
  if (c.json) {
    std::printf("%s\n", json.c_str());
  } else {
    PrintTable(json);
  }
  return 0;
}

int RunCost(const HistoryCli& c) {
  if (!c.url.empty()) {
    auto res = Http(c.url, "/v1/cost", nullptr);
    if (!res.ok()) return Fail(res.status());
    std::printf("%s\n", res->c_str());
    return 0;
  }
  LocalHistory h(c);
  if (!h.lake_status.ok()) return Fail(h.lake_status);
  if (!h.hot) spdlog::warn("hot tier not read: {}", h.hot_status.ToString());
  CostOptions o = c.options.cost;
  o.scan_usd_per_tb = c.options.router.usd_per_tb;
  o.min_billed_bytes = c.options.router.min_billed_bytes;
  auto report = BuildCostReport(h.reader.get(), h.hot.get(), h.ledger.get(), o,
                                Clock::System()->NowMs());
  if (!report.ok()) return Fail(report.status());
  std::printf("%s", c.json ? (report->ToJson() + "\n").c_str() : report->ToText().c_str());
  return 0;
}

int RunLake(const HistoryCli& c) {
  Result<std::string> json = std::string();
  if (!c.url.empty()) {
    json = Http(c.url, "/v1/lake?days=" + std::to_string(c.recent_days), nullptr);
  } else {
    auto store = OpenLakeStore(HistoryServeOptions(), c.data_dir);
    if (!store.ok()) return Fail(store.status());
    LakeReader reader(store->get());
    json = LakeStatusJson(&reader, c.recent_days);
  }
  if (!json.ok()) return Fail(json.status());
  std::printf("%s\n", json->c_str());
  return 0;
}

void DrawProgress(const BackfillProgress& p) {
  const int width = 30;
  int filled = p.total_days > 0 ? width * p.done_days / p.total_days : width;
  double rate = p.elapsed_s > 0 ? static_cast<double>(p.events) / p.elapsed_s : 0;
  int written = p.done_days - p.skipped_days;
  double eta = written > 0 ? p.elapsed_s / written * (p.total_days - p.done_days) : 0;
  std::fprintf(stderr, "\r[%s%s] %d/%d days  %s  %.2fM events  %.0fk ev/s  %.1f MB  ETA %ds   ",
               std::string(filled, '#').c_str(), std::string(width - filled, '.').c_str(),
               p.done_days, p.total_days, p.date.ToString().c_str(), p.events / 1e6, rate / 1e3,
               p.bytes / 1e6, static_cast<int>(eta));
  std::fflush(stderr);
}

int RunBackfillCommand(const HistoryCli& c) {
  EventDate end = EventDate::OfMs(Clock::System()->NowMs());
  if (!c.end_date.empty()) {
    auto d = EventDate::Parse(c.end_date);
    if (!d) return Fail(Status::InvalidArgument("--end-date: expected YYYY-MM-DD"));
    end = *d;
  }
  const HistoryOptions o = WithConfiguredLake(c.options);
  auto store = OpenLakeStore(o, c.data_dir);
  if (!store.ok()) return Fail(store.status());
  auto writer = LakeWriter::Open(
      MakeLakeWriterOptions(o, c.data_dir, store->get(), Clock::System(), nullptr));
  if (!writer.ok()) return Fail(writer.status());
  BackfillOptions b;
  b.days = c.days;
  b.events_per_day = c.events_per_day;
  b.seed = c.seed;
  b.end_day = end;
  std::unique_ptr<HotTier> hot;
  if (!c.no_hot) {
    auto h = HotTier::Open(MakeHotTierOptions(o, c.data_dir, Clock::System(), false));
    if (!h.ok()) return Fail(h.status());
    hot = std::move(h).value();
    b.also_load_from = hot->WindowStart();
    b.also_load = [&hot](EventDate, const std::vector<EventView>& events) {
      return hot->Append(events, {});
    };
  }
  b.progress = DrawProgress;
  std::fprintf(stderr, "backfill: %d days before %s, ~%lld events/day, seed %llu, into %s\n",
               c.days, end.ToString().c_str(), static_cast<long long>(c.events_per_day),
               static_cast<unsigned long long>(c.seed), (*store)->RootUri().c_str());
  auto done = RunBackfill(writer->get(), b);
  std::fprintf(stderr, "\n");
  if (!done.ok()) return Fail(done.status());
  const BackfillProgress& p = *done;
  std::printf("{\"days\":%d,\"skipped_days\":%d,\"events\":%lld,\"bytes\":%llu,"
              "\"bytes_per_event\":%.2f,\"seconds\":%.2f,\"events_per_second\":%.0f}\n",
              p.done_days, p.skipped_days, static_cast<long long>(p.events),
              static_cast<unsigned long long>(p.bytes),
              p.events > 0 ? static_cast<double>(p.bytes) / p.events : 0.0, p.elapsed_s,
              p.elapsed_s > 0 ? p.events / p.elapsed_s : 0.0);
  return 0;
}

}  // namespace

void AddHistoryCommands(CLI::App& app, std::function<int()>* run) {
  // serve and demo get the history flags (they must be registered before).
  for (CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) {
    if (sub->get_name() == "serve" || sub->get_name() == "demo") {
      AddServeFlags(sub, &HistoryServeOptions());
    }
  }
  auto c = std::make_shared<HistoryCli>();
  auto common = [c](CLI::App* cmd) {
    cmd->add_option("--data-dir", c->data_dir, "Data directory")->capture_default_str();
    AddLakeConfigFlag(cmd, &c->data_dir);
    cmd->add_option("--url", c->url, "Ask this running server instead (http://HOST:PORT)");
    cmd->add_flag("--json", c->json, "Print JSON");
    AddPricingFlags(cmd, &c->options);
  };
  CLI::App* query = app.add_subcommand("query", "Run read-only SQL over the table `events`");
  query->add_option("sql", c->sql, "SELECT ... FROM events ...")->required();
  query->add_option("--tier", c->tier, "auto, hot or cold")->capture_default_str();
  common(query);
  query->callback([c, run] { *run = [c] { return RunQuery(*c); }; });

  CLI::App* cost = app.add_subcommand("cost", "Storage and query costs of the history");
  common(cost);
  cost->callback([c, run] { *run = [c] { return RunCost(*c); }; });

  CLI::App* lake = app.add_subcommand("lake", "The lake's state: days, seals, late data");
  lake->add_option("--data-dir", c->data_dir, "Data directory")->capture_default_str();
  AddLakeConfigFlag(lake, &c->data_dir);
  lake->add_option("--url", c->url, "Ask this running server instead");
  lake->add_option("--days", c->recent_days, "Newest days to list")->capture_default_str();
  lake->callback([c, run] { *run = [c] { return RunLake(*c); }; });

  CLI::App* backfill = app.add_subcommand("backfill", "Write generated history into the lake");
  backfill->add_option("--data-dir", c->data_dir, "Data directory")->capture_default_str();
  AddLakeConfigFlag(backfill, &c->data_dir);
  backfill->add_option("--days", c->days, "Days of history")->capture_default_str();
  backfill->add_option("--events-per-day", c->events_per_day, "Average events per day")
      ->capture_default_str();
  backfill->add_option("--seed", c->seed, "Generator seed (a rerun resumes)")->capture_default_str();
  backfill->add_option("--end-date", c->end_date, "First day not written (default: today, UTC)");
  backfill->add_option("--hot-days", c->options.hot_days, "Days of the hot tier to load too")
      ->capture_default_str();
  backfill->add_flag("--no-hot", c->no_hot, "Do not load the hot tier's days into it");
  backfill->add_option("--zstd-level", c->options.lake_zstd_level, "ZSTD level")
      ->capture_default_str();
  backfill->callback([c, run] { *run = [c] { return RunBackfillCommand(*c); }; });
}

}  // namespace viewpipe::tools
