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
constexpr Index kP = BoundPanels::kPanel, kChunk = BoundPanels::kChunk, kPanelsPerChunk = kChunk / kP;
constexpr float kInf = std::numeric_limits<float>::infinity();

// One query's bounds against the 16 rows of one panel. The operations are the same whichever
// of the two rows is the query, so the bound is symmetric in every bit.
void panel_bounds_generic(const BoundPanels& R, const float* q, float qpn, float qres, Index panel, float* v) {
  const Index p = R.p, j0 = panel * kP;
  const float* X = R.x.data() + panel * p * kP;
  float acc[kP] = {};
  for (Index f = 0; f < p; ++f)
    for (Index r = 0; r < kP; ++r) acc[r] += q[f] * X[f * kP + r];
  for (Index r = 0; r < kP; ++r) {
    const float e = qres - R.res[j0 + r];
    v[r] = (qpn + R.pn[j0 + r]) - 2.0f * acc[r] + e * e;
  }
}

void bounds_generic(const BoundPanels& R, const float* Q, const float* qpn, const float* qres, Index bs, Index c0,
                    Index c1, float* LB, Index ld, float* cmin) {
  const Index p = R.p, nc = R.n_chunks();
  for (Index c = c0; c < c1; ++c) {
    for (Index i = 0; i < bs; ++i) {
      float mn = kInf;
      for (Index t = 0; t < kPanelsPerChunk; ++t) {
        const Index panel = c * kPanelsPerChunk + t;
        float* v = LB + i * ld + (panel - c0 * kPanelsPerChunk) * kP;
        panel_bounds_generic(R, Q + i * p, qpn[i], qres[i], panel, v);
        for (Index r = 0; r < kP; ++r) mn = std::min(mn, v[r]);
      }
      if (cmin) cmin[i * nc + c] = mn;
    }
  }
}

// Rows of chunk I as queries: coordinates row-major, squared norms and residuals (padding
// rows keep their huge norm, so their bounds stay out of every minimum).
void unpack_chunk(const BoundPanels& R, Index I, float* Q, float* qpn, float* qres) {
  for (Index a = 0; a < kChunk; ++a) {
    const Index j = I * kChunk + a;
    R.row(j, Q + a * R.p);
    qpn[a] = R.pn[static_cast<std::size_t>(j)];
    qres[a] = R.res[static_cast<std::size_t>(j)];
  }
}

void minima_generic(const BoundPanels& R, Index I, std::uint16_t* cmin) {
  const Index p = R.p, nc = R.n_chunks();
  std::vector<float> Q(static_cast<std::size_t>(kChunk * p)), qpn(kChunk), qres(kChunk);
  unpack_chunk(R, I, Q.data(), qpn.data(), qres.data());
  float v[kP];
  for (Index J = I; J < nc; ++J) {
    float col[kChunk];
    std::fill(col, col + kChunk, kInf);
    for (Index a = 0; a < kChunk; ++a) {
      float mn = kInf;
      for (Index t = 0; t < kPanelsPerChunk; ++t) {
        panel_bounds_generic(R, Q.data() + a * p, qpn[a], qres[a], J * kPanelsPerChunk + t, v);
        for (Index r = 0; r < kP; ++r) mn = std::min(mn, v[r]), col[t * kP + r] = std::min(col[t * kP + r], v[r]);
      }
      cmin[(I * kChunk + a) * nc + J] = bf16_down(mn);
    }
    if (J > I)
      for (Index b = 0; b < kChunk; ++b) cmin[(J * kChunk + b) * nc + I] = bf16_down(col[b]);
  }
}

#ifdef CUSTMINE_BOUNDS_AVX2
// Dot products of 4 queries (rows of q, stride p) with the 16 rows of one panel: 8
// accumulators, two loads and four broadcasts per axis.
struct Dots {
  __m256 a[4][2];
};
__attribute__((target("avx2,fma"))) inline Dots dots4(const float* X, const float* q, Index p) {
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
  return Dots{{{a00, a01}, {a10, a11}, {a20, a21}, {a30, a31}}};
}

// One query's 16 bounds from its dot products: (|Pq|^2 + |Pr|^2) - 2 q.r + (|Rq| - |Rr|)^2;
// symmetric in the two rows in every bit as well (products and sums commute).
__attribute__((target("avx2,fma"))) inline void finish(const __m256 acc[2], const float* pn, const float* rs, float qpn,
                                                       float qres, __m256& v0, __m256& v1) {
  const __m256 a = _mm256_set1_ps(qpn), r = _mm256_set1_ps(qres), m2 = _mm256_set1_ps(-2.0f);
  const __m256 e0 = _mm256_sub_ps(r, _mm256_loadu_ps(rs)), e1 = _mm256_sub_ps(r, _mm256_loadu_ps(rs + 8));
  v0 = _mm256_fmadd_ps(e0, e0, _mm256_fmadd_ps(m2, acc[0], _mm256_add_ps(a, _mm256_loadu_ps(pn))));
  v1 = _mm256_fmadd_ps(e1, e1, _mm256_fmadd_ps(m2, acc[1], _mm256_add_ps(a, _mm256_loadu_ps(pn + 8))));
}

