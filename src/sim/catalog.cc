#include "sim/catalog.h"

#include <array>
#include <cstdio>
#include <numeric>

#include "common/status.h"

namespace viewpipe::sim {
namespace {

constexpr std::array<std::string_view, 10> kVodGenres = {
    "drama", "comedy", "action",  "thriller", "documentary",
    "kids",  "sci-fi", "romance", "reality",  "anime"};
constexpr std::array<std::string_view, 3> kLiveGenres = {"sports", "news", "entertainment"};

}  // namespace

std::string_view TitleKindName(TitleKind kind) {
  switch (kind) {
    case TitleKind::kSeries:
      return "series";
    case TitleKind::kFilm:
      return "film";
    case TitleKind::kLive:
      return "live";
  }
  return "series";
}

Catalog::Catalog(uint64_t seed, int titles) {
  VP_CHECK(titles >= 10, "a catalog needs at least 10 titles");
  Rng rng(Hash64(seed, 0x434154414C4FULL));
  titles_.resize(static_cast<size_t>(titles));
  for (size_t i = 0; i < titles_.size(); ++i) {
    Title& t = titles_[i];
    char id[32];
    std::snprintf(id, sizeof(id), "t%05zu", i + 1);
    t.id = id;
    const double u = rng.Uniform();
    // Every tenth title is live, so there is always one (t00010 at least).
    if (i % 10 == 9) {
      t.kind = TitleKind::kLive;
      t.genre = kLiveGenres[rng.Below(kLiveGenres.size())];
      t.duration_s = static_cast<int32_t>(rng.Between(2, 4) * 3600);
    } else if (u < 0.65) {
      t.kind = TitleKind::kSeries;
      t.genre = kVodGenres[rng.Below(kVodGenres.size())];
      t.duration_s = static_cast<int32_t>(rng.Between(20, 60) * 60);
    } else {
      t.kind = TitleKind::kFilm;
      t.genre = kVodGenres[rng.Below(kVodGenres.size())];
      t.duration_s = static_cast<int32_t>(rng.Between(80, 160) * 60);
    }
  }
  // Zipf weights over a seeded shuffle: rank[i] is title i's popularity rank.
  std::vector<uint32_t> order(titles_.size());
  std::iota(order.begin(), order.end(), 0);
  for (size_t i = order.size() - 1; i > 0; --i) std::swap(order[i], order[rng.Below(i + 1)]);
  weight_.assign(titles_.size(), 0);
  for (size_t r = 0; r < order.size(); ++r) weight_[order[r]] = 1.0 / static_cast<double>(r + 1);

  // Vose's alias method.
  const size_t n = titles_.size();
  const double total = std::accumulate(weight_.begin(), weight_.end(), 0.0);
  std::vector<double> scaled(n);
  std::vector<uint32_t> small, large;
  for (size_t i = 0; i < n; ++i) {
    scaled[i] = weight_[i] * static_cast<double>(n) / total;
    (scaled[i] < 1.0 ? small : large).push_back(static_cast<uint32_t>(i));
  }
  alias_prob_.assign(n, 1.0);
  alias_.assign(n, 0);
  while (!small.empty() && !large.empty()) {
    uint32_t s = small.back(), l = large.back();
    small.pop_back();
    alias_prob_[s] = scaled[s];
    alias_[s] = l;
    scaled[l] = (scaled[l] + scaled[s]) - 1.0;
    if (scaled[l] < 1.0) {
      large.pop_back();
      small.push_back(l);
    }
  }
  for (uint32_t i : small) alias_prob_[i] = 1.0;
  for (uint32_t i : large) alias_prob_[i] = 1.0;
  for (size_t i = 0; i < n; ++i) {
    if (alias_prob_[i] >= 1.0) alias_[i] = static_cast<uint32_t>(i);
  }
}

uint32_t Catalog::Sample(Rng& rng) const {
  const uint32_t i = static_cast<uint32_t>(rng.Below(titles_.size()));
  return rng.Uniform() < alias_prob_[i] ? i : alias_[i];
}

uint32_t Catalog::MostPopularLive() const {
  uint32_t best = 0;
  double best_weight = -1;
  for (size_t i = 0; i < titles_.size(); ++i) {
    if (titles_[i].kind == TitleKind::kLive && weight_[i] > best_weight) {
      best = static_cast<uint32_t>(i);
      best_weight = weight_[i];
    }
  }
  return best;
}

int Catalog::Find(std::string_view id) const {
  for (size_t i = 0; i < titles_.size(); ++i) {
    if (titles_[i].id == id) return static_cast<int>(i);
  }
  return -1;
}

std::string Catalog::ToCsv() const {
  std::string out = "title_id,genre,kind,duration_s\n";
  for (const Title& t : titles_) {
    out += t.id;
    out += ',';
    out += t.genre;
    out += ',';
    out += TitleKindName(t.kind);
    out += ',';
    out += std::to_string(t.duration_s);
    out += '\n';
  }
  return out;
}

}  // namespace viewpipe::sim
