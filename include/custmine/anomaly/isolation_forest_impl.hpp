// Definitions for isolation_forest.hpp (instantiated in src/anomaly/isolation_forest.cpp).
#pragma once

#include <algorithm>
#include <cmath>
#include <numeric>
#include <tuple>
#include <unordered_set>

#include "custmine/anomaly/isolation_forest.hpp"
#include "custmine/core/random.hpp"
#include "custmine/core/threading.hpp"

namespace custmine::anomaly {

namespace detail {
/// Rows per batch in tree descents.
inline constexpr int kIForestLanes = 8;
/// Rows per block of a tree sweep (for_each_block_tree).
inline constexpr Index kIForestBlock = 256;
/// Moves kIForestLanes rows from the root of one tree to their leaves: max_depth steps with
/// branch-free selects (a lane at its leaf stands still), so the lanes' chains of dependent
/// loads overlap instead of waiting on each other. visit(step, lane, feature) sees each step
/// (feature -1 once the lane is at its leaf). The leaves are those of one row at a time.
template <class T, class Visit>
inline void descend_lanes(const std::int32_t* feat, const std::int32_t* left, const double* val,
                          const MatrixView<T>& X, Index first_row, int max_depth, std::int32_t* node,
                          Visit&& visit) {
  const T* row[kIForestLanes];
  for (int l = 0; l < kIForestLanes; ++l) node[l] = 0, row[l] = X.row(first_row + l).data();
  for (int step = 0; step < max_depth; ++step)
    for (int l = 0; l < kIForestLanes; ++l) {
      const std::int32_t nd = node[l], f = feat[nd];
      const std::int32_t next = left[nd] + (static_cast<double>(row[l][f < 0 ? 0 : f]) <= val[nd] ? 0 : 1);
      visit(step, l, f);
      node[l] = f < 0 ? nd : next;
    }
}
/// Calls visit(feat, left, val, b0, e0) for rows [b, e) in blocks of kIForestBlock, trees outer
/// within a block (a tree's nodes stay in cache); each row meets its trees in order.
template <class Visit>
inline void for_each_block_tree(const std::vector<std::int64_t>& tree_offset, const std::vector<std::int32_t>& feature,
                                const std::vector<std::int32_t>& left, const std::vector<double>& value, Index b,
                                Index e, Visit&& visit) {
  const std::size_t n_trees = tree_offset.size() - 1;
  for (Index b0 = b; b0 < e; b0 += kIForestBlock) {
    const Index e0 = std::min(e, b0 + kIForestBlock);
    for (std::size_t t = 0; t < n_trees; ++t) {
      const std::int64_t base = tree_offset[t];
      visit(feature.data() + base, left.data() + base, value.data() + base, b0, e0);
    }
  }
}
}  // namespace detail

template <class T>
void IsolationForest<T>::Params::validate() const {
  constexpr std::string_view w = "IsolationForest";
  require(n_estimators >= 1 && n_estimators <= 1000000, w, "n_estimators must be a positive integer, got ", n_estimators);
  if (max_samples_fraction > 0)
    require(max_samples_fraction <= 1.0, w, "max_samples must be 'auto', a positive integer or a float in (0, 1], got ",
            max_samples_fraction);
  require(max_samples >= 0, w, "max_samples must be 'auto', a positive integer or a float in (0, 1], got ", max_samples);
  require(max_features >= 0, w, "max_features must be a positive integer or a float in (0, 1], got ", max_features);
  if (max_features == 0)
    require(max_features_fraction > 0 && max_features_fraction <= 1.0, w,
            "max_features must be a positive integer or a float in (0, 1], got ", max_features_fraction);
  contamination.validate(w, true);
  resolve_threads(n_threads, w);
}

template <class T>
IsolationForest<T>& IsolationForest<T>::fit(MatrixView<T> X) {
  constexpr std::string_view where = "IsolationForest::fit";
  params_.validate();
  check_fit_input<T>(where, X);
  const Index n = X.rows(), d = X.cols();
  std::int64_t psi;
  if (params_.max_samples > 0) psi = std::min<std::int64_t>(params_.max_samples, n);
  else if (params_.max_samples_fraction > 0) psi = std::max<std::int64_t>(1, static_cast<std::int64_t>(params_.max_samples_fraction * n));
  else psi = std::min<std::int64_t>(256, n);
  std::int64_t n_feat;
  if (params_.max_features > 0) {
    require(params_.max_features <= d, where, "max_features (", params_.max_features, ") exceeds the ", d, " features of X");
    n_feat = params_.max_features;
  } else {
    n_feat = std::max<std::int64_t>(1, static_cast<std::int64_t>(params_.max_features_fraction * d));
  }
  const int max_depth = static_cast<int>(std::ceil(std::log2(std::max<double>(2.0, static_cast<double>(psi)))));

  struct Tree {
    std::vector<std::int32_t> feature, left;
    std::vector<double> value;
  };
  const int T_ = params_.n_estimators;
  std::vector<Tree> trees(T_);

  parallel_for(T_, params_.n_threads, [&](Index t, int) {
    if ((t & 7) == 0) Interrupt::check(where);
    Rng rng = Rng::stream(params_.seed, static_cast<std::uint64_t>(t));
    // Subsample: without replacement by a partial Fisher-Yates over a sparse swap map
    // would be O(psi); a dense permutation is O(n) and fine since n is read anyway.
    std::vector<Index> idx(static_cast<std::size_t>(psi));
    if (params_.bootstrap) {
      for (auto& i : idx) i = static_cast<Index>(rng.below(static_cast<std::uint64_t>(n)));
    } else if (psi == n) {
      std::iota(idx.begin(), idx.end(), Index{0});
    } else {
      // Floyd's algorithm: psi distinct indices in O(psi) expected with a small hash set.
      std::vector<Index> chosen;
      chosen.reserve(static_cast<std::size_t>(psi));
      // A bitmap when psi is a sizeable share of n, a hash set otherwise.
      const bool dense = psi * 64 >= n;
      std::vector<std::uint8_t> seen;
      std::unordered_set<Index> seen_set;
      if (dense) seen.assign(static_cast<std::size_t>(n), 0);
      for (Index j = n - psi; j < n; ++j) {
        const auto r = static_cast<Index>(rng.below(static_cast<std::uint64_t>(j + 1)));
        const bool taken = dense ? seen[r] != 0 : seen_set.count(r) != 0;
        const Index pick = taken ? j : r;
        if (dense) seen[pick] = 1;
        else seen_set.insert(pick);
        chosen.push_back(pick);
      }
      idx = std::move(chosen);
    }
    // Features of this tree.
    std::vector<std::int32_t> feats(static_cast<std::size_t>(d));
    std::iota(feats.begin(), feats.end(), 0);
    if (n_feat < d) {
      for (std::int64_t j = 0; j < n_feat; ++j)
        std::swap(feats[j], feats[j + static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(d - j)))]);
      feats.resize(static_cast<std::size_t>(n_feat));
    }
    Tree& tr = trees[t];
    struct Item {
      std::int32_t node;
      Index begin, end;
      int depth;
    };
    std::vector<Item> stack{{0, 0, psi, 0}};
    tr.feature.push_back(-1);
    tr.left.push_back(-1);
    tr.value.push_back(0.0);
    std::vector<std::int32_t> order(feats.size());
    while (!stack.empty()) {
      const Item it = stack.back();
      stack.pop_back();
      const Index m = it.end - it.begin;
      bool split = false;
      if (it.depth < max_depth && m > 1) {
        // Draw features in random order until one is not constant in this node.
        order = feats;
        for (std::size_t r = 0; r < order.size() && !split; ++r) {
          std::swap(order[r], order[r + rng.below(order.size() - r)]);
          const std::int32_t f = order[r];
          double lo = static_cast<double>(X(idx[it.begin], f)), hi = lo;
          for (Index a = it.begin + 1; a < it.end; ++a) {
            const double v = static_cast<double>(X(idx[a], f));
            lo = std::min(lo, v);
            hi = std::max(hi, v);
          }
          if (!(hi > lo)) continue;
          double thr = lo + rng.uniform() * (hi - lo);
          if (!(thr < hi)) thr = lo;  // rounding guard: keep both sides non-empty
          auto mid = std::partition(idx.begin() + it.begin, idx.begin() + it.end,
                                    [&](Index a) { return static_cast<double>(X(a, f)) <= thr; });
          const Index cut = mid - idx.begin();
          const auto left = static_cast<std::int32_t>(tr.feature.size());
          tr.feature[it.node] = f;
          tr.value[it.node] = thr;
          tr.left[it.node] = left;
          for (int c = 0; c < 2; ++c) {
            tr.feature.push_back(-1);
            tr.left.push_back(-1);
            tr.value.push_back(0.0);
          }
          stack.push_back({left + 1, cut, it.end, it.depth + 1});
          stack.push_back({left, it.begin, cut, it.depth + 1});
          split = true;
        }
      }
      if (!split) tr.value[it.node] = it.depth + average_path_length(static_cast<double>(m));
    }
  });

  psi_ = psi;
  this->n_features_ = d;
  tree_offset_.assign(1, 0);
  feature_.clear();
  left_.clear();
  value_.clear();
  for (auto& tr : trees) {
    feature_.insert(feature_.end(), tr.feature.begin(), tr.feature.end());
    left_.insert(left_.end(), tr.left.begin(), tr.left.end());
    value_.insert(value_.end(), tr.value.begin(), tr.value.end());
    tree_offset_.push_back(static_cast<std::int64_t>(feature_.size()));
  }
  // With "auto" the offset is fixed, so the training rows need not be scored.
  const Vector<double> s = params_.contamination.is_auto ? Vector<double>() : score_samples(X);
  this->finish_fit(X, s, params_.contamination, -0.5, params_.n_threads);
  return *this;
}

