// Private to src/clv: row grouping and the maximum-likelihood driver shared by every model.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <numeric>
#include <string>
#include <vector>

#include "custmine/clv/clv.hpp"
#include "custmine/clv/special.hpp"
#include "custmine/core/optimize.hpp"
#include "custmine/core/threading.hpp"

namespace custmine::clv::detail {

using Row = std::array<double, 3>;

/// Distinct rows with summed weights, in lexicographic order (deterministic).
struct Groups {
  std::vector<Row> rows;
  std::vector<double> weight;
  double total = 0;
};

/// Groups identical rows; rows with weight 0 are omitted (they carry no likelihood).
inline Groups group_rows(std::span<const double> a, std::span<const double> b, std::span<const double> c,
                         std::span<const double> w) {
  const std::size_t n = a.size();
  std::vector<std::size_t> idx(n);
  std::iota(idx.begin(), idx.end(), 0);
  auto key = [&](std::size_t i) { return Row{a[i], b[i], c.empty() ? 0.0 : c[i]}; };
  std::sort(idx.begin(), idx.end(), [&](std::size_t i, std::size_t j) { return key(i) < key(j); });
  Groups g;
  for (std::size_t k = 0; k < n; ++k) {
    const std::size_t i = idx[k];
    const double wi = w.empty() ? 1.0 : w[i];
    if (wi == 0) continue;
    const Row r = key(i);
    if (!g.rows.empty() && g.rows.back() == r)
      g.weight.back() += wi;
    else
      g.rows.push_back(r), g.weight.push_back(wi);
    g.total += wi;
  }
  return g;
}

/// Checks a weights argument: empty, or n finite values >= 0 with a positive sum.
inline void check_weights(std::string_view where, std::span<const double> w, std::size_t n) {
  if (w.empty()) return;
  check_same_length(where, "frequency", static_cast<Index>(n), "weights", static_cast<Index>(w.size()));
  double s = 0;
  for (std::size_t i = 0; i < w.size(); ++i) {
    if (!std::isfinite(w[i]) || w[i] < 0)
      fail(where, "weights must be finite and >= 0 (row ", i, " has ", w[i], ")");
    s += w[i];
  }
  require(s > 0, where, "weights sum to 0: nothing to fit");
}

struct MlResult {
  std::vector<double> params, se;
  double log_likelihood = 0;
  FitInfo info;
};

/// Maximises sum_g w_g * ll(theta, row_g) over theta = exp(u). `ll` is a template
/// callable: ll(const std::array<S, P>& theta, const Row& row) -> S.
template <int P, class LL>
MlResult fit_ml(std::string_view where, const Groups& groups, LL&& ll, const std::vector<double>& init,
                const FitOptions& opt) {
  using D = Dual<P>;
  constexpr Index kBlock = 512;  // fixed block size: sums do not depend on the thread count
  const Index ng = static_cast<Index>(groups.rows.size());
  const Index nblocks = (ng + kBlock - 1) / kBlock;
  const double W = groups.total;

  auto total_ll = [&](const std::array<D, P>& theta) {
    std::vector<D> partial(nblocks);
    parallel_for(nblocks, opt.n_threads, [&](Index blk, int) {
      D s(0.0);
      const Index e = std::min(ng, (blk + 1) * kBlock);
      for (Index g = blk * kBlock; g < e; ++g) s += groups.weight[g] * ll(theta, groups.rows[g]);
      partial[blk] = s;
    });
    D s(0.0);
    for (const auto& p : partial) s += p;
    return s;
  };
  int interrupt_counter = 0;
  auto objective = [&](const Eigen::VectorXd& u, Eigen::VectorXd& grad) {
    if ((++interrupt_counter & 7) == 0) Interrupt::check(where);
    std::array<D, P> theta;
    for (int i = 0; i < P; ++i) {
      const double t = std::exp(u[i]);
      theta[i] = D::variable(t, i, t);  // d theta / d u = theta
    }
    const D s = total_ll(theta);
    double f = -s.v / W;
    for (int i = 0; i < P; ++i) {
      grad[i] = -s.d[i] / W + opt.penalizer * 2 * theta[i].v * theta[i].v;
      f += opt.penalizer * theta[i].v * theta[i].v;
    }
    if (!std::isfinite(f)) return std::numeric_limits<double>::infinity();
    return f;
  };

  Eigen::VectorXd u0(P);
  for (int i = 0; i < P; ++i) u0[i] = std::log(opt.initial.empty() ? init[i] : opt.initial[i]);
  optimize::LbfgsOptions lo;
  lo.max_iter = opt.max_iter;
  lo.gtol = opt.tol;
  auto res = optimize::lbfgs(objective, u0, lo);

  MlResult out;
  out.info.converged = res.converged;
  out.info.iterations = res.iterations;
  out.info.evaluations = res.evaluations;
  out.info.gradient_norm = res.grad.size() ? res.grad.template lpNorm<Eigen::Infinity>() : NAN;
  out.info.message = res.message;
  out.info.n_groups = ng;
  out.info.total_weight = W;
  for (int i = 0; i < P; ++i) out.params.push_back(std::exp(res.x[i]));
  for (int i = 0; i < P; ++i)
    if (!(out.params[i] > 1e-8 && out.params[i] < 1e8) && out.info.converged) {
      out.info.converged = res.converged = false;
      res.message = "parameter " + std::to_string(i) + " ran to the edge of the parameter space (" +
                    std::to_string(out.params[i]) + "): the maximum likelihood estimate may not exist";
      out.info.message = res.message;
    }

  if (!res.converged && opt.strict) {
    std::string state = "iterations=" + std::to_string(res.iterations) + ", objective=" + std::to_string(res.f) +
                        ", params=[";
    for (int i = 0; i < P; ++i) state += (i ? ", " : "") + std::to_string(out.params[i]);
    fail<ConvergenceError>(where, "the fit did not converge (", res.message, "; ", state,
                           "]). Try a penalizer > 0, other initial values, or strict=False to inspect it");
  }
  {
    std::array<D, P> theta;
    for (int i = 0; i < P; ++i) theta[i] = D(out.params[i]);
    out.log_likelihood = total_ll(theta).v;
  }
  // Standard errors by the delta method from the log-scale Hessian of the summed objective.
  Eigen::VectorXd g(P);
  Eigen::MatrixXd H = optimize::hessian_from_gradient(objective, res.x, 1e-5) * W;
  Eigen::LLT<Eigen::MatrixXd> llt(H);
  out.se.assign(P, std::numeric_limits<double>::quiet_NaN());
  if (llt.info() == Eigen::Success) {
    Eigen::MatrixXd cov = llt.solve(Eigen::MatrixXd::Identity(P, P));
    for (int i = 0; i < P; ++i) out.se[i] = out.params[i] * std::sqrt(std::max(0.0, cov(i, i)));
  }
  return out;
}

}  // namespace custmine::clv::detail
