// Tiering: RFM aggregation and scores, segments, pyramid, ABC, the fitted QuantileScorer.
#include <gtest/gtest.h>

#include "custmine/core/random.hpp"
#include "custmine/tiering/rfm.hpp"

using namespace custmine;
using namespace custmine::tiering;

namespace {
struct Tx {
  std::vector<std::int64_t> customer, day, order;
  std::vector<double> amount;
  void add(std::int64_t c, std::int64_t d, double a, std::int64_t o = 0) {
    customer.push_back(c);
    day.push_back(d);
    amount.push_back(a);
    order.push_back(o);
  }
};
}  // namespace

TEST(Rfm, HandCheckedTable) {
  // customer 0: purchases on days 10 (order 1, two lines) and 20 (order 2), a return on day 25
  // customer 1: one purchase on day 5; customer 2: a return only, on day 7.
  Tx t;
  t.add(0, 10, 30.0, 1);
  t.add(0, 10, 20.0, 1);
  t.add(0, 20, 50.0, 2);
  t.add(0, 25, -10.0, 3);
  t.add(1, 5, 40.0, 4);
  t.add(2, 7, -5.0, 5);
  RfmParams p;
  p.bins = 3;
  auto r = rfm<double>(t.customer, 3, t.day, t.amount, t.order, 30, p);
  EXPECT_EQ(r.recency, (std::vector<std::int64_t>{10, 25, 23}));  // returns do not move recency
  EXPECT_EQ(r.frequency, (std::vector<std::int64_t>{2, 1, 0}));   // distinct orders with a purchase
  EXPECT_EQ(r.monetary, (std::vector<double>{90.0, 40.0, -5.0}));  // returns netted
  // bins=3, n=3: rank i gets ceil(i*3/3) = i. Recency: most recent ranks last.
  EXPECT_EQ(r.r_score, (std::vector<std::int32_t>{3, 1, 2}));
  EXPECT_EQ(r.f_score, (std::vector<std::int32_t>{3, 2, 1}));
  EXPECT_EQ(r.m_score, (std::vector<std::int32_t>{3, 2, 1}));

  p.returns = Returns::Exclude;
  p.monetary = Monetary::Mean;
  auto e = rfm<double>(t.customer, 3, t.day, t.amount, t.order, 30, p);
  EXPECT_EQ(e.monetary, (std::vector<double>{50.0, 40.0, 0.0}));
  // Without orders every purchase row counts.
  auto rows = rfm<double>(t.customer, 3, t.day, t.amount, {}, 30, RfmParams{});
  EXPECT_EQ(rows.frequency, (std::vector<std::int64_t>{3, 1, 0}));
}

TEST(Rfm, OrdersSharedBetweenCustomersCountForEach) {
  Tx t;
  t.add(0, 1, 1.0, 7);
  t.add(1, 1, 1.0, 7);
  t.add(0, 2, 1.0, 7);
  t.add(1, 3, 1.0, 8);
  t.add(0, 3, 1.0, 7);
  auto r = rfm<double>(t.customer, 2, t.day, t.amount, t.order, 3, RfmParams{});
  EXPECT_EQ(r.frequency, (std::vector<std::int64_t>{1, 2}));
}

TEST(Rfm, SameTableForEveryThreadCount) {
  Rng rng(21);
  Tx t;
  for (int i = 0; i < 50000; ++i)
    t.add(static_cast<std::int64_t>(rng.below(3001)), static_cast<std::int64_t>(rng.below(900)),
          (rng.uniform() - 0.05) * 100.0, static_cast<std::int64_t>(rng.below(20000)) - 7000);
  RfmParams p;
  auto one = rfm<double>(t.customer, 3001, t.day, t.amount, t.order, 1000, p);
  for (int threads : {2, 3, 7}) {
    p.n_threads = threads;
    auto many = rfm<double>(t.customer, 3001, t.day, t.amount, t.order, 1000, p);
    EXPECT_EQ(many.monetary, one.monetary);  // bitwise: same summation order
    EXPECT_EQ(many.frequency, one.frequency);
    EXPECT_EQ(many.recency, one.recency);
    EXPECT_EQ(many.r_score, one.r_score);
    EXPECT_EQ(many.m_score, one.m_score);
    EXPECT_EQ(many.segment, one.segment);
  }
  p.n_threads = 0;
  EXPECT_THROW(rfm<double>(t.customer, 3001, t.day, t.amount, t.order, 1000, p), InvalidArgument);
}

