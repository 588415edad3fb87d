// BG/NBD, MBG/NBD and Pareto/NBD: likelihoods, fit and predictions.
#include <boost/math/quadrature/tanh_sinh.hpp>

#include "fit.hpp"

namespace custmine::clv {

namespace {

const char* kind_name(CountingKind k) {
  switch (k) {
    case CountingKind::BetaGeo: return "BetaGeo";
    case CountingKind::ModifiedBetaGeo: return "ModifiedBetaGeo";
    default: return "ParetoNBD";
  }
}
std::vector<std::string> kind_params(CountingKind k) {
  if (k == CountingKind::ParetoNBD) return {"r", "alpha", "s", "beta"};
  return {"r", "alpha", "a", "b"};
}

// ---- log-likelihoods of one customer (x, t_x, T) --------------------------------------
//
// Each likelihood is split into a part that depends on the frequency x only (the
// lgamma terms), the logs log(alpha + t) and log(beta + t) of each time value, and a
// cheap per-row combination. The fit evaluates the x-parts once per distinct x, the logs
// once per distinct time and only the combination per distinct row; the per-customer
// functions below compose the same pieces, so both paths compute one formula.

/// BG/NBD and MBG/NBD: c = log of the x-only factors, c4 = log(a / (b + x - 1)) (BG,
/// x > 0) or log(a / (b + x)) (MBG).
template <class S>
void bg_xpart(bool modified, const std::array<S, 4>& th, double x, S& c, S& c4) {
  const S &r = th[0], &al = th[1], &a = th[2], &b = th[3];
  const double x2 = modified ? x + 1 : x;
  c = lgamma(r + x) - lgamma(r) + r * log(al) + lgamma(a + b) + lgamma(b + x2) - lgamma(b) - lgamma(a + b + x2);
  c4 = (modified || x > 0) ? log(a) - log(b + (x2 - 1)) : S(0.0);
}

/// The row-dependent part: log[(alpha+T)^-(r+x) + [x > 0 or MBG] e^c4 (alpha+t_x)^-(r+x)]
/// given log_T = log(alpha + T) and log_tx = log(alpha + t_x).
template <class S>
S bg_rowpart(bool modified, const S& r, const S& c4, double x, const S& log_T, const S& log_tx) {
  const S rx = r + x;
  const S A3 = -(rx * log_T);
  if (!modified && x <= 0) return A3;
  return logaddexp(A3, c4 - rx * log_tx);
}

template <class S>
S ll_bg_family(bool modified, const std::array<S, 4>& th, double x, double tx, double T) {
  S c, c4;
  bg_xpart(modified, th, x, c, c4);
  return c + bg_rowpart(modified, th[0], c4, x, log(th[1] + T), log(th[1] + tx));
}

/// Pareto/NBD: log F(t) where A0 = F(t_x) - F(T) and F(t) = 2F1(k, b; k+1; z(t)) / (m+t)^k,
/// k = r+s+x, rewritten by Euler's transformation as a positive series 2F1(1, .; k+1; z)
/// times powers (see special.hpp). la = log(alpha + t), lb = log(beta + t).
template <class S>
S pareto_logF(const std::array<S, 4>& th, double x, double t, const S& la, const S& lb) {
  const S &r = th[0], &al = th[1], &s = th[2], &be = th[3];
  const S k = r + s + x;
  if (value(al) >= value(be)) {
    const S z = (al - be) / (al + t);
    return log(hyp2f1_1b(r + x, k + 1.0, z)) - s * lb - (r + x) * la;
  }
  const S z = (be - al) / (be + t);
  return log(hyp2f1_1b(s + 1.0, k + 1.0, z)) - (r + (x - 1)) * la - (s + 1.0) * lb;
}

/// log of the first Pareto/NBD term (alive at T) and, when t_x < T, of the second
/// (s/(r+s+x)) * A0, i.e. log(s * integral_{t_x}^{T} (alpha+u)^-(r+x) (beta+u)^-(s+1) du).
/// lsk = log(s) - log(r+s+x); laT, lbT = log(alpha+T), log(beta+T); F_tx, F_T = pareto_logF.
template <class S>
void pareto_combine(const S& r, const S& s, const S& lsk, double x, const S& laT, const S& lbT, const S* F_tx,
                    const S* F_T, S& first, S& second, bool& has_second) {
  first = -((r + x) * laT) - s * lbT;
  has_second = F_tx != nullptr;
  if (has_second) second = lsk + logsubexp(*F_tx, *F_T);
}

template <class S>
void pareto_terms(const std::array<S, 4>& th, double x, double tx, double T, S& first, S& second, bool& has_second) {
  const S &r = th[0], &al = th[1], &s = th[2], &be = th[3];
  const S laT = log(al + T), lbT = log(be + T);
  if (tx < T) {
    const S Ftx = pareto_logF(th, x, tx, log(al + tx), log(be + tx));
    const S FT = pareto_logF(th, x, T, laT, lbT);
    pareto_combine(r, s, log(s) - log(r + s + x), x, laT, lbT, &Ftx, &FT, first, second, has_second);
  } else {
    pareto_combine<S>(r, s, S(0.0), x, laT, lbT, nullptr, nullptr, first, second, has_second);
  }
}

/// The x-only part of the Pareto/NBD log-likelihood.
template <class S>
S pareto_xpart(const std::array<S, 4>& th, double x) {
  const S &r = th[0], &al = th[1], &s = th[2], &be = th[3];
  return lgamma(r + x) - lgamma(r) + r * log(al) + s * log(be);
}

template <class S>
S ll_pareto(const std::array<S, 4>& th, double x, double tx, double T) {
  S first, second;
  bool has_second;
  pareto_terms(th, x, tx, T, first, second, has_second);
  return pareto_xpart(th, x) + (has_second ? logaddexp(first, second) : first);
}

template <class S>
S ll_counting(CountingKind k, const std::array<S, 4>& th, double x, double tx, double T) {
  switch (k) {
    case CountingKind::BetaGeo: return ll_bg_family(false, th, x, tx, T);
    case CountingKind::ModifiedBetaGeo: return ll_bg_family(true, th, x, tx, T);
    default: return ll_pareto(th, x, tx, T);
  }
}

/// Grouped data in the factored form the fit evaluates: distinct frequencies, distinct
/// time values (recency and T together), and per distinct row the indices into them
/// (Pareto/NBD also the distinct (x, t) pairs whose hypergeometric terms it needs).
struct Factored {
  std::vector<double> xs, wx, ts;               // distinct x, summed weight per x, distinct times
  std::vector<std::int32_t> ix, itx, iT;        // per row
  std::vector<double> w;                        // per row
  std::vector<std::int32_t> pair_x, pair_t;     // distinct (x index, time index) pairs
  std::vector<std::int32_t> p_tx, p_T;          // per row pair indices (-1: t_x == T)
};

Factored factor_groups(const detail::Groups& g, bool pairs) {
  Factored f;
  const std::size_t n = g.rows.size();
  f.ts.reserve(2 * n);
  for (const auto& row : g.rows) f.ts.push_back(row[1]), f.ts.push_back(row[2]);
  std::sort(f.ts.begin(), f.ts.end());
  f.ts.erase(std::unique(f.ts.begin(), f.ts.end()), f.ts.end());
  auto tindex = [&](double t) {
    return static_cast<std::int32_t>(std::lower_bound(f.ts.begin(), f.ts.end(), t) - f.ts.begin());
  };
  f.ix.resize(n), f.itx.resize(n), f.iT.resize(n), f.w = g.weight;
  for (std::size_t i = 0; i < n; ++i) {
    const auto& row = g.rows[i];  // rows are sorted by x first: distinct x values are contiguous
    if (f.xs.empty() || f.xs.back() != row[0]) f.xs.push_back(row[0]), f.wx.push_back(0.0);
    f.ix[i] = static_cast<std::int32_t>(f.xs.size() - 1);
    f.wx.back() += g.weight[i];
    f.itx[i] = tindex(row[1]);
    f.iT[i] = tindex(row[2]);
  }
  if (!pairs) return f;
  const std::int64_t nt = static_cast<std::int64_t>(f.ts.size());
  std::vector<std::int64_t> keys;
  keys.reserve(2 * n);
  for (std::size_t i = 0; i < n; ++i)
    if (f.itx[i] != f.iT[i]) keys.push_back(f.ix[i] * nt + f.itx[i]), keys.push_back(f.ix[i] * nt + f.iT[i]);
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  for (auto k : keys) f.pair_x.push_back(static_cast<std::int32_t>(k / nt)), f.pair_t.push_back(static_cast<std::int32_t>(k % nt));
  auto pindex = [&](std::int64_t k) {
    return static_cast<std::int32_t>(std::lower_bound(keys.begin(), keys.end(), k) - keys.begin());
  };
  f.p_tx.assign(n, -1), f.p_T.assign(n, -1);
  for (std::size_t i = 0; i < n; ++i)
    if (f.itx[i] != f.iT[i]) f.p_tx[i] = pindex(f.ix[i] * nt + f.itx[i]), f.p_T[i] = pindex(f.ix[i] * nt + f.iT[i]);
  return f;
}

/// Weighted total log-likelihood over the factored data (Dual parameters): the same
/// formulas as ll_counting, each piece evaluated once per distinct argument.
template <int P>
Dual<P> counting_total(CountingKind kind, const Factored& f, const std::array<Dual<P>, P>& th, int n_threads) {
  using D = Dual<P>;
  const Index nx = static_cast<Index>(f.xs.size()), nt = static_cast<Index>(f.ts.size());
  const Index nr = static_cast<Index>(f.w.size());
  const D &r = th[0], &al = th[1];
  std::vector<D> cx(nx), c4(nx), la, lb;
  D sx(0.0);
  if (kind == CountingKind::ParetoNBD) {
    const D& s = th[2];
    const D& be = th[3];
    for (Index i = 0; i < nx; ++i) cx[i] = pareto_xpart(th, f.xs[i]), c4[i] = log(s) - log(r + s + f.xs[i]);
    detail::parallel_fill(la, nt, n_threads, [&](Index i) { return log(al + f.ts[i]); });
    detail::parallel_fill(lb, nt, n_threads, [&](Index i) { return log(be + f.ts[i]); });
    std::vector<D> F;
    detail::parallel_fill(F, static_cast<Index>(f.pair_x.size()), n_threads, [&](Index p) {
      return pareto_logF(th, f.xs[f.pair_x[p]], f.ts[f.pair_t[p]], la[f.pair_t[p]], lb[f.pair_t[p]]);
    });
    for (Index i = 0; i < nx; ++i) sx += f.wx[i] * cx[i];
    return sx + detail::block_sum<P>(nr, n_threads, [&](Index i) {
      D first, second;
      bool has;
      const bool two = f.p_tx[i] >= 0;
      pareto_combine(r, s, c4[f.ix[i]], f.xs[f.ix[i]], la[f.iT[i]], lb[f.iT[i]], two ? &F[f.p_tx[i]] : nullptr,
                     two ? &F[f.p_T[i]] : nullptr, first, second, has);
      return f.w[i] * (has ? logaddexp(first, second) : first);
    });
  }
  const bool modified = kind == CountingKind::ModifiedBetaGeo;
  for (Index i = 0; i < nx; ++i) bg_xpart(modified, th, f.xs[i], cx[i], c4[i]);
  detail::parallel_fill(la, nt, n_threads, [&](Index i) { return log(al + f.ts[i]); });
  for (Index i = 0; i < nx; ++i) sx += f.wx[i] * cx[i];
  return sx + detail::block_sum<P>(nr, n_threads, [&](Index i) {
    return f.w[i] * bg_rowpart(modified, r, c4[f.ix[i]], f.xs[f.ix[i]], la[f.iT[i]], la[f.itx[i]]);
  });
}

void check_rft(std::string_view where, std::span<const double> x, std::span<const double> tx,
               std::span<const double> T) {
  check_nonempty(where, "frequency", static_cast<Index>(x.size()));
  check_same_length(where, "frequency", static_cast<Index>(x.size()), "recency", static_cast<Index>(tx.size()));
  check_same_length(where, "frequency", static_cast<Index>(x.size()), "T", static_cast<Index>(T.size()));
  check_finite(where, "frequency", x);
  check_finite(where, "recency", tx);
  check_finite(where, "T", T);
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (x[i] < 0) fail(where, "frequency must be >= 0 (row ", i, " has ", x[i], ")");
    if (x[i] != std::floor(x[i])) fail(where, "frequency must hold whole numbers (row ", i, " has ", x[i], ")");
    if (tx[i] < 0) fail(where, "recency must be >= 0 (row ", i, " has ", tx[i], ")");
    if (T[i] < 0) fail(where, "T must be >= 0 (row ", i, " has ", T[i], ")");
    if (tx[i] > T[i]) fail(where, "recency must not exceed T (row ", i, " has recency ", tx[i], " > T ", T[i], ")");
    if (x[i] == 0 && tx[i] != 0)
      fail(where, "recency must be 0 when frequency is 0 (row ", i, " has recency ", tx[i], ")");
  }
}

void check_times(std::string_view where, std::span<const double> t, std::size_t n) {
  require(t.size() == 1 || t.size() == n, where, "t must be one value or one per customer (", n, "), got ",
          t.size());
  check_finite(where, "t", t);
  for (double v : t) require(v >= 0, where, "t must be >= 0 (got ", v, ")");
}

/// E over p ~ Beta(A, B) of (1/p)(1 - (al/(al + p t))^r): expected purchases in t of a
/// customer alive now whose purchase rate is Gamma(r, al) and dropout probability p.
/// Closed form (A+B-1)/(A-1) [1 - (al/(al+t))^r 2F1(r, B; A+B-1; t/(al+t))] when its
/// series converges quickly and A is not near 1; otherwise tanh-sinh quadrature of the
/// bounded integrand against the beta density (endpoint singularities are integrable).
double beta_expected(double r, double al, double A, double B, double t) {
  if (t <= 0) return 0.0;
  const double z = t / (al + t);
  const double c = A + B - 1;
  if (c > 0 && std::abs(A - 1) > 1e-3 && z < 0.95) {
    const double F = hyp2f1_series(r, B, c, z, 4000);
    if (std::isfinite(F)) {
      const double v = c / (A - 1) * (1 - std::exp(r * std::log(al / (al + t))) * F);
      if (std::isfinite(v)) return v;
    }
  }
  const double lb = lgamma_fast(A) + lgamma_fast(B) - lgamma_fast(A + B);
  auto integrand = [&](double p) {
    if (p <= 0 || p >= 1) return 0.0;  // the density vanishes or the endpoint has measure zero
    const double q = 1 - p;
    const double g = -std::expm1(-r * std::log1p(p * t / al)) / p;
    return g * std::exp((A - 1) * std::log(p) + (B - 1) * std::log(q) - lb);
  };
  static thread_local boost::math::quadrature::tanh_sinh<double> ts(12);
  return ts.integrate(integrand, 0.0, 1.0, 1e-12);
}

double p_alive_one(CountingKind k, const std::vector<double>& p, double x, double tx, double T) {
  const double r = p[0], al = p[1];
  if (k == CountingKind::BetaGeo) {
    if (x == 0) return 1.0;
    const double a = p[2], b = p[3];
    const double l = std::log(a / (b + x - 1)) + (r + x) * (std::log(al + T) - std::log(al + tx));
    return 1.0 / (1.0 + std::exp(l));
  }
  if (k == CountingKind::ModifiedBetaGeo) {
    const double a = p[2], b = p[3];
    const double l = std::log(a / (b + x)) + (r + x) * (std::log(al + T) - std::log(al + tx));
    return 1.0 / (1.0 + std::exp(l));
  }
  std::array<double, 4> th{p[0], p[1], p[2], p[3]};
  double first, second;
  bool has;
  pareto_terms(th, x, tx, T, first, second, has);
  return has ? std::exp(first - logaddexp(first, second)) : 1.0;
}

/// -expm1(-(e) L) / e, continuous at e = 0.
double expm1_ratio(double e, double L) {
  if (std::abs(e * L) < 1e-10) return L;
  return -std::expm1(-e * L) / e;
}

double cond_expected_one(CountingKind k, const std::vector<double>& p, double t, double x, double tx, double T) {
  const double r = p[0], al = p[1];
  const double pa = p_alive_one(k, p, x, tx, T);
  if (t <= 0) return 0.0;
  if (k == CountingKind::BetaGeo) return pa * beta_expected(r + x, al + T, p[2], p[3] + x, t);
  if (k == CountingKind::ModifiedBetaGeo) return pa * beta_expected(r + x, al + T, p[2], p[3] + x + 1, t);
  const double s = p[2], be = p[3];
  // (r+x)(beta+T)/((alpha+T)(s-1)) [1 - ((beta+T)/(beta+T+t))^(s-1)]
  return pa * (r + x) / (al + T) * (be + T) * expm1_ratio(s - 1, std::log1p(t / (be + T)));
}

}  // namespace

