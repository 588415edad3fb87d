// K-means (see include/custmine/cluster/kmeans.hpp).
#include "custmine/cluster/kmeans.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "custmine/core/random.hpp"
#include "custmine/core/blas.hpp"
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

struct Data {
  MatrixView<double> X;
  std::span<const double> w;  // empty = unit weights
  VectorXd xsq;               // squared row norms
  int threads = 1;
  [[nodiscard]] double weight(Index i) const { return w.empty() ? 1.0 : w[i]; }
  [[nodiscard]] Index n() const { return X.rows(); }
};

VectorXd row_sq_norms(MatrixView<double> X, int threads) {
  VectorXd s(X.rows());
  parallel_chunks(X.rows(), threads, [&](Index b, Index e, int) { s.segment(b, e - b) = X.middleRows(b, e - b).rowwise().squaredNorm(); });
  return s;
}

/// Nearest center (lowest index on ties) and squared distance per row: one matrix
/// product per chunk of 256 rows.
void assign(const Data& D, const RowMatrix<double>& C, std::vector<std::int32_t>& labels, VectorXd& d2) {
  const Index n = D.n(), k = C.rows();
  const VectorXd csq = C.rowwise().squaredNorm();
  labels.resize(n);
  d2.resize(n);
  const Index chunks = (n + kChunk - 1) / kChunk;
  parallel_for(chunks, D.threads, [&](Index c, int) {
    const Index b = c * kChunk, e = std::min(n, b + kChunk);
    const RowMatrix<double> G = D.X.middleRows(b, e - b) * C.transpose();
    for (Index i = 0; i < e - b; ++i) {
      Index best = 0;
      double bv = csq(0) - 2 * G(i, 0);
      for (Index j = 1; j < k; ++j) {
        const double v = csq(j) - 2 * G(i, j);
        if (v < bv) bv = v, best = j;
      }
      labels[b + i] = static_cast<std::int32_t>(best);
      d2(b + i) = std::max(0.0, D.xsq(b + i) + bv);
    }
  });
}