TEST(Rfm, TieRules) {
  // Ten customers with frequencies 1,1,1,1,1,1,2,2,3,4 (one row each, day = customer).
  std::vector<std::int64_t> freq{1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
  Tx t;
  for (std::int64_t c = 0; c < 10; ++c)
    for (std::int64_t k = 0; k < freq[c]; ++k) t.add(c, 100, 1.0);
  RfmParams p;
  auto first = rfm<double>(t.customer, 10, t.day, t.amount, {}, 100, p);
  // Equal-sized bins of two; ties broken by customer code.
  EXPECT_EQ(first.f_score, (std::vector<std::int32_t>{1, 1, 2, 2, 3, 3, 4, 4, 5, 5}));
  p.ties = Ties::Together;
  auto together = rfm<double>(t.customer, 10, t.day, t.amount, {}, 100, p);
  // Edges (upper value of each first-bin): ranks 2,4,6,8 -> values 1,1,1,2.
  EXPECT_EQ(together.f_score, (std::vector<std::int32_t>{1, 1, 1, 1, 1, 1, 4, 4, 5, 5}));
  // All recencies tie: First spreads them by code, Together puts them in one bin.
  EXPECT_EQ(first.r_score, (std::vector<std::int32_t>{1, 1, 2, 2, 3, 3, 4, 4, 5, 5}));
  EXPECT_EQ(together.r_score, std::vector<std::int32_t>(10, 1));
}

TEST(Rfm, ScoresAreBalancedAndDeterministic) {
  Rng rng(11);
  Tx t;
  const std::int64_t k = 997;
  for (int i = 0; i < 20000; ++i)
    t.add(static_cast<std::int64_t>(rng.below(k)), static_cast<std::int64_t>(rng.below(365)),
          std::round(rng.uniform() * 10000) / 100 - 5, static_cast<std::int64_t>(rng.below(5000)));
  RfmParams p;
  auto a = rfm<double>(t.customer, k, t.day, t.amount, t.order, 400, p);
  auto b = rfm<double>(t.customer, k, t.day, t.amount, t.order, 400, p);
  EXPECT_EQ(a.r_score, b.r_score);
  EXPECT_EQ(a.segment, b.segment);
  std::vector<int> counts(6, 0);
  for (auto s : a.m_score) counts[s]++;
  for (int s = 1; s <= 5; ++s) EXPECT_NEAR(counts[s], k / 5.0, 1.0);
  // Scores respect the value order: a strictly larger monetary never scores lower.
  for (std::int64_t i = 0; i < k; ++i)
    for (std::int64_t j = 0; j < k; j += 37)
      if (a.monetary[i] > a.monetary[j]) ASSERT_GE(a.m_score[i], a.m_score[j]);
}

TEST(Rfm, SegmentsFollowTheRuleTable) {
  std::vector<std::int32_t> r{5, 1, 1, 3, 2, 5};
  std::vector<std::int32_t> f{5, 5, 1, 1, 1, 1};
  std::vector<std::int32_t> m{5, 5, 1, 1, 1, 1};
  auto seg = assign_segments(r, f, m, 5, default_segment_rules());
  const auto& rules = default_segment_rules();
  auto name = [&](int i) { return seg[i] < 0 ? std::string("Others") : rules[seg[i]].name; };
  EXPECT_EQ(name(0), "Champions");
  EXPECT_EQ(name(1), "Can't Lose Them");
  EXPECT_EQ(name(2), "Lost");
  EXPECT_EQ(name(3), "Promising");
  EXPECT_EQ(name(4), "Hibernating");
  EXPECT_EQ(name(5), "New Customers");
  // Every one of the eleven segments owns at least one cell of the 5x5x5 grid.
  std::set<int> reached;
  for (int a = 1; a <= 5; ++a)
    for (int b = 1; b <= 5; ++b)
      for (int c = 1; c <= 5; ++c) {
        std::vector<std::int32_t> A{a}, B{b}, C{c};
        reached.insert(assign_segments(A, B, C, 5, rules)[0]);
      }
  for (int i = 0; i < static_cast<int>(rules.size()); ++i) EXPECT_TRUE(reached.count(i)) << rules[i].name;
  // Other bin counts map linearly onto 1..5: bins=10: 10 -> 5, 1 -> 1; bins=3: 2 -> 3.
  std::vector<std::int32_t> ten{10}, one{1};
  EXPECT_EQ(assign_segments(ten, ten, ten, 10, rules)[0], 0);
  EXPECT_EQ(rules[assign_segments(one, one, one, 10, rules)[0]].name, "Lost");
  EXPECT_EQ(rules[assign_segments(one, one, one, 3, rules)[0]].name, "Lost");
  std::vector<std::int32_t> two{2};
  EXPECT_EQ(rules[assign_segments(two, two, two, 3, rules)[0]].name, "Loyal Customers");  // 3-3-3
  std::vector<std::int32_t> six{6};  // bins=10: 6 -> 1 + (5*8+9)/18 = 3
  EXPECT_EQ(rules[assign_segments(six, six, six, 10, rules)[0]].name, "Loyal Customers");  // 3-3-3
}

TEST(Rfm, BadInputIsAClearError) {
  Tx t;
  t.add(0, 10, 1.0, 0);
  t.add(1, 12, 2.0, 1);
  RfmParams p;
  EXPECT_THROW(rfm<double>(t.customer, 2, t.day, t.amount, t.order, 11, p), InvalidArgument);  // as_of early
  std::vector<double> nan_amount{1.0, std::nan("")};
  EXPECT_THROW(rfm<double>(t.customer, 2, t.day, nan_amount, t.order, 20, p), InvalidArgument);
  std::vector<double> short_amount{1.0};
  EXPECT_THROW(rfm<double>(t.customer, 2, t.day, short_amount, t.order, 20, p), ShapeError);
  EXPECT_THROW(rfm<double>({}, 1, {}, std::span<const double>{}, {}, 20, p), InvalidArgument);
  EXPECT_THROW(rfm<double>(t.customer, 1, t.day, t.amount, t.order, 20, p), InvalidArgument);  // code out of range
  EXPECT_THROW(rfm<double>(t.customer, 3, t.day, t.amount, t.order, 20, p), InvalidArgument);  // code 2 unused
  RfmParams bad;
  bad.bins = 1;
  EXPECT_THROW(rfm<double>(t.customer, 2, t.day, t.amount, t.order, 20, bad), InvalidArgument);
  std::vector<SegmentRule> rules{{"x", 0, 5, 1, 5, 1, 5}};
  EXPECT_THROW(rfm<double>(t.customer, 2, t.day, t.amount, t.order, 20, p, rules), InvalidArgument);
  try {
    rfm<double>(t.customer, 2, t.day, t.amount, t.order, 11, p);
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("rfm: as_of"), std::string::npos) << e.what();
  }
}

