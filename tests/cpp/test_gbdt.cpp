// Histogram gradient boosting: hand-checked stumps, missing and categorical splits,
// monotonic constraints, TreeSHAP sums, early stopping, threads, JSON, bad input.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "custmine/core/random.hpp"
#include "custmine/tree/gbdt.hpp"

using namespace custmine;
using namespace custmine::tree;

namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
const RowMatrix<double> kNoRows(0, 1);

RowMatrix<double> column(std::vector<double> v) {
  RowMatrix<double> X(static_cast<Index>(v.size()), 1);
  for (std::size_t i = 0; i < v.size(); ++i) X(static_cast<Index>(i), 0) = v[i];
  return X;
}

GBDTParams small(GBLoss loss) {
  GBDTParams p;
  p.loss = loss;
  p.min_samples_leaf = 1;
  p.min_sum_hessian = 0;
  return p;
}

void fit(GradientBoosting& m, const RowMatrix<double>& X, const std::vector<double>& y, int n_classes = 0) {
  RowMatrix<double> none(0, X.cols());
  m.fit(X, y, {}, n_classes, none, {}, {});
}

// 2000 rows, 4 features, class = x0 + x1^2 > 1 with 10 % noise, 15 % of x2 missing.
void data(RowMatrix<double>& X, std::vector<double>& y, std::uint64_t seed) {
  Rng rng(seed);
  const Index n = 2000;
  X.resize(n, 4);
  y.resize(n);
  for (Index i = 0; i < n; ++i) {
    for (int j = 0; j < 4; ++j) X(i, j) = rng.normal();
    if (rng.uniform() < 0.15) X(i, 2) = kNaN;
    bool c = X(i, 0) + X(i, 1) * X(i, 1) > 1;
    if (rng.uniform() < 0.1) c = !c;
    y[i] = c ? 1 : 0;
  }
}
}  // namespace

TEST(GradientBoosting, SquaredErrorStumpByHand) {
  // baseline = mean 5; one split at the midpoint 3.5; leaf values -5 and +5 (lr 1, no l2)
  auto X = column({1, 2, 3, 4, 5, 6});
  std::vector<double> y{0, 0, 0, 10, 10, 10};
  auto p = small(GBLoss::SquaredError);
  p.max_iter = 1;
  p.learning_rate = 1.0;
  p.max_leaf_nodes = 2;
  GradientBoosting m(p);
  fit(m, X, y);
  ASSERT_EQ(m.n_trees(), 1);
  auto t = m.tree(0);
  EXPECT_EQ(t.feature[0], 0);
  EXPECT_DOUBLE_EQ(t.threshold[0], 3.5);
  EXPECT_DOUBLE_EQ(m.baseline()[0], 5.0);
  auto pred = m.raw_predict(X);
  for (Index i = 0; i < 6; ++i) EXPECT_NEAR(pred(i, 0), y[i], 1e-12);
  // l2 shrinks the leaf values: -G/(H + l2) = -(3 * -5)/(3 + 3) = 2.5
  p.l2_regularization = 3.0;
  GradientBoosting r(p);
  fit(r, X, y);
  EXPECT_NEAR(r.raw_predict(X)(5, 0), 5.0 + 2.5, 1e-12);
}

TEST(GradientBoosting, LogLossFirstStepIsNewton) {
  // balanced classes: baseline 0, p = 0.5, g = p - y, h = 1/4; a pure leaf of 3 rows gets
  // -sum(g) / sum(h) = -(3 * -0.5) / (3 * 0.25) = 2
  auto X = column({1, 2, 3, 4, 5, 6});
  std::vector<double> y{0, 0, 0, 1, 1, 1};
  auto p = small(GBLoss::LogLoss);
  p.max_iter = 1;
  p.learning_rate = 1.0;
  GradientBoosting m(p);
  fit(m, X, y, 2);
  EXPECT_NEAR(m.baseline()[0], 0.0, 1e-12);
  auto raw = m.raw_predict(X);
  EXPECT_NEAR(raw(0, 0), -2.0, 1e-12);
  EXPECT_NEAR(raw(5, 0), 2.0, 1e-12);
}