/// Weighted sum of per-row values, reduced in fixed blocks.
double block_sum(const Data& D, const VectorXd& v) {
  const Index n = D.n(), B = n_blocks(n);
  std::vector<double> part(B, 0.0);
  parallel_for(B, D.threads, [&](Index b, int) {
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
  parallel_for(B, D.threads, [&](Index b, int) {
    for (Index i = n * b / B; i < n * (b + 1) / B; ++i) {
      const double w = D.weight(i);
      sums[b].row(labels[i]) += w * D.X.row(i);
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
        S.row(from) -= D.weight(i) * D.X.row(i);
        W(from) -= D.weight(i);
      }
      S.row(c) = w * D.X.row(i);
      W(c) = w;
    }
  }
  RowMatrix<double> C = old;
  for (Index c = 0; c < k; ++c)
    if (W(c) > 0) C.row(c) = S.row(c) / W(c);
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
  const Index n = D.n(), k = C.rows(), p = C.cols(), B = n_blocks(n);
  const VectorXd csq = C.rowwise().squaredNorm();
  labels.resize(n);
  d2.resize(n);
  // One contiguous, cache-line padded accumulator per block: sums (k x p) then weights (k).
  const Index stride = ((k * p + k + 7) / 8) * 8 + 8;
  std::vector<double> acc(static_cast<std::size_t>(B * stride), 0.0);
  std::vector<RowMatrix<double>> scratch(static_cast<std::size_t>(std::max(1, D.threads)));
  parallel_for(B, D.threads, [&](Index b, int t) {
    double* sum = acc.data() + b * stride;
    double* wsum = sum + k * p;
    const Index lo = n * b / B, hi = n * (b + 1) / B;
    // one buffer per thread: a 128 KB buffer per block went through mmap and page faults
    // on every block (1M x 20, k = 8, one thread: 55 -> 35 ms per iteration)
    RowMatrix<double>& G = scratch[static_cast<std::size_t>(t)];
    for (Index s = lo; s < hi; s += kGemmRows) {
      const Index e = std::min(hi, s + kGemmRows);
      G.resize(e - s, k);
      blas::gemm(1.0, blas::view(D.X.middleRows(s, e - s)), false, blas::view(C), true, 0.0,
                 blas::mut_view(G));
      for (Index i = 0; i < e - s; ++i) {
        Index best = 0;
        double bv = csq(0) - 2 * G(i, 0);
        for (Index j = 1; j < k; ++j) {
          const double v = csq(j) - 2 * G(i, j);
          if (v < bv) bv = v, best = j;
        }
        labels[s + i] = static_cast<std::int32_t>(best);
        d2(s + i) = std::max(0.0, D.xsq(s + i) + bv);
        const double w = D.weight(s + i);
        const double* x = D.X.row(s + i).data();
        double* dst = sum + best * p;
        for (Index f = 0; f < p; ++f) dst[f] += w * x[f];
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
  for (Index c = 0; c < k; ++c) next.row(c) = S.row(c) / W(c);
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
    if (r.iters > 0 && labels == previous) {
      strict = true;
      break;
    }
    const double shift = (next - C).squaredNorm();
    C.swap(next);
    previous.swap(labels);
    ++r.iters;
    if (shift <= tol_abs) break;
  }
  if (!strict) assign(D, C, labels, d2);  // labels consistent with the final centers
  r.centers = std::move(C);
  r.labels = std::move(labels);
  r.inertia = block_sum(D, d2);
  return r;
}

RunResult elkan(const Data& D, RowMatrix<double> C, int max_iter, double tol_abs) {
  const Index n = D.n(), k = C.rows();
  RunResult r;
  std::vector<std::int32_t> labels(n);
  VectorXd upper(n);
  RowMatrix<double> lower(n, k);
  // Exact distances to start.
  {
    const VectorXd csq = C.rowwise().squaredNorm();
    const Index chunks = (n + kChunk - 1) / kChunk;
    parallel_for(chunks, D.threads, [&](Index c, int) {
      const Index b = c * kChunk, e = std::min(n, b + kChunk);
      const RowMatrix<double> G = D.X.middleRows(b, e - b) * C.transpose();
      for (Index i = 0; i < e - b; ++i) {
        Index best = 0;
        for (Index j = 0; j < k; ++j) {
          lower(b + i, j) = std::sqrt(std::max(0.0, D.xsq(b + i) + csq(j) - 2 * G(i, j)));
          if (lower(b + i, j) < lower(b + i, best)) best = j;
        }
        labels[b + i] = static_cast<std::int32_t>(best);
        upper(b + i) = lower(b + i, best);
      }
    });
  }
  auto dist = [&](Index i, Index c) { return (D.X.row(i) - C.row(c)).norm(); };
  RowMatrix<double> cc(k, k);
  VectorXd half_min(k);
  std::vector<char> changed(n);
  for (r.iters = 0; r.iters < max_iter;) {
    Interrupt::check("KMeans::fit");
    if (r.iters > 0) {
      for (Index a = 0; a < k; ++a)
        for (Index b = 0; b < k; ++b) cc(a, b) = (C.row(a) - C.row(b)).norm();
      for (Index a = 0; a < k; ++a) {
        double m = std::numeric_limits<double>::infinity();
        for (Index b = 0; b < k; ++b)
          if (b != a) m = std::min(m, cc(a, b));
        half_min(a) = 0.5 * m;
      }
      parallel_chunks(n, D.threads, [&](Index b, Index e, int) {
        for (Index i = b; i < e; ++i) {
          Index a = labels[i];
          double u = upper(i);
          changed[i] = 0;
          if (u <= half_min(a)) continue;
          bool tight = false;
          for (Index c = 0; c < k; ++c) {
            if (c == a || u <= lower(i, c) || u <= 0.5 * cc(a, c)) continue;
            if (!tight) {
              u = dist(i, a);
              lower(i, a) = u;
              tight = true;
              if (u <= lower(i, c) || u <= 0.5 * cc(a, c)) continue;
            }
            const double dc = dist(i, c);
            lower(i, c) = dc;
            if (dc < u) a = c, u = dc;
          }
          if (a != labels[i]) changed[i] = 1, labels[i] = static_cast<std::int32_t>(a);
          upper(i) = u;
        }
      });
      if (std::none_of(changed.begin(), changed.end(), [](char c) { return c != 0; })) break;
    }
    const VectorXd d2 = upper.cwiseAbs2();
    RowMatrix<double> next = update_centers(D, C, labels, d2);
    VectorXd shift(k);
    for (Index c = 0; c < k; ++c) shift(c) = (next.row(c) - C.row(c)).norm();
    C.swap(next);
    parallel_chunks(n, D.threads, [&](Index b, Index e, int) {
      for (Index i = b; i < e; ++i) {
        for (Index c = 0; c < k; ++c) lower(i, c) = std::max(0.0, lower(i, c) - shift(c));
        upper(i) += shift(labels[i]);
      }
    });
    ++r.iters;
    if (shift.squaredNorm() <= tol_abs) break;
  }
  VectorXd d2;
  assign(D, C, labels, d2);  // exact labels and inertia for the final centers
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

RowMatrix<double> kmeans_plusplus(MatrixView<double> X, std::span<const double> weight, int k, std::uint64_t seed,
                                  std::uint64_t stream, int n_threads) {
  constexpr std::string_view where = "kmeans_plusplus";
  const Index n = X.rows();
  require(k >= 1 && k <= n, where, "n_clusters=", k, " must be in 1..n_samples=", n);
  check_weights(where, weight, n);
  Data D{X, weight, row_sq_norms(X, n_threads), resolve_threads(n_threads)};
  Rng rng = Rng::stream(seed, stream);
  auto draw = [&](const VectorXd& cum) {
    const double r = rng.uniform() * cum(n - 1);
    const Index i = std::upper_bound(cum.data(), cum.data() + n, r) - cum.data();
    return std::min(i, n - 1);
  };
  VectorXd cum(n);
  double run = 0;
  for (Index i = 0; i < n; ++i) cum(i) = (run += D.weight(i));
  RowMatrix<double> C(k, X.cols());
  Index first = draw(cum);
  C.row(0) = X.row(first);
  VectorXd closest(n);
  parallel_chunks(n, D.threads, [&](Index b, Index e, int) {
    for (Index i = b; i < e; ++i) closest(i) = (X.row(i) - C.row(0)).squaredNorm();
  });
  const int trials = 2 + static_cast<int>(std::log(static_cast<double>(k)));
  RowMatrix<double> cand(trials, X.cols());
  RowMatrix<double> dist(n, trials);
  for (int c = 1; c < k; ++c) {
    run = 0;
    for (Index i = 0; i < n; ++i) cum(i) = (run += D.weight(i) * closest(i));
    std::vector<Index> ids(trials);
    for (int t = 0; t < trials; ++t) ids[t] = draw(cum), cand.row(t) = X.row(ids[t]);
    const VectorXd csq = cand.rowwise().squaredNorm();
    parallel_chunks(n, D.threads, [&](Index b, Index e, int) {
      for (Index s = b; s < e; s += kChunk) {
        const Index t = std::min(e, s + kChunk);
        const RowMatrix<double> G = X.middleRows(s, t - s) * cand.transpose();
        for (Index i = 0; i < t - s; ++i)
          for (int j = 0; j < trials; ++j)
            dist(s + i, j) = std::min(closest(s + i), std::max(0.0, D.xsq(s + i) + csq(j) - 2 * G(i, j)));
      }
    });
    int best = 0;
    double best_pot = std::numeric_limits<double>::infinity();
    for (int j = 0; j < trials; ++j) {
      const double pot = block_sum(D, dist.col(j));
      if (pot < best_pot) best_pot = pot, best = j;
    }
    C.row(c) = cand.row(best);
    closest = dist.col(best);
  }
  return C;
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
  check_finite(where, "X", X);
  check_weights(where, weight, n);
  if (init_centers) {
    require<ShapeError>(init_centers->rows() == k && init_centers->cols() == X.cols(), where, "init must be ", k, " x ",
                        X.cols(), ", got ", init_centers->rows(), " x ", init_centers->cols());
    check_finite(where, "init", *init_centers);
  }
  const int threads = resolve_threads(params_.n_threads);
  Data D{X, weight, row_sq_norms(X, threads), threads};
  // Tolerance relative to the data scale, as scikit-learn: tol * mean feature variance.
  const Eigen::RowVectorXd mean = X.colwise().mean();
  const double tol_abs = params_.tol * (X.rowwise() - mean).colwise().squaredNorm().mean() / static_cast<double>(n);
  const int runs = init_centers ? 1 : params_.n_init;
  RunResult best;
  best.inertia = std::numeric_limits<double>::infinity();
  for (int r = 0; r < runs; ++r) {
    RowMatrix<double> C0 = init_centers ? *init_centers
                           : params_.init == KMeansInit::Random
                               ? random_rows(X, static_cast<int>(k), params_.seed, static_cast<std::uint64_t>(r))
                               : kmeans_plusplus(X, weight, static_cast<int>(k), params_.seed, static_cast<std::uint64_t>(r), threads);
    RunResult res = params_.algorithm == KMeansAlgorithm::Elkan && k > 1 ? elkan(D, std::move(C0), params_.max_iter, tol_abs)
                                                                      : lloyd(D, std::move(C0), params_.max_iter, tol_abs);
    if (res.inertia < best.inertia) best = std::move(res);
  }
  centers_ = std::move(best.centers);
  labels_ = std::move(best.labels);
  inertia_ = best.inertia;
  n_iter_ = best.iters;
  return *this;
}

void KMeans::check_predict_input(std::string_view where, MatrixView<double> X) const {
  if (!is_fitted()) fail<NotFittedError>(where, "this KMeans is not fitted yet; call fit first");
  require<ShapeError>(X.cols() == centers_.cols(), where, "X has ", X.cols(), " features but the model was fitted with ",
                      centers_.cols());
  check_finite(where, "X", X);
}

std::vector<std::int32_t> KMeans::predict(MatrixView<double> X) const {
  check_predict_input("KMeans::predict", X);
  Data D{X, {}, row_sq_norms(X, params_.n_threads), resolve_threads(params_.n_threads)};
  std::vector<std::int32_t> labels;
  VectorXd d2;
  assign(D, centers_, labels, d2);
  return labels;
}

RowMatrix<double> KMeans::transform(MatrixView<double> X) const {
  check_predict_input("KMeans::transform", X);
  const VectorXd xsq = row_sq_norms(X, params_.n_threads), csq = centers_.rowwise().squaredNorm();
  RowMatrix<double> out(X.rows(), centers_.rows());
  parallel_chunks(X.rows(), params_.n_threads, [&](Index b, Index e, int) {
    out.middleRows(b, e - b).noalias() = X.middleRows(b, e - b) * centers_.transpose();
    for (Index i = b; i < e; ++i)
      for (Index j = 0; j < centers_.rows(); ++j) out(i, j) = std::sqrt(std::max(0.0, xsq(i) + csq(j) - 2 * out(i, j)));
  });
  return out;
}

double KMeans::inertia_of(MatrixView<double> X, std::span<const double> weight) const {
  check_predict_input("KMeans::score", X);
  check_weights("KMeans::score", weight, X.rows());
  Data D{X, weight, row_sq_norms(X, params_.n_threads), resolve_threads(params_.n_threads)};
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
  doc.params["algorithm"] = params_.algorithm == KMeansAlgorithm::Elkan ? "elkan" : "lloyd";
  doc.params["seed"] = params_.seed;
  doc.params["n_threads"] = params_.n_threads;
  doc.state["n_features"] = centers_.cols();
  doc.state["centers"] = json_array(std::vector<double>(centers_.data(), centers_.data() + centers_.size()));
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
  if (algo != "lloyd" && algo != "elkan") fail<SerializationError>(where, "unknown algorithm '", algo, "'");
  p.init = init == "random" ? KMeansInit::Random : KMeansInit::KMeansPlusPlus;
  p.algorithm = algo == "elkan" ? KMeansAlgorithm::Elkan : KMeansAlgorithm::Lloyd;
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
  const VectorXd xsq = row_sq_norms(X, n_threads);
  std::vector<double> s(n);
  constexpr Index kCols = 2048;
  const Index chunks = (n + kChunk - 1) / kChunk;
  parallel_for(chunks, n_threads, [&](Index c, int) {
    const Index b = c * kChunk, e = std::min(n, b + kChunk), m = e - b;
    RowMatrix<double> sums = RowMatrix<double>::Zero(m, n_labels);
    for (Index jb = 0; jb < n; jb += kCols) {
      const Index je = std::min(n, jb + kCols);
      const RowMatrix<double> G = X.middleRows(b, m) * X.middleRows(jb, je - jb).transpose();
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
