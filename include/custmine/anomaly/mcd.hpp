// Robust covariance by the Minimum Covariance Determinant (FastMCD) and the elliptic
// envelope detector built on it: rows far from the robust centre in Mahalanobis distance
// are outliers.
//
// References: P. J. Rousseeuw, K. Van Driessen (1999), "A Fast Algorithm for the Minimum
// Covariance Determinant Estimator", Technometrics 41(3) (C-steps, 500 random (d+1)-subset
// starts, two C-steps each, the 10 best iterated to convergence; for n > 600 the starts
// run on up to 5 disjoint subsets of 300 rows, the best are refined on their union and
// then on all rows); consistency correction and reweighting as in scikit-learn's
// MinCovDet: the raw covariance is scaled by median(d^2) / chi2_d.ppf(0.5), then the
// location and covariance are re-estimated from rows with d^2 < chi2_d.ppf(0.975).
// d = 1 uses scikit-learn's univariate rule: the centre of the shortest window of h + 1
// sorted values, support = the h values closest to it.
// Support size h = ceil((n + d + 1) / 2) by default, or floor(support_fraction * n).
//
// Complexity: O(S h d^2 + n d^2) per C-step; about 500 * 2 C-steps on <= 300 rows plus a
// few on all rows, so O((1e6 + k n) d^2) overall. The covariance is inverted by a
// symmetric eigendecomposition (pseudo-inverse for singular covariances).
//
// Attribution (explain): the squared Mahalanobis distance z' P z (z = x - location,
// P = precision) is split as phi_f = z_f (P z)_f, the exact Shapley values of the quadratic
// form with the robust location as baseline; they sum to d^2 (a feature can be negative
// when it is explained away by correlated ones).
#pragma once

#include <cstdint>
#include <vector>

#include "custmine/anomaly/detector.hpp"

namespace custmine::anomaly {

/// Raw MCD: the best h-subset's mean and (biased) covariance, before correction.
struct McdRaw {
  Vector<double> location;
  RowMatrix<double> covariance;
  double log_det = 0;
};
/// FastMCD on rows of X (see above); h = support size.
McdRaw fast_mcd(const RowMatrix<double>& X, Index h, std::uint64_t seed, int n_trials);
/// Pseudo-inverse of a symmetric positive semi-definite matrix.
RowMatrix<double> pinv_symmetric(const RowMatrix<double>& A);
/// chi-squared quantile with d degrees of freedom.
double chi2_quantile(double p, int d);

template <class T>
class EllipticEnvelope : public DetectorBase<EllipticEnvelope<T>, T> {
 public:
  struct Params {
    double support_fraction = 0.0;  ///< <= 0: (n + d + 1) / 2
    Contamination contamination = Contamination::fraction(0.1);
    std::uint64_t seed = 0;
    int n_trials = 500;
    void validate() const;
  };
  EllipticEnvelope() = default;
  explicit EllipticEnvelope(Params p) : params_(p) {}
  EllipticEnvelope& fit(MatrixView<T> X);
  /// -squared Mahalanobis distance to the robust location.
  [[nodiscard]] Vector<double> score_samples(MatrixView<T> X) const;
  /// Squared Mahalanobis distances.
  [[nodiscard]] Vector<double> mahalanobis(MatrixView<T> X) const;
  /// Shapley split of the squared distance (n x d).
  [[nodiscard]] RowMatrix<double> explain(MatrixView<T> X) const;

  [[nodiscard]] const Vector<double>& location() const { return location_; }
  [[nodiscard]] const RowMatrix<double>& covariance() const { return covariance_; }
  [[nodiscard]] const RowMatrix<double>& precision() const { return precision_; }
  [[nodiscard]] const Vector<double>& raw_location() const { return raw_location_; }
  [[nodiscard]] const RowMatrix<double>& raw_covariance() const { return raw_covariance_; }
  [[nodiscard]] const std::vector<std::uint8_t>& support() const { return support_; }
  [[nodiscard]] const Vector<double>& train_distances() const { return dist_; }
  [[nodiscard]] const Params& params() const { return params_; }
  [[nodiscard]] bool is_fitted() const { return location_.size() > 0; }
  [[nodiscard]] ModelDocument to_document() const;
  static EllipticEnvelope from_document(const ModelDocument& doc);

 private:
  Params params_;
  Vector<double> location_, raw_location_, dist_;
  RowMatrix<double> covariance_, precision_, raw_covariance_;
  std::vector<std::uint8_t> support_;
};

}  // namespace custmine::anomaly

#ifndef CUSTMINE_HEADER_ONLY
namespace custmine::anomaly {
extern template class EllipticEnvelope<double>;
extern template class EllipticEnvelope<float>;
}  // namespace custmine::anomaly
#else
#include "custmine/anomaly/mcd_impl.hpp"
#endif
