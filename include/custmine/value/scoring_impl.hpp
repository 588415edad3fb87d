// Definitions for scoring.hpp.
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
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

// ---- WeightedGrader ---------------------------------------------------------------

namespace detail {
inline const char* scaling_name(Scaling s) {
  switch (s) {
    case Scaling::MinMax: return "minmax";
    case Scaling::ZScore: return "zscore";
    case Scaling::Rank: return "rank";
    default: return "fixed";
  }
}
}  // namespace detail

CUSTMINE_VALUE_API void WeightedGrader::Params::validate() const {
  constexpr std::string_view where = "Grader";
  require(scaling != Scaling::Fixed, where, "method must be 'minmax', 'zscore' or 'rank'");
  require(cum_shares.empty() != thresholds.empty(), where, "give either quantile shares or thresholds for the grades");
  if (!cum_shares.empty()) {
    for (std::size_t k = 0; k < cum_shares.size(); ++k) {
      require(cum_shares[k] > 0 && cum_shares[k] <= 1, where, "quantile shares must lie in (0, 1]");
      if (k > 0) require(cum_shares[k] > cum_shares[k - 1], where, "quantile shares must be positive");
    }
    require(std::abs(cum_shares.back() - 1.0) < 1e-9, where, "quantile shares must add up to 1");
  }
  for (std::size_t k = 0; k < thresholds.size(); ++k) {
    require(!std::isnan(thresholds[k]), where, "grade thresholds must not be NaN");
    if (k > 0) require(thresholds[k] < thresholds[k - 1], where, "grade thresholds must be strictly decreasing");
  }
}

CUSTMINE_VALUE_API WeightedGrader& WeightedGrader::fit(MatrixView<double> X) {
  constexpr std::string_view where = "Grader::fit";
  params_.validate();
  const Index n = X.rows(), m = X.cols();
  check_nonempty(where, "X", n);
  require(m >= 1, where, "X needs at least one column");
  std::vector<double> w = params_.weights.empty() ? std::vector<double>(m, 1.0) : params_.weights;
  std::vector<std::uint8_t> up =
      params_.higher_is_better.empty() ? std::vector<std::uint8_t>(m, 1) : params_.higher_is_better;
  // weighted_score validates shapes, weights and finiteness and gives the reference scores.
  const ScoreResult ref = weighted_score(X, w, up, ScoreParams{params_.scaling});
  params_.weights = std::move(w);
  params_.higher_is_better = std::move(up);
  weight_ = ref.weight;
  a_.assign(m, 0.0);
  b_.assign(m, 0.0);
  sorted_.clear();
  for (Index j = 0; j < m; ++j) {
    const auto col = X.col(j);
    if (params_.scaling == Scaling::MinMax) {
      a_[j] = col.minCoeff();
      b_[j] = col.maxCoeff();
    } else if (params_.scaling == Scaling::ZScore) {
      a_[j] = col.mean();
      double ss = 0;
      for (Index i = 0; i < n; ++i) ss += (col(i) - a_[j]) * (col(i) - a_[j]);
      b_[j] = n > 1 ? std::sqrt(ss / static_cast<double>(n - 1)) : 0.0;
    } else {
      std::vector<double> v(n);
      for (Index i = 0; i < n; ++i) v[i] = col(i);
      std::sort(v.begin(), v.end());
      sorted_.push_back(std::move(v));
    }
  }
  if (!params_.thresholds.empty()) {
    lower_ = params_.thresholds;
  } else {
    const auto g = grade_by_shares(ref.score, params_.cum_shares);
    const std::size_t K = params_.cum_shares.size();
    std::vector<double> lo(K, std::numeric_limits<double>::infinity());
    for (std::size_t i = 0; i < g.size(); ++i) lo[g[i]] = std::min(lo[g[i]], ref.score[i]);
    // An empty grade (ties pulled its rows up) keeps the previous bound, so it is never chosen;
    // the last grade takes everything below.
    for (std::size_t k = 1; k < K; ++k) lo[k] = std::min(lo[k], lo[k - 1]);
    lo[K - 1] = -std::numeric_limits<double>::infinity();
    lower_ = std::move(lo);
  }
  return *this;
}

