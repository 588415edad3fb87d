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

template <class S>
S ll_bgnbd(const std::array<S, 4>& th, double x, double tx, double T) {
  const S &r = th[0], &al = th[1], &a = th[2], &b = th[3];
  const S A1 = lgamma(r + x) - lgamma(r) + r * log(al);
  const S A2 = lgamma(a + b) + lgamma(b + x) - lgamma(b) - lgamma(a + b + x);
  const S A3 = -(r + x) * log(al + T);
  if (x <= 0) return A1 + A2 + A3;
  const S A4 = log(a) - log(b + (x - 1)) - (r + x) * log(al + tx);
  return A1 + A2 + logaddexp(A3, A4);
}

template <class S>
S ll_mbgnbd(const std::array<S, 4>& th, double x, double tx, double T) {
  const S &r = th[0], &al = th[1], &a = th[2], &b = th[3];
  const S A1 = lgamma(r + x) - lgamma(r) + r * log(al);
  const S A2 = lgamma(a + b) + lgamma(b + (x + 1)) - lgamma(b) - lgamma(a + b + (x + 1));
  const S A3 = -(r + x) * log(al + T);
  const S A4 = log(a) - log(b + x) - (r + x) * log(al + tx);
  return A1 + A2 + logaddexp(A3, A4);
}

/// log of the second Pareto/NBD term (s/(r+s+x)) * A0, i.e. log(s * integral_{t_x}^{T}
/// (alpha+u)^-(r+x) (beta+u)^-(s+1) du), and the first term's log. A0 uses
/// F(t) = 2F1(k, b; k+1; z(t)) / (m+t)^k, k = r+s+x, rewritten by Euler's transformation
/// as a positive series 2F1(1, .; k+1; z) times powers (see special.hpp).
template <class S>
void pareto_terms(const std::array<S, 4>& th, double x, double tx, double T, S& first, S& second, bool& has_second) {
  const S &r = th[0], &al = th[1], &s = th[2], &be = th[3];
  first = -(r + x) * log(al + T) - s * log(be + T);
  has_second = tx < T;
  if (!has_second) return;
  const S k = r + s + x;
  auto logF = [&](double t) -> S {
    if (value(al) >= value(be)) {
      const S z = (al - be) / (al + t);
      return log(hyp2f1_1b(r + x, k + 1.0, z)) - s * log(be + t) - (r + x) * log(al + t);
    }
    const S z = (be - al) / (be + t);
    return log(hyp2f1_1b(s + 1.0, k + 1.0, z)) - (r + (x - 1)) * log(al + t) - (s + 1.0) * log(be + t);
  };
  second = log(s) - log(k) + logsubexp(logF(tx), logF(T));
}

template <class S>
S ll_pareto(const std::array<S, 4>& th, double x, double tx, double T) {
  const S &r = th[0], &al = th[1], &s = th[2], &be = th[3];
  const S A = lgamma(r + x) - lgamma(r) + r * log(al) + s * log(be);
  S first, second;
  bool has_second;
  pareto_terms(th, x, tx, T, first, second, has_second);
  return has_second ? A + logaddexp(first, second) : A + first;
}

template <class S>
S ll_counting(CountingKind k, const std::array<S, 4>& th, double x, double tx, double T) {
  switch (k) {
    case CountingKind::BetaGeo: return ll_bgnbd(th, x, tx, T);
    case CountingKind::ModifiedBetaGeo: return ll_mbgnbd(th, x, tx, T);
    default: return ll_pareto(th, x, tx, T);
  }
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
  const double lb = boost::math::lgamma(A) + boost::math::lgamma(B) - boost::math::lgamma(A + B);
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
  auto ll = [k](const auto& th, const detail::Row& row) { return ll_counting(k, th, row[0], row[1], row[2]); };
  auto res = detail::fit_ml<4>(where, groups, ll, init, opt);
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
