// Local outlier factor: the ratio of the local reachability density of a sample's k
// nearest neighbours to its own; much above 1 means the sample lies in a sparser region
// than its neighbours.
//
// Reference: M. M. Breunig, H.-P. Kriegel, R. T. Ng, J. Sander (2000), "LOF: Identifying
// Density-Based Local Outliers", SIGMOD. Conventions as scikit-learn's
// LocalOutlierFactor: reach-dist_k(x, o) = max(d(x, o), k-distance(o)),
// lrd(x) = 1 / (mean reach-dist + 1e-10) (so exact duplicates give a large finite
// density, not infinity), score_samples = -LOF, "auto" offset -1.5. In outlier mode
// (novelty = false) the training samples are scored against the other training samples:
// the k+1 nearest neighbours are found and the sample itself is removed, or, when it is
// not among them (more than k duplicates), the first one is, as scikit-learn does.
//
// Neighbours: exact, from a NeighborIndex built at fit (neighbors.hpp: a k-d tree in low
// dimension, a bound on principal axes or blocked brute force above), reused by every
// scoring call.
//
// Attribution (explain): contribution of feature f = mean over the k neighbours o of
// (x_f - o_f)^2, divided by the same quantity averaged over the training samples and
// their neighbours: how much farther than usual x is from its neighbours along f.
#pragma once

#include <cstdint>
#include <vector>

#include "custmine/anomaly/detector.hpp"
#include "custmine/anomaly/neighbors.hpp"

namespace custmine::anomaly {

template <class T>
class LocalOutlierFactor : public DetectorBase<LocalOutlierFactor<T>, T> {
 public:
  struct Params {
    int n_neighbors = 20;
    bool novelty = false;
    Contamination contamination = Contamination::automatic();
    int n_threads = 1;
    /// Neighbour search (neighbors.hpp); the answer is the same for every choice.
    NeighborIndex::Method algorithm = NeighborIndex::Method::automatic;
    void validate() const;
  };

  LocalOutlierFactor() = default;
  explicit LocalOutlierFactor(Params p) : params_(p) {}

  LocalOutlierFactor& fit(MatrixView<T> X);
  /// -LOF of new rows against the training data (novelty use).
  [[nodiscard]] Vector<double> score_samples(MatrixView<T> X) const;
  /// n x d contributions of new rows (neighbours among the training data).
  [[nodiscard]] RowMatrix<double> explain(MatrixView<T> X) const;
  /// Contributions of the training rows against their own neighbours (outlier mode).
  [[nodiscard]] RowMatrix<double> explain_training() const;
  /// k nearest training rows of each row of X.
  [[nodiscard]] Neighbors kneighbors(MatrixView<T> X) const;

  /// -LOF of each training sample (self excluded), as scikit-learn's attribute.
  [[nodiscard]] const Vector<double>& negative_outlier_factor() const { return nof_; }
  [[nodiscard]] const Vector<double>& lrd() const { return lrd_; }
  [[nodiscard]] const Params& params() const { return params_; }
  /// The neighbour search built at fit, and the principal axes of its bound (projected only).
  [[nodiscard]] NeighborIndex::Method search_method() const { return index_.method(); }
  [[nodiscard]] Index projection_axes() const { return index_.axes(); }
  [[nodiscard]] bool is_fitted() const { return X_.rows() > 0; }

  [[nodiscard]] ModelDocument to_document() const;
  static LocalOutlierFactor from_document(const ModelDocument& doc);

 private:
  [[nodiscard]] RowMatrix<double> contributions(const RowMatrix<double>& Q, const RowMatrix<std::int64_t>& idx) const;
  void derive_state();  // k-distances, lrd, LOF and scales from X_ and train_idx_
  Params params_;
  RowMatrix<double> X_;
  RowMatrix<std::int64_t> train_idx_;
  RowMatrix<double> train_dist_;
  Vector<double> kdist_, lrd_, nof_, scale_;
  NeighborIndex index_;  // over X_, rebuilt from it when a model is loaded
};

}  // namespace custmine::anomaly

#ifndef CUSTMINE_HEADER_ONLY
namespace custmine::anomaly {
extern template class LocalOutlierFactor<double>;
extern template class LocalOutlierFactor<float>;
}  // namespace custmine::anomaly
#else
#include "custmine/anomaly/lof_impl.hpp"
#endif
