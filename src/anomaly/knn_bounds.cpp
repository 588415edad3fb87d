// Bound kernel of the projected nearest-neighbour search; see knn_bounds.hpp.
#include "custmine/anomaly/knn_bounds.hpp"

#include <algorithm>
#include <limits>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define CUSTMINE_BOUNDS_AVX2 1
#endif

namespace custmine::anomaly::detail {

namespace {
constexpr Index kP = BoundPanels::kPanel, kPanelsPerChunk = BoundPanels::kChunk / BoundPanels::kPanel;

void bounds_generic(const BoundPanels& R, const float* Q, const float* qpn, const float* qres, Index bs, float* LB,
                    float* cmin) {
  const Index p = R.p, nc = R.n_chunks();
  for (Index c = 0; c < nc; ++c) {
    for (Index i = 0; i < bs; ++i) {
      float mn = std::numeric_limits<float>::infinity();
      for (Index t = 0; t < kPanelsPerChunk; ++t) {
        const Index panel = c * kPanelsPerChunk + t, j0 = panel * kP;
        const float* X = R.x.data() + panel * p * kP;
        float acc[kP] = {};
        for (Index f = 0; f < p; ++f)
          for (Index r = 0; r < kP; ++r) acc[r] += Q[i * p + f] * X[f * kP + r];
        for (Index r = 0; r < kP; ++r) {
          const float e = qres[i] - R.res[j0 + r];
          const float v = (qpn[i] + R.pn[j0 + r]) - 2.0f * acc[r] + e * e;
          LB[i * R.n_pad + j0 + r] = v;
          mn = std::min(mn, v);
        }
      }
      cmin[i * nc + c] = mn;
    }
  }
}

#ifdef CUSTMINE_BOUNDS_AVX2
// One query's 16 bounds from its dot products: (|Pq|^2 + |Pr|^2) - 2 q.r + (|Rq| - |Rr|)^2.
__attribute__((target("avx2,fma"))) inline void finish(__m256 acc0, __m256 acc1, __m256 pn0, __m256 pn1, __m256 rs0,
                                                       __m256 rs1, float qpn, float qres, float* out, __m256& mn) {
  const __m256 a = _mm256_set1_ps(qpn), r = _mm256_set1_ps(qres), two = _mm256_set1_ps(2.0f);
  const __m256 e0 = _mm256_sub_ps(r, rs0), e1 = _mm256_sub_ps(r, rs1);
  const __m256 v0 = _mm256_fmadd_ps(e0, e0, _mm256_fnmadd_ps(two, acc0, _mm256_add_ps(a, pn0)));
  const __m256 v1 = _mm256_fmadd_ps(e1, e1, _mm256_fnmadd_ps(two, acc1, _mm256_add_ps(a, pn1)));
  _mm256_storeu_ps(out, v0);
  _mm256_storeu_ps(out + 8, v1);
  mn = _mm256_min_ps(mn, _mm256_min_ps(v0, v1));
}

// 4 queries x 16 references per step: 8 accumulators, two loads and four broadcasts per axis.
__attribute__((target("avx2,fma"))) void bounds_avx2(const BoundPanels& R, const float* Q, const float* qpn,
                                                     const float* qres, Index bs, float* LB, float* cmin) {
  const Index p = R.p, nc = R.n_chunks(), ld = R.n_pad;
  for (Index c = 0; c < nc; ++c) {
    for (Index i0 = 0; i0 < bs; i0 += 4) {
      __m256 mn[4];
      for (auto& v : mn) v = _mm256_set1_ps(std::numeric_limits<float>::infinity());
      for (Index t = 0; t < kPanelsPerChunk; ++t) {
        const Index panel = c * kPanelsPerChunk + t, j0 = panel * kP;
        const float* X = R.x.data() + panel * p * kP;
        const float* q = Q + i0 * p;
        __m256 a00 = _mm256_setzero_ps(), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00, a31 = a00;
        for (Index f = 0; f < p; ++f) {
          const __m256 x0 = _mm256_loadu_ps(X + f * kP), x1 = _mm256_loadu_ps(X + f * kP + 8);
          __m256 b = _mm256_broadcast_ss(q + f);
          a00 = _mm256_fmadd_ps(b, x0, a00);
          a01 = _mm256_fmadd_ps(b, x1, a01);
          b = _mm256_broadcast_ss(q + p + f);
          a10 = _mm256_fmadd_ps(b, x0, a10);
          a11 = _mm256_fmadd_ps(b, x1, a11);
          b = _mm256_broadcast_ss(q + 2 * p + f);
          a20 = _mm256_fmadd_ps(b, x0, a20);
          a21 = _mm256_fmadd_ps(b, x1, a21);
          b = _mm256_broadcast_ss(q + 3 * p + f);
          a30 = _mm256_fmadd_ps(b, x0, a30);
          a31 = _mm256_fmadd_ps(b, x1, a31);
        }
        const __m256 pn0 = _mm256_loadu_ps(R.pn.data() + j0), pn1 = _mm256_loadu_ps(R.pn.data() + j0 + 8);
        const __m256 rs0 = _mm256_loadu_ps(R.res.data() + j0), rs1 = _mm256_loadu_ps(R.res.data() + j0 + 8);
        float* out = LB + i0 * ld + j0;
        finish(a00, a01, pn0, pn1, rs0, rs1, qpn[i0], qres[i0], out, mn[0]);
        finish(a10, a11, pn0, pn1, rs0, rs1, qpn[i0 + 1], qres[i0 + 1], out + ld, mn[1]);
        finish(a20, a21, pn0, pn1, rs0, rs1, qpn[i0 + 2], qres[i0 + 2], out + 2 * ld, mn[2]);
        finish(a30, a31, pn0, pn1, rs0, rs1, qpn[i0 + 3], qres[i0 + 3], out + 3 * ld, mn[3]);
      }
      for (Index i = 0; i < 4; ++i) {
        __m128 h = _mm_min_ps(_mm256_castps256_ps128(mn[i]), _mm256_extractf128_ps(mn[i], 1));
        h = _mm_min_ps(h, _mm_movehl_ps(h, h));
        h = _mm_min_ss(h, _mm_shuffle_ps(h, h, 1));
        cmin[(i0 + i) * nc + c] = _mm_cvtss_f32(h);
      }
    }
  }
}
#endif

}  // namespace

BoundPanels pack_bound_panels(const float* coords, const double* pn, const double* res, Index n, Index p) {
  BoundPanels R;
  R.n = n;
  R.p = p;
  R.n_pad = (n + BoundPanels::kChunk - 1) / BoundPanels::kChunk * BoundPanels::kChunk;
  R.x.assign(static_cast<std::size_t>(R.n_pad * p), 0.0f);
  // Padding rows: a bound no query can reach, so they are never candidates.
  R.pn.assign(static_cast<std::size_t>(R.n_pad), std::numeric_limits<float>::max() / 4);
  R.res.assign(static_cast<std::size_t>(R.n_pad), 0.0f);
  for (Index j = 0; j < n; ++j) {
    const Index panel = j / kP, r = j % kP;
    for (Index f = 0; f < p; ++f) R.x[static_cast<std::size_t>((panel * p + f) * kP + r)] = coords[j * p + f];
    R.pn[static_cast<std::size_t>(j)] = static_cast<float>(pn[j]);
    R.res[static_cast<std::size_t>(j)] = static_cast<float>(res[j]);
  }
  return R;
}

bool fast_bounds() {
#ifdef CUSTMINE_BOUNDS_AVX2
  static const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return avx2;
#else
  return false;
#endif
}

void projected_bounds(const BoundPanels& R, const float* coords, const float* qpn, const float* qres, Index bs,
                      float* LB, float* cmin, bool generic) {
#ifdef CUSTMINE_BOUNDS_AVX2
  if (!generic && fast_bounds() && bs % 4 == 0) {
    bounds_avx2(R, coords, qpn, qres, bs, LB, cmin);
    return;
  }
#endif
  bounds_generic(R, coords, qpn, qres, bs, LB, cmin);
}

}  // namespace custmine::anomaly::detail