template <class T>
int IsolationForest<T>::max_tree_depth() const {
  // Children always follow their parent (built so, checked on load): one forward pass.
  int max_depth = 0;
  std::vector<int> dep;
  for (std::size_t t = 0; t + 1 < tree_offset_.size(); ++t) {
    const std::int64_t base = tree_offset_[t], size = tree_offset_[t + 1] - base;
    dep.assign(static_cast<std::size_t>(size), -1);
    dep[0] = 0;
    for (std::int64_t k = 0; k < size; ++k) {
      if (dep[k] < 0) continue;
      max_depth = std::max(max_depth, dep[k]);
      if (feature_[base + k] < 0) continue;
      const std::int32_t c = left_[base + k];
      dep[c] = std::max(dep[c], dep[k] + 1);
      dep[c + 1] = std::max(dep[c + 1], dep[k] + 1);
    }
  }
  return max_depth;
}

namespace detail {
/// Deepest forest scored through complete layouts (a tree then takes 2^(D+1) slots).
inline constexpr int kIForestCompleteDepth = 10;
/// Rows descending together through a complete layout: each step is four instructions,
/// so more chains in flight pay (1M x 20, 100 trees: 8 lanes 0.69 s, 16 0.58 s, 32 0.87 s).
inline constexpr int kIForestCompleteLanes = 16;

/// The forest as complete binary trees of depth D (the deepest leaf): internal slot u has
/// children 2u+1 and 2u+2, so a descent needs no child pointers and no test for a leaf.
/// A leaf shallower than D becomes a subtree whose bottom slots all hold its value (its
/// internal slots split on feature 0 at 0.0, either way leads to the same value), so every
/// row takes exactly D steps and reaches the value of the leaf it reaches in the tree.
struct CompleteForest {
  int depth = 0;
  std::size_t inner = 0, leaves = 0;  // per tree: 2^D - 1 internal slots, 2^D leaf slots
  std::vector<std::int32_t> feature;  // n_trees x inner
  std::vector<double> threshold;      // n_trees x inner
  std::vector<double> leaf;           // n_trees x leaves