TEST(GradientBoosting, MissingValuesLearnDirection) {
  // NaN rows have high targets like the right side: missing goes right
  auto X = column({1, 2, 3, 4, 5, 6, kNaN, kNaN});
  std::vector<double> y{0, 0, 0, 10, 10, 10, 10, 10};
  auto p = small(GBLoss::SquaredError);
  p.max_iter = 1;
  p.learning_rate = 1.0;
  p.max_leaf_nodes = 2;
  GradientBoosting m(p);
  fit(m, X, y);
  auto t = m.tree(0);
  EXPECT_EQ(t.missing_left[0], 0);
  auto pred = m.raw_predict(column({kNaN, 1.0, 6.0}));
  EXPECT_NEAR(pred(0, 0), 10.0, 1e-12);
  EXPECT_NEAR(pred(1, 0), 0.0, 1e-12);
  // and left when NaN rows look like the left side
  std::vector<double> y2{0, 0, 0, 10, 10, 10, 0, 0};
  GradientBoosting m2(p);
  fit(m2, X, y2);
  EXPECT_EQ(m2.tree(0).missing_left[0], 1);
  EXPECT_NEAR(m2.raw_predict(column({kNaN}))(0, 0), 0.0, 1e-12);
}

TEST(GradientBoosting, CategoricalSetSplitAndUnseenCategories) {
  // categories 0..5; 1, 3, 5 are high: no threshold separates them, a set split does
  std::vector<double> v, y;
  for (int r = 0; r < 10; ++r)
    for (int c = 0; c < 6; ++c) v.push_back(c), y.push_back(c % 2 ? 10.0 : 0.0);
  auto X = column(v);
  auto p = small(GBLoss::SquaredError);
  p.max_iter = 1;
  p.learning_rate = 1.0;
  p.max_leaf_nodes = 2;
  p.categorical = {1};
  GradientBoosting m(p);
  fit(m, X, y);
  auto pred = m.raw_predict(X);
  for (Index i = 0; i < X.rows(); ++i) EXPECT_NEAR(pred(i, 0), y[i], 1e-12);
  auto t = m.tree(0);
  EXPECT_EQ(t.cat_left[0].size(), 3U);
  // an unseen code (9) and NaN take the same (missing) direction
  auto u = m.raw_predict(column({9, kNaN}));
  EXPECT_DOUBLE_EQ(u(0, 0), u(1, 0));
  // more categories than max_bins: a clear error naming the feature
  std::vector<double> many;
  for (int c = 0; c < 300; ++c) many.push_back(c);
  GradientBoosting big(p);
  EXPECT_THROW(
      {
        try {
          fit(big, column(many), std::vector<double>(300, 1.0));
        } catch (const InvalidArgument& e) {
          EXPECT_NE(std::string(e.what()).find("categorical feature 0 has 300 categories"), std::string::npos);
          throw;
        }
      },
      InvalidArgument);
  GradientBoosting neg(p);
  EXPECT_THROW(fit(neg, column({-1, 0, 1, 2}), {1, 2, 3, 4}), InvalidArgument);
}

TEST(GradientBoosting, MonotonicConstraintHolds) {
  Rng rng(3);
  const Index n = 1500;
  RowMatrix<double> X(n, 2);
  std::vector<double> y(n);
  for (Index i = 0; i < n; ++i) {
    X(i, 0) = rng.uniform();
    X(i, 1) = rng.uniform();
    y[i] = std::sin(6 * X(i, 0)) + X(i, 1) + 0.3 * rng.normal();
  }
  GBDTParams p;
  p.max_iter = 40;
  p.monotonic_cst = {1, 0};
  GradientBoosting m(p);
  fit(m, X, y);
  RowMatrix<double> grid(101, 2);
  for (Index i = 0; i <= 100; ++i) grid(i, 0) = i / 100.0, grid(i, 1) = 0.5;
  auto pred = m.raw_predict(grid);
  for (Index i = 1; i <= 100; ++i) EXPECT_GE(pred(i, 0), pred(i - 1, 0) - 1e-12);
  p.categorical = {1, 0};
  EXPECT_THROW(p.validate(), InvalidArgument);
}

