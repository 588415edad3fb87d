// Anomaly family: hand-checked cases, invariances, bad input and JSON round trips.
#include <gtest/gtest.h>

#include <cmath>

#include "custmine/anomaly/distance.hpp"
#include "custmine/anomaly/isolation_forest.hpp"
#include "custmine/anomaly/knn_bounds.hpp"
#include "custmine/anomaly/lof.hpp"
#include "custmine/anomaly/mcd.hpp"
#include "custmine/anomaly/univariate.hpp"
#include "custmine/core/random.hpp"
#include "custmine/core/serialize.hpp"

using namespace custmine;
using namespace custmine::anomaly;

namespace {
RowMatrix<double> gaussian(Index n, Index d, std::uint64_t seed, Index n_out = 0, double shift = 6.0) {
  Rng rng(seed);
  RowMatrix<double> X(n, d);
  for (Index i = 0; i < n; ++i)
    for (Index j = 0; j < d; ++j) X(i, j) = rng.normal() + (i < n_out ? shift : 0.0);
  return X;
}
template <class M>
M round_trip(const M& m) {
  return M::from_document(from_json(to_json(m.to_document()), ""));
}
// Rows on a few latent directions plus small noise (the projected search's case), shifted far
// from the origin (float rounding of uncentered data would break the bound), with exact
// duplicates and a few far rows.
RowMatrix<double> low_rank(Index n, Index d, std::uint64_t seed) {
  Rng rng(seed);
  RowMatrix<double> Z(n, 6), W(6, d);
  for (Index i = 0; i < n; ++i)
    for (Index j = 0; j < 6; ++j) Z(i, j) = rng.normal() * (1.0 + static_cast<double>(j));
  for (Index i = 0; i < 6; ++i)
    for (Index j = 0; j < d; ++j) W(i, j) = rng.normal();
  RowMatrix<double> X = Z * W;
  for (Index i = 0; i < n; ++i)
    for (Index j = 0; j < d; ++j) X(i, j) += 0.05 * rng.normal() + 1e3;
  for (Index i = 0; i + 1 < n; i += 97) X.row(i + 1) = X.row(i);
  for (Index i = 5; i < n; i += 1001) X.row(i).array() += 40.0;
  return X;
}
// The k nearest by exhaustive search, ties broken by index.
std::vector<std::pair<double, Index>> naive_neighbours(const RowMatrix<double>& ref, const double* q, Index skip, Index k) {
  std::vector<std::pair<double, Index>> all;
  for (Index j = 0; j < ref.rows(); ++j)
    if (j != skip) {
      double s = 0;
      for (Index f = 0; f < ref.cols(); ++f) s += (q[f] - ref(j, f)) * (q[f] - ref(j, f));
      all.emplace_back(std::sqrt(s), j);
    }
  std::partial_sort(all.begin(), all.begin() + k, all.end());
  all.resize(static_cast<std::size_t>(k));
  return all;
}
Index argmax(const Vector<double>& v) {
  Index k;
  v.maxCoeff(&k);
  return k;
}
}  // namespace

TEST(AnomalyCommon, PercentileMatchesNumpyLinear) {
  // numpy.percentile([1, 2, 3, 4], 10) = 1.3; 50 -> 2.5; 100 -> 4
  EXPECT_NEAR(percentile({4, 1, 3, 2}, 10), 1.3, 1e-12);
  EXPECT_DOUBLE_EQ(percentile({4, 1, 3, 2}, 50), 2.5);
  EXPECT_DOUBLE_EQ(percentile({4, 1, 3, 2}, 100), 4.0);
}

TEST(AnomalyCommon, ContaminationRange) {
  EXPECT_THROW(Contamination::fraction(0.0).validate("t", true), InvalidArgument);
  EXPECT_THROW(Contamination::fraction(0.51).validate("t", true), InvalidArgument);
  EXPECT_THROW(Contamination::automatic().validate("t", false), InvalidArgument);
  EXPECT_NO_THROW(Contamination::fraction(0.5).validate("t", false));
}

TEST(AnomalyIsolationForest, AveragePathLength) {
  EXPECT_EQ(average_path_length(1), 0.0);
  EXPECT_EQ(average_path_length(2), 1.0);
  // c(256) = 2 (ln 255 + gamma) - 2 * 255 / 256
  EXPECT_NEAR(average_path_length(256), 2 * (std::log(255.0) + 0.5772156649015329) - 2 * 255.0 / 256, 1e-12);
}

