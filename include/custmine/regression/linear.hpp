// Linear regression: ordinary / weighted least squares with full inference, and ridge.
//
// LinearRegression solves min_b sum_i w_i (y_i - a_i'b)^2 for a_i = [1, x_i] (or x_i),
// by column-pivoted Householder QR of the whitened, weight-centred design (Golub & Van
// Loan, "Matrix Computations", 1983/2013, 5.4) or by Cholesky of its Gram matrix; a
// rank-deficient design falls back to the Moore-Penrose solution (minimum norm) with the
// rank reported. Inference follows the classical normal-theory formulas (t and F tests,
// Gaussian log-likelihood, AIC/BIC as in statsmodels) and White's heteroskedasticity-
// consistent covariances HC0 (White 1980, Econometrica 48:817), HC1, HC2 and HC3
// (MacKinnon & White 1985, J. Econometrics 29:305).
// Complexity: QR O(n k^2) time and O(n k) extra memory; Cholesky O(n k^2) time and
// O(k^2) memory (threaded over fixed row blocks, so results do not depend on threads).
//
// Ridge solves min_b sum_i w_i (y_i - b0 - x_i'b)^2 + alpha ||b||^2 (Hoerl & Kennard 1970,
// Technometrics 12:55) in closed form: the primal system (O(n p^2 + p^3)) when n >= p,
// the dual (kernel) system (O(n^2 p + n^3)) otherwise. ridge_cv evaluates exact
// leave-one-out or generalized cross-validation (Golub, Heath & Wahba 1979,
// Technometrics 21:215) for many alphas from one eigendecomposition.
#pragma once

#include <Eigen/Dense>
#include <optional>
#include <string>
#include <vector>

#include "custmine/core/matrix.hpp"
#include "custmine/core/serialize.hpp"

namespace custmine::regression {

using Eigen::MatrixXd;
using Eigen::VectorXd;

enum class CovType { NonRobust, HC0, HC1, HC2, HC3 };
enum class LinearSolver { Auto, QR, Cholesky };

CovType parse_cov_type(std::string_view s);
std::string cov_type_name(CovType c);

/// Checks X, y and optional weights (finite, same length, weights >= 0 with a positive
/// sum) and returns the weights (ones when absent).
VectorXd check_fit_input(std::string_view where, MatrixView<double> X, VectorView<double> y,
                         const VectorXd* sample_weight);

namespace detail {
/// Weighted column means sum_i w_i x_i / sum_i w_i (zeros when !center).
VectorXd weighted_mean(MatrixView<double> X, const VectorXd& w, bool center);
/// G = B'B and c = B'(sqrt(w) y) for B = sqrt(w) [1?, x - m], summed over fixed row blocks
/// (threaded; block sums are added in block order so threads do not change the result).
void centered_gram(MatrixView<double> X, const VectorXd& w, const VectorXd& mean, const VectorXd& y,
                   bool intercept_col, int n_threads, MatrixXd& G, VectorXd& c);
/// X v, rows split over threads (every output row is computed once: thread-count invariant).
VectorXd mat_vec(MatrixView<double> X, const VectorXd& v, int n_threads);
/// X' u, summed over fixed row blocks added in block order (thread-count invariant).
VectorXd mat_t_vec(MatrixView<double> X, const VectorXd& u, int n_threads);
/// Moore-Penrose pseudo-inverse of a symmetric PSD matrix (Jacobi-scaled eigendecomposition);
/// `rank` receives the numerical rank.
MatrixXd pinv_psd(const MatrixXd& G, Index& rank, double rtol = 1e-10);
/// Reads a numeric array field into an Eigen vector.
VectorXd json_vector(const json::object& o, std::string_view key, std::string_view where);
MatrixXd json_matrix(const json::object& o, std::string_view key, Index rows, Index cols, std::string_view where);
json::array to_json_array(const VectorXd& v);
json::array to_json_array(const MatrixXd& m);  // row-major flattening
}  // namespace detail

/// Ordinary / weighted least squares with statsmodels-style inference.
class LinearRegression {
 public:
  struct Params {
    bool fit_intercept = true;
    LinearSolver solver = LinearSolver::Auto;
    CovType cov_type = CovType::NonRobust;
    /// t (true) or normal (false) reference distribution; unset: t for NonRobust,
    /// normal for HC* (statsmodels' default).
    std::optional<bool> use_t;
    int n_threads = 1;
    void validate() const;
  };

