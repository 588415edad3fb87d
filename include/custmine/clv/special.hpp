// Numerical building blocks of the CLV likelihoods: forward-mode dual numbers (exact
// gradients of the closed-form log-likelihoods) and the special functions they need,
// written once for double and for Dual<N>.
//
// - Dual<N>: value plus N partial derivatives; lgamma's derivative is Boost.Math's
//   digamma. A log-likelihood written as a template on its scalar gives its exact
//   gradient when evaluated at Dual parameters, so no gradient formula is typed twice.
// - hyp2f1_1b(B, C, z) = 2F1(1, B; C; z) for C > B > 0, 0 <= z < 1: power series of
//   positive terms (no cancellation). Used by the Pareto/NBD likelihood (after Euler's
//   transformation) and by the sBG discounted expected residual lifetime.
// - hyp2f1_series(a, b, c, z) = 2F1(a, b; c; z) for a, b, c > 0, 0 <= z < 1: positive-term
//   series (BG/NBD predictions when z is not close to 1).
// Reference: Abramowitz & Stegun (1964) 15.1.1 and 15.3.3 (Euler's transformation).
#pragma once

#include <array>
#include <boost/math/special_functions/digamma.hpp>
#include <boost/math/special_functions/gamma.hpp>
#include <cmath>
#include <limits>

#include "custmine/core/error.hpp"