TEST(AnomalyIsolationForest, FlagsShiftedPointsAndIsDeterministic) {
  auto X = gaussian(1000, 4, 1, 10);
  IsolationForest<double>::Params p;
  p.seed = 7;
  p.contamination = Contamination::fraction(0.01);
  IsolationForest<double> a(p);
  a.fit(X);
  const auto s = a.anomaly_score(X);
  // every shifted row scores above every normal row's median
  std::vector<double> normal(s.data() + 10, s.data() + 1000);
  const double med = percentile(normal, 50);
  for (int i = 0; i < 10; ++i) EXPECT_GT(s[i], med);
  EXPECT_EQ((a.predict(X).array() == -1).count(), 10);
  p.n_threads = 2;
  IsolationForest<double> b(p);
  b.fit(X);
  EXPECT_EQ(a.score_samples(X), b.score_samples(X));  // thread count does not change the model
  EXPECT_EQ(a.explain(X), b.explain(X));
  // scores in [-1, 0)
  EXPECT_LT(a.score_samples(X).maxCoeff(), 0.0);
  EXPECT_GE(a.score_samples(X).minCoeff(), -1.0);
}

TEST(AnomalyIsolationForest, PathLengthsEqualANaiveWalkOfTheSavedTrees) {
  // Scoring walks complete-layout copies of the trees (max_samples <= 1024) or the trees
  // themselves (deeper forests); both must give, bit for bit, the mean over trees of the
  // leaf value a plain pointer walk of the saved document reaches.
  for (std::int64_t max_samples : {2, 256, 1024, 4096}) {
    auto X = gaussian(6000, 5, 3, 30);
    for (Index i = 0; i < X.rows(); i += 97) X(i, 2) = X(i, 1);  // ties at thresholds
    IsolationForest<double>::Params p;
    p.seed = 11;
    p.n_estimators = 25;
    p.max_samples = max_samples;
    IsolationForest<double> m(p);
    m.fit(X);
    const auto doc = m.to_document();
    const auto off = json_ints(doc.state, "tree_offset", "");
    const auto feat = json_ints(doc.state, "feature", "");
    const auto left = json_ints(doc.state, "left", "");
    const auto val = json_doubles(doc.state, "value", "");
    const auto Q = gaussian(777, 5, 4, 50, 3.0);  // 777: not a multiple of the lane count
    const auto got = m.mean_path_length(Q);
    for (Index i = 0; i < Q.rows(); ++i) {
      double sum = 0.0;
      for (std::size_t t = 0; t + 1 < off.size(); ++t) {
        std::int64_t k = off[t];
        while (feat[k] >= 0) k = off[t] + left[k] + (Q(i, feat[k]) <= val[k] ? 0 : 1);
        sum += val[k];
      }
      ASSERT_EQ(got[i], sum / static_cast<double>(off.size() - 1)) << "max_samples " << max_samples << " row " << i;
    }
  }
}

TEST(AnomalyIsolationForest, ExplainPointsAtPerturbedFeature) {
  auto X = gaussian(2000, 6, 3);
  for (int i = 0; i < 20; ++i) X(i, 4) += 8.0;
  IsolationForest<double>::Params p;
  p.seed = 1;
  p.n_estimators = 200;
  IsolationForest<double> m(p);
  m.fit(X);
  const auto top = m.top_attributes(X.topRows(20), 1);
  int hits = 0;
  for (int i = 0; i < 20; ++i) hits += top.feature(i, 0) == 4;
  EXPECT_GE(hits, 19);
}

TEST(AnomalyIsolationForest, JsonRoundTripAndCorruptDocuments) {
  auto X = gaussian(300, 3, 2, 3);
  IsolationForest<double> m;
  m.fit(X);
  auto r = round_trip(m);
  EXPECT_EQ(m.score_samples(X), r.score_samples(X));
  EXPECT_EQ(m.offset(), r.offset());
  auto doc = m.to_document();
  doc.state["left"].as_array()[0] = 0;  // a node pointing at itself would loop forever
  EXPECT_THROW(IsolationForest<double>::from_document(doc), SerializationError);
  doc = m.to_document();
  doc.state["feature"].as_array()[0] = 99;
  EXPECT_THROW(IsolationForest<double>::from_document(doc), SerializationError);
  doc = m.to_document();
  doc.state.erase("value");
  EXPECT_THROW(IsolationForest<double>::from_document(doc), SerializationError);
  EXPECT_THROW(from_json("{\"format_version\": 1", "IsolationForest"), SerializationError);
}

