// Logistic regression: binary and multinomial, penalties none / l2 / l1 / elastic net.
//
// Minimises, for class codes y_i and sample weights s_i (S = sum s_i),
//   f(W, b) = (1/S) sum_i s_i loss_i(W x_i + b) + (1/(C S)) [ a |W|_1 + (1-a)/2 |W|_2^2 ]
// with a = l1_ratio (0 for l2, 1 for l1) and the intercept b not penalised. This is
// C sum_i s_i loss_i + penalty divided by C S, i.e. scikit-learn's objective up to a
// constant, so coefficients agree with scikit-learn's for the same C. Two classes use the
// logistic loss with one coefficient row; K > 2 classes the multinomial (softmax) loss
// with K rows (symmetric parametrisation; intercepts are centred to sum to zero since the
// softmax is invariant to a common shift).
//
// Solvers:
// - Newton-Cholesky (Newton's method with the exact Hessian, LDL^T solve and Armijo
//   backtracking; Nocedal & Wright 2006, ch. 3) for smooth penalties: a few iterations on
//   one-hot marketing data. O(n d^2) per iteration, d = K_eff (p + 1).
// - L-BFGS (Liu & Nocedal 1989) with 10 memory pairs and Armijo backtracking, for
//   smooth penalties when d is large. O(n d) per iteration.
// - Coordinate descent on the penalised quadratic approximation for l1 / elastic net
//   (Friedman, Hastie & Tibshirani 2010, "Regularization paths for GLMs via coordinate
//   descent", J. Stat. Softw. 33(1)); multinomial fits cycle over classes (partial Newton).
//   O(n p) per sweep.
// Auto: L-BFGS while its observed rate beats what Newton's remaining steps would cost
// (well-conditioned data converge in a few passes), then Newton from that point
// (ill-conditioned one-hot designs); CD for l1. Newton evaluates loss, gradient and Hessian
// in one pass over X, and skips the Hessian where quadratic convergence predicts the fit ends.
// Convergence: the largest absolute (sub)gradient of f is at most tol, the same test
// scikit-learn's lbfgs and newton-cholesky apply to the same scaled objective.
//
// Sums over rows run in fixed blocks (set by n only) reduced in order, so results are
// identical for any n_threads.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "custmine/core/matrix.hpp"
#include "custmine/core/serialize.hpp"

namespace custmine::classification {

enum class Penalty { None, L2, L1, ElasticNet };
enum class LogisticSolver { Auto, Lbfgs, NewtonCholesky, CoordinateDescent };

Penalty parse_penalty(std::string_view s);
LogisticSolver parse_logistic_solver(std::string_view s);
std::string to_string(Penalty p);
std::string to_string(LogisticSolver s);

/// Standard errors and Wald tests of an unpenalised binary fit (intercept first).
struct LogisticInference {
  std::vector<double> coef, std_err, z, p_value, ci_low, ci_high;
};

class LogisticRegression {
 public:
  struct Params {
    Penalty penalty = Penalty::L2;
    double C = 1.0;           ///< inverse regularisation strength, > 0
    double l1_ratio = 0.5;    ///< mixing for ElasticNet, in [0, 1]
    LogisticSolver solver = LogisticSolver::Auto;
    bool fit_intercept = true;
    double tol = 1e-4;
    int max_iter = 100;
    int n_threads = 1;
    void validate() const;
  };

  LogisticRegression() = default;
  explicit LogisticRegression(Params p) : params_(p) {}

  /// y holds class codes 0..n_classes-1 (every class present); weight may be empty.
  LogisticRegression& fit(MatrixView<double> X, std::span<const std::int64_t> y, std::int64_t n_classes,
                          std::span<const double> weight = {});

  /// Linear scores: n x 1 for two classes (positive class), n x K otherwise.
  [[nodiscard]] RowMatrix<double> decision_function(MatrixView<double> X) const;
  /// Class probabilities, n x K (K >= 2).
  [[nodiscard]] RowMatrix<double> predict_proba(MatrixView<double> X) const;
  /// Most probable class code per row.
  [[nodiscard]] std::vector<std::int64_t> predict(MatrixView<double> X) const;

  /// Wald inference for an unpenalised fit; alpha sets the (1 - alpha) interval. Binary:
  /// [intercept, features]. Multinomial: for each class k = 1..K-1 against class 0 (statsmodels'
  /// MNLogit parameterisation), [intercept, features] of coef_k - coef_0.
  [[nodiscard]] LogisticInference inference(double alpha = 0.05) const;

  [[nodiscard]] const Params& params() const { return params_; }
  [[nodiscard]] bool is_fitted() const { return n_classes_ > 0; }
  [[nodiscard]] const RowMatrix<double>& coef() const { return coef_; }
  [[nodiscard]] const Vector<double>& intercept() const { return intercept_; }
  [[nodiscard]] std::int64_t n_classes() const { return n_classes_; }
  [[nodiscard]] int n_iter() const { return n_iter_; }
  [[nodiscard]] bool converged() const { return converged_; }
  /// The solver actually used (Auto resolved).
  [[nodiscard]] LogisticSolver solver_used() const { return solver_used_; }
  /// Final largest absolute (sub)gradient of the scaled objective.
  [[nodiscard]] double gradient_norm() const { return grad_norm_; }

  [[nodiscard]] ModelDocument to_document() const;
  static LogisticRegression from_document(const ModelDocument& doc);

 private:
  /// Fitted, and X has the fitted width (finiteness is checked on the scores, see the .cpp).
  void check_predict_input(std::string_view where, MatrixView<double> X) const;
  Params params_;
  RowMatrix<double> coef_;     // K_eff x p
  Vector<double> intercept_;   // K_eff
  RowMatrix<double> cov_;      // (p+1)^2 covariance, unpenalised binary fits only
  std::int64_t n_classes_ = 0;
  int n_iter_ = 0;
  bool converged_ = false;
  double grad_norm_ = 0;
  LogisticSolver solver_used_ = LogisticSolver::Auto;
};

}  // namespace custmine::classification
