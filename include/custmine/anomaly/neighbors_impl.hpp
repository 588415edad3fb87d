// Definitions for neighbors.hpp (instantiated in src/anomaly/neighbors.cpp).
#pragma once

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <optional>
#include <utility>
#include <vector>

#include <Eigen/Eigenvalues>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "custmine/anomaly/distance.hpp"
#include "custmine/anomaly/knn_bounds.hpp"
#include "custmine/anomaly/neighbors.hpp"
#include "custmine/core/blas.hpp"
#include "custmine/core/error.hpp"
#include "custmine/core/threading.hpp"

// The index's non-template members: compiled once in src/anomaly/neighbors.cpp for the
// library, inline when everything is header-only.
#ifdef CUSTMINE_HEADER_ONLY
#define CUSTMINE_NEIGHBORS_INLINE inline
#else
#define CUSTMINE_NEIGHBORS_INLINE
#endif

namespace custmine::anomaly {

namespace detail {

/// Float bounds need coordinates whose squares fit a float: rows this far from the training
/// mean (squared norm beyond 1e30) are searched by brute force instead (the same answer).
inline constexpr double kFloatSafeNorm2 = 1e30;

/// The largest squared norm of a row of X less `mean`.
template <class M>
double max_centered_norm2(const M& X, const Vector<double>& mean) {
  return (X.template cast<double>().rowwise() - mean.transpose()).rowwise().squaredNorm().maxCoeff();
}

inline bool float_safe(const RowMatrix<double>& X) {
  const Vector<double> mean = X.colwise().mean().transpose();  // evaluated once, not per row
  return max_centered_norm2(X, mean) <= kFloatSafeNorm2;
}

/// Writes a query's k nearest from its keff sorted (d^2, index) candidates; with exclude_self
/// the query's own index is dropped, or, when it is not among them (more than k duplicates),
/// the first one is, as scikit-learn does.
inline void emit_neighbors(Neighbors& out, Index qi, const std::vector<std::pair<double, Index>>& cand, Index keff,
                           bool exclude_self) {
  Index skip = -1;
  if (exclude_self) {
    skip = 0;
    for (Index p = 0; p < keff; ++p)
      if (cand[p].second == qi) {
        skip = p;
        break;
      }
  }
  for (Index p = 0, c = 0; p < keff; ++p) {
    if (p == skip) continue;
    out.distance(qi, c) = std::sqrt(cand[p].first);
    out.index(qi, c) = cand[p].second;
    ++c;
  }
}

/// Keeps the keff smallest (value, index) pairs seen, as a max-heap.
inline void heap_offer(std::vector<std::pair<double, Index>>& heap, Index keff, std::pair<double, Index> c) {
  if (static_cast<Index>(heap.size()) < keff) {
    heap.push_back(c);
    std::push_heap(heap.begin(), heap.end());
  } else if (c < heap.front()) {
    std::pop_heap(heap.begin(), heap.end());
    heap.back() = c;
    std::push_heap(heap.begin(), heap.end());
  }
}

/// One median split, shared by the k-d tree and the locality order: the column of widest
/// spread among the first c columns of the rows idx[b..e) (each column's minimum and maximum
/// written to lo/hi when given), returned with that spread.
inline std::pair<Index, double> widest_column(const RowMatrix<double>& X, const std::vector<Index>& idx, Index b,
                                              Index e, Index c, double* lo = nullptr, double* hi = nullptr) {
  Index best = 0;
  double spread = -1;
  for (Index f = 0; f < c; ++f) {
    double l = X(idx[static_cast<std::size_t>(b)], f), h = l;
    for (Index i = b + 1; i < e; ++i) {
      l = std::min(l, X(idx[static_cast<std::size_t>(i)], f));
      h = std::max(h, X(idx[static_cast<std::size_t>(i)], f));
    }
    if (lo) lo[f] = l, hi[f] = h;
    if (h - l > spread) spread = h - l, best = f;
  }
  return {best, spread};
}

/// Reorders idx[b..e) so that its middle holds the median of column f, smaller values before.
inline Index median_split(const RowMatrix<double>& X, std::vector<Index>& idx, Index b, Index e, Index f) {
  const Index mid = b + (e - b) / 2;
  std::nth_element(idx.begin() + b, idx.begin() + mid, idx.begin() + e,
                   [&](Index x, Index y) { return X(x, f) < X(y, f); });
  return mid;
}

/// A k-d tree over the reference rows for exact k-nearest-neighbour search in low
/// dimension (Friedman, Bentley & Finkel 1977): split on the widest dimension at the
/// median, leaves of at most 16 rows stored contiguously in tree order, and every node's
/// bounding box, so a subtree is skipped when the box is farther than the current k-th
/// distance (pruning on the split plane alone: shuttle, 9 dimensions, fit + score 2.1 s
/// against 1.4 s). A query keeps a max-heap of the best (distance^2, index) pairs, so ties
/// resolve by index exactly as in the brute-force path.
class KdTree {
 public:
  explicit KdTree(const RowMatrix<double>& X) : d_(X.cols()) {
    const Index n = X.rows();
    perm_.resize(static_cast<std::size_t>(n));
    std::iota(perm_.begin(), perm_.end(), Index{0});
    nodes_.reserve(static_cast<std::size_t>(4 * n / kLeaf + 2));
    build(X, 0, n);
    pts_.resize(n, d_);
    for (Index i = 0; i < n; ++i) pts_.row(i) = X.row(perm_[static_cast<std::size_t>(i)]);
  }
  /// The k_eff smallest (d^2, index) pairs, sorted; returns the number of rows measured (the
  /// search's cost, for the planner).
  Index query(const double* q, Index keff, std::vector<std::pair<double, Index>>& heap) const {
    heap.clear();
    Index visited = 0;
    search(0, q, keff, heap, visited);
    std::sort_heap(heap.begin(), heap.end());
    return visited;
  }
  /// Reference rows in tree order: queries taken in this order share their paths in cache.
  [[nodiscard]] const std::vector<Index>& order() const { return perm_; }