TEST(AnomalyIsolationForest, BadInput) {
  auto X = gaussian(50, 3, 4);
  IsolationForest<double>::Params p;
  p.contamination = Contamination::fraction(0.6);
  EXPECT_THROW(IsolationForest<double>(p).fit(X), InvalidArgument);
  IsolationForest<double> m;
  EXPECT_THROW(m.score_samples(X), NotFittedError);
  RowMatrix<double> bad = X;
  bad(3, 1) = std::nan("");
  EXPECT_THROW(m.fit(bad), InvalidArgument);
  m.fit(X);
  RowMatrix<double> wrong = gaussian(5, 2, 5);
  EXPECT_THROW(m.score_samples(wrong), ShapeError);
  bad(3, 1) = INFINITY;
  EXPECT_THROW(m.score_samples(bad), InvalidArgument);
}

TEST(AnomalyLocalOutlierFactor, HandComputedOneDimensional) {
  // 0, 1, 2, 10 with k = 1: k-distances 1, 1, 1, 8; lrd 1, 1, 1, 1/8, so LOF(10) = 8.
  RowMatrix<double> X(4, 1);
  X << 0, 1, 2, 10;
  LocalOutlierFactor<double>::Params p;
  p.n_neighbors = 1;
  LocalOutlierFactor<double> m(p);
  m.fit(X);
  const auto& nof = m.negative_outlier_factor();
  EXPECT_NEAR(nof[0], -1.0, 1e-8);
  EXPECT_NEAR(nof[1], -1.0, 1e-8);
  EXPECT_NEAR(nof[2], -1.0, 1e-8);
  EXPECT_NEAR(nof[3], -8.0, 1e-8);
  // a new point at 5: neighbour 2 (d 3 > k-dist 1) -> lrd 1/3, LOF = 1 / (1/3) = 3
  RowMatrix<double> q(1, 1);
  q << 5;
  EXPECT_NEAR(m.score_samples(q)[0], -3.0, 1e-8);
}

TEST(AnomalyLocalOutlierFactor, DuplicatesAreExact) {
  // Three identical rows and k = 2: each has its two twins at distance exactly 0, so
  // lrd = 1e10 (scikit-learn's 1 / (0 + 1e-10)), not a rounding-noise value.
  RowMatrix<double> X(5, 2);
  X << 1e3 + 0.1, 7, 1e3 + 0.1, 7, 1e3 + 0.1, 7, 0, 0, 5, 5;
  auto nb = knn_search<double>(X, X, 2, true, 1);
  EXPECT_EQ(nb.distance(0, 0), 0.0);
  EXPECT_EQ(nb.distance(0, 1), 0.0);
  EXPECT_NE(nb.index(0, 0), 0);  // the row itself was removed
  LocalOutlierFactor<double>::Params p;
  p.n_neighbors = 2;
  LocalOutlierFactor<double> m(p);
  m.fit(X);
  EXPECT_NEAR(m.lrd()[0], 1e10, 1.0);
}

TEST(AnomalyLocalOutlierFactor, TreeAndBlockedSearchAgreeWithNaiveNeighbours) {
  for (Index dim : {5, 20}) {  // k-d tree path (d <= 15) and blocked matrix-product path
  auto X = gaussian(300, dim, 9);
  for (Index i = 0; i < 300; i += 50) X.row(i + 1) = X.row(i);  // exact duplicates
  auto nb = knn_search<double>(X, X, 7, true, 2);
  for (Index i = 0; i < 300; i += 37) {
    std::vector<std::pair<double, Index>> all;
    for (Index j = 0; j < 300; ++j)
      if (j != i) all.emplace_back((X.row(i) - X.row(j)).norm(), j);
    std::sort(all.begin(), all.end());
    for (int c = 0; c < 7; ++c) {
      EXPECT_NEAR(nb.distance(i, c), all[c].first, 1e-12);
      EXPECT_EQ(nb.index(i, c), all[c].second);
    }
  }
  }
}