TEST(GradientBoosting, ContributionsSumToRawScore) {
  RowMatrix<double> X;
  std::vector<double> y;
  data(X, y, 1);
  GBDTParams p;
  p.loss = GBLoss::LogLoss;
  p.max_iter = 20;
  GradientBoosting m(p);
  fit(m, X, y, 2);
  auto raw = m.raw_predict(X);
  auto c = m.contributions(X.topRows(100));
  for (Index i = 0; i < 100; ++i) EXPECT_NEAR(c.row(i).sum(), raw(i, 0), 1e-9);
  // multiclass: one block per class
  std::vector<double> y3(y.size());
  for (std::size_t i = 0; i < y.size(); ++i) y3[i] = static_cast<double>(static_cast<int>(i % 3 == 0 ? 2 : y[i]));
  GradientBoosting mc(p);
  fit(mc, X, y3, 3);
  auto r3 = mc.raw_predict(X);
  auto c3 = mc.contributions(X.topRows(20));
  for (Index i = 0; i < 20; ++i)
    for (int k = 0; k < 3; ++k) {
      double s = 0;
      for (Index f = 0; f <= X.cols(); ++f) s += c3(i, f * 3 + k);
      EXPECT_NEAR(s, r3(i, k), 1e-9);
    }
}

TEST(GradientBoosting, ThreadInvarianceDeterminismAndJson) {
  RowMatrix<double> X;
  std::vector<double> y;
  data(X, y, 2);
  GBDTParams p;
  p.loss = GBLoss::LogLoss;
  p.max_iter = 25;
  p.subsample_for_bins = 500;  // the binning subsample is drawn from random_state
  p.random_state = 7;
  p.n_threads = 1;
  GradientBoosting a(p);
  fit(a, X, y, 2);
  p.n_threads = 2;
  GradientBoosting b(p);
  fit(b, X, y, 2);
  const auto ra = a.raw_predict(X, 1), rb = b.raw_predict(X, 2);
  for (Index i = 0; i < X.rows(); ++i) EXPECT_EQ(ra(i, 0), rb(i, 0));
  EXPECT_EQ(to_json(a.to_document()), to_json(b.to_document()));
  auto back = GradientBoosting::from_document(from_json(to_json(a.to_document()), "GradientBoosting"));
  const auto rc = back.raw_predict(X);
  for (Index i = 0; i < X.rows(); ++i) EXPECT_EQ(ra(i, 0), rc(i, 0));
  // a corrupt document is a SerializationError, not a crash
  auto doc = a.to_document();
  doc.state["left"].as_array()[0] = 1 << 30;
  EXPECT_THROW(GradientBoosting::from_document(doc), SerializationError);
  doc = a.to_document();
  doc.state["roots"].as_array().pop_back();
  EXPECT_THROW(GradientBoosting::from_document(doc), SerializationError);
}

TEST(GradientBoosting, HistogramSubtractionMatchesDirectSums) {
  // Each leaf's count recorded at the split equals the rows that reach it on prediction.
  RowMatrix<double> X;
  std::vector<double> y;
  data(X, y, 4);
  GBDTParams p;
  p.max_iter = 3;
  GradientBoosting m(p);
  fit(m, X, y);
  for (Index t = 0; t < m.n_trees(); ++t) {
    auto tv = m.tree(t);
    std::vector<double> hits(tv.feature.size(), 0.0);
    for (Index i = 0; i < X.rows(); ++i) {
      std::int32_t nd = 0;
      while (tv.feature[nd] >= 0) {
        const double x = X(i, tv.feature[nd]);
        const bool left = std::isnan(x) ? tv.missing_left[nd] != 0 : x <= tv.threshold[nd];
        nd = left ? tv.left[nd] : tv.right[nd];
      }
      hits[nd] += 1;
    }
    for (std::size_t j = 0; j < hits.size(); ++j)
      if (tv.feature[j] < 0) EXPECT_EQ(hits[j], tv.count[j]);
  }
}

TEST(GradientBoosting, EarlyStoppingOnNoise) {
  Rng rng(5);
  const Index n = 3000;
  RowMatrix<double> X(n, 3), V(1000, 3);
  std::vector<double> y(n), yv(1000);
  for (Index i = 0; i < n; ++i) {
    for (int j = 0; j < 3; ++j) X(i, j) = rng.normal();
    y[i] = rng.normal();
  }
  for (Index i = 0; i < 1000; ++i) {
    for (int j = 0; j < 3; ++j) V(i, j) = rng.normal();
    yv[i] = rng.normal();
  }
  GBDTParams p;
  p.max_iter = 200;
  GradientBoosting m(p);
  m.fit(X, y, {}, 0, V, yv, {});
  EXPECT_LT(m.n_iter(), 200);
  EXPECT_EQ(m.validation_score().size(), static_cast<std::size_t>(m.n_iter()) + 1);
  EXPECT_EQ(m.n_trees(), m.n_iter());
}