CountingModel::CountingModel(CountingKind kind) : FittedModel(kind_name(kind), kind_params(kind)), kind_(kind) {}

CountingModel& CountingModel::fit(std::span<const double> x, std::span<const double> tx, std::span<const double> T,
                                  std::span<const double> w, const FitOptions& opt) {
  const std::string where = estimator_ + ".fit";
  opt.validate(where, 4);
  check_rft(where, x, tx, T);
  detail::check_weights(where, w, x.size());
  const auto groups = detail::group_rows(x, tx, T, w);
  double repeat = 0;
  for (std::size_t g = 0; g < groups.rows.size(); ++g) repeat += groups.weight[g] * groups.rows[g][0];
  require(repeat > 0, where, "no customer has a repeat purchase (frequency is 0 everywhere): the model's "
          "purchase rate cannot be estimated");
  // Start: unit shapes, alpha (and beta) matching the mean purchase rate.
  double sx = 0, sT = 0;
  for (std::size_t g = 0; g < groups.rows.size(); ++g)
    sx += groups.weight[g] * groups.rows[g][0], sT += groups.weight[g] * groups.rows[g][2];
  const double alpha0 = sx > 0 && sT > 0 ? std::clamp(sT / sx, 1e-3, 1e6) : 1.0;
  const std::vector<double> init = kind_ == CountingKind::ParetoNBD ? std::vector<double>{1, alpha0, 1, alpha0}
                                                                    : std::vector<double>{1, alpha0, 1, 1};
  const CountingKind k = kind_;
  const Factored f = factor_groups(groups, k == CountingKind::ParetoNBD);
  auto total = [&](const std::array<Dual<4>, 4>& th) { return counting_total<4>(k, f, th, opt.n_threads); };
  auto res = detail::fit_ml_total<4>(where, groups.total, static_cast<Index>(groups.rows.size()), total, init, opt);
  params_ = res.params;
  se_ = res.se;
  log_likelihood_ = res.log_likelihood;
  penalizer_ = opt.penalizer;
  info_ = res.info;
  info_.n_rows = static_cast<std::int64_t>(x.size());
  return *this;
}

