// Gamma-Gamma spend, BG/BB (discrete opportunities) and sBG (contractual retention).
#include "fit.hpp"

namespace custmine::clv {

namespace {

/// Gamma-Gamma log-likelihood of one customer, split like the counting models: the part
/// that depends on x only (lgamma terms, evaluated once per distinct x in the fit) and the
/// per-row part; their sum is the customer's log-likelihood.
template <class S>
S gg_xpart(const std::array<S, 3>& th, double x) {
  const S &p = th[0], &q = th[1], &g = th[2];
  const S px = p * x;
  return lgamma(px + q) - lgamma(px) - lgamma(q) + q * log(g) + px * std::log(x);
}

template <class S>
S gg_rowpart(const std::array<S, 3>& th, double x, double m) {
  const S &p = th[0], &q = th[1], &g = th[2];
  const S px = p * x;
  return (px - 1.0) * std::log(m) - (px + q) * log(g + x * m);
}

template <class S>
S ll_bgbb(const std::array<S, 4>& th, double x, double tx, double n) {
  const S &al = th[0], &be = th[1], &ga = th[2], &de = th[3];
  const S base = -lbeta(al, be) - lbeta(ga, de);
  S acc = lbeta(al + x, be + (n - x)) + lbeta(ga, de + n);
  const int extra = static_cast<int>(n - tx);
  for (int i = 0; i < extra; ++i)
    acc = logaddexp(acc, lbeta(al + x, be + (tx - x + i)) + lbeta(ga + 1.0, de + (tx + i)));
  return base + acc;
}

void check_bgbb(std::string_view where, std::span<const double> x, std::span<const double> tx,
                std::span<const double> n) {
  check_nonempty(where, "frequency", static_cast<Index>(x.size()));
  check_same_length(where, "frequency", static_cast<Index>(x.size()), "recency", static_cast<Index>(tx.size()));
  check_same_length(where, "frequency", static_cast<Index>(x.size()), "n_periods", static_cast<Index>(n.size()));
  check_finite(where, "frequency", x);
  check_finite(where, "recency", tx);
  check_finite(where, "n_periods", n);
  for (std::size_t i = 0; i < x.size(); ++i) {
    for (auto [v, name] : {std::pair{x[i], "frequency"}, {tx[i], "recency"}, {n[i], "n_periods"}})
      if (v < 0 || v != std::floor(v)) fail(where, name, " must hold whole numbers >= 0 (row ", i, " has ", v, ")");
    if (n[i] > 1e7) fail(where, "n_periods is implausibly large (row ", i, " has ", n[i], ")");
    if (tx[i] > n[i]) fail(where, "recency must not exceed n_periods (row ", i, ")");
    if (x[i] > tx[i]) fail(where, "frequency must not exceed recency (row ", i, " has ", x[i], " > ", tx[i], ")");
    if (x[i] == 0 && tx[i] != 0) fail(where, "recency must be 0 when frequency is 0 (row ", i, ")");
  }
}

}  // namespace

// ---- Gamma-Gamma ----------------------------------------------------------------------

GammaGamma::GammaGamma() : FittedModel("GammaGamma", {"p", "q", "gamma"}) {}

GammaGamma& GammaGamma::fit(std::span<const double> x, std::span<const double> m, std::span<const double> w,
                            const FitOptions& opt) {
  constexpr std::string_view where = "GammaGamma.fit";
  opt.validate(where, 3);
  check_nonempty(where, "frequency", static_cast<Index>(x.size()));
  check_same_length(where, "frequency", static_cast<Index>(x.size()), "monetary_value", static_cast<Index>(m.size()));
  check_finite(where, "frequency", x);
  check_finite(where, "monetary_value", m);
  detail::check_weights(where, w, x.size());
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (x[i] < 1 || x[i] != std::floor(x[i]))
      fail(where, "frequency must be a whole number >= 1 (fit on repeat customers only; row ", i, " has ", x[i], ")");
    if (m[i] <= 0) fail(where, "monetary_value must be > 0 (row ", i, " has ", m[i], ")");
  }
  const auto groups = detail::group_rows(x, m, {}, w);
  double mean = 0;
  for (std::size_t g = 0; g < groups.rows.size(); ++g) mean += groups.weight[g] * groups.rows[g][1];
  mean /= groups.total;
  // Distinct frequencies (rows are sorted by x first) and their summed weights.
  std::vector<double> xs, wx;
  std::vector<std::int32_t> ix(groups.rows.size());
  for (std::size_t g = 0; g < groups.rows.size(); ++g) {
    if (xs.empty() || xs.back() != groups.rows[g][0]) xs.push_back(groups.rows[g][0]), wx.push_back(0.0);
    ix[g] = static_cast<std::int32_t>(xs.size() - 1);
    wx.back() += groups.weight[g];
  }
  const Index ng = static_cast<Index>(groups.rows.size());
  auto total = [&](const std::array<Dual<3>, 3>& th) {
    Dual<3> s(0.0);
    for (std::size_t i = 0; i < xs.size(); ++i) s += wx[i] * gg_xpart(th, xs[i]);
    return s + detail::block_sum<3>(ng, opt.n_threads, [&](Index g) {
             return groups.weight[g] * gg_rowpart(th, groups.rows[g][0], groups.rows[g][1]);
           });
  };
  // Start: p = 1, q = 2 so that the population mean p*gamma/(q-1) matches the data.
  auto res = detail::fit_ml_total<3>(where, groups.total, ng, total, {1.0, 2.0, std::max(mean, 1e-6)}, opt);
  params_ = res.params, se_ = res.se, log_likelihood_ = res.log_likelihood, penalizer_ = opt.penalizer;
  info_ = res.info;
  info_.n_rows = static_cast<std::int64_t>(x.size());
  return *this;
}

