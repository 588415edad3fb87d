// Definitions for rfm.hpp (instantiated for float and double in src/tiering/rfm.cpp).
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <type_traits>
#include <utility>

#include "custmine/core/exact_sum.hpp"
#include "custmine/core/factorize.hpp"
#include "custmine/core/threading.hpp"
#include "custmine/tiering/rfm.hpp"

namespace custmine::tiering {

namespace detail {

/// Customer order by (key ascending, index ascending); key is the value in the scoring
/// direction, so the last customer is the best. Integer columns with a small range
/// (recency in days, order counts) use a counting sort; others sort (key, index) pairs.
template <class V>
std::vector<std::int64_t> scoring_order(std::span<const V> values, bool higher_is_better) {
  const auto n = static_cast<std::int64_t>(values.size());
  std::vector<std::int64_t> idx(n);
  if (n == 0) return idx;
  if constexpr (std::is_integral_v<V>) {
    const auto [mn, mx] = std::minmax_element(values.begin(), values.end());
    const auto range = static_cast<std::uint64_t>(*mx) - static_cast<std::uint64_t>(*mn);
    if (range <= static_cast<std::uint64_t>(4 * n + 1024)) {
      std::vector<std::int64_t> count(range + 2, 0);
      auto key = [&](std::int64_t i) {
        const auto k = static_cast<std::uint64_t>(values[i]) - static_cast<std::uint64_t>(*mn);
        return higher_is_better ? k : range - k;
      };
      for (std::int64_t i = 0; i < n; ++i) ++count[key(i) + 1];
      for (std::uint64_t k = 1; k < count.size(); ++k) count[k] += count[k - 1];
      for (std::int64_t i = 0; i < n; ++i) idx[count[key(i)]++] = i;  // stable: index order within a key
      return idx;
    }
  }
  std::vector<std::pair<double, std::int64_t>> keyed(n);
  for (std::int64_t i = 0; i < n; ++i) {
    const double v = static_cast<double>(values[i]);
    keyed[i] = {higher_is_better ? v : -v, i};
  }
  std::sort(keyed.begin(), keyed.end());
  for (std::int64_t i = 0; i < n; ++i) idx[i] = keyed[i].second;
  return idx;
}

inline std::int32_t rank_score(std::int64_t rank1, std::int64_t n, int bins) {
  // ceil(rank * bins / n) without floating point
  return static_cast<std::int32_t>((rank1 * bins + n - 1) / n);
}

/// Score for a value against edges in the scoring direction: 1 + #edges strictly below.
inline std::int32_t edge_score(double key, const std::vector<double>& edges) {
  return 1 + static_cast<std::int32_t>(std::lower_bound(edges.begin(), edges.end(), key) - edges.begin());
}

inline double directed(double v, bool higher_is_better) { return higher_is_better ? v : -v; }

/// Per-customer running state of the RFM row loop.
struct CustomerAcc {
  // Days are kept relative to the first day, in 32 bits, so that the record stays at 32
  // bytes with the 128-bit total (48 bytes cost 10-18 % at 500k customers: cache misses).
  static constexpr std::int32_t kNone = std::numeric_limits<std::int32_t>::min();
  std::int32_t last_purchase = kNone, last_any = kNone;
  std::int64_t purchases = 0;
  GridSum::Int value = 0;  // on the GridSum grid: the total does not depend on row order
};
static_assert(sizeof(CustomerAcc) == 32);

}  // namespace detail

template <class V>
std::vector<double> quantile_edges(std::span<const V> values, int bins, bool higher_is_better) {
  const auto n = static_cast<std::int64_t>(values.size());
  const auto order = detail::scoring_order(values, higher_is_better);
  std::vector<double> edges;
  edges.reserve(bins - 1);
  // The last rank with score <= k is floor(k * n / bins); its value is bin k's upper edge.
  for (int k = 1; k < bins; ++k) {
    const std::int64_t last = (static_cast<std::int64_t>(k) * n) / bins;  // 1-based rank
    const double v = last >= 1 ? static_cast<double>(values[order[last - 1]])
                               : -std::numeric_limits<double>::infinity() * (higher_is_better ? 1 : -1);
    edges.push_back(detail::directed(v, higher_is_better));
  }
  return edges;
}

template <class V>
std::vector<std::int32_t> quantile_scores(std::span<const V> values, int bins, Ties ties,
                                          bool higher_is_better) {
  const auto n = static_cast<std::int64_t>(values.size());
  std::vector<std::int32_t> score(n);
  if (n == 0) return score;
  if (ties == Ties::First) {
    const auto order = detail::scoring_order(values, higher_is_better);
    for (std::int64_t r = 0; r < n; ++r) score[order[r]] = detail::rank_score(r + 1, n, bins);
  } else {
    const auto edges = quantile_edges(values, bins, higher_is_better);
    for (std::int64_t i = 0; i < n; ++i)
      score[i] = detail::edge_score(detail::directed(static_cast<double>(values[i]), higher_is_better), edges);
  }
  return score;
}

template <class T>
RfmTable rfm(std::span<const std::int64_t> customer, std::int64_t n_customers,
             std::span<const std::int64_t> day, std::span<const T> amount,
             std::span<const std::int64_t> order, std::int64_t as_of_day, const RfmParams& params,
             const std::vector<SegmentRule>& rules) {
  constexpr std::string_view where = "rfm";
  params.validate();
  validate_segment_rules(rules);
  const auto n = static_cast<std::int64_t>(customer.size());
  check_nonempty(where, "transactions", n);
  check_same_length(where, "customer", n, "date", static_cast<Index>(day.size()));
  check_same_length(where, "customer", n, "amount", static_cast<Index>(amount.size()));
  if (!order.empty()) check_same_length(where, "customer", n, "order", static_cast<Index>(order.size()));
  require(n_customers >= 1, where, "n_customers must be at least 1 (got ", n_customers, ")");
  const int threads = resolve_threads(params.n_threads, where);

  // Pass 1 (rows split in chunks): validate codes and amounts, find the last day.
  std::vector<std::int64_t> chunk_max(threads, std::numeric_limits<std::int64_t>::min());
  std::vector<std::int64_t> chunk_min(threads, std::numeric_limits<std::int64_t>::max());
  std::vector<double> chunk_abs(threads, 0.0);
  parallel_chunks(n, threads, [&](Index b, Index e, int t) {
    std::int64_t mx = chunk_max[t], mn = chunk_min[t];
    double ma = 0.0;
    for (Index i = b; i < e; ++i) {
      if (customer[i] < 0 || customer[i] >= n_customers)
        fail(where, "customer code ", customer[i], " at row ", i, " is outside 0..", n_customers - 1);
      if (!std::isfinite(static_cast<double>(amount[i])))
        fail(where, "amount contains NaN or infinity (first at row ", i, ")");
      mx = std::max(mx, day[i]);
      mn = std::min(mn, day[i]);
      ma = std::max(ma, std::abs(static_cast<double>(amount[i])));
    }
    chunk_max[t] = mx;
    chunk_min[t] = mn;
    chunk_abs[t] = ma;
  });
  const std::int64_t max_day = *std::max_element(chunk_max.begin(), chunk_max.end());
  const std::int64_t min_day = *std::min_element(chunk_min.begin(), chunk_min.end());
  require(max_day - min_day < std::int64_t{1} << 31, where, "dates span more than 2^31 days (", min_day, " to ",
          max_day, ")");
  // Monetary totals are order-independent (see core/exact_sum.hpp), so custmine.spark and
  // custmine.dask, which add in the engine's order, get the same doubles.
  const GridSum grid(*std::max_element(chunk_abs.begin(), chunk_abs.end()));
  if (as_of_day < max_day)
    fail(where, "as_of (day ", as_of_day, ") is before the last transaction (day ", max_day, ")");

  // Pass 2 (customers split in ranges; each thread scans every row and keeps its own
  // customers): results do not depend on the thread count.
  // One 32-byte record per customer keeps the row loop at one cache line per row.
  constexpr std::int32_t kNone = detail::CustomerAcc::kNone;
  using Acc = detail::CustomerAcc;
  std::vector<Acc> acc(n_customers);
  const bool net = params.returns == Returns::Net;
  auto owned = [&](int t, std::int64_t& lo, std::int64_t& hi) {
    lo = n_customers * t / threads;
    hi = n_customers * (t + 1) / threads;
  };
  parallel_chunks(threads, threads, [&](Index, Index, int t) {
    std::int64_t lo, hi;
    owned(t, lo, hi);
    for (Index i = 0; i < n; ++i) {
      if ((i & 0x3FFFFF) == 0 && t == 0) Interrupt::check(where);
      // Customers arrive in random order: fetch the record a few rows ahead.
      if (i + 16 < n) {
        const std::int64_t ahead = customer[i + 16];
        if (ahead >= lo && ahead < hi) __builtin_prefetch(acc.data() + ahead, 1);
      }
      const std::int64_t c = customer[i];
      if (c < lo || c >= hi) continue;
      const double a = static_cast<double>(amount[i]);
      Acc& r = acc[c];
      const auto dd = static_cast<std::int32_t>(day[i] - min_day);
      r.last_any = std::max(r.last_any, dd);
      if (a < 0) {
        if (net) r.value += grid.to_grid(a);
        continue;
      }
      r.value += grid.to_grid(a);
      r.last_purchase = std::max(r.last_purchase, dd);
      ++r.purchases;
    }
  });

  RfmTable table;
  table.frequency.resize(n_customers);
  table.monetary.resize(n_customers);
  table.recency.resize(n_customers);
  for (std::int64_t c = 0; c < n_customers; ++c) {
    const Acc& r = acc[c];
    const std::int32_t last_rel = r.last_purchase != kNone ? r.last_purchase : r.last_any;
    if (last_rel == kNone) fail(where, "customer code ", c, " has no transaction (codes must be dense 0..k-1)");
    const std::int64_t last = min_day + last_rel;
    table.recency[c] = as_of_day - last;
    table.frequency[c] = r.purchases;
    table.monetary[c] = grid.to_double(r.value);
  }
  if (!order.empty()) {
    // Distinct orders per customer: bucket the purchase rows' order ids by customer
    // (a counting sort), then sort each customer's small bucket and count runs.
    std::vector<std::int64_t> start(n_customers + 1, 0);
    for (std::int64_t c = 0; c < n_customers; ++c) start[c + 1] = start[c] + acc[c].purchases;
    std::vector<std::int64_t> bucket(static_cast<std::size_t>(start[n_customers]));
    parallel_chunks(threads, threads, [&](Index, Index, int t) {
      std::int64_t lo, hi;
      owned(t, lo, hi);
      std::vector<std::int64_t> fill(start.begin() + lo, start.begin() + hi);
      for (Index i = 0; i < n; ++i) {
        if (i + 16 < n) {
          const std::int64_t ahead = customer[i + 16];
          if (ahead >= lo && ahead < hi) __builtin_prefetch(fill.data() + (ahead - lo), 1);
        }
        const std::int64_t c = customer[i];
        if (c < lo || c >= hi || amount[i] < 0) continue;
        bucket[fill[c - lo]++] = order[i];
      }
      for (std::int64_t c = lo; c < hi; ++c) {
        auto first = bucket.begin() + start[c], last = bucket.begin() + start[c + 1];
        std::sort(first, last);
        table.frequency[c] = std::unique(first, last) - first;
      }
    });
  }

  if (params.monetary == Monetary::Mean)
    for (std::int64_t c = 0; c < n_customers; ++c)
      table.monetary[c] = table.frequency[c] > 0 ? table.monetary[c] / static_cast<double>(table.frequency[c]) : 0.0;
  // The three score columns are independent: one task each.
  parallel_for(3, threads, [&](Index j, int) {
    if (j == 0)
      table.r_score = quantile_scores(std::span<const std::int64_t>(table.recency), params.bins, params.ties, false);
    else if (j == 1)
      table.f_score = quantile_scores(std::span<const std::int64_t>(table.frequency), params.bins, params.ties, true);
    else
      table.m_score = quantile_scores(std::span<const double>(table.monetary), params.bins, params.ties, true);
  });
  table.segment = assign_segments(table.r_score, table.f_score, table.m_score, params.bins, rules);
  return table;
}
template <class T>
std::vector<std::int32_t> pyramid_tiers(std::span<const T> values, std::span<const double> cuts) {
  constexpr std::string_view where = "pyramid";
  const auto n = static_cast<std::int64_t>(values.size());
  check_nonempty(where, "values", n);
  check_finite(where, "values", values);
  require(!cuts.empty(), where, "cuts must hold at least one share");
  for (std::size_t k = 0; k < cuts.size(); ++k) {
    require(cuts[k] > 0 && cuts[k] < 1, where, "cuts must lie in (0, 1), got ", cuts[k]);
    require(k == 0 || cuts[k] > cuts[k - 1], where, "cuts must be strictly increasing (cumulative shares)");
  }
  std::vector<std::int64_t> limit(cuts.size());
  for (std::size_t k = 0; k < cuts.size(); ++k)
    limit[k] = static_cast<std::int64_t>(std::ceil(cuts[k] * static_cast<double>(n) - 1e-9));
  auto order = detail::scoring_order(values, true);
  std::reverse(order.begin(), order.end());
  // reverse() of an ascending stable order puts ties in descending position: restore
  // input order among equal values.
  for (std::int64_t b = 0; b < n;) {
    std::int64_t e = b + 1;
    while (e < n && values[order[e]] == values[order[b]]) ++e;
    std::sort(order.begin() + b, order.begin() + e);
    b = e;
  }
  std::vector<std::int32_t> tier(n, static_cast<std::int32_t>(cuts.size()));
  std::size_t k = 0;
  for (std::int64_t r = 0; r < n; ++r) {
    while (k < cuts.size() && r + 1 > limit[k]) ++k;
    tier[order[r]] = static_cast<std::int32_t>(k);
  }
  return tier;
}

template <class T>
std::vector<std::int32_t> abc_classes(std::span<const T> values, std::span<const double> thresholds) {
  constexpr std::string_view where = "abc";
  const auto n = static_cast<std::int64_t>(values.size());
  check_nonempty(where, "values", n);
  check_finite(where, "values", values);
  require(!thresholds.empty(), where, "thresholds must hold at least one share");
  for (std::size_t k = 0; k < thresholds.size(); ++k) {
    require(thresholds[k] > 0 && thresholds[k] <= 1, where, "thresholds must lie in (0, 1], got ", thresholds[k]);
    require(k == 0 || thresholds[k] > thresholds[k - 1], where, "thresholds must be strictly increasing");
  }
  double total = 0;
  for (auto v : values) total += static_cast<double>(v);
  require(total > 0, where, "the total value must be positive (got ", total, ")");
  std::vector<std::int64_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](auto a, auto b) { return values[a] > values[b]; });
  std::vector<std::int32_t> cls(n);
  double before = 0;
  for (std::int64_t r = 0; r < n; ++r) {
    std::size_t k = 0;
    while (k < thresholds.size() && !(before < thresholds[k] * total)) ++k;
    cls[order[r]] = static_cast<std::int32_t>(k);
    before += static_cast<double>(values[order[r]]);
  }
  return cls;
}