TEST(GradientBoosting, LossesAndBadInput) {
  auto X = column({1, 2, 3, 4, 5, 6, 7, 8});
  std::vector<double> y{1, 0, 2, 3, 1, 4, 6, 5};
  for (auto loss : {GBLoss::SquaredError, GBLoss::AbsoluteError, GBLoss::Poisson, GBLoss::Tweedie}) {
    GradientBoosting m(small(loss));
    fit(m, X, y);
    auto r = m.raw_predict(X);
    for (Index i = 0; i < 8; ++i) EXPECT_TRUE(std::isfinite(r(i, 0)));
  }
  // absolute error: the baseline is the median
  GradientBoosting med(small(GBLoss::AbsoluteError));
  fit(med, X, y);
  EXPECT_DOUBLE_EQ(med.baseline()[0], 2.5);
  // bad input
  GradientBoosting m(small(GBLoss::SquaredError));
  std::vector<double> ynan = y;
  ynan[2] = kNaN;
  EXPECT_THROW(fit(m, X, ynan), InvalidArgument);
  std::vector<double> yneg = y;
  yneg[0] = -1;
  GradientBoosting pois(small(GBLoss::Poisson));
  EXPECT_THROW(fit(pois, X, yneg), InvalidArgument);
  EXPECT_THROW(fit(m, X, std::vector<double>{1, 2}), ShapeError);
  GradientBoosting clf(small(GBLoss::LogLoss));
  EXPECT_THROW(fit(clf, X, y, 2), InvalidArgument);  // codes beyond 0..1
  fit(m, X, y);
  RowMatrix<double> wide(2, 3);
  wide.setZero();
  EXPECT_THROW((void)m.raw_predict(wide), ShapeError);
  GradientBoosting unfitted;
  EXPECT_THROW((void)unfitted.raw_predict(X), NotFittedError);
  GBDTParams bad;
  bad.max_bins = 256;
  EXPECT_THROW(bad.validate(), InvalidArgument);
  bad = GBDTParams{};
  bad.variance_power = 2.5;
  EXPECT_THROW(bad.validate(), InvalidArgument);
  bad = GBDTParams{};
  bad.learning_rate = 0;
  EXPECT_THROW(bad.validate(), InvalidArgument);
}

TEST(GradientBoosting, FewValuedFeaturesBinnedAtMidpoints) {
  // Up to 64 distinct values take the path that does not sort all rows; 65 and more the
  // sorting one. Both put one bin per value, edges at the midpoints; NaN is not a value and
  // -0.0 equals 0.0.
  for (int levels : {2, 3, 64, 65, 200}) {
    Rng rng(static_cast<std::uint64_t>(levels));
    const Index n = 3000;
    RowMatrix<double> X(n, 1);
    std::vector<double> y(static_cast<std::size_t>(n));
    for (Index i = 0; i < n; ++i) {
      X(i, 0) = static_cast<double>(rng.below(static_cast<std::uint64_t>(levels))) * 1.5 - 3.0;
      if (i % 97 == 0) X(i, 0) = kNaN;
      if (X(i, 0) == 0.0 && i % 2 == 0) X(i, 0) = -0.0;
      y[static_cast<std::size_t>(i)] = rng.normal();
    }
    std::vector<double> distinct;
    for (Index i = 0; i < n; ++i)
      if (!std::isnan(X(i, 0))) distinct.push_back(X(i, 0) == 0.0 ? 0.0 : X(i, 0));
    std::sort(distinct.begin(), distinct.end());
    distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
    GBDTParams p = small(GBLoss::SquaredError);
    p.max_iter = 1;
    GradientBoosting m(p);
    fit(m, X, y);
    const auto& edges = m.bin_mappers()[0].edges;
    ASSERT_EQ(edges.size(), distinct.size()) << levels << " levels";
    for (std::size_t k = 0; k + 1 < distinct.size(); ++k)
      EXPECT_EQ(edges[k], distinct[k] + (distinct[k + 1] - distinct[k]) / 2) << levels << " levels, edge " << k;
    EXPECT_TRUE(std::isinf(edges.back()));
  }
}

