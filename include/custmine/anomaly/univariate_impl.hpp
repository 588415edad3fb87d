// Definitions for univariate.hpp (instantiated in src/anomaly/univariate.cpp).
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>

#include "custmine/anomaly/univariate.hpp"
#include "custmine/core/threading.hpp"

namespace custmine::anomaly {

namespace detail {
inline const char* combine_name(Combine c) {
  return c == Combine::Max ? "max" : c == Combine::Mean ? "mean" : "rms";
}
inline Combine combine_from(const std::string& s, std::string_view where) {
  if (s == "max") return Combine::Max;
  if (s == "mean") return Combine::Mean;
  if (s == "rms") return Combine::Rms;
  fail<SerializationError>(where, "field 'combine' must be 'max', 'mean' or 'rms'");
}
inline void check_finite_vec(const std::vector<double>& v, std::string_view key, std::string_view where) {
  for (double x : v)
    if (!std::isfinite(x)) fail<SerializationError>(where, "field '", key, "' must hold finite numbers");
}
template <class T>
std::vector<double> column(MatrixView<T> X, Index j) {
  std::vector<double> c(static_cast<std::size_t>(X.rows()));
  for (Index i = 0; i < X.rows(); ++i) c[i] = static_cast<double>(X(i, j));
  return c;
}
}  // namespace detail

// ---- RobustZScore --------------------------------------------------------------------

template <class T>
void RobustZScore<T>::Params::validate() const {
  contamination.validate("RobustZScore", false);
}

template <class T>
RobustZScore<T>& RobustZScore<T>::fit(MatrixView<T> X) {
  constexpr std::string_view where = "RobustZScore::fit";
  params_.validate();
  check_fit_input<T>(where, X);
  const Index d = X.cols();
  median_.assign(d, 0.0);
  scale_.assign(d, 1.0);
  constant_.assign(d, 0);
  for (Index j = 0; j < d; ++j) {
    auto c = detail::column<T>(X, j);
    const double med = percentile(c, 50.0);
    double mean_ad = 0;
    for (auto& v : c) {
      v = std::abs(v - med);
      mean_ad += v;
    }
    mean_ad /= static_cast<double>(c.size());
    const double mad = percentile(c, 50.0);
    median_[j] = med;
    if (mad > 0) scale_[j] = 1.482602218505602 * mad;  // 1 / Phi^-1(3/4)
    else if (mean_ad > 0) scale_[j] = 1.253314137315500 * mean_ad;  // sqrt(pi / 2)
    else constant_[j] = 1;  // scale stays 1: deviations from a constant count in raw units
  }
  this->n_features_ = d;
  this->finish_fit(X, score_samples(X), params_.contamination, 0.0);
  return *this;
}

template <class T>
RowMatrix<double> RobustZScore<T>::transform(MatrixView<T> X) const {
  check_score_input<T>("RobustZScore::transform", X, this->n_features_, is_fitted());
  RowMatrix<double> Z(X.rows(), X.cols());
  for (Index i = 0; i < X.rows(); ++i)
    for (Index j = 0; j < X.cols(); ++j) Z(i, j) = (static_cast<double>(X(i, j)) - median_[j]) / scale_[j];
  return Z;
}

template <class T>
RowMatrix<double> RobustZScore<T>::explain(MatrixView<T> X) const {
  return transform(X).cwiseAbs();
}

template <class T>
Vector<double> RobustZScore<T>::score_samples(MatrixView<T> X) const {
  const RowMatrix<double> Z = explain(X);
  Vector<double> s(Z.rows());
  for (Index i = 0; i < Z.rows(); ++i) {
    switch (params_.combine) {
      case Combine::Max: s[i] = -Z.row(i).maxCoeff(); break;
      case Combine::Mean: s[i] = -Z.row(i).mean(); break;
      case Combine::Rms: s[i] = -std::sqrt(Z.row(i).squaredNorm() / static_cast<double>(Z.cols())); break;
    }
  }
  return s;
}

template <class T>
ModelDocument RobustZScore<T>::to_document() const {
  if (!is_fitted()) fail<NotFittedError>("RobustZScore::to_document", "this RobustZScore is not fitted yet");
  ModelDocument doc;
  doc.estimator = "RobustZScore";
  doc.params["combine"] = detail::combine_name(params_.combine);
  doc.params["contamination"] = params_.contamination.to_json();
  this->write_common(doc);
  doc.state["median"] = json_doubles_array(median_);
  doc.state["scale"] = json_doubles_array(scale_);
  doc.state["constant"] = json_array(std::vector<std::int64_t>(constant_.begin(), constant_.end()));
  return doc;
}

template <class T>
RobustZScore<T> RobustZScore<T>::from_document(const ModelDocument& doc) {
  constexpr std::string_view where = "RobustZScore document";
  if (doc.estimator != "RobustZScore") fail<SerializationError>(where, "holds a '", doc.estimator, "' model");
  Params p;
  p.combine = detail::combine_from(json_string(doc.params, "combine", where), where);
  p.contamination = Contamination::from_json(doc.params, where);
  if (p.contamination.is_auto) fail<SerializationError>(where, "field 'contamination' must be a number");
  RobustZScore m(p);
  m.read_common(doc, where);
  const auto d = static_cast<std::size_t>(m.n_features_);
  m.median_ = json_doubles_n(doc.state, "median", d, where);
  m.scale_ = json_doubles_n(doc.state, "scale", d, where);
  detail::check_finite_vec(m.median_, "median", where);
  for (double s : m.scale_)
    if (!(s > 0) || !std::isfinite(s)) fail<SerializationError>(where, "field 'scale' must hold positive numbers");
  for (auto c : json_ints_n(doc.state, "constant", d, where)) {
    if (c != 0 && c != 1) fail<SerializationError>(where, "field 'constant' must hold 0 or 1");
    m.constant_.push_back(static_cast<std::uint8_t>(c));
  }
  return m;
}

// ---- HBOS ----------------------------------------------------------------------------

template <class T>
void HBOS<T>::Params::validate() const {
  constexpr std::string_view w = "HBOS";
  require(n_bins >= 2 && n_bins <= 1000000, w, "n_bins must be an integer >= 2, got ", n_bins);
  require(std::isfinite(alpha) && alpha > 0 && alpha < 1, w, "alpha must be a float in (0, 1), got ", alpha);
  require(std::isfinite(tol) && tol >= 0 && tol <= 1, w, "tol must be a float in [0, 1], got ", tol);
  contamination.validate(w, false);
  resolve_threads(n_threads, w);
}

template <class T>
HBOS<T>& HBOS<T>::fit(MatrixView<T> X) {
  constexpr std::string_view where = "HBOS::fit";
  params_.validate();
  check_fit_input<T>(where, X);
  const Index n = X.rows(), d = X.cols(), b = params_.n_bins;
  edges_.resize(d, b + 1);
  density_.resize(d, b);
  // X is row-major: sweep rows and update every feature (a column at a time would stride
  // through memory once per feature). Threads take row chunks; min, max and integer counts
  // merge exactly, so the thread count does not change the result.
  const int threads = static_cast<int>(std::min<Index>(resolve_threads(params_.n_threads), std::max<Index>(n, 1)));
  constexpr double kInf = std::numeric_limits<double>::infinity();
  std::vector<double> lo_t(static_cast<std::size_t>(threads * d), kInf), hi_t(lo_t.size(), -kInf);
  parallel_chunks(n, threads, [&](Index r0, Index r1, int t) {
    double* lo = lo_t.data() + t * d;
    double* hi = hi_t.data() + t * d;
    for (Index i = r0; i < r1; ++i) {
      const T* x = X.row(i).data();
      for (Index j = 0; j < d; ++j) {
        const double v = static_cast<double>(x[j]);
        lo[j] = std::min(lo[j], v);
        hi[j] = std::max(hi[j], v);
      }
    }
  });
  std::vector<double> lo(static_cast<std::size_t>(d), kInf), hi(lo.size(), -kInf), norm(lo.size());
  for (Index j = 0; j < d; ++j) {
    for (int t = 0; t < threads; ++t) {
      lo[j] = std::min(lo[j], lo_t[t * d + j]);
      hi[j] = std::max(hi[j], hi_t[t * d + j]);
    }
    if (lo[j] == hi[j]) {  // numpy widens an empty range to +-0.5 (no division by zero)
      lo[j] -= 0.5;
      hi[j] += 0.5;
    }
    // numpy.linspace: start + i * step, last edge exactly hi.
    const double step = (hi[j] - lo[j]) / static_cast<double>(b);
    for (Index e = 0; e < b; ++e) edges_(j, e) = static_cast<double>(e) * step + lo[j];
    edges_(j, b) = hi[j];
    norm[j] = static_cast<double>(b) / (hi[j] - lo[j]);
  }
  std::vector<std::int64_t> count_t(static_cast<std::size_t>(threads * d * b), 0);
  parallel_chunks(n, threads, [&](Index r0, Index r1, int t) {
    std::int64_t* count = count_t.data() + t * d * b;
    for (Index i = r0; i < r1; ++i) {
      const T* x = X.row(i).data();
      for (Index j = 0; j < d; ++j) {
        const double v = static_cast<double>(x[j]);
        const double* e = edges_.row(j).data();
        // numpy.histogram's equal-width binning, including its edge corrections.
        auto k = static_cast<Index>((v - lo[j]) * norm[j]);
        if (k >= b) k = b - 1;
        if (k < 0) k = 0;
        if (v < e[k]) --k;
        else if (k != b - 1 && v >= e[k + 1]) ++k;
        ++count[j * b + k];
      }
    }
  });
  for (Index j = 0; j < d; ++j)
    for (Index e = 0; e < b; ++e) {
      std::int64_t c = 0;
      for (int t = 0; t < threads; ++t) c += count_t[(t * d + j) * b + e];
      density_(j, e) = static_cast<double>(c) / (static_cast<double>(n) * (edges_(j, e + 1) - edges_(j, e)));
    }
  this->n_features_ = d;
  derive();
  this->finish_fit(X, score_samples(X), params_.contamination, 0.0, params_.n_threads);
  return *this;
}

template <class T>
void HBOS<T>::derive() {
  logd_ = ((density_.array() + params_.alpha).log() / std::log(2.0)).matrix();
  min_logd_.resize(static_cast<std::size_t>(logd_.rows()));
  for (Index j = 0; j < logd_.rows(); ++j) min_logd_[j] = logd_.row(j).minCoeff();
  inv_width_.resize(static_cast<std::size_t>(edges_.rows()));
  for (Index j = 0; j < edges_.rows(); ++j)
    inv_width_[j] = static_cast<double>(params_.n_bins) / (edges_(j, params_.n_bins) - edges_(j, 0));
}

template <class T>
double HBOS<T>::log_density(Index j, double v) const {
  const Index b = params_.n_bins;
  const double* e = edges_.row(j).data();
  // numpy.digitize(right=True) = number of edges strictly below v. Equal-width bins: guess
  // from the position, then step to the exact answer (at most a step or two).
  const double g = std::clamp((v - e[0]) * inv_width_[j], -1.0, static_cast<double>(b) + 1.0);
  Index k = std::clamp<Index>(static_cast<Index>(std::floor(g)) + 1, 0, b + 1);
  while (k > 0 && !(e[k - 1] < v)) --k;
  while (k <= b && e[k] < v) ++k;
  if (k == 0) return (e[0] - v <= (e[1] - e[0]) * params_.tol) ? logd_(j, 0) : min_logd_[j];
  if (k == b + 1) return (v - e[b] <= (e[b] - e[b - 1]) * params_.tol) ? logd_(j, b - 1) : min_logd_[j];
  return logd_(j, k - 1);
}

template <class T>
RowMatrix<double> HBOS<T>::explain(MatrixView<T> X) const {
  check_score_input<T>("HBOS::score_samples", X, this->n_features_, is_fitted());
  const Index m = X.rows(), d = X.cols();
  RowMatrix<double> C(m, d);
  parallel_chunks(m, params_.n_threads, [&](Index r0, Index r1, int) {
    for (Index i = r0; i < r1; ++i)
      for (Index j = 0; j < d; ++j) C(i, j) = -log_density(j, static_cast<double>(X(i, j)));
  });
  return C;
}

template <class T>
Vector<double> HBOS<T>::score_samples(MatrixView<T> X) const {
  check_score_input<T>("HBOS::score_samples", X, this->n_features_, is_fitted());
  const Index m = X.rows(), d = X.cols();
  Vector<double> out(m);
  // The same sum as explain(X).rowwise().sum() (same order: feature 0 first), without the
  // m x d matrix.
  parallel_chunks(m, params_.n_threads, [&](Index r0, Index r1, int) {
    for (Index i = r0; i < r1; ++i) {
      double s = 0;
      for (Index j = 0; j < d; ++j) s += -log_density(j, static_cast<double>(X(i, j)));
      out(i) = -s;
    }
  });
  return out;
}

template <class T>
ModelDocument HBOS<T>::to_document() const {
  if (!is_fitted()) fail<NotFittedError>("HBOS::to_document", "this HBOS is not fitted yet");
  ModelDocument doc;
  doc.estimator = "HBOS";
  doc.params["n_bins"] = params_.n_bins;
  doc.params["alpha"] = params_.alpha;
  doc.params["tol"] = params_.tol;
  doc.params["contamination"] = params_.contamination.to_json();
  doc.params["n_threads"] = params_.n_threads;
  this->write_common(doc);
  doc.state["edges"] = json_doubles_array(edges_.data(), static_cast<std::size_t>(edges_.size()));
  doc.state["density"] = json_doubles_array(density_.data(), static_cast<std::size_t>(density_.size()));
  return doc;
}

template <class T>
HBOS<T> HBOS<T>::from_document(const ModelDocument& doc) {
  constexpr std::string_view where = "HBOS document";
  if (doc.estimator != "HBOS") fail<SerializationError>(where, "holds a '", doc.estimator, "' model");
  Params p;
  p.n_bins = static_cast<int>(json_size(doc.params, "n_bins", 2, 1000000, where));
  p.alpha = json_double(doc.params, "alpha", where);
  p.tol = json_double(doc.params, "tol", where);
  p.contamination = Contamination::from_json(doc.params, where);
  p.n_threads = static_cast<int>(json_size(doc.params, "n_threads", -1024, 1024, where));
  try {
    p.validate();
  } catch (const InvalidArgument& e) {
    fail<SerializationError>(where, "invalid parameters (", e.what(), ")");
  }
  HBOS m(p);
  m.read_common(doc, where);
  const Index d = m.n_features_, b = p.n_bins;
  auto e = json_doubles_n(doc.state, "edges", static_cast<std::size_t>(d * (b + 1)), where);
  auto dens = json_doubles_n(doc.state, "density", static_cast<std::size_t>(d * b), where);
  detail::check_finite_vec(e, "edges", where);
  for (double v : dens)
    if (!(v >= 0) || !std::isfinite(v)) fail<SerializationError>(where, "field 'density' must hold numbers >= 0");
  m.edges_ = Eigen::Map<RowMatrix<double>>(e.data(), d, b + 1);
  for (Index j = 0; j < d; ++j)
    for (Index k = 0; k < b; ++k)
      if (!(m.edges_(j, k) < m.edges_(j, k + 1))) fail<SerializationError>(where, "field 'edges' must increase");
  m.density_ = Eigen::Map<RowMatrix<double>>(dens.data(), d, b);
  m.derive();
  return m;
}

// ---- ECOD ----------------------------------------------------------------------------

template <class T>
void ECOD<T>::Params::validate() const {
  contamination.validate("ECOD", false);
  resolve_threads(n_threads, "ECOD");
}

template <class T>
ECOD<T>& ECOD<T>::fit(MatrixView<T> X) {
  constexpr std::string_view where = "ECOD::fit";
  params_.validate();
  check_fit_input<T>(where, X);
  const Index n = X.rows(), d = X.cols();
  sorted_.resize(d, n);
  skew_.assign(d, 0.0);
  parallel_for(d, params_.n_threads, [&](Index j, int) {
    auto c = detail::column<T>(X, j);
    double mean = 0;
    for (double v : c) mean += v;
    mean /= static_cast<double>(n);
    double m2 = 0, m3 = 0;
    for (double v : c) {
      const double z = v - mean;
      m2 += z * z;
      m3 += z * z * z;
    }
    m2 /= static_cast<double>(n);
    m3 /= static_cast<double>(n);
    // Biased sample skewness (scipy.stats.skew's default); 0 for a constant feature.
    skew_[j] = m2 > 0 ? m3 / std::pow(m2, 1.5) : 0.0;
    std::sort(c.begin(), c.end());
    for (Index i = 0; i < n; ++i) sorted_(j, i) = c[i];
  });
  this->n_features_ = d;
  this->finish_fit(X, score_samples(X), params_.contamination, 0.0, params_.n_threads);
  return *this;
}

template <class T>
void ECOD<T>::tail_scores(MatrixView<T> X, RowMatrix<double>& L, RowMatrix<double>& R) const {
  check_score_input<T>("ECOD::score_samples", X, this->n_features_, is_fitted());
  const Index m = X.rows(), d = X.cols(), n = sorted_.cols();
  // Per feature (rows of L and R here, transposed by the callers' reads): many queries are
  // sorted and merged with the sorted training column in one sequential walk; a binary
  // search per value would miss the cache on every step once the column outgrows it.
  L.resize(d, m);
  R.resize(d, m);
  const double logn = std::log(static_cast<double>(n));
  const bool merge = static_cast<double>(m) * std::log2(static_cast<double>(n) + 1) > static_cast<double>(n);
  parallel_for(d, params_.n_threads, [&](Index j, int) {
    const double* s = sorted_.row(j).data();
    double* lj = L.row(j).data();
    double* rj = R.row(j).data();
    auto put = [&](Index i, Index le, Index ge) {  // le = #{X <= v}, ge = #{X >= v}
      lj[i] = logn - std::log(static_cast<double>(std::max<Index>(le, 1)));
      rj[i] = logn - std::log(static_cast<double>(std::max<Index>(ge, 1)));
    };
    if (!merge) {
      for (Index i = 0; i < m; ++i) {
        const double v = static_cast<double>(X(i, j));
        put(i, std::upper_bound(s, s + n, v) - s, n - (std::lower_bound(s, s + n, v) - s));
      }
      return;
    }
    std::vector<std::pair<double, Index>> q(static_cast<std::size_t>(m));
    for (Index i = 0; i < m; ++i) q[i] = {static_cast<double>(X(i, j)), i};
    std::sort(q.begin(), q.end());
    Index lt = 0, le = 0;  // #{s < v}, #{s <= v} for the current query value
    for (const auto& [v, i] : q) {
      while (lt < n && s[lt] < v) ++lt;
      if (le < lt) le = lt;
      while (le < n && s[le] <= v) ++le;
      put(i, le, n - lt);
    }
  });
}

template <class T>
RowMatrix<double> ECOD<T>::explain(MatrixView<T> X) const {
  RowMatrix<double> L, R;  // features x rows
  tail_scores(X, L, R);
  const Index m = L.cols(), d = L.rows();
  RowMatrix<double> C(m, d);
  if (params_.aggregation == Aggregation::PyOD) {
    for (Index i = 0; i < m; ++i)
      for (Index j = 0; j < d; ++j)
        C(i, j) = skew_[j] == 0.0 ? L(j, i) + R(j, i) : std::max(L(j, i), R(j, i));
    return C;
  }
  // Paper: the dimensional outlier score max(U_l, U_r) of each feature. The terms of the
  // winning sum would miss a feature in the other tail when the rest of the row outweighs
  // it, so the explanation does not sum to the score here.
  for (Index i = 0; i < m; ++i)
    for (Index j = 0; j < d; ++j) C(i, j) = std::max(L(j, i), R(j, i));
  return C;
}

template <class T>
Vector<double> ECOD<T>::score_samples(MatrixView<T> X) const {
  if (params_.aggregation == Aggregation::PyOD) return -explain(X).rowwise().sum();
  RowMatrix<double> L, R;  // features x rows
  tail_scores(X, L, R);
  Vector<double> out(L.cols());
  for (Index i = 0; i < L.cols(); ++i) {
    double sl = 0, sr = 0, sa = 0;
    for (Index j = 0; j < L.rows(); ++j) {
      sl += L(j, i);
      sr += R(j, i);
      sa += skew_[j] < 0 ? L(j, i) : R(j, i);
    }
    out[i] = -std::max({sl, sr, sa});  // the paper's O = max of the three sums
  }
  return out;
}


template <class T>
ModelDocument ECOD<T>::to_document() const {
  if (!is_fitted()) fail<NotFittedError>("ECOD::to_document", "this ECOD is not fitted yet");
  ModelDocument doc;
  doc.estimator = "ECOD";
  doc.params["aggregation"] = params_.aggregation == Aggregation::Paper ? "paper" : "pyod";
  doc.params["contamination"] = params_.contamination.to_json();
  doc.params["n_threads"] = params_.n_threads;
  this->write_common(doc);
  doc.state["n_samples"] = sorted_.cols();
  doc.state["sorted"] = json_doubles_array(sorted_.data(), static_cast<std::size_t>(sorted_.size()));
  doc.state["skewness"] = json_doubles_array(skew_);
  return doc;
}

template <class T>
ECOD<T> ECOD<T>::from_document(const ModelDocument& doc) {
  constexpr std::string_view where = "ECOD document";
  if (doc.estimator != "ECOD") fail<SerializationError>(where, "holds a '", doc.estimator, "' model");
  Params p;
  const auto agg = json_string(doc.params, "aggregation", where);
  if (agg == "paper") p.aggregation = Aggregation::Paper;
  else if (agg == "pyod") p.aggregation = Aggregation::PyOD;
  else fail<SerializationError>(where, "field 'aggregation' must be 'paper' or 'pyod'");
  p.contamination = Contamination::from_json(doc.params, where);
  if (p.contamination.is_auto) fail<SerializationError>(where, "field 'contamination' must be a number");
  p.n_threads = static_cast<int>(json_size(doc.params, "n_threads", -1024, 1024, where));
  ECOD m(p);
  m.read_common(doc, where);
  const Index d = m.n_features_;
  const Index n = json_size(doc.state, "n_samples", 1, std::int64_t{1} << 34, where);
  auto s = json_doubles_n(doc.state, "sorted", static_cast<std::size_t>(d * n), where);
  detail::check_finite_vec(s, "sorted", where);
  m.sorted_ = Eigen::Map<RowMatrix<double>>(s.data(), d, n);
  for (Index j = 0; j < d; ++j)
    for (Index i = 1; i < n; ++i)
      if (m.sorted_(j, i) < m.sorted_(j, i - 1)) fail<SerializationError>(where, "field 'sorted' must be sorted per feature");
  m.skew_ = json_doubles_n(doc.state, "skewness", static_cast<std::size_t>(d), where);
  detail::check_finite_vec(m.skew_, "skewness", where);
  return m;
}

}  // namespace custmine::anomaly