  LinearRegression() = default;
  explicit LinearRegression(Params p) : params_(std::move(p)) {}

  /// Fits on X (n x p), y (n), optional weights (n, >= 0). Fails when the model has more
  /// parameters than samples with positive weight (suggesting Ridge).
  LinearRegression& fit(MatrixView<double> X, VectorView<double> y, const VectorXd* sample_weight = nullptr);
  [[nodiscard]] VectorXd predict(MatrixView<double> X) const;
  /// Columns: mean, se, lower, upper. `prediction` adds the residual variance.
  [[nodiscard]] MatrixXd predict_interval(MatrixView<double> X, bool prediction, double level) const;

  [[nodiscard]] const Params& params() const { return params_; }
  [[nodiscard]] bool is_fitted() const { return fitted_; }

  // ---- fitted state (params_ vector is [const, x_1..x_p] when fit_intercept) -----------
  VectorXd params_vec;  ///< all coefficients, intercept first when fitted
  MatrixXd cov;         ///< covariance of params_vec under cov_type
  VectorXd std_err, t_stat, p_value;
  Index nobs = 0, rank = 0, n_features = 0;
  double df_model = 0, df_resid = 0, scale = 0;  ///< scale = residual variance sigma^2
  double ssr = 0, centered_tss = 0, rsquared = 0, rsquared_adj = 0;
  double fvalue = 0, f_pvalue = 0, loglike = 0, aic = 0, bic = 0;
  bool use_t = true;
  std::vector<std::int64_t> constant_columns;  ///< features with zero weighted variance

  /// Two-sided confidence intervals at `level` (k x 2).
  [[nodiscard]] MatrixXd conf_int(double level) const;
  [[nodiscard]] double intercept() const { return params_.fit_intercept ? params_vec(0) : 0.0; }
  [[nodiscard]] VectorXd coef() const { return params_vec.tail(n_features); }

  [[nodiscard]] ModelDocument to_document() const;
  static LinearRegression from_document(const ModelDocument& doc);

 private:
  void finish_inference();
  Params params_;
  bool fitted_ = false;
};

/// Ridge regression in closed form.
class Ridge {
 public:
  struct Params {
    double alpha = 1.0;
    bool fit_intercept = true;
    int n_threads = 1;
    void validate() const;
  };
  Ridge() = default;
  explicit Ridge(Params p) : params_(p) {}
  Ridge& fit(MatrixView<double> X, VectorView<double> y, const VectorXd* sample_weight = nullptr);
  /// A fitted Ridge from a known solution (ridge_cv's coefficients at its best alpha),
  /// so RidgeCV need not solve the problem a second time.
  static Ridge from_solution(Params p, VectorXd coef, double intercept);
  [[nodiscard]] VectorXd predict(MatrixView<double> X) const;
  [[nodiscard]] const Params& params() const { return params_; }
  [[nodiscard]] bool is_fitted() const { return coef.size() > 0 || fitted_; }
  VectorXd coef;
  double intercept = 0;
  [[nodiscard]] ModelDocument to_document() const;
  static Ridge from_document(const ModelDocument& doc);

 private:
  Params params_;
  bool fitted_ = false;
};

/// Result of ridge_cv: mean squared leave-one-out (or GCV) error per alpha.
struct RidgeCVResult {
  VectorXd cv_error;  ///< per alpha, weighted mean of w_i * e_(i)^2
  Index best = 0;     ///< index of the smallest error (first on ties)
  VectorXd coef;      ///< coefficients at the best alpha
  double intercept = 0;
};

/// Efficient LOO (gcv = false) or GCV errors for every alpha > 0 from one
/// eigendecomposition of the centred Gram (p <= n) or kernel (p > n) matrix.
RidgeCVResult ridge_cv(MatrixView<double> X, VectorView<double> y, const VectorXd* sample_weight,
                       const std::vector<double>& alphas, bool fit_intercept, bool gcv, int n_threads);

}  // namespace custmine::regression
