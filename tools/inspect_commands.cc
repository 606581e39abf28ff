// viewpipe dump / deadletters: read a data directory's log, also while a
// server is writing it (read-only open: no lock, nothing changed on disk).

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <cstdio>

#include "common/json_writer.h"
#include "event/codec.h"
#include "log/file_log.h"
#include "tools/commands.h"

namespace viewpipe::tools {
namespace {

struct DumpOptions {
  std::string data_dir = "data";
  std::string topic = std::string(kTopicViewing);
  int partition = -1;  // -1: all
  Offset from = 0;
  bool flat = false;  // dead letters as {"offset":o, <stored fields>} (like the API)
};

Result<std::unique_ptr<FileLog>> OpenReadOnly(const std::string& data_dir) {
  FileLogOptions o;
  o.dir = JoinPath(data_dir, "log");
  o.read_only = true;
  return FileLog::Open(o);
}

// Writes one NDJSON line per record: {"partition","offset","timestamp","value"}.
// Event topics show the decoded event, dead letters their stored JSON.
Status DumpPartition(const FileLog& log, const DumpOptions& o, PartitionId p, bool raw_json) {
  auto reader = log.NewReader(o.topic, p, o.from);
  if (!reader.ok()) return reader.status();
  std::vector<ConsumedRecord> records;
  std::string line;
  for (;;) {
    records.clear();
    auto n = (*reader)->Read(4096, &records);
    if (!n.ok()) return n.status();
    if (*n == 0) return Status::OK();
    for (const ConsumedRecord& r : records) {
      line.clear();
      if (o.flat) {
        line += "{\"offset\":";
        AppendJsonInt(&line, r.offset);
        line += ',';
        line.append(r.value.substr(1));
        line += '\n';
        std::fwrite(line.data(), 1, line.size(), stdout);
        continue;
      }
      line += "{\"partition\":";
      AppendJsonInt(&line, p);
      line += ",\"offset\":";
      AppendJsonInt(&line, r.offset);
      line += ",\"timestamp\":";
      AppendJsonInt(&line, r.timestamp_ms);
      line += ",\"value\":";
      if (raw_json) {
        line.append(r.value);
      } else {
        EventView e;
        DecodedIds ids;
        VP_RETURN_IF_ERROR(DecodeEvent(r.value, &e, &ids));
        AppendEventJson(e, &line);
      }
      line += "}\n";
      std::fwrite(line.data(), 1, line.size(), stdout);
    }
  }
}

int RunDump(const DumpOptions& o) {
  auto log = OpenReadOnly(o.data_dir);
  if (!log.ok()) {
    spdlog::error("cannot open the log: {}", log.status().ToString());
    return 1;
  }
  int partitions = (*log)->Partitions(o.topic);
  if (partitions == 0) {
    spdlog::error("no topic '{}' in {}", o.topic, o.data_dir);
    return 1;
  }
  const bool raw_json = o.topic == kTopicDeadLetters;
  for (PartitionId p = 0; p < partitions; ++p) {
    if (o.partition >= 0 && p != o.partition) continue;
    Status st = DumpPartition(**log, o, p, raw_json);
    if (!st.ok()) {
      spdlog::error("partition {}: {}", p, st.ToString());
      return 1;
    }
  }
  return 0;
}

}  // namespace

void AddInspectCommands(CLI::App& app, std::function<int()>* run) {
  auto dump = std::make_shared<DumpOptions>();
  CLI::App* cmd = app.add_subcommand("dump", "Print a topic's records as NDJSON");
  cmd->add_option("--data-dir", dump->data_dir, "Data directory")->capture_default_str();
  cmd->add_option("--topic", dump->topic, "viewing, qoe or deadletters")->capture_default_str();
  cmd->add_option("--partition", dump->partition, "Only this partition");
  cmd->add_option("--from", dump->from, "First offset");
  cmd->callback([dump, run] { *run = [dump] { return RunDump(*dump); }; });

  auto dl = std::make_shared<DumpOptions>();
  dl->topic = std::string(kTopicDeadLetters);
  dl->flat = true;
  CLI::App* dlc = app.add_subcommand(
      "deadletters", "Print the rejected events with their reason and raw text, as NDJSON");
  dlc->add_option("--data-dir", dl->data_dir, "Data directory")->capture_default_str();
  dlc->add_option("--from", dl->from, "First offset");
  dlc->callback([dl, run] { *run = [dl] { return RunDump(*dl); }; });
}

}  // namespace viewpipe::tools
