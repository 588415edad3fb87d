// Lasso and elastic net by cyclic coordinate descent, with regularization paths and
// cross-validation.
//
// Objective (scikit-learn's convention, weights w summing to S):
//   1/(2S) sum_i w_i (y_i - b0 - x_i'b)^2 + alpha * l1_ratio * ||b||_1
//                                        + alpha * (1 - l1_ratio) / 2 * ||b||_2^2.
// Coordinate descent with soft thresholding (Friedman, Hastie & Tibshirani 2010, "Regularization
// paths for generalized linear models via coordinate descent", J. Stat. Software 33(1)),
// "covariance updates" on the p x p Gram matrix when n >> p (same paper, section 2.2),
// warm starts along a decreasing alpha grid, and the duality-gap stopping rule with
// Gap-Safe screening (Fercoq, Gramfort & Salmon 2015, ICML; Ndiaye et al. 2017, JMLR 18:128):
// a feature whose dual constraint is provably inactive is fixed at zero.
// Complexity per sweep: O(p^2) with the Gram matrix (after O(n p^2) to build it, threaded),
// O(n p) on columns. Memory: O(p^2) or a column-major copy O(n p).
#pragma once

#include "custmine/regression/linear.hpp"

namespace custmine::regression {

enum class Precompute { Auto, Gram, Columns };

struct EnetParams {
  double alpha = 1.0;
  double l1_ratio = 1.0;
  bool fit_intercept = true;
  int max_iter = 1000;
  double tol = 1e-4;
  Precompute precompute = Precompute::Auto;
  bool screening = true;
  int n_threads = 1;
  void validate() const;
};

/// Outcome of one coordinate-descent solve.
struct CdInfo {
  int n_iter = 0;
  double gap = 0;  ///< duality gap on the 1/S-scaled objective
  bool converged = false;
};

/// Elastic net (Lasso when l1_ratio = 1).
class ElasticNet {
 public:
  using Params = EnetParams;
  ElasticNet() = default;
  explicit ElasticNet(Params p) : params_(p) {}
  /// `warm_start` (length p) starts descent from given coefficients.
  ElasticNet& fit(MatrixView<double> X, VectorView<double> y, const VectorXd* sample_weight = nullptr,
                  const VectorXd* warm_start = nullptr);
  [[nodiscard]] VectorXd predict(MatrixView<double> X) const;
  [[nodiscard]] const Params& params() const { return params_; }
  [[nodiscard]] bool is_fitted() const { return fitted_; }
  VectorXd coef;
  double intercept = 0;
  CdInfo info;
  [[nodiscard]] ModelDocument to_document() const;
  static ElasticNet from_document(const ModelDocument& doc);

 private:
  Params params_;
  bool fitted_ = false;
};

/// scikit-learn's alpha grid: alpha_max = max_j |sum_i w_i (x_ij - m_j) y_i| / (S l1_ratio),
/// then n_alphas values log-spaced from alpha_max down to eps * alpha_max.
std::vector<double> alpha_grid(MatrixView<double> X, VectorView<double> y, const VectorXd* sample_weight,
                               double l1_ratio, bool fit_intercept, double eps, int n_alphas);

struct EnetPath {
  std::vector<double> alphas;
  MatrixXd coefs;  ///< n_alphas x p
  VectorXd intercepts, gaps;
  std::vector<int> n_iters;
  std::vector<bool> converged;
};

/// Solutions along `alphas` (any order; solved from the largest down with warm starts).
EnetPath enet_path(MatrixView<double> X, VectorView<double> y, const VectorXd* sample_weight,
                   const std::vector<double>& alphas, const EnetParams& params);

/// Cross-validated mean squared error: result(l, a, f) = weighted MSE on fold f's test rows
/// of the path fitted on its training rows for l1_ratios[l] and alphas(l, a). Tasks
/// (fold x l1_ratio) run on n_threads threads; each writes only its own cells.
struct EnetCVResult {
  std::vector<MatrixXd> mse;  ///< per l1_ratio: n_alphas x n_folds
  bool all_converged = true;
};
EnetCVResult enet_cv(MatrixView<double> X, VectorView<double> y, const VectorXd* sample_weight,
                     const std::vector<std::vector<std::int64_t>>& train,
                     const std::vector<std::vector<std::int64_t>>& test, const std::vector<double>& l1_ratios,
                     const MatrixXd& alphas, const EnetParams& params);

}  // namespace custmine::regression
