// Squared distances from one row to every center, computed directly from the differences,
// in double (on X) and in float (on the float copy of X - m that Hamerly's bound tests read):
// used by kmeans.cpp for the rows the bounds leave in doubt.
#pragma once

#include <cmath>
#include <limits>
#include <vector>

#include "custmine/core/matrix.hpp"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif

namespace custmine::cluster::detail {

/// Centers transposed for the kernels, less an offset (zero, or the reference point of a
/// float copy of the rows): p rows of `width` entries (k rounded up to a multiple of 8), the
/// padding +infinity so that a padded center is never the nearest.
template <class T>
struct CenterPanelOf {
  Index k = 0, p = 0, width = 0;
  std::vector<T> t;  // t[f * width + j] = center j, feature f
  /// False when an entry is not finite as a T (float copies of huge values).
  bool assign(const RowMatrix<double>& C, const Eigen::RowVectorXd* offset = nullptr) {
    k = C.rows(), p = C.cols(), width = (k + 7) / 8 * 8;
    t.assign(static_cast<std::size_t>(p * width), std::numeric_limits<T>::infinity());
    bool finite = true;
    for (Index j = 0; j < k; ++j)
      for (Index f = 0; f < p; ++f) {
        const T v = static_cast<T>(offset == nullptr ? C(j, f) : C(j, f) - (*offset)(f));
        finite = finite && std::isfinite(v);
        t[static_cast<std::size_t>(f * width + j)] = v;
      }
    return finite;
  }
};
using CenterPanel = CenterPanelOf<double>;
using CenterPanelFloat = CenterPanelOf<float>;

/// out[j] = |x - c_j|^2 for j < width, each as two partial sums (even and odd features) added
/// at the end: a subtraction, a multiplication and an addition per term, no fused
/// multiply-add, so the vector twins below return the same bits. Relative rounding error
/// below (p + 4) u, u the unit roundoff of T (2^-53 double, 2^-24 float), whatever the
/// magnitude of x (no cancellation, unlike the expanded |x|^2 + |c|^2 - 2 x.c).
template <class T>
void center_distances_portable(const T* x, const CenterPanelOf<T>& P, T* out) {
  const Index w = P.width;
  for (Index j0 = 0; j0 < w; j0 += 8) {
    T even[8] = {0, 0, 0, 0, 0, 0, 0, 0}, odd[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    Index f = 0;
    for (; f + 2 <= P.p; f += 2) {
      const T* c0 = P.t.data() + f * w + j0;
      const T* c1 = c0 + w;
      for (int l = 0; l < 8; ++l) {
        const T e0 = c0[l] - x[f], e1 = c1[l] - x[f + 1];
        even[l] += e0 * e0;
        odd[l] += e1 * e1;
      }
    }
    if (f < P.p) {
      const T* c0 = P.t.data() + f * w + j0;
      for (int l = 0; l < 8; ++l) {
        const T e0 = c0[l] - x[f];
        even[l] += e0 * e0;
      }
    }
    for (int l = 0; l < 8; ++l) out[j0 + l] = even[l] + odd[l];
  }
}

#if defined(__x86_64__) && defined(__GNUC__)
/// The same sums, eight centers in two 4-wide registers per partial sum.
__attribute__((target("avx2"))) inline void center_distances_avx2(const double* x, const CenterPanel& P, double* out) {
  const Index w = P.width;
  for (Index j0 = 0; j0 < w; j0 += 8) {
    __m256d e_lo = _mm256_setzero_pd(), e_hi = e_lo, o_lo = e_lo, o_hi = e_lo;
    Index f = 0;
    for (; f + 2 <= P.p; f += 2) {
      const double* c0 = P.t.data() + f * w + j0;
      const double* c1 = c0 + w;
      const __m256d x0 = _mm256_broadcast_sd(x + f), x1 = _mm256_broadcast_sd(x + f + 1);
      const __m256d a = _mm256_sub_pd(_mm256_loadu_pd(c0), x0), b = _mm256_sub_pd(_mm256_loadu_pd(c0 + 4), x0);
      const __m256d c = _mm256_sub_pd(_mm256_loadu_pd(c1), x1), d = _mm256_sub_pd(_mm256_loadu_pd(c1 + 4), x1);
      e_lo = _mm256_add_pd(e_lo, _mm256_mul_pd(a, a));
      e_hi = _mm256_add_pd(e_hi, _mm256_mul_pd(b, b));
      o_lo = _mm256_add_pd(o_lo, _mm256_mul_pd(c, c));
      o_hi = _mm256_add_pd(o_hi, _mm256_mul_pd(d, d));
    }
    if (f < P.p) {
      const double* c0 = P.t.data() + f * w + j0;
      const __m256d x0 = _mm256_broadcast_sd(x + f);
      const __m256d a = _mm256_sub_pd(_mm256_loadu_pd(c0), x0), b = _mm256_sub_pd(_mm256_loadu_pd(c0 + 4), x0);
      e_lo = _mm256_add_pd(e_lo, _mm256_mul_pd(a, a));
      e_hi = _mm256_add_pd(e_hi, _mm256_mul_pd(b, b));
    }
    _mm256_storeu_pd(out + j0, _mm256_add_pd(e_lo, o_lo));
    _mm256_storeu_pd(out + j0 + 4, _mm256_add_pd(e_hi, o_hi));
  }
}

/// The float sums, eight centers in one register per partial sum.
__attribute__((target("avx2"))) inline void center_distances_avx2(const float* x, const CenterPanelFloat& P, float* out) {
  const Index w = P.width;
  for (Index j0 = 0; j0 < w; j0 += 8) {
    __m256 e = _mm256_setzero_ps(), o = e;
    Index f = 0;
    for (; f + 2 <= P.p; f += 2) {
      const float* c0 = P.t.data() + f * w + j0;
      const __m256 a = _mm256_sub_ps(_mm256_loadu_ps(c0), _mm256_broadcast_ss(x + f));
      const __m256 b = _mm256_sub_ps(_mm256_loadu_ps(c0 + w), _mm256_broadcast_ss(x + f + 1));
      e = _mm256_add_ps(e, _mm256_mul_ps(a, a));
      o = _mm256_add_ps(o, _mm256_mul_ps(b, b));
    }
    if (f < P.p) {
      const __m256 a = _mm256_sub_ps(_mm256_loadu_ps(P.t.data() + f * w + j0), _mm256_broadcast_ss(x + f));
      e = _mm256_add_ps(e, _mm256_mul_ps(a, a));
    }
    _mm256_storeu_ps(out + j0, _mm256_add_ps(e, o));
  }
}
#endif

/// A row's nearest center (the lowest index among equals) and the two smallest squared
/// distances: to it, and to the nearest other center (equal to the first on a tie).
template <class T>
struct NearestTwoOf {
  Index best = 0;
  T first = 0, second = 0;
};
using NearestTwo = NearestTwoOf<double>;
using NearestTwoFloat = NearestTwoOf<float>;

/// NearestTwo from the k distances in d (k >= 1).
template <class T>
NearestTwoOf<T> nearest_two_portable(const T* d, Index k) {
  NearestTwoOf<T> r{0, d[0], std::numeric_limits<T>::infinity()};
  for (Index j = 1; j < k; ++j)
    if (d[j] < r.first) r.first = d[j], r.best = j;
  for (Index j = 0; j < k; ++j)
    if (j != r.best) r.second = std::min(r.second, d[j]);
  return r;
}

/// Distances and nearest two for row x (d: scratch of P.width entries).
template <class T>
NearestTwoOf<T> nearest_centers_portable(const T* x, const CenterPanelOf<T>& P, T* d) {
  center_distances_portable(x, P, d);
  return nearest_two_portable(d, P.k);
}

#if defined(__x86_64__) && defined(__GNUC__)
/// The AVX2 operations nearest_two_avx2 needs, for 4 doubles or 8 floats per register.
template <class T>
struct Lanes;
template <>
struct Lanes<double> {
  using V = __m256d;
  static constexpr int n = 4;
  __attribute__((target("avx2"))) static V load(const double* q) { return _mm256_loadu_pd(q); }
  __attribute__((target("avx2"))) static V set1(double v) { return _mm256_set1_pd(v); }
  __attribute__((target("avx2"))) static V min(V a, V b) { return _mm256_min_pd(a, b); }
  __attribute__((target("avx2"))) static V add(V a, V b) { return _mm256_add_pd(a, b); }
  __attribute__((target("avx2"))) static V iota() { return _mm256_setr_pd(0, 1, 2, 3); }
  __attribute__((target("avx2"))) static V eq(V a, V b) { return _mm256_cmp_pd(a, b, _CMP_EQ_OQ); }
  __attribute__((target("avx2"))) static int mask(V a) { return _mm256_movemask_pd(a); }
  __attribute__((target("avx2"))) static V blend(V a, V b, V m) { return _mm256_blendv_pd(a, b, m); }
  __attribute__((target("avx2"))) static double hmin(V v) {
    const __m128d h = _mm_min_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
    return _mm_cvtsd_f64(_mm_min_sd(h, _mm_unpackhi_pd(h, h)));
  }
};
template <>
struct Lanes<float> {
  using V = __m256;
  static constexpr int n = 8;
  __attribute__((target("avx2"))) static V load(const float* q) { return _mm256_loadu_ps(q); }
  __attribute__((target("avx2"))) static V set1(float v) { return _mm256_set1_ps(v); }
  __attribute__((target("avx2"))) static V min(V a, V b) { return _mm256_min_ps(a, b); }
  __attribute__((target("avx2"))) static V add(V a, V b) { return _mm256_add_ps(a, b); }
  __attribute__((target("avx2"))) static V iota() { return _mm256_setr_ps(0, 1, 2, 3, 4, 5, 6, 7); }
  __attribute__((target("avx2"))) static V eq(V a, V b) { return _mm256_cmp_ps(a, b, _CMP_EQ_OQ); }
  __attribute__((target("avx2"))) static int mask(V a) { return _mm256_movemask_ps(a); }
  __attribute__((target("avx2"))) static V blend(V a, V b, V m) { return _mm256_blendv_ps(a, b, m); }
  __attribute__((target("avx2"))) static float hmin(V v) {
    __m128 h = _mm_min_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    h = _mm_min_ps(h, _mm_movehl_ps(h, h));
    return _mm_cvtss_f32(_mm_min_ss(h, _mm_shuffle_ps(h, h, 1)));
  }
};

/// nearest_two_portable with vector minima over the padded width d[0..w) (minima are
/// exact: the same results).
template <class T>
__attribute__((target("avx2"))) NearestTwoOf<T> nearest_two_avx2(const T* d, Index w) {
  using L = Lanes<T>;
  typename L::V m = L::load(d);
  for (Index j = L::n; j < w; j += L::n) m = L::min(m, L::load(d + j));
  NearestTwoOf<T> r;
  r.first = L::hmin(m);
  const typename L::V first = L::set1(r.first);
  for (Index j = 0; j < w; j += L::n) {
    const int hit = L::mask(L::eq(L::load(d + j), first));
    if (hit != 0) {
      r.best = j + __builtin_ctz(static_cast<unsigned>(hit));
      break;
    }
  }
  // The other centers' minimum: the best lane masked to infinity (lane numbers as T).
  const typename L::V inf = L::set1(std::numeric_limits<T>::infinity());
  const typename L::V best = L::set1(static_cast<T>(r.best));
  typename L::V lane = L::iota();
  m = inf;
  for (Index j = 0; j < w; j += L::n, lane = L::add(lane, L::set1(static_cast<T>(L::n))))
    m = L::min(m, L::blend(L::load(d + j), inf, L::eq(lane, best)));
  r.second = L::hmin(m);
  return r;
}

/// Distances and nearest two for row x, AVX2 (same results as nearest_centers_portable).
template <class T>
__attribute__((target("avx2"))) NearestTwoOf<T> nearest_centers_avx2(const T* x, const CenterPanelOf<T>& P, T* d) {
  center_distances_avx2(x, P, d);
  return nearest_two_avx2(d, P.width);
}
#endif

template <class T>
using NearestCentersFn = NearestTwoOf<T> (*)(const T*, const CenterPanelOf<T>&, T*);

/// The vector twin where the processor has AVX2, the portable one otherwise (same results).
template <class T>
NearestCentersFn<T> nearest_centers() {
#if defined(__x86_64__) && defined(__GNUC__)
  static const bool avx2 = __builtin_cpu_supports("avx2");
  if (avx2) return nearest_centers_avx2<T>;
#endif
  return nearest_centers_portable<T>;
}

}  // namespace custmine::cluster::detail
