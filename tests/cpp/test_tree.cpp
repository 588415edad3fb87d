// Tree family: CART splits, criteria, growth limits, pruning, forests, JSON, errors.
#include <gtest/gtest.h>

#include <cmath>

#include "custmine/core/random.hpp"
#include "custmine/tree/cart.hpp"

using namespace custmine;
using namespace custmine::tree;

namespace {
RowMatrix<double> column(std::vector<double> v) {
  RowMatrix<double> X(static_cast<Index>(v.size()), 1);
  for (std::size_t i = 0; i < v.size(); ++i) X(static_cast<Index>(i), 0) = v[i];
  return X;
}
TreeParams with(Criterion c) {
  TreeParams p;
  p.criterion = c;
  return p;
}
// Random data: 3 features, class = (x0 > 0.5) xor (x1 > 0.3) with 10 % label noise.
void xor_data(Index n, RowMatrix<double>& X, std::vector<double>& y, std::uint64_t seed) {
  Rng rng(seed);
  X.resize(n, 3);
  y.resize(static_cast<std::size_t>(n));
  for (Index i = 0; i < n; ++i) {
    for (int j = 0; j < 3; ++j) X(i, j) = std::round(rng.uniform() * 100) / 100;
    bool c = (X(i, 0) > 0.5) != (X(i, 1) > 0.3);
    if (rng.uniform() < 0.1) c = !c;
    y[i] = c ? 1.0 : 0.0;
  }
}
}  // namespace

TEST(DecisionTree, GiniStumpAtMidpoint) {
  auto X = column({1, 2, 3, 4, 5, 6});
  std::vector<double> y{0, 0, 0, 1, 1, 1};
  DecisionTree t(with(Criterion::Gini));
  t.fit(X, y, {}, 2);
  ASSERT_EQ(t.n_nodes(), 3);
  EXPECT_EQ(t.feature()[0], 0);
  EXPECT_DOUBLE_EQ(t.threshold()[0], 3.5);          // midpoint of 3 and 4
  EXPECT_DOUBLE_EQ(t.impurity()[0], 0.5);           // 1 - (1/2)^2 - (1/2)^2
  EXPECT_DOUBLE_EQ(t.impurity()[t.left()[0]], 0.0);
  auto P = t.predict_values(column({3.5, 3.6}));
  EXPECT_DOUBLE_EQ(P(0, 0), 1.0);  // x <= threshold goes left
  EXPECT_DOUBLE_EQ(P(1, 1), 1.0);
  // all importance on the one feature: 6 * 0.5 - 0 - 0
  EXPECT_DOUBLE_EQ(t.raw_importances()[0], 3.0);
}

TEST(DecisionTree, EntropyIsInBits) {
  auto X = column({1, 2, 3, 4});
  std::vector<double> y{0, 1, 0, 1};
  TreeParams p = with(Criterion::Entropy);
  p.max_depth = 1;
  DecisionTree t(p);
  t.fit(X, y, {}, 2);
  EXPECT_DOUBLE_EQ(t.impurity()[0], 1.0);
}

TEST(DecisionTree, RegressionMeansAndVariance) {
  auto X = column({1, 2, 3, 4});
  std::vector<double> y{1, 1, 5, 5};
  DecisionTree t(with(Criterion::SquaredError));
  t.fit(X, y, {}, 0);
  EXPECT_DOUBLE_EQ(t.threshold()[0], 2.5);
  EXPECT_DOUBLE_EQ(t.impurity()[0], 4.0);  // mean 3, squared deviations 4 each
  auto P = t.predict_values(column({0, 10}));
  EXPECT_DOUBLE_EQ(P(0, 0), 1.0);
  EXPECT_DOUBLE_EQ(P(1, 0), 5.0);
}