CUSTMINE_VALUE_API double WeightedGrader::scale(Index j, double x) const {
  const bool up = params_.higher_is_better[j] != 0;
  double z;
  switch (params_.scaling) {
    case Scaling::MinMax:
      z = b_[j] > a_[j] ? (x - a_[j]) / (b_[j] - a_[j]) : 0.5;
      return up ? z : 1.0 - z;
    case Scaling::ZScore:
      z = b_[j] > 0 ? (x - a_[j]) / b_[j] : 0.0;
      return up ? z : -z;
    default: {
      const auto& v = sorted_[j];
      const auto n = static_cast<double>(v.size());
      if (v.size() < 2) return 0.5;
      const auto less = static_cast<double>(std::lower_bound(v.begin(), v.end(), x) - v.begin());
      const auto leq = static_cast<double>(std::upper_bound(v.begin(), v.end(), x) - v.begin());
      z = std::clamp(((less + 1.0 + leq) / 2.0 - 1.0) / (n - 1.0), 0.0, 1.0);
      return up ? z : 1.0 - z;
    }
  }
}

CUSTMINE_VALUE_API ScoreResult WeightedGrader::score(MatrixView<double> X) const {
  constexpr std::string_view where = "Grader::transform";
  if (!is_fitted()) fail<NotFittedError>(where, "this Grader is not fitted yet; call fit first");
  const Index n = X.rows(), m = X.cols();
  require<ShapeError>(m == static_cast<Index>(weight_.size()), where, "X has ", m, " columns but the grader was fitted on ",
                      weight_.size());
  check_finite(where, "X", X);
  ScoreResult r;
  r.weight = weight_;
  r.scaled.resize(n, m);
  r.contribution.resize(n, m);
  r.score.assign(n, 0.0);
  for (Index i = 0; i < n; ++i)
    for (Index j = 0; j < m; ++j) {
      r.scaled(i, j) = scale(j, X(i, j));
      r.contribution(i, j) = weight_[j] * r.scaled(i, j);
      r.score[i] += r.contribution(i, j);
    }
  return r;
}

CUSTMINE_VALUE_API std::vector<std::int32_t> WeightedGrader::grade(std::span<const double> score) const {
  if (!is_fitted()) fail<NotFittedError>("Grader::grade", "this Grader is not fitted yet; call fit first");
  std::vector<std::int32_t> g(score.size());
  const auto K = static_cast<std::int32_t>(lower_.size());
  for (std::size_t i = 0; i < score.size(); ++i) {
    std::int32_t k = 0;
    while (k < K && !(score[i] >= lower_[k])) ++k;
    g[i] = k;
  }
  return g;
}

CUSTMINE_VALUE_API ModelDocument WeightedGrader::to_document() const {
  if (!is_fitted()) fail<NotFittedError>("Grader::to_document", "this Grader is not fitted yet");
  ModelDocument doc;
  doc.estimator = "Grader";
  doc.params["method"] = detail::scaling_name(params_.scaling);
  json::array w, up, shares, th;
  for (double x : params_.weights) w.push_back(json_number(x));
  for (auto x : params_.higher_is_better) up.push_back(static_cast<std::int64_t>(x));
  for (double x : params_.cum_shares) shares.push_back(json_number(x));
  for (double x : params_.thresholds) th.push_back(json_number(x));
  doc.params["weights"] = std::move(w);
  doc.params["higher_is_better"] = std::move(up);
  doc.params["cum_shares"] = std::move(shares);
  doc.params["thresholds"] = std::move(th);
  json::array a, b, lower, sorted;
  for (double x : a_) a.push_back(json_number(x));
  for (double x : b_) b.push_back(json_number(x));
  for (double x : lower_) lower.push_back(json_number(x));
  for (const auto& col : sorted_) {
    json::array c;
    for (double x : col) c.push_back(json_number(x));
    sorted.push_back(std::move(c));
  }
  doc.state["a"] = std::move(a);
  doc.state["b"] = std::move(b);
  doc.state["lower"] = std::move(lower);
  doc.state["sorted"] = std::move(sorted);
  return doc;
}