std::vector<double> GammaGamma::conditional_expected_average_profit(std::span<const double> x,
                                                                    std::span<const double> m) const {
  constexpr std::string_view where = "GammaGamma.conditional_expected_average_profit";
  check_fitted(where);
  check_same_length(where, "frequency", static_cast<Index>(x.size()), "monetary_value", static_cast<Index>(m.size()));
  check_finite(where, "frequency", x);
  check_finite(where, "monetary_value", m);
  const double p = params_[0], q = params_[1], g = params_[2];
  std::vector<double> out(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) {
    require(x[i] >= 0 && x[i] == std::floor(x[i]), where, "frequency must hold whole numbers >= 0 (row ", i, ")");
    require(m[i] >= 0, where, "monetary_value must be >= 0 (row ", i, " has ", m[i], ")");
    out[i] = p * (g + x[i] * m[i]) / (p * x[i] + q - 1);
  }
  return out;
}

GammaGamma GammaGamma::from_document(const ModelDocument& doc) {
  GammaGamma m;
  m.read_document(doc);
  return m;
}

// ---- BG/BB ----------------------------------------------------------------------------

BetaGeoBetaBinom::BetaGeoBetaBinom() : FittedModel("BetaGeoBetaBinom", {"alpha", "beta", "gamma", "delta"}) {}

BetaGeoBetaBinom& BetaGeoBetaBinom::fit(std::span<const double> x, std::span<const double> tx,
                                        std::span<const double> n, std::span<const double> w, const FitOptions& opt) {
  constexpr std::string_view where = "BetaGeoBetaBinom.fit";
  opt.validate(where, 4);
  check_bgbb(where, x, tx, n);
  detail::check_weights(where, w, x.size());
  const auto groups = detail::group_rows(x, tx, n, w);
  auto ll = [](const auto& th, const detail::Row& row) { return ll_bgbb(th, row[0], row[1], row[2]); };
  auto res = detail::fit_ml<4>(where, groups, ll, {1.0, 1.0, 1.0, 1.0}, opt);
  params_ = res.params, se_ = res.se, log_likelihood_ = res.log_likelihood, penalizer_ = opt.penalizer;
  info_ = res.info;
  info_.n_rows = static_cast<std::int64_t>(x.size());
  return *this;
}

std::vector<double> BetaGeoBetaBinom::log_likelihood_rows(std::span<const double> x, std::span<const double> tx,
                                                          std::span<const double> n) const {
  check_fitted("BetaGeoBetaBinom.log_likelihood_rows");
  check_bgbb("BetaGeoBetaBinom.log_likelihood_rows", x, tx, n);
  const std::array<double, 4> th{params_[0], params_[1], params_[2], params_[3]};
  std::vector<double> out(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) out[i] = ll_bgbb(th, x[i], tx[i], n[i]);
  return out;
}