TEST(DecisionTree, PoissonHalfDeviance) {
  auto X = column({1, 2, 3, 4});
  std::vector<double> y{0, 0, 0, 3};
  DecisionTree t(with(Criterion::Poisson));
  t.fit(X, y, {}, 0);
  // mean 0.75: (1/4) * sum y log(y / 0.75) = 0.75 log 4. Every split leaves a child with a
  // zero sum, whose Poisson deviance is undefined, so the root stays a leaf.
  EXPECT_NEAR(t.impurity()[0], 0.75 * std::log(4.0), 1e-12);
  EXPECT_EQ(t.n_nodes(), 1);
  std::vector<double> y2{1, 1, 3, 3};
  t.fit(X, y2, {}, 0);
  EXPECT_EQ(t.n_nodes(), 3);
  EXPECT_DOUBLE_EQ(t.threshold()[0], 2.5);
}

TEST(DecisionTree, SampleWeightEqualsDuplication) {
  RowMatrix<double> X;
  std::vector<double> y;
  xor_data(200, X, y, 3);
  std::vector<double> w(200, 1.0);
  RowMatrix<double> Xd(200 + 50, 3);
  std::vector<double> yd(y);
  Xd.topRows(200) = X;
  for (Index i = 0; i < 50; ++i) {
    w[i] = 2.0;
    Xd.row(200 + i) = X.row(i);
    yd.push_back(y[i]);
  }
  TreeParams p = with(Criterion::Gini);
  p.max_depth = 4;
  DecisionTree a(p), b(p);
  a.fit(X, y, w, 2);
  b.fit(Xd, yd, {}, 2);
  EXPECT_TRUE(a.predict_values(X).isApprox(b.predict_values(X), 1e-12));
  EXPECT_EQ(a.feature(), b.feature());
  EXPECT_EQ(a.threshold(), b.threshold());
}

TEST(DecisionTree, GrowthLimits) {
  RowMatrix<double> X;
  std::vector<double> y;
  xor_data(400, X, y, 5);
  TreeParams p = with(Criterion::Gini);
  p.max_depth = 3;
  DecisionTree t(p);
  t.fit(X, y, {}, 2);
  EXPECT_LE(t.depth(), 3);
  p.max_depth = -1;
  p.min_samples_leaf = 30;
  t = DecisionTree(p);
  t.fit(X, y, {}, 2);
  for (Index i = 0; i < t.n_nodes(); ++i) EXPECT_GE(t.n_node_samples()[i], 30);
  p.min_samples_leaf = 1;
  p.max_leaf_nodes = 5;
  t = DecisionTree(p);
  t.fit(X, y, {}, 2);
  EXPECT_EQ(t.n_leaves(), 5);
}

TEST(DecisionTree, BestFirstSplitsLargestDecreaseFirst) {
  // Left half (x < 10) separates perfectly at 4.5 (decrease 0.5 * 0.5 = 0.25);
  // right half has a weaker split. With 3 leaves the left half must be split.
  auto X = column({0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29});
  std::vector<double> y{0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 3, 2, 3};
  TreeParams p = with(Criterion::Gini);
  p.max_leaf_nodes = 3;
  DecisionTree t(p);
  t.fit(X, y, {}, 4);
  EXPECT_EQ(t.n_leaves(), 3);
  EXPECT_DOUBLE_EQ(t.threshold()[0], 14.5);
  EXPECT_DOUBLE_EQ(t.threshold()[t.left()[0]], 4.5);
  EXPECT_EQ(t.left()[t.right()[0]], -1);
}

TEST(DecisionTree, CostComplexityPruning) {
  RowMatrix<double> X;
  std::vector<double> y;
  xor_data(300, X, y, 7);
  DecisionTree full(with(Criterion::Gini));
  full.fit(X, y, {}, 2);
  std::vector<double> alphas, imps;
  full.pruning_path(alphas, imps);
  ASSERT_GE(alphas.size(), 3u);
  for (std::size_t i = 1; i < imps.size(); ++i) EXPECT_GE(imps[i], imps[i - 1] - 1e-12);
  EXPECT_NEAR(imps.back(), full.impurity()[0], 1e-12);  // the root alone
  // Pruning at an alpha between two steps keeps exactly the subtree of that step:
  // its total leaf impurity equals the path's value.
  std::size_t k = alphas.size() / 2;
  while (k + 2 < alphas.size() && !(alphas[k + 1] > alphas[k])) ++k;
  ASSERT_GT(alphas[k + 1], alphas[k]);
  TreeParams p = with(Criterion::Gini);
  p.ccp_alpha = 0.5 * (alphas[k] + alphas[k + 1]);
  DecisionTree pruned(p);
  pruned.fit(X, y, {}, 2);
  double leaf_risk = 0;
  for (Index i = 0; i < pruned.n_nodes(); ++i)
    if (pruned.left()[i] < 0) leaf_risk += pruned.weighted_n_node_samples()[i] / 300.0 * pruned.impurity()[i];
  EXPECT_NEAR(leaf_risk, imps[k], 1e-12);
  EXPECT_LT(pruned.n_leaves(), full.n_leaves());
  p.ccp_alpha = alphas.back() + 1;
  DecisionTree root(p);
  root.fit(X, y, {}, 2);
  EXPECT_EQ(root.n_nodes(), 1);
}

