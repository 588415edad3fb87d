// Definitions for metrics/classification.hpp (float/double instantiated in
// src/metrics/classification.cpp).
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <thread>

#include "custmine/core/threading.hpp"
#include "custmine/metrics/classification.hpp"

namespace custmine::metrics {

namespace detail {

/// Sorts v by a strict weak order on n_threads: each thread sorts one chunk, then chunks
/// are merged pairwise (merges of one round also run in parallel).
template <class Item, class Less>
void parallel_sort(std::vector<Item>& v, Less less, int n_threads) {
  const Index n = static_cast<Index>(v.size());
  int threads = resolve_threads(n_threads);
  if (n < 100000) threads = 1;  // thread start-up dominates below this size
  if (threads <= 1) {
    std::sort(v.begin(), v.end(), less);
    return;
  }
  std::vector<Index> bounds(threads + 1);
  for (int t = 0; t <= threads; ++t) bounds[t] = n * t / threads;
  parallel_for(threads, threads, [&](Index t, int) {
    std::sort(v.begin() + bounds[t], v.begin() + bounds[t + 1], less);
  });
  while (bounds.size() > 2) {
    std::vector<Index> next;
    const Index parts = static_cast<Index>(bounds.size()) - 1;
    const Index pairs = parts / 2;
    parallel_for(pairs, threads, [&](Index p, int) {
      std::inplace_merge(v.begin() + bounds[2 * p], v.begin() + bounds[2 * p + 1],
                         v.begin() + bounds[2 * p + 2], less);
    });
    for (Index i = 0; i < parts; i += 2) next.push_back(bounds[i]);
    next.push_back(bounds[parts]);
    bounds = std::move(next);
  }
}

inline void check_weights(std::string_view where, std::span<const double> w, std::size_t n) {
  if (w.empty()) return;
  check_same_length(where, "sample_weight", static_cast<Index>(w.size()), "y_true", static_cast<Index>(n));
  for (std::size_t i = 0; i < w.size(); ++i)
    if (!(w[i] >= 0.0) || !std::isfinite(w[i]))
      fail(where, "sample_weight must be finite and non-negative (position ", i, " is ", w[i], ")");
}

template <class T>
void check_binary_inputs(std::string_view where, std::span<const std::uint8_t> y, std::span<const T> s,
                         std::span<const double> w) {
  check_nonempty(where, "y_true", static_cast<Index>(y.size()));
  check_same_length(where, "y_true", static_cast<Index>(y.size()), "y_score", static_cast<Index>(s.size()));
  check_finite(where, "y_score", s);
  for (std::size_t i = 0; i < y.size(); ++i)
    if (y[i] > 1) fail(where, "y_true must hold 0/1 labels (position ", i, " is ", int(y[i]), ")");
  check_weights(where, w, y.size());
}

struct Scored {
  double s;
  double w;
  std::uint8_t y;
};

/// Walks the distinct thresholds from the highest score down, calling
/// visit(threshold, tps, fps) once per distinct score; returns {P, N}.
template <class T, class Visit>
std::pair<double, double> scan(std::span<const std::uint8_t> y, std::span<const T> s, std::span<const double> w,
                               int n_threads, Visit&& visit) {
  const std::size_t n = y.size();
  std::vector<Scored> items(n);
  for (std::size_t i = 0; i < n; ++i) items[i] = {static_cast<double>(s[i]), w.empty() ? 1.0 : w[i], y[i]};
  parallel_sort(items, [](const Scored& a, const Scored& b) { return a.s > b.s; }, n_threads);
  double tp = 0, fp = 0;
  for (std::size_t i = 0; i < n; ++i) {
    (items[i].y ? tp : fp) += items[i].w;
    if (i + 1 == n || items[i + 1].s != items[i].s) visit(items[i].s, tp, fp);
  }
  return {tp, fp};
}

}  // namespace detail

template <class T>
BinaryCurve binary_curve(std::span<const std::uint8_t> y, std::span<const T> score, std::span<const double> weight,
                         bool drop_intermediate, int n_threads) {
  detail::check_binary_inputs("roc_curve", y, score, weight);
  BinaryCurve c;
  detail::scan(y, score, weight, n_threads, [&](double t, double tp, double fp) {
    c.thresholds.push_back(t);
    c.tps.push_back(tp);
    c.fps.push_back(fp);
  });
  if (drop_intermediate && c.tps.size() > 2) {
    // Keep the ends and every point where the curve bends (non-zero second difference).
    BinaryCurve d;
    const std::size_t m = c.tps.size();
    for (std::size_t i = 0; i < m; ++i) {
      const bool keep = i == 0 || i + 1 == m ||
                        (c.fps[i + 1] - 2 * c.fps[i] + c.fps[i - 1]) != 0.0 ||
                        (c.tps[i + 1] - 2 * c.tps[i] + c.tps[i - 1]) != 0.0;
      if (keep) {
        d.thresholds.push_back(c.thresholds[i]);
        d.tps.push_back(c.tps[i]);
        d.fps.push_back(c.fps[i]);
      }
    }
    return d;
  }
  return c;
}

template <class T>
double roc_auc(std::span<const std::uint8_t> y, std::span<const T> score, std::span<const double> weight,
               int n_threads) {
  constexpr std::string_view where = "roc_auc_score";
  detail::check_binary_inputs(where, y, score, weight);
  double area = 0, tp0 = 0, fp0 = 0;
  auto [P, N] = detail::scan(y, score, weight, n_threads, [&](double, double tp, double fp) {
    area += (fp - fp0) * (tp + tp0) * 0.5;  // trapezoid: a tie moves diagonally
    tp0 = tp;
    fp0 = fp;
  });
  if (!(P > 0) || !(N > 0))
    fail(where, "ROC AUC needs both classes in y_true (with positive weight); only one class is present");
  return area / (P * N);
}

template <class T>
double average_precision(std::span<const std::uint8_t> y, std::span<const T> score, std::span<const double> weight,
                         int n_threads) {
  constexpr std::string_view where = "average_precision_score";
  detail::check_binary_inputs(where, y, score, weight);
  double sum = 0, tp0 = 0;
  auto [P, N] = detail::scan(y, score, weight, n_threads, [&](double, double tp, double fp) {
    if (tp + fp > 0) sum += (tp - tp0) * (tp / (tp + fp));
    tp0 = tp;
  });
  (void)N;
  if (!(P > 0)) fail(where, "average precision needs at least one positive in y_true");
  return sum / P;
}

template <class T>
double ks_statistic(std::span<const std::uint8_t> y, std::span<const T> score, std::span<const double> weight,
                    int n_threads) {
  constexpr std::string_view where = "ks_statistic";
  detail::check_binary_inputs(where, y, score, weight);
  std::vector<std::pair<double, double>> pts;
  auto [P, N] = detail::scan(y, score, weight, n_threads, [&](double, double tp, double fp) { pts.emplace_back(tp, fp); });
  if (!(P > 0) || !(N > 0)) fail(where, "the KS statistic needs both classes in y_true");
  double best = 0;
  for (auto [tp, fp] : pts) best = std::max(best, std::abs(tp / P - fp / N));
  return best;
}

template <class T>
double brier_score(std::span<const std::uint8_t> y, std::span<const T> proba, std::span<const double> weight) {
  constexpr std::string_view where = "brier_score_loss";
  detail::check_binary_inputs(where, y, proba, weight);
  double num = 0, den = 0;
  for (std::size_t i = 0; i < y.size(); ++i) {
    const double p = static_cast<double>(proba[i]);
    if (p < 0.0 || p > 1.0) fail(where, "y_proba must lie in [0, 1] (position ", i, " is ", p, ")");
    const double w = weight.empty() ? 1.0 : weight[i];
    num += w * (p - y[i]) * (p - y[i]);
    den += w;
  }
  require(den > 0, where, "sample_weight sums to zero");
  return num / den;
}

template <class T>
std::vector<std::int64_t> rank_descending(std::span<const T> score, int n_threads) {
  struct Item {
    double s;
    std::int64_t i;
  };
  std::vector<Item> items(score.size());
  for (std::size_t i = 0; i < score.size(); ++i) items[i] = {static_cast<double>(score[i]), static_cast<std::int64_t>(i)};
  // (score desc, index asc) is a total order, so the result does not depend on threads.
  detail::parallel_sort(items, [](const Item& a, const Item& b) { return a.s > b.s || (a.s == b.s && a.i < b.i); },
                        n_threads);
  std::vector<std::int64_t> order(score.size());
  for (std::size_t i = 0; i < score.size(); ++i) order[i] = items[i].i;
  return order;
}

template <class T>
GainsTable gains_table(std::span<const std::uint8_t> y, std::span<const T> score, int bins, int n_threads) {
  constexpr std::string_view where = "gains_table";
  detail::check_binary_inputs(where, y, score, std::span<const double>{});
  const Index n = static_cast<Index>(y.size());
  require(bins >= 1 && bins <= n, where, "bins must be in 1..n_samples = ", n, " (got ", bins, ")");
  const auto order = rank_descending(score, n_threads);
  GainsTable g;
  g.customers.assign(bins, 0);
  g.responders.assign(bins, 0.0);
  g.min_score.assign(bins, std::numeric_limits<double>::infinity());
  g.max_score.assign(bins, -std::numeric_limits<double>::infinity());
  for (Index r = 0; r < n; ++r) {
    const Index b = static_cast<Index>((static_cast<__int128>(r) * bins) / n);
    const auto i = order[r];
    const double s = static_cast<double>(score[i]);
    g.customers[b] += 1;
    g.responders[b] += y[i];
    g.min_score[b] = std::min(g.min_score[b], s);
    g.max_score[b] = std::max(g.max_score[b], s);
  }
  return g;
}

template <class T>
ProfitCurve profit_curve(std::span<const std::uint8_t> y, std::span<const T> score, double cost, double revenue,
                         int n_threads) {
  constexpr std::string_view where = "profit_curve";
  check_nonempty(where, "y_score", static_cast<Index>(score.size()));
  check_finite(where, "y_score", score);
  require(std::isfinite(cost) && std::isfinite(revenue), where, "cost_per_contact and revenue_per_response must be finite");
  const bool expected = y.empty();
  if (!expected) {
    detail::check_binary_inputs(where, y, score, std::span<const double>{});
  } else {
    for (std::size_t i = 0; i < score.size(); ++i)
      if (score[i] < 0 || score[i] > 1)
        fail(where, "without y_true the scores are response probabilities and must lie in [0, 1] (position ", i,
             " is ", static_cast<double>(score[i]), ")");
  }
  const auto order = rank_descending(score, n_threads);
  ProfitCurve c;
  c.profit.resize(score.size() + 1);
  c.threshold.resize(score.size() + 1);
  c.profit[0] = 0;
  c.threshold[0] = std::numeric_limits<double>::quiet_NaN();
  double responses = 0, best = 0;
  for (std::size_t k = 0; k < order.size(); ++k) {
    const auto i = order[k];
    responses += expected ? static_cast<double>(score[i]) : y[i];
    c.profit[k + 1] = revenue * responses - cost * static_cast<double>(k + 1);
    c.threshold[k + 1] = static_cast<double>(score[i]);
    if (c.profit[k + 1] > best) best = c.profit[k + 1], c.best_k = static_cast<std::int64_t>(k + 1);
  }
  return c;
}

template <class T>
Calibration calibration_curve(std::span<const std::uint8_t> y, std::span<const T> proba, int bins, bool quantile) {
  constexpr std::string_view where = "calibration_curve";
  detail::check_binary_inputs(where, y, proba, std::span<const double>{});
  require(bins >= 1, where, "n_bins must be a positive integer (got ", bins, ")");
  const std::size_t n = proba.size();
  std::vector<double> p(proba.begin(), proba.end());
  for (std::size_t i = 0; i < n; ++i)
    if (p[i] < 0 || p[i] > 1) fail(where, "y_proba must lie in [0, 1] (position ", i, " is ", p[i], ")");
  // Inner edges; quantile edges by linear interpolation between order statistics.
  std::vector<double> edges(bins - 1);
  if (quantile) {
    std::vector<double> sorted = p;
    std::sort(sorted.begin(), sorted.end());
    for (int b = 1; b < bins; ++b) {
      const double pos = static_cast<double>(b) / bins * static_cast<double>(n - 1);
      const auto lo = static_cast<std::size_t>(std::floor(pos));
      const std::size_t hi = std::min(lo + 1, n - 1);
      edges[b - 1] = sorted[lo] + (pos - static_cast<double>(lo)) * (sorted[hi] - sorted[lo]);
    }
  } else {
    for (int b = 1; b < bins; ++b) edges[b - 1] = static_cast<double>(b) / bins;
  }
  std::vector<double> sum_p(bins, 0), sum_y(bins, 0), cnt(bins, 0);
  for (std::size_t i = 0; i < n; ++i) {
    // Bin = number of inner edges strictly below p (numpy searchsorted, side="left").
    const auto b = std::lower_bound(edges.begin(), edges.end(), p[i]) - edges.begin();
    sum_p[b] += p[i];
    sum_y[b] += y[i];
    cnt[b] += 1;
  }
  Calibration c;
  for (int b = 0; b < bins; ++b)
    if (cnt[b] > 0) {
      c.prob_true.push_back(sum_y[b] / cnt[b]);
      c.prob_pred.push_back(sum_p[b] / cnt[b]);
      c.count.push_back(cnt[b]);
    }
  return c;
}

}  // namespace custmine::metrics