TEST(Rfm, FloatAmountsGiveTheSameTable) {
  Tx t;
  Rng rng(5);
  for (int i = 0; i < 500; ++i)
    t.add(static_cast<std::int64_t>(rng.below(40)), static_cast<std::int64_t>(rng.below(100)),
          static_cast<double>(rng.below(1000)) / 4.0);
  std::vector<float> af(t.amount.begin(), t.amount.end());
  auto d = rfm<double>(t.customer, 40, t.day, t.amount, {}, 100, RfmParams{});
  auto f = rfm<float>(t.customer, 40, t.day, af, {}, 100, RfmParams{});
  EXPECT_EQ(d.monetary, f.monetary);  // quarters are exact in float
  EXPECT_EQ(d.m_score, f.m_score);
}

TEST(Pyramid, HandCheckedTiers) {
  // 10 customers, cuts 10% / 30%: top 1, next 2, rest 7. Ties keep input order.
  std::vector<double> v{5, 100, 7, 7, 1, 50, 3, 2, 7, 0};
  std::vector<double> cuts{0.1, 0.3};
  auto t = pyramid_tiers<double>(v, cuts);
  EXPECT_EQ(t, (std::vector<std::int32_t>{2, 0, 1, 2, 2, 1, 2, 2, 2, 2}));
  auto s = summarize_tiers<double>(v, t, 3);
  EXPECT_EQ(s.customers, (std::vector<std::int64_t>{1, 2, 7}));
  EXPECT_DOUBLE_EQ(s.value[0], 100);
  EXPECT_DOUBLE_EQ(s.value[1], 57);
  EXPECT_DOUBLE_EQ(s.value_share[0], 100.0 / 182.0);
  // With 50 customers a 1% cut still holds the single top customer (ceil).
  std::vector<double> fifty(50, 1.0);
  std::vector<double> one{0.01};
  auto t50 = pyramid_tiers<double>(fifty, one);
  EXPECT_EQ(std::count(t50.begin(), t50.end(), 0), 1);
  EXPECT_EQ(t50[0], 0);
}