std::vector<double> CountingModel::log_likelihood_rows(std::span<const double> x, std::span<const double> tx,
                                                       std::span<const double> T, int n_threads) const {
  const std::string where = estimator_ + ".log_likelihood_rows";
  check_fitted(where);
  check_rft(where, x, tx, T);
  std::vector<double> out(x.size());
  const std::array<double, 4> th{params_[0], params_[1], params_[2], params_[3]};
  parallel_chunks(static_cast<Index>(x.size()), n_threads, [&](Index b, Index e, int) {
    for (Index i = b; i < e; ++i) out[i] = ll_counting(kind_, th, x[i], tx[i], T[i]);
  });
  return out;
}

std::vector<double> CountingModel::expected_purchases(std::span<const double> t) const {
  const std::string where = estimator_ + ".expected_purchases";
  check_fitted(where);
  check_finite(where, "t", t);
  std::vector<double> out(t.size());
  const double r = params_[0], al = params_[1], a = params_[2], b = params_[3];
  for (std::size_t i = 0; i < t.size(); ++i) {
    require(t[i] >= 0, where, "t must be >= 0 (got ", t[i], ")");
    switch (kind_) {
      case CountingKind::BetaGeo: out[i] = beta_expected(r, al, a, b, t[i]); break;
      case CountingKind::ModifiedBetaGeo:  // dies at time 0 with probability p: weight (1-p)
        out[i] = b / (a + b) * beta_expected(r, al, a, b + 1, t[i]);
        break;
      default:  // r beta / (alpha (s-1)) [1 - (beta/(beta+t))^(s-1)]
        out[i] = r / al * b * expm1_ratio(a - 1, std::log1p(t[i] / b));
    }
  }
  return out;
}

