// RFM summary from transactions and the generative simulators of every CLV model.
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "custmine/clv/clv.hpp"
#include "custmine/core/random.hpp"
#include "custmine/core/threading.hpp"

namespace custmine::clv {

Summary summary_data(std::span<const std::int64_t> customer, std::int64_t n_customers,
                     std::span<const std::int64_t> day, std::span<const double> amount, double period,
                     std::int64_t observation_end, bool has_cal, std::int64_t cal_end) {
  constexpr std::string_view where = "summary_data";
  const auto n = static_cast<Index>(customer.size());
  check_nonempty(where, "transactions", n);
  check_same_length(where, "customer", n, "date", static_cast<Index>(day.size()));
  if (!amount.empty()) check_same_length(where, "customer", n, "amount", static_cast<Index>(amount.size()));
  check_finite(where, "amount", amount);
  require(std::isfinite(period) && period > 0, where, "period length must be > 0 days (got ", period, ")");
  if (has_cal)
    require(cal_end < observation_end, where, "calibration_end must be before observation_end");
  for (Index i = 0; i < n; ++i)
    if (customer[i] < 0 || customer[i] >= n_customers)
      fail(where, "customer code ", customer[i], " at row ", i, " is outside 0..", n_customers - 1);

  // Sort rows by (customer, day) and merge same-day rows: one purchase per customer-day.
  std::vector<Index> idx(n);
  std::iota(idx.begin(), idx.end(), 0);
  std::sort(idx.begin(), idx.end(), [&](Index a, Index b) {
    return customer[a] != customer[b] ? customer[a] < customer[b] : day[a] < day[b];
  });
  const std::int64_t cut = has_cal ? cal_end : observation_end;
  constexpr std::int64_t kNone = std::numeric_limits<std::int64_t>::min();
  Summary s;
  s.frequency.assign(n_customers, 0);
  s.recency.assign(n_customers, 0);
  s.T.assign(n_customers, 0);
  s.monetary_value.assign(n_customers, 0);
  s.in_calibration.assign(n_customers, 0);
  if (has_cal) {
    s.frequency_holdout.assign(n_customers, 0);
    s.monetary_value_holdout.assign(n_customers, 0);
    s.duration_holdout = static_cast<double>(observation_end - cal_end) / period;
  }
  std::vector<std::int64_t> first(n_customers, kNone), last(n_customers, kNone);
  std::vector<double> cal_sum(n_customers, 0), hold_sum(n_customers, 0);
  for (Index k = 0; k < n;) {
    const std::int64_t c = customer[idx[k]], d = day[idx[k]];
    double value = 0;
    Index e = k;
    for (; e < n && customer[idx[e]] == c && day[idx[e]] == d; ++e) value += amount.empty() ? 0.0 : amount[idx[e]];
    k = e;
    if (d > observation_end) continue;  // after the observation window
    if (d <= cut) {
      if (first[c] == kNone) {
        first[c] = d;  // first purchase: not a repeat, its value is not in monetary_value
      } else {
        s.frequency[c] += 1;
        cal_sum[c] += value;
      }
      last[c] = d;
    } else if (has_cal && first[c] != kNone) {
      s.frequency_holdout[c] += 1;
      hold_sum[c] += value;
    }
  }
  for (std::int64_t c = 0; c < n_customers; ++c) {
    if (first[c] == kNone) continue;  // first purchase after the calibration end (or none)
    s.in_calibration[c] = 1;
    s.recency[c] = static_cast<double>(last[c] - first[c]) / period;
    s.T[c] = static_cast<double>(cut - first[c]) / period;
    s.monetary_value[c] = s.frequency[c] > 0 ? cal_sum[c] / s.frequency[c] : 0.0;
    if (has_cal && s.frequency_holdout[c] > 0) s.monetary_value_holdout[c] = hold_sum[c] / s.frequency_holdout[c];
  }
  return s;
}

// ---- simulation ------------------------------------------------------------------------

namespace {
double exponential(Rng& g) { return -std::log1p(-g.uniform()); }

/// Gamma(shape, 1) by Marsaglia & Tsang (2000); shape < 1 via the U^(1/shape) boost.
double gamma_draw(Rng& g, double shape) {
  if (shape < 1) return gamma_draw(g, shape + 1) * std::pow(g.uniform() + 1e-300, 1.0 / shape);
  const double d = shape - 1.0 / 3.0, c = 1.0 / std::sqrt(9 * d);
  for (;;) {
    double x, v;
    do {
      x = g.normal();
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const double u = g.uniform();
    if (u < 1 - 0.0331 * x * x * x * x) return d * v;
    if (std::log(u) < 0.5 * x * x + d * (1 - v + std::log(v))) return d * v;
  }
}
double beta_draw(Rng& g, double a, double b) {
  const double x = gamma_draw(g, a), y = gamma_draw(g, b);
  return x / (x + y);
}
void check_params(std::string_view where, const std::vector<double>& p, std::size_t n) {
  require(p.size() == n, where, "needs ", n, " parameters, got ", p.size());
  for (double v : p) require(std::isfinite(v) && v > 0, where, "parameters must be > 0 (got ", v, ")");
}
}  // namespace

SimulatedRfm simulate_counting(CountingKind kind, const std::vector<double>& p, std::span<const double> T,
                               std::uint64_t seed) {
  constexpr std::string_view where = "simulate_counting";
  check_params(where, p, 4);
  SimulatedRfm out;
  const std::size_t n = T.size();
  out.frequency.resize(n), out.recency.resize(n), out.T.assign(T.begin(), T.end());
  for (std::size_t i = 0; i < n; ++i) {
    require(std::isfinite(T[i]) && T[i] >= 0, where, "T must be >= 0");
    Rng g = Rng::stream(seed, i);
    const double lambda = gamma_draw(g, p[0]) / p[1];
    double x = 0, last = 0, t = 0;
    if (kind == CountingKind::ParetoNBD) {
      const double mu = gamma_draw(g, p[2]) / p[3];
      const double death = exponential(g) / mu;
      const double end = std::min(death, T[i]);
      while ((t += exponential(g) / lambda) <= end) ++x, last = t;
    } else {
      const double drop = beta_draw(g, p[2], p[3]);
      const bool mbg = kind == CountingKind::ModifiedBetaGeo;
      if (!(mbg && g.uniform() < drop)) {
        while ((t += exponential(g) / lambda) <= T[i]) {
          ++x, last = t;
          if (g.uniform() < drop) break;  // dies right after this purchase
        }
      }
    }
    out.frequency[i] = x;
    out.recency[i] = last;
  }
  return out;
}

std::vector<double> simulate_gamma_gamma(const std::vector<double>& p, std::span<const double> x, std::uint64_t seed) {
  check_params("simulate_gamma_gamma", p, 3);
  std::vector<double> out(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) {
    Rng g = Rng::stream(seed, i);
    const double nu = gamma_draw(g, p[1]) / p[2];  // per-customer scale ~ Gamma(q, gamma)
    double s = 0;
    for (int k = 0; k < static_cast<int>(x[i]); ++k) s += gamma_draw(g, p[0]) / nu;
    out[i] = x[i] > 0 ? s / x[i] : 0.0;
  }
  return out;
}

SimulatedRfm simulate_bgbb(const std::vector<double>& p, std::int64_t n_customers, int n_periods, std::uint64_t seed) {
  check_params("simulate_bgbb", p, 4);
  require(n_customers >= 1 && n_periods >= 1, "simulate_bgbb", "n_customers and n_periods must be >= 1");
  SimulatedRfm out;
  out.frequency.resize(n_customers), out.recency.resize(n_customers), out.T.assign(n_customers, n_periods);
  for (std::int64_t i = 0; i < n_customers; ++i) {
    Rng g = Rng::stream(seed, static_cast<std::uint64_t>(i));
    const double buy = beta_draw(g, p[0], p[1]), die = beta_draw(g, p[2], p[3]);
    double x = 0, last = 0;
    for (int t = 1; t <= n_periods; ++t) {
      if (g.uniform() < die) break;  // becomes inactive at the start of period t
      if (g.uniform() < buy) ++x, last = t;
    }
    out.frequency[i] = x, out.recency[i] = last;
  }
  return out;
}

std::vector<double> simulate_sbg(const std::vector<double>& p, std::int64_t cohort, int periods, std::uint64_t seed) {
  check_params("simulate_sbg", p, 2);
  require(cohort >= 1 && periods >= 1, "simulate_sbg", "cohort and periods must be >= 1");
  std::vector<double> alive(periods + 1, 0.0);
  for (std::int64_t i = 0; i < cohort; ++i) {
    Rng g = Rng::stream(seed, static_cast<std::uint64_t>(i));
    const double theta = beta_draw(g, p[0], p[1]);
    alive[0] += 1;
    for (int t = 1; t <= periods; ++t) {
      if (g.uniform() < theta) break;
      alive[t] += 1;
    }
  }
  return alive;
}

}  // namespace custmine::clv