TEST(AnomalyNeighborIndex, ProjectedSearchEqualsExhaustiveSearch) {
  // Correlated rows: the cost model picks the bound on principal axes; neighbours, distances
  // and the order of exact ties must be those of an exhaustive search, for the rows
  // themselves (self excluded, duplicates included) and for new rows, on 1 and 2 threads.
  const auto X = low_rank(3000, 40, 21);
  const NeighborIndex ix(X, 8, 1);
  ASSERT_EQ(ix.method(), NeighborIndex::Method::projected);
  EXPECT_GT(ix.axes(), 0);
  EXPECT_LT(ix.axes(), 40);
  const auto self1 = ix.search<double>(X, X, 7, true, 1);
  const auto self2 = ix.search<double>(X, X, 7, true, 2);
  EXPECT_EQ(self1.index, self2.index);
  EXPECT_EQ(self1.distance, self2.distance);
  const auto Q = low_rank(500, 40, 22);
  const auto other = ix.search<double>(X, Q, 7, false, 2);
  for (Index i = 0; i < 3000; i += 13) {
    const auto want = naive_neighbours(X, X.row(i).data(), i, 7);
    for (Index c = 0; c < 7; ++c) {
      EXPECT_NEAR(self1.distance(i, c), want[c].first, 1e-9 * (1.0 + want[c].first)) << i;
      if (c + 1 < 7 && want[c + 1].first - want[c].first > 1e-9) EXPECT_EQ(self1.index(i, c), want[c].second) << i;
    }
    if (i % 97 == 0 && i + 1 < 3000) EXPECT_EQ(self1.distance(i, 0), 0.0);  // its duplicate, exactly
  }
  for (Index i = 0; i < 500; i += 7) {
    const auto want = naive_neighbours(X, Q.row(i).data(), -1, 7);
    for (Index c = 0; c < 7; ++c) EXPECT_NEAR(other.distance(i, c), want[c].first, 1e-9 * (1.0 + want[c].first)) << i;
  }
  // The same answer as brute force and the k-d tree in every bit.
  for (auto method : {NeighborIndex::Method::brute_force, NeighborIndex::Method::kd_tree}) {
    const NeighborIndex alt(X, 7, 2, method);
    EXPECT_EQ(alt.method(), method);
    const auto a = alt.search<double>(X, Q, 7, false, 2);
    EXPECT_EQ(a.index, other.index);
    EXPECT_EQ(a.distance, other.distance);
    const auto b = alt.search<double>(X, X, 7, true, 1);
    EXPECT_EQ(b.index, self1.index);
    EXPECT_EQ(b.distance, self1.distance);
  }
}

TEST(AnomalyNeighborIndex, ProjectedSelfSearchBeyondTheSymmetricLimit) {
  // Above 65,536 rows the training rows' search computes every bound (the symmetric minima
  // would pass 128 MB): the same exact neighbours, checked on a sample against exhaustive search.
  const Index n = 66000;
  const auto X = low_rank(n, 24, 31);
  const NeighborIndex ix(X, 6, 2);
  ASSERT_EQ(ix.method(), NeighborIndex::Method::projected);
  const auto self = ix.search<double>(X, X, 5, true, 2);
  for (Index i = 0; i < n; i += 331) {
    const auto want = naive_neighbours(X, X.row(i).data(), i, 5);
    for (Index c = 0; c < 5; ++c) {
      EXPECT_NEAR(self.distance(i, c), want[c].first, 1e-9 * (1.0 + want[c].first)) << i;
      if (c + 1 < 5 && want[c + 1].first - want[c].first > 1e-9) EXPECT_EQ(self.index(i, c), want[c].second) << i;
    }
  }
}