namespace {
// Mixed data for the histogram layouts: x0 continuous (summed per row group), the others
// on one bin in at least half of the rows (summed from each row's list of other cells, the
// frequent bin filled in from the leaf total): x1 binary 80 % zeros, x2 70 % at 5.0 (a
// middle bin), x3 60 % missing (the missing bin), x4 codes 0/1/2 with 55 % at 2 (the last).
void mixed(RowMatrix<double>& X, std::vector<double>& y, Index n, std::uint64_t seed) {
  Rng rng(seed);
  X.resize(n, 5);
  y.resize(static_cast<std::size_t>(n));
  for (Index i = 0; i < n; ++i) {
    X(i, 0) = rng.normal();
    X(i, 1) = rng.uniform() < 0.2 ? 1.0 : 0.0;
    X(i, 2) = rng.uniform() < 0.7 ? 5.0 : rng.normal() * 4 + 5;
    X(i, 3) = rng.uniform() < 0.6 ? kNaN : rng.normal();
    const double u = rng.uniform();
    X(i, 4) = u < 0.55 ? 2.0 : (u < 0.8 ? 0.0 : 1.0);
    y[static_cast<std::size_t>(i)] = X(i, 0) + 2 * X(i, 1) - 0.3 * std::abs(X(i, 2) - 5) +
                                     (std::isnan(X(i, 3)) ? 1.5 : X(i, 3)) + (X(i, 4) == 1 ? -1 : 0) +
                                     rng.normal();
  }
}

// Leaf-wise regression tree by exhaustive search (squared error, one iteration, learning
// rate 1, no l2): every partition of every leaf by a threshold between distinct values,
// missing rows on either side, both sides at least min_leaf rows; returns each row's
// prediction.
std::vector<double> brute_force_tree(const RowMatrix<double>& X, const std::vector<double>& y, int max_leaves,
                                     std::size_t min_leaf) {
  const Index n = X.rows();
  double mean = 0;
  for (double v : y) mean += v;
  mean /= static_cast<double>(n);
  struct Cand {
    double gain = 0;
    std::vector<Index> left, right;
  };
  auto sum = [&](const std::vector<Index>& rows) {
    double s = 0;
    for (Index r : rows) s += y[static_cast<std::size_t>(r)] - mean;
    return s;
  };
  auto score = [&](const std::vector<Index>& rows) {
    const double s = sum(rows);
    return s * s / static_cast<double>(rows.size());
  };
  auto best_split = [&](const std::vector<Index>& rows) {
    Cand best;
    const double parent = score(rows);
    for (Index j = 0; j < X.cols(); ++j) {
      std::vector<double> vals;
      std::vector<Index> miss;
      for (Index r : rows) {
        if (std::isnan(X(r, j))) miss.push_back(r);
        else vals.push_back(X(r, j));
      }
      std::sort(vals.begin(), vals.end());
      vals.erase(std::unique(vals.begin(), vals.end()), vals.end());
      for (std::size_t t = 0; t < vals.size(); ++t) {
        for (int ml = 0; ml < 2; ++ml) {
          Cand c;
          for (Index r : rows) {
            const double x = X(r, j);
            const bool left = std::isnan(x) ? ml == 1 : x <= vals[t];
            (left ? c.left : c.right).push_back(r);
          }
          if (c.left.size() < min_leaf || c.right.size() < min_leaf) continue;
          c.gain = score(c.left) + score(c.right) - parent;
          if (c.gain > best.gain) best = std::move(c);
        }
      }
    }
    return best;
  };
  std::vector<std::vector<Index>> leaves(1);
  for (Index i = 0; i < n; ++i) leaves[0].push_back(i);
  while (static_cast<int>(leaves.size()) < max_leaves) {
    int pick = -1;
    Cand best;
    for (std::size_t l = 0; l < leaves.size(); ++l) {
      Cand c = best_split(leaves[l]);
      if (c.gain > best.gain) best = std::move(c), pick = static_cast<int>(l);
    }
    if (pick < 0) break;
    leaves[static_cast<std::size_t>(pick)] = std::move(best.left);
    leaves.push_back(std::move(best.right));
  }
  std::vector<double> pred(static_cast<std::size_t>(n));
  for (const auto& rows : leaves)
    for (Index r : rows) pred[static_cast<std::size_t>(r)] = mean + sum(rows) / static_cast<double>(rows.size());
  return pred;
}
}  // namespace

