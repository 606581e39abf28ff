#include "log/segment.h"

#include <algorithm>
#include <cstdio>
#include <vector>

#include "log/record_batch.h"

namespace viewpipe {
namespace {

constexpr size_t kScanChunk = 1 << 20;

// Sequential reader over a file that keeps at least one whole batch in
// memory.
class ChunkReader {
 public:
  ChunkReader(RandomAccessFile* file, uint64_t file_size) : file_(file), size_(file_size) {}
  // The bytes from pos on (at least min_bytes of them when the file has
  // them), reading ahead in chunks.
  Result<std::string_view> At(uint64_t pos, uint64_t min_bytes) {
    uint64_t want = std::min<uint64_t>(min_bytes, size_ - pos);
    if (pos < start_ || pos + want > start_ + buf_.size()) {
      uint64_t n = std::min<uint64_t>(std::max<uint64_t>(kScanChunk, want), size_ - pos);
      VP_RETURN_IF_ERROR(file_->Read(pos, n, &buf_));
      start_ = pos;
    }
    return std::string_view(buf_).substr(pos - start_);
  }

 private:
  RandomAccessFile* file_;
  uint64_t size_;
  uint64_t start_ = 0;
  std::string buf_;
};

}  // namespace

Segment::Segment(const std::string& dir, Offset base)
    : base_(base),
      log_path_(JoinPath(dir, FileName(base, ".log"))),
      index_path_(JoinPath(dir, FileName(base, ".index"))) {
  end_offset = base;
}

std::string Segment::FileName(Offset base, std::string_view ext) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%020lld", static_cast<long long>(base));
  return std::string(buf) + std::string(ext);
}

bool Segment::ParseLogFileName(std::string_view name, Offset* base) {
  if (name.size() != 24 || name.substr(20) != ".log") return false;
  Offset v = 0;
  for (char c : name.substr(0, 20)) {
    if (c < '0' || c > '9') return false;
    if (v > (INT64_MAX - 9) / 10) return false;
    v = v * 10 + (c - '0');
  }
  *base = v;
  return true;
}

namespace {

// Checks the batch at pos completely: header, crc, offset continuity and
// record structure. IO errors go to *io.
BatchCheck CheckBatchAt(ChunkReader* reader, uint64_t pos, Offset expected, BatchHeader* h,
                        std::string* why, Status* io) {
  auto head = reader->At(pos, kBatchHeaderSize);
  if (!head.ok()) {
    *io = head.status();
    return BatchCheck::kCorrupt;
  }
  BatchCheck c = ParseBatchHeader(*head, h, why);
  if (c != BatchCheck::kOk) return c;
  auto whole = reader->At(pos, h->TotalSize());
  if (!whole.ok()) {
    *io = whole.status();
    return BatchCheck::kCorrupt;
  }
  c = CheckBatch(*whole, h, why);
  if (c != BatchCheck::kOk) return c;
  if (h->base_offset != expected) {
    *why =
        "base offset " + std::to_string(h->base_offset) + ", expected " + std::to_string(expected);
    return BatchCheck::kCorrupt;
  }
  std::vector<ConsumedRecord> none;
  auto decoded = DecodeBatch(*whole, *h, INT64_MAX, 0, &none);
  if (!decoded.ok()) {
    *why = decoded.status().message();
    return BatchCheck::kCorrupt;
  }
  return BatchCheck::kOk;
}

// Whether the bad batch at pos still has a believable length and a valid
// batch starts right after it (a payload bit flip rather than a torn tail).
bool ValidBatchFollows(ChunkReader* reader, uint64_t pos, uint64_t file_size) {
  auto head = reader->At(pos, kBatchHeaderSize);
  BatchHeader h;
  std::string why;
  if (!head.ok() || ParseBatchHeader(*head, &h, &why) != BatchCheck::kOk) return false;
  uint64_t next = pos + h.TotalSize();
  if (next + kBatchHeaderSize > file_size) return false;
  auto next_head = reader->At(next, kBatchHeaderSize);
  if (!next_head.ok() || ParseBatchHeader(*next_head, &h, &why) != BatchCheck::kOk) return false;
  auto whole = reader->At(next, h.TotalSize());
  return whole.ok() && CheckBatch(*whole, &h, &why) == BatchCheck::kOk;
}

}  // namespace

Result<Segment::ScanResult> Segment::Scan(Env* env, const std::string& path, Offset base,
                                          uint64_t index_interval) {
  ScanResult r;
  auto size = env->FileSize(path);
  if (!size.ok()) return size.status();
  auto file = env->NewRandomAccessFile(path);
  if (!file.ok()) return file.status();
  r.file_size = *size;
  r.end_offset = base;
  ChunkReader reader(file->get(), r.file_size);
  uint64_t pos = 0;
  uint64_t next_index_pos = index_interval;
  while (pos < r.file_size) {
    BatchHeader h;
    std::string why;
    Status io;
    BatchCheck c = CheckBatchAt(&reader, pos, r.end_offset, &h, &why, &io);
    if (!io.ok()) return io;
    if (c != BatchCheck::kOk) {
      r.problem = std::string(c == BatchCheck::kTruncated ? "torn" : "corrupt") +
                  " batch at position " + std::to_string(pos) + ": " + why;
      r.valid_after_problem = ValidBatchFollows(&reader, pos, r.file_size);
      break;
    }
    if (pos >= next_index_pos) {
      r.index.Add(static_cast<uint32_t>(h.base_offset - base), static_cast<uint32_t>(pos));
      next_index_pos = pos + index_interval;
    }
    r.end_offset = h.NextOffset();
    r.max_ts = std::max(r.max_ts, h.max_ts);
    r.records += h.count;
    pos += h.TotalSize();
  }
  r.valid_size = pos;
  return r;
}

}  // namespace viewpipe
