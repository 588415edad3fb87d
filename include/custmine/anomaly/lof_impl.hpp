// Definitions for lof.hpp (instantiated in src/anomaly/lof.cpp).
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "custmine/core/blas.hpp"
#include "custmine/anomaly/lof.hpp"
#include "custmine/core/threading.hpp"

namespace custmine::anomaly {

namespace detail {

/// A k-d tree over the reference rows for exact k-nearest-neighbour search in low
/// dimension (Friedman, Bentley & Finkel 1977): split on the widest dimension at the
/// median, leaves of at most 32 rows; a query keeps a max-heap of the best (distance^2,
/// index) pairs, so ties resolve by index exactly as in the brute-force path.
class KdTree {
 public:
  explicit KdTree(const RowMatrix<double>& X) : X_(X) {
    const Index n = X.rows();
    perm_.resize(static_cast<std::size_t>(n));
    std::iota(perm_.begin(), perm_.end(), Index{0});
    nodes_.reserve(static_cast<std::size_t>(2 * n / kLeaf + 2));
    build(0, n);
  }
  /// The k_eff smallest (d^2, index) pairs, sorted.
  void query(const double* q, Index keff, std::vector<std::pair<double, Index>>& heap) const {
    heap.clear();
    search(0, q, keff, heap);
    std::sort_heap(heap.begin(), heap.end());
  }

 private:
  static constexpr Index kLeaf = 32;
  struct Node {
    Index begin, end;
    std::int32_t dim = -1;  // -1: leaf
    double split = 0;
    std::int32_t left = -1, right = -1;
  };
  std::int32_t build(Index b, Index e) {
    const auto id = static_cast<std::int32_t>(nodes_.size());
    nodes_.push_back({b, e});
    if (e - b <= kLeaf) return id;
    const Index d = X_.cols();
    Index best = 0;
    double spread = -1;
    for (Index f = 0; f < d; ++f) {
      double lo = X_(perm_[b], f), hi = lo;
      for (Index i = b + 1; i < e; ++i) {
        lo = std::min(lo, X_(perm_[i], f));
        hi = std::max(hi, X_(perm_[i], f));
      }
      if (hi - lo > spread) {
        spread = hi - lo;
        best = f;
      }
    }
    if (!(spread > 0)) return id;  // all rows identical: keep as one leaf
    const Index mid = b + (e - b) / 2;
    std::nth_element(perm_.begin() + b, perm_.begin() + mid, perm_.begin() + e,
                     [&](Index x, Index y) { return X_(x, best) < X_(y, best); });
    const double split = X_(perm_[mid], best);
    const std::int32_t l = build(b, mid);
    const std::int32_t r = build(mid, e);
    nodes_[id].dim = static_cast<std::int32_t>(best);
    nodes_[id].split = split;
    nodes_[id].left = l;
    nodes_[id].right = r;
    return id;
  }
  void search(std::int32_t id, const double* q, Index keff, std::vector<std::pair<double, Index>>& heap) const {
    const Node& nd = nodes_[id];
    if (nd.dim < 0) {
      const Index d = X_.cols();
      for (Index i = nd.begin; i < nd.end; ++i) {
        const Index r = perm_[i];
        const double* x = X_.row(r).data();
        double s = 0;
        for (Index f = 0; f < d; ++f) {
          const double diff = q[f] - x[f];
          s += diff * diff;
        }
        const std::pair<double, Index> c{s, r};
        if (static_cast<Index>(heap.size()) < keff) {
          heap.push_back(c);
          std::push_heap(heap.begin(), heap.end());
        } else if (c < heap.front()) {
          std::pop_heap(heap.begin(), heap.end());
          heap.back() = c;
          std::push_heap(heap.begin(), heap.end());
        }
      }
      return;
    }
    const double diff = q[nd.dim] - nd.split;
    // Rows equal to the split value can sit on either side, so ties visit both.
    const std::int32_t near = diff < 0 ? nd.left : nd.right, far = diff < 0 ? nd.right : nd.left;
    search(near, q, keff, heap);
    if (static_cast<Index>(heap.size()) < keff || diff * diff <= heap.front().first) search(far, q, keff, heap);
  }
  const RowMatrix<double>& X_;
  std::vector<Index> perm_;
  std::vector<Node> nodes_;
};

}  // namespace detail

template <class T>
Neighbors knn_search(const RowMatrix<double>& ref, MatrixView<T> Q, Index k, bool exclude_self, int n_threads) {
  const Index n = ref.rows(), m = Q.rows(), d = ref.cols();
  const Index keff = k + (exclude_self ? 1 : 0);
  require(keff <= n, "knn_search", "k (", k, ") must be less than the number of reference rows (", n, ")");
  Neighbors out{RowMatrix<double>(m, k), RowMatrix<std::int64_t>(m, k)};
  if (m == 0) return out;
  // Both paths return the k smallest (distance^2, index) pairs, so they give identical
  // neighbours; the tree wins in low dimension (scikit-learn's rule: d <= 15).
  auto emit = [&](Index qi, const std::vector<std::pair<double, Index>>& cand) {
    Index skip = -1;  // position removed when excluding the query itself
    if (exclude_self) {
      skip = 0;  // scikit-learn: drop the first neighbour when the sample is not among them
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
  };
  if (d <= 15) {
    const detail::KdTree tree(ref);
    parallel_chunks(m, n_threads, [&](Index b, Index e, int) {
      std::vector<std::pair<double, Index>> heap;
      std::vector<double> q(static_cast<std::size_t>(d));
      for (Index i = b; i < e; ++i) {
        if ((i & 4095) == 0) Interrupt::check("LocalOutlierFactor: nearest neighbours");
        for (Index f = 0; f < d; ++f) q[f] = static_cast<double>(Q(i, f));
        tree.query(q.data(), keff, heap);
        emit(i, heap);
      }
    });
    return out;
  }
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
        if (rn[j] - 2.0 * a[j] <= bound) {
          double s = 0;
          for (Index f = 0; f < d; ++f) {
            const double diff = Qb(r, f) - ref(j, f);
            s += diff * diff;
          }
          cand.emplace_back(s, j);
        }
      std::sort(cand.begin(), cand.end());
      emit(b0 + r, cand);
    }
  });
  return out;
}