  CompleteForest(const std::vector<std::int64_t>& tree_offset, const std::vector<std::int32_t>& feat,
                 const std::vector<std::int32_t>& left, const std::vector<double>& value, int max_depth)
      : depth(max_depth), inner((std::size_t{1} << max_depth) - 1), leaves(std::size_t{1} << max_depth) {
    const std::size_t n_trees = tree_offset.size() - 1;
    feature.assign(n_trees * inner, 0);
    threshold.assign(n_trees * inner, 0.0);
    leaf.assign(n_trees * leaves, 0.0);
    for (std::size_t t = 0; t < n_trees; ++t) {
      const std::int64_t base = tree_offset[t];
      std::int32_t* cf = feature.data() + t * inner;
      double* ct = threshold.data() + t * inner;
      double* cl = leaf.data() + t * leaves;
      // (node, slot, level), depth first; a leaf above level D fills its whole subtree
      std::vector<std::tuple<std::int64_t, std::size_t, int>> todo{{0, 0, 0}};
      while (!todo.empty()) {
        const auto [k, u, lvl] = todo.back();
        todo.pop_back();
        if (lvl == depth) {
          cl[u - inner] = value[base + k];  // the deepest level holds only leaves
          continue;
        }
        const bool is_leaf = feat[base + k] < 0;
        if (!is_leaf) cf[u] = feat[base + k], ct[u] = value[base + k];
        todo.emplace_back(is_leaf ? k : left[base + k], 2 * u + 1, lvl + 1);
        todo.emplace_back(is_leaf ? k : left[base + k] + 1, 2 * u + 2, lvl + 1);
      }
    }
  }
};
}  // namespace detail