TEST(DecisionTree, MinImpurityDecrease) {
  auto X = column({1, 2, 3, 4});
  std::vector<double> y{0, 0, 1, 1};
  TreeParams p = with(Criterion::Gini);
  p.min_impurity_decrease = 0.5;  // the split decreases impurity by exactly 0.5
  DecisionTree t(p);
  t.fit(X, y, {}, 2);
  EXPECT_EQ(t.n_nodes(), 3);
  p.min_impurity_decrease = 0.51;
  t = DecisionTree(p);
  t.fit(X, y, {}, 2);
  EXPECT_EQ(t.n_nodes(), 1);
}

TEST(DecisionTree, JsonRoundTripAndCorruptDocuments) {
  RowMatrix<double> X;
  std::vector<double> y;
  xor_data(200, X, y, 9);
  TreeParams p = with(Criterion::Entropy);
  p.max_depth = 5;
  DecisionTree t(p);
  t.fit(X, y, {}, 2);
  const auto text = to_json(t.to_document());
  auto back = DecisionTree::from_document(from_json(text, "DecisionTree"));
  EXPECT_EQ(back.predict_values(X), t.predict_values(X));
  EXPECT_EQ(to_json(back.to_document()), text);

  auto corrupt = [&](auto edit) {
    auto doc = t.to_document();
    edit(doc);
    return to_json(doc);
  };
  const auto cycle = corrupt([](ModelDocument& d) { d.state["left"].as_array()[0] = 0; });
  EXPECT_THROW(DecisionTree::from_document(from_json(cycle, "DecisionTree")), SerializationError);
  const auto badf = corrupt([](ModelDocument& d) { d.state["feature"].as_array()[0] = 99; });
  EXPECT_THROW(DecisionTree::from_document(from_json(badf, "DecisionTree")), SerializationError);
  const auto shortv = corrupt([](ModelDocument& d) { d.state["value"].as_array().pop_back(); });
  EXPECT_THROW(DecisionTree::from_document(from_json(shortv, "DecisionTree")), SerializationError);
  const auto badp = corrupt([](ModelDocument& d) { d.params["criterion"] = "magic"; });
  EXPECT_THROW(DecisionTree::from_document(from_json(badp, "DecisionTree")), SerializationError);
  EXPECT_THROW(from_json(text.substr(0, text.size() / 2), "DecisionTree"), SerializationError);
}

TEST(DecisionTree, BadInput) {
  auto X = column({1, 2, 3});
  DecisionTree t(with(Criterion::SquaredError));
  EXPECT_THROW(t.predict_values(X), NotFittedError);
  std::vector<double> ynan{1, NAN, 2};
  EXPECT_THROW(t.fit(X, ynan, {}, 0), InvalidArgument);
  std::vector<double> y{1, 2};
  EXPECT_THROW(t.fit(X, y, {}, 0), ShapeError);
  DecisionTree pois(with(Criterion::Poisson));
  std::vector<double> yneg{1, -1, 2};
  EXPECT_THROW(pois.fit(X, yneg, {}, 0), InvalidArgument);
  std::vector<double> ok{1, 2, 3};
  t.fit(X, ok, {}, 0);
  RowMatrix<double> X2(2, 2);
  X2.setZero();
  EXPECT_THROW(t.predict_values(X2), ShapeError);
  DecisionTree c(with(Criterion::Gini));
  std::vector<double> bad_code{0, 1, 2};
  EXPECT_THROW(c.fit(X, bad_code, {}, 2), InvalidArgument);
  TreeParams p;
  p.min_samples_split = 1;
  EXPECT_THROW(DecisionTree(p).fit(X, ok, {}, 2), InvalidArgument);
}