template <class T>
TierSummary summarize_tiers(std::span<const T> values, std::span<const std::int32_t> tier, int n_tiers) {
  check_same_length("summarize_tiers", "values", static_cast<Index>(values.size()), "tier",
                    static_cast<Index>(tier.size()));
  TierSummary s;
  s.customers.assign(n_tiers, 0);
  s.value.assign(n_tiers, 0.0);
  s.min_value.assign(n_tiers, std::numeric_limits<double>::quiet_NaN());
  s.max_value.assign(n_tiers, std::numeric_limits<double>::quiet_NaN());
  double total = 0;
  for (std::size_t i = 0; i < values.size(); ++i) {
    const int k = tier[i];
    require(k >= 0 && k < n_tiers, "summarize_tiers", "tier ", k, " outside 0..", n_tiers - 1);
    const double v = static_cast<double>(values[i]);
    ++s.customers[k];
    s.value[k] += v;
    total += v;
    s.min_value[k] = std::isnan(s.min_value[k]) ? v : std::min(s.min_value[k], v);
    s.max_value[k] = std::isnan(s.max_value[k]) ? v : std::max(s.max_value[k], v);
  }
  const auto n = static_cast<double>(values.size());
  for (int k = 0; k < n_tiers; ++k) {
    s.customer_share.push_back(n > 0 ? static_cast<double>(s.customers[k]) / n : 0.0);
    s.value_share.push_back(total != 0 ? s.value[k] / total : std::numeric_limits<double>::quiet_NaN());
  }
  return s;
}

}  // namespace custmine::tiering
