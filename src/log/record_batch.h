#pragma once
// Record batch: the framed unit of the file log.
//
// On-disk format (version 1). A segment file "<base offset, 20 digits>.log"
// is a sequence of batches, nothing else. Integers are little endian.
//
//   pos size field
//    0   4   length       bytes after this field: 36 + size of the records
//    4   4   crc          CRC32C (common/crc32c.h) of bytes 8 .. end of batch
//    8   1   magic        0x56 ('V'), the format version
//    9   1   type         1 = data records (other values are reserved)
//   10   2   reserved     0
//   12   8   base_offset  offset of the first record (int64)
//   20   4   count        number of records, >= 1
//   24   8   base_ts      timestamp (ms) of the first record (int64)
//   32   8   max_ts       largest record timestamp in the batch (int64)
//   40   ... count records, each (type 1, still read):
//              varint64  zigzag(timestamp - base_ts)
//              varint32  key length,   then the key bytes
//              varint32  value length, then the value bytes
//            or each (type 2, what BatchBuilder writes):
//              varint64  zigzag(timestamp - base_ts)
//              varint32  key length
//              varint32  key position: 0 = the key bytes follow here;
//                        p > 0 = the key is the value's bytes [p-1, p-1+length)
//              varint32  value length, then the value bytes
//            The collector's key (session_id) is a slice of its value (the
//            encoded event), so type 2 stores it once: 2 bytes, not 37.
//
// Offsets are dense: a batch's base_offset is the previous batch's
// base_offset + count, and the first batch of a segment starts at the
// segment's base offset. A batch is valid when its length is in bounds, the
// crc matches, magic and type are known and the records decode to exactly
// `count` records that fill the batch. Readers stop at the first invalid
// batch and report it; they never return records from one.
//
// One Append writes at most one batch per partition. Every batch written
// in one group commit is fdatasync'd before any of its records is visible.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "log/log.h"

namespace viewpipe {

inline constexpr size_t kBatchHeaderSize = 40;
inline constexpr uint8_t kBatchMagic = 0x56;
inline constexpr uint8_t kBatchTypeData = 1;         // keys inline (read only)
inline constexpr uint8_t kBatchTypeDataKeyRef = 2;   // keys may be slices of values
// Upper bound of one batch (bigger Appends to one partition are rejected).
inline constexpr uint32_t kMaxBatchBytes = 64u << 20;

struct BatchHeader {
  uint32_t length = 0;
  uint32_t crc = 0;
  uint8_t magic = 0;
  uint8_t type = 0;
  Offset base_offset = 0;
  uint32_t count = 0;
  int64_t base_ts = 0;
  int64_t max_ts = 0;

  uint64_t TotalSize() const { return 4 + uint64_t{length}; }
  Offset NextOffset() const { return base_offset + count; }
};

// Builds one batch at the end of a string. The base offset and crc are left
// zero until SealBatch (they are known only once the batch is queued).
class BatchBuilder {
 public:
  // Starts a batch at the end of *out (out must outlive the builder's use).
  void Begin(std::string* out, int64_t first_ts);
  // Starts a batch at the start of *out and writes over its bytes: a buffer
  // reused batch after batch is zero-filled only where it grows (Begin's
  // room would be filled on every batch). Finish leaves out's size as it is;
  // the batch is its first Finish() bytes.
  void BeginInPlace(std::string* out, int64_t first_ts);
  // A key that lies inside value (same memory) is stored as its position.
  void Add(int64_t timestamp_ms, std::string_view key, std::string_view value);
  // Fills length, count and max_ts. Returns the batch size in bytes.
  size_t Finish();

  bool started() const { return out_ != nullptr; }
  uint32_t count() const { return count_; }
  int64_t max_ts() const { return max_ts_; }

 private:
  void Start(std::string* out, size_t start, int64_t first_ts, bool in_place);

  std::string* out_ = nullptr;
  size_t start_ = 0;
  size_t pos_ = 0;  // end of what was written; out_ may be longer until Finish
  bool in_place_ = false;
  uint32_t count_ = 0;
  int64_t base_ts_ = 0;
  int64_t max_ts_ = 0;
};

// Writes base_offset into the finished batch at data and computes its crc.
void SealBatch(char* data, Offset base_offset);

enum class BatchCheck {
  kOk,
  kTruncated,  // data ends before the batch does (torn write or short read)
  kCorrupt,    // bad length, magic, type or crc
};

// Decodes the header at the start of data without checking the crc.
// kTruncated when data is shorter than a header.
BatchCheck ParseBatchHeader(std::string_view data, BatchHeader* h, std::string* why);
// ParseBatchHeader, then requires the whole batch in data and a matching crc.
BatchCheck CheckBatch(std::string_view data, BatchHeader* h, std::string* why);

// Decodes the records of a checked batch (data starts at the batch), adding
// those with offset >= from to *out, at most max of them. Views point into
// data. Returns how many were added; Corruption (adding nothing) when the
// records do not decode to exactly h.count records.
Result<size_t> DecodeBatch(std::string_view data, const BatchHeader& h, Offset from, size_t max,
                           std::vector<ConsumedRecord>* out);

}  // namespace viewpipe
