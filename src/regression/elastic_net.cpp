// Coordinate descent for the elastic net: Gram ("covariance") and column variants,
// duality gap, Gap-Safe screening, paths and cross-validation.
#include "custmine/regression/elastic_net.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "custmine/core/blas.hpp"
#include "custmine/core/linear_predict.hpp"
#include "custmine/core/threading.hpp"

namespace custmine::regression {

void EnetParams::validate() const {
  constexpr std::string_view w = "ElasticNet";
  require(std::isfinite(alpha) && alpha >= 0, w, "alpha must be a finite number >= 0, got ", alpha);
  require(l1_ratio >= 0 && l1_ratio <= 1, w, "l1_ratio must be in [0, 1], got ", l1_ratio);
  require(max_iter >= 1, w, "max_iter must be >= 1, got ", max_iter);
  require(std::isfinite(tol) && tol >= 0, w, "tol must be >= 0, got ", tol);
  resolve_threads(n_threads, w);
}

namespace {

double soft(double x, double t) { return x > t ? x - t : (x < -t ? x + t : 0.0); }

/// A prepared (weighted, centred) least-squares problem. Either the Gram form
/// (G = B'B, q = B'yw, yy = yw'yw) or the column form (B column-major, yw).
struct Problem {
  bool gram = true;
  MatrixXd G;     // p x p (gram)
  MatrixXd B;     // n x p (columns)
  VectorXd q;     // B'yw
  VectorXd yw;    // columns only
  VectorXd norms; // ||B_j||^2
  double yy = 0;  // ||yw||^2
  double wsum = 0;
  VectorXd mean;
  double ybar = 0;
};

Problem prepare(MatrixView<double> X, VectorView<double> y, const VectorXd& w, bool fit_intercept,
                Precompute pre, int n_threads) {
  Problem P;
  const Index n = X.rows(), p = X.cols();
  P.wsum = w.sum();
  P.mean = detail::weighted_mean(X, w, fit_intercept);
  P.ybar = fit_intercept ? w.dot(y) / P.wsum : 0.0;
  P.gram = pre == Precompute::Gram || (pre == Precompute::Auto && n > 2 * p);
  P.yy = (w.array() * (y.array() - P.ybar).square()).sum();
  if (P.gram) {
    // y centred too: with a large offset in y, the rounding left in X's centring would be
    // multiplied by it (the mean drops out only in exact arithmetic)
    detail::centered_gram(X, w, P.mean, VectorXd(y.array() - P.ybar), false, n_threads, P.G, P.q);
    P.norms = P.G.diagonal();
  } else {
    P.B.resize(n, p);
    P.yw.resize(n);
    for (Index i = 0; i < n; ++i) {
      const double s = std::sqrt(w(i));
      P.B.row(i) = s * (X.row(i).transpose() - P.mean).transpose();
      P.yw(i) = s * (y(i) - P.ybar);
    }
    P.q = P.B.transpose() * P.yw;
    P.norms = P.B.colwise().squaredNorm().transpose();
  }
  return P;
}

/// Minimises 0.5||yw - B b||^2 + l1 ||b||_1 + l2/2 ||b||^2 from b (in/out).
CdInfo solve(const Problem& P, double l1, double l2, VectorXd& b, int max_iter, double tol, bool screening) {
  const Index p = P.q.size();
  CdInfo info;
  // Gram form keeps Gb = G b; column form keeps the residual r = yw - B b.
  VectorXd Gb, r;
  if (P.gram) Gb = P.G * b;
  else r = P.yw - P.B * b;
  std::vector<Index> active(p);
  for (Index j = 0; j < p; ++j) active[j] = j;
  const double tol_gap = tol * P.yy;
  auto update = [&](Index j, double nb) {
    const double d = nb - b(j);
    if (d == 0) return;
    if (P.gram) Gb.noalias() += P.G.col(j) * d;
    else r.noalias() -= P.B.col(j) * d;
    b(j) = nb;
  };
  auto gap_and_screen = [&]() {
    VectorXd Xtr = P.gram ? VectorXd(P.q - Gb) : VectorXd(P.B.transpose() * r);
    const double rr = P.gram ? P.yy - 2 * b.dot(P.q) + b.dot(Gb) : r.squaredNorm();
    const double ytr = P.gram ? P.yy - b.dot(P.q) : P.yw.dot(r);
    const double b2 = b.squaredNorm(), b1 = b.lpNorm<1>();
    const double primal = 0.5 * rr + l1 * b1 + 0.5 * l2 * b2;
    if (l1 <= 0) return std::numeric_limits<double>::quiet_NaN();
    double dual_norm = 0;
    for (Index j = 0; j < p; ++j) dual_norm = std::max(dual_norm, std::abs(Xtr(j) - l2 * b(j)));
    const double s = dual_norm > l1 ? l1 / dual_norm : 1.0;
    const double dual = s * ytr - 0.5 * s * s * (rr + l2 * b2);
    const double gap = std::max(primal - dual, 0.0);
    if (screening) {
      // Gap-Safe sphere: theta* lies within sqrt(2 gap)/l1 of s * rtilde / l1.
      const double radius = std::sqrt(2 * gap) / l1;
      std::vector<Index> keep;
      keep.reserve(active.size());
      for (Index j : active) {
        const double corr = std::abs(s * (Xtr(j) - l2 * b(j)) / l1);
        // The margin keeps rounding from screening an active feature (|corr| = 1 there).
        if (corr + radius * std::sqrt(P.norms(j) + l2) < 1 - 1e-9) update(j, 0.0);
        else keep.push_back(j);
      }
      active.swap(keep);
    }
    return gap;
  };
  for (int it = 0; it < max_iter; ++it) {
    double max_d = 0, max_b = 0;
    for (Index j : active) {
      const double old = b(j);
      if (P.norms(j) <= 0) {
        update(j, 0.0);
        continue;
      }
      const double rho = (P.gram ? P.q(j) - Gb(j) : P.B.col(j).dot(r)) + P.norms(j) * old;
      const double nb = soft(rho, l1) / (P.norms(j) + l2);
      update(j, nb);
      max_d = std::max(max_d, std::abs(nb - old));
      max_b = std::max(max_b, std::abs(nb));
    }
    info.n_iter = it + 1;
    if (max_b == 0 || max_d / max_b <= tol || it == max_iter - 1) {
      const double gap = gap_and_screen();
      info.gap = gap / P.wsum;
      if (!(gap > tol_gap) || std::isnan(gap)) {
        info.converged = !std::isnan(gap) || max_b == 0 || max_d / max_b <= tol;
        if (info.converged) break;
      }
    }
    if ((it & 15) == 0) Interrupt::check("ElasticNet::fit");
  }
  return info;
}

}  // namespace

ElasticNet& ElasticNet::fit(MatrixView<double> X, VectorView<double> y, const VectorXd* sample_weight,
                            const VectorXd* warm_start) {
  constexpr std::string_view where = "ElasticNet::fit";
  params_.validate();
  const VectorXd w = check_fit_input(where, X, y, sample_weight);
  const Problem P = prepare(X, y, w, params_.fit_intercept, params_.precompute, params_.n_threads);
  VectorXd b = VectorXd::Zero(X.cols());
  if (warm_start) {
    require<ShapeError>(warm_start->size() == X.cols(), where, "warm start has ", warm_start->size(),
                        " coefficients but X has ", X.cols(), " features");
    b = *warm_start;
  }
  info = solve(P, params_.alpha * params_.l1_ratio * P.wsum, params_.alpha * (1 - params_.l1_ratio) * P.wsum, b,
               params_.max_iter, params_.tol, params_.screening);
  coef = b;
  intercept = params_.fit_intercept ? P.ybar - P.mean.dot(coef) : 0.0;
  fitted_ = true;
  return *this;
}

VectorXd ElasticNet::predict(MatrixView<double> X) const {
  constexpr std::string_view where = "ElasticNet::predict";
  if (!fitted_) fail<NotFittedError>(where, "this ElasticNet is not fitted yet; call fit first");
  require<ShapeError>(X.cols() == coef.size(), where, "X has ", X.cols(), " features, but the model was fitted with ",
                      coef.size());
  return checked_linear(where, X, coef.data(), intercept, params_.n_threads);
}

ModelDocument ElasticNet::to_document() const {
  if (!fitted_) fail<NotFittedError>("ElasticNet::to_document", "this ElasticNet is not fitted yet");
  ModelDocument d;
  d.estimator = "ElasticNet";
  d.params["alpha"] = params_.alpha;
  d.params["l1_ratio"] = params_.l1_ratio;
  d.params["fit_intercept"] = params_.fit_intercept;
  d.params["max_iter"] = params_.max_iter;
  d.params["tol"] = params_.tol;
  d.params["screening"] = params_.screening;
  d.params["n_threads"] = params_.n_threads;
  d.state["coef"] = detail::to_json_array(coef);
  d.state["intercept"] = json_number(intercept);
  d.state["n_iter"] = info.n_iter;
  d.state["gap"] = json_number(info.gap);
  d.state["converged"] = info.converged;
  return d;
}

ElasticNet ElasticNet::from_document(const ModelDocument& d) {
  constexpr std::string_view where = "ElasticNet document";
  if (d.estimator != "ElasticNet") fail<SerializationError>(where, "holds a '", d.estimator, "' model");
  Params p;
  p.alpha = json_double(d.params, "alpha", where);
  p.l1_ratio = json_double(d.params, "l1_ratio", where);
  p.fit_intercept = json_bool(d.params, "fit_intercept", where);
  const auto mi = json_int(d.params, "max_iter", where);
  if (mi < 1 || mi > 100'000'000) fail<SerializationError>(where, "field 'max_iter' is out of range");
  p.max_iter = static_cast<int>(mi);
  p.tol = json_double(d.params, "tol", where);
  p.screening = json_bool(d.params, "screening", where);
  const auto t = json_int(d.params, "n_threads", where);
  if (t == 0 || t < -1024 || t > 4096) fail<SerializationError>(where, "field 'n_threads' is out of range");
  p.n_threads = static_cast<int>(t);
  try {
    p.validate();
  } catch (const InvalidArgument& e) {
    fail<SerializationError>(where, e.what());
  }
  ElasticNet m(p);
  m.coef = detail::json_vector(d.state, "coef", where);
  if (m.coef.size() < 1) fail<SerializationError>(where, "field 'coef' is empty");
  m.intercept = json_double(d.state, "intercept", where);
  const auto it = json_int(d.state, "n_iter", where);
  if (it < 0 || it > 100'000'000) fail<SerializationError>(where, "field 'n_iter' is out of range");
  m.info.n_iter = static_cast<int>(it);
  m.info.gap = json_double(d.state, "gap", where);
  m.info.converged = json_bool(d.state, "converged", where);
  m.fitted_ = true;
  return m;
}

std::vector<double> alpha_grid(MatrixView<double> X, VectorView<double> y, const VectorXd* sample_weight,
                               double l1_ratio, bool fit_intercept, double eps, int n_alphas) {
  constexpr std::string_view where = "alpha_grid";
  const VectorXd w = check_fit_input(where, X, y, sample_weight);
  require(l1_ratio > 0 && l1_ratio <= 1, where, "l1_ratio must be in (0, 1] to build an alpha grid, got ", l1_ratio,
          " (pass alphas explicitly for l1_ratio = 0)");
  require(eps > 0 && std::isfinite(eps), where, "eps must be > 0, got ", eps);
  require(n_alphas >= 1, where, "n_alphas must be >= 1, got ", n_alphas);
  const VectorXd mean = detail::weighted_mean(X, w, fit_intercept);
  const double ybar = fit_intercept ? w.dot(y) / w.sum() : 0.0;
  double amax = 0;
  const VectorXd wy = w.array() * (y.array() - ybar);
  const VectorXd Xty = X.transpose() * wy;
  const double swy = wy.sum();
  for (Index j = 0; j < X.cols(); ++j) amax = std::max(amax, std::abs(Xty(j) - mean(j) * swy));
  amax /= w.sum() * l1_ratio;
  std::vector<double> out(n_alphas);
  const double res = 1e-15;  // numpy's float64 resolution
  if (amax <= res) {
    std::fill(out.begin(), out.end(), res);
    return out;
  }
  if (n_alphas == 1) {
    out[0] = amax;
    return out;
  }
  const double hi = std::log10(amax), lo = std::log10(amax * eps);
  for (int i = 0; i < n_alphas; ++i) out[i] = std::pow(10.0, hi + (lo - hi) * i / (n_alphas - 1));
  return out;
}

namespace {
EnetPath run_path(const Problem& P, const std::vector<double>& alphas, const EnetParams& params) {
  const Index p = P.q.size();
  const Index na = static_cast<Index>(alphas.size());
  EnetPath out;
  out.alphas = alphas;
  out.coefs.resize(na, p);
  out.intercepts.resize(na);
  out.gaps.resize(na);
  out.n_iters.resize(na);
  out.converged.resize(na);
  // Solve from the largest alpha down so each solve starts from its neighbour.
  std::vector<Index> order(na);
  for (Index i = 0; i < na; ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](Index a, Index b) { return alphas[a] > alphas[b]; });
  VectorXd b = VectorXd::Zero(p);
  for (Index i : order) {
    const double a = alphas[i];
    auto info = solve(P, a * params.l1_ratio * P.wsum, a * (1 - params.l1_ratio) * P.wsum, b, params.max_iter,
                      params.tol, params.screening);
    out.coefs.row(i) = b.transpose();
    out.intercepts(i) = params.fit_intercept ? P.ybar - P.mean.dot(b) : 0.0;
    out.gaps(i) = info.gap;
    out.n_iters[i] = info.n_iter;
    out.converged[i] = info.converged;
  }
  return out;
}
}  // namespace