namespace custmine::clv {

// Boost.Math promotes double arguments to long double by default, which makes lgamma and
// digamma ~10x slower (x87 arithmetic) for no accuracy the likelihoods can use: results
// differ by < 1e-15 relative. Every special function of the family goes through these.
using FastPolicy = boost::math::policies::policy<boost::math::policies::promote_double<false>>;
inline double lgamma_fast(double x) { return boost::math::lgamma(x, FastPolicy()); }
inline double digamma_fast(double x) { return boost::math::digamma(x, FastPolicy()); }

template <int N>
struct Dual {
  double v = 0;
  std::array<double, N> d{};
  Dual() = default;
  Dual(double value) : v(value) {}  // NOLINT: constants promote implicitly
  static Dual variable(double value, int i, double dvalue = 1.0) {
    Dual x(value);
    x.d[i] = dvalue;
    return x;
  }
  /// f(v) with derivative fp: chain rule.
  Dual apply(double fv, double fp) const {
    Dual r(fv);
    for (int i = 0; i < N; ++i) r.d[i] = fp * d[i];
    return r;
  }
};

template <int N> Dual<N> operator+(Dual<N> a, const Dual<N>& b) { a.v += b.v; for (int i = 0; i < N; ++i) a.d[i] += b.d[i]; return a; }
template <int N> Dual<N> operator-(Dual<N> a, const Dual<N>& b) { a.v -= b.v; for (int i = 0; i < N; ++i) a.d[i] -= b.d[i]; return a; }
template <int N> Dual<N> operator-(Dual<N> a) { a.v = -a.v; for (int i = 0; i < N; ++i) a.d[i] = -a.d[i]; return a; }
template <int N> Dual<N> operator*(const Dual<N>& a, const Dual<N>& b) {
  Dual<N> r(a.v * b.v);
  for (int i = 0; i < N; ++i) r.d[i] = a.d[i] * b.v + a.v * b.d[i];
  return r;
}
template <int N> Dual<N> operator/(const Dual<N>& a, const Dual<N>& b) {
  Dual<N> r(a.v / b.v);
  const double inv = 1.0 / b.v;
  for (int i = 0; i < N; ++i) r.d[i] = (a.d[i] - r.v * b.d[i]) * inv;
  return r;
}
template <int N> Dual<N> operator+(Dual<N> a, double b) { a.v += b; return a; }
template <int N> Dual<N> operator+(double b, Dual<N> a) { a.v += b; return a; }
template <int N> Dual<N> operator-(Dual<N> a, double b) { a.v -= b; return a; }
template <int N> Dual<N> operator-(double b, const Dual<N>& a) { return Dual<N>(b) - a; }
template <int N> Dual<N> operator*(Dual<N> a, double b) { a.v *= b; for (auto& x : a.d) x *= b; return a; }
template <int N> Dual<N> operator*(double b, Dual<N> a) { return a * b; }
template <int N> Dual<N> operator/(Dual<N> a, double b) { return a * (1.0 / b); }
template <int N> Dual<N> operator/(double b, const Dual<N>& a) { return Dual<N>(b) / a; }
template <int N> Dual<N>& operator+=(Dual<N>& a, const Dual<N>& b) { return a = a + b; }
template <int N> Dual<N>& operator*=(Dual<N>& a, const Dual<N>& b) { return a = a * b; }

template <int N> Dual<N> log(const Dual<N>& a) { return a.apply(std::log(a.v), 1.0 / a.v); }
template <int N> Dual<N> exp(const Dual<N>& a) { const double e = std::exp(a.v); return a.apply(e, e); }
template <int N> Dual<N> log1p(const Dual<N>& a) { return a.apply(std::log1p(a.v), 1.0 / (1.0 + a.v)); }
template <int N> Dual<N> expm1(const Dual<N>& a) { return a.apply(std::expm1(a.v), std::exp(a.v)); }
template <int N> Dual<N> lgamma(const Dual<N>& a) {
  return a.apply(lgamma_fast(a.v), digamma_fast(a.v));
}

inline double value(double x) { return x; }
template <int N> double value(const Dual<N>& x) { return x.v; }

// Scalar-generic spellings so the templated likelihoods read like the formulas.
inline double lgamma(double x) { return lgamma_fast(x); }
using std::exp;
using std::expm1;
using std::log;
using std::log1p;

template <class S> S lbeta(const S& a, const S& b) { return lgamma(a) + lgamma(b) - lgamma(a + b); }

/// log(exp(a) + exp(b)) without overflow.
template <class S> S logaddexp(const S& a, const S& b) {
  if (value(a) == -std::numeric_limits<double>::infinity()) return b;
  if (value(b) == -std::numeric_limits<double>::infinity()) return a;
  return value(a) >= value(b) ? a + log1p(exp(b - a)) : b + log1p(exp(a - b));
}

/// log(exp(a) - exp(b)) for b < a.
template <class S> S logsubexp(const S& a, const S& b) { return a + log(-expm1(b - a)); }

// Fused Dual versions of the two (the per-row hot spots of the fits): the same values,
// derivatives as one weighted sum instead of a chain of Dual temporaries, and no second
// exponential for the derivative of expm1.
template <int N> Dual<N> logaddexp(const Dual<N>& a, const Dual<N>& b) {
  if (a.v == -std::numeric_limits<double>::infinity()) return b;
  if (b.v == -std::numeric_limits<double>::infinity()) return a;
  const bool a_big = a.v >= b.v;
  const Dual<N>& hi = a_big ? a : b;
  const Dual<N>& lo = a_big ? b : a;
  const double e = std::exp(lo.v - hi.v);
  const double wl = e / (1.0 + e);  // weight of the smaller term
  Dual<N> r(hi.v + std::log1p(e));
  for (int i = 0; i < N; ++i) r.d[i] = hi.d[i] + wl * (lo.d[i] - hi.d[i]);
  return r;
}
template <int N> Dual<N> logsubexp(const Dual<N>& a, const Dual<N>& b) {
  const double em = std::expm1(b.v - a.v);  // in (-1, 0)
  const double wb = (em + 1.0) / em;       // d log(-expm1(x)) / dx at x = b - a
  Dual<N> r(a.v + std::log(-em));
  for (int i = 0; i < N; ++i) r.d[i] = a.d[i] + wb * (b.d[i] - a.d[i]);
  return r;
}

inline constexpr int kMaxSeriesTerms = 200000;

/// 2F1(1, B; C; z) for C > B > 0 and 0 <= z < 1 (or z = 1 when C - B > 1).
template <class S> S hyp2f1_1b(const S& B, const S& C, const S& z) {
  S sum(1.0), term(1.0);
  for (int n = 0; n < kMaxSeriesTerms; ++n) {
    term = term * ((B + double(n)) / (C + double(n))) * z;
    sum += term;
    if (value(term) <= 1e-17 * value(sum)) return sum;
  }
  fail<ConvergenceError>("hyp2f1", "series 2F1(1, ", value(B), "; ", value(C), "; ", value(z),
                         ") did not converge in ", kMaxSeriesTerms, " terms");
}

/// 2F1(a, b; c; z) for a, b, c > 0 and 0 <= z < 1 by its positive-term series; returns
/// NaN when it needs more than max_terms terms (the caller then integrates instead).
inline double hyp2f1_series(double a, double b, double c, double z, int max_terms = 5000) {
  double sum = 1.0, term = 1.0;
  for (int n = 0; n < max_terms; ++n) {
    term *= (a + n) * (b + n) / ((c + n) * (n + 1.0)) * z;
    sum += term;
    if (term <= 1e-17 * sum) return sum;
  }
  return std::numeric_limits<double>::quiet_NaN();
}

}  // namespace custmine::clv
