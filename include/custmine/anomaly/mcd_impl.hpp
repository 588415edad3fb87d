// Definitions for mcd.hpp (instantiated in src/anomaly/mcd.cpp with FastMCD itself).
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "custmine/anomaly/mcd.hpp"
#include "custmine/core/threading.hpp"

namespace custmine::anomaly {

template <class T>
void EllipticEnvelope<T>::Params::validate() const {
  constexpr std::string_view w = "EllipticEnvelope";
  require(support_fraction <= 0 || (support_fraction > 0 && support_fraction <= 1), w,
          "support_fraction must be None or a float in (0, 1], got ", support_fraction);
  require(n_trials >= 1 && n_trials <= 100000, w, "n_trials must be a positive integer, got ", n_trials);
  contamination.validate(w, false);
}

template <class T>
EllipticEnvelope<T>& EllipticEnvelope<T>::fit(MatrixView<T> X) {
  constexpr std::string_view where = "EllipticEnvelope::fit";
  params_.validate();
  check_fit_input<T>(where, X, 2);
  const Index n = X.rows(), d = X.cols();
  const RowMatrix<double> Xd = X.template cast<double>();
  Index h = params_.support_fraction > 0 ? static_cast<Index>(params_.support_fraction * static_cast<double>(n))
                                         : static_cast<Index>(std::ceil(0.5 * static_cast<double>(n + d + 1)));
  h = std::clamp<Index>(h, 1, n);
  if (d == 1) {
    // scikit-learn's univariate rule: centre of the shortest window of h + 1 sorted values.
    std::vector<double> v(Xd.data(), Xd.data() + n);
    std::sort(v.begin(), v.end());
    double best = std::numeric_limits<double>::infinity();
    for (Index i = 0; i + h < n; ++i) best = std::min(best, v[i + h] - v[i]);
    double centre = 0;
    Index count = 0;
    for (Index i = 0; i + h < n; ++i)
      if (v[i + h] - v[i] == best) {
        centre += 0.5 * (v[i + h] + v[i]);
        ++count;
      }
    centre = count ? centre / static_cast<double>(count) : v[n / 2];
    std::vector<Index> order(static_cast<std::size_t>(n));
    std::iota(order.begin(), order.end(), Index{0});
    std::stable_sort(order.begin(), order.end(),
                     [&](Index a, Index b) { return std::abs(Xd(a, 0) - centre) < std::abs(Xd(b, 0) - centre); });
    double m = 0, ss = 0;
    for (Index i = 0; i < h; ++i) m += Xd(order[i], 0);
    m /= static_cast<double>(h);
    for (Index i = 0; i < h; ++i) ss += (Xd(order[i], 0) - m) * (Xd(order[i], 0) - m);
    raw_location_ = Vector<double>::Constant(1, centre);
    raw_covariance_ = RowMatrix<double>::Constant(1, 1, ss / static_cast<double>(h));
  } else {
    McdRaw raw = fast_mcd(Xd, h, params_.seed, params_.n_trials);
    raw_location_ = raw.location;
    raw_covariance_ = raw.covariance;
  }
  // Consistency correction (median distance to the chi2 median), then reweighting.
  auto distances = [&](const Vector<double>& mu, const RowMatrix<double>& prec) {
    Vector<double> out(n);
    for (Index i = 0; i < n; ++i) {
      const Vector<double> z = Xd.row(i).transpose() - mu;
      out[i] = z.dot(prec * z);
    }
    return out;
  };
  Vector<double> raw_dist = distances(raw_location_, pinv_symmetric(raw_covariance_));
  const double med = percentile(std::vector<double>(raw_dist.data(), raw_dist.data() + n), 50.0);
  const double correction = med > 0 ? med / chi2_quantile(0.5, static_cast<int>(d)) : 1.0;
  // raw_covariance_ stays uncorrected, as scikit-learn's attribute; only the distances
  // used for reweighting are corrected.
  raw_dist /= correction;
  const double cut = chi2_quantile(0.975, static_cast<int>(d));
  support_.assign(static_cast<std::size_t>(n), 0);
  Index m = 0;
  location_ = Vector<double>::Zero(d);
  for (Index i = 0; i < n; ++i)
    if (raw_dist[i] < cut) {
      support_[i] = 1;
      location_ += Xd.row(i).transpose();
      ++m;
    }
  if (m == 0) {  // degenerate data: keep the raw estimate
    location_ = raw_location_;
    covariance_ = raw_covariance_;
  } else {
    location_ /= static_cast<double>(m);
    covariance_ = RowMatrix<double>::Zero(d, d);
    for (Index i = 0; i < n; ++i)
      if (support_[i]) {
        const Vector<double> z = Xd.row(i).transpose() - location_;
        covariance_.noalias() += z * z.transpose();
      }
    covariance_ /= static_cast<double>(m);
  }
  precision_ = pinv_symmetric(covariance_);
  dist_ = distances(location_, precision_);
  this->n_features_ = d;
  this->offset_ = offset_from_scores(-dist_, params_.contamination, 0.0);
  this->profile_ = feature_ranges<T>(X);
  this->profile_.baseline = column_medians(explain(baseline_rows<T>(X)));
  return *this;
}

template <class T>
Vector<double> EllipticEnvelope<T>::mahalanobis(MatrixView<T> X) const {
  return explain(X).rowwise().sum();
}

template <class T>
Vector<double> EllipticEnvelope<T>::score_samples(MatrixView<T> X) const {
  return -mahalanobis(X);
}

template <class T>
RowMatrix<double> EllipticEnvelope<T>::explain(MatrixView<T> X) const {
  check_score_input<T>("EllipticEnvelope::score_samples", X, this->n_features_, is_fitted());
  const RowMatrix<double> Z = X.template cast<double>().rowwise() - location_.transpose();
  RowMatrix<double> PZ = Z * precision_;  // precision is symmetric
  return Z.cwiseProduct(PZ);
}

template <class T>
ModelDocument EllipticEnvelope<T>::to_document() const {
  if (!is_fitted()) fail<NotFittedError>("EllipticEnvelope::to_document", "this EllipticEnvelope is not fitted yet");
  ModelDocument doc;
  doc.estimator = "EllipticEnvelope";
  doc.params["support_fraction"] = params_.support_fraction;
  doc.params["contamination"] = params_.contamination.to_json();
  doc.params["seed"] = params_.seed;
  doc.params["n_trials"] = params_.n_trials;
  this->write_common(doc);
  doc.state["location"] = json_doubles_array(location_.data(), static_cast<std::size_t>(location_.size()));
  doc.state["covariance"] = json_doubles_array(covariance_.data(), static_cast<std::size_t>(covariance_.size()));
  doc.state["raw_location"] = json_doubles_array(raw_location_.data(), static_cast<std::size_t>(raw_location_.size()));
  doc.state["raw_covariance"] =
      json_doubles_array(raw_covariance_.data(), static_cast<std::size_t>(raw_covariance_.size()));
  doc.state["support"] = json_array(std::vector<std::int64_t>(support_.begin(), support_.end()));
  doc.state["dist"] = json_doubles_array(dist_.data(), static_cast<std::size_t>(dist_.size()));
  return doc;
}

template <class T>
EllipticEnvelope<T> EllipticEnvelope<T>::from_document(const ModelDocument& doc) {
  constexpr std::string_view where = "EllipticEnvelope document";
  if (doc.estimator != "EllipticEnvelope") fail<SerializationError>(where, "holds a '", doc.estimator, "' model");
  Params p;
  p.support_fraction = json_double(doc.params, "support_fraction", where);
  p.contamination = Contamination::from_json(doc.params, where);
  p.seed = static_cast<std::uint64_t>(json_int(doc.params, "seed", where));
  p.n_trials = static_cast<int>(json_size(doc.params, "n_trials", 1, 100000, where));
  try {
    p.validate();
  } catch (const InvalidArgument& e) {
    fail<SerializationError>(where, "invalid parameters (", e.what(), ")");
  }
  EllipticEnvelope m(p);
  m.read_common(doc, where);
  const Index d = m.n_features_;
  if (d > 100000) fail<SerializationError>(where, "too many features");
  auto fin = [&](std::vector<double> v, const char* key) {
    for (double x : v)
      if (!std::isfinite(x)) fail<SerializationError>(where, "field '", key, "' must hold finite numbers");
    return v;
  };
  auto loc = fin(json_doubles_n(doc.state, "location", static_cast<std::size_t>(d), where), "location");
  auto cov = fin(json_doubles_n(doc.state, "covariance", static_cast<std::size_t>(d * d), where), "covariance");
  auto rloc = fin(json_doubles_n(doc.state, "raw_location", static_cast<std::size_t>(d), where), "raw_location");
  auto rcov = fin(json_doubles_n(doc.state, "raw_covariance", static_cast<std::size_t>(d * d), where), "raw_covariance");
  auto dist = fin(json_doubles(doc.state, "dist", where), "dist");
  auto sup = json_ints_n(doc.state, "support", dist.size(), where);
  m.location_ = Eigen::Map<Vector<double>>(loc.data(), d);
  m.covariance_ = Eigen::Map<RowMatrix<double>>(cov.data(), d, d);
  m.raw_location_ = Eigen::Map<Vector<double>>(rloc.data(), d);
  m.raw_covariance_ = Eigen::Map<RowMatrix<double>>(rcov.data(), d, d);
  m.dist_ = Eigen::Map<Vector<double>>(dist.data(), static_cast<Index>(dist.size()));
  for (auto s : sup) {
    if (s != 0 && s != 1) fail<SerializationError>(where, "field 'support' must hold 0 or 1");
    m.support_.push_back(static_cast<std::uint8_t>(s));
  }
  if (!m.covariance_.isApprox(m.covariance_.transpose(), 1e-9)) fail<SerializationError>(where, "covariance must be symmetric");
  m.precision_ = pinv_symmetric(m.covariance_);
  return m;
}

}  // namespace custmine::anomaly