 private:
  static constexpr Index kLeaf = 16;
  struct Node {
    Index begin, end;
    std::int32_t left = -1, right = -1;  // -1: leaf
  };
  const double* lo(std::int32_t id) const { return box_.data() + 2 * static_cast<std::size_t>(id) * d_; }
  const double* hi(std::int32_t id) const { return lo(id) + d_; }
  std::int32_t build(const RowMatrix<double>& X, Index b, Index e) {
    const auto id = static_cast<std::int32_t>(nodes_.size());
    nodes_.push_back({b, e});
    const std::size_t at = box_.size();
    box_.resize(at + 2 * static_cast<std::size_t>(d_));
    const auto [best, spread] = widest_column(X, perm_, b, e, d_, box_.data() + at, box_.data() + at + d_);
    if (e - b <= kLeaf || !(spread > 0)) return id;  // small, or all rows identical
    const Index mid = median_split(X, perm_, b, e, best);
    const std::int32_t l = build(X, b, mid);
    const std::int32_t r = build(X, mid, e);
    nodes_[id].left = l;
    nodes_[id].right = r;
    return id;
  }
  double box_distance(std::int32_t id, const double* q) const {
    const double *l = lo(id), *h = hi(id);
    double s = 0;
    for (Index f = 0; f < d_; ++f) {
      const double g = std::max(l[f] - q[f], 0.0) + std::max(q[f] - h[f], 0.0);
      s += g * g;
    }
    return s;
  }
  void search(std::int32_t id, const double* q, Index keff, std::vector<std::pair<double, Index>>& heap,
              Index& visited) const {
    const Node& nd = nodes_[id];
    if (nd.left < 0) {
      visited += nd.end - nd.begin;
      for (Index i = nd.begin; i < nd.end; ++i) {
        heap_offer(heap, keff, {squared_distance(q, pts_.row(i).data(), d_), perm_[static_cast<std::size_t>(i)]});
      }
      return;
    }
    const double dl = box_distance(nd.left, q), dr = box_distance(nd.right, q);
    const bool left_first = dl <= dr;
    const std::int32_t near = left_first ? nd.left : nd.right, far = left_first ? nd.right : nd.left;
    const double dfar = left_first ? dr : dl;
    search(near, q, keff, heap, visited);
    // A box at exactly the k-th distance may hold a tie with a smaller index: visit it.
    if (static_cast<Index>(heap.size()) < keff || dfar <= heap.front().first) search(far, q, keff, heap, visited);
  }
  Index d_;
  RowMatrix<double> pts_;
  std::vector<Index> perm_;
  std::vector<double> box_;  // per node: d lower then d upper bounds
  std::vector<Node> nodes_;
};

/// Blocked brute force: squared distances of a block of queries to all references from one
/// matrix product (|q|^2 + |r|^2 - 2 q.r); every candidate within a rounding bound of the
/// k-th smallest is then re-measured exactly, so neighbours and distances are exact (no
/// cancellation error for duplicates).
template <class T>
void knn_blocked(const RowMatrix<double>& ref, MatrixView<T> Q, Index keff, bool exclude_self, int n_threads,
                 Neighbors& out) {
  const Index n = ref.rows(), m = Q.rows(), d = ref.cols();
  const Vector<double> rn = ref.rowwise().squaredNorm();
  const double max_rn = rn.size() ? rn.maxCoeff() : 0.0;
  // Block of queries so that the block x n distance matrix stays near 8 MB.
  const Index block = std::clamp<Index>((Index{1} << 20) / std::max<Index>(n, 1), 1, 256);
  const Index n_blocks = (m + block - 1) / block;
  // One distance buffer per thread, reused across blocks: a fresh multi-megabyte buffer per
  // block went through mmap and page faults every time.
  std::vector<RowMatrix<double>> scratch(static_cast<std::size_t>(std::max(1, resolve_threads(n_threads))));
  parallel_for(n_blocks, n_threads, [&](Index blk, int t) {
    if ((blk & 15) == 0) Interrupt::check("LocalOutlierFactor: nearest neighbours");
    const Index b0 = blk * block, b1 = std::min(m, b0 + block), bs = b1 - b0;
    const RowMatrix<double> Qb = Q.middleRows(b0, bs).template cast<double>();
    RowMatrix<double>& G = scratch[static_cast<std::size_t>(t)];
    G.resize(bs, n);
#ifdef CUSTMINE_HEADER_ONLY
    G.noalias() = Qb * ref.transpose();
#else  // the library build: on BLAS where it has one (src/core/blas.cpp)
    blas::gemm(1.0, blas::view(Qb), false, blas::view(ref), true, 0.0, blas::mut_view(G));
#endif
    std::vector<double> heap;
    std::vector<Index> maybe;
    std::vector<std::pair<double, Index>> cand;
    for (Index r = 0; r < bs; ++r) {
      const double qn = Qb.row(r).squaredNorm();
      const double* a = G.row(r).data();
      // One pass: the k-th smallest of rn[j] - 2 q.r_j (|q|^2 is common to the row) with a
      // bounded max-heap, keeping every j that was within the tolerance of the running
      // k-th value when seen; the final k-th value is no larger, so the neighbours and all
      // rows tied with them within the tolerance are among those kept.
      const double tol = 1e-10 * (qn + max_rn) + std::numeric_limits<double>::min();
      heap.resize(static_cast<std::size_t>(keff));
      maybe.clear();
      for (Index j = 0; j < keff; ++j) heap[j] = rn[j] - 2.0 * a[j], maybe.push_back(j);
      std::make_heap(heap.begin(), heap.end());
      double bound = heap.front() + tol;
      for (Index j = keff; j < n; ++j) {
        const double v = rn[j] - 2.0 * a[j];
        if (v > bound) continue;
        maybe.push_back(j);
        if (v < heap.front()) {
          std::pop_heap(heap.begin(), heap.end());
          heap.back() = v;
          std::push_heap(heap.begin(), heap.end());
          bound = heap.front() + tol;
        }
      }
      cand.clear();
      for (const Index j : maybe)
        if (rn[j] - 2.0 * a[j] <= bound) cand.emplace_back(squared_distance(Qb.row(r).data(), ref.row(j).data(), d), j);
      std::sort(cand.begin(), cand.end());
      emit_neighbors(out, b0 + r, cand, keff, exclude_self);
    }
  });
}

/// Principal axes of the reference rows, for lower bounds on distances in fewer dimensions.
struct Projection {
  Index p = 0;            // axes kept; 0: no projection (plain brute force)
  Vector<double> mean;    // d
  Eigen::MatrixXd basis;  // d x p, orthonormal columns, by decreasing variance
};

#ifndef CUSTMINE_HEADER_ONLY  // the search it plans needs the bound kernel (src/anomaly/knn_bounds.cpp)
/// The top pmax principal axes of the reference rows (none when the eigensolver fails).
inline Projection principal_axes(const RowMatrix<double>& ref, Index pmax) {
  const Index d = ref.cols();
  Projection pr;
  pr.mean = ref.colwise().mean().transpose();
  // Scatter matrix of the centered rows, 4,096 rows at a time (no centered copy of all rows).
  Eigen::MatrixXd cov = Eigen::MatrixXd::Zero(d, d);
  for (Index b = 0; b < ref.rows(); b += 4096) {
    const RowMatrix<double> Xb = ref.middleRows(b, std::min<Index>(4096, ref.rows() - b)).rowwise() - pr.mean.transpose();
    blas::syrk_t(1.0, blas::view(Xb), 1.0, blas::mut_view(cov));
  }
  cov.triangularView<Eigen::StrictlyUpper>() = cov.transpose().triangularView<Eigen::StrictlyUpper>();
  const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(cov);
  if (es.info() != Eigen::Success) return pr;
  pr.p = pmax;
  pr.basis.resize(d, pmax);
  for (Index c = 0; c < pmax; ++c) pr.basis.col(c) = es.eigenvectors().col(d - 1 - c);
  return pr;
}

/// Whether, and onto how many principal axes, to project before the exact search. For an
/// orthonormal P and residual R = I - P P^T,
///   |x - y|^2 = |P(x - y)|^2 + |R(x - y)|^2 >= |Px - Py|^2 + (|Rx| - |Ry|)^2,
/// a lower bound that costs p instead of d per pair (the lower-bounding lemma of
/// Faloutsos, Ranganathan & Manolopoulos 1994, "Fast subsequence matching in time-series
/// databases", SIGMOD). Only rows whose bound is below the k-th distance are measured in
/// full. How many that are depends on the data (campaign, 62 standardized features: 3% at
/// p = 16, 0.5% at p = 24; isotropic noise: nearly all), so it is measured on a sample of
/// queries and the projection is used only where the cost model says it pays.
/// rival: the cost per query-reference pair of the method the projection must beat (units
/// below); the plain product costs d + 8.
inline Projection plan_projection(const RowMatrix<double>& ref, Index keff, int n_threads, double rival) {
  const Index n = ref.rows(), d = ref.cols();
  Projection none;
  // Small searches are quick anyway; very wide data would need a truncated SVD.
  if (n < 2048 || d < 2 || d > 512) return none;
  if (!float_safe(ref)) return none;
  // Candidates: a few axes up to half the columns, and all of them (up to 128), where the
  // bound is the distance itself in float: exact re-measurement then only of the near ties,
  // and the float kernel at about half the cost of the double product even without pruning.
  const Index pmax = std::min<Index>(48, d / 2), pall = d <= 128 ? d : pmax;
  Projection pr = principal_axes(ref, pall);
  if (pr.p == 0) return none;
  const Eigen::MatrixXd V = pr.basis;
  pr.p = 0;
  // The share of rows a bound cannot exclude is measured on at most 16,384 evenly spaced rows.
  const Index nsub = std::min<Index>(n, 16384);
  RowMatrix<double> Xc(nsub, d);
  for (Index j = 0; j < nsub; ++j) Xc.row(j) = ref.row(j * n / nsub) - pr.mean.transpose();
  // The k-th distance of 16 evenly spaced reference rows taken as queries, by the plain search
  // (16 x n pairs: at a 0.5% share, some 2,000 hits on campaign).
  const Index s = 16;
  RowMatrix<double> S(s, d);
  for (Index i = 0; i < s; ++i) S.row(i) = ref.row(i * n / s);
  Neighbors sample{RowMatrix<double>(s, keff), RowMatrix<std::int64_t>(s, keff)};
  knn_blocked<double>(ref, S, keff, false, n_threads, sample);
  RowMatrix<double> PX(nsub, V.cols());
  blas::gemm(1.0, blas::view(Xc), false, blas::view(V), false, 0.0, blas::mut_view(PX));
  const RowMatrix<double> PS = (S.rowwise() - pr.mean.transpose()) * V;
  const Vector<double> sn = (S.rowwise() - pr.mean.transpose()).rowwise().squaredNorm();
  // Candidate axis counts, and each row's residual norm at each of them.
  std::vector<Index> steps;
  for (const Index p : {2, 4, 6, 8, 12, 16, 20, 24, 28, 32, 40, 48})
    if (p <= pmax) steps.push_back(p);
  if (pall > pmax) steps.push_back(pall);
  const auto ns = static_cast<Index>(steps.size());
  auto residuals = [&](const RowMatrix<double>& P, const Vector<double>& norms) {
    RowMatrix<double> out(P.rows(), ns);
    for (Index j = 0; j < P.rows(); ++j) {
      double acc = 0;
      for (Index t = 0, f = 0; t < ns; ++t) {
        for (; f < steps[static_cast<std::size_t>(t)]; ++f) acc += P(j, f) * P(j, f);
        out(j, t) = std::sqrt(std::max(0.0, norms[j] - acc));
      }
    }
    return out;
  };
  const RowMatrix<double> rx = residuals(PX, Xc.rowwise().squaredNorm()), rs = residuals(PS, sn);
  // Share of rows whose bound at each axis count is below the sample query's k-th distance:
  // one running sum over the axes per pair, checked at each count.
  RowMatrix<double> per_query = RowMatrix<double>::Zero(s, ns);  // summed in order below
  parallel_for(s, n_threads, [&](Index i, int) {
    const double kth = sample.distance(i, keff - 1) * sample.distance(i, keff - 1) * (1.0 + 1e-9);
    for (Index j = 0; j < nsub; ++j) {
      double acc = 0;
      for (Index t = 0, f = 0; t < ns; ++t) {
        for (; f < steps[static_cast<std::size_t>(t)]; ++f) {
          const double e = PS(i, f) - PX(j, f);
          acc += e * e;
        }
        const double r = rs(i, t) - rx(j, t);
        if (acc > kth) break;  // larger counts only raise the bound
        per_query(i, t) += (acc + r * r <= kth);
      }
    }
  });
  std::vector<double> hits(static_cast<std::size_t>(ns), 0.0);
  for (Index i = 0; i < s; ++i)
    for (Index t = 0; t < ns; ++t) hits[static_cast<std::size_t>(t)] += per_query(i, t);
  // Cost per query-reference pair, in units of one double multiply-add of the plain
  // product (measured on a 2-core EPYC, AVX2): the bound kernel about 0.55 unit per axis
  // (2.2 without AVX2) plus 3 for the bound's other terms and its store; an exact distance
  // about 4 units per column while the rows fit in cache and 16 beyond (campaign: a gathered
  // 62-column row, about 1,000), for 1.6x the rows below the final k-th distance (the bar
  // falls as the search goes) plus the seeds.
  const double per_axis = fast_bounds() ? 0.55 : 2.2;
  const double exact = static_cast<double>(d) * (n * d * Index{sizeof(double)} > (Index{8} << 20) ? 16.0 : 4.0);
  double best = 0.8 * rival;  // a margin for the estimate's noise
  for (Index t = 0; t < ns; ++t) {
    const double frac = hits[static_cast<std::size_t>(t)] / static_cast<double>(s * nsub);
    const double p = static_cast<double>(steps[static_cast<std::size_t>(t)]);
    const double cost = per_axis * p + 3.0 + exact * (1.6 * frac + static_cast<double>(keff) / static_cast<double>(n));
    if (cost < best) best = cost, pr.p = steps[static_cast<std::size_t>(t)];
  }
  if (pr.p == 0) return none;
  pr.basis = V.leftCols(pr.p);
  return pr;
}

#endif  // CUSTMINE_HEADER_ONLY

/// Rows ordered so that near rows tend to be near in the order: recursive median splits on
/// the widest of the first c columns of P (a k-d tree's leaf order).
inline std::vector<Index> locality_order(const RowMatrix<double>& P, Index c) {
  std::vector<Index> idx(static_cast<std::size_t>(P.rows()));
  std::iota(idx.begin(), idx.end(), Index{0});
  c = std::min(c, P.cols());
  auto split = [&](auto&& self, Index b, Index e) -> void {
    if (e - b <= 8 || c == 0) return;
    const auto [best, spread] = widest_column(P, idx, b, e, c);
    if (!(spread > 0)) return;
    const Index mid = median_split(P, idx, b, e, best);
    self(self, b, mid);
    self(self, mid, e);
  };
  split(split, 0, P.rows());
  return idx;
}

/// Position of the first of 64 floats equal to v (a chunk's minimum, so normally among them;
/// 0 otherwise: any row of the chunk is a valid seed).
inline Index first_equal(const float* x, float v) {
#if defined(__SSE2__)
  const __m128 t = _mm_set1_ps(v);
  for (Index j = 0; j < 64; j += 4)
    if (const int mask = _mm_movemask_ps(_mm_cmpeq_ps(_mm_loadu_ps(x + j), t)); mask != 0)
      return j + std::countr_zero(static_cast<unsigned>(mask));
#else
  for (Index j = 0; j < 64; ++j)
    if (x[j] == v) return j;
#endif
  return 0;
}

/// Bit r set when x[r] is not above v (or is not a number), for 64 floats: a chunk's candidates
/// in one pass of comparisons, without a branch per row.
inline std::uint64_t not_above_mask(const float* x, float v) {
  std::uint64_t mask = 0;
#if defined(__SSE2__)
  const __m128 t = _mm_set1_ps(v);
  for (Index j = 0; j < 64; j += 4)
    mask |= static_cast<std::uint64_t>(_mm_movemask_ps(_mm_cmpngt_ps(_mm_loadu_ps(x + j), t))) << j;
#else
  for (Index j = 0; j < 64; ++j)
    if (!(x[j] > v)) mask |= std::uint64_t{1} << j;
#endif
  return mask;
}

/// The projected search's reference side (built once, see knn_projected).
struct ProjectedIndex {
  Projection pr;
  std::vector<Index> order;  // reference rows in locality order
  RowMatrix<double> rows;    // the reference rows in that order
  BoundPanels panels;        // their coordinates, norms and residuals for the bound kernel
  double max_pn = 0, max_res = 0, max_xn = 0;
};

#ifndef CUSTMINE_HEADER_ONLY  // the bound kernel lives in src/anomaly/knn_bounds.cpp
inline ProjectedIndex build_projected(const RowMatrix<double>& ref, Projection pr) {
  const Index n = ref.rows(), d = ref.cols(), p = pr.p;
  using RowF = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  ProjectedIndex ix;
  // Coordinates on the axes and residual vectors Xc - PX basis^T, both from BLAS products.
  RowMatrix<double> Xc = ref.rowwise() - pr.mean.transpose();
  ix.max_xn = Xc.rowwise().squaredNorm().maxCoeff();
  RowMatrix<double> PX(n, p);
  blas::gemm(1.0, blas::view(Xc), false, blas::view(pr.basis), false, 0.0, blas::mut_view(PX));
  blas::gemm(-1.0, blas::view(PX), false, blas::view(pr.basis), true, 1.0, blas::mut_view(Xc));
  ix.order = locality_order(PX, 8);
  ix.rows.resize(n, d);
  RowF PXf(n, p);
  Vector<double> pn(n), res(n);
  for (Index i = 0; i < n; ++i) {
    const Index o = ix.order[static_cast<std::size_t>(i)];
    ix.rows.row(i) = ref.row(o);
    PXf.row(i) = PX.row(o).template cast<float>();
    pn[i] = PXf.row(i).template cast<double>().squaredNorm();
    res[i] = Xc.row(o).norm();
  }
  ix.panels = pack_bound_panels(PXf.data(), pn.data(), res.data(), n, p);
  ix.max_pn = pn.maxCoeff();
  ix.max_res = res.maxCoeff();
  ix.pr = std::move(pr);
  return ix;
}

/// The projected search. References and queries are taken in locality order (near queries
/// then share most candidates, whose rows stay in cache). Per query block: bounds
/// |Pq - Pr|^2 + (|Rq| - |Rr|)^2 from a float product over the p axes (its rounding covered
/// by a tolerance); the keff rows of smallest bound measured exactly give an upper bound on
/// the k-th distance; then every row whose bound is below the running k-th exact distance is
/// measured. Bounds are swept in chunks of 64 with each chunk's minimum, so the two sweeps
/// that follow the bound computation skip most chunks with one comparison. Exact distances
/// are the same function of the same rows as in knn_blocked and ties break on the original
/// index, so both paths return identical neighbours. For the training rows themselves the
/// chunk minima come from half the pairs (the bound is symmetric) and a block's bounds only for
/// the chunks it looks into: campaign's fit, 0.50-0.55 s -> 0.46-0.49 s at two threads.
template <class T>
void knn_projected(const ProjectedIndex& ix, MatrixView<T> Q, Index keff, bool exclude_self, int n_threads,
                   Neighbors& out) {
  const Projection& pr = ix.pr;
  const RowMatrix<double>& R = ix.rows;
  const std::vector<Index>& ro = ix.order;
  const BoundPanels& panels = ix.panels;
  const double max_pn = ix.max_pn, max_res = ix.max_res, max_xn = ix.max_xn;
  const Index n = R.rows(), m = Q.rows(), d = R.cols(), p = pr.p;
  using RowF = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  // Query side: the training rows themselves in the same order, new rows in their own.
  std::vector<Index> qo;
  if (exclude_self) {
    qo = ro;
  } else {
    const RowMatrix<double> PQall = (Q.template cast<double>().rowwise() - pr.mean.transpose()) * pr.basis;
    qo = locality_order(PQall, 8);
  }
  // Rounding in float (u = 2^-24): the p products and sums of the dot product and the rounding
  // of both coordinate vectors, (p + 4) u (|Pq|^2 + |Pr|^2); the sums of the bound, a few u
  // of (|Pq|^2 + |Pr|^2 + (|Rq| + |Rr|)^2). Four times that, plus 1e-10 relative for the double
  // parts; the bar a bound is compared with is (k-th exact distance + tol)(1 + 4u).
  constexpr double u = 1.0 / 16777216.0;
  // Query blocks of up to 64 rows (a multiple of the kernel's 4), fewer when the block's
  // bounds (block x n floats) would pass 8 MB.
  constexpr Index kChunk = BoundPanels::kChunk;
  const Index kBlock = std::clamp<Index>((Index{1} << 21) / panels.n_pad, 1, 16) * 4;
  const Index n_blocks = (m + kBlock - 1) / kBlock, n_chunks = panels.n_chunks();
  const Index nseed = std::min(n_chunks, keff);
  // The training rows against themselves: the bound is symmetric, so the chunk minima of all
  // pairs come from half of them, and a block's bounds are then computed only for the chunks
  // its queries look into (campaign: 14% of them, by groups of four queries). Needs blocks
  // that are chunks and the n_pad x n_chunks minima (16 bits each) within 128 MB (n up to
  // 65,536; campaign's 24,712 rows: 19 MB).
  const bool symmetric = exclude_self && kBlock == kChunk && panels.n_pad * n_chunks <= (Index{1} << 26);
  Eigen::Matrix<std::uint16_t, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> all_min;
  if (symmetric) {
    all_min.resize(panels.n_pad, n_chunks);
    // Chunk I pairs with the chunks from I on: the first take longest, and are handed out first.
    parallel_for(n_chunks, n_threads, [&](Index I, int) {
      if ((I & 15) == 0) Interrupt::check("LocalOutlierFactor: nearest neighbours");
      symmetric_minima(panels, I, all_min.data());
    });
  }
  parallel_for(n_blocks, n_threads, [&](Index blk, int) {
    if ((blk & 15) == 0) Interrupt::check("LocalOutlierFactor: nearest neighbours");
    const Index b0 = blk * kBlock, b1 = std::min(m, b0 + kBlock), bs = b1 - b0, bs4 = (bs + 3) / 4 * 4;
    RowMatrix<double> Qb(bs, d);
    for (Index r = 0; r < bs; ++r) Qb.row(r) = Q.row(qo[static_cast<std::size_t>(b0 + r)]).template cast<double>();
    const RowMatrix<double> Qc = Qb.rowwise() - pr.mean.transpose();
    const RowMatrix<double> PQ = Qc * pr.basis;
    const Vector<double> qres = (Qc - PQ * pr.basis.transpose()).rowwise().norm();
    RowF PQf = RowF::Zero(bs4, p);
    Eigen::VectorXf qpn = Eigen::VectorXf::Zero(bs4), qresf = Eigen::VectorXf::Zero(bs4);
    for (Index r = 0; r < bs; ++r) {
      if (exclude_self) {  // the index's own floats, as in the symmetric minima
        panels.row(b0 + r, PQf.row(r).data());
        qpn[r] = panels.pn[static_cast<std::size_t>(b0 + r)];
        qresf[r] = panels.res[static_cast<std::size_t>(b0 + r)];
      } else {
        PQf.row(r) = PQ.row(r).template cast<float>();
        qpn[r] = static_cast<float>(PQf.row(r).template cast<double>().squaredNorm());
        qresf[r] = static_cast<float>(qres[r]);
      }
    }
    // Bounds: all of them for the block, or, when symmetric, those of one group of four
    // queries at a time, chunk by chunk as asked (tiles of 4 x 64 in a small buffer that
    // stays in cache; slot[c]: chunk c's tile, -1 if not yet computed for this group).
    RowF LB, cmin;
    std::vector<Index> slot, filled;
    if (symmetric) {
      LB.resize(n_chunks * 4, kChunk);
      slot.assign(static_cast<std::size_t>(n_chunks), -1);
    } else {
      LB.resize(bs4, panels.n_pad);
      cmin.resize(bs4, n_chunks);
      projected_bounds(panels, PQf.data(), qpn.data(), qresf.data(), bs4, LB.data(), cmin.data());
    }
    std::vector<float> top_min, row_min(static_cast<std::size_t>(symmetric ? n_chunks : 0));
    std::vector<Index> seed_at(static_cast<std::size_t>(n_chunks), -1), seeded, cand;
    std::vector<std::pair<double, Index>> best;
    for (Index r = 0; r < bs; ++r) {
      const float* cm = symmetric ? row_min.data() : cmin.row(r).data();
      if (symmetric) {
        const std::uint16_t* h = all_min.row(b0 + r).data();
        for (Index c = 0; c < n_chunks; ++c) row_min[static_cast<std::size_t>(c)] = bf16_value(h[c]);
        if (r % 4 == 0) {  // a new group of four
          for (const Index c : filled) slot[static_cast<std::size_t>(c)] = -1;
          filled.clear();
        }
      }
      // Row r's 64 bounds in chunk c.
      auto bounds_in = [&](Index c) -> const float* {
        if (!symmetric) return LB.row(r).data() + c * kChunk;
        Index& s = slot[static_cast<std::size_t>(c)];
        if (s < 0) {
          s = static_cast<Index>(filled.size());
          filled.push_back(c);
          const Index g = r / 4 * 4;
          projected_bounds_chunks(panels, PQf.row(g).data(), qpn.data() + g, qresf.data() + g, 4, c, c + 1,
                                  LB.row(s * 4).data(), kChunk, nullptr);
        }
        return LB.row(s * 4 + r % 4).data();
      };
      const double qr = qres[r], qp = qpn[r];
      const double tol = 4.0 * ((static_cast<double>(p) + 4.0) * u * (qp + max_pn) +
                                8.0 * u * (qp + max_pn + (qr + max_res) * (qr + max_res))) +
                         1e-10 * (Qc.row(r).squaredNorm() + max_xn) + std::numeric_limits<double>::min();
      const double* q = Qb.row(r).data();
      auto prefetch_row = [&](Index j) {
        const char* a = reinterpret_cast<const char*>(R.row(j).data());
        for (Index off = 0; off < d * Index{sizeof(double)}; off += 64) __builtin_prefetch(a + off);
      };
      auto measure = [&](Index j) {
        heap_offer(best, keff, {squared_distance(q, R.row(j).data(), d), ro[static_cast<std::size_t>(j)]});
      };
      // Seeds: the row of smallest bound in each of the nseed chunks of smallest minimum (the
      // cut found with a bounded max-heap: after the first few chunks almost every minimum
      // fails its one comparison).
      top_min.assign(cm, cm + nseed);
      std::make_heap(top_min.begin(), top_min.end());
      for (Index c = nseed; c < n_chunks; ++c) {
        if (!(cm[c] < top_min.front())) continue;
        std::pop_heap(top_min.begin(), top_min.end());
        top_min.back() = cm[c];
        std::push_heap(top_min.begin(), top_min.end());
      }
      const float cut = top_min.front();
      best.clear();
      seeded.clear();
      for (Index c = 0; c < n_chunks && static_cast<Index>(seeded.size()) < nseed; ++c) {
        if (cm[c] > cut) continue;
        // The row of smallest bound (the stored minimum, rounded when symmetric, is not one of them).
        const float* lb = bounds_in(c);
        const Index j = c * kChunk + first_equal(lb, symmetric ? *std::min_element(lb, lb + kChunk) : cm[c]);
        seed_at[static_cast<std::size_t>(c)] = j;
        seeded.push_back(c);
        prefetch_row(j);
      }
      for (const Index c : seeded) measure(seed_at[static_cast<std::size_t>(c)]);
      // Every other row whose bound does not exceed the current k-th exact distance: the
      // seeds' chunks first (they hold the smallest bounds, so the bar falls fastest).
      auto bar = [&] {
        return static_cast<Index>(best.size()) < keff ? std::numeric_limits<float>::infinity()
                                                       : static_cast<float>((best.front().first + tol) * (1.0 + 4.0 * u));
      };
      float limit = bar();
      auto sweep = [&](Index c) {
        // Candidates at the bar as it stands, their rows fetched together, then each measured
        // unless the bar has fallen below its bound meanwhile.
        const Index skip = seed_at[static_cast<std::size_t>(c)];
        const float* lb = bounds_in(c);
        const Index j0 = c * kChunk;
        cand.clear();
        std::uint64_t mask = not_above_mask(lb, limit);
        if (n - j0 < kChunk) mask &= (std::uint64_t{1} << (n - j0)) - 1;  // the last chunk's rows only
        for (; mask != 0; mask &= mask - 1) {
          const Index j = j0 + std::countr_zero(mask);
          if (j != skip) cand.push_back(j), prefetch_row(j);
        }
        for (const Index j : cand) {
          if (lb[j - j0] > limit) continue;
          measure(j);
          limit = bar();
        }
      };
      for (const Index c : seeded) sweep(c);
      for (Index c = 0; c < n_chunks; ++c)
        if (!(cm[c] > limit) && seed_at[static_cast<std::size_t>(c)] < 0) sweep(c);
      for (const Index c : seeded) seed_at[static_cast<std::size_t>(c)] = -1;
      std::sort_heap(best.begin(), best.end());
      emit_neighbors(out, qo[static_cast<std::size_t>(b0 + r)], best, keff, exclude_self);
    }
  });
}
#endif  // CUSTMINE_HEADER_ONLY

struct NeighborIndexState {
  Index n = 0, d = 0;
  NeighborIndex::Method method = NeighborIndex::Method::brute_force;
  std::optional<KdTree> tree;
  std::optional<ProjectedIndex> projected;
};

}  // namespace detail

CUSTMINE_NEIGHBORS_INLINE NeighborIndex::NeighborIndex(const RowMatrix<double>& ref, Index k, int n_threads, Method method) {
  require(ref.rows() >= 1 && ref.cols() >= 1, "NeighborIndex", "reference rows must be non-empty, got ", ref.rows(),
          " x ", ref.cols());
  require(ref.allFinite(), "NeighborIndex", "reference rows must be finite (no NaN or infinity)");
  auto st = std::make_shared<detail::NeighborIndexState>();
  st->n = ref.rows();
  st->d = ref.cols();
  const Index n = st->n, d = st->d, keff = std::min(k, n);
  // The rival the projection must beat, per query-reference pair (units of plan_projection):
  // the plain product, or the k-d tree's rows visited by 32 sample queries at about
  // 9 (d + 20) units per row (measured: 15 ns per row on shuttle, 9 columns); none when the
  // tree stays without asking.
  std::optional<double> rival = static_cast<double>(d) + 8.0;
  if (method == Method::kd_tree || (method == Method::automatic && d <= 15)) {
    st->method = Method::kd_tree;
    st->tree.emplace(ref);
    // Only large data sets (the projection's fixed cost per query then spreads over many
    // rows) and with a wide margin: the tree is the safer choice when the estimates are close
    // (mammography, 6.7k x 6: projection 2x slower than the tree; shuttle, 29k x 9: 1.6x faster).
    if (method == Method::automatic && n >= 16384) {
      std::vector<std::pair<double, Index>> heap;
      double rows = 0;
      for (Index i = 0; i < 32; ++i) rows += static_cast<double>(st->tree->query(ref.row(i * n / 32).data(), keff, heap));
      rival = 0.6 * rows / 32.0 * 9.0 * (static_cast<double>(d) + 20.0) / static_cast<double>(n);
    } else {
      rival.reset();
    }
  }
#ifndef CUSTMINE_HEADER_ONLY
  detail::Projection pr;
  if (method == Method::automatic && rival) pr = detail::plan_projection(ref, keff, n_threads, *rival);
  else if (method == Method::projected && d >= 2 && detail::float_safe(ref))
    pr = detail::principal_axes(ref, std::min<Index>(24, d / 2));  // as asked
  if (pr.p > 0) {
    st->method = Method::projected;
    st->tree.reset();
    st->projected.emplace(detail::build_projected(ref, std::move(pr)));
  }
#endif
  state_ = std::move(st);
}

CUSTMINE_NEIGHBORS_INLINE NeighborIndex::Method NeighborIndex::method() const {
  return state_ ? state_->method : Method::brute_force;
}

CUSTMINE_NEIGHBORS_INLINE Index NeighborIndex::axes() const {
  return state_ && state_->projected ? state_->projected->pr.p : 0;
}

template <class T>
Neighbors NeighborIndex::search(const RowMatrix<double>& ref, MatrixView<T> Q, Index k, bool exclude_self,
                                int n_threads) const {
  const Index n = ref.rows(), m = Q.rows(), d = ref.cols();
  if (!state_ || state_->n != n || state_->d != d)
    fail<InvalidArgument>("NeighborIndex::search", "the index was not built on these ", n, " x ", d, " reference rows");
  if (Q.cols() != d) fail<ShapeError>("NeighborIndex::search", "queries have ", Q.cols(), " columns, the references ", d);
  const Index keff = k + (exclude_self ? 1 : 0);
  require(k >= 1 && keff <= n, "knn_search", "k (", k, ") must be at least 1 and less than the number of reference rows (", n, ")");
  if (exclude_self && m != n) fail<ShapeError>("NeighborIndex::search", "exclude_self needs the reference rows as queries");
  Neighbors out{RowMatrix<double>(m, k), RowMatrix<std::int64_t>(m, k)};
  if (m == 0) return out;
  if (const auto& tree = state_->tree) {
    parallel_chunks(m, n_threads, [&](Index b, Index e, int) {
      std::vector<std::pair<double, Index>> heap;
      std::vector<double> q(static_cast<std::size_t>(d));
      for (Index p = b; p < e; ++p) {
        if ((p & 4095) == 0) Interrupt::check("LocalOutlierFactor: nearest neighbours");
        // The training rows themselves are taken in tree order (neighbouring queries reuse
        // the same nodes in cache); the results land in each row's own place either way.
        const Index i = exclude_self ? tree->order()[static_cast<std::size_t>(p)] : p;
        for (Index f = 0; f < d; ++f) q[f] = static_cast<double>(Q(i, f));
        tree->query(q.data(), keff, heap);
        detail::emit_neighbors(out, i, heap, keff, exclude_self);
      }
    });
    return out;
  }
#ifndef CUSTMINE_HEADER_ONLY
  if (const auto& pj = state_->projected) {
    if (exclude_self || detail::max_centered_norm2(Q, pj->pr.mean) <= detail::kFloatSafeNorm2) {
      detail::knn_projected(*pj, Q, keff, exclude_self, n_threads, out);
      return out;
    }
  }
#endif
  detail::knn_blocked(ref, Q, keff, exclude_self, n_threads, out);
  return out;
}

template <class T>
Neighbors knn_search(const RowMatrix<double>& ref, MatrixView<T> Q, Index k, bool exclude_self, int n_threads) {
  require(k >= 1 && k + (exclude_self ? 1 : 0) <= ref.rows(), "knn_search", "k (", k,
          ") must be at least 1 and less than the number of reference rows (", ref.rows(), ")");
  return NeighborIndex(ref, k + (exclude_self ? 1 : 0), n_threads).search(ref, Q, k, exclude_self, n_threads);
}

}  // namespace custmine::anomaly
