// Generalized linear models with Tweedie-family responses: Normal (power 0), Poisson
// (power 1, purchase counts), compound Poisson-Gamma (1 < power < 2, spend with exact
// zeros), Gamma (power 2, positive spend) and inverse Gaussian (power 3), with log or
// identity link and optional L2 penalty.
//
// Objective (scikit-learn's scaling, so coefficients match it for the same alpha):
//   1/(2S) sum_i w_i d(y_i, mu_i) + alpha/2 ||b||^2,  mu_i = h(b0 + x_i'b),
// with d the unit deviance (Joergensen 1987, JRSS-B 49:127; Nelder & Wedderburn 1972,
// JRSS-A 135:370). Fitted by Fisher scoring / IRLS (the Newton step with the expected
// Hessian) with Armijo backtracking; stops when the largest gradient entry is <= tol.
// Unpenalized fits carry statsmodels-GLM-style inference: Wald z tests with the
// expected-information covariance, scale 1 (Poisson) or Pearson chi^2 / df_resid.
// Complexity: O(n k^2) per iteration (threaded over fixed row blocks), O(k^2) memory.
#pragma once

#include "custmine/regression/linear.hpp"

namespace custmine::regression {

enum class Link { Auto, Identity, Log };

class GLM {
 public:
  struct Params {
    double power = 1.0;  ///< Tweedie power: 0, 1, (1, 2), 2, >= 2 (0 < p < 1 is not a distribution)
    Link link = Link::Auto;  ///< Auto: identity for power 0, log otherwise
    double alpha = 0.0;
    bool fit_intercept = true;
    int max_iter = 100;
    double tol = 1e-4;
    int n_threads = 1;
    void validate() const;
  };
  GLM() = default;
  explicit GLM(Params p) : params_(p) {}
  GLM& fit(MatrixView<double> X, VectorView<double> y, const VectorXd* sample_weight = nullptr);
  [[nodiscard]] VectorXd predict(MatrixView<double> X) const;  ///< mean mu
  [[nodiscard]] VectorXd linear_predictor(MatrixView<double> X) const;
  [[nodiscard]] const Params& params() const { return params_; }
  [[nodiscard]] bool is_fitted() const { return fitted_; }
  [[nodiscard]] bool log_link() const;

  VectorXd coef;
  double intercept = 0;
  int n_iter = 0;
  bool converged = false;
  // inference (meaningful when alpha == 0)
  VectorXd params_vec, std_err, z_stat, p_value;  ///< [const, x...]
  MatrixXd cov;
  Index nobs = 0;
  double df_model = 0, df_resid = 0, scale = 1, deviance = 0, null_deviance = 0, pearson_chi2 = 0;
  double loglike = 0, aic = 0, bic = 0;  ///< NaN when the family has no closed-form likelihood here

  [[nodiscard]] MatrixXd conf_int(double level) const;
  [[nodiscard]] ModelDocument to_document() const;
  static GLM from_document(const ModelDocument& doc);

 private:
  Params params_;
  bool fitted_ = false;
};

}  // namespace custmine::regression