TEST(GradientBoosting, SparseAndDenseHistogramsGrowTheExhaustiveTree) {
  RowMatrix<double> X;
  std::vector<double> y;
  mixed(X, y, 250, 11);  // at most 255 distinct values per feature: one bin per value
  for (int leaves : {2, 3, 5, 8, 12}) {
    for (Index min_leaf : {1, 15}) {
      auto p = small(GBLoss::SquaredError);
      p.max_iter = 1;
      p.learning_rate = 1.0;
      p.max_leaf_nodes = leaves;
      p.min_samples_leaf = min_leaf;
      GradientBoosting m(p);
      fit(m, X, y);
      const auto want = brute_force_tree(X, y, leaves, static_cast<std::size_t>(min_leaf));
      const auto got = m.raw_predict(X);
      for (Index i = 0; i < X.rows(); ++i)
        ASSERT_NEAR(got(i, 0), want[static_cast<std::size_t>(i)], 1e-9) << leaves << " leaves, row " << i;
    }
  }
}

TEST(GradientBoosting, SparseHistogramsDoNotDependOnThreads) {
  // large enough that histograms of the first leaves are summed by two threads
  RowMatrix<double> X;
  std::vector<double> y;
  mixed(X, y, 250000, 12);
  GBDTParams p;
  p.max_iter = 3;
  p.n_threads = 1;
  GradientBoosting a(p);
  fit(a, X, y);
  p.n_threads = 2;
  GradientBoosting b(p);
  fit(b, X, y);
  EXPECT_EQ(to_json(a.to_document()), to_json(b.to_document()));
}

TEST(GradientBoosting, WideDataUsesWideSparseCellsWithTheSameTrees) {
  // 290 continuous features of 255 bins each put the histogram past 2^16 cells, so the
  // sparse features' row lists hold 32-bit cells; the trees must equal those grown on the
  // sparse features alone (16-bit cells), which carry all of the (strong) signal.
  Rng rng(31);
  const Index n = 600, wide = 290, ns = 3;
  RowMatrix<double> X(n, wide + ns), Xs(n, ns);
  std::vector<double> y(static_cast<std::size_t>(n));
  for (Index i = 0; i < n; ++i) {
    for (Index j = 0; j < wide; ++j) X(i, j) = rng.normal();
    Xs(i, 0) = rng.uniform() < 0.3 ? 1.0 : 0.0;
    Xs(i, 1) = rng.uniform() < 0.25 ? kNaN : (rng.uniform() < 0.2 ? 2.0 : 0.0);
    Xs(i, 2) = rng.uniform() < 0.4 ? 1.0 : 0.0;
    for (Index j = 0; j < ns; ++j) X(i, wide + j) = Xs(i, j);
    y[static_cast<std::size_t>(i)] = 10 * Xs(i, 0) + (std::isnan(Xs(i, 1)) ? 6.0 : 3 * Xs(i, 1)) + 1.5 * Xs(i, 2) +
                                     0.01 * rng.normal();
  }
  auto p = small(GBLoss::SquaredError);
  p.max_iter = 2;
  p.max_leaf_nodes = 6;
  p.min_samples_leaf = 5;
  GradientBoosting a(p), b(p);
  fit(a, X, y);
  fit(b, Xs, y);
  const auto ra = a.raw_predict(X), rb = b.raw_predict(Xs);
  for (Index i = 0; i < n; ++i) ASSERT_NEAR(ra(i, 0), rb(i, 0), 1e-9) << "row " << i;
  for (Index t = 0; t < a.n_trees(); ++t) {
    const auto ta = a.tree(t), tb = b.tree(t);
    ASSERT_EQ(ta.feature.size(), tb.feature.size());
    for (std::size_t u = 0; u < ta.feature.size(); ++u)
      EXPECT_EQ(ta.feature[u] < 0 ? -1 : ta.feature[u] - wide, tb.feature[u]);
  }
}