template <class T>
void LocalOutlierFactor<T>::Params::validate() const {
  constexpr std::string_view w = "LocalOutlierFactor";
  require(n_neighbors >= 1, w, "n_neighbors must be a positive integer, got ", n_neighbors);
  contamination.validate(w, true);
  resolve_threads(n_threads, w);
}

template <class T>
LocalOutlierFactor<T>& LocalOutlierFactor<T>::fit(MatrixView<T> X) {
  constexpr std::string_view where = "LocalOutlierFactor::fit";
  params_.validate();
  check_fit_input<T>(where, X);
  const Index n = X.rows();
  require(params_.n_neighbors < n, where, "n_neighbors (", params_.n_neighbors,
          ") must be less than the number of samples, got n_samples = ", n);
  RowMatrix<double> Xd = X.template cast<double>();
  Neighbors nb = knn_search<double>(Xd, Xd, params_.n_neighbors, true, params_.n_threads);
  X_ = std::move(Xd);
  train_idx_ = std::move(nb.index);
  train_dist_ = std::move(nb.distance);
  this->n_features_ = X.cols();
  derive_state();
  this->offset_ = offset_from_scores(nof_, params_.contamination, -1.5);
  this->profile_ = feature_ranges<T>(X, params_.n_threads);
  this->profile_.baseline = column_medians(explain_training());
  return *this;
}

template <class T>
void LocalOutlierFactor<T>::derive_state() {
  const Index n = X_.rows(), k = train_idx_.cols(), d = X_.cols();
  kdist_ = train_dist_.col(k - 1);
  lrd_.resize(n);
  for (Index i = 0; i < n; ++i) {
    double s = 0;
    for (Index j = 0; j < k; ++j) s += std::max(train_dist_(i, j), kdist_[train_idx_(i, j)]);
    lrd_[i] = 1.0 / (s / static_cast<double>(k) + 1e-10);
  }
  nof_.resize(n);
  for (Index i = 0; i < n; ++i) {
    double s = 0;
    for (Index j = 0; j < k; ++j) s += lrd_[train_idx_(i, j)] / lrd_[i];
    nof_[i] = -s / static_cast<double>(k);
  }
  scale_ = Vector<double>::Zero(d);
  for (Index i = 0; i < n; ++i)
    for (Index j = 0; j < k; ++j) scale_ += (X_.row(i) - X_.row(train_idx_(i, j))).array().square().matrix().transpose();
  scale_ /= static_cast<double>(n * k);
  for (Index f = 0; f < d; ++f)
    if (!(scale_[f] > 0)) scale_[f] = 1.0;  // constant feature: raw squared units
}

template <class T>
Neighbors LocalOutlierFactor<T>::kneighbors(MatrixView<T> X) const {
  check_score_input<T>("LocalOutlierFactor::kneighbors", X, this->n_features_, is_fitted());
  return knn_search<T>(X_, X, params_.n_neighbors, false, params_.n_threads);
}

template <class T>
Vector<double> LocalOutlierFactor<T>::score_samples(MatrixView<T> X) const {
  check_score_input<T>("LocalOutlierFactor::score_samples", X, this->n_features_, is_fitted());
  const Neighbors nb = knn_search<T>(X_, X, params_.n_neighbors, false, params_.n_threads);
  const Index m = X.rows(), k = nb.index.cols();
  Vector<double> out(m);
  for (Index i = 0; i < m; ++i) {
    double reach = 0, ratio = 0;
    for (Index j = 0; j < k; ++j) reach += std::max(nb.distance(i, j), kdist_[nb.index(i, j)]);
    const double lrd = 1.0 / (reach / static_cast<double>(k) + 1e-10);
    for (Index j = 0; j < k; ++j) ratio += lrd_[nb.index(i, j)] / lrd;
    out[i] = -ratio / static_cast<double>(k);
  }
  return out;
}