std::vector<double> CountingModel::conditional_expected_purchases(std::span<const double> t,
                                                                  std::span<const double> x,
                                                                  std::span<const double> tx,
                                                                  std::span<const double> T, int n_threads) const {
  const std::string where = estimator_ + ".conditional_expected_purchases";
  check_fitted(where);
  check_rft(where, x, tx, T);
  check_times(where, t, x.size());
  std::vector<double> out(x.size());
  parallel_chunks(static_cast<Index>(x.size()), n_threads, [&](Index b, Index e, int) {
    for (Index i = b; i < e; ++i)
      out[i] = cond_expected_one(kind_, params_, t.size() == 1 ? t[0] : t[i], x[i], tx[i], T[i]);
  });
  return out;
}

std::vector<double> CountingModel::probability_alive(std::span<const double> x, std::span<const double> tx,
                                                     std::span<const double> T, int n_threads) const {
  const std::string where = estimator_ + ".probability_alive";
  check_fitted(where);
  check_rft(where, x, tx, T);
  std::vector<double> out(x.size());
  parallel_chunks(static_cast<Index>(x.size()), n_threads, [&](Index b, Index e, int) {
    for (Index i = b; i < e; ++i) out[i] = p_alive_one(kind_, params_, x[i], tx[i], T[i]);
  });
  return out;
}