TEST(RandomForest, ThreadInvarianceSeedAndJson) {
  RowMatrix<double> X;
  std::vector<double> y;
  xor_data(500, X, y, 11);
  ForestParams p;
  p.n_estimators = 16;
  p.tree.max_features = 2;
  p.tree.random_state = 42;
  p.oob_score = true;
  p.n_threads = 1;
  RandomForest a(p);
  a.fit(X, y, {}, 2);
  p.n_threads = 2;
  RandomForest b(p);
  b.fit(X, y, {}, 2);
  EXPECT_EQ(to_json(a.to_document()), to_json(b.to_document()));
  ASSERT_EQ(a.oob_values().rows(), 500);
  EXPECT_TRUE(((a.oob_values().array() == b.oob_values().array()) ||
               (a.oob_values().array().isNaN() && b.oob_values().array().isNaN()))
                  .all());
  EXPECT_EQ(a.predict_values(X, 1), b.predict_values(X, 2));
  p.tree.random_state = 43;
  RandomForest c(p);
  c.fit(X, y, {}, 2);
  EXPECT_NE(to_json(a.to_document()), to_json(c.to_document()));
  // probabilities: rows sum to one; the forest is the mean of its trees
  auto P = a.predict_values(X);
  for (Index i = 0; i < P.rows(); ++i) EXPECT_NEAR(P.row(i).sum(), 1.0, 1e-12);
  RowMatrix<double> mean = RowMatrix<double>::Zero(X.rows(), 2);
  for (const auto& t : a.trees()) mean += t.predict_values(X);
  EXPECT_TRUE((mean / 16.0).isApprox(P, 1e-12));
  auto back = RandomForest::from_document(from_json(to_json(a.to_document()), "RandomForest"));
  EXPECT_EQ(back.predict_values(X), P);
  // OOB accuracy is a fair estimate here: well above chance, below training accuracy.
  int correct = 0, seen = 0;
  for (Index i = 0; i < X.rows(); ++i) {
    if (std::isnan(a.oob_values()(i, 0))) continue;
    ++seen;
    correct += (a.oob_values()(i, 1) > 0.5) == (y[i] > 0.5);
  }
  EXPECT_GT(static_cast<double>(correct) / seen, 0.75);
  auto imp = a.feature_importances();
  EXPECT_NEAR(imp[0] + imp[1] + imp[2], 1.0, 1e-12);
  EXPECT_LT(imp[2], imp[0]);  // x2 is pure noise
  EXPECT_LT(imp[2], imp[1]);
}

TEST(RandomForest, BadParams) {
  ForestParams p;
  p.bootstrap = false;
  p.oob_score = true;
  EXPECT_THROW(p.validate(), InvalidArgument);
  p = ForestParams{};
  p.n_estimators = 0;
  EXPECT_THROW(p.validate(), InvalidArgument);
}

// max_bins: a binned forest is thread-invariant and round-trips; documents written before
// max_bins existed load as exact-split trees; out-of-range values are refused.
TEST(RandomForest, BinnedSplits) {
  RowMatrix<double> X;
  std::vector<double> y;
  xor_data(800, X, y, 12);
  ForestParams p;
  p.n_estimators = 8;
  p.tree.max_bins = 16;
  p.tree.random_state = 5;
  RandomForest a(p), b(p);
  a.fit(X, y, {}, 2);
  p.n_threads = 2;
  b = RandomForest(p);
  b.fit(X, y, {}, 2);
  EXPECT_EQ(to_json(a.to_document()), to_json(b.to_document()));
  auto back = RandomForest::from_document(from_json(to_json(a.to_document()), "RandomForest"));
  EXPECT_EQ(back.params().tree.max_bins, 16);
  EXPECT_EQ(back.predict_values(X), a.predict_values(X));

  DecisionTree exact(with(Criterion::Gini));
  exact.fit(X, y, {}, 2);
  auto doc = exact.to_document();
  doc.params.erase("max_bins");
  auto old = DecisionTree::from_document(from_json(to_json(doc), "DecisionTree"));
  EXPECT_EQ(old.params().max_bins, 0);
  EXPECT_EQ(old.predict_values(X), exact.predict_values(X));

  TreeParams bad;
  for (int v : {-1, 1, 65536}) {
    bad.max_bins = v;
    EXPECT_THROW(bad.validate(), InvalidArgument) << v;
  }
}