template <class T>
RowMatrix<double> LocalOutlierFactor<T>::contributions(const RowMatrix<double>& Q,
                                                       const RowMatrix<std::int64_t>& idx) const {
  const Index m = Q.rows(), k = idx.cols(), d = Q.cols();
  RowMatrix<double> C = RowMatrix<double>::Zero(m, d);
  for (Index i = 0; i < m; ++i) {
    for (Index j = 0; j < k; ++j) C.row(i) += (Q.row(i) - X_.row(idx(i, j))).array().square().matrix();
    C.row(i) = (C.row(i).array() / (static_cast<double>(k) * scale_.transpose().array())).matrix();
  }
  return C;
}

template <class T>
RowMatrix<double> LocalOutlierFactor<T>::explain(MatrixView<T> X) const {
  check_score_input<T>("LocalOutlierFactor::explain", X, this->n_features_, is_fitted());
  const Neighbors nb = knn_search<T>(X_, X, params_.n_neighbors, false, params_.n_threads);
  return contributions(X.template cast<double>(), nb.index);
}

template <class T>
RowMatrix<double> LocalOutlierFactor<T>::explain_training() const {
  if (!is_fitted()) fail<NotFittedError>("LocalOutlierFactor::explain", "this model is not fitted yet; call fit first");
  return contributions(X_, train_idx_);
}

template <class T>
ModelDocument LocalOutlierFactor<T>::to_document() const {
  if (!is_fitted()) fail<NotFittedError>("LocalOutlierFactor::to_document", "this LocalOutlierFactor is not fitted yet");
  ModelDocument doc;
  doc.estimator = "LocalOutlierFactor";
  doc.params["n_neighbors"] = params_.n_neighbors;
  doc.params["novelty"] = params_.novelty;
  doc.params["contamination"] = params_.contamination.to_json();
  doc.params["n_threads"] = params_.n_threads;
  this->write_common(doc);
  doc.state["n_samples"] = X_.rows();
  doc.state["X"] = json_doubles_array(X_.data(), static_cast<std::size_t>(X_.size()));
  doc.state["neighbors"] = json_array(std::vector<std::int64_t>(train_idx_.data(), train_idx_.data() + train_idx_.size()));
  doc.state["distances"] = json_doubles_array(train_dist_.data(), static_cast<std::size_t>(train_dist_.size()));
  return doc;
}

template <class T>
LocalOutlierFactor<T> LocalOutlierFactor<T>::from_document(const ModelDocument& doc) {
  constexpr std::string_view where = "LocalOutlierFactor document";
  if (doc.estimator != "LocalOutlierFactor") fail<SerializationError>(where, "holds a '", doc.estimator, "' model");
  Params p;
  p.n_neighbors = static_cast<int>(json_size(doc.params, "n_neighbors", 1, 1 << 30, where));
  p.novelty = json_bool(doc.params, "novelty", where);
  p.contamination = Contamination::from_json(doc.params, where);
  p.n_threads = static_cast<int>(json_size(doc.params, "n_threads", -1024, 1024, where));
  LocalOutlierFactor m(p);
  m.read_common(doc, where);
  const Index n = json_size(doc.state, "n_samples", p.n_neighbors + 1, std::int64_t{1} << 32, where);
  const Index d = m.n_features_, k = p.n_neighbors;
  auto X = json_doubles_n(doc.state, "X", static_cast<std::size_t>(n * d), where);
  auto idx = json_ints_n(doc.state, "neighbors", static_cast<std::size_t>(n * k), where);
  auto dist = json_doubles_n(doc.state, "distances", static_cast<std::size_t>(n * k), where);
  for (double v : X)
    if (!std::isfinite(v)) fail<SerializationError>(where, "field 'X' must hold finite numbers");
  for (auto v : idx)
    if (v < 0 || v >= n) fail<SerializationError>(where, "field 'neighbors' holds an index outside 0..", n - 1);
  for (double v : dist)
    if (!(v >= 0) || !std::isfinite(v)) fail<SerializationError>(where, "field 'distances' must hold finite numbers >= 0");
  m.X_ = Eigen::Map<RowMatrix<double>>(X.data(), n, d);
  m.train_idx_ = Eigen::Map<RowMatrix<std::int64_t>>(idx.data(), n, k);
  m.train_dist_ = Eigen::Map<RowMatrix<double>>(dist.data(), n, k);
  m.derive_state();
  return m;
}

}  // namespace custmine::anomaly