CountingModel CountingModel::from_document(const ModelDocument& doc) {
  for (auto k : {CountingKind::BetaGeo, CountingKind::ModifiedBetaGeo, CountingKind::ParetoNBD})
    if (doc.estimator == kind_name(k)) {
      CountingModel m(k);
      m.read_document(doc);
      return m;
    }
  fail<SerializationError>("CountingModel document", "holds a '", doc.estimator,
                           "' model, expected BetaGeo, ModifiedBetaGeo or ParetoNBD");
}

std::vector<double> customer_lifetime_value(const CountingModel& model, std::span<const double> spend,
                                            std::span<const double> x, std::span<const double> tx,
                                            std::span<const double> T, int months, double f, double d,
                                            int n_threads) {
  constexpr std::string_view where = "customer_lifetime_value";
  check_rft(where, x, tx, T);
  check_same_length(where, "frequency", static_cast<Index>(x.size()), "monetary_value",
                    static_cast<Index>(spend.size()));
  check_finite(where, "monetary_value", spend);
  require(months >= 1, where, "time must be a whole number of months >= 1 (got ", months, ")");
  require(std::isfinite(f) && f > 0, where, "periods per month must be > 0 (got ", f, ")");
  require(std::isfinite(d) && d > -1, where, "discount_rate must be > -1 (got ", d, ")");
  std::vector<double> out(x.size(), 0.0), prev(x.size(), 0.0);
  for (int i = 1; i <= months; ++i) {
    const double t = i * f;
    auto cur = model.conditional_expected_purchases(std::span<const double>(&t, 1), x, tx, T, n_threads);
    const double disc = std::pow(1 + d, -static_cast<double>(i));
    for (std::size_t c = 0; c < x.size(); ++c) out[c] += spend[c] * (cur[c] - prev[c]) * disc;
    prev = std::move(cur);
  }
  return out;
}

}  // namespace custmine::clv
