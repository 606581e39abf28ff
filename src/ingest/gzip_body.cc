#include "ingest/gzip_body.h"

#include <zlib.h>

#include <algorithm>

namespace viewpipe {
namespace {

// Inflates what is left of *z into *out (growing it up to limit + 1 bytes).
// Returns zlib's last code, or Z_BUF_ERROR with *over set past the limit.
int InflateMember(z_stream* z, size_t limit, std::string* out, bool* over) {
  int rc = Z_OK;
  while (rc == Z_OK) {
    const size_t used = out->size() - z->avail_out;
    if (z->avail_out == 0) {
      if (used > limit) {
        *over = true;
        return Z_BUF_ERROR;
      }
      const size_t grow = std::min<size_t>(std::max<size_t>(used, 64 * 1024), limit + 1 - used);
      out->resize(used + grow);
      z->next_out = reinterpret_cast<Bytef*>(out->data() + used);
      z->avail_out = static_cast<uInt>(grow);
    }
    rc = inflate(z, Z_NO_FLUSH);
    if (rc == Z_BUF_ERROR && z->avail_in == 0) return Z_DATA_ERROR;  // truncated stream
    if (rc == Z_BUF_ERROR && z->avail_out == 0) rc = Z_OK;          // only room was missing
  }
  return rc;
}

}  // namespace

Status GunzipBounded(std::string_view in, size_t limit, std::string* out) {
  out->clear();
  z_stream z{};
  if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) return Status::IOError("inflateInit2 failed");
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  out->resize(std::min<size_t>(std::max<size_t>(in.size() * 4, 4096), limit + 1));
  z.next_out = reinterpret_cast<Bytef*>(out->data());
  z.avail_out = static_cast<uInt>(out->size());
  bool over = false;
  int rc = InflateMember(&z, limit, out, &over);
  while (rc == Z_STREAM_END && z.avail_in > 0 && !over) {  // another member follows
    inflateReset(&z);
    rc = InflateMember(&z, limit, out, &over);
  }
  const size_t produced = out->size() - z.avail_out;
  inflateEnd(&z);
  out->resize(produced);
  if (over || produced > limit) {
    return Status::Aborted("body over the limit of " + std::to_string(limit) +
                           " bytes after decompression");
  }
  if (rc != Z_STREAM_END) return Status::InvalidArgument("could not read the body (bad gzip?)");
  return Status::OK();
}

}  // namespace viewpipe
