#pragma once
// The binary encoding of the SRE state's pieces in its checkpoint
// (sre_processor.h: data_dir/sre/checkpoint, ops/checkpoint_file.h framing):
// varints (ops/bytes.h) for counts and times, doubles bit for bit (so a
// restored baseline is the one that was saved, not a rounding of it).
// Every Get* returns false on truncated or malformed input and then leaves
// *out unspecified.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "sre/qoe_group.h"

namespace viewpipe::sre::codec {

void PutDouble(std::string* out, double v);
bool GetDouble(std::string_view* in, double* v);

void PutCounts(std::string* out, const QoeCounts& c);
bool GetCounts(std::string_view* in, QoeCounts* c);

void PutGroupKey(std::string* out, const GroupKey& g);
bool GetGroupKey(std::string_view* in, GroupKey* g);

void PutGroupCounts(std::string* out, const GroupCounts& counts);
bool GetGroupCounts(std::string_view* in, GroupCounts* counts);

// Start (ms) -> the groups' counts: slices, windows, series buckets.
void PutTimedCounts(std::string* out, const std::map<int64_t, GroupCounts>& m);
bool GetTimedCounts(std::string_view* in, std::map<int64_t, GroupCounts>* m);

}  // namespace viewpipe::sre::codec
