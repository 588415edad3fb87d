// Small smooth unconstrained minimiser: L-BFGS with a backtracking Armijo line search,
// followed, when it stops short of the tolerance, by Newton steps with a finite-difference Hessian of the gradient.
//
// Reference: D. C. Liu & J. Nocedal (1989), "On the limited memory BFGS method for
// large scale optimization", Math. Programming 45 (two-loop recursion); Nocedal &
// Wright (2006), "Numerical Optimization", ch. 3 and 7. Meant for the few-parameter
// likelihoods of the CLV models (parameters on the log scale), where every evaluation
// is a pass over the data: O(m * d) work per iteration besides the evaluation.
//
// The objective is fg(x, grad) -> f; it may return +inf or NaN at points it cannot
// evaluate (the line search then shortens the step). Convergence is declared only when
// the gradient's infinity norm is below gtol; a run that stops for any other reason
// reports converged = false with the reason, never a silent success.
#pragma once

#include <Eigen/Core>
#include <Eigen/Cholesky>
#include <cmath>
#include <deque>
#include <limits>
#include <string>

namespace custmine::optimize {

struct LbfgsOptions {
  int max_iter = 1000;      ///< L-BFGS iterations
  int memory = 8;           ///< stored correction pairs
  double gtol = 1e-8;       ///< converged when max |grad_i| <= gtol
  int max_linesearch = 60;  ///< step halvings per iteration
  int newton_steps = 4;     ///< Newton polishing steps after L-BFGS (0 = none)
  double hessian_step = 1e-5;
};

struct LbfgsResult {
  Eigen::VectorXd x;
  Eigen::VectorXd grad;
  double f = std::numeric_limits<double>::quiet_NaN();
  int iterations = 0;
  int evaluations = 0;
  bool converged = false;
  std::string message;
};

/// Central-difference Hessian of an analytic gradient (symmetrised). 2d evaluations.
template <class FG>
Eigen::MatrixXd hessian_from_gradient(FG&& fg, const Eigen::VectorXd& x, double step, int* evals = nullptr) {
  const auto d = x.size();
  Eigen::MatrixXd H(d, d);
  Eigen::VectorXd gp(d), gm(d);
  for (Eigen::Index j = 0; j < d; ++j) {
    const double h = step * std::max(1.0, std::abs(x[j]));
    Eigen::VectorXd xp = x, xm = x;
    xp[j] += h;
    xm[j] -= h;
    fg(xp, gp);
    fg(xm, gm);
    H.col(j) = (gp - gm) / (2 * h);
  }
  if (evals) *evals += static_cast<int>(2 * d);
  return 0.5 * (H + H.transpose());
}

template <class FG>
LbfgsResult lbfgs(FG&& fg, Eigen::VectorXd x0, const LbfgsOptions& opt = {}) {
  LbfgsResult res;
  const auto d = x0.size();
  Eigen::VectorXd x = std::move(x0), g(d), xn(d), gn(d);
  double f = fg(x, g);
  res.evaluations = 1;
  auto finish = [&](bool ok, std::string msg) {
    res.x = x;
    res.grad = g;
    res.f = f;
    res.converged = ok;
    res.message = std::move(msg);
    return res;
  };
  if (!std::isfinite(f) || !g.allFinite()) return finish(false, "objective not finite at the starting point");

  std::deque<Eigen::VectorXd> S, Y;
  std::deque<double> rho;
  bool stalled = false;
  int it = 0;
  for (; it < opt.max_iter; ++it) {
    if (g.lpNorm<Eigen::Infinity>() <= opt.gtol) break;
    // Two-loop recursion for the search direction.
    Eigen::VectorXd q = g;
    std::vector<double> alpha(S.size());
    for (int k = static_cast<int>(S.size()) - 1; k >= 0; --k) {
      alpha[k] = rho[k] * S[k].dot(q);
      q -= alpha[k] * Y[k];
    }
    if (!S.empty()) q *= S.back().dot(Y.back()) / Y.back().squaredNorm();
    for (std::size_t k = 0; k < S.size(); ++k) {
      const double beta = rho[k] * Y[k].dot(q);
      q += (alpha[k] - beta) * S[k];
    }
    Eigen::VectorXd dir = -q;
    double slope = g.dot(dir);
    if (!(slope < 0)) {  // not a descent direction: restart from steepest descent
      S.clear(), Y.clear(), rho.clear();
      dir = -g;
      slope = -g.squaredNorm();
    }
    // First step of a fresh memory is scaled so that it moves about one unit.
    double step = S.empty() ? std::min(1.0, 1.0 / std::max(1e-12, g.lpNorm<Eigen::Infinity>())) : 1.0;
    bool accepted = false;
    double fn = f;
    for (int ls = 0; ls < opt.max_linesearch; ++ls) {
      xn = x + step * dir;
      fn = fg(xn, gn);
      ++res.evaluations;
      if (std::isfinite(fn) && gn.allFinite() && fn <= f + 1e-4 * step * slope) {
        accepted = true;
        break;
      }
      step *= 0.5;
    }
    if (!accepted) {
      stalled = true;
      break;
    }
    Eigen::VectorXd s = xn - x, y = gn - g;
    const double sy = s.dot(y);
    x = xn;
    g = gn;
    const double fprev = f;
    f = fn;
    if (sy > 1e-12 * s.norm() * y.norm()) {
      S.push_back(std::move(s));
      Y.push_back(std::move(y));
      rho.push_back(1.0 / sy);
      if (static_cast<int>(S.size()) > opt.memory) S.pop_front(), Y.pop_front(), rho.pop_front();
    }
    if (fprev - f <= 4 * std::numeric_limits<double>::epsilon() * std::abs(f) &&
        g.lpNorm<Eigen::Infinity>() > opt.gtol && S.empty()) {
      stalled = true;
      ++it;
      break;
    }
  }
  res.iterations = it;

  // Newton rescue: when L-BFGS stops short of the tolerance (flat or badly scaled
  // valleys), a few full Newton steps with the Hessian of the analytic gradient usually
  // finish the job; few parameters make the Hessian cheap.
  for (int k = 0; k < opt.newton_steps && g.lpNorm<Eigen::Infinity>() > opt.gtol; ++k) {
    Eigen::MatrixXd H = hessian_from_gradient(fg, x, opt.hessian_step, &res.evaluations);
    Eigen::LLT<Eigen::MatrixXd> llt(H);
    if (llt.info() != Eigen::Success) break;
    Eigen::VectorXd dx = -llt.solve(g);
    if (!dx.allFinite()) break;
    xn = x + dx;
    const double fn = fg(xn, gn);
    ++res.evaluations;
    if (!std::isfinite(fn) || !gn.allFinite() || fn > f + 1e-12 * std::abs(f) ||
        gn.lpNorm<Eigen::Infinity>() >= g.lpNorm<Eigen::Infinity>())
      break;
    x = xn, g = gn, f = fn;
  }

  const double gnorm = g.lpNorm<Eigen::Infinity>();
  if (gnorm <= opt.gtol) return finish(true, "converged: gradient norm below tolerance");
  std::string why = stalled ? "line search could not decrease the objective"
                            : "iteration limit reached (max_iter=" + std::to_string(opt.max_iter) + ")";
  return finish(false, why + "; gradient infinity norm " + std::to_string(gnorm) + " > tolerance " +
                           std::to_string(opt.gtol));
}

}  // namespace custmine::optimize
