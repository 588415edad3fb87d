// Definitions for lof.hpp (instantiated in src/anomaly/lof.cpp).
#pragma once

#include <algorithm>
#include <cmath>

#include "custmine/anomaly/lof.hpp"
#include "custmine/core/threading.hpp"

namespace custmine::anomaly {

template <class T>
void LocalOutlierFactor<T>::Params::validate() const {
  constexpr std::string_view w = "LocalOutlierFactor";
  require(n_neighbors >= 1, w, "n_neighbors must be a positive integer, got ", n_neighbors);
  contamination.validate(w, true);
  resolve_threads(n_threads, w);
}

template <class T>
LocalOutlierFactor<T>& LocalOutlierFactor<T>::fit(MatrixView<T> X) {
  constexpr std::string_view where = "LocalOutlierFactor::fit";
  params_.validate();
  check_fit_input<T>(where, X);
  const Index n = X.rows();
  require(params_.n_neighbors < n, where, "n_neighbors (", params_.n_neighbors,
          ") must be less than the number of samples, got n_samples = ", n);
  RowMatrix<double> Xd = X.template cast<double>();
  index_ = NeighborIndex(Xd, params_.n_neighbors + 1, params_.n_threads, params_.algorithm);
  Neighbors nb = index_.search<double>(Xd, Xd, params_.n_neighbors, true, params_.n_threads);
  X_ = std::move(Xd);
  train_idx_ = std::move(nb.index);
  train_dist_ = std::move(nb.distance);
  this->n_features_ = X.cols();
  derive_state();
  this->offset_ = offset_from_scores(nof_, params_.contamination, -1.5);
  this->profile_ = feature_ranges<T>(X, params_.n_threads);
  // Baseline: column medians of the training rows' contributions (with their own neighbours),
  // on the rows the other detectors take theirs from (all 25k rows of campaign took 4 % of a fit).
  const std::vector<Index> ids = baseline_row_ids(n);
  const Index nb_rows = static_cast<Index>(ids.size());
  RowMatrix<double> Qs(nb_rows, X_.cols());
  RowMatrix<std::int64_t> Is(nb_rows, train_idx_.cols());
  for (Index r = 0; r < nb_rows; ++r) {
    Qs.row(r) = X_.row(ids[static_cast<std::size_t>(r)]);
    Is.row(r) = train_idx_.row(ids[static_cast<std::size_t>(r)]);
  }
  this->profile_.baseline = column_medians(contributions(Qs, Is));
  return *this;
}

template <class T>
void LocalOutlierFactor<T>::derive_state() {
  const Index n = X_.rows(), k = train_idx_.cols(), d = X_.cols();
  kdist_ = train_dist_.col(k - 1);
  lrd_.resize(n);
  for (Index i = 0; i < n; ++i) {
    double s = 0;
    for (Index j = 0; j < k; ++j) s += std::max(train_dist_(i, j), kdist_[train_idx_(i, j)]);
    lrd_[i] = 1.0 / (s / static_cast<double>(k) + 1e-10);
  }
  nof_.resize(n);
  for (Index i = 0; i < n; ++i) {
    double s = 0;
    for (Index j = 0; j < k; ++j) s += lrd_[train_idx_(i, j)] / lrd_[i];
    nof_[i] = -s / static_cast<double>(k);
  }
  // Mean squared neighbour difference per feature: partial sums over fixed blocks of 1,024
  // rows, added in block order, so the scale does not depend on the thread count.
  constexpr Index kRows = 1024;
  const Index n_blocks = (n + kRows - 1) / kRows;
  RowMatrix<double> partial = RowMatrix<double>::Zero(n_blocks, d);
  parallel_for(n_blocks, params_.n_threads, [&](Index b, int) {
    for (Index i = b * kRows; i < std::min(n, b * kRows + kRows); ++i)
      for (Index j = 0; j < k; ++j) partial.row(b) += (X_.row(i) - X_.row(train_idx_(i, j))).array().square().matrix();
  });
  scale_ = Vector<double>::Zero(d);
  for (Index b = 0; b < n_blocks; ++b) scale_ += partial.row(b).transpose();
  scale_ /= static_cast<double>(n * k);
  for (Index f = 0; f < d; ++f)
    if (!(scale_[f] > 0)) scale_[f] = 1.0;  // constant feature: raw squared units
}

template <class T>
Neighbors LocalOutlierFactor<T>::kneighbors(MatrixView<T> X) const {
  check_score_input<T>("LocalOutlierFactor::kneighbors", X, this->n_features_, is_fitted());
  return index_.template search<T>(X_, X, params_.n_neighbors, false, params_.n_threads);
}

template <class T>
Vector<double> LocalOutlierFactor<T>::score_samples(MatrixView<T> X) const {
  check_score_input<T>("LocalOutlierFactor::score_samples", X, this->n_features_, is_fitted());
  const Neighbors nb = index_.template search<T>(X_, X, params_.n_neighbors, false, params_.n_threads);
  const Index m = X.rows(), k = nb.index.cols();
  Vector<double> out(m);
  for (Index i = 0; i < m; ++i) {
    double reach = 0, ratio = 0;
    for (Index j = 0; j < k; ++j) reach += std::max(nb.distance(i, j), kdist_[nb.index(i, j)]);
    const double lrd = 1.0 / (reach / static_cast<double>(k) + 1e-10);
    for (Index j = 0; j < k; ++j) ratio += lrd_[nb.index(i, j)] / lrd;
    out[i] = -ratio / static_cast<double>(k);
  }
  return out;
}

template <class T>
RowMatrix<double> LocalOutlierFactor<T>::contributions(const RowMatrix<double>& Q,
                                                       const RowMatrix<std::int64_t>& idx) const {
  const Index m = Q.rows(), k = idx.cols(), d = Q.cols();
  RowMatrix<double> C = RowMatrix<double>::Zero(m, d);
  parallel_chunks(m, params_.n_threads, [&](Index b, Index e, int) {
    for (Index i = b; i < e; ++i) {
      for (Index j = 0; j < k; ++j) C.row(i) += (Q.row(i) - X_.row(idx(i, j))).array().square().matrix();
      C.row(i) = (C.row(i).array() / (static_cast<double>(k) * scale_.transpose().array())).matrix();
    }
  });
  return C;
}

template <class T>
RowMatrix<double> LocalOutlierFactor<T>::explain(MatrixView<T> X) const {
  check_score_input<T>("LocalOutlierFactor::explain", X, this->n_features_, is_fitted());
  const Neighbors nb = index_.template search<T>(X_, X, params_.n_neighbors, false, params_.n_threads);
  return contributions(X.template cast<double>(), nb.index);
}

template <class T>
RowMatrix<double> LocalOutlierFactor<T>::explain_training() const {
  if (!is_fitted()) fail<NotFittedError>("LocalOutlierFactor::explain", "this model is not fitted yet; call fit first");
  return contributions(X_, train_idx_);
}

template <class T>
ModelDocument LocalOutlierFactor<T>::to_document() const {
  if (!is_fitted()) fail<NotFittedError>("LocalOutlierFactor::to_document", "this LocalOutlierFactor is not fitted yet");
  ModelDocument doc;
  doc.estimator = "LocalOutlierFactor";
  doc.params["n_neighbors"] = params_.n_neighbors;
  doc.params["novelty"] = params_.novelty;
  doc.params["contamination"] = params_.contamination.to_json();
  doc.params["n_threads"] = params_.n_threads;
  doc.params["algorithm"] = algorithm_name(params_.algorithm);
  this->write_common(doc);
  doc.state["n_samples"] = X_.rows();
  doc.state["X"] = json_doubles_array(X_.data(), static_cast<std::size_t>(X_.size()));
  doc.state["neighbors"] = json_array(std::vector<std::int64_t>(train_idx_.data(), train_idx_.data() + train_idx_.size()));
  doc.state["distances"] = json_doubles_array(train_dist_.data(), static_cast<std::size_t>(train_dist_.size()));
  return doc;
}

template <class T>
LocalOutlierFactor<T> LocalOutlierFactor<T>::from_document(const ModelDocument& doc) {
  constexpr std::string_view where = "LocalOutlierFactor document";
  if (doc.estimator != "LocalOutlierFactor") fail<SerializationError>(where, "holds a '", doc.estimator, "' model");
  Params p;
  p.n_neighbors = static_cast<int>(json_size(doc.params, "n_neighbors", 1, 1 << 30, where));
  p.novelty = json_bool(doc.params, "novelty", where);
  p.contamination = Contamination::from_json(doc.params, where);
  p.n_threads = static_cast<int>(json_size(doc.params, "n_threads", -1024, 1024, where));
  if (const auto* a = doc.params.if_contains("algorithm")) {  // absent from documents before 2026-12
    if (!a->is_string()) fail<SerializationError>(where, "field 'algorithm' must be a string");
    p.algorithm = parse_algorithm(std::string(a->as_string()), where);
  }
  LocalOutlierFactor m(p);
  m.read_common(doc, where);
  const Index n = json_size(doc.state, "n_samples", p.n_neighbors + 1, std::int64_t{1} << 32, where);
  const Index d = m.n_features_, k = p.n_neighbors;
  auto X = json_doubles_n(doc.state, "X", static_cast<std::size_t>(n * d), where);
  auto idx = json_ints_n(doc.state, "neighbors", static_cast<std::size_t>(n * k), where);
  auto dist = json_doubles_n(doc.state, "distances", static_cast<std::size_t>(n * k), where);
  for (double v : X)
    if (!std::isfinite(v)) fail<SerializationError>(where, "field 'X' must hold finite numbers");
  for (auto v : idx)
    if (v < 0 || v >= n) fail<SerializationError>(where, "field 'neighbors' holds an index outside 0..", n - 1);
  for (double v : dist)
    if (!(v >= 0) || !std::isfinite(v)) fail<SerializationError>(where, "field 'distances' must hold finite numbers >= 0");
  m.X_ = Eigen::Map<RowMatrix<double>>(X.data(), n, d);
  m.train_idx_ = Eigen::Map<RowMatrix<std::int64_t>>(idx.data(), n, k);
  m.train_dist_ = Eigen::Map<RowMatrix<double>>(dist.data(), n, k);
  m.derive_state();
  m.index_ = NeighborIndex(m.X_, k + 1, p.n_threads, p.algorithm);
  return m;
}

}  // namespace custmine::anomaly