template <class T>
Vector<double> IsolationForest<T>::mean_path_length(MatrixView<T> X) const {
  check_score_input<T>("IsolationForest::score_samples", X, this->n_features_, is_fitted());
  const Index n = X.rows();
  const std::size_t n_trees = tree_offset_.size() - 1;
  Vector<double> depth = Vector<double>::Zero(n);
  // Every row is at a leaf after this many steps.
  const int max_depth = max_tree_depth();
  if (max_depth <= detail::kIForestCompleteDepth) {
    // The usual case (max_samples <= 1024): complete layouts, the same leaves and sums.
    const detail::CompleteForest cf(tree_offset_, feature_, left_, value_, max_depth);
    parallel_chunks(n, params_.n_threads, [&](Index b, Index e, int) {
      constexpr int kLanes = detail::kIForestCompleteLanes;
      for (Index b0 = b; b0 < e; b0 += detail::kIForestBlock) {
        const Index e0 = std::min(e, b0 + detail::kIForestBlock);
        if (((b0 / detail::kIForestBlock) & 63) == 0) Interrupt::check("IsolationForest::score_samples");
        for (std::size_t t = 0; t < n_trees; ++t) {
          const std::int32_t* feat = cf.feature.data() + t * cf.inner;
          const double* thr = cf.threshold.data() + t * cf.inner;
          const double* leaf = cf.leaf.data() + t * cf.leaves;
          // one level down: right unless x <= threshold (NaN goes right)
          auto down = [&](std::size_t u, const T* row) {
            return 2 * u + 1 + !(static_cast<double>(row[feat[u]]) <= thr[u]);
          };
          Index i = b0;
          for (; i + kLanes <= e0; i += kLanes) {
            std::size_t u[kLanes];
            const T* row[kLanes];
            for (int l = 0; l < kLanes; ++l) u[l] = 0, row[l] = X.row(i + l).data();
            for (int step = 0; step < max_depth; ++step)
              for (int l = 0; l < kLanes; ++l) u[l] = down(u[l], row[l]);
            for (int l = 0; l < kLanes; ++l) depth[i + l] += leaf[u[l] - cf.inner];
          }
          for (; i < e0; ++i) {
            const T* row = X.row(i).data();
            std::size_t u = 0;
            for (int step = 0; step < max_depth; ++step) u = down(u, row);
            depth[i] += leaf[u - cf.inner];
          }
        }
      }
    });
    depth /= static_cast<double>(n_trees);
    return depth;
  }
  parallel_chunks(n, params_.n_threads, [&](Index b, Index e, int) {
    detail::for_each_block_tree(tree_offset_, feature_, left_, value_, b, e,
                                [&](const std::int32_t* feat, const std::int32_t* left, const double* val,
                                    Index b0, Index e0) {
      Index i = b0;
      constexpr int kLanes = detail::kIForestLanes;
      for (; i + kLanes <= e0; i += kLanes) {
        std::int32_t node[kLanes];
        detail::descend_lanes(feat, left, val, X, i, max_depth, node, [](int, int, std::int32_t) {});
        for (int l = 0; l < kLanes; ++l) depth[i + l] += val[node[l]];
      }
      for (; i < e0; ++i) {
        const T* row = X.row(i).data();
        std::int32_t node = 0;
        while (feat[node] >= 0) node = left[node] + (static_cast<double>(row[feat[node]]) <= val[node] ? 0 : 1);
        depth[i] += val[node];
      }
      if (((b0 / detail::kIForestBlock) & 63) == 0 && feat == feature_.data()) Interrupt::check("IsolationForest::score_samples");
    });
  });
  depth /= static_cast<double>(n_trees);
  return depth;
}

