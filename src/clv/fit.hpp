// Private to src/clv: row grouping and the maximum-likelihood driver shared by every model.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
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
/// O(n) expected: an open-addressing hash table over the rows (weights summed in input
/// order, so the sums are deterministic), then only the distinct rows are sorted.
inline Groups group_rows(std::span<const double> a, std::span<const double> b, std::span<const double> c,
                         std::span<const double> w) {
  const std::size_t n = a.size();
  // + 0.0 maps -0.0 to 0.0 so equal values hash alike.
  auto key = [&](std::size_t i) { return Row{a[i] + 0.0, b[i] + 0.0, c.empty() ? 0.0 : c[i] + 0.0}; };
  auto hash = [](const Row& r) {  // MurmurHash3's 64-bit finaliser over the value bits
    std::uint64_t h = 0;
    for (double v : r) {
      std::uint64_t bits;
      std::memcpy(&bits, &v, sizeof bits);
      h ^= bits;
      h ^= h >> 33, h *= 0xff51afd7ed558ccdULL, h ^= h >> 33, h *= 0xc4ceb9fe1a85ec53ULL, h ^= h >> 33;
      h += 0x9e3779b97f4a7c15ULL;
    }
    return h;
  };
  require(n < static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max()), "clv fit",
          "at most 2^31 - 1 rows are supported; pass weights for identical rows");
  // Each slot holds its row's key and the index of its distinct row, so a probe touches
  // one cache line; hashes are computed a batch ahead and their slots prefetched. The
  // table grows with the number of distinct rows (load factor <= 1/2), not with n.
  struct Slot {
    Row key;
    std::int32_t idx;
  };
  std::size_t cap = 1024;
  std::vector<Slot> slot(cap, Slot{{}, -1});
  std::vector<Row> rows;
  std::vector<double> weight;
  constexpr std::size_t kBatch = 32;
  std::array<std::uint64_t, kBatch> hs;
  for (std::size_t b0 = 0; b0 < n; b0 += kBatch) {
    const std::size_t b1 = std::min(n, b0 + kBatch);
    for (std::size_t i = b0; i < b1; ++i) {
      hs[i - b0] = hash(key(i));
#if defined(__GNUC__) || defined(__clang__)
      __builtin_prefetch(&slot[hs[i - b0] & (cap - 1)]);
#endif
    }
    for (std::size_t i = b0; i < b1; ++i) {
      const double wi = w.empty() ? 1.0 : w[i];
      if (wi == 0) continue;
      const Row r = key(i);
      if (2 * (rows.size() + 1) > cap) {
        cap *= 2;
        slot.assign(cap, Slot{{}, -1});
        for (std::size_t j = 0; j < rows.size(); ++j) {
          std::size_t h = hash(rows[j]) & (cap - 1);
          while (slot[h].idx >= 0) h = (h + 1) & (cap - 1);
          slot[h] = Slot{rows[j], static_cast<std::int32_t>(j)};
        }
      }
      std::size_t h = hs[i - b0] & (cap - 1);
      while (slot[h].idx >= 0 && slot[h].key != r) h = (h + 1) & (cap - 1);
      if (slot[h].idx < 0) {
        slot[h] = Slot{r, static_cast<std::int32_t>(rows.size())};
        rows.push_back(r), weight.push_back(wi);
      } else {
        weight[slot[h].idx] += wi;
      }
    }
  }
  // Sort the distinct rows with their weights (contiguous, no indirection).
  std::vector<std::pair<Row, double>> sorted(rows.size());
  for (std::size_t j = 0; j < rows.size(); ++j) sorted[j] = {rows[j], weight[j]};
  std::sort(sorted.begin(), sorted.end(), [](const auto& u, const auto& v) { return u.first < v.first; });
  Groups g;
  g.rows.reserve(rows.size()), g.weight.reserve(rows.size());
  for (const auto& [r, wr] : sorted) g.rows.push_back(r), g.weight.push_back(wr), g.total += wr;
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

inline constexpr Index kBlock = 512;  ///< fixed block size: sums do not depend on the thread count

/// sum_{i < n} term(i) for Dual terms, summed in fixed blocks of kBlock in a fixed order
/// so the result is bit-identical for every thread count.
template <int P, class Term>
Dual<P> block_sum(Index n, int n_threads, Term&& term) {
  using D = Dual<P>;
  const Index nblocks = (n + kBlock - 1) / kBlock;
  std::vector<D> partial(nblocks);
  parallel_for(nblocks, n_threads, [&](Index blk, int) {
    D s(0.0);
    const Index e = std::min(n, (blk + 1) * kBlock);
    for (Index i = blk * kBlock; i < e; ++i) s += term(i);
    partial[blk] = s;
  });
  D s(0.0);
  for (const auto& p : partial) s += p;
  return s;
}

/// Fills out[i] = f(i) for i < n, in parallel blocks (no reduction: thread-count invariant).
template <class T, class F>
void parallel_fill(std::vector<T>& out, Index n, int n_threads, F&& f) {
  out.resize(n);
  const Index nblocks = (n + kBlock - 1) / kBlock;
  parallel_for(nblocks, n_threads, [&](Index blk, int) {
    const Index e = std::min(n, (blk + 1) * kBlock);
    for (Index i = blk * kBlock; i < e; ++i) out[i] = f(i);
  });
}

/// Maximises the weighted log-likelihood total(theta) (a Dual<P> sum over the data with
/// total weight W, n_groups distinct rows) over theta = exp(u).
template <int P, class Total>
MlResult fit_ml_total(std::string_view where, double W, Index n_groups, Total&& total_ll,
                      const std::vector<double>& init, const FitOptions& opt) {
  using D = Dual<P>;
  const Index ng = n_groups;
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

/// Maximises sum_g w_g * ll(theta, row_g) over theta = exp(u). `ll` is a template
/// callable: ll(const std::array<S, P>& theta, const Row& row) -> S.
template <int P, class LL>
MlResult fit_ml(std::string_view where, const Groups& groups, LL&& ll, const std::vector<double>& init,
                const FitOptions& opt) {
  const Index ng = static_cast<Index>(groups.rows.size());
  auto total = [&](const std::array<Dual<P>, P>& theta) {
    return block_sum<P>(ng, opt.n_threads, [&](Index g) { return groups.weight[g] * ll(theta, groups.rows[g]); });
  };
  return fit_ml_total<P>(where, groups.total, ng, total, init, opt);
}

}  // namespace custmine::clv::detail
