// Detectors built from one-dimensional summaries of each feature, so each row's score is
// a sum (or maximum) of per-feature terms and the per-feature terms are the explanation.
//
// RobustZScore: z_f = |x_f - median_f| / (1.4826 MAD_f), combined over features by max,
//   mean or root mean square. Reference: B. Iglewicz, D. C. Hoaglin (1993), "How to Detect
//   and Handle Outliers" (modified z-score). A feature with MAD 0 falls back to
//   1.2533 * mean absolute deviation (the same normal-consistency idea); a constant feature
//   has scale 1 (its deviations count in raw units) and is reported by constant().
//   Complexity O(n d) fit (selection), O(m d) scoring.
//
// HBOS: histogram-based outlier score, sum over features of -log2(density + alpha) with
//   static equal-width histograms (numpy.histogram's edges and counting); values outside the
//   training range within tol bin widths take the edge bin, farther ones the lowest
//   density. Reference: M. Goldstein, A. Dengel (2012), "Histogram-based Outlier Score
//   (HBOS)", KI-2012 poster track. Same rules as PyOD's HBOS (n_bins, alpha, tol), so the
//   scores agree with PyOD's decision_function. Complexity O(n d) fit, O(m d log b) scoring.
//
// ECOD: empirical-cumulative-distribution outlier detection. Per feature j the left and
//   right tail probabilities F_left(x) = #{X_ij <= x}/n and F_right(x) = #{X_ij >= x}/n
//   (floored at 1/n so that new values beyond the training range stay finite) give
//   U_l = -log F_left, U_r = -log F_right and U_auto = U_l when the feature's sample skewness
//   is negative, U_r otherwise. Reference: Z. Li, Y. Zhao, X. Hu, N. Botta, C. Ionescu,
//   G. H. Chen (2022), "ECOD: Unsupervised Outlier Detection Using Empirical Cumulative
//   Distribution Functions", IEEE TKDE. Aggregation::Paper is the paper's Algorithm 1:
//   O = max(sum_j U_l, sum_j U_r, sum_j U_auto). Aggregation::PyOD reproduces PyOD's
//   ECOD, which takes the maximum per feature first, sum_j max(U_l, U_r, U_skew), with
//   U_skew = U_l + U_r for a feature of skewness exactly 0 (yzhao062/pyod#453). Unlike
//   PyOD, new rows are scored against the training ECDFs only (PyOD re-fits on train + new,
//   pyod#401). explain() gives each feature's max(U_l, U_r) (Paper) or PyOD's per-feature
//   term (PyOD). Complexity O(d n log n) fit, O(m d log n) scoring; the sorted training
//   columns are kept (O(n d) memory).
#pragma once

#include <cstdint>
#include <vector>

#include "custmine/anomaly/detector.hpp"

namespace custmine::anomaly {

enum class Combine { Max, Mean, Rms };
enum class Aggregation { Paper, PyOD };

template <class T>
class RobustZScore : public DetectorBase<RobustZScore<T>, T> {
 public:
  struct Params {
    Combine combine = Combine::Max;
    Contamination contamination = Contamination::fraction(0.1);
    void validate() const;
  };
  RobustZScore() = default;
  explicit RobustZScore(Params p) : params_(p) {}
  RobustZScore& fit(MatrixView<T> X);
  /// -combined |z| (lower = more abnormal).
  [[nodiscard]] Vector<double> score_samples(MatrixView<T> X) const;
  /// |z| per feature.
  [[nodiscard]] RowMatrix<double> explain(MatrixView<T> X) const;
  /// Signed robust z per feature.
  [[nodiscard]] RowMatrix<double> transform(MatrixView<T> X) const;
  [[nodiscard]] const std::vector<double>& center() const { return median_; }
  [[nodiscard]] const std::vector<double>& scale() const { return scale_; }
  [[nodiscard]] const std::vector<std::uint8_t>& constant() const { return constant_; }
  [[nodiscard]] const Params& params() const { return params_; }
  [[nodiscard]] bool is_fitted() const { return !median_.empty(); }
  [[nodiscard]] ModelDocument to_document() const;
  static RobustZScore from_document(const ModelDocument& doc);