template <class T>
Vector<double> IsolationForest<T>::score_samples(MatrixView<T> X) const {
  Vector<double> h = mean_path_length(X);
  const double c = average_path_length(static_cast<double>(psi_));
  for (Index i = 0; i < h.size(); ++i) h[i] = -std::exp2(-h[i] / c);
  return h;
}

template <class T>
RowMatrix<double> IsolationForest<T>::explain(MatrixView<T> X) const {
  check_score_input<T>("IsolationForest::explain", X, this->n_features_, is_fitted());
  const Index n = X.rows(), d = X.cols();
  const std::size_t n_trees = tree_offset_.size() - 1;
  RowMatrix<double> C = RowMatrix<double>::Zero(n, d);
  const auto max_depth = static_cast<std::size_t>(max_tree_depth());
  parallel_chunks(n, params_.n_threads, [&](Index b, Index e, int) {
    std::vector<std::int32_t> path(max_depth), lane_path(max_depth * detail::kIForestLanes);
    detail::for_each_block_tree(tree_offset_, feature_, left_, value_, b, e,
                                [&](const std::int32_t* feat, const std::int32_t* left, const double* val,
                                    Index b0, Index e0) {
      Index i = b0;
      // A lane's path records -1 once it stands at its leaf, so the additions below are the
      // one-row-at-a-time ones.
      constexpr int kLanes = detail::kIForestLanes;
      for (; i + kLanes <= e0; i += kLanes) {
        std::int32_t node[kLanes];
        detail::descend_lanes(feat, left, val, X, i, static_cast<int>(max_depth), node,
                              [&](int step, int l, std::int32_t f) { lane_path[step * kLanes + l] = f; });
        for (int l = 0; l < kLanes; ++l) {
          const double h = val[node[l]];
          if (h <= 0) continue;
          double* c = C.row(i + l).data();
          for (std::size_t step = 0; step < max_depth; ++step) {
            const std::int32_t f = lane_path[step * kLanes + l];
            if (f < 0) break;
            c[f] += 1.0 / h;
          }
        }
      }
      for (; i < e0; ++i) {
        const T* row = X.row(i).data();
        std::size_t len = 0;
        std::int32_t node = 0;
        while (feat[node] >= 0) {
          const std::int32_t f = feat[node];
          path[len++] = f;
          node = left[node] + (static_cast<double>(row[f]) <= val[node] ? 0 : 1);
        }
        const double h = val[node];
        if (h <= 0) continue;
        double* c = C.row(i).data();
        for (std::size_t k = 0; k < len; ++k) c[path[k]] += 1.0 / h;
      }
    });
  });
  C /= static_cast<double>(n_trees);
  return C;
}