TEST(AnomalyNeighborIndex, IsotropicDataUsesAllAxesAndBadCalls) {
  // No direction carries the distances: a bound on fewer axes cannot prune, so the float
  // bound over all axes (the float distance) is chosen; small data stays on brute force.
  const auto X = gaussian(3000, 40, 23);
  const NeighborIndex ix(X, 8, 1);
  EXPECT_EQ(ix.method(), NeighborIndex::Method::projected);
  EXPECT_EQ(ix.axes(), 40);
  EXPECT_EQ(NeighborIndex(gaussian(1500, 40, 24), 8, 1).method(), NeighborIndex::Method::brute_force);
  const auto Q = gaussian(300, 40, 25);
  const auto a = ix.search<double>(X, Q, 8, false, 2);
  const auto b = NeighborIndex(X, 8, 1, NeighborIndex::Method::brute_force).search<double>(X, Q, 8, false, 1);
  EXPECT_EQ(a.index, b.index);
  EXPECT_EQ(a.distance, b.distance);
  // Coordinates whose squares overflow a float: no projection for such rows, and queries that
  // far from the training rows are answered by brute force (the same neighbours).
  const RowMatrix<double> huge = X * 1e18;
  EXPECT_EQ(NeighborIndex(huge, 8, 1, NeighborIndex::Method::projected).method(), NeighborIndex::Method::brute_force);
  RowMatrix<double> far = Q;
  far.row(3).array() += 1e20;
  far(7, 0) = -3e19;
  const auto c = ix.search<double>(X, far, 8, false, 1);
  const auto e = NeighborIndex(X, 8, 1, NeighborIndex::Method::brute_force).search<double>(X, far, 8, false, 1);
  EXPECT_EQ(c.index, e.index);
  EXPECT_EQ(c.distance, e.distance);
  EXPECT_EQ(NeighborIndex(gaussian(500, 5, 1), 8, 1).method(), NeighborIndex::Method::kd_tree);
  EXPECT_THROW((void)ix.search<double>(gaussian(10, 40, 1), X, 3, false, 1), InvalidArgument);
  EXPECT_THROW((void)ix.search<double>(X, gaussian(10, 39, 1), 3, false, 1), ShapeError);
  EXPECT_THROW((void)ix.search<double>(X, X, 3000, true, 1), InvalidArgument);
  EXPECT_THROW((void)NeighborIndex().search<double>(X, X, 3, false, 1), InvalidArgument);
  EXPECT_THROW(NeighborIndex(RowMatrix<double>(0, 4), 3, 1), InvalidArgument);
  RowMatrix<double> bad = gaussian(50, 4, 2);
  bad(7, 2) = std::numeric_limits<double>::quiet_NaN();
  for (auto method : {NeighborIndex::Method::automatic, NeighborIndex::Method::projected})
    EXPECT_THROW(NeighborIndex(bad, 3, 1, method), InvalidArgument);
}

TEST(AnomalyNeighborIndex, BoundKernelsNeverExceedTheDistance) {
  // Both kernels (AVX2 where the CPU has it, and the portable one) give float bounds within a
  // few float roundings of the double bound |Pq - Pr|^2 + (|Rq| - |Rr|)^2, which is itself at
  // most the squared distance along the axes plus the residual.
  Rng rng(5);
  const Index n = 200, p = 12, bs = 8;
  RowMatrix<float> C(n, p), Qc(bs, p);
  std::vector<double> pn(n), res(n);
  for (Index j = 0; j < n; ++j) {
    for (Index f = 0; f < p; ++f) C(j, f) = static_cast<float>(rng.normal() * 10.0);
    pn[j] = C.row(j).cast<double>().squaredNorm();
    res[j] = std::abs(rng.normal()) * 5.0;
  }
  std::vector<float> qpn(bs), qres(bs);
  for (Index i = 0; i < bs; ++i) {
    for (Index f = 0; f < p; ++f) Qc(i, f) = static_cast<float>(rng.normal() * 10.0);
    qpn[i] = static_cast<float>(Qc.row(i).cast<double>().squaredNorm());
    qres[i] = static_cast<float>(std::abs(rng.normal()) * 5.0);
  }
  const auto panels = anomaly::detail::pack_bound_panels(C.data(), pn.data(), res.data(), n, p);
  ASSERT_EQ(panels.n_pad % 64, 0);
  for (bool generic : {false, true}) {
    std::vector<float> LB(static_cast<std::size_t>(bs * panels.n_pad)), cmin(static_cast<std::size_t>(bs * panels.n_chunks()));
    anomaly::detail::projected_bounds(panels, Qc.data(), qpn.data(), qres.data(), bs, LB.data(), cmin.data(), generic);
    for (Index i = 0; i < bs; ++i) {
      for (Index j = 0; j < n; ++j) {
        const double want = (Qc.row(i).cast<double>() - C.row(j).cast<double>()).squaredNorm() +
                            (qres[i] - res[j]) * (qres[i] - res[j]);
        const double scale = qpn[i] + pn[j] + (qres[i] + res[j]) * (qres[i] + res[j]);
        EXPECT_NEAR(LB[static_cast<std::size_t>(i * panels.n_pad + j)], want, 1e-5 * scale) << generic;
      }
      for (Index c = 0; c < panels.n_chunks(); ++c) {  // chunk minima, padding never below a row
        float mn = std::numeric_limits<float>::infinity();
        for (Index j = c * 64; j < std::min(n, c * 64 + 64); ++j) mn = std::min(mn, LB[static_cast<std::size_t>(i * panels.n_pad + j)]);
        EXPECT_EQ(cmin[static_cast<std::size_t>(i * panels.n_chunks() + c)], mn);
      }
    }
  }
}

