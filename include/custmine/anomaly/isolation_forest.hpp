// Isolation forest: an ensemble of random trees that isolate samples by splitting on a
// random feature at a uniform random threshold; anomalies are isolated in few splits.
//
// Reference: F. T. Liu, K. M. Ting, Z.-H. Zhou (2008), "Isolation Forest", ICDM; and
// (2012) "Isolation-based anomaly detection", ACM TKDD. Normalisation as in the paper and
// scikit-learn: s(x) = 2^(-E[h(x)] / c(psi)), c(n) = 2 H(n-1) - 2 (n-1)/n, a leaf holding n
// training samples adds c(n) to its depth; trees are grown to depth ceil(log2 psi).
// score_samples = -s(x) (lower = more abnormal), "auto" offset -0.5.
//
// Complexity: fit O(T psi log psi) for T trees of psi samples; scoring O(n T log psi).
// Trees are stored as flat arrays (feature, threshold-or-leaf-depth, left child; the
// right child is left + 1). Fit is parallel over trees and scoring over rows; tree t
// draws from Rng::stream(seed, t), so the model does not depend on n_threads.
//
// Attribution (explain): for each tree the path of x is walked and every split on
// feature f adds 1 / h_t(x), h_t the path length of x in that tree; contributions are
// averaged over trees. A feature that repeatedly cuts x off early gets a large share.
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

#include "custmine/anomaly/detector.hpp"

namespace custmine::anomaly {

template <class T>
class IsolationForest : public DetectorBase<IsolationForest<T>, T> {
 public:
  struct Params {
    int n_estimators = 100;
    /// max_samples: count (> 0), or fraction in (0, 1] when max_samples_fraction > 0,
    /// or min(256, n) when both are <= 0 ("auto"). A count above n uses n.
    std::int64_t max_samples = 0;
    double max_samples_fraction = 0.0;
    /// Features drawn per tree: count (> 0) or fraction in (0, 1] (default all).
    std::int64_t max_features = 0;
    double max_features_fraction = 1.0;
    bool bootstrap = false;
    Contamination contamination = Contamination::automatic();
    std::uint64_t seed = 0;
    int n_threads = 1;
    void validate() const;
  };

  IsolationForest() = default;
  explicit IsolationForest(Params p) : params_(p) {}

  IsolationForest& fit(MatrixView<T> X);
  /// -2^(-mean path length / c(max_samples)), in [-1, 0).
  [[nodiscard]] Vector<double> score_samples(MatrixView<T> X) const;
  /// Mean path length of each row (E[h(x)]).
  [[nodiscard]] Vector<double> mean_path_length(MatrixView<T> X) const;
  /// n x d path-based contributions (see the header comment).
  [[nodiscard]] RowMatrix<double> explain(MatrixView<T> X) const;

  [[nodiscard]] const Params& params() const { return params_; }
  [[nodiscard]] bool is_fitted() const { return !tree_offset_.empty(); }
  [[nodiscard]] std::int64_t max_samples_used() const { return psi_; }
  [[nodiscard]] Index n_nodes() const { return static_cast<Index>(feature_.size()); }

  [[nodiscard]] ModelDocument to_document() const;
  static IsolationForest from_document(const ModelDocument& doc);

 private:
  Params params_;
  std::int64_t psi_ = 0;
  // flat forest: nodes of tree t are [tree_offset_[t], tree_offset_[t+1])
  int max_tree_depth() const;  // deepest leaf over all trees
  std::vector<std::int64_t> tree_offset_;
  std::vector<std::int32_t> feature_;  // -1 for a leaf
  std::vector<std::int32_t> left_;     // index of the left child within the tree
  std::vector<double> value_;          // threshold, or depth + c(n) at a leaf
};

/// c(n): average path length of an unsuccessful search in a binary search tree of n nodes
/// (0 for n <= 1, 1 for n = 2), the normaliser of the isolation forest.
inline double average_path_length(double n) {
  if (n <= 1.0) return 0.0;
  if (n <= 2.0) return 1.0;
  constexpr double kEuler = 0.5772156649015329;
  return 2.0 * (std::log(n - 1.0) + kEuler) - 2.0 * (n - 1.0) / n;
}

}  // namespace custmine::anomaly

#ifndef CUSTMINE_HEADER_ONLY
namespace custmine::anomaly {
extern template class IsolationForest<double>;
extern template class IsolationForest<float>;
}  // namespace custmine::anomaly
#else
#include "custmine/anomaly/isolation_forest_impl.hpp"
#endif