template <class T>
ModelDocument IsolationForest<T>::to_document() const {
  if (!is_fitted()) fail<NotFittedError>("IsolationForest::to_document", "this IsolationForest is not fitted yet");
  ModelDocument doc;
  doc.estimator = "IsolationForest";
  auto& p = doc.params;
  p["n_estimators"] = params_.n_estimators;
  p["max_samples"] = params_.max_samples;
  p["max_samples_fraction"] = params_.max_samples_fraction;
  p["max_features"] = params_.max_features;
  p["max_features_fraction"] = params_.max_features_fraction;
  p["bootstrap"] = params_.bootstrap;
  p["contamination"] = params_.contamination.to_json();
  p["seed"] = params_.seed;
  p["n_threads"] = params_.n_threads;
  this->write_common(doc);
  doc.state["psi"] = psi_;
  doc.state["tree_offset"] = json_array(tree_offset_);
  doc.state["feature"] = json_array(feature_);
  doc.state["left"] = json_array(left_);
  doc.state["value"] = json_doubles_array(value_);
  return doc;
}

template <class T>
IsolationForest<T> IsolationForest<T>::from_document(const ModelDocument& doc) {
  constexpr std::string_view where = "IsolationForest document";
  if (doc.estimator != "IsolationForest") fail<SerializationError>(where, "holds a '", doc.estimator, "' model");
  Params p;
  p.n_estimators = static_cast<int>(json_size(doc.params, "n_estimators", 1, 1000000, where));
  p.max_samples = json_int(doc.params, "max_samples", where);
  p.max_samples_fraction = json_double(doc.params, "max_samples_fraction", where);
  p.max_features = json_int(doc.params, "max_features", where);
  p.max_features_fraction = json_double(doc.params, "max_features_fraction", where);
  p.bootstrap = json_bool(doc.params, "bootstrap", where);
  p.contamination = Contamination::from_json(doc.params, where);
  p.seed = static_cast<std::uint64_t>(json_int(doc.params, "seed", where));
  p.n_threads = static_cast<int>(json_size(doc.params, "n_threads", -1024, 1024, where));
  try {
    p.validate();
  } catch (const InvalidArgument& e) {
    fail<SerializationError>(where, "invalid parameters (", e.what(), ")");
  }
  IsolationForest m(p);
  m.read_common(doc, where);
  m.psi_ = json_size(doc.state, "psi", 1, std::int64_t{1} << 40, where);
  auto off = json_ints(doc.state, "tree_offset", where);
  if (off.size() != static_cast<std::size_t>(p.n_estimators) + 1 || off.front() != 0)
    fail<SerializationError>(where, "field 'tree_offset' must hold n_estimators + 1 offsets starting at 0");
  for (std::size_t t = 1; t < off.size(); ++t)
    if (off[t] <= off[t - 1]) fail<SerializationError>(where, "field 'tree_offset' must be strictly increasing");
  const auto total = static_cast<std::size_t>(off.back());
  auto feat = json_ints_n(doc.state, "feature", total, where);
  auto left = json_ints_n(doc.state, "left", total, where);
  m.value_ = json_doubles_n(doc.state, "value", total, where);
  // Every internal node must point at two children inside its own tree, after itself,
  // and use a valid feature, so that scoring can never run off the arrays or loop.
  for (std::size_t t = 0; t + 1 < off.size(); ++t) {
    const std::int64_t size = off[t + 1] - off[t];
    for (std::int64_t k = 0; k < size; ++k) {
      const std::size_t g = static_cast<std::size_t>(off[t] + k);
      if (feat[g] < -1 || feat[g] >= m.n_features_) fail<SerializationError>(where, "node feature out of range");
      if (feat[g] >= 0 && (left[g] <= k || left[g] + 1 >= size))
        fail<SerializationError>(where, "node children out of range");
      if (!std::isfinite(m.value_[g])) fail<SerializationError>(where, "node values must be finite");
    }
  }
  m.tree_offset_ = std::move(off);
  m.feature_.assign(feat.begin(), feat.end());
  m.left_.assign(left.begin(), left.end());
  return m;
}

}  // namespace custmine::anomaly
