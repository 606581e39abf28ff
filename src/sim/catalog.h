#pragma once
// Catalog: the titles viewers pick from, generated from the seed. Series
// episodes, films and live channels with genres and durations; popularity
// follows a Zipf law (rank r has weight 1/r) over a seeded shuffle of the
// titles, sampled in O(1) with an alias table. Thread compatible.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sim/random.h"

namespace viewpipe::sim {

enum class TitleKind : uint8_t { kSeries, kFilm, kLive };
std::string_view TitleKindName(TitleKind kind);

struct Title {
  std::string id;  // "t00042"
  std::string_view genre;
  TitleKind kind = TitleKind::kSeries;
  int32_t duration_s = 0;  // episode / film length; a live title's scheduled slot
};

class Catalog {
 public:
  Catalog(uint64_t seed, int titles);

  size_t size() const { return titles_.size(); }
  const Title& at(uint32_t index) const { return titles_[index]; }
  const std::vector<Title>& titles() const { return titles_; }
  // A title drawn by popularity.
  uint32_t Sample(Rng& rng) const;
  // The most popular live title (the catalog always has one).
  uint32_t MostPopularLive() const;
  // Index of a title id, or -1.
  int Find(std::string_view id) const;
  // CSV with a header: title_id,genre,kind,duration_s (one row per title, id order).
  std::string ToCsv() const;

 private:
  std::vector<Title> titles_;
  std::vector<double> weight_;      // popularity per title
  std::vector<double> alias_prob_;  // alias table (Vose)
  std::vector<uint32_t> alias_;
};

}  // namespace viewpipe::sim
