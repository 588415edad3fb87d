// Logistic regression solvers (see include/custmine/classification/logistic.hpp).
#include "custmine/classification/logistic.hpp"

#include <Eigen/Cholesky>
#include <Eigen/Eigenvalues>
#include <algorithm>
#include <boost/math/distributions/normal.hpp>
#include <cmath>
#include <deque>
#include <functional>
#include <limits>

#include "custmine/core/blas.hpp"
#include "custmine/core/linear_predict.hpp"
#include "custmine/core/threading.hpp"

namespace custmine::classification {

namespace {

constexpr std::string_view kEstimator = "LogisticRegression";
using MatrixXd = Eigen::MatrixXd;
using VectorXd = Eigen::VectorXd;

double sigmoid(double z) {
  if (z >= 0) return 1.0 / (1.0 + std::exp(-z));
  const double e = std::exp(z);
  return e / (1.0 + e);
}

/// Everything a solver needs; theta holds K_eff rows of [w (p), b (if fit_intercept)].
struct Problem {
  MatrixView<double> X;
  std::span<const std::int64_t> y;
  std::vector<double> s;  // sample weights divided by their sum
  Index n = 0, p = 0, ke = 1, cols = 0;
  bool fi = true;
  double lambda = 0;  // 1 / (C S): penalty scale in the per-sample objective
  double alpha = 0;   // share of the penalty that is l1
  int threads = 1;
  [[nodiscard]] Index d() const { return ke * cols; }
};

using ThetaMap = Eigen::Map<const RowMatrix<double>>;

/// Per-thread buffers of a pass, sized once per pass: allocated per 1024-row chunk, the
/// Hessian's (p+1)-column copies sit above malloc's mmap threshold and page-fault every time.
struct Scratch {
  RowMatrix<double> Z, Xt, Xc;
};

constexpr Index kChunk = 1024;

/// Fixed row blocks (set by n and the accumulator size only) so that reductions do not
/// depend on the thread count; within a block rows go in chunks of kChunk.
template <class Acc, class Init, class Body>
Acc block_reduce(Index n, int threads, std::size_t acc_doubles, Init init, Body body) {
  const Index by_rows = std::max<Index>(1, n / 4096);
  const Index by_mem = std::max<Index>(1, static_cast<Index>(8'000'000 / std::max<std::size_t>(acc_doubles, 1)));
  const Index blocks = std::min<Index>({by_rows, by_mem, 64});
  std::vector<Acc> acc;
  acc.reserve(blocks);
  for (Index b = 0; b < blocks; ++b) acc.push_back(init());
  std::vector<Scratch> scratch(static_cast<std::size_t>(std::max(threads, 1)));
  parallel_for(blocks, threads, [&](Index b, int t) {
    const Index lo = n * b / blocks, hi = n * (b + 1) / blocks;
    for (Index c = lo; c < hi; c += kChunk) body(c, std::min(hi, c + kChunk), acc[b], scratch[t]);
  });
  for (Index b = 1; b < blocks; ++b) acc[0] += acc[b];
  return std::move(acc[0]);
}

/// A buffer of at least kChunk x cols, reused across chunks; returns its top m rows.
auto chunk_buffer(RowMatrix<double>& buf, Index m, Index cols) {
  if (buf.rows() < std::max(m, kChunk) || buf.cols() != cols) buf.resize(std::max(m, kChunk), cols);
  return buf.topRows(m);
}

/// Linear scores Z (m x ke) = X[b, e) T^T (+ intercepts), into Z.
template <class Out>
void scores_into(const Problem& P, const ThetaMap& T, Index b, Index e, Out&& Z) {
  const auto Xb = P.X.middleRows(b, e - b);
  // Through the BLAS seam: Eigen's products are SSE2 only in a baseline build.
  if (P.ke == 1) blas::gemv(1.0, blas::view(Xb), false, T.data(), 0.0, Z.data());
  else blas::gemm(1.0, blas::view(Xb), false, blas::view(T.leftCols(P.p)), true, 0.0, blas::mut_view(Z));
  if (P.fi) Z.rowwise() += T.col(P.p).transpose();
}

RowMatrix<double> scores(const Problem& P, const ThetaMap& T, Index b, Index e) {
  RowMatrix<double> Z(e - b, P.ke);
  scores_into(P, T, b, e, Z);
  return Z;
}

/// Turns scores into probabilities in place (ke = 1: positive-class probability);
/// returns the weighted loss of the rows.
template <class ZMat>
double probabilities(const Problem& P, ZMat&& Z, Index b) {
  double loss = 0;
  const Index m = Z.rows();
  if (P.ke == 1) {
    for (Index i = 0; i < m; ++i) {
      const double z = Z(i, 0);
      const bool pos = P.y[b + i] == 1;
      // softplus(z) = log(1 + e^z) and sigmoid(z) from one exponential (the same values
      // as sigmoid() above and the two-branch softplus, bit for bit).
      const double e = std::exp(-std::abs(z));
      loss += P.s[b + i] * ((z > 0 ? z : 0.0) + std::log1p(e) - (pos ? z : 0.0));
      Z(i, 0) = z >= 0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
    }
  } else {
    for (Index i = 0; i < m; ++i) {
      auto row = Z.row(i);
      const double mx = row.maxCoeff();
      double sum = 0;
      for (Index k = 0; k < P.ke; ++k) sum += std::exp(row(k) - mx);
      const double lse = mx + std::log(sum);
      loss += P.s[b + i] * (lse - row(P.y[b + i]));
      for (Index k = 0; k < P.ke; ++k) row(k) = std::exp(row(k) - lse);
    }
  }
  return loss;
}

/// What one pass over the rows accumulates: the weighted loss, its gradient and, when the
/// Hessian is wanted, its lower triangle.
struct PassAcc {
  double loss = 0;
  VectorXd g;
  MatrixXd H;  // empty when the pass does not build the Hessian
  PassAcc& operator+=(const PassAcc& o) {
    loss += o.loss;
    g += o.g;
    if (H.size() != 0) H += o.H;
    return *this;
  }
};

/// Adds the multinomial Hessian of rows [b, e) (probabilities in Z) to the lower triangle of
/// H: block (k, l) is X~^T diag(s p_k (delta_kl - p_l)) X~. (Forming it instead as the
/// diagonal blocks less B^T B, B's row sqrt(s) (p kron x~), one wide rank update, measured
/// slower: 1.66 s against 1.55 s for 200,000 x 30, five classes.)
template <class ZMat>
void add_multinomial_hessian(const Problem& P, const ZMat& Z, Index b, Index e, Scratch& w, MatrixXd& H) {
  const Index m = e - b;
  auto Xt = chunk_buffer(w.Xt, m, P.cols);  // row-major like X: a contiguous copy
  Xt.leftCols(P.p) = P.X.middleRows(b, m);
  if (P.fi) Xt.col(P.p).setOnes();
  auto Xc = chunk_buffer(w.Xc, m, P.cols);
  for (Index k = 0; k < P.ke; ++k) {
    for (Index l = 0; l <= k; ++l) {
      for (Index i = 0; i < m; ++i)
        Xc.row(i) = (P.s[b + i] * Z(i, k) * ((k == l ? 1.0 : 0.0) - Z(i, l))) * Xt.row(i);
      blas::gemm(1.0, blas::view(Xt), true, blas::view(Xc), false, 1.0,
                 blas::mut_view(H.block(k * P.cols, l * P.cols, P.cols, P.cols)));
    }
  }
}

/// Binary loss, gradient and (when want_h) Hessian of rows [b, e) in one sweep: each row is
/// read from memory once and its dot product and gradient update done while it is in L1 (a
/// pass is bound by reading X; two BLAS products read it twice). glibc's exp and log1p
/// (FMA variants) beat Eigen's SSE2 vector versions here.
void binary_chunk(const Problem& P, const double* theta, Index b, Index e, PassAcc& a, Scratch& w, bool want_h) {
  const Index m = e - b, p = P.p;
  const Eigen::Map<const VectorXd> coef(theta, p);
  const double b0 = P.fi ? theta[p] : 0.0;
  auto g = a.g.head(p);
  double loss = 0, gb = 0;
  Eigen::Map<RowMatrix<double>> xs(want_h ? chunk_buffer(w.Xt, m, P.cols).data() : nullptr, want_h ? m : 0, P.cols);
  for (Index i = 0; i < m; ++i) {
    const auto x = P.X.row(b + i);
    const double z = x.dot(coef) + b0, si = P.s[b + i];
    const bool pos = P.y[b + i] == 1;
    // softplus(z) = log(1 + e^z) and sigmoid(z) from one exponential (as probabilities()).
    const double ez = std::exp(-std::abs(z));
    loss += si * ((z > 0 ? z : 0.0) + std::log1p(ez) - (pos ? z : 0.0));
    const double pr = z >= 0 ? 1.0 / (1.0 + ez) : ez / (1.0 + ez);
    const double r = si * (pr - (pos ? 1.0 : 0.0));
    g.noalias() += r * x.transpose();
    gb += r;
    if (want_h) {
      // sqrt(h_i) [x_i, 1]: H += Xs^T Xs below.
      const double h = std::sqrt(si * pr * (1.0 - pr));
      xs.row(i).head(p) = h * x;
      if (P.fi) xs(i, p) = h;
    }
  }
  a.loss += loss;
  if (P.fi) a.g(p) += gb;
  if (want_h) blas::syrk_t(1.0, blas::view(xs), 1.0, blas::mut_view(a.H));
}

/// One pass at theta: returns the smooth part of the objective, sets its gradient and, when
/// hess is given, its Hessian (d x d) at the same point (Newton reads the rows once per step).
double evaluate(const Problem& P, const VectorXd& theta, VectorXd& grad, MatrixXd* hess = nullptr) {
  const ThetaMap T(theta.data(), P.ke, P.cols);
  const Index d = P.d();
  const bool want_h = hess != nullptr;
  const auto acc_doubles = static_cast<std::size_t>(d + (want_h ? d * d : 0));
  auto acc = block_reduce<PassAcc>(
      P.n, P.threads, acc_doubles,
      [&] { return PassAcc{0, VectorXd::Zero(d), want_h ? MatrixXd::Zero(d, d) : MatrixXd()}; },
      [&](Index b, Index e, PassAcc& a, Scratch& w) {
        if (P.ke == 1) return binary_chunk(P, theta.data(), b, e, a, w, want_h);
        const Index m = e - b;
        auto Z = chunk_buffer(w.Z, m, P.ke);
        scores_into(P, T, b, e, Z);
        a.loss += probabilities(P, Z, b);
        if (want_h) add_multinomial_hessian(P, Z, b, e, w, a.H);
        for (Index i = 0; i < m; ++i) {  // residuals s_i (p_i - e_{y_i})
          Z(i, P.y[b + i]) -= 1.0;
          Z.row(i) *= P.s[b + i];
        }
        Eigen::Map<RowMatrix<double>> G(a.g.data(), P.ke, P.cols);
        blas::gemm(1.0, blas::view(Z), true, blas::view(P.X.middleRows(b, m)), false, 1.0,
                   blas::mut_view(G.leftCols(P.p)));
        if (P.fi) G.col(P.p) += Z.colwise().sum().transpose();
      });
  grad = std::move(acc.g);
  double f = acc.loss;
  const double l2 = P.lambda * (1.0 - P.alpha);
  if (l2 > 0) {
    Eigen::Map<RowMatrix<double>> G(grad.data(), P.ke, P.cols);
    f += 0.5 * l2 * T.leftCols(P.p).squaredNorm();
    G.leftCols(P.p) += l2 * T.leftCols(P.p);
  }
  if (want_h) {
    MatrixXd& H = *hess;
    H = acc.H.selfadjointView<Eigen::Lower>();
    for (Index k = 0; k < P.ke; ++k)
      for (Index j = 0; j < P.p; ++j) H(k * P.cols + j, k * P.cols + j) += l2;
  }
  return f;
}

/// Smooth part of the objective and its gradient.
double value_grad(const Problem& P, const VectorXd& theta, VectorXd& grad) { return evaluate(P, theta, grad); }

/// Hessian of the smooth part (d x d).
MatrixXd hessian(const Problem& P, const VectorXd& theta) {
  VectorXd g;
  MatrixXd H;
  evaluate(P, theta, g, &H);
  return H;
}

struct SolveResult {
  int iters = 0;
  bool converged = false;
  double grad_norm = 0;
};

bool no_progress(double f_old, double f_new) {
  return std::abs(f_old - f_new) <= 64 * std::numeric_limits<double>::epsilon() * std::max({std::abs(f_old), std::abs(f_new), 1.0});
}

SolveResult newton(const Problem& P, VectorXd& theta, double tol, int max_iter) {
  SolveResult r;
  VectorXd g, g_new, trial;
  MatrixXd H, H_new;
  // Each trial point is evaluated with its Hessian in the same pass (accepted steps need it
  // next), except where quadratic convergence predicts that the trial ends the fit.
  double f = evaluate(P, theta, g, &H);
  bool have_h = true;
  double rate = -1;  // last |g_k+1| / |g_k|^2 of a full step; < 0 while unknown
  for (r.iters = 0; r.iters < max_iter; ++r.iters) {
    r.grad_norm = g.cwiseAbs().maxCoeff();
    if (r.grad_norm <= tol) break;
    Interrupt::check("LogisticRegression::fit");
    if (!have_h) f = evaluate(P, theta, g, &H);
    // A tiny ridge keeps the solve defined on directions the loss cannot see (the common
    // shift of multinomial intercepts, collinear columns without a penalty).
    H.diagonal().array() += 1e-12 * (1.0 + H.diagonal().cwiseAbs().maxCoeff());
    VectorXd step = -H.ldlt().solve(g);
    double slope = g.dot(step);
    if (!step.allFinite() || slope >= 0) step = -g, slope = -g.squaredNorm();
    const double gn = r.grad_norm;
    const bool last = rate >= 0 && rate * gn * gn <= tol;
    double t = 1.0, f_new = 0;
    for (; t > 1e-12; t *= 0.5) {
      trial = theta + t * step;
      f_new = evaluate(P, trial, g_new, last ? nullptr : &H_new);
      if (f_new <= f + 1e-4 * t * slope) break;
      // Near the optimum the decrease falls below the rounding of f: accept a step that
      // does not raise f beyond rounding and shrinks the gradient.
      if (f_new <= f + 4 * std::numeric_limits<double>::epsilon() * std::abs(f) &&
          g_new.cwiseAbs().maxCoeff() < gn)
        break;
    }
    if (t <= 1e-12) break;
    theta.swap(trial);
    g.swap(g_new);
    if (!last) H.swap(H_new);
    have_h = !last;
    rate = t == 1.0 ? g.cwiseAbs().maxCoeff() / (gn * gn) : -1;
    const bool stalled = no_progress(f, f_new);
    f = f_new;
    if (stalled) {
      ++r.iters;
      r.grad_norm = g.cwiseAbs().maxCoeff();
      r.converged = true;  // numerically optimal: the objective no longer decreases
      return r;
    }
  }
  r.grad_norm = g.cwiseAbs().maxCoeff();
  r.converged = r.grad_norm <= tol;
  return r;
}

/// give_up(history of the largest gradient entry, one per iterate) may end the run early,
/// unconverged, for the caller to finish with another method.
SolveResult lbfgs(const Problem& P, VectorXd& theta, double tol, int max_iter,
                  const std::function<bool(const std::vector<double>&)>& give_up = {}) {
  constexpr int kMemory = 10;
  SolveResult r;
  std::deque<VectorXd> S, Y;
  std::deque<double> rho;
  std::vector<double> history;
  VectorXd g, g_new, trial;
  double f = value_grad(P, theta, g);
  for (r.iters = 0; r.iters < max_iter; ++r.iters) {
    r.grad_norm = g.cwiseAbs().maxCoeff();
    if (r.grad_norm <= tol) break;
    history.push_back(r.grad_norm);
    if (give_up && give_up(history)) break;
    Interrupt::check("LogisticRegression::fit");
    // Two-loop recursion.
    VectorXd q = g;
    std::vector<double> a(S.size());
    for (int i = static_cast<int>(S.size()) - 1; i >= 0; --i) {
      a[i] = rho[i] * S[i].dot(q);
      q -= a[i] * Y[i];
    }
    if (!S.empty()) q *= S.back().dot(Y.back()) / Y.back().squaredNorm();
    else q /= std::max(1.0, g.cwiseAbs().sum());
    for (std::size_t i = 0; i < S.size(); ++i) q += S[i] * (a[i] - rho[i] * Y[i].dot(q));
    VectorXd step = -q;
    double slope = g.dot(step);
    if (slope >= 0) {
      S.clear(), Y.clear(), rho.clear();
      step = -g / std::max(1.0, g.cwiseAbs().sum());
      slope = g.dot(step);
    }
    double t = 1.0, f_new = 0;
    for (; t > 1e-14; t *= 0.5) {
      trial = theta + t * step;
      f_new = value_grad(P, trial, g_new);
      if (f_new <= f + 1e-4 * t * slope) break;
    }
    if (t <= 1e-14) break;
    VectorXd s = trial - theta, yv = g_new - g;
    const double sy = s.dot(yv);
    if (sy > 1e-12 * yv.squaredNorm()) {
      S.push_back(std::move(s));
      Y.push_back(std::move(yv));
      rho.push_back(1.0 / sy);
      if (static_cast<int>(S.size()) > kMemory) S.pop_front(), Y.pop_front(), rho.pop_front();
    }
    theta.swap(trial);
    g.swap(g_new);
    const bool stalled = no_progress(f, f_new);
    f = f_new;
    if (stalled) {
      ++r.iters;
      r.grad_norm = g.cwiseAbs().maxCoeff();
      r.converged = true;
      return r;
    }
  }
  r.grad_norm = g.cwiseAbs().maxCoeff();
  r.converged = r.grad_norm <= tol;
  return r;
}

/// Largest absolute subgradient of the full objective (smooth gradient g plus l1 term).
double subgradient_norm(const Problem& P, const VectorXd& theta, const VectorXd& g) {
  const double l1 = P.lambda * P.alpha;
  double worst = 0;
  for (Index k = 0; k < P.ke; ++k)
    for (Index j = 0; j < P.cols; ++j) {
      const Index q = k * P.cols + j;
      double v;
      if (j == P.p) v = std::abs(g(q));  // intercept
      else if (theta(q) != 0) v = std::abs(g(q) + l1 * (theta(q) > 0 ? 1.0 : -1.0));
      else v = std::max(0.0, std::abs(g(q)) - l1);
      worst = std::max(worst, v);
    }
  return worst;
}

double full_objective(const Problem& P, const VectorXd& theta, VectorXd& g) {
  double f = value_grad(P, theta, g);
  const double l1 = P.lambda * P.alpha;
  if (l1 > 0) {
    const ThetaMap T(theta.data(), P.ke, P.cols);
    f += l1 * T.leftCols(P.p).cwiseAbs().sum();
  }
  return f;
}

SolveResult coordinate_descent_centred(const Problem& P, VectorXd& theta, double tol, int max_iter);

/// With an intercept, CD runs on centred columns (an exact reparametrisation, since the
/// intercept is unpenalised: b = b' - w . mean): uncentred columns are correlated with the
/// intercept and make coordinate descent zig-zag.
SolveResult coordinate_descent(const Problem& P, VectorXd& theta, double tol, int max_iter) {
  if (!P.fi) return coordinate_descent_centred(P, theta, tol, max_iter);
  const Eigen::RowVectorXd mean = P.X.colwise().mean();
  const RowMatrix<double> Xr = P.X.rowwise() - mean;
  Problem Q{Xr, P.y, P.s, P.n, P.p, P.ke, P.cols, P.fi, P.lambda, P.alpha, P.threads};
  Eigen::Map<RowMatrix<double>> T(theta.data(), P.ke, P.cols);
  T.col(P.p) += T.leftCols(P.p) * mean.transpose();  // to the centred parametrisation
  SolveResult r = coordinate_descent_centred(Q, theta, tol, max_iter);
  T.col(P.p) -= T.leftCols(P.p) * mean.transpose();
  return r;
}

SolveResult coordinate_descent_centred(const Problem& P, VectorXd& theta, double tol, int max_iter) {
  SolveResult r;
  const Index n = P.n, p = P.p;
  const double l1 = P.lambda * P.alpha, l2 = P.lambda * (1.0 - P.alpha);
  // Column-major copy: each coordinate update reads one feature over all rows.
  const Eigen::MatrixXd Xc = P.X;
  VectorXd g, g_new;
  double f = full_objective(P, theta, g);
  RowMatrix<double> prob(n, P.ke);
  VectorXd v(n), res(n), hjj(p);
  for (r.iters = 0; r.iters < max_iter; ++r.iters) {
    r.grad_norm = subgradient_norm(P, theta, g);
    if (r.grad_norm <= tol) break;
    Interrupt::check("LogisticRegression::fit");
    for (Index k = 0; k < P.ke; ++k) {
      const VectorXd before = theta;
      // Probabilities at the current point.
      const ThetaMap T(theta.data(), P.ke, P.cols);
      parallel_chunks(n, P.threads, [&](Index b, Index e, int) {
        RowMatrix<double> Z = scores(P, T, b, e);
        probabilities(P, Z, b);
        prob.middleRows(b, e - b) = Z;
      });
      for (Index i = 0; i < n; ++i) {
        const double pk = prob(i, k);
        const double yk = P.ke == 1 ? (P.y[i] == 1 ? 1.0 : 0.0) : (P.y[i] == k ? 1.0 : 0.0);
        // Working weights floored as in glmnet so that confident rows still count.
        const double h = std::max(pk * (1.0 - pk), 1e-5);
        v(i) = P.s[i] * h;
        res(i) = (yk - pk) / h;
      }
      for (Index j = 0; j < p; ++j) hjj(j) = v.dot(Xc.col(j).cwiseAbs2());
      const double vsum = v.sum();
      double* w = theta.data() + k * P.cols;
      // Inner tolerance follows the outer optimality gap (inexact Newton): early outer
      // steps need not be solved precisely.
      const double gap = std::max(tol, 0.1 * r.grad_norm);
      const double inner_tol = 1e-2 * gap * gap;
      std::vector<char> active(p, 1);
      auto sweep = [&](bool all) {
        double biggest = 0;
        for (Index j = 0; j < p; ++j) {
          if (hjj(j) <= 0 || (!all && !active[j])) continue;
          const double u = (Xc.col(j).array() * v.array() * res.array()).sum() + hjj(j) * w[j];
          const double mag = std::abs(u) - l1;
          const double wn = mag > 0 ? std::copysign(mag, u) / (hjj(j) + l2) : 0.0;
          const double delta = wn - w[j];
          if (delta != 0) {
            res.noalias() -= delta * Xc.col(j);
            w[j] = wn;
            biggest = std::max(biggest, hjj(j) * delta * delta);
          }
        }
        if (P.fi && vsum > 0) {
          const double db = v.dot(res) / vsum;
          res.array() -= db;
          w[p] += db;
          biggest = std::max(biggest, vsum * db * db);
        }
        return biggest;
      };
      // Full sweeps alternate with sweeps over the non-zero coefficients only (glmnet's
      // active-set strategy): most l1 coefficients stay at zero.
      for (int round = 0; round < 100; ++round) {
        const double full = sweep(true);
        for (Index j = 0; j < p; ++j) active[j] = w[j] != 0;
        if (full <= inner_tol) break;
        for (int pass = 0; pass < 1000 && sweep(false) > inner_tol; ++pass) {
        }
      }
      // Guard the partial Newton step: halve it until the objective does not increase.
      double f_new = full_objective(P, theta, g_new);
      const VectorXd step = theta - before;
      for (double t = 0.5; f_new > f + 1e-12 * std::abs(f) && t > 1e-6; t *= 0.5) {
        theta = before + t * step;
        f_new = full_objective(P, theta, g_new);
      }
      f = f_new;
      g.swap(g_new);
    }
  }
  r.grad_norm = subgradient_norm(P, theta, g);
  r.converged = r.grad_norm <= tol;
  return r;
}

}  // namespace

Penalty parse_penalty(std::string_view s) {
  if (s == "none") return Penalty::None;
  if (s == "l2") return Penalty::L2;
  if (s == "l1") return Penalty::L1;
  if (s == "elasticnet") return Penalty::ElasticNet;
  fail("LogisticRegression", "penalty must be 'none', 'l2', 'l1' or 'elasticnet', got '", s, "'");
}
LogisticSolver parse_logistic_solver(std::string_view s) {
  if (s == "auto") return LogisticSolver::Auto;
  if (s == "lbfgs") return LogisticSolver::Lbfgs;
  if (s == "newton-cholesky") return LogisticSolver::NewtonCholesky;
  if (s == "cd") return LogisticSolver::CoordinateDescent;
  fail("LogisticRegression", "solver must be 'auto', 'lbfgs', 'newton-cholesky' or 'cd', got '", s, "'");
}
std::string to_string(Penalty p) {
  switch (p) {
    case Penalty::None: return "none";
    case Penalty::L2: return "l2";
    case Penalty::L1: return "l1";
    case Penalty::ElasticNet: return "elasticnet";
  }
  return "?";
}
std::string to_string(LogisticSolver s) {
  switch (s) {
    case LogisticSolver::Auto: return "auto";
    case LogisticSolver::Lbfgs: return "lbfgs";
    case LogisticSolver::NewtonCholesky: return "newton-cholesky";
    case LogisticSolver::CoordinateDescent: return "cd";
  }
  return "?";
}

void LogisticRegression::Params::validate() const {
  constexpr std::string_view w = "LogisticRegression";
  if (penalty != Penalty::None)
    require(std::isfinite(C) && C > 0, w, "C must be a positive finite number (got ", C, ")");
  require(std::isfinite(l1_ratio) && l1_ratio >= 0 && l1_ratio <= 1, w, "l1_ratio must be in [0, 1] (got ", l1_ratio, ")");
  require(std::isfinite(tol) && tol > 0, w, "tol must be positive (got ", tol, ")");
  require(max_iter >= 1, w, "max_iter must be at least 1 (got ", max_iter, ")");
  resolve_threads(n_threads, w);
  const bool smooth = penalty == Penalty::None || penalty == Penalty::L2 ||
                      (penalty == Penalty::ElasticNet && l1_ratio == 0.0);
  if (!smooth && (solver == LogisticSolver::Lbfgs || solver == LogisticSolver::NewtonCholesky))
    fail(w, "solver '", to_string(solver), "' handles penalty 'none' or 'l2' only; use 'cd' (or 'auto') for '",
         to_string(penalty), "'");
}

LogisticRegression& LogisticRegression::fit(MatrixView<double> X, std::span<const std::int64_t> y,
                                            std::int64_t n_classes, std::span<const double> weight) {
  constexpr std::string_view where = "LogisticRegression::fit";
  params_.validate();
  check_nonempty(where, "X", X.rows());
  require<ShapeError>(X.cols() >= 1, where, "X has no columns");
  check_same_length(where, "X", X.rows(), "y", static_cast<Index>(y.size()));
  check_finite(where, "X", X);
  require(n_classes >= 2, where, "y must hold at least two classes (got ", n_classes,
          "); a classifier cannot learn from one class");
  std::vector<double> count(n_classes, 0.0);
  for (std::size_t i = 0; i < y.size(); ++i) {
    if (y[i] < 0 || y[i] >= n_classes) fail(where, "class code ", y[i], " at row ", i, " is out of range");
    count[y[i]] += 1;
  }
  for (std::int64_t k = 0; k < n_classes; ++k)
    require(count[k] > 0, where, "class ", k, " has no samples; y must hold every class");

  Problem P{X, y, {}, X.rows(), X.cols(), n_classes == 2 ? 1 : n_classes, 0, params_.fit_intercept, 0, 0,
            resolve_threads(params_.n_threads)};
  P.cols = P.p + (P.fi ? 1 : 0);
  P.s.assign(P.n, 1.0);
  if (!weight.empty()) {
    check_same_length(where, "sample_weight", static_cast<Index>(weight.size()), "X", X.rows());
    for (std::size_t i = 0; i < weight.size(); ++i)
      if (!std::isfinite(weight[i]) || weight[i] < 0)
        fail(where, "sample_weight must be finite and non-negative (row ", i, " is ", weight[i], ")");
    std::copy(weight.begin(), weight.end(), P.s.begin());
  }
  double S = 0;
  for (double s : P.s) S += s;
  require(S > 0, where, "sample_weight sums to zero");
  for (double& s : P.s) s /= S;
  switch (params_.penalty) {
    case Penalty::None: P.lambda = 0, P.alpha = 0; break;
    case Penalty::L2: P.lambda = 1.0 / (params_.C * S), P.alpha = 0; break;
    case Penalty::L1: P.lambda = 1.0 / (params_.C * S), P.alpha = 1; break;
    case Penalty::ElasticNet: P.lambda = 1.0 / (params_.C * S), P.alpha = params_.l1_ratio; break;
  }
  LogisticSolver solver = params_.solver;
  VectorXd theta = VectorXd::Zero(P.d());
  SolveResult r;
  if (solver == LogisticSolver::Auto && P.alpha == 0) {
    // L-BFGS first: on well-conditioned data it converges in a few cheap O(n d) passes.
    // Where it converges slowly (ill-conditioned designs such as one-hot blocks) finish with
    // Newton from where it stopped, whose O(n d^2) Hessian pays off there: once L-BFGS's
    // mean rate over its last (up to) eight steps, from the third on, predicts more passes
    // than Newton's rest would cost. Its gradient norm is not monotone (plateaus of a few
    // steps, one-step spikes), so the rate is that of the best norm reached, over a window
    // long enough not to mistake a plateau for a stall
    // (about four steps of a pass plus a Hessian, n d^2 / 2 compute-bound multiply-adds
    // against a memory-bound pass's n d: about d / 16 passes). Deterministic: the rule reads
    // gradient norms, never clocks. Above d = 1000 the Hessian is too large: L-BFGS throughout.
    const bool may_switch = P.d() <= 1000;
    const double newton_passes = 4.0 * (1.0 + static_cast<double>(P.d()) / 16.0);
    const double tol = params_.tol;
    auto slow = [&](const std::vector<double>& gn) {
      const std::size_t k = gn.size() - 1;
      if (!may_switch || k < 3) return false;
      const std::size_t w = std::min<std::size_t>(k, 8);
      // Progress is the best norm reached: a one-step spike is not a stall.
      const double now = *std::min_element(gn.begin(), gn.end());
      const double then = *std::min_element(gn.begin(), gn.end() - static_cast<std::ptrdiff_t>(w));
      const double rate = std::pow(now / then, 1.0 / static_cast<double>(w));
      return !(rate < 1) || 1.2 * std::log(tol / gn[k]) / std::log(rate) > newton_passes;
    };
    r = lbfgs(P, theta, params_.tol, params_.max_iter, slow);
    solver = LogisticSolver::Lbfgs;
    if (!(r.grad_norm <= params_.tol) && r.iters < params_.max_iter && may_switch) {
      const int used = r.iters;
      r = newton(P, theta, params_.tol, params_.max_iter - used);
      r.iters += used;
      solver = LogisticSolver::NewtonCholesky;
    }
  } else {
    if (solver == LogisticSolver::Auto) solver = LogisticSolver::CoordinateDescent;
    switch (solver) {
      case LogisticSolver::NewtonCholesky: r = newton(P, theta, params_.tol, params_.max_iter); break;
      case LogisticSolver::Lbfgs: r = lbfgs(P, theta, params_.tol, params_.max_iter); break;
      default: r = coordinate_descent(P, theta, params_.tol, params_.max_iter); break;
    }
  }
  Eigen::Map<RowMatrix<double>> T(theta.data(), P.ke, P.cols);
  if (P.ke > 1) {
    // The softmax ignores a common shift: report the centred (canonical) solution. Without
    // a penalty the same holds for each feature's coefficients across classes.
    if (P.fi) T.col(P.p).array() -= T.col(P.p).mean();
    if (params_.penalty == Penalty::None)
      for (Index j = 0; j < P.p; ++j) T.col(j).array() -= T.col(j).mean();
  }
  coef_ = T.leftCols(P.p);
  intercept_ = P.fi ? Vector<double>(T.col(P.p)) : Vector<double>::Zero(P.ke);
  n_classes_ = n_classes;
  n_iter_ = r.iters;
  converged_ = r.converged;
  grad_norm_ = r.grad_norm;
  solver_used_ = solver;
  cov_.resize(0, 0);
  // (K-1)(p+1) parameters: beyond 4,000 the information matrix (and its O(n d^2) cost) is
  // not worth building for a table nobody reads; summary() then says so.
  if (params_.penalty == Penalty::None && (P.ke == 1 || (P.ke - 1) * P.cols <= 4000)) {
    // Unscaled observed information. Multinomial: the reference-class model (class 0's
    // coefficients fixed at 0, as statsmodels' MNLogit) has the same probabilities, and its
    // information is the full one restricted to the blocks of classes 1..K-1.
    MatrixXd H = hessian(P, theta) * S;
    if (P.ke > 1) H = MatrixXd(H.bottomRightCorner((P.ke - 1) * P.cols, (P.ke - 1) * P.cols));
    Eigen::SelfAdjointEigenSolver<MatrixXd> es(H);
    const auto& ev = es.eigenvalues();
    if (ev.minCoeff() > 1e-10 * std::max(1.0, ev.maxCoeff()))
      cov_ = es.eigenvectors() * ev.cwiseInverse().asDiagonal() * es.eigenvectors().transpose();
  }
  return *this;
}

void LogisticRegression::check_predict_input(std::string_view where, MatrixView<double> X) const {
  if (!is_fitted()) fail<NotFittedError>(where, "this LogisticRegression is not fitted yet; call fit first");
  require<ShapeError>(X.cols() == coef_.cols(), where, "X has ", X.cols(), " features but the model was fitted with ",
                      coef_.cols());
}

namespace {

/// Linear scores of X (n x rows of coef), X read once, its finiteness read off the scores
/// (as checked_linear, core/linear_predict.hpp, which scores the two-class case).
RowMatrix<double> checked_scores(std::string_view where, MatrixView<double> X, const RowMatrix<double>& coef,
                                 const Vector<double>& intercept, int threads) {
  const Index n = X.rows(), K = coef.rows();
  if (K == 1) return checked_linear(where, X, coef.data(), intercept(0), threads);  // n x 1
  RowMatrix<double> Z(n, K);
  for_rows_checked(where, X, threads, [&](Index b, Index e) {
    bool finite = true;
    for (Index c = b; c < e; c += kChunk) {
      const Index m = std::min(e, c + kChunk) - c;
      auto Zc = Z.middleRows(c, m);
      Zc.noalias() = X.middleRows(c, m) * coef.transpose();
      Zc.rowwise() += intercept.transpose();
      finite &= Zc.allFinite();
    }
    return finite;
  });
  return Z;
}

}  // namespace

RowMatrix<double> LogisticRegression::decision_function(MatrixView<double> X) const {
  constexpr std::string_view where = "LogisticRegression::decision_function";
  check_predict_input(where, X);
  return checked_scores(where, X, coef_, intercept_, params_.n_threads);
}

RowMatrix<double> LogisticRegression::predict_proba(MatrixView<double> X) const {
  constexpr std::string_view where = "LogisticRegression::predict_proba";
  check_predict_input(where, X);
  const RowMatrix<double> Z = checked_scores(where, X, coef_, intercept_, params_.n_threads);
  RowMatrix<double> P(X.rows(), n_classes_);
  parallel_chunks(X.rows(), params_.n_threads, [&](Index b, Index e, int) {
    for (Index i = b; i < e; ++i) {
      if (n_classes_ == 2) {
        P(i, 1) = sigmoid(Z(i, 0));
        P(i, 0) = sigmoid(-Z(i, 0));
      } else {
        const double mx = Z.row(i).maxCoeff();
        double sum = 0;
        for (Index k = 0; k < n_classes_; ++k) sum += (P(i, k) = std::exp(Z(i, k) - mx));
        P.row(i) /= sum;
      }
    }
  });
  return P;
}

std::vector<std::int64_t> LogisticRegression::predict(MatrixView<double> X) const {
  constexpr std::string_view where = "LogisticRegression::predict";
  check_predict_input(where, X);
  const RowMatrix<double> Z = checked_scores(where, X, coef_, intercept_, params_.n_threads);
  std::vector<std::int64_t> out(Z.rows());
  parallel_chunks(Z.rows(), params_.n_threads, [&](Index b, Index e, int) {
    for (Index i = b; i < e; ++i) {
      if (n_classes_ == 2) out[i] = Z(i, 0) > 0 ? 1 : 0;
      else Z.row(i).maxCoeff(&out[i]);
    }
  });
  return out;
}

LogisticInference LogisticRegression::inference(double alpha) const {
  constexpr std::string_view where = "LogisticRegression::summary";
  if (!is_fitted()) fail<NotFittedError>(where, "this LogisticRegression is not fitted yet");
  require(params_.penalty == Penalty::None, where,
          "standard errors need an unpenalised fit (penalty='none'); penalised estimates are biased");
  require(alpha > 0 && alpha < 1, where, "alpha must be in (0, 1) (got ", alpha, ")");
  require(n_classes_ == 2 || (n_classes_ - 1) * (coef_.cols() + (params_.fit_intercept ? 1 : 0)) <= 4000, where,
          "summary() of a multinomial fit covers at most 4,000 parameters ((classes - 1) x (features + 1))");
  require(cov_.size() > 0, where,
          "the information matrix is singular (collinear columns, e.g. every level of a one-hot encoding "
          "next to the intercept, or a separated class); drop a level per feature");
  const Index p = coef_.cols();
  const bool fi = params_.fit_intercept;
  boost::math::normal_distribution<double> N;
  const double q = boost::math::quantile(boost::math::complement(N, alpha / 2));
  LogisticInference out;
  auto add = [&](double c, double var) {
    const double se = std::sqrt(var), z = c / se;
    out.coef.push_back(c);
    out.std_err.push_back(se);
    out.z.push_back(z);
    out.p_value.push_back(2 * boost::math::cdf(boost::math::complement(N, std::abs(z))));
    out.ci_low.push_back(c - q * se);
    out.ci_high.push_back(c + q * se);
  };
  const Index c = p + (fi ? 1 : 0);
  if (n_classes_ == 2) {
    if (fi) add(intercept_(0), cov_(p, p));  // theta order is [w, b]; report the intercept first
    for (Index j = 0; j < p; ++j) add(coef_(0, j), cov_(j, j));
    return out;
  }
  // Multinomial: class k = 1..K-1 against class 0 (the symmetric coefficients' differences).
  for (Index k = 1; k < n_classes_; ++k) {
    const Index o = (k - 1) * c;
    if (fi) add(intercept_(k) - intercept_(0), cov_(o + p, o + p));
    for (Index j = 0; j < p; ++j) add(coef_(k, j) - coef_(0, j), cov_(o + j, o + j));
  }
  return out;
}

ModelDocument LogisticRegression::to_document() const {
  if (!is_fitted()) fail<NotFittedError>("LogisticRegression::to_document", "this LogisticRegression is not fitted yet");
  ModelDocument doc;
  doc.estimator = std::string(kEstimator);
  doc.params["penalty"] = to_string(params_.penalty);
  doc.params["C"] = json_number(params_.C);
  doc.params["l1_ratio"] = params_.l1_ratio;
  doc.params["solver"] = to_string(params_.solver);
  doc.params["fit_intercept"] = params_.fit_intercept;
  doc.params["tol"] = params_.tol;
  doc.params["max_iter"] = params_.max_iter;
  doc.params["n_threads"] = params_.n_threads;
  doc.state["n_classes"] = n_classes_;
  doc.state["n_features"] = coef_.cols();
  doc.state["coef"] = json_array(std::vector<double>(coef_.data(), coef_.data() + coef_.size()));
  doc.state["intercept"] = json_array(std::vector<double>(intercept_.data(), intercept_.data() + intercept_.size()));
  doc.state["covariance"] = json_array(std::vector<double>(cov_.data(), cov_.data() + cov_.size()));
  doc.state["n_iter"] = n_iter_;
  doc.state["converged"] = converged_;
  doc.state["solver_used"] = to_string(solver_used_);
  doc.state["gradient_norm"] = json_number(grad_norm_);
  return doc;
}

LogisticRegression LogisticRegression::from_document(const ModelDocument& doc) {
  constexpr std::string_view where = "LogisticRegression document";
  if (doc.estimator != kEstimator) fail<SerializationError>(where, "holds a '", doc.estimator, "' model");
  Params p;
  try {
    p.penalty = parse_penalty(json_string(doc.params, "penalty", where));
    p.solver = parse_logistic_solver(json_string(doc.params, "solver", where));
  } catch (const SerializationError&) {
    throw;
  } catch (const Error& e) {
    fail<SerializationError>(where, e.what());
  }
  p.C = json_double(doc.params, "C", where);
  p.l1_ratio = json_double(doc.params, "l1_ratio", where);
  p.fit_intercept = json_bool(doc.params, "fit_intercept", where);
  p.tol = json_double(doc.params, "tol", where);
  const auto max_iter = json_int(doc.params, "max_iter", where), threads = json_int(doc.params, "n_threads", where);
  if (max_iter < 1 || max_iter > std::numeric_limits<int>::max() || threads == 0 || std::abs(threads) > 1 << 16)
    fail<SerializationError>(where, "max_iter or n_threads out of range");
  p.max_iter = static_cast<int>(max_iter);
  p.n_threads = static_cast<int>(threads);
  try {
    p.validate();
  } catch (const Error& e) {
    fail<SerializationError>(where, "invalid parameters: ", e.what());
  }
  LogisticRegression m(p);
  const auto k = json_int(doc.state, "n_classes", where), nf = json_int(doc.state, "n_features", where);
  if (k < 2 || k > 1'000'000 || nf < 1 || nf > 100'000'000)
    fail<SerializationError>(where, "n_classes or n_features out of range");
  const Index ke = k == 2 ? 1 : k;
  auto coef = json_doubles(doc.state, "coef", where);
  auto icpt = json_doubles(doc.state, "intercept", where);
  auto cov = json_doubles(doc.state, "covariance", where);
  if (static_cast<Index>(coef.size()) != ke * nf) fail<SerializationError>(where, "field 'coef' has the wrong length");
  if (static_cast<Index>(icpt.size()) != ke) fail<SerializationError>(where, "field 'intercept' has the wrong length");
  const Index c = nf + (p.fit_intercept ? 1 : 0), cc = (k == 2 ? 1 : k - 1) * c;  // reference-class blocks
  if (!cov.empty() && static_cast<Index>(cov.size()) != cc * cc)
    fail<SerializationError>(where, "field 'covariance' has the wrong length");
  m.coef_ = Eigen::Map<RowMatrix<double>>(coef.data(), ke, nf);
  m.intercept_ = Eigen::Map<Vector<double>>(icpt.data(), ke);
  if (!cov.empty()) m.cov_ = Eigen::Map<RowMatrix<double>>(cov.data(), cc, cc);
  if (!m.coef_.allFinite() || !m.intercept_.allFinite()) fail<SerializationError>(where, "coefficients must be finite");
  m.n_classes_ = k;
  m.n_iter_ = static_cast<int>(std::clamp<std::int64_t>(json_int(doc.state, "n_iter", where), 0, 1 << 30));
  m.converged_ = json_bool(doc.state, "converged", where);
  try {
    m.solver_used_ = parse_logistic_solver(json_string(doc.state, "solver_used", where));
  } catch (const SerializationError&) {
    throw;
  } catch (const Error& e) {
    fail<SerializationError>(where, e.what());
  }
  m.grad_norm_ = json_double(doc.state, "gradient_norm", where);
  return m;
}

}  // namespace custmine::classification
