#pragma once
// AlertBook: every alert raised, open or resolved, and the file that keeps
// them across restarts (data_dir/sre/alerts, ops/checkpoint_file.h framing,
// one section per alert).
//
// The SRE state is restored from its checkpoint and the `qoe` records after
// it replayed (docs/sre.md), which re-detects the alerts raised after the
// checkpoint with the same ids; Raise() then keeps the
// detected_at (and delivery state) of the alert already in the book, so a
// restart neither forgets an alert nor re-announces it. Every change is
// written through (write to a temporary, fsync, rename) before Raise/Resolve
// return.
//
// Thread safety: all methods take the book's mutex.

#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/env.h"
#include "common/status.h"
#include "sre/alert.h"

namespace viewpipe::sre {

class AlertBook {
 public:
  // Called (under no lock of the book) for every new alert and resolution.
  using Listener = std::function<void(const Alert&)>;
  // path empty: nothing is persisted (tests).
  AlertBook(Env* env, std::string path);

  // Loads the file if there is one; Corruption for a damaged one.
  Status Load();
  void SetListener(Listener l) { listener_ = std::move(l); }

  // Adds a (new) alert; an alert with this id already known (a replay) keeps
  // its detected_at and state. True when it was new.
  bool Raise(const Alert& a);
  // The id of an alert already in the book for the same kind, dimension,
  // key and metric that a replay re-detected with a slightly different
  // started_at (detection reads partial data, and a replay sees them in
  // other batches): open and started before a.started_at + tolerance_ms,
  // or resolved with a.started_at in [started_at - tolerance_ms,
  // resolved_at]. The detector then adopts it instead of raising a second.
  std::optional<std::string> Recorded(const Alert& a, int64_t tolerance_ms) const;
  // Updates the worst value of an open alert (not persisted each time).
  void Update(const std::string& id, double value);
  // Resolves an open alert at resolved_at (event time).
  void Resolve(const std::string& id, int64_t resolved_at);

  // Alerts, newest started first: open only, or all started at or after since.
  std::vector<Alert> List(bool open_only, int64_t since) const;
  std::optional<Alert> Get(const std::string& id) const;
  size_t open_count() const;
  const Status& last_write_error() const { return write_error_; }

 private:
  Status SaveLocked();

  Env* env_;
  std::string path_;
  mutable std::mutex mu_;
  std::vector<Alert> alerts_;
  std::unordered_map<std::string, size_t> by_id_;
  Listener listener_;
  Status write_error_;
};

}  // namespace viewpipe::sre
