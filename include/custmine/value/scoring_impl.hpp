// Definitions for scoring.hpp.
#pragma once

#include <algorithm>
#include <cmath>
#include <numeric>

#include "custmine/core/error.hpp"
#include "custmine/value/scoring.hpp"

namespace custmine::value {

namespace detail {
/// Average ranks (1..n) with ties sharing their mean rank.
inline std::vector<double> average_ranks(const double* v, Index n, Index stride) {
  std::vector<Index> idx(n);
  std::iota(idx.begin(), idx.end(), 0);
  std::stable_sort(idx.begin(), idx.end(), [&](Index a, Index b) { return v[a * stride] < v[b * stride]; });
  std::vector<double> r(n);
  for (Index i = 0; i < n;) {
    Index j = i;
    while (j + 1 < n && v[idx[j + 1] * stride] == v[idx[i] * stride]) ++j;
    const double avg = 0.5 * static_cast<double>(i + j) + 1.0;
    for (Index k = i; k <= j; ++k) r[idx[k]] = avg;
    i = j + 1;
  }
  return r;
}
}  // namespace detail

CUSTMINE_VALUE_API ScoreResult weighted_score(MatrixView<double> X, std::span<const double> weights,
                                              std::span<const std::uint8_t> higher_is_better, const ScoreParams& p) {
  constexpr std::string_view where = "weighted_score";
  const Index n = X.rows(), m = X.cols();
  check_nonempty(where, "X", n);
  require(m >= 1, where, "X needs at least one indicator column");
  require(static_cast<Index>(weights.size()) == m, where, "weights has ", weights.size(), " values but X has ", m, " columns");
  require(static_cast<Index>(higher_is_better.size()) == m, where, "directions has ", higher_is_better.size(),
          " values but X has ", m, " columns");
  check_finite(where, "X", X);
  double total = 0;
  for (std::size_t j = 0; j < weights.size(); ++j) {
    require(std::isfinite(weights[j]) && weights[j] >= 0, where, "weights must be finite and non-negative, got ", weights[j],
            " for column ", j);
    total += weights[j];
  }
  require(total > 0, where, "weights must not all be zero");
  if (p.scaling == Scaling::Fixed) {
    require(std::isfinite(p.fixed_low) && std::isfinite(p.fixed_high) && p.fixed_low < p.fixed_high, where,
            "scale must be (low, high) with low < high, got (", p.fixed_low, ", ", p.fixed_high, ")");
    for (Index i = 0; i < n; ++i)
      for (Index j = 0; j < m; ++j)
        if (X(i, j) < p.fixed_low || X(i, j) > p.fixed_high)
          fail(where, "value ", X(i, j), " at row ", i, ", column ", j, " is outside the scale [", p.fixed_low, ", ",
               p.fixed_high, "]");
  }

  ScoreResult r;
  r.weight.resize(m);
  for (Index j = 0; j < m; ++j) r.weight[j] = weights[j] / total;
  r.scaled.resize(n, m);
  for (Index j = 0; j < m; ++j) {
    const auto col = X.col(j);
    const bool up = higher_is_better[j] != 0;
    switch (p.scaling) {
      case Scaling::MinMax: {
        const double lo = col.minCoeff(), hi = col.maxCoeff();
        for (Index i = 0; i < n; ++i) {
          const double z = hi > lo ? (col(i) - lo) / (hi - lo) : 0.5;
          r.scaled(i, j) = up ? z : 1.0 - z;
        }
        break;
      }
      case Scaling::ZScore: {
        const double mean = col.mean();
        double ss = 0;
        for (Index i = 0; i < n; ++i) ss += (col(i) - mean) * (col(i) - mean);
        // Sample standard deviation (ddof = 1), as pandas' std and most textbooks.
        const double sd = n > 1 ? std::sqrt(ss / static_cast<double>(n - 1)) : 0.0;
        for (Index i = 0; i < n; ++i) {
          const double z = sd > 0 ? (col(i) - mean) / sd : 0.0;
          r.scaled(i, j) = up ? z : -z;
        }
        break;
      }
      case Scaling::Rank: {
        const auto ranks = detail::average_ranks(col.data(), n, col.innerStride());
        for (Index i = 0; i < n; ++i) {
          const double z = n > 1 ? (ranks[i] - 1.0) / static_cast<double>(n - 1) : 0.5;
          // all-equal column: every average rank is (n+1)/2, i.e. 0.5 already
          r.scaled(i, j) = up ? z : 1.0 - z;
        }
        break;
      }
      case Scaling::Fixed: {
        for (Index i = 0; i < n; ++i) {
          const double z = (col(i) - p.fixed_low) / (p.fixed_high - p.fixed_low);
          r.scaled(i, j) = up ? z : 1.0 - z;
        }
        break;
      }
    }
  }
  r.contribution.resize(n, m);
  r.score.assign(n, 0.0);
  for (Index i = 0; i < n; ++i)
    for (Index j = 0; j < m; ++j) {
      r.contribution(i, j) = r.weight[j] * r.scaled(i, j);
      r.score[i] += r.contribution(i, j);
    }
  return r;
}

CUSTMINE_VALUE_API std::vector<std::int32_t> grade_by_thresholds(std::span<const double> score,
                                                                 std::span<const double> lower) {
  constexpr std::string_view where = "grade";
  require(!lower.empty(), where, "grades needs at least one threshold");
  for (std::size_t k = 0; k < lower.size(); ++k) {
    require(!std::isnan(lower[k]), where, "grade thresholds must not be NaN");
    if (k > 0) require(lower[k] < lower[k - 1], where, "grade thresholds must be strictly decreasing (best grade first)");
  }
  std::vector<std::int32_t> g(score.size());
  for (std::size_t i = 0; i < score.size(); ++i) {
    std::int32_t k = 0;
    while (k < static_cast<std::int32_t>(lower.size()) && !(score[i] >= lower[k])) ++k;
    g[i] = k;
  }
  return g;
}

CUSTMINE_VALUE_API std::vector<std::int32_t> grade_by_shares(std::span<const double> score,
                                                             std::span<const double> cum_share) {
  constexpr std::string_view where = "grade";
  require(!cum_share.empty(), where, "grades needs at least one group");
  for (std::size_t k = 0; k < cum_share.size(); ++k) {
    require(cum_share[k] > 0 && cum_share[k] <= 1, where, "quantile shares must lie in (0, 1]");
    if (k > 0) require(cum_share[k] > cum_share[k - 1], where, "quantile shares must be positive");
  }
  require(std::abs(cum_share.back() - 1.0) < 1e-9, where, "quantile shares must add up to 1");
  const auto n = static_cast<Index>(score.size());
  std::vector<Index> idx(n);
  std::iota(idx.begin(), idx.end(), 0);
  std::stable_sort(idx.begin(), idx.end(), [&](Index a, Index b) { return score[a] > score[b]; });
  std::vector<std::int32_t> g(n);
  std::int32_t k = 0;
  const auto K = static_cast<std::int32_t>(cum_share.size());
  for (Index r = 0; r < n; ++r) {
    const Index rank = r + 1;
    while (k < K - 1 && static_cast<double>(rank) > std::ceil(cum_share[k] * static_cast<double>(n) - 1e-9)) ++k;
    // equal scores share the grade of the best-ranked of them
    g[idx[r]] = (r > 0 && score[idx[r]] == score[idx[r - 1]]) ? g[idx[r - 1]] : k;
  }
  return g;
}

CUSTMINE_VALUE_API double split_value(std::span<const double> v, Split how, double value) {
  constexpr std::string_view where = "split";
  if (how == Split::Value) {
    require(std::isfinite(value), where, "split value must be finite, got ", value);
    return value;
  }
  require(!v.empty(), where, "cannot split an empty score");
  if (how == Split::Mean) {
    double s = 0;
    for (double x : v) s += x;
    return s / static_cast<double>(v.size());
  }
  std::vector<double> c(v.begin(), v.end());
  const std::size_t h = c.size() / 2;
  std::nth_element(c.begin(), c.begin() + h, c.end());
  const double hi = c[h];
  if (c.size() % 2) return hi;
  return 0.5 * (hi + *std::max_element(c.begin(), c.begin() + h));
}

CUSTMINE_VALUE_API std::vector<std::int32_t> quadrants(std::span<const double> x, std::span<const double> y,
                                                       double split_x, double split_y) {
  check_same_length("quadrants", "x", static_cast<Index>(x.size()), "y", static_cast<Index>(y.size()));
  std::vector<std::int32_t> q(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) {
    const bool hx = x[i] > split_x, hy = y[i] > split_y;
    q[i] = hy ? (hx ? 0 : 1) : (hx ? 2 : 3);
  }
  return q;
}

}  // namespace custmine::value