CUSTMINE_VALUE_API WeightedGrader WeightedGrader::from_document(const ModelDocument& doc) {
  constexpr std::string_view where = "Grader document";
  if (doc.estimator != "Grader") fail<SerializationError>(where, "holds a '", doc.estimator, "' model");
  Params p;
  const std::string method = json_string(doc.params, "method", where);
  if (method == "minmax") p.scaling = Scaling::MinMax;
  else if (method == "zscore") p.scaling = Scaling::ZScore;
  else if (method == "rank") p.scaling = Scaling::Rank;
  else fail<SerializationError>(where, "field 'method' must be minmax, zscore or rank, got '", method, "'");
  p.weights = json_doubles(doc.params, "weights", where);
  for (auto x : json_ints(doc.params, "higher_is_better", where)) {
    if (x != 0 && x != 1) fail<SerializationError>(where, "field 'higher_is_better' must hold 0 or 1");
    p.higher_is_better.push_back(static_cast<std::uint8_t>(x));
  }
  p.cum_shares = json_doubles(doc.params, "cum_shares", where);
  p.thresholds = json_doubles(doc.params, "thresholds", where);
  try {
    p.validate();
  } catch (const InvalidArgument& e) {
    fail<SerializationError>(where, e.what());
  }
  const std::size_t m = p.weights.size();
  if (m == 0 || p.higher_is_better.size() != m)
    fail<SerializationError>(where, "fields 'weights' and 'higher_is_better' must hold one value per column");
  double total = 0;
  for (double x : p.weights) {
    if (!std::isfinite(x) || x < 0) fail<SerializationError>(where, "field 'weights' must hold finite values >= 0");
    total += x;
  }
  if (!(total > 0)) fail<SerializationError>(where, "field 'weights' must not all be zero");
  WeightedGrader g(p);
  g.a_ = json_doubles(doc.state, "a", where);
  g.b_ = json_doubles(doc.state, "b", where);
  g.lower_ = json_doubles(doc.state, "lower", where);
  if (g.a_.size() != m || g.b_.size() != m) fail<SerializationError>(where, "fields 'a' and 'b' must hold ", m, " values");
  for (std::size_t j = 0; j < m; ++j)
    if (std::isnan(g.a_[j]) || std::isnan(g.b_[j])) fail<SerializationError>(where, "fields 'a' and 'b' must be numbers");
  if (g.lower_.size() != g.n_grades()) fail<SerializationError>(where, "field 'lower' must hold one bound per grade");
  for (std::size_t k = 0; k < g.lower_.size(); ++k) {
    if (std::isnan(g.lower_[k])) fail<SerializationError>(where, "field 'lower' must not hold NaN");
    if (k > 0 && g.lower_[k] > g.lower_[k - 1]) fail<SerializationError>(where, "field 'lower' must be non-increasing");
  }
  const auto& sv = json_field(doc.state, "sorted", where);
  if (!sv.is_array()) fail<SerializationError>(where, "field 'sorted' must be an array");
  const std::size_t want = p.scaling == Scaling::Rank ? m : 0;
  if (sv.get_array().size() != want) fail<SerializationError>(where, "field 'sorted' must hold ", want, " arrays");
  for (const auto& col : sv.get_array()) {
    json::object wrapper;
    wrapper["v"] = col;
    auto v = json_doubles(wrapper, "v", where);
    if (v.empty() || !std::is_sorted(v.begin(), v.end()))
      fail<SerializationError>(where, "each 'sorted' array must be non-empty and ascending");
    for (double x : v)
      if (!std::isfinite(x)) fail<SerializationError>(where, "each 'sorted' array must hold finite numbers");
    g.sorted_.push_back(std::move(v));
  }
  g.weight_.resize(m);
  for (std::size_t j = 0; j < m; ++j) g.weight_[j] = p.weights[j] / total;
  return g;
}

}  // namespace custmine::value
