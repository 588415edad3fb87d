// Regression metrics with optional sample weights, following scikit-learn's definitions:
// mean absolute / squared error, RMSE, R^2 (coefficient of determination), explained
// variance, MAPE (|y - yhat| / max(|y|, machine epsilon)), and the mean unit deviances
// of the Tweedie family (Joergensen 1987) with their Poisson (power 1) and Gamma
// (power 2) special cases. Each is one O(n) pass. Header-only.
#pragma once

#include <cmath>
#include <limits>
#include <span>
#include <string_view>

#include "custmine/core/matrix.hpp"

namespace custmine::metrics {

namespace detail {
inline void check_pair(std::string_view where, std::span<const double> y, std::span<const double> p,
                       std::span<const double> w) {
  check_nonempty(where, "y_true", static_cast<Index>(y.size()));
  check_same_length(where, "y_true", static_cast<Index>(y.size()), "y_pred", static_cast<Index>(p.size()));
  if (!w.empty())
    check_same_length(where, "y_true", static_cast<Index>(y.size()), "sample_weight", static_cast<Index>(w.size()));
  check_finite(where, "y_true", y);
  check_finite(where, "y_pred", p);
  check_finite(where, "sample_weight", w);
  double s = 0;
  for (double v : w) {
    if (v < 0) fail(where, "sample_weight must be non-negative");
    s += v;
  }
  if (!w.empty() && !(s > 0)) fail(where, "sample_weight must have a positive sum");
}
template <class F>
double wmean(std::span<const double> y, std::span<const double> p, std::span<const double> w, F&& f) {
  double num = 0, den = 0;
  for (std::size_t i = 0; i < y.size(); ++i) {
    const double wi = w.empty() ? 1.0 : w[i];
    num += wi * f(y[i], p[i]);
    den += wi;
  }
  return num / den;
}
}  // namespace detail

inline double mean_absolute_error(std::span<const double> y, std::span<const double> p, std::span<const double> w = {}) {
  detail::check_pair("mean_absolute_error", y, p, w);
  return detail::wmean(y, p, w, [](double a, double b) { return std::abs(a - b); });
}

inline double mean_squared_error(std::span<const double> y, std::span<const double> p, std::span<const double> w = {}) {
  detail::check_pair("mean_squared_error", y, p, w);
  return detail::wmean(y, p, w, [](double a, double b) { return (a - b) * (a - b); });
}

inline double root_mean_squared_error(std::span<const double> y, std::span<const double> p,
                                      std::span<const double> w = {}) {
  return std::sqrt(mean_squared_error(y, p, w));
}

inline double mean_absolute_percentage_error(std::span<const double> y, std::span<const double> p,
                                             std::span<const double> w = {}) {
  detail::check_pair("mean_absolute_percentage_error", y, p, w);
  const double eps = std::numeric_limits<double>::epsilon();
  return detail::wmean(y, p, w, [eps](double a, double b) { return std::abs(a - b) / std::max(std::abs(a), eps); });
}

namespace detail {
// 1 - num/den with scikit-learn's conventions for a constant target: 1 when the
// prediction is perfect, 0 otherwise.
inline double one_minus_ratio(double num, double den) {
  if (den == 0) return num == 0 ? 1.0 : 0.0;
  return 1.0 - num / den;
}
inline double wvar(std::span<const double> v, std::span<const double> w, double* mean_out = nullptr) {
  double m = 0, s = 0;
  for (std::size_t i = 0; i < v.size(); ++i) {
    const double wi = w.empty() ? 1.0 : w[i];
    m += wi * v[i];
    s += wi;
  }
  m /= s;
  double q = 0;
  for (std::size_t i = 0; i < v.size(); ++i) q += (w.empty() ? 1.0 : w[i]) * (v[i] - m) * (v[i] - m);
  if (mean_out) *mean_out = m;
  return q / s;
}
}  // namespace detail

inline double r2_score(std::span<const double> y, std::span<const double> p, std::span<const double> w = {}) {
  detail::check_pair("r2_score", y, p, w);
  const double mse = detail::wmean(y, p, w, [](double a, double b) { return (a - b) * (a - b); });
  return detail::one_minus_ratio(mse, detail::wvar(y, w));
}

inline double explained_variance_score(std::span<const double> y, std::span<const double> p,
                                       std::span<const double> w = {}) {
  detail::check_pair("explained_variance_score", y, p, w);
  std::vector<double> diff(y.size());
  for (std::size_t i = 0; i < y.size(); ++i) diff[i] = y[i] - p[i];
  return detail::one_minus_ratio(detail::wvar(diff, w), detail::wvar(y, w));
}

/// Unit Tweedie deviance d(y, mu) for power in {0} U [1, inf); y and mu as the power requires.
inline double tweedie_unit_deviance(double y, double mu, double power) {
  if (power == 0) return (y - mu) * (y - mu);
  if (power == 1) return 2 * ((y > 0 ? y * std::log(y / mu) : 0.0) - y + mu);
  if (power == 2) return 2 * (std::log(mu / y) + y / mu - 1);
  const double a = y > 0 ? std::pow(y, 2 - power) / ((1 - power) * (2 - power)) : 0.0;
  return 2 * (a - y * std::pow(mu, 1 - power) / (1 - power) + std::pow(mu, 2 - power) / (2 - power));
}

/// Checks y and mu against the domain of the Tweedie power; `where` names the caller.
inline void check_tweedie_domain(std::string_view where, std::span<const double> y, std::span<const double> mu,
                                 double power) {
  if (!(power == 0 || power >= 1))
    fail(where, "power must be 0 or >= 1 (0 < power < 1 is not a Tweedie distribution), got ", power);
  for (std::size_t i = 0; i < y.size(); ++i) {
    if (power >= 1 && !(mu[i] > 0)) fail(where, "y_pred must be strictly positive for power ", power, " (row ", i, ")");
    if (power >= 1 && power < 2 && y[i] < 0)
      fail(where, "y_true must be non-negative for power ", power, " (row ", i, ")");
    if (power >= 2 && !(y[i] > 0)) fail(where, "y_true must be strictly positive for power ", power, " (row ", i, ")");
  }
}

inline double mean_tweedie_deviance(std::span<const double> y, std::span<const double> p, double power,
                                    std::span<const double> w = {}) {
  detail::check_pair("mean_tweedie_deviance", y, p, w);
  check_tweedie_domain("mean_tweedie_deviance", y, p, power);
  return detail::wmean(y, p, w, [power](double a, double b) { return tweedie_unit_deviance(a, b, power); });
}
inline double mean_poisson_deviance(std::span<const double> y, std::span<const double> p, std::span<const double> w = {}) {
  return mean_tweedie_deviance(y, p, 1.0, w);
}
inline double mean_gamma_deviance(std::span<const double> y, std::span<const double> p, std::span<const double> w = {}) {
  return mean_tweedie_deviance(y, p, 2.0, w);
}

/// D^2: fraction of Tweedie deviance explained relative to the weighted-mean model.
inline double d2_tweedie_score(std::span<const double> y, std::span<const double> p, double power,
                               std::span<const double> w = {}) {
  const double dev = mean_tweedie_deviance(y, p, power, w);
  double m = 0, s = 0;
  for (std::size_t i = 0; i < y.size(); ++i) {
    const double wi = w.empty() ? 1.0 : w[i];
    m += wi * y[i];
    s += wi;
  }
  m /= s;
  const double null = detail::wmean(y, p, w, [power, m](double a, double) { return tweedie_unit_deviance(a, m, power); });
  return detail::one_minus_ratio(dev, null);
}

}  // namespace custmine::metrics