TEST(AnomalyNeighborIndex, SquaredDistanceKernelsAgreeInEveryBit) {
  // Exact distances decide ties between neighbours: the AVX2 and portable sums must be equal.
  Rng rng(8);
  for (const Index d : {1, 3, 7, 8, 9, 16, 62, 63}) {
    std::vector<double> a(static_cast<std::size_t>(d)), b(static_cast<std::size_t>(d));
    for (int rep = 0; rep < 50; ++rep) {
      for (Index f = 0; f < d; ++f) a[f] = rng.normal() * 1e3, b[f] = rng.normal() * 1e-3 + a[f] * (rep % 2);
      const double want = anomaly::detail::squared_distance_portable(a.data(), b.data(), d);
      EXPECT_EQ(anomaly::detail::squared_distance(a.data(), b.data(), d), want) << d;
#if defined(__x86_64__) && defined(__GNUC__)
      if (__builtin_cpu_supports("avx2")) EXPECT_EQ(anomaly::detail::squared_distance_avx2(a.data(), b.data(), d), want) << d;
#endif
    }
  }
}

TEST(AnomalyNeighborIndex, SymmetricMinimaEqualTheDirectOnes) {
  // The reference rows' chunk minima from half the pairs (each block of pairs read both ways)
  // equal, in every bit once rounded down to 16 bits, those of the bound kernel run with the
  // rows as queries: the bound is the same float computation whichever row is the query.
  // 200 rows: a partial last chunk.
  Rng rng(6);
  const Index n = 200, p = 11;
  RowMatrix<float> C(n, p);
  std::vector<double> pn(n), res(n);
  for (Index j = 0; j < n; ++j) {
    for (Index f = 0; f < p; ++f) C(j, f) = static_cast<float>(rng.normal() * 3.0);
    pn[j] = C.row(j).cast<double>().squaredNorm();
    res[j] = std::abs(rng.normal());
  }
  const auto panels = anomaly::detail::pack_bound_panels(C.data(), pn.data(), res.data(), n, p);
  const Index nc = panels.n_chunks(), np = panels.n_pad;
  RowMatrix<float> Q(np, p);
  for (Index j = 0; j < np; ++j) panels.row(j, Q.row(j).data());
  EXPECT_EQ(Q.topRows(n), C);
  // Rounding down keeps a lower bound: never above the value, within 2^-7 of it.
  for (const float v : {3.0f, 1e-30f, 123.456f, 7.0e30f}) {
    EXPECT_LE(anomaly::detail::bf16_value(anomaly::detail::bf16_down(v)), v);
    EXPECT_GE(anomaly::detail::bf16_value(anomaly::detail::bf16_down(v)), v * (1.0f - 1.0f / 128));
  }
  EXPECT_EQ(anomaly::detail::bf16_value(anomaly::detail::bf16_down(-1e-6f)), 0.0f);
  for (bool generic : {false, true}) {
    std::vector<std::uint16_t> all(static_cast<std::size_t>(np * nc), 0xFFFF);
    std::vector<float> LB(static_cast<std::size_t>(np * np)), direct(static_cast<std::size_t>(np * nc));
    for (Index I = 0; I < nc; ++I) anomaly::detail::symmetric_minima(panels, I, all.data(), generic);
    anomaly::detail::projected_bounds(panels, Q.data(), panels.pn.data(), panels.res.data(), np, LB.data(),
                                      direct.data(), generic);
    for (Index j = 0; j < n; ++j)
      for (Index c = 0; c < nc; ++c)
        EXPECT_EQ(all[static_cast<std::size_t>(j * nc + c)], anomaly::detail::bf16_down(direct[static_cast<std::size_t>(j * nc + c)]))
            << j << " " << c << " " << generic;
    // One chunk's bounds alone, written from the chunk's first column of LB, are the same.
    std::vector<float> part(static_cast<std::size_t>(4 * 64));
    anomaly::detail::projected_bounds_chunks(panels, Q.row(8).data(), panels.pn.data() + 8, panels.res.data() + 8, 4,
                                             2, 3, part.data(), 64, nullptr, generic);
    for (Index i = 0; i < 4; ++i)
      for (Index r = 0; r < 64; ++r)
        EXPECT_EQ(part[static_cast<std::size_t>(i * 64 + r)], LB[static_cast<std::size_t>((8 + i) * np + 128 + r)]);
  }
}

