// Exact squared Euclidean distance of the neighbour searches (see neighbors_impl.hpp).
#pragma once

#include "custmine/core/matrix.hpp"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif

namespace custmine::anomaly::detail {

/// Squared distance in eight interleaved partial sums (independent additions, so it runs at
/// the multiplier's rate rather than the adder's latency). Every search path measures its
/// final candidates with this one function, so they return identical distances.
inline double squared_distance_portable(const double* a, const double* b, Index d) {
  double s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  Index f = 0;
  for (; f + 8 <= d; f += 8)
    for (int l = 0; l < 8; ++l) {
      const double e = a[f + l] - b[f + l];
      s[l] += e * e;
    }
  for (int l = 0; f < d; ++f, ++l) {
    const double e = a[f] - b[f];
    s[l] += e * e;
  }
  return ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7]));
}

#if defined(__x86_64__) && defined(__GNUC__)
/// The same sums in 4-wide registers: lanes 0-3 and 4-7 of the eight, each a subtraction, a
/// multiplication and an addition rounded as above (no fused multiply-add), so the result is
/// the portable one in every bit, at half the instructions.
__attribute__((target("avx2"))) inline double squared_distance_avx2(const double* a, const double* b, Index d) {
  __m256d lo = _mm256_setzero_pd(), hi = lo;
  Index f = 0;
  for (; f + 8 <= d; f += 8) {
    const __m256d e0 = _mm256_sub_pd(_mm256_loadu_pd(a + f), _mm256_loadu_pd(b + f));
    const __m256d e1 = _mm256_sub_pd(_mm256_loadu_pd(a + f + 4), _mm256_loadu_pd(b + f + 4));
    lo = _mm256_add_pd(lo, _mm256_mul_pd(e0, e0));
    hi = _mm256_add_pd(hi, _mm256_mul_pd(e1, e1));
  }
  alignas(32) double s[8];
  _mm256_store_pd(s, lo);
  _mm256_store_pd(s + 4, hi);
  for (int l = 0; f < d; ++f, ++l) {
    const double e = a[f] - b[f];
    s[l] += e * e;
  }
  return ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7]));
}
#endif

inline double squared_distance(const double* a, const double* b, Index d) {
#if defined(__x86_64__) && defined(__GNUC__)
  static const bool avx2 = __builtin_cpu_supports("avx2");
  if (avx2) return squared_distance_avx2(a, b, d);
#endif
  return squared_distance_portable(a, b, d);
}

}  // namespace custmine::anomaly::detail