TEST(DecisionTree, ZeroWeightRowsTakeNoPart) {
  // The zero-weight row at x = 3 would otherwise move the threshold from 3.5 (between 2 and 5)
  // to the midpoint 2.5 or 4; it also must not count as a sample.
  auto X = column({1, 2, 3, 5, 6});
  std::vector<double> y{0, 0, 1, 1, 1}, w{1, 1, 0, 1, 1};
  DecisionTree t(with(Criterion::Gini));
  t.fit(X, y, w, 2);
  EXPECT_DOUBLE_EQ(t.threshold()[0], 3.5);
  EXPECT_EQ(t.n_node_samples()[0], 4);
  std::vector<double> zero(5, 0.0);
  EXPECT_THROW(t.fit(X, y, zero, 2), InvalidArgument);
}

TEST(DecisionTree, MinWeightFractionLeaf) {
  // Heavy last row: a leaf of weight < 40 % of 10 is not allowed, so the only split leaves
  // the heavy row (weight 6.4) alone... weight 1+1+1+1 = 4 >= 4 on the other side.
  auto X = column({1, 2, 3, 4, 5});
  std::vector<double> y{0, 1, 0, 1, 1}, w{1, 1, 1, 1, 6};
  TreeParams p = with(Criterion::Gini);
  p.min_weight_fraction_leaf = 0.4;
  DecisionTree t(p);
  t.fit(X, y, w, 2);
  ASSERT_EQ(t.n_nodes(), 3);
  EXPECT_DOUBLE_EQ(t.threshold()[0], 4.5);
  for (Index i = 0; i < t.n_nodes(); ++i) EXPECT_GE(t.weighted_n_node_samples()[i], 4.0);
  p.min_weight_fraction_leaf = 0.6;
  EXPECT_THROW(DecisionTree(p).fit(X, y, w, 2), InvalidArgument);
}

TEST(DecisionTree, TreeShapHandChecked) {
  // One split on x0 at 0.5 with 1 row left (value 0) and 3 rows right (value 4):
  // expected value 3; a row going right gets phi0 = 4 - 3 = 1, a row going left -3.
  RowMatrix<double> X(4, 2);
  X << 0, 7, 1, 7, 1, 7, 1, 7;
  std::vector<double> y{0, 4, 4, 4};
  DecisionTree t(with(Criterion::SquaredError));
  t.fit(X, y, {}, 0);
  auto C = t.contributions(X);
  EXPECT_NEAR(C(0, 0), -3.0, 1e-12);
  EXPECT_NEAR(C(1, 0), 1.0, 1e-12);
  EXPECT_NEAR(C(1, 1), 0.0, 1e-12);  // x1 is never used
  EXPECT_NEAR(C(1, 2), 3.0, 1e-12);  // expected value
  // Sums equal the prediction on random data, for trees and forests, any thread count.
  RowMatrix<double> Xr;
  std::vector<double> yr;
  xor_data(300, Xr, yr, 13);
  ForestParams p;
  p.n_estimators = 5;
  p.tree.max_depth = 6;
  RandomForest f(p);
  f.fit(Xr, yr, {}, 2);
  auto Cf = f.contributions(Xr, 2);
  auto P = f.predict_values(Xr);
  for (Index i = 0; i < Xr.rows(); ++i)
    for (int k = 0; k < 2; ++k) {
      double s = 0;
      for (Index j = 0; j <= 3; ++j) s += Cf(i, j * 2 + k);
      EXPECT_NEAR(s, P(i, k), 1e-12);
    }
  EXPECT_EQ(f.contributions(Xr, 1), Cf);
}