TEST(AnomalyLocalOutlierFactor, ProjectedIndexSurvivesRoundTrip) {
  const auto X = low_rank(2500, 30, 31);
  LocalOutlierFactor<double>::Params p;
  p.novelty = true;
  LocalOutlierFactor<double> a(p);
  a.fit(X);
  const auto Q = low_rank(300, 30, 32);
  auto r = round_trip(a);
  EXPECT_EQ(a.score_samples(Q), r.score_samples(Q));
  EXPECT_EQ(a.negative_outlier_factor(), r.negative_outlier_factor());
  EXPECT_EQ(a.search_method(), r.search_method());
  // Two threads: the same index, scores and explanations (scales summed in fixed blocks).
  p.n_threads = 2;
  LocalOutlierFactor<double> b(p);
  b.fit(X);
  EXPECT_EQ(a.negative_outlier_factor(), b.negative_outlier_factor());
  EXPECT_EQ(a.score_samples(Q), b.score_samples(Q));
  EXPECT_EQ(a.explain_training(), b.explain_training());
  EXPECT_EQ(a.explain(Q), b.explain(Q));
}

TEST(AnomalyLocalOutlierFactor, ThreadsRoundTripAndBadInput) {
  auto X = gaussian(400, 3, 6, 5);
  LocalOutlierFactor<double>::Params p;
  p.novelty = true;
  LocalOutlierFactor<double> a(p);
  a.fit(X);
  p.n_threads = 2;
  LocalOutlierFactor<double> b(p);
  b.fit(X);
  EXPECT_EQ(a.negative_outlier_factor(), b.negative_outlier_factor());
  EXPECT_EQ(a.score_samples(X), b.score_samples(X));
  auto r = round_trip(a);
  EXPECT_EQ(a.score_samples(X), r.score_samples(X));
  auto doc = a.to_document();
  doc.state["neighbors"].as_array()[0] = 100000;
  EXPECT_THROW(LocalOutlierFactor<double>::from_document(doc), SerializationError);
  p.n_neighbors = 400;
  EXPECT_THROW(LocalOutlierFactor<double>(p).fit(X), InvalidArgument);
}

TEST(AnomalyRobustZScore, HandComputedAndConstantFeature) {
  RowMatrix<double> X(5, 2);
  X << 1, 5, 2, 5, 3, 5, 4, 5, 100, 5;
  RobustZScore<double> m;
  m.fit(X);
  EXPECT_DOUBLE_EQ(m.center()[0], 3.0);
  EXPECT_NEAR(m.scale()[0], 1.482602218505602, 1e-12);  // MAD = 1
  EXPECT_EQ(m.constant()[1], 1);
  EXPECT_DOUBLE_EQ(m.scale()[1], 1.0);
  const auto Z = m.explain(X);
  EXPECT_NEAR(Z(4, 0), 97 / 1.482602218505602, 1e-9);
  EXPECT_EQ(Z(4, 1), 0.0);
  EXPECT_TRUE(m.score_samples(X).allFinite());
  EXPECT_EQ(argmax(m.anomaly_score(X)), 4);
  auto r = round_trip(m);
  EXPECT_EQ(m.score_samples(X), r.score_samples(X));
}

TEST(AnomalyRobustZScore, MadZeroFallsBackToMeanAbsoluteDeviation) {
  RowMatrix<double> X(5, 1);
  X << 0, 0, 0, 0, 10;  // MAD 0, mean absolute deviation 2
  RobustZScore<double> m;
  m.fit(X);
  EXPECT_NEAR(m.scale()[0], 1.2533141373155 * 2.0, 1e-12);
  EXPECT_EQ(m.constant()[0], 0);
}