std::vector<double> BetaGeoBetaBinom::probability_alive(std::span<const double> x, std::span<const double> tx,
                                                        std::span<const double> n) const {
  auto ll = log_likelihood_rows(x, tx, n);
  const double al = params_[0], be = params_[1], ga = params_[2], de = params_[3];
  for (std::size_t i = 0; i < x.size(); ++i)
    ll[i] = std::exp(lbeta(al + x[i], be + n[i] - x[i]) - lbeta(al, be) + lbeta(ga, de + n[i] + 1) -
                     lbeta(ga, de) - ll[i]);
  return ll;
}

std::vector<double> BetaGeoBetaBinom::conditional_expected_purchases(double m, std::span<const double> x,
                                                                     std::span<const double> tx,
                                                                     std::span<const double> n) const {
  require(std::isfinite(m) && m >= 0, "BetaGeoBetaBinom.conditional_expected_purchases",
          "the number of future periods must be >= 0 (got ", m, ")");
  auto ll = log_likelihood_rows(x, tx, n);
  const double al = params_[0], be = params_[1], ga = params_[2], de = params_[3];
  for (std::size_t i = 0; i < x.size(); ++i) {
    // Fader, Hardie & Shang (2010) eq. 13.
    const double lead = std::exp(lbeta(al + x[i] + 1, be + n[i] - x[i]) - lbeta(al, be) - ll[i]);
    const double g1 = std::exp(lgamma(1 + de + n[i]) - lgamma(ga + de + n[i]) + lgamma(ga + de) - lgamma(1 + de));
    const double g2 =
        std::exp(lgamma(1 + de + n[i] + m) - lgamma(ga + de + n[i] + m) + lgamma(ga + de) - lgamma(1 + de));
    ll[i] = lead * de / (ga - 1) * (g1 - g2);
  }
  return ll;
}

std::vector<double> BetaGeoBetaBinom::expected_purchases(std::span<const double> n) const {
  constexpr std::string_view where = "BetaGeoBetaBinom.expected_purchases";
  check_fitted(where);
  check_finite(where, "n", n);
  const double al = params_[0], be = params_[1], ga = params_[2], de = params_[3];
  std::vector<double> out(n.size());
  for (std::size_t i = 0; i < n.size(); ++i) {
    require(n[i] >= 0, where, "n must be >= 0 (got ", n[i], ")");
    const double ratio = std::exp(lgamma(ga + de) - lgamma(ga + de + n[i]) + lgamma(1 + de + n[i]) - lgamma(1 + de));
    out[i] = al / (al + be) * de / (ga - 1) * (1 - ratio);
  }
  return out;
}

BetaGeoBetaBinom BetaGeoBetaBinom::from_document(const ModelDocument& doc) {
  BetaGeoBetaBinom m;
  m.read_document(doc);
  return m;
}

// ---- sBG ------------------------------------------------------------------------------

ShiftedBetaGeometric::ShiftedBetaGeometric() : FittedModel("ShiftedBetaGeometric", {"alpha", "beta"}) {}

