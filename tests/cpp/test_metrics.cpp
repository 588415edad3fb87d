// Metrics: hand-checked small cases, ties, invalid input and thread invariance.
#include <gtest/gtest.h>

#include <vector>

#include "custmine/core/random.hpp"
#include "custmine/metrics/classification.hpp"

using namespace custmine;
using namespace custmine::metrics;

namespace {
template <class T>
std::span<const T> sp(const std::vector<T>& v) { return {v.data(), v.size()}; }
}  // namespace

TEST(Metrics, RocAucByHandWithTies) {
  // Positives score {0.9, 0.5}, negatives {0.5, 0.1}: pairs (0.9>0.5) (0.9>0.1) (0.5=0.5 -> 1/2) (0.5>0.1)
  // give AUC = 3.5 / 4.
  std::vector<std::uint8_t> y{1, 1, 0, 0};
  std::vector<double> s{0.9, 0.5, 0.5, 0.1};
  EXPECT_DOUBLE_EQ(roc_auc<double>(sp(y), sp(s)), 3.5 / 4);
  // KS: after 0.9 TPR-FPR = 0.5; after 0.5: 1 - 0.5 = 0.5; max 0.5.
  EXPECT_DOUBLE_EQ(ks_statistic<double>(sp(y), sp(s)), 0.5);
  // AP: threshold 0.9 -> R 0.5 P 1; 0.5 -> R 1 P 2/3: 0.5*1 + 0.5*2/3.
  EXPECT_DOUBLE_EQ(average_precision<double>(sp(y), sp(s)), 0.5 + 0.5 * 2.0 / 3.0);
}

TEST(Metrics, RocAucMatchesPairCountingAndIsThreadInvariant) {
  Rng rng(7);
  const int n = 250000;  // above the parallel-sort threshold
  std::vector<std::uint8_t> y(n);
  std::vector<double> s(n);
  for (int i = 0; i < n; ++i) y[i] = rng.uniform() < 0.3, s[i] = std::floor(rng.uniform() * 50);  // many ties
  // Pair counting through class histograms (exact for integer scores).
  std::vector<double> pos(50, 0), neg(50, 0);
  for (int i = 0; i < n; ++i) (y[i] ? pos : neg)[static_cast<int>(s[i])] += 1;
  double wins = 0, below = 0, P = 0, N = 0;
  for (int v = 0; v < 50; ++v) {
    wins += pos[v] * (below + 0.5 * neg[v]);
    below += neg[v];
    P += pos[v];
    N += neg[v];
  }
  const double a1 = roc_auc<double>(sp(y), sp(s), {}, 1), a2 = roc_auc<double>(sp(y), sp(s), {}, 2);
  EXPECT_NEAR(a1, wins / (P * N), 1e-12);
  EXPECT_EQ(a1, a2);
}

TEST(Metrics, GainsTableByHand) {
  // 10 customers, scores 10..1; responders at ranks 1, 2, 4, 7; 5 bins of 2.
  std::vector<std::uint8_t> y{1, 1, 0, 1, 0, 0, 1, 0, 0, 0};
  std::vector<double> s{10, 9, 8, 7, 6, 5, 4, 3, 2, 1};
  auto g = gains_table<double>(sp(y), sp(s), 5);
  ASSERT_EQ(g.customers.size(), 5u);
  EXPECT_EQ(g.customers, (std::vector<std::int64_t>{2, 2, 2, 2, 2}));
  EXPECT_EQ(g.responders, (std::vector<double>{2, 1, 0, 1, 0}));
  EXPECT_EQ(g.max_score[0], 10);
  EXPECT_EQ(g.min_score[4], 1);
}

TEST(Metrics, ProfitCurveByHand) {
  std::vector<std::uint8_t> y{0, 1, 1, 0};
  std::vector<double> s{0.1, 0.9, 0.8, 0.7};
  auto c = profit_curve<double>(sp(y), sp(s), 1.0, 3.0);
  // contact 0..4 in order 0.9(1), 0.8(1), 0.7(0), 0.1(0): profits 0, 2, 4, 3, 2.
  EXPECT_EQ(c.profit, (std::vector<double>{0, 2, 4, 3, 2}));
  EXPECT_EQ(c.best_k, 2);
}

TEST(Metrics, ConfusionAndF1) {
  std::vector<std::int64_t> t{0, 0, 1, 1, 2}, p{0, 1, 1, 1, 0};
  auto cm = confusion_matrix(sp(t), sp(p), 3);
  EXPECT_EQ(cm(0, 0), 1);
  EXPECT_EQ(cm(0, 1), 1);
  EXPECT_EQ(cm(1, 1), 2);
  EXPECT_EQ(cm(2, 0), 1);
  auto r = precision_recall_fscore(cm);
  EXPECT_DOUBLE_EQ(r.precision[1], 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(r.recall[1], 1.0);
  EXPECT_DOUBLE_EQ(r.precision[2], 0.0);  // zero division -> 0
  EXPECT_DOUBLE_EQ(accuracy(cm), 3.0 / 5.0);
}

TEST(Metrics, InvalidInput) {
  std::vector<std::uint8_t> y1{1, 1, 1};
  std::vector<double> s{0.1, 0.2, 0.3}, bad{0.1, NAN, 0.3}, short_s{0.1};
  EXPECT_THROW(roc_auc<double>(sp(y1), sp(s)), InvalidArgument);  // one class
  std::vector<std::uint8_t> y{0, 1, 0};
  EXPECT_THROW(roc_auc<double>(sp(y), sp(bad)), InvalidArgument);
  EXPECT_THROW(roc_auc<double>(sp(y), sp(short_s)), ShapeError);
  std::vector<double> negw{1, -1, 1};
  EXPECT_THROW(roc_auc<double>(sp(y), sp(s), sp(negw)), InvalidArgument);
  EXPECT_THROW(gains_table<double>(sp(y), sp(s), 0), InvalidArgument);
  std::vector<std::uint8_t> y2{0, 2, 1};
  EXPECT_THROW(roc_auc<double>(sp(y2), sp(s)), InvalidArgument);
}