TEST(Abc, CrossingCustomerIsInA) {
  std::vector<double> v{10, 60, 30};  // sorted 60, 30, 10: shares before: 0, .6, .9
  std::vector<double> th{0.8, 0.95};
  EXPECT_EQ(abc_classes<double>(v, th), (std::vector<std::int32_t>{1, 0, 0}));
  std::vector<double> one_big{95, 1, 1, 1, 1, 1};
  EXPECT_EQ(abc_classes<double>(one_big, th), (std::vector<std::int32_t>{0, 2, 2, 2, 2, 2}));
  std::vector<double> refund{10, -20};
  EXPECT_THROW(abc_classes<double>(refund, th), InvalidArgument);
  std::vector<double> bad_th{0.9, 0.8};
  EXPECT_THROW(abc_classes<double>(v, bad_th), InvalidArgument);
  EXPECT_THROW(pyramid_tiers<double>(v, std::vector<double>{0.0}), InvalidArgument);
  EXPECT_THROW(pyramid_tiers<double>(std::vector<double>{}, one_big), InvalidArgument);
}

TEST(QuantileScorerTest, EdgesMatchTogetherScoresAndRoundTrip) {
  Tx t;
  Rng rng(9);
  for (int i = 0; i < 3000; ++i)
    t.add(static_cast<std::int64_t>(rng.below(300)), static_cast<std::int64_t>(rng.below(200)),
          static_cast<double>(rng.below(500)));
  RfmParams p;
  p.ties = Ties::Together;
  auto table = rfm<double>(t.customer, 300, t.day, t.amount, {}, 200, p);
  RowMatrix<double> X(300, 3);
  for (int i = 0; i < 300; ++i) {
    X(i, 0) = static_cast<double>(table.recency[i]);
    X(i, 1) = static_cast<double>(table.frequency[i]);
    X(i, 2) = table.monetary[i];
  }
  QuantileScorer s(QuantileScorer::Params{5, {false, true, true}});
  EXPECT_THROW(s.transform(X), NotFittedError);
  s.fit(X);
  auto scores = s.transform(X);
  for (int i = 0; i < 300; ++i) {
    ASSERT_EQ(scores(i, 0), table.r_score[i]);
    ASSERT_EQ(scores(i, 1), table.f_score[i]);
    ASSERT_EQ(scores(i, 2), table.m_score[i]);
  }
  auto back = QuantileScorer::from_document(from_json(to_json(s.to_document()), "QuantileScorer"));
  EXPECT_EQ(back.edges(), s.edges());
  EXPECT_EQ(back.transform(X), scores);
  RowMatrix<double> two(2, 2);
  two.setZero();
  EXPECT_THROW(s.transform(two), ShapeError);
  auto doc = s.to_document();
  doc.state["edges"] = json::array{json::array{1, 2}, json::array{}, json::array{}};
  EXPECT_THROW(QuantileScorer::from_document(doc), SerializationError);
  QuantileScorer wrong_dirs(QuantileScorer::Params{5, {true}});
  EXPECT_THROW(wrong_dirs.fit(X), ShapeError);
}

TEST(QuantileScorerTest, ReadsTheDocumentPythonWrote) {
  // tests/data/rfm_scorer_v1.json was written by custmine.tiering.RFMScorer.save (format 1);
  // tests/python/test_tiering.py reads the same file.
  auto s = QuantileScorer::from_document(
      load_document(std::string(CUSTMINE_TEST_DATA) + "/rfm_scorer_v1.json", "QuantileScorer"));
  RowMatrix<double> X(6, 3);
  X << 1, 1, 10, 5, 2, 20, 30, 1, 5, 90, 7, 300, 2, 3, 45, 200, 1, 1.5;
  RowMatrix<std::int32_t> expected(6, 3);
  expected << 3, 1, 2, 2, 2, 2, 2, 1, 1, 1, 3, 3, 3, 3, 3, 1, 1, 1;
  EXPECT_EQ(s.transform(X), expected);
}
