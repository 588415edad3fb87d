// K-means (see include/custmine/cluster/kmeans.hpp).
#include "custmine/cluster/kmeans.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <memory>
#include <numeric>
#include <tuple>

#include "custmine/cluster/center_distances.hpp"
#include "custmine/core/random.hpp"
#include "custmine/core/blas.hpp"
#include "custmine/core/linear_predict.hpp"
#include "custmine/core/threading.hpp"

namespace custmine::cluster {

namespace {

constexpr std::string_view kEstimator = "KMeans";
constexpr Index kChunk = 256;
// Rows per distance GEMM in the Lloyd sweep: BLAS calls carry a fixed cost (packing, buffer
// pool), so the skinny n x k product is issued on larger blocks than the other chunked loops.
constexpr Index kGemmRows = 2048;
using VectorXd = Eigen::VectorXd;

/// Fixed number of row blocks for reductions (depends on n only).
Index n_blocks(Index n) { return std::clamp<Index>(n / 4096, 1, 64); }

/// Squared distance with four partial sums (a single running sum is a chain of dependent
/// additions).
inline double sq_dist(const double* x, const double* c, Index p) {
  double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  Index f = 0;
  for (; f + 4 <= p; f += 4) {
    const double d0 = x[f] - c[f], d1 = x[f + 1] - c[f + 1], d2 = x[f + 2] - c[f + 2], d3 = x[f + 3] - c[f + 3];
    s0 += d0 * d0, s1 += d1 * d1, s2 += d2 * d2, s3 += d3 * d3;
  }
  for (; f < p; ++f) {
    const double d = x[f] - c[f];
    s0 += d * d;
  }
  return (s0 + s1) + (s2 + s3);
}

/// |x - ref|^2 per row.
VectorXd row_sq_norms(MatrixView<double> X, const Eigen::RowVectorXd& ref, int threads) {
  VectorXd s(X.rows());
  parallel_chunks(X.rows(), threads, [&](Index b, Index e, int) {
    for (Index i = b; i < e; ++i) s(i) = (X.row(i) - ref).squaredNorm();
  });
  return s;
}

/// A float copy of X - m and each row's margin for its rounding (see hamerly); x is null
/// when an element is beyond float's range.
struct FreeDeleter {
  void operator()(float* q) const { std::free(q); }
};
struct FloatRows {
  std::unique_ptr<float[], FreeDeleter> x, err;
};

/// n floats, or null when the memory is not there: the copy only saves time, so the fit goes
/// on without it. (Transparent huge pages for it, as numpy asks for its large arrays, gained
/// 2-5 % on repeated fits but cost up to 90 ms on a process's first fit, when the kernel
/// compacts memory to find them: not asked for.)
std::unique_ptr<float[], FreeDeleter> aligned_floats(std::size_t n) {
  const std::size_t bytes = (std::max<std::size_t>(n, 1) * sizeof(float) + 63) / 64 * 64;
  return std::unique_ptr<float[], FreeDeleter>(static_cast<float*>(std::aligned_alloc(64, bytes)));
}

/// Squared distances are expanded about a reference point m near the data (the training
/// mean, on a binary grid: see mean_variance):
/// |x - c|^2 = |x - m|^2 + a_c - 2 x.(c - m) with a_c = |c - m|^2 + 2 m.(c - m).
/// The plain expansion |x|^2 + |c|^2 - 2 x.c loses every digit of the distance to
/// cancellation when the data sit far from the origin (amounts in cents, dates as
/// numbers); scikit-learn centres a copy of X instead.
struct Data {
  MatrixView<double> X;
  std::span<const double> w;  // empty = unit weights
  Eigen::RowVectorXd ref;     // reference point m
  mutable VectorXd xsq_;      // |x - m|^2 per row, once asked for (see norms)
  int threads = 1;
  // One team of threads for the whole fit: an iteration on a small X takes a fraction of a
  // millisecond, less than starting a thread per step.
  std::shared_ptr<ThreadTeam> team;
  mutable std::shared_ptr<const FloatRows> float_rows;  // made by the first Hamerly run
  [[nodiscard]] double weight(Index i) const { return w.empty() ? 1.0 : w[i]; }
  [[nodiscard]] Index n() const { return X.rows(); }
  /// |x - m|^2 per row, computed on first use (Hamerly's iterations from given centers never
  /// ask: a pass over X saved). Not thread-safe: ask before a parallel region.
  const VectorXd& norms() const {
    if (xsq_.size() != X.rows()) xsq_ = row_sq_norms(X, ref, threads);
    return xsq_;
  }
  /// body(i, thread) for i in [0, n) on the fit's team (ThreadTeam::parallel_for).
  template <class Body>
  void parallel_for(Index n, Body&& body) const {
    team->parallel_for(n, threads, std::forward<Body>(body));
  }
};

Data make_data(MatrixView<double> X, std::span<const double> w, Eigen::RowVectorXd ref, int threads) {
  Data D{X, w, std::move(ref), {}, resolve_threads(threads), nullptr, nullptr};
  D.team = std::make_shared<ThreadTeam>(D.threads);
  return D;
}

/// Centers about the reference point: Cc = C - m and a (see Data).
struct Expanded {
  RowMatrix<double> Cc;
  VectorXd a;
};
Expanded expand_about(const RowMatrix<double>& C, const Eigen::RowVectorXd& ref) {
  Expanded e;
  e.Cc = C.rowwise() - ref;
  e.a = e.Cc.rowwise().squaredNorm() + 2.0 * (e.Cc * ref.transpose());
  return e;
}

/// Nearest center (lowest index on ties) and squared distance of rows [b, e), at most
/// kGemmRows of them: one product with the expanded centers E into the caller's buffer G.
void label_rows(const Data& D, const VectorXd& xsq, const Expanded& E, Index b, Index e, RowMatrix<double>& G,
                std::vector<std::int32_t>& labels, VectorXd& d2) {
  const Index k = E.Cc.rows();
  G.resize(e - b, k);
  blas::gemm(1.0, blas::view(D.X.middleRows(b, e - b)), false, blas::view(E.Cc), true, 0.0, blas::mut_view(G));
  for (Index i = 0; i < e - b; ++i) {
    Index best = 0;
    double bv = E.a(0) - 2 * G(i, 0);
    for (Index j = 1; j < k; ++j) {
      const double v = E.a(j) - 2 * G(i, j);
      if (v < bv) bv = v, best = j;
    }
    labels[b + i] = static_cast<std::int32_t>(best);
    d2(b + i) = std::max(0.0, xsq(b + i) + bv);
  }
}

/// Nearest center and squared distance of every row; the distances from the differences
/// (the expanded form loses digits of the inertia when X sits far from the origin).
void assign(const Data& D, const RowMatrix<double>& C, std::vector<std::int32_t>& labels, VectorXd& d2) {
  const Index n = D.n();
  const VectorXd& xsq = D.norms();
  const Expanded E = expand_about(C, D.ref);
  labels.resize(n);
  d2.resize(n);
  const Index chunks = (n + kGemmRows - 1) / kGemmRows;
  std::vector<RowMatrix<double>> scratch(static_cast<std::size_t>(std::max(1, D.threads)));
  D.parallel_for(chunks, [&](Index c, int t) {
    const Index b = c * kGemmRows;
    const Index e = std::min(n, b + kGemmRows);
    label_rows(D, xsq, E, b, e, scratch[static_cast<std::size_t>(t)], labels, d2);
    for (Index i = b; i < e; ++i) d2(i) = sq_dist(D.X.row(i).data(), C.row(labels[i]).data(), C.cols());
  });
}

/// The mean over features of the per-feature variance (scikit-learn's tolerance scale),
/// in two passes over fixed row blocks (a column-wise Eigen reduction of row-major X strides
/// through memory once per feature: 0.23 s on 1M x 20). `ref` receives the reference point
/// of the distance expansion (see Data): each column's mean rounded to a binary grid of
/// about a thousandth of its standard deviation, near enough to the mean to spare the
/// digits, and coarse enough that x - ref stays exact for integer-valued columns (counts,
/// codes, one-hot), whose exact distance ties then still go to the lowest-numbered center.
double mean_variance(MatrixView<double> X, int threads, Eigen::RowVectorXd& ref) {
  const Index n = X.rows(), p = X.cols(), B = n_blocks(n);
  RowMatrix<double> part = RowMatrix<double>::Zero(B, p);
  parallel_for(B, threads, [&](Index b, int) {
    Eigen::RowVectorXd s = Eigen::RowVectorXd::Zero(p);
    for (Index i = n * b / B, e = n * (b + 1) / B; i < e; ++i) s += X.row(i);
    part.row(b) = s;
  });
  const Eigen::RowVectorXd mean = part.colwise().sum() / static_cast<double>(n);
  parallel_for(B, threads, [&](Index b, int) {
    Eigen::RowVectorXd s = Eigen::RowVectorXd::Zero(p);
    for (Index i = n * b / B, e = n * (b + 1) / B; i < e; ++i) s += (X.row(i) - mean).cwiseAbs2();
    part.row(b) = s;
  });
  const Eigen::RowVectorXd var = part.colwise().sum() / static_cast<double>(n);
  ref = mean;
  for (Index f = 0; f < p; ++f) {
    if (!(var(f) > 0) || !std::isfinite(var(f)) || !std::isfinite(mean(f))) continue;
    int e = 0;
    std::frexp(std::sqrt(var(f)), &e);  // standard deviation in [2^(e-1), 2^e)
    const int g = e - 11;
    ref(f) = std::ldexp(std::nearbyint(std::ldexp(mean(f), -g)), g);
  }
  return var.sum() / static_cast<double>(p);
}

/// Weighted sum of per-row values, reduced in fixed blocks.
double block_sum(const Data& D, const VectorXd& v) {
  const Index n = D.n(), B = n_blocks(n);
  std::vector<double> part(B, 0.0);
  D.parallel_for(B, [&](Index b, int) {
    double s = 0;
    for (Index i = n * b / B; i < n * (b + 1) / B; ++i) s += D.weight(i) * v(i);
    part[b] = s;
  });
  double s = 0;
  for (double x : part) s += x;
  return s;
}

/// New centers from labels; empty clusters take the rows farthest from their centers
/// (d2 holds each row's squared distance to its center).
RowMatrix<double> update_centers(const Data& D, const RowMatrix<double>& old, const std::vector<std::int32_t>& labels,
                                 const VectorXd& d2) {
  const Index n = D.n(), k = old.rows(), p = old.cols(), B = n_blocks(n);
  std::vector<RowMatrix<double>> sums(B, RowMatrix<double>::Zero(k, p));
  std::vector<VectorXd> wsum(B, VectorXd::Zero(k));
  D.parallel_for(B, [&](Index b, int) {
    const Index lo = n * b / B, hi = n * (b + 1) / B;
    for (Index i = lo; i < hi; ++i) {
      const double w = D.weight(i);
      sums[b].row(labels[i]) += w * (D.X.row(i) - D.ref);
      wsum[b](labels[i]) += w;
    }
  });
  for (Index b = 1; b < B; ++b) sums[0] += sums[b], wsum[0] += wsum[b];
  RowMatrix<double>& S = sums[0];
  VectorXd& W = wsum[0];
  std::vector<Index> empty;
  for (Index c = 0; c < k; ++c)
    if (!(W(c) > 0)) empty.push_back(c);
  if (!empty.empty()) {
    std::vector<Index> order(n);
    std::iota(order.begin(), order.end(), 0);
    const auto m = std::min<Index>(static_cast<Index>(empty.size()), n);
    std::partial_sort(order.begin(), order.begin() + m, order.end(),
                      [&](Index a, Index b) { return d2(a) > d2(b) || (d2(a) == d2(b) && a < b); });
    for (Index t = 0; t < m; ++t) {
      const Index i = order[t], c = empty[t], from = labels[i];
      const double w = D.weight(i) > 0 ? D.weight(i) : 1.0;
      if (D.weight(i) > 0 && W(from) > D.weight(i)) {
        S.row(from) -= D.weight(i) * (D.X.row(i) - D.ref);
        W(from) -= D.weight(i);
      }
      S.row(c) = w * (D.X.row(i) - D.ref);
      W(c) = w;
    }
  }
  RowMatrix<double> C = old;
  for (Index c = 0; c < k; ++c)
    if (W(c) > 0) C.row(c) = D.ref + S.row(c) / W(c);
  return C;
}

struct RunResult {
  RowMatrix<double> centers;
  std::vector<std::int32_t> labels;
  double inertia = 0;
  int iters = 0;
};

/// One Lloyd pass: labels and squared distances for every row and, in the same sweep
/// over fixed row blocks, the weighted per-cluster sums for the next centers.
RowMatrix<double> lloyd_step(const Data& D, const RowMatrix<double>& C, std::vector<std::int32_t>& labels,
                             VectorXd& d2) {
  const VectorXd& xsq = D.norms();
  const Index n = D.n(), k = C.rows(), p = C.cols(), B = n_blocks(n);
  const Expanded E = expand_about(C, D.ref);
  labels.resize(n);
  d2.resize(n);
  // One contiguous, cache-line padded accumulator per block: sums of x - m (k x p; they keep
  // their digits far from the origin) then weights (k).
  const Index stride = ((k * p + k + 7) / 8) * 8 + 8;
  std::vector<double> acc(static_cast<std::size_t>(B * stride), 0.0);
  std::vector<RowMatrix<double>> scratch(static_cast<std::size_t>(std::max(1, D.threads)));
  const double* ref = D.ref.data();
  D.parallel_for(B, [&](Index b, int t) {
    double* sum = acc.data() + b * stride;
    double* wsum = sum + k * p;
    const Index lo = n * b / B, hi = n * (b + 1) / B;
    // one buffer per thread: a 128 KB buffer per block went through mmap and page faults
    // on every block (1M x 20, k = 8, one thread: 55 -> 35 ms per iteration)
    RowMatrix<double>& G = scratch[static_cast<std::size_t>(t)];
    for (Index s = lo; s < hi; s += kGemmRows) {
      const Index e = std::min(hi, s + kGemmRows);
      label_rows(D, xsq, E, s, e, G, labels, d2);
      for (Index i = 0; i < e - s; ++i) {  // the block's rows are still in cache
        const Index best = labels[s + i];
        const double w = D.weight(s + i);
        const double* x = D.X.row(s + i).data();
        double* dst = sum + best * p;
        for (Index f = 0; f < p; ++f) dst[f] += w * (x[f] - ref[f]);
        wsum[best] += w;
      }
    }
  });
  RowMatrix<double> S = Eigen::Map<const RowMatrix<double>>(acc.data(), k, p);
  VectorXd W = Eigen::Map<const VectorXd>(acc.data() + k * p, k);
  for (Index b = 1; b < B; ++b) {
    S += Eigen::Map<const RowMatrix<double>>(acc.data() + b * stride, k, p);
    W += Eigen::Map<const VectorXd>(acc.data() + b * stride + k * p, k);
  }
  std::vector<Index> empty;
  for (Index c = 0; c < k; ++c)
    if (!(W(c) > 0)) empty.push_back(c);
  if (!empty.empty()) return update_centers(D, C, labels, d2);  // rare: relocation path
  RowMatrix<double> next(k, p);
  for (Index c = 0; c < k; ++c) next.row(c) = D.ref + S.row(c) / W(c);
  return next;
}

RunResult lloyd(const Data& D, RowMatrix<double> C, int max_iter, double tol_abs) {
  RunResult r;
  std::vector<std::int32_t> labels, previous;
  VectorXd d2;
  bool strict = false;
  for (r.iters = 0; r.iters < max_iter;) {
    Interrupt::check("KMeans::fit");
    RowMatrix<double> next = lloyd_step(D, C, labels, d2);
    if (r.iters > 0 && labels == previous) {  // counted, as scikit-learn counts it
      strict = true;
      ++r.iters;
      break;
    }
    const double shift = (next - C).squaredNorm();
    C.swap(next);
    previous.swap(labels);
    ++r.iters;
    if (shift <= tol_abs) break;
  }
  if (!strict) {
    assign(D, C, labels, d2);  // labels consistent with the final centers
  } else {                     // the inertia from the differences, as assign's
    const Index n = D.n(), B = n_blocks(n);
    D.parallel_for(B, [&](Index b, int) {
      for (Index i = n * b / B; i < n * (b + 1) / B; ++i) d2(i) = sq_dist(D.X.row(i).data(), C.row(labels[i]).data(), C.cols());
    });
  }
  r.centers = std::move(C);
  r.labels = std::move(labels);
  r.inertia = block_sum(D, d2);
  return r;
}

/// Cluster sums for the bound-based algorithms, kept per fixed row block and updated only for
/// rows that change cluster, so an iteration reads X only where an assignment may change; the
/// fixed blocks keep results independent of the thread count. Per block: sums of x - m (not
/// x: added and taken away again as rows move, they keep their digits when the data sit far
/// from the origin), weights, and counts of rows with positive weight (a weight sum left at
/// a rounding residue by moves must not keep a cluster alive); cache-line padded.
struct BlockSums {
  Index k, p, stride;
  std::vector<double> acc;
  BlockSums(Index blocks, Index k_, Index p_)
      : k(k_), p(p_), stride(((k_ * p_ + 2 * k_ + 7) / 8) * 8 + 8), acc(static_cast<std::size_t>(blocks * stride)) {}
  double* block(Index b) { return acc.data() + b * stride; }
  void clear() { std::fill(acc.begin(), acc.end(), 0.0); }
  /// Moves row i from cluster `from` (-1: not counted yet) to `to` in block sums a.
  void move(double* a, const Data& D, Index i, Index from, Index to) const {
    const double w = D.weight(i);
    const double* x = D.X.row(i).data();
    const double* ref = D.ref.data();
    if (from >= 0) {
      double* s = a + from * p;
      for (Index f = 0; f < p; ++f) s[f] -= w * (x[f] - ref[f]);
      a[k * p + from] -= w;
      if (w > 0) a[k * p + k + from] -= 1;
    }
    double* s = a + to * p;
    for (Index f = 0; f < p; ++f) s[f] += w * (x[f] - ref[f]);
    a[k * p + to] += w;
    if (w > 0) a[k * p + k + to] += 1;
  }
  /// New centers from the sums, added in block order; false (next untouched for that
  /// cluster) when a cluster has no row of positive weight left.
  bool centers(const Data& D, RowMatrix<double>& next) const {
    RowMatrix<double> S = RowMatrix<double>::Zero(k, p);
    VectorXd W = VectorXd::Zero(k), N = VectorXd::Zero(k);
    for (std::size_t off = 0; off < acc.size(); off += static_cast<std::size_t>(stride)) {
      const double* a = acc.data() + off;
      S += Eigen::Map<const RowMatrix<double>>(a, k, p);
      W += Eigen::Map<const VectorXd>(a + k * p, k);
      N += Eigen::Map<const VectorXd>(a + k * p + k, k);
    }
    next.resize(k, p);
    bool all = true;
    for (Index c = 0; c < k; ++c) {
      if (!(N(c) > 0.5 && W(c) > 0)) all = false;
      else next.row(c) = D.ref + S.row(c) / W(c);
    }
    return all;
  }
};

/// What a bound algorithm does after its center step.
enum class AfterStep { stop, rebuilt, sweep };

/// The bound algorithms' center step, counted as an iteration: C becomes the means from the
/// block sums, shift each center's move. stop: the moves are within tol_abs or max_iter is
/// reached. rebuilt: a cluster emptied, Lloyd's relocation (from a full assignment) was used
/// instead and `rebuild` has remade the bounds. sweep: the bounds are to be moved and tested.
template <class Rebuild>
AfterStep center_step(const Data& D, const BlockSums& sums, RowMatrix<double>& C, std::vector<std::int32_t>& labels,
                      VectorXd& shift, int& iters, int max_iter, double tol_abs, Rebuild&& rebuild,
                      bool* relocated_out = nullptr) {
  Interrupt::check("KMeans::fit");
  RowMatrix<double> next;
  const bool relocated = !sums.centers(D, next);
  if (relocated_out != nullptr) *relocated_out = relocated;
  if (relocated) {
    VectorXd d2;
    assign(D, C, labels, d2);
    next = update_centers(D, C, labels, d2);
  }
  for (Index c = 0; c < C.rows(); ++c) shift(c) = (next.row(c) - C.row(c)).norm();
  C.swap(next);
  ++iters;
  if (shift.squaredNorm() <= tol_abs || iters >= max_iter) return AfterStep::stop;
  if (!relocated) return AfterStep::sweep;
  rebuild();
  return AfterStep::rebuilt;
}

/// body(thread, block sums, first row, rows) over runs of at most `run` rows of each fixed
/// block, the blocks in parallel (each block's sums written by one thread).
template <class Body>
void for_block_runs(const Data& D, BlockSums& sums, Index n, Index B, Index run, Body body) {
  D.parallel_for(B, [&](Index b, int t) {
    double* a = sums.block(b);
    const Index lo = n * b / B, hi = n * (b + 1) / B;
    for (Index s0 = lo; s0 < hi; s0 += run) body(t, a, s0, std::min(hi, s0 + run) - s0);
  });
}

/// Squared distance of two float rows, eight partial sums.
inline float sq_dist_float(const float* x, const float* c, Index p) {
  float s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  Index f = 0;
  for (; f + 8 <= p; f += 8)
    for (int j = 0; j < 8; ++j) {
      const float d = x[f + j] - c[f + j];
      s[j] += d * d;
    }
  for (int j = 0; f < p; ++f, ++j) {
    const float d = x[f] - c[f];
    s[j] += d * d;
  }
  return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
}

/// Half the distance from each center to its nearest other center, and all pairwise
/// distances when `pairs` is given.
VectorXd half_gaps(const RowMatrix<double>& C, RowMatrix<double>* pairs = nullptr) {
  const Index k = C.rows();
  VectorXd half(k);
  if (pairs != nullptr) pairs->resize(k, k);
  for (Index a = 0; a < k; ++a) {
    double m = std::numeric_limits<double>::infinity();
    for (Index c = 0; c < k; ++c) {
      const double dc = c == a ? 0.0 : std::sqrt(sq_dist(C.row(a).data(), C.row(c).data(), C.cols()));
      if (pairs != nullptr) (*pairs)(a, c) = dc;
      if (c != a) m = std::min(m, dc);
    }
    half(a) = 0.5 * m;
  }
  return half;
}

/// The largest float not above v (>= 0): a float copy that is still a lower bound.
inline float float_below(double v) {
  if (!(v > 0)) return 0.0f;
  float f = static_cast<float>(v);
  if (static_cast<double>(f) > v) f = std::nextafter(f, 0.0f);
  return f;
}

/// Elkan's algorithm (Elkan 2003, "Using the triangle inequality to accelerate k-means"):
/// per row an upper bound on the distance to its center and k lower bounds, one per center,
/// held as floats rounded down (half the bytes; still lower bounds). The sweep that tests a
/// row first moves its bounds by the centers' shifts (one read of them per iteration); a
/// center is measured only when neither its bound nor half its distance to the row's center
/// rules it out. Cluster sums as in Hamerly's (BlockSums). Same steps as Lloyd.
RunResult elkan(const Data& D, RowMatrix<double> C, int max_iter, double tol_abs) {
  const VectorXd& xsq = D.norms();
  const Index n = D.n(), k = C.rows(), p = C.cols(), B = n_blocks(n);
  RunResult r;
  std::vector<std::int32_t> labels(n);
  std::vector<double> upper(static_cast<std::size_t>(n));
  std::vector<float> lower(static_cast<std::size_t>(n * k));
  BlockSums sums(B, k, p);
  const double rel_err = static_cast<double>(p + 4) * std::numeric_limits<double>::epsilon();
  // Every distance from one product per chunk (start, and after an empty-cluster relocation),
  // on rows less the reference point, so that the rounding margin below holds far from the
  // origin too (as in Hamerly's nearest_rows).
  struct FullScratch {
    RowMatrix<double> Xg, G;
  };
  std::vector<FullScratch> scratch(static_cast<std::size_t>(std::max(1, D.threads)));
  auto full_pass = [&] {
    sums.clear();
    const RowMatrix<double> Cc = C.rowwise() - D.ref;
    const VectorXd csq = Cc.rowwise().squaredNorm();
    for_block_runs(D, sums, n, B, kGemmRows, [&](int t, double* a, Index s0, Index m) {
      FullScratch& S = scratch[static_cast<std::size_t>(t)];
      S.Xg = D.X.middleRows(s0, m).rowwise() - D.ref;
      S.G.resize(m, k);
      blas::gemm(1.0, blas::view(S.Xg), false, blas::view(Cc), true, 0.0, blas::mut_view(S.G));
      for (Index t2 = 0; t2 < m; ++t2) {
        const Index i = s0 + t2;
        const double xs = xsq(i);
        float* L = lower.data() + i * k;
        Index best = 0;
        double bv = csq(0) - 2 * S.G(t2, 0);
        for (Index j = 0; j < k; ++j) {
          const double v = csq(j) - 2 * S.G(t2, j);
          if (v < bv) bv = v, best = j;
          L[j] = float_below(std::sqrt(std::max(0.0, xs + v - rel_err * (xs + csq(j)))));
        }
        upper[i] = std::sqrt(std::max(0.0, xs + bv) + rel_err * (xs + csq(best)));
        labels[i] = static_cast<std::int32_t>(best);
        sums.move(a, D, i, -1, best);
      }
    });
  };
  full_pass();
  VectorXd shift(k);
  RowMatrix<double> cc;
  std::vector<char> changed(static_cast<std::size_t>(B));
  for (r.iters = 0; r.iters < max_iter;) {
    const AfterStep next = center_step(D, sums, C, labels, shift, r.iters, max_iter, tol_abs, full_pass);
    if (next == AfterStep::stop) break;
    if (next == AfterStep::rebuilt) continue;
    const VectorXd half = half_gaps(C, &cc);
    // Shifts as floats rounded up; bounds less them, times (1 - 2^-23), stay below the
    // exact difference whatever the float rounding.
    Eigen::VectorXf fshift(k);
    for (Index c = 0; c < k; ++c) {
      float f = static_cast<float>(shift(c));
      if (static_cast<double>(f) < shift(c)) f = std::nextafter(f, std::numeric_limits<float>::infinity());
      fshift(c) = f;
    }
    constexpr float kShrink = 1.0f - 1.0f / 8388608.0f;
    D.parallel_for(B, [&](Index b, int) {
      double* a = sums.block(b);
      bool any = false;
      for (Index i = n * b / B, hi = n * (b + 1) / B; i < hi; ++i) {
        const Index cur = labels[i];
        float* L = lower.data() + i * k;
        for (Index c = 0; c < k; ++c) L[c] = std::max(0.0f, (L[c] - fshift[c]) * kShrink);
        double u = upper[i] + shift(cur);
        if (u <= half(cur)) {
          upper[i] = u;
          continue;
        }
        // (Fetching the rows left in doubt a few ahead, as Hamerly's sweep does, gained
        // nothing here: the distances themselves are the cost.)
        const double* x = D.X.row(i).data();
        Index best = cur;
        bool tight = false;
        for (Index c = 0; c < k; ++c) {
          if (c == best || u <= L[c] || u <= 0.5 * cc(best, c)) continue;
          if (!tight) {
            u = std::sqrt(sq_dist(x, C.row(best).data(), p));
            L[best] = float_below(u);
            tight = true;
            if (u <= L[c] || u <= 0.5 * cc(best, c)) continue;
          }
          const double dc = std::sqrt(sq_dist(x, C.row(c).data(), p));
          L[c] = float_below(dc);
          if (dc < u || (dc == u && c < best)) best = c, u = dc;
        }
        upper[i] = u;
        if (best != cur) {
          sums.move(a, D, i, cur, best);
          labels[i] = static_cast<std::int32_t>(best);
          any = true;
        }
      }
      changed[static_cast<std::size_t>(b)] = any;
    });
    // No row moved: the centers just computed are final (the pass counts as an iteration).
    if (std::none_of(changed.begin(), changed.end(), [](char c) { return c != 0; })) {
      ++r.iters;
      break;
    }
  }
  VectorXd d2;
  assign(D, C, labels, d2);  // exact labels and inertia for the final centers
  r.centers = std::move(C);
  r.labels = std::move(labels);
  r.inertia = block_sum(D, d2);
  return r;
}

/// Hamerly's algorithm (Hamerly 2010, "Making k-means even faster"): each row keeps an
/// upper bound on the distance to its center and one lower bound on the distance to any
/// other center. Rows whose bounds rule out a change cost a few comparisons; the others
/// get the distance to their center and, if still in doubt, their distances to every
/// center. Cluster sums are kept per fixed row block and updated only for rows that move;
/// the fixed blocks keep results independent of the thread count. Same fixed point and
/// iteration count as Lloyd (near-ties may resolve differently, as distances are rounded
/// differently).
///
/// The rows the bounds do not settle are a third of the data on hard problems (overlapping
/// segments), so an iteration streams X from memory: the bound tests read a float copy of
/// X - m instead (half the bytes), with rounding margins that keep every bound valid; a row
/// whose float distances cannot separate its two nearest centers, and a row that moves (the
/// cluster sums are exact), reads X itself, as does the final pass (exact distances for the
/// inertia). The float copy costs 4 bytes per element (scikit-learn centres a full copy of
/// X) and is left out when an element exceeds float's range.
RunResult hamerly(const Data& D, RowMatrix<double> C, int max_iter, double tol_abs) {
  const Index n = D.n(), k = C.rows(), p = C.cols(), B = n_blocks(n);
  // Rows are examined in runs of kRun: their bounds first, then the rows left in doubt.
  constexpr Index kRun = 2048, kBatch = 16;
  RunResult r;
  std::vector<std::int32_t> labels(n);
  std::vector<double> upper(static_cast<std::size_t>(n)), lower(static_cast<std::size_t>(n));
  BlockSums sums(B, k, p);
  // Rounding bound of the directly computed squared distances (center_distances.hpp),
  // relative, with room for the square root's rounding.
  const double rel_err = static_cast<double>(p + 4) * std::numeric_limits<double>::epsilon();
  detail::CenterPanel panel;
  const auto nearest = detail::nearest_centers<double>();

  // The float copy. Margins, as distances: the copies are off by at most 2^-24 of each
  // element, so by 2^-24 |x - m| and 2^-24 |c - m| as vectors (kCopyErr: twice that, with
  // room for the rounding of the norms); float sums of squares are off by less than
  // (p + 8) 2^-24 relative; kTiny covers elements and squares below float's normal range.
  constexpr double kCopyErr = 0x1p-23;
  constexpr double kTiny = 1e-18;
  const double float_rel = static_cast<double>(p + 8) * 0x1p-24;
  if (!D.float_rows) {  // made once per fit (n_init runs share it)
    auto F = std::make_shared<FloatRows>();
    F->x = aligned_floats(static_cast<std::size_t>(n * p));
    F->err = aligned_floats(static_cast<std::size_t>(n));
    std::vector<char> ok(static_cast<std::size_t>((n + kRun - 1) / kRun), F->x && F->err ? 1 : 0);
    if (F->x && F->err) D.parallel_for(static_cast<Index>(ok.size()), [&](Index c, int) {
      bool fine = true;
      for (Index i = c * kRun; i < std::min(n, (c + 1) * kRun); ++i) {
        float* y = F->x.get() + i * p;
        double norm2 = 0;  // |copy|^2: squares of floats are exact in double
        for (Index f = 0; f < p; ++f) {
          y[f] = static_cast<float>(D.X(i, f) - D.ref(f));
          fine = fine && std::isfinite(y[f]);
          norm2 += static_cast<double>(y[f]) * y[f];
        }
        // |x - m| <= |copy| / (1 - 2^-24); kCopyErr's factor 2 covers that; rounded up to a float.
        F->err[static_cast<std::size_t>(i)] = static_cast<float>((kCopyErr * std::sqrt(norm2) + kTiny) * (1 + 0x1p-20));
      }
      ok[static_cast<std::size_t>(c)] = fine;
    });
    if (!std::all_of(ok.begin(), ok.end(), [](char v) { return v != 0; })) F->x.reset();
    D.float_rows = std::move(F);
  }
  const float* Xf = D.float_rows->x.get();  // null: beyond float's range (or no memory), X throughout
  const float* x_err = D.float_rows->err.get();
  detail::CenterPanelFloat panel_f;
  RowMatrix<float> Cf(k, p);  // the float centers, row-major
  VectorXd c_err(k);
  double c_err_max = 0;
  bool use_float = false;  // this iteration's centers have a float copy too
  const auto nearest_f = detail::nearest_centers<float>();
  auto xf = [&](Index i) { return Xf + i * p; };

  struct Move {
    Index i, from, to;
  };
  struct Scratch {
    std::vector<Index> ids;
    std::vector<double> z, d2;
    std::vector<float> d2f;
    std::vector<Move> moves;
  };
  std::vector<Scratch> scratch(static_cast<std::size_t>(std::max(1, D.threads)));
  for (Scratch& S : scratch) {
    S.ids.resize(kRun);
    S.z.resize(kRun);
    S.d2.resize(static_cast<std::size_t>((k + 7) / 8 * 8));
    S.d2f.resize(static_cast<std::size_t>((k + 7) / 8 * 8));
  }
  // Row i goes to center `best` with bounds u, l; true when a counted row moved (from = -1:
  // not counted yet). The move's row of X is fetched now and the block sums updated by
  // flush_moves at the end of the run (the tests read the float copy: X's row is not cached).
  auto settle = [&](Scratch& S, Index i, Index best, double u, double l, bool counted) {
    upper[i] = u;
    lower[i] = l;
    const Index cur = counted ? labels[i] : -1;
    if (best == cur) return false;
    const char* row = reinterpret_cast<const char*>(D.X.row(i).data());
    for (Index c = 0; c < p * 8; c += 64) __builtin_prefetch(row + c);
    __builtin_prefetch(row + p * 8 - 1);
    S.moves.push_back({i, cur, best});
    labels[i] = static_cast<std::int32_t>(best);
    return counted;
  };
  auto flush_moves = [&](Scratch& S, double* a) {
    for (const Move& mv : S.moves) sums.move(a, D, mv.i, mv.from, mv.to);
    S.moves.clear();
  };
  // Nearest center of row i (lowest index on ties) with bounds: u >= distance to it,
  // l <= distance to every other center. From the float copy when its margins separate
  // the two nearest centers, else from X.
  auto nearest_row = [&](Scratch& S, Index i, bool counted) {
    if (use_float) {
      const auto [best, first, second] = nearest_f(xf(i), panel_f, S.d2f.data());
      const double e = x_err[i];
      const double u = std::sqrt(first * (1 + float_rel)) + e + c_err(best);
      const double l = std::sqrt(second * (1 - float_rel)) - e - c_err_max;
      if (u < l) return settle(S, i, best, u, l, counted);
    }
    const auto [best, first, second] = nearest(D.X.row(i).data(), panel, S.d2.data());
    return settle(S, i, best, std::sqrt(first * (1 + rel_err)), std::sqrt(second * (1 - rel_err)), counted);
  };
  // Upper bound on the distance from row i to center c.
  auto center_distance = [&](Index i, Index c) {
    if (use_float) {
      const double s = sq_dist_float(xf(i), Cf.row(c).data(), p);
      return std::sqrt(s * (1 + float_rel)) + x_err[i] + c_err(c);
    }
    return std::sqrt(sq_dist(D.X.row(i).data(), C.row(c).data(), p));
  };
  auto center_centers = [&] {
    panel.assign(C);
    use_float = Xf != nullptr && panel_f.assign(C, &D.ref);
    if (!use_float) return;
    for (Index c = 0; c < k; ++c) {
      for (Index f = 0; f < p; ++f) Cf(c, f) = panel_f.t[static_cast<std::size_t>(f * panel_f.width + c)];
      c_err(c) = kCopyErr * (C.row(c) - D.ref).norm() + kTiny;
    }
    c_err_max = c_err.maxCoeff();
  };
  // Bounds and block sums from scratch (start, and after an empty-cluster relocation).
  auto full_pass = [&] {
    sums.clear();
    center_centers();
    for_block_runs(D, sums, n, B, kRun, [&](int t, double* a, Index s0, Index m) {
      Scratch& S = scratch[static_cast<std::size_t>(t)];
      for (Index i = s0; i < s0 + m; ++i) nearest_row(S, i, false);
      flush_moves(S, a);
    });
  };
  full_pass();
  VectorXd shift = VectorXd::Zero(k), half_gap(k);
  std::vector<char> changed(static_cast<std::size_t>(B));
  bool settled = false;    // the last sweep moved no row: labels final for C
  bool relocated = false;  // the last center step relocated an empty cluster (labels anew)
  // The center that moved most (`far`) and how far: every other center moved at most `far1`
  // (`far2` when the row's own center is `far`).
  auto far_shifts = [&] {
    Index far = 0;
    for (Index c = 1; c < k; ++c)
      if (shift(c) > shift(far)) far = c;
    double far2 = 0;
    for (Index c = 0; c < k; ++c)
      if (c != far) far2 = std::max(far2, shift(c));
    return std::tuple{far, shift(far), far2};
  };
  for (r.iters = 0; r.iters < max_iter;) {
    const AfterStep next = center_step(D, sums, C, labels, shift, r.iters, max_iter, tol_abs, full_pass, &relocated);
    if (next == AfterStep::stop) break;
    if (next == AfterStep::rebuilt) continue;
    half_gap = half_gaps(C);
    const auto [far, far1, far2] = far_shifts();
    const double* sh = shift.data();
    const double* gap = half_gap.data();
    center_centers();
    // The rows the bound tests read: the float copy, or X.
    const char* rows = use_float ? reinterpret_cast<const char*>(Xf) : reinterpret_cast<const char*>(D.X.data());
    const std::ptrdiff_t row_bytes = use_float ? p * 4 : D.X.outerStride() * 8;
    const std::ptrdiff_t used_bytes = use_float ? p * 4 : p * 8;
    auto row_at = [&](Index i) { return rows + i * row_bytes; };
    constexpr Index kAhead = 16;
    constexpr std::ptrdiff_t kStreamAhead = 4096;
    D.parallel_for(B, [&](Index b, int t) {
      Scratch& Sc = scratch[static_cast<std::size_t>(t)];
      double* a = sums.block(b);
      bool any = false;
      const Index lo = n * b / B, hi = n * (b + 1) / B;
      const char* pf = nullptr;  // streaming prefetch position
      for (Index s0 = lo; s0 < hi; s0 += kRun) {
        const Index s1 = std::min(hi, s0 + kRun);
        Index m = 0;
        for (Index i = s0; i < s1; ++i) {
          const Index cur = labels[i];
          const double u = upper[i] + sh[cur];
          const double l = lower[i] - (cur == far ? far2 : far1);
          const double z = std::max(l, gap[cur]);
          upper[i] = u;
          lower[i] = l;
          Sc.z[m] = z;  // written always, kept when u > z: no branch to mispredict
          Sc.ids[m] = i;
          m += u >= z ? 1 : 0;  // >=: a tie with a lower-numbered center must be looked at
        }
        // Distance to the own center for the rows the bounds do not settle, then every
        // distance for the rows still in doubt. The rows are scattered: when a fifth or more
        // of the run is unsettled, the run's memory is fetched as one stream a few pages
        // ahead (reading the rows between costs less than waiting for each row: 20 against
        // 33 ns per row at a third, on a 2-core EPYC VM), otherwise each row a few rows ahead.
        const bool stream = m * 5 >= s1 - s0;
        const char* run_end = row_at(s1 - 1) + used_bytes;
        auto prefetch = [&](Index q) {
          const char* row = row_at(Sc.ids[q]);
          for (std::ptrdiff_t c = 0; c < used_bytes; c += 64) __builtin_prefetch(row + c);
          __builtin_prefetch(row + used_bytes - 1);
        };
        if (stream) {
          pf = pf == nullptr ? row_at(s0) : std::max(pf, row_at(s0));
        } else {
          for (Index q = 0; q < std::min(m, kAhead); ++q) prefetch(q);
        }
        // In batches of kBatch rows: the own-center distances first (no branch waits on a
        // row's memory), then every distance for the batch's rows in doubt (still cached):
        // 6-10 % of a 1M x 20 fit at two threads against a branch per row.
        Index doubt_ids[kBatch];
        for (Index q0 = 0; q0 < m; q0 += kBatch) {
          Index nd = 0;
          for (Index q = q0; q < std::min(m, q0 + kBatch); ++q) {
            if (stream) {
              const char* want = std::min(run_end, row_at(Sc.ids[q]) + kStreamAhead);
              for (; pf < want; pf += 64) __builtin_prefetch(pf);
            } else if (q + kAhead < m) {
              prefetch(q + kAhead);
            }
            const Index i = Sc.ids[q];
            const double u = center_distance(i, labels[i]);
            upper[i] = u;
            doubt_ids[nd] = i;
            nd += u >= Sc.z[q] ? 1 : 0;
          }
          for (Index d = 0; d < nd; ++d) any = nearest_row(Sc, doubt_ids[d], true) || any;
        }
        flush_moves(Sc, a);
      }
      changed[static_cast<std::size_t>(b)] = any;
    });
    // No row moved: the centers just computed are final (Lloyd stops here too; the pass
    // counts as an iteration, as in scikit-learn).
    if (std::none_of(changed.begin(), changed.end(), [](char c) { return c != 0; })) {
      ++r.iters;
      settled = true;
      break;
    }
  }
  // Labels and inertia for the final centers, as Lloyd's last assignment but from the
  // bounds: after a last center step (tolerance or max_iter reached) the bounds follow the
  // centers and only the rows they leave in doubt get every distance; every row's exact
  // distance to its center gives the inertia.
  VectorXd d2(n);
  if (relocated && !settled) {  // the bounds belong to the labels before the relocation
    assign(D, C, labels, d2);
  } else {
    panel.assign(C);
    half_gap = half_gaps(C);
    const auto [far, far1, far2] = far_shifts();
    D.parallel_for(B, [&](Index b, int t) {
      Scratch& Sc = scratch[static_cast<std::size_t>(t)];
      for (Index i = n * b / B, hi = n * (b + 1) / B; i < hi; ++i) {
        const Index cur = labels[i];
        double own = sq_dist(D.X.row(i).data(), C.row(cur).data(), p);
        if (!settled) {
          const double z = std::max(lower[i] - (cur == far ? far2 : far1), half_gap(cur));
          if (std::sqrt(own * (1 + rel_err)) >= z) {
            const auto [best, first, second] = nearest(D.X.row(i).data(), panel, Sc.d2.data());
            labels[i] = static_cast<std::int32_t>(best);
            own = first;
          }
        }
        d2(i) = own;
      }
    });
  }
  r.centers = std::move(C);
  r.labels = std::move(labels);
  r.inertia = block_sum(D, d2);
  return r;
}

RowMatrix<double> random_rows(MatrixView<double> X, int k, std::uint64_t seed, std::uint64_t stream) {
  Rng rng = Rng::stream(seed, stream);
  const Index n = X.rows();
  std::vector<Index> idx(n);
  std::iota(idx.begin(), idx.end(), 0);
  RowMatrix<double> C(k, X.cols());
  for (Index t = 0; t < k; ++t) {
    const Index j = t + static_cast<Index>(rng.below(static_cast<std::uint64_t>(n - t)));
    std::swap(idx[t], idx[j]);
    C.row(t) = X.row(idx[t]);
  }
  return C;
}

void check_weights(std::string_view where, std::span<const double> w, Index n) {
  if (w.empty()) return;
  check_same_length(where, "sample_weight", static_cast<Index>(w.size()), "X", n);
  double total = 0;
  for (std::size_t i = 0; i < w.size(); ++i) {
    if (!std::isfinite(w[i]) || w[i] < 0)
      fail(where, "sample_weight must be finite and non-negative (row ", i, " is ", w[i], ")");
    total += w[i];
  }
  require(total > 0, where, "sample_weight sums to zero");
}

}  // namespace

namespace {

/// Greedy k-means++ (see kmeans.hpp). Each step draws its candidates with probability
/// proportional to w x (squared distance to the nearest chosen center), measures every row
/// against them in one pass over X (one product per 2048 rows), and keeps the candidate
/// that lowers the potential most. The draw needs no prefix sum over all rows: the pass
/// leaves each fixed block's potential, so a draw picks a block from those and scans only
/// within it; sums run in fixed block and row order, so the seeding is the same on any
/// number of threads.
RowMatrix<double> plusplus(const Data& D, int k, std::uint64_t seed, std::uint64_t stream) {
  const VectorXd& xsq = D.norms();
  const MatrixView<double>& X = D.X;
  const Index n = X.rows(), p = X.cols(), B = n_blocks(n);
  auto block_lo = [&](Index b) { return n * b / B; };
  Rng rng = Rng::stream(seed, stream);
  // A row drawn with probability value(i) / sum, from the blocks' sums `tot` (rows of value 0
  // are never drawn, even when rounding leaves the scan short of the drawn point).
  auto draw = [&](const std::vector<double>& tot, auto&& value) {
    double sum = 0;
    for (const double t : tot) sum += t;
    double r = rng.uniform() * sum;
    Index b = 0, last = -1;
    for (; b < B; ++b) {
      if (tot[static_cast<std::size_t>(b)] > 0) last = b;
      if (r < tot[static_cast<std::size_t>(b)]) break;
      r -= tot[static_cast<std::size_t>(b)];
    }
    if (last < 0) return n - 1;  // every row coincides with a chosen center: any row will do
    if (b == B) b = last, r = tot[static_cast<std::size_t>(b)];
    Index pick = -1;
    double run = 0;
    for (Index i = block_lo(b); i < block_lo(b + 1); ++i) {
      const double v = value(i);
      if (!(v > 0)) continue;
      pick = i;
      if ((run += v) > r) break;
    }
    return pick;
  };
  std::vector<double> tot(static_cast<std::size_t>(B));
  D.parallel_for(B, [&](Index b, int) {
    double s = 0;
    for (Index i = block_lo(b); i < block_lo(b + 1); ++i) s += D.weight(i);
    tot[static_cast<std::size_t>(b)] = s;
  });
  RowMatrix<double> C(k, p);
  C.row(0) = X.row(draw(tot, [&](Index i) { return D.weight(i); }));
  VectorXd closest(n);
  D.parallel_for(B, [&](Index b, int) {
    double s = 0;
    for (Index i = block_lo(b); i < block_lo(b + 1); ++i) {
      closest(i) = (X.row(i) - C.row(0)).squaredNorm();
      s += D.weight(i) * closest(i);
    }
    tot[static_cast<std::size_t>(b)] = s;
  });
  const int trials = 2 + static_cast<int>(std::log(static_cast<double>(k)));
  RowMatrix<double> cand(trials, p);
  RowMatrix<double> dist(n, trials);  // min(closest, distance to each candidate)
  RowMatrix<double> pot(B, trials);   // per block: the potential with each candidate
  std::vector<RowMatrix<double>> G(static_cast<std::size_t>(std::max(1, D.threads)));
  for (int c = 1; c < k; ++c) {
    for (int t = 0; t < trials; ++t) cand.row(t) = X.row(draw(tot, [&](Index i) { return D.weight(i) * closest(i); }));
    const auto [Cc, a] = expand_about(cand, D.ref);
    D.parallel_for(B, [&](Index b, int th) {
      RowMatrix<double>& g = G[static_cast<std::size_t>(th)];
      Eigen::RowVectorXd s = Eigen::RowVectorXd::Zero(trials);
      for (Index s0 = block_lo(b), hi = block_lo(b + 1); s0 < hi; s0 += kGemmRows) {
        const Index m = std::min(hi, s0 + kGemmRows) - s0;
        g.resize(m, trials);
        blas::gemm(1.0, blas::view(X.middleRows(s0, m)), false, blas::view(Cc), true, 0.0, blas::mut_view(g));
        for (Index i = 0; i < m; ++i) {
          const Index row = s0 + i;
          const double w = D.weight(row);
          for (int j = 0; j < trials; ++j) {
            const double d = std::min(closest(row), std::max(0.0, xsq(row) + a(j) - 2 * g(i, j)));
            dist(row, j) = d;
            s(j) += w * d;
          }
        }
      }
      pot.row(b) = s;
    });
    int best = 0;
    double best_pot = std::numeric_limits<double>::infinity();
    for (int j = 0; j < trials; ++j) {
      const double total = pot.col(j).sum();
      if (total < best_pot) best_pot = total, best = j;
    }
    C.row(c) = cand.row(best);
    D.parallel_for(B, [&](Index b, int) {
      for (Index i = block_lo(b); i < block_lo(b + 1); ++i) closest(i) = dist(i, best);
      tot[static_cast<std::size_t>(b)] = pot(b, best);
    });
  }
  return C;
}

}  // namespace

RowMatrix<double> kmeans_plusplus(MatrixView<double> X, std::span<const double> weight, int k, std::uint64_t seed,
                                  std::uint64_t stream, int n_threads) {
  constexpr std::string_view where = "kmeans_plusplus";
  const Index n = X.rows();
  require(k >= 1 && k <= n, where, "n_clusters=", k, " must be in 1..n_samples=", n);
  check_weights(where, weight, n);
  Eigen::RowVectorXd mean;
  mean_variance(X, resolve_threads(n_threads), mean);
  return plusplus(make_data(X, weight, std::move(mean), n_threads), k, seed, stream);
}

void KMeans::Params::validate() const {
  constexpr std::string_view w = "KMeans";
  require(n_clusters >= 1, w, "n_clusters must be a positive integer (got ", n_clusters, ")");
  require(n_init >= 1, w, "n_init must be a positive integer (got ", n_init, ")");
  require(max_iter >= 1, w, "max_iter must be a positive integer (got ", max_iter, ")");
  require(std::isfinite(tol) && tol >= 0, w, "tol must be a non-negative number (got ", tol, ")");
  resolve_threads(n_threads, w);
}

KMeans& KMeans::fit(MatrixView<double> X, std::span<const double> weight, const RowMatrix<double>* init_centers) {
  constexpr std::string_view where = "KMeans::fit";
  params_.validate();
  const Index n = X.rows(), k = params_.n_clusters;
  check_nonempty(where, "X", n);
  require<ShapeError>(X.cols() >= 1, where, "X has no columns");
  require(k <= n, where, "n_samples=", n, " should be >= n_clusters=", k);
  check_weights(where, weight, n);
  if (init_centers) {
    require<ShapeError>(init_centers->rows() == k && init_centers->cols() == X.cols(), where, "init must be ", k, " x ",
                        X.cols(), ", got ", init_centers->rows(), " x ", init_centers->cols());
    check_finite(where, "init", *init_centers);
  }
  const int threads = resolve_threads(params_.n_threads);
  // Tolerance relative to the data scale, as scikit-learn: tol * mean feature variance.
  // The same passes check X: a NaN or infinity anywhere makes a sum non-finite.
  Eigen::RowVectorXd mean;
  const double variance = mean_variance(X, threads, mean);
  if (!mean.allFinite() || !std::isfinite(variance)) {
    check_finite(where, "X", X);  // names the first bad cell
    fail(where, "X holds values too large for squared distances (their sums overflow)");
  }
  const double tol_abs = params_.tol * variance;
  const Data D = make_data(X, weight, mean, threads);
  const int runs = init_centers ? 1 : params_.n_init;
  RunResult best;
  best.inertia = std::numeric_limits<double>::infinity();
  for (int r = 0; r < runs; ++r) {
    RowMatrix<double> C0 = init_centers ? *init_centers
                           : params_.init == KMeansInit::Random
                               ? random_rows(X, static_cast<int>(k), params_.seed, static_cast<std::uint64_t>(r))
                               : plusplus(D, static_cast<int>(k), params_.seed, static_cast<std::uint64_t>(r));
    RunResult res = k == 1 || params_.algorithm == KMeansAlgorithm::Lloyd
                        ? lloyd(D, std::move(C0), params_.max_iter, tol_abs)
                    : params_.algorithm == KMeansAlgorithm::Elkan ? elkan(D, std::move(C0), params_.max_iter, tol_abs)
                                                                  : hamerly(D, std::move(C0), params_.max_iter, tol_abs);
    if (res.inertia < best.inertia) best = std::move(res);
  }
  centers_ = std::move(best.centers);
  reference_ = mean;
  labels_ = std::move(best.labels);
  inertia_ = best.inertia;
  n_iter_ = best.iters;
  return *this;
}

void KMeans::check_predict_input(std::string_view where, MatrixView<double> X, bool scan_finite) const {
  if (!is_fitted()) fail<NotFittedError>(where, "this KMeans is not fitted yet; call fit first");
  require<ShapeError>(X.cols() == centers_.cols(), where, "X has ", X.cols(), " features but the model was fitted with ",
                      centers_.cols());
  if (scan_finite) check_finite(where, "X", X);
}

std::vector<std::int32_t> KMeans::predict(MatrixView<double> X) const {
  // One pass over X: the nearest center needs only a_c - 2 x.(c - m) (the label_rows rule
  // without |x - m|^2), and a NaN or infinity in a row shows in its products, so X is
  // scanned only to name the entry.
  constexpr std::string_view where = "KMeans::predict";
  check_predict_input(where, X, false);
  const Index n = X.rows(), k = centers_.rows();
  const Expanded E = expand_about(centers_, reference_);
  std::vector<std::int32_t> labels(static_cast<std::size_t>(n));
  for_rows_checked(where, X, params_.n_threads, [&](Index lo, Index hi) {
    RowMatrix<double> G;
    bool finite = true;
    for (Index b = lo; b < hi; b += kGemmRows) {
      const Index m = std::min(hi, b + kGemmRows) - b;
      G.resize(m, k);
      blas::gemm(1.0, blas::view(X.middleRows(b, m)), false, blas::view(E.Cc), true, 0.0, blas::mut_view(G));
      finite &= G.allFinite();
      for (Index i = 0; i < m; ++i) {
        Index best = 0;
        double bv = E.a(0) - 2 * G(i, 0);
        for (Index j = 1; j < k; ++j) {
          const double v = E.a(j) - 2 * G(i, j);
          if (v < bv) bv = v, best = j;
        }
        labels[static_cast<std::size_t>(b + i)] = static_cast<std::int32_t>(best);
      }
    }
    return finite;
  });
  return labels;
}

RowMatrix<double> KMeans::transform(MatrixView<double> X) const {
  check_predict_input("KMeans::transform", X);
  const VectorXd xsq = row_sq_norms(X, reference_, params_.n_threads);
  const auto [Cc, csq] = expand_about(centers_, reference_);
  RowMatrix<double> out(X.rows(), centers_.rows());
  parallel_chunks(X.rows(), params_.n_threads, [&](Index b, Index e, int) {
    out.middleRows(b, e - b).noalias() = X.middleRows(b, e - b) * Cc.transpose();
    for (Index i = b; i < e; ++i)
      for (Index j = 0; j < centers_.rows(); ++j) out(i, j) = std::sqrt(std::max(0.0, xsq(i) + csq(j) - 2 * out(i, j)));
  });
  return out;
}

double KMeans::inertia_of(MatrixView<double> X, std::span<const double> weight) const {
  check_predict_input("KMeans::score", X);
  check_weights("KMeans::score", weight, X.rows());
  const Data D = make_data(X, weight, reference_, params_.n_threads);
  std::vector<std::int32_t> labels;
  VectorXd d2;
  assign(D, centers_, labels, d2);
  return block_sum(D, d2);
}

ModelDocument KMeans::to_document() const {
  if (!is_fitted()) fail<NotFittedError>("KMeans::to_document", "this KMeans is not fitted yet");
  ModelDocument doc;
  doc.estimator = std::string(kEstimator);
  doc.params["n_clusters"] = params_.n_clusters;
  doc.params["init"] = params_.init == KMeansInit::Random ? "random" : "k-means++";
  doc.params["n_init"] = params_.n_init;
  doc.params["max_iter"] = params_.max_iter;
  doc.params["tol"] = params_.tol;
  doc.params["algorithm"] = params_.algorithm == KMeansAlgorithm::Elkan     ? "elkan"
                            : params_.algorithm == KMeansAlgorithm::Hamerly ? "hamerly"
                                                                            : "lloyd";
  doc.params["seed"] = params_.seed;
  doc.params["n_threads"] = params_.n_threads;
  doc.state["n_features"] = centers_.cols();
  doc.state["centers"] = json_array(std::vector<double>(centers_.data(), centers_.data() + centers_.size()));
  doc.state["reference"] = json_array(std::vector<double>(reference_.data(), reference_.data() + reference_.size()));
  doc.state["inertia"] = json_number(inertia_);
  doc.state["n_iter"] = n_iter_;
  return doc;
}

KMeans KMeans::from_document(const ModelDocument& doc) {
  constexpr std::string_view where = "KMeans document";
  if (doc.estimator != kEstimator) fail<SerializationError>(where, "holds a '", doc.estimator, "' model");
  Params p;
  const auto k = json_int(doc.params, "n_clusters", where), n_init = json_int(doc.params, "n_init", where),
             max_iter = json_int(doc.params, "max_iter", where), threads = json_int(doc.params, "n_threads", where);
  constexpr std::int64_t big = 1 << 30;
  if (k < 1 || k > big || n_init < 1 || n_init > big || max_iter < 1 || max_iter > big || threads == 0 ||
      std::abs(threads) > 1 << 16)
    fail<SerializationError>(where, "a count parameter is out of range");
  p.n_clusters = static_cast<int>(k);
  p.n_init = static_cast<int>(n_init);
  p.max_iter = static_cast<int>(max_iter);
  p.n_threads = static_cast<int>(threads);
  p.tol = json_double(doc.params, "tol", where);
  const auto init = json_string(doc.params, "init", where), algo = json_string(doc.params, "algorithm", where);
  if (init != "random" && init != "k-means++") fail<SerializationError>(where, "unknown init '", init, "'");
  if (algo != "lloyd" && algo != "elkan" && algo != "hamerly")
    fail<SerializationError>(where, "unknown algorithm '", algo, "'");
  p.init = init == "random" ? KMeansInit::Random : KMeansInit::KMeansPlusPlus;
  p.algorithm = algo == "elkan"     ? KMeansAlgorithm::Elkan
                : algo == "hamerly" ? KMeansAlgorithm::Hamerly
                                    : KMeansAlgorithm::Lloyd;
  p.seed = static_cast<std::uint64_t>(json_int(doc.params, "seed", where));
  try {
    p.validate();
  } catch (const Error& e) {
    fail<SerializationError>(where, "invalid parameters: ", e.what());
  }
  KMeans m(p);
  const auto nf = json_int(doc.state, "n_features", where);
  if (nf < 1 || nf > 100'000'000) fail<SerializationError>(where, "n_features out of range");
  auto c = json_doubles(doc.state, "centers", where);
  if (static_cast<std::int64_t>(c.size()) != k * nf) fail<SerializationError>(where, "field 'centers' has the wrong length");
  m.centers_ = Eigen::Map<RowMatrix<double>>(c.data(), k, nf);
  if (!m.centers_.allFinite()) fail<SerializationError>(where, "centers must be finite");
  // Documents written before the reference point was kept: the centers' mean serves.
  if (doc.state.contains("reference")) {
    auto ref = json_doubles(doc.state, "reference", where);
    if (static_cast<std::int64_t>(ref.size()) != nf)
      fail<SerializationError>(where, "field 'reference' has the wrong length");
    m.reference_ = Eigen::Map<Eigen::RowVectorXd>(ref.data(), nf);
    if (!m.reference_.allFinite()) fail<SerializationError>(where, "reference must be finite");
  } else {
    m.reference_ = m.centers_.colwise().mean();
  }
  m.inertia_ = json_double(doc.state, "inertia", where);
  m.n_iter_ = static_cast<int>(std::clamp<std::int64_t>(json_int(doc.state, "n_iter", where), 0, big));
  return m;
}

std::vector<double> silhouette_samples(MatrixView<double> X, std::span<const std::int32_t> labels, int n_labels,
                                       int n_threads) {
  constexpr std::string_view where = "silhouette_score";
  const Index n = X.rows();
  check_same_length(where, "X", n, "labels", static_cast<Index>(labels.size()));
  require(n_labels >= 2 && n_labels <= n - 1, where, "the number of labels is ", n_labels,
          "; valid values are 2 to n_samples - 1 = ", n - 1);
  check_finite(where, "X", X);
  std::vector<double> count(n_labels, 0.0);
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] < 0 || labels[i] >= n_labels) fail(where, "label code out of range at row ", i);
    count[labels[i]] += 1;
  }
  // Pairwise products of rows less the mean (see Data: data far from the origin).
  Eigen::RowVectorXd mean;
  mean_variance(X, resolve_threads(n_threads), mean);
  const VectorXd xsq = row_sq_norms(X, mean, n_threads);
  std::vector<double> s(n);
  constexpr Index kCols = 2048;
  const Index chunks = (n + kChunk - 1) / kChunk;
  parallel_for(chunks, n_threads, [&](Index c, int) {
    const Index b = c * kChunk, e = std::min(n, b + kChunk), m = e - b;
    RowMatrix<double> sums = RowMatrix<double>::Zero(m, n_labels);
    for (Index jb = 0; jb < n; jb += kCols) {
      const Index je = std::min(n, jb + kCols);
      const RowMatrix<double> G =
          (X.middleRows(b, m).rowwise() - mean) * (X.middleRows(jb, je - jb).rowwise() - mean).transpose();
      for (Index i = 0; i < m; ++i)
        for (Index j = jb; j < je; ++j) {
          if (b + i == j) continue;
          sums(i, labels[j]) += std::sqrt(std::max(0.0, xsq(b + i) + xsq(j) - 2 * G(i, j - jb)));
        }
    }
    for (Index i = 0; i < m; ++i) {
      const int own = labels[b + i];
      if (count[own] <= 1) {
        s[b + i] = 0.0;
        continue;
      }
      const double a = sums(i, own) / (count[own] - 1);
      double bmin = std::numeric_limits<double>::infinity();
      for (int l = 0; l < n_labels; ++l)
        if (l != own && count[l] > 0) bmin = std::min(bmin, sums(i, l) / count[l]);
      const double den = std::max(a, bmin);
      s[b + i] = den > 0 ? (bmin - a) / den : 0.0;
    }
  });
  return s;
}

}  // namespace custmine::cluster