TEST(AnomalyHBOS, HandComputedTwoBins) {
  // [0, 0, 0, 1], 2 bins: edges 0, .5, 1; density 3/(4*.5) = 1.5 and 0.5.
  RowMatrix<double> X(4, 1);
  X << 0, 0, 0, 1;
  HBOS<double>::Params p;
  p.n_bins = 2;
  HBOS<double> m(p);
  m.fit(X);
  EXPECT_DOUBLE_EQ(m.density()(0, 0), 1.5);
  EXPECT_DOUBLE_EQ(m.density()(0, 1), 0.5);
  const auto C = m.explain(X);
  EXPECT_NEAR(C(0, 0), -std::log2(1.6), 1e-12);
  EXPECT_NEAR(C(3, 0), -std::log2(0.6), 1e-12);
  // 0.3 beyond the right edge (<= 0.5 bin widths of 0.5): last bin; 5 beyond: lowest density
  RowMatrix<double> q(2, 1);
  q << 1.2, 6;
  const auto Cq = m.explain(q);
  EXPECT_NEAR(Cq(0, 0), -std::log2(0.6), 1e-12);
  EXPECT_NEAR(Cq(1, 0), -std::log2(0.6), 1e-12);
}

TEST(AnomalyHBOS, ConstantFeatureNoDivisionByZero) {
  RowMatrix<double> X = RowMatrix<double>::Constant(10, 2, 3.0);
  X(0, 1) = 4;
  HBOS<double> m;
  m.fit(X);
  EXPECT_TRUE(m.score_samples(X).allFinite());
  auto r = round_trip(m);
  EXPECT_EQ(m.score_samples(X), r.score_samples(X));
}

TEST(AnomalyECOD, HandComputedTails) {
  RowMatrix<double> X(5, 1);
  X << 1, 2, 3, 4, 5;  // skewness 0: right tail for U_auto
  ECOD<double> m;
  m.fit(X);
  const auto s = m.anomaly_score(X);
  // x = 5: F_left = 1 (0), F_right = 1/5 -> log 5; x = 1 symmetric
  EXPECT_NEAR(s[4], std::log(5.0), 1e-12);
  EXPECT_NEAR(s[0], std::log(5.0), 1e-12);
  EXPECT_NEAR(s[2], std::log(5.0 / 3.0), 1e-12);  // max(log 5/3, log 5/3)
  RowMatrix<double> q(1, 1);
  q << 1000;  // beyond the range: floored at 1/n, finite
  EXPECT_NEAR(m.anomaly_score(q)[0], std::log(5.0), 1e-12);
  ECOD<double>::Params p;
  p.n_threads = 2;
  ECOD<double> b(p);
  auto G = gaussian(500, 4, 8, 5);
  m.fit(G);
  b.fit(G);
  EXPECT_EQ(m.score_samples(G), b.score_samples(G));
  auto r = round_trip(m);
  EXPECT_EQ(m.score_samples(G), r.score_samples(G));
  auto doc = m.to_document();
  doc.state["sorted"].as_array()[0] = 1e9;  // no longer sorted
  EXPECT_THROW(ECOD<double>::from_document(doc), SerializationError);
}

TEST(AnomalyEllipticEnvelope, RecoversCleanLocationAndScatter) {
  auto X = gaussian(600, 3, 11, 60, 8.0);  // 10 % shifted rows
  EllipticEnvelope<double>::Params p;
  p.seed = 3;
  EllipticEnvelope<double> m(p);
  m.fit(X);
  EXPECT_LT(m.location().cwiseAbs().maxCoeff(), 0.2);
  EXPECT_LT((m.covariance() - RowMatrix<double>::Identity(3, 3)).cwiseAbs().maxCoeff(), 0.25);
  for (int i = 0; i < 60; ++i) EXPECT_EQ(m.support()[i], 0);
  EXPECT_NEAR(chi2_quantile(0.5, 1), 0.454936423119572, 1e-12);
  // Shapley split sums to the squared distance
  EXPECT_TRUE(m.explain(X).rowwise().sum().isApprox(m.mahalanobis(X), 1e-12));
  auto r = round_trip(m);
  EXPECT_TRUE(m.score_samples(X).isApprox(r.score_samples(X), 1e-12));
  RowMatrix<double> one(1, 3);
  one << 1, 2, 3;
  EXPECT_THROW(EllipticEnvelope<double>().fit(one), InvalidArgument);
}

TEST(Anomaly, FloatInstantiationsAgree) {
  auto X = gaussian(200, 3, 12, 4);
  RowMatrix<float> Xf = X.cast<float>();
  RowMatrix<double> Xr = Xf.cast<double>();
  ECOD<float> f;
  ECOD<double> d;
  f.fit(Xf);
  d.fit(Xr);
  EXPECT_TRUE(f.score_samples(Xf).isApprox(d.score_samples(Xr), 1e-12));
  IsolationForest<float> fi;
  fi.fit(Xf);
  EXPECT_EQ(fi.score_samples(Xf).size(), 200);
}