 private:
  Params params_;
  std::vector<double> median_, scale_;
  std::vector<std::uint8_t> constant_;
};

template <class T>
class HBOS : public DetectorBase<HBOS<T>, T> {
 public:
  struct Params {
    int n_bins = 10;
    double alpha = 0.1;
    double tol = 0.5;
    Contamination contamination = Contamination::fraction(0.1);
    int n_threads = 1;
    void validate() const;
  };
  HBOS() = default;
  explicit HBOS(Params p) : params_(p) {}
  HBOS& fit(MatrixView<T> X);
  /// sum_f log2(density_f + alpha) (lower = more abnormal).
  [[nodiscard]] Vector<double> score_samples(MatrixView<T> X) const;
  /// -log2(density_f + alpha) per feature (sums to anomaly_score).
  [[nodiscard]] RowMatrix<double> explain(MatrixView<T> X) const;
  /// Bin edges (d x (n_bins + 1)) and densities (d x n_bins).
  [[nodiscard]] const RowMatrix<double>& edges() const { return edges_; }
  [[nodiscard]] const RowMatrix<double>& density() const { return density_; }
  [[nodiscard]] const Params& params() const { return params_; }
  [[nodiscard]] bool is_fitted() const { return edges_.rows() > 0; }
  [[nodiscard]] ModelDocument to_document() const;
  static HBOS from_document(const ModelDocument& doc);

 private:
  void derive();  // log scores from densities
  double log_density(Index j, double v) const;  // log2(density + alpha) of feature j at v
  Params params_;
  RowMatrix<double> edges_, density_, logd_;
  std::vector<double> min_logd_, inv_width_;
};

template <class T>
class ECOD : public DetectorBase<ECOD<T>, T> {
 public:
  struct Params {
    Aggregation aggregation = Aggregation::Paper;
    Contamination contamination = Contamination::fraction(0.1);
    int n_threads = 1;
    void validate() const;
  };
  ECOD() = default;
  explicit ECOD(Params p) : params_(p) {}
  ECOD& fit(MatrixView<T> X);
  /// -O(x) (lower = more abnormal).
  [[nodiscard]] Vector<double> score_samples(MatrixView<T> X) const;
  /// Per-feature tail scores: max(U_l, U_r) (Paper; the paper's dimensional outlier
  /// score) or PyOD's per-feature terms (PyOD; these sum to anomaly_score).
  [[nodiscard]] RowMatrix<double> explain(MatrixView<T> X) const;
  /// Per-feature left and right tail scores -log F.
  // -log of the left / right empirical tail probabilities, features x rows.
  void tail_scores(MatrixView<T> X, RowMatrix<double>& left, RowMatrix<double>& right) const;
  [[nodiscard]] const std::vector<double>& skewness() const { return skew_; }
  [[nodiscard]] const Params& params() const { return params_; }
  [[nodiscard]] bool is_fitted() const { return sorted_.rows() > 0; }
  [[nodiscard]] ModelDocument to_document() const;
  static ECOD from_document(const ModelDocument& doc);

 private:
  Params params_;
  RowMatrix<double> sorted_;  // d x n: each training column sorted
  std::vector<double> skew_;
};

}  // namespace custmine::anomaly

#ifndef CUSTMINE_HEADER_ONLY
namespace custmine::anomaly {
extern template class RobustZScore<double>;
extern template class RobustZScore<float>;
extern template class HBOS<double>;
extern template class HBOS<float>;
extern template class ECOD<double>;
extern template class ECOD<float>;
}  // namespace custmine::anomaly
#else
#include "custmine/anomaly/univariate_impl.hpp"
#endif