EnetPath enet_path(MatrixView<double> X, VectorView<double> y, const VectorXd* sample_weight,
                   const std::vector<double>& alphas, const EnetParams& params) {
  constexpr std::string_view where = "enet_path";
  params.validate();
  const VectorXd w = check_fit_input(where, X, y, sample_weight);
  require(!alphas.empty(), where, "alphas is empty");
  for (double a : alphas) require(std::isfinite(a) && a >= 0, where, "alphas must be finite and >= 0, got ", a);
  const Problem P = prepare(X, y, w, params.fit_intercept, params.precompute, params.n_threads);
  return run_path(P, alphas, params);
}

namespace {

/// When the test folds are disjoint and each training set is the rest of the rows (k-fold),
/// the Gram form of every training problem is the whole data's sums minus its test fold's:
/// one pass over X (n p^2) instead of one per fold (k n p^2 (k-1)/k). Sums are taken about
/// the global mean so that removing a fold's share does not cancel large offsets. Returns
/// false (nothing done) when the folds are not of that kind or the column form is asked for.
bool prepare_folds_by_subtraction(MatrixView<double> X, VectorView<double> y, const VectorXd& w,
                                  const std::vector<std::vector<std::int64_t>>& train,
                                  const std::vector<std::vector<std::int64_t>>& test, const EnetParams& params,
                                  std::vector<Problem>& problems) {
  const Index n = X.rows(), p = X.cols(), nf = static_cast<Index>(train.size());
  const bool gram = params.precompute == Precompute::Gram || (params.precompute == Precompute::Auto && n > 2 * p);
  if (!gram) return false;
  std::vector<std::int32_t> fold(static_cast<std::size_t>(n), -1);
  for (Index f = 0; f < nf; ++f) {
    if (static_cast<Index>(train[f].size() + test[f].size()) != n) return false;
    for (auto i : test[f]) {
      if (fold[i] != -1) return false;  // test folds overlap
      fold[i] = static_cast<std::int32_t>(f);
    }
  }
  for (Index f = 0; f < nf; ++f)
    for (auto i : train[f])
      if (fold[i] == f) return false;  // a row both in train and test of one fold
  // Each training set has n - |test| distinct rows outside its test fold: it is the complement.
  for (Index f = 0; f < nf; ++f) {
    std::vector<char> seen(static_cast<std::size_t>(n), 0);
    for (auto i : train[f]) {
      if (seen[i]) return false;
      seen[i] = 1;
    }
  }
  const VectorXd shift = detail::weighted_mean(X, w, params.fit_intercept);
  const double yshift = params.fit_intercept ? w.dot(y) / w.sum() : 0.0;
  // Buckets 0..nf-1: the test folds; bucket nf: rows in no test fold.
  struct Sums {
    MatrixXd S;   // sum w x~ x~'
    VectorXd sx;  // sum w x~
    VectorXd c;   // sum w x~ y
    double sw = 0, sy = 0, syy = 0;
  };
  std::vector<Sums> bucket(static_cast<std::size_t>(nf + 1));
  parallel_for(nf + 1, params.n_threads, [&](Index k, int) {
    std::vector<Index> rows;
    for (Index i = 0; i < n; ++i)
      if (fold[i] == (k == nf ? -1 : k)) rows.push_back(i);
    Sums& b = bucket[k];
    b.S = MatrixXd::Zero(p, p);
    b.sx = VectorXd::Zero(p);
    b.c = VectorXd::Zero(p);
    constexpr Index kRows = 1024;
    RowMatrix<double> B(kRows, p);  // row-major: filled row by row
    for (std::size_t r0 = 0; r0 < rows.size(); r0 += kRows) {
      const Index m = std::min<Index>(kRows, static_cast<Index>(rows.size() - r0));
      for (Index j = 0; j < m; ++j) {
        const Index i = rows[r0 + j];
        const double wi = w(i), s = std::sqrt(wi), yt = y(i) - yshift;
        B.row(j) = X.row(i) - shift.transpose();
        b.sx += wi * B.row(j).transpose();
        b.c += (wi * yt) * B.row(j).transpose();
        B.row(j) *= s;
        b.sw += wi;
        b.sy += wi * yt;
        b.syy += wi * yt * yt;
      }
      blas::syrk_t(1.0, blas::view(B.topRows(m)), 1.0, blas::mut_view(b.S));
      if (((r0 / kRows) & 63) == 0) Interrupt::check("regression");
    }
    b.S = b.S.selfadjointView<Eigen::Lower>();
  });
  Sums all = bucket[nf];
  for (Index k = 0; k < nf; ++k) {  // fixed order: the result does not depend on the thread count
    all.S += bucket[k].S;
    all.sx += bucket[k].sx;
    all.c += bucket[k].c;
    all.sw += bucket[k].sw;
    all.sy += bucket[k].sy;
    all.syy += bucket[k].syy;
  }
  for (Index f = 0; f < nf; ++f) {
    const Sums& t = bucket[f];
    Problem& P = problems[f];
    P.gram = true;
    P.wsum = all.sw - t.sw;
    require(P.wsum > 0, "ElasticNetCV::fit", "fold ", f, " has training weights summing to zero");
    // m, my: the training fold's means in the shifted coordinates (small by construction)
    const VectorXd m = params.fit_intercept ? VectorXd((all.sx - t.sx) / P.wsum) : VectorXd::Zero(p);
    const double my = params.fit_intercept ? (all.sy - t.sy) / P.wsum : 0.0;
    P.mean = shift + m;
    P.ybar = yshift + my;
    P.G = (all.S - t.S) - P.wsum * m * m.transpose();
    P.q = (all.c - t.c) - P.wsum * my * m;
    P.yy = std::max(0.0, (all.syy - t.syy) - P.wsum * my * my);
    P.norms = P.G.diagonal();
  }
  return true;
}

}  // namespace

