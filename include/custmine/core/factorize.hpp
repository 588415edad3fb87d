// Integer label factorization: ids -> dense codes 0..k-1 with the unique ids sorted.
//
// An open-addressing hash table (linear probing, power-of-two capacity) is several
// times faster than std::unordered_map here; codes are then renumbered so that code
// order follows id order, as pandas.factorize(sort=True) does. O(n + k log k).
#pragma once

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <span>
#include <vector>

#include "custmine/core/matrix.hpp"

namespace custmine {

struct Factorized {
  std::vector<std::int64_t> codes;    ///< one per input, in 0..uniques.size()-1
  std::vector<std::int64_t> uniques;  ///< sorted ascending
};

namespace detail {
inline std::uint64_t mix64(std::uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}
}  // namespace detail

inline Factorized factorize(std::span<const std::int64_t> ids) {
  Factorized out;
  const std::size_t n = ids.size();
  out.codes.resize(n);
  if (n == 0) return out;

  // Dense small ranges (the common case for integer customer ids) index an array directly.
  const auto [mn_it, mx_it] = std::minmax_element(ids.begin(), ids.end());
  const std::int64_t mn = *mn_it, mx = *mx_it;
  const auto range = static_cast<std::uint64_t>(mx) - static_cast<std::uint64_t>(mn);
  if (range < 4 * n + 1024) {
    std::vector<std::int64_t> slot(range + 1, -1);
    for (std::size_t i = 0; i < n; ++i) slot[static_cast<std::uint64_t>(ids[i] - mn)] = 0;
    std::int64_t k = 0;
    for (std::uint64_t v = 0; v <= range; ++v)
      if (slot[v] == 0) {
        slot[v] = k++;
        out.uniques.push_back(mn + static_cast<std::int64_t>(v));
      }
    for (std::size_t i = 0; i < n; ++i) out.codes[i] = slot[static_cast<std::uint64_t>(ids[i] - mn)];
    return out;
  }

  std::size_t cap = 16;
  while (cap < 2 * n) cap <<= 1;
  std::vector<std::int64_t> keys(cap);
  std::vector<std::int64_t> vals(cap, -1);
  const std::size_t mask = cap - 1;
  std::vector<std::int64_t> first_seen;  // unique ids in order of appearance
  for (std::size_t i = 0; i < n; ++i) {
    const std::int64_t id = ids[i];
    std::size_t h = detail::mix64(static_cast<std::uint64_t>(id)) & mask;
    while (vals[h] >= 0 && keys[h] != id) h = (h + 1) & mask;
    if (vals[h] < 0) {
      keys[h] = id;
      vals[h] = static_cast<std::int64_t>(first_seen.size());
      first_seen.push_back(id);
    }
    out.codes[i] = vals[h];
  }
  // Renumber so that codes follow sorted id order.
  const std::size_t k = first_seen.size();
  std::vector<std::int64_t> order(k);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(),
            [&](std::int64_t a, std::int64_t b) { return first_seen[a] < first_seen[b]; });
  std::vector<std::int64_t> rank(k);
  out.uniques.resize(k);
  for (std::size_t r = 0; r < k; ++r) {
    rank[order[r]] = static_cast<std::int64_t>(r);
    out.uniques[r] = first_seen[order[r]];
  }
  for (auto& c : out.codes) c = rank[c];
  return out;
}

}  // namespace custmine
