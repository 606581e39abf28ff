// viewpipe experiments list | report <id> | users <id>  (src/experiments)
// Reads a data dir directly (no server may run on it: the hot tier's file
// is locked by a server) or asks a running server with --url (JSON/CSV as
// the server answers it).

#include <CLI/CLI.hpp>
#include <httplib.h>

#include <cstdio>

#include "experiments/experiment_routes.h"
#include "experiments/experiment_service.h"
#include "tools/commands.h"
#include "tools/scale_config.h"
#include "warehouse/history_module.h"

namespace viewpipe::tools {
namespace {

using experiments::ExperimentService;
using experiments::ReportRequest;

struct ExperimentsCli {
  std::string data_dir = "data";
  std::string url;
  bool json = false;
  int hot_days = 7;
  std::string exp_id, tier = "hot", control, split;
  int64_t from_ms = -1, to_ms = -1;
};

std::string Query(const ExperimentsCli& c) {
  std::string q;
  auto add = [&q](const char* k, const std::string& v) {
    q += (q.empty() ? "?" : "&") + std::string(k) + "=" + httplib::detail::encode_query_param(v);
  };
  if (c.from_ms >= 0) add("from", std::to_string(c.from_ms));
  if (c.to_ms >= 0) add("to", std::to_string(c.to_ms));
  if (c.tier != "hot") add("tier", c.tier);
  if (!c.control.empty()) add("control", c.control);
  if (!c.split.empty()) add("split", c.split);
  return q;
}

int AskServer(const ExperimentsCli& c, const std::string& what) {
  httplib::Client client(c.url);
  client.set_read_timeout(600, 0);
  std::string path = "/v1/experiments";
  if (what != "list") path += "/" + httplib::detail::encode_query_param(c.exp_id) + "/" + what + Query(c);
  auto res = client.Get(path);
  if (!res) return Fail(Status::Unavailable("cannot reach " + c.url));
  std::printf("%s\n", res->body.c_str());
  return res->status == 200 ? 0 : (res->status == 400 ? 2 : 1);
}

Result<ReportRequest> MakeRequest(const ExperimentsCli& c) {
  ReportRequest r;
  r.exp_id = c.exp_id;
  if (c.from_ms >= 0) r.from_ms = c.from_ms;
  if (c.to_ms >= 0) r.to_ms = c.to_ms;
  if (c.tier != "hot" && c.tier != "cold") return Status::InvalidArgument("--tier: hot or cold");
  r.tier = c.tier == "cold" ? experiments::ReportTier::kCold : experiments::ReportTier::kHot;
  r.options.control = c.control;
  if (!c.split.empty()) {
    auto s = experiments::ParseSplit(c.split);
    if (!s.ok()) return s.status();
    r.options.split = *s;
  }
  return r;
}

int Run(const ExperimentsCli& c, const std::string& what) {
  if (!c.url.empty()) return AskServer(c, what);
  HistoryOptions o;
  o.hot_days = c.hot_days;
  o.lake_store = HistoryServeOptions().lake_store;  // --config's lake, if any
  o.lake_read_dir = HistoryServeOptions().lake_read_dir;
  if (!Env::Default()->FileExists(HotDbPath(c.data_dir))) {
    return Fail(Status::NotFound("no hot tier at " + HotDbPath(c.data_dir)));
  }
  auto hot = HotTier::Open(MakeHotTierOptions(o, c.data_dir, Clock::System(), true));
  if (!hot.ok()) {
    return Fail(Status::Unavailable(hot.status().ToString() +
                                    " (a running server holds it: use --url http://HOST:PORT)"));
  }
  auto store = OpenLakeStore(o, c.data_dir);
  if (!store.ok()) return Fail(store.status());
  LakeReader lake(store->get());
  ExperimentService service(hot->get(), &lake, Clock::System());
  Result<std::string> out = std::string();
  if (what == "list") {
    out = service.ListJson();
  } else {
    auto req = MakeRequest(c);
    if (!req.ok()) return Fail(req.status());
    if (what == "users") {
      out = service.UsersCsv(*req);
    } else {
      auto report = service.Report(*req);
      if (!report.ok()) return Fail(report.status());
      out = c.json ? report->ToJson() + "\n" : report->ToText();
    }
  }
  if (!out.ok()) return Fail(out.status());
  std::fputs(out->c_str(), stdout);
  if (what == "list") std::fputs("\n", stdout);
  return 0;
}

}  // namespace

void AddExperimentsCommands(CLI::App& app, std::function<int()>* run) {
  auto c = std::make_shared<ExperimentsCli>();
  CLI::App* cmd = app.add_subcommand("experiments", "A/B experiment reports from the hot tier");
  cmd->require_subcommand(1);
  auto common = [c](CLI::App* sub) {
    sub->add_option("--data-dir", c->data_dir, "Data directory")->capture_default_str();
    AddLakeConfigFlag(sub, &c->data_dir);
    sub->add_option("--url", c->url, "Ask this running server instead (http://HOST:PORT)");
    sub->add_option("--hot-days", c->hot_days, "Days the hot tier holds")->capture_default_str();
  };
  CLI::App* list = cmd->add_subcommand("list", "Experiments seen in the hot tier (JSON)");
  common(list);
  list->callback([c, run] { *run = [c] { return Run(*c, "list"); }; });
  for (const char* name : {"report", "users"}) {
    const std::string what = name;
    CLI::App* sub = cmd->add_subcommand(
        name, what == "report" ? "The report of one experiment (text; --json)"
                               : "The per-user table of a report (CSV)");
    sub->add_option("id", c->exp_id, "Experiment id")->required();
    sub->add_option("--from", c->from_ms, "Start, ms since the epoch (default: hot window start)");
    sub->add_option("--to", c->to_ms, "End, ms since the epoch (default: now)");
    sub->add_option("--tier", c->tier, "hot, or cold to read the lake")->capture_default_str();
    sub->add_option("--control", c->control, "Control variant (default: control, or the first)");
    sub->add_option("--split", c->split, "Expected split for the SRM check, e.g. 50,50 "
                                         "(default: equal)");
    sub->add_flag("--json", c->json, "Print JSON");
    common(sub);
    sub->callback([c, run, what] { *run = [c, what] { return Run(*c, what); }; });
  }
}

}  // namespace viewpipe::tools