__attribute__((target("avx2,fma"))) inline float hmin(__m256 v) {
  __m128 h = _mm_min_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  h = _mm_min_ps(h, _mm_movehl_ps(h, h));
  h = _mm_min_ss(h, _mm_shuffle_ps(h, h, 1));
  return _mm_cvtss_f32(h);
}

__attribute__((target("avx2,fma"))) void bounds_avx2(const BoundPanels& R, const float* Q, const float* qpn,
                                                     const float* qres, Index bs, Index c0, Index c1, float* LB,
                                                     Index ld, float* cmin) {
  const Index p = R.p, nc = R.n_chunks();
  for (Index c = c0; c < c1; ++c) {
    for (Index i0 = 0; i0 < bs; i0 += 4) {
      __m256 mn[4];
      for (auto& v : mn) v = _mm256_set1_ps(kInf);
      for (Index t = 0; t < kPanelsPerChunk; ++t) {
        const Index panel = c * kPanelsPerChunk + t, j0 = panel * kP;
        const Dots d = dots4(R.x.data() + panel * p * kP, Q + i0 * p, p);
        for (Index i = 0; i < 4; ++i) {
          __m256 v0, v1;
          finish(d.a[i], R.pn.data() + j0, R.res.data() + j0, qpn[i0 + i], qres[i0 + i], v0, v1);
          float* out = LB + (i0 + i) * ld + (j0 - c0 * kChunk);
          _mm256_storeu_ps(out, v0);
          _mm256_storeu_ps(out + 8, v1);
          mn[i] = _mm256_min_ps(mn[i], _mm256_min_ps(v0, v1));
        }
      }
      if (cmin)
        for (Index i = 0; i < 4; ++i) cmin[(i0 + i) * nc + c] = hmin(mn[i]);
    }
  }
}

__attribute__((target("avx2,fma"))) void minima_avx2(const BoundPanels& R, Index I, std::uint16_t* cmin) {
  const Index p = R.p, nc = R.n_chunks();
  std::vector<float> Q(static_cast<std::size_t>(kChunk * p)), qpn(kChunk), qres(kChunk);
  unpack_chunk(R, I, Q.data(), qpn.data(), qres.data());
  for (Index J = I; J < nc; ++J) {
    __m256 col[kPanelsPerChunk][2];
    for (auto& c : col) c[0] = c[1] = _mm256_set1_ps(kInf);
    for (Index i0 = 0; i0 < kChunk; i0 += 4) {
      __m256 mn[4];
      for (auto& v : mn) v = _mm256_set1_ps(kInf);
      for (Index t = 0; t < kPanelsPerChunk; ++t) {
        const Index panel = J * kPanelsPerChunk + t, j0 = panel * kP;
        const Dots d = dots4(R.x.data() + panel * p * kP, Q.data() + i0 * p, p);
        for (Index i = 0; i < 4; ++i) {
          __m256 v0, v1;
          finish(d.a[i], R.pn.data() + j0, R.res.data() + j0, qpn[i0 + i], qres[i0 + i], v0, v1);
          mn[i] = _mm256_min_ps(mn[i], _mm256_min_ps(v0, v1));
          col[t][0] = _mm256_min_ps(col[t][0], v0);
          col[t][1] = _mm256_min_ps(col[t][1], v1);
        }
      }
      for (Index i = 0; i < 4; ++i) cmin[(I * kChunk + i0 + i) * nc + J] = bf16_down(hmin(mn[i]));
    }
    if (J > I) {
      alignas(32) float c[kChunk];
      for (Index t = 0; t < kPanelsPerChunk; ++t) {
        _mm256_store_ps(c + t * kP, col[t][0]);
        _mm256_store_ps(c + t * kP + 8, col[t][1]);
      }
      for (Index b = 0; b < kChunk; ++b) cmin[(J * kChunk + b) * nc + I] = bf16_down(c[b]);
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
    for (Index f = 0; f < p; ++f) R.x[R.at(j, f)] = coords[j * p + f];
    R.pn[static_cast<std::size_t>(j)] = static_cast<float>(pn[j]);
    R.res[static_cast<std::size_t>(j)] = static_cast<float>(res[j]);
  }
  return R;
}

void BoundPanels::row(Index j, float* coords) const {
  for (Index f = 0; f < p; ++f) coords[f] = x[at(j, f)];
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
  projected_bounds_chunks(R, coords, qpn, qres, bs, 0, R.n_chunks(), LB, R.n_pad, cmin, generic);
}

void projected_bounds_chunks(const BoundPanels& R, const float* coords, const float* qpn, const float* qres, Index bs,
                             Index c0, Index c1, float* LB, Index ld, float* cmin, bool generic) {
#ifdef CUSTMINE_BOUNDS_AVX2
  if (!generic && fast_bounds() && bs % 4 == 0) {
    bounds_avx2(R, coords, qpn, qres, bs, c0, c1, LB, ld, cmin);
    return;
  }
#endif
  bounds_generic(R, coords, qpn, qres, bs, c0, c1, LB, ld, cmin);
}

void symmetric_minima(const BoundPanels& R, Index I, std::uint16_t* cmin, bool generic) {
#ifdef CUSTMINE_BOUNDS_AVX2
  if (!generic && fast_bounds()) {
    minima_avx2(R, I, cmin);
    return;
  }
#endif
  minima_generic(R, I, cmin);
}

}  // namespace custmine::anomaly::detail