ShiftedBetaGeometric& ShiftedBetaGeometric::fit(const std::vector<std::vector<double>>& survivors,
                                                const FitOptions& opt) {
  constexpr std::string_view where = "ShiftedBetaGeometric.fit";
  opt.validate(where, 2);
  require(!survivors.empty(), where, "survivors is empty: give at least one cohort");
  // Rows (t, lost-or-remaining flag, count): churned in period t, or still alive after t.
  std::vector<double> a, b, w;
  double total = 0;
  for (std::size_t c = 0; c < survivors.size(); ++c) {
    const auto& s = survivors[c];
    require(s.size() >= 2, where, "cohort ", c, " needs its size and at least one later count, got ", s.size(),
            " values");
    for (std::size_t t = 0; t < s.size(); ++t) {
      require(std::isfinite(s[t]) && s[t] >= 0, where, "survivor counts must be finite and >= 0 (cohort ", c,
              ", period ", t, " has ", s[t], ")");
      if (t > 0)
        require(s[t] <= s[t - 1], where, "survivor counts must not increase (cohort ", c, ", period ", t, ": ",
                s[t], " > ", s[t - 1], ")");
    }
    require(s[0] > 0, where, "cohort ", c, " has size 0");
    for (std::size_t t = 1; t < s.size(); ++t)
      if (s[t - 1] > s[t]) a.push_back(double(t)), b.push_back(0.0), w.push_back(s[t - 1] - s[t]);
    if (s.back() > 0) a.push_back(double(s.size() - 1)), b.push_back(1.0), w.push_back(s.back());
    total += s[0];
  }
  const auto groups = detail::group_rows(a, b, {}, w);
  auto ll = [](const auto& th, const detail::Row& row) {
    const auto &al = th[0], &be = th[1];
    const double t = row[0];
    if (row[1] == 0) return lbeta(al + 1.0, be + (t - 1)) - lbeta(al, be);  // P(T = t)
    return lbeta(al, be + t) - lbeta(al, be);                                // S(t)
  };
  auto res = detail::fit_ml<2>(where, groups, ll, {1.0, 1.0}, opt);
  params_ = res.params, se_ = res.se, log_likelihood_ = res.log_likelihood, penalizer_ = opt.penalizer;
  info_ = res.info;
  info_.n_rows = static_cast<std::int64_t>(total);
  return *this;
}

std::vector<double> ShiftedBetaGeometric::survival(std::span<const double> t) const {
  check_fitted("ShiftedBetaGeometric.survival");
  std::vector<double> out(t.size());
  for (std::size_t i = 0; i < t.size(); ++i) {
    require(std::isfinite(t[i]) && t[i] >= 0, "ShiftedBetaGeometric.survival", "t must be >= 0 (got ", t[i], ")");
    out[i] = std::exp(lbeta(params_[0], params_[1] + t[i]) - lbeta(params_[0], params_[1]));
  }
  return out;
}

std::vector<double> ShiftedBetaGeometric::retention_rate(std::span<const double> t) const {
  check_fitted("ShiftedBetaGeometric.retention_rate");
  std::vector<double> out(t.size());
  for (std::size_t i = 0; i < t.size(); ++i) {
    require(std::isfinite(t[i]) && t[i] >= 1, "ShiftedBetaGeometric.retention_rate", "t must be >= 1 (got ", t[i],
            ")");
    out[i] = (params_[1] + t[i] - 1) / (params_[0] + params_[1] + t[i] - 1);
  }
  return out;
}

std::vector<double> ShiftedBetaGeometric::churn_probability(std::span<const double> t) const {
  check_fitted("ShiftedBetaGeometric.churn_probability");
  std::vector<double> out(t.size());
  for (std::size_t i = 0; i < t.size(); ++i) {
    require(std::isfinite(t[i]) && t[i] >= 1, "ShiftedBetaGeometric.churn_probability", "t must be >= 1 (got ",
            t[i], ")");
    out[i] = std::exp(lbeta(params_[0] + 1, params_[1] + t[i] - 1) - lbeta(params_[0], params_[1]));
  }
  return out;
}

double ShiftedBetaGeometric::derl(double d, double renewals) const {
  constexpr std::string_view where = "ShiftedBetaGeometric.derl";
  check_fitted(where);
  require(std::isfinite(d) && d > 0, where, "discount_rate must be > 0 (got ", d, ")");
  require(std::isfinite(renewals) && renewals >= 0, where, "renewals must be >= 0 (got ", renewals, ")");
  const double al = params_[0], be = params_[1], n = renewals + 1;
  return (be + n - 1) / (al + be + n - 1) * hyp2f1_1b(be + n, al + be + n, 1.0 / (1.0 + d));
}

double ShiftedBetaGeometric::del(double d) const {
  constexpr std::string_view where = "ShiftedBetaGeometric.del";
  check_fitted(where);
  require(std::isfinite(d) && d > 0, where, "discount_rate must be > 0 (got ", d, ")");
  return hyp2f1_1b(params_[1], params_[0] + params_[1], 1.0 / (1.0 + d));
}

ShiftedBetaGeometric ShiftedBetaGeometric::from_document(const ModelDocument& doc) {
  ShiftedBetaGeometric m;
  m.read_document(doc);
  return m;
}

}  // namespace custmine::clv