EnetCVResult enet_cv(MatrixView<double> X, VectorView<double> y, const VectorXd* sample_weight,
                     const std::vector<std::vector<std::int64_t>>& train,
                     const std::vector<std::vector<std::int64_t>>& test, const std::vector<double>& l1_ratios,
                     const MatrixXd& alphas, const EnetParams& params) {
  constexpr std::string_view where = "ElasticNetCV::fit";
  params.validate();
  const VectorXd w = check_fit_input(where, X, y, sample_weight);
  const Index n = X.rows(), p = X.cols();
  require(!train.empty() && train.size() == test.size(), where, "train and test folds must be non-empty and paired");
  require(!l1_ratios.empty() && alphas.rows() == static_cast<Index>(l1_ratios.size()), where,
          "alphas must have one row per l1_ratio");
  for (double r : l1_ratios) require(r >= 0 && r <= 1, where, "l1_ratio must be in [0, 1], got ", r);
  for (Index i = 0; i < alphas.size(); ++i)
    require(std::isfinite(alphas.data()[i]) && alphas.data()[i] >= 0, where, "alphas must be finite and >= 0");
  for (std::size_t f = 0; f < train.size(); ++f) {
    require(!train[f].empty() && !test[f].empty(), where, "fold ", f, " has an empty train or test set");
    for (auto v : train[f]) require(v >= 0 && v < n, where, "fold ", f, " holds a row index outside 0..", n - 1);
    for (auto v : test[f]) require(v >= 0 && v < n, where, "fold ", f, " holds a row index outside 0..", n - 1);
  }
  const Index nf = static_cast<Index>(train.size()), nl = static_cast<Index>(l1_ratios.size());
  EnetCVResult res;
  res.mse.assign(nl, MatrixXd(alphas.cols(), nf));
  std::vector<char> conv(nf * nl, 1);
  // Each task copies its training rows once; tasks over folds run in parallel, each path
  // on one thread (the Gram build inside is single-threaded to avoid oversubscription).
  const int inner_threads = nf * nl >= resolve_threads(params.n_threads) ? 1 : params.n_threads;
  std::vector<Problem> problems(nf);
  if (prepare_folds_by_subtraction(X, y, w, train, test, params, problems)) {
    // done: every fold's Gram came from one pass over the data
  } else parallel_for(nf, params.n_threads, [&](Index f, int) {
    const auto& tr = train[f];
    RowMatrix<double> Xt(static_cast<Index>(tr.size()), p);
    VectorXd yt(static_cast<Index>(tr.size())), wt(static_cast<Index>(tr.size()));
    for (std::size_t i = 0; i < tr.size(); ++i) {
      Xt.row(static_cast<Index>(i)) = X.row(tr[i]);
      yt(static_cast<Index>(i)) = y(tr[i]);
      wt(static_cast<Index>(i)) = w(tr[i]);
    }
    require(wt.sum() > 0, where, "fold ", f, " has training weights summing to zero");
    problems[f] = prepare(Xt, yt, wt, params.fit_intercept, params.precompute, inner_threads);
  });
  parallel_for(nf * nl, params.n_threads, [&](Index task, int) {
    const Index f = task / nl, l = task % nl;
    EnetParams pp = params;
    pp.l1_ratio = l1_ratios[l];
    std::vector<double> al(alphas.cols());
    for (Index a = 0; a < alphas.cols(); ++a) al[a] = alphas(l, a);
    const EnetPath path = run_path(problems[f], al, pp);
    for (bool c : path.converged) conv[task] &= c;
    // Test errors of every alpha at once: blocks of test rows times the coefficient matrix.
    const auto& te = test[f];
    const Index A = alphas.cols();
    const MatrixXd Ct = path.coefs.transpose();  // p x A
    VectorXd num = VectorXd::Zero(A);
    double den = 0;
    constexpr Index kRows = 512;
    MatrixXd Xb(kRows, p);
    for (std::size_t r0 = 0; r0 < te.size(); r0 += kRows) {
      const Index m = std::min<Index>(kRows, static_cast<Index>(te.size() - r0));
      for (Index j = 0; j < m; ++j) Xb.row(j) = X.row(te[r0 + j]);
      const MatrixXd pred = Xb.topRows(m) * Ct;  // m x A
      for (Index j = 0; j < m; ++j) {
        const Index i = te[r0 + j];
        den += w(i);
        for (Index a = 0; a < A; ++a) {
          const double e = y(i) - path.intercepts(a) - pred(j, a);
          num(a) += w(i) * e * e;
        }
      }
    }
    for (Index a = 0; a < A; ++a)
      res.mse[l](a, f) = den > 0 ? num(a) / den : std::numeric_limits<double>::quiet_NaN();
  });
  for (char c : conv) res.all_converged &= c != 0;
  return res;
}

}  // namespace custmine::regression
