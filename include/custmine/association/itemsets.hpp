// Frequent itemset mining: FP-Growth, Eclat and Apriori, all, closed or maximal itemsets.
//
// References:
//  - FP-Growth: J. Han, J. Pei, Y. Yin (2000), "Mining frequent patterns without candidate
//    generation", SIGMOD. Here the FP-tree is a set of flat arrays built from
//    lexicographically sorted (recoded) transactions, so insertion needs no child search.
//  - Eclat: M. J. Zaki (2000), "Scalable algorithms for association mining", IEEE TKDE.
//    Vertical tid-lists for sparse data, bit-sets when the frequent items are dense
//    (average density above 1/32, where a bit-set is the smaller representation). On
//    sparse data a prefix's extensions are counted by intersections or, when that reads
//    fewer items, by "occurrence deliver": one scan of the prefix's transactions, cut to
//    the candidate items of its first item (T. Uno, M. Kiyomi, H. Arimura (2004), "LCM
//    ver. 2", FIMI'04; Borgelt's Eclat variant 'o').
//  - Apriori: R. Agrawal, R. Srikant (1994), "Fast algorithms for mining association
//    rules", VLDB. Level-wise candidate generation with the subset (downward-closure)
//    check; candidates are counted by intersecting the vertical lists of their two
//    generating (k-1)-itemsets (AprioriTID-style counting).
//  - All three use item recoding by frequency and "perfect extension" pruning
//    (C. Borgelt (2012), "Frequent item set mining", WIREs DMKD): an item contained in
//    every transaction of the current prefix is not branched on; the itemsets with and
//    without it are written together.
//  - Closed / maximal itemsets are taken from the full set by definition: an itemset is
//    closed when no one-item superset has the same count, maximal when no one-item superset
//    is frequent (with max_len, mining runs to max_len + 1 so both stay exact).
//
// Complexity: output-sensitive, O(sum over itemsets of its support list) for Eclat and
// Apriori, O(size of the conditional trees) for FP-Growth; memory O(input + output).
// Work is split across threads by first-level item; each item writes its own buffer and
// buffers are joined in item order, so the output is identical for every thread count.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "custmine/core/matrix.hpp"

namespace custmine::association {

enum class Algorithm { FPGrowth, Eclat, Apriori };
enum class Kind { All, Closed, Maximal };

Algorithm parse_algorithm(std::string_view s, std::string_view where);
Kind parse_kind(std::string_view s, std::string_view where);

struct MiningParams {
  Index min_count = 1;       ///< an itemset is frequent when its count >= min_count (>= 1)
  int min_len = 1;           ///< shortest itemset reported (>= 1)
  int max_len = 0;           ///< longest itemset reported; 0 = no limit
  Algorithm algorithm = Algorithm::Eclat;  // the fastest of the three on every benchmark set
  Kind kind = Kind::All;
  int n_threads = 1;         ///< joblib rule: -1 = all cores
  Index max_itemsets = 0;    ///< stop with an error past this many itemsets; 0 = no limit
  void validate() const;
};

/// ceil(min_support * n) with a tolerance of 1e-9 relative, so that 0.07 * 100 gives 7.
/// min_support must lie in (0, 1].
Index min_count_from_support(double min_support, Index n_transactions);

/// Itemsets in CSR layout: itemset s holds items[offsets[s] .. offsets[s+1]) sorted
/// ascending (the caller's item ids), with its absolute count.
struct Itemsets {
  std::vector<Index> offsets{0};
  std::vector<std::int32_t> items;
  std::vector<Index> counts;
  Index n_transactions = 0;

  [[nodiscard]] Index size() const { return static_cast<Index>(counts.size()); }
  [[nodiscard]] std::span<const std::int32_t> operator[](Index s) const {
    return {items.data() + offsets[s], static_cast<std::size_t>(offsets[s + 1] - offsets[s])};
  }
  void push(std::span<const std::int32_t> set, Index count) {
    items.insert(items.end(), set.begin(), set.end());
    offsets.push_back(static_cast<Index>(items.size()));
    counts.push_back(count);
  }
};

/// Frequent itemsets of `t` (items as in t, each itemset sorted ascending). The empty
/// itemset is not reported. Throws InvalidArgument for bad parameters and when more than
/// max_itemsets itemsets would be produced.
Itemsets frequent_itemsets(const Transactions& t, const MiningParams& p);

/// Keep only closed (kind=Closed) or maximal (kind=Maximal) itemsets of a complete,
/// downward-closed collection (every frequent itemset up to some length). Itemsets of
/// length `top_len` (the mining limit) have no known supersets and are dropped when
/// drop_top is set (used internally when mining ran to max_len + 1).
Itemsets filter_kind(const Itemsets& all, Kind kind, int keep_max_len, int n_threads);

/// Exact count of every given itemset in `t`: itemset s holds items[offsets[s] ..
/// offsets[s+1]) (item ids of t, any order, no repeats). This is the second pass of SON
/// (custmine.spark / custmine.dask): candidates found on partitions are counted on each
/// partition. Candidates are ordered so that neighbours share prefixes, and the tid-list
/// intersection of a prefix is reused (rarest item first). Throws InvalidArgument for an
/// item id out of range, a repeated item or an empty itemset.
std::vector<Index> count_itemsets(const Transactions& t, std::span<const Index> offsets,
                                  std::span<const std::int32_t> items, int n_threads);

/// Open-addressing index from itemset (sorted item span) to its position in a CSR.
class ItemsetIndex {
 public:
  ItemsetIndex() = default;
  ItemsetIndex(const std::vector<Index>& offsets, const std::vector<std::int32_t>& items);
  /// Position of `set` (sorted ascending), or -1.
  [[nodiscard]] Index find(std::span<const std::int32_t> set) const;

 private:
  static std::uint64_t hash(std::span<const std::int32_t> s);
  const std::vector<Index>* offsets_ = nullptr;
  const std::vector<std::int32_t>* items_ = nullptr;
  std::vector<Index> slots_;
  std::size_t mask_ = 0;
};

}  // namespace custmine::association
