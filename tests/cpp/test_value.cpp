// Tests of the value family: periods, cohort retention, funnel, weighted grading, quadrants.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "custmine/value/funnel.hpp"
#include "custmine/value/periods.hpp"
#include "custmine/value/retention.hpp"
#include "custmine/value/scoring.hpp"

using namespace custmine;
using namespace custmine::value;
using I64 = std::vector<std::int64_t>;

namespace {
std::int64_t ymd(int y, unsigned m, unsigned d) { return days_from_civil(y, m, d); }
const double kNaN = std::numeric_limits<double>::quiet_NaN();
}  // namespace

TEST(Periods, CivilDatesAndOrdinals) {
  EXPECT_EQ(ymd(1970, 1, 1), 0);
  EXPECT_EQ(ymd(2011, 12, 9), 15317);  // checked with Python: date(2011,12,9) - date(1970,1,1)
  EXPECT_EQ(ymd(1969, 12, 31), -1);
  std::int64_t y;
  unsigned m, d;
  civil_from_days(ymd(2000, 2, 29), y, m, d);
  EXPECT_EQ(y, 2000);
  EXPECT_EQ(m, 2u);
  EXPECT_EQ(d, 29u);

  Period month{PeriodUnit::Month, 0};
  EXPECT_EQ(period_of_day(ymd(2011, 3, 31), month) + 1, period_of_day(ymd(2011, 4, 1), month));
  EXPECT_EQ(period_start_day(period_of_day(ymd(2011, 3, 17), month), month), ymd(2011, 3, 1));
  Period quarter{PeriodUnit::Quarter, 0};
  EXPECT_EQ(period_start_day(period_of_day(ymd(2011, 6, 30), quarter), quarter), ymd(2011, 4, 1));
  Period year{PeriodUnit::Year, 0};
  EXPECT_EQ(period_start_day(period_of_day(ymd(1969, 6, 30), year), year), ymd(1969, 1, 1));
  // 2011-12-09 was a Friday: its Monday-start week begins 2011-12-05, its Sunday-start week 2011-12-04.
  Period week{PeriodUnit::Week, 0};
  EXPECT_EQ(period_start_day(period_of_day(ymd(2011, 12, 9), week), week), ymd(2011, 12, 5));
  Period sunday_week{PeriodUnit::Week, 6};
  EXPECT_EQ(period_start_day(period_of_day(ymd(2011, 12, 9), sunday_week), sunday_week), ymd(2011, 12, 4));
}

TEST(Periods, EveryDayFallsInsideItsPeriod) {
  for (auto unit : {PeriodUnit::Day, PeriodUnit::Week, PeriodUnit::Month, PeriodUnit::Quarter, PeriodUnit::Year}) {
    for (int ws = 0; ws < 7; ++ws) {
      Period p{unit, ws};
      for (std::int64_t day = -800; day < 800; ++day) {
        const auto o = period_of_day(day, p);
        ASSERT_LE(period_start_day(o, p), day);
        ASSERT_GT(period_start_day(o + 1, p), day);
      }
    }
  }
  EXPECT_THROW((Period{PeriodUnit::Week, 7}).validate("t"), InvalidArgument);
}

namespace {
// Customers 0, 1, 2 over January..April 2020 (see the hand table in the test).
struct Toy {
  I64 customer{0, 0, 1, 1, 0, 2, 0};
  I64 day{ymd(2020, 1, 5), ymd(2020, 2, 3), ymd(2020, 2, 10), ymd(2020, 4, 1), ymd(2020, 3, 1), ymd(2020, 3, 15),
          ymd(2020, 2, 20)};
  std::vector<double> amount{10, 20, 5, 7, -3, 4, 1};
  I64 order{1, 2, 3, 4, 5, 6, 7};
};
}  // namespace

TEST(CohortTable, HandCheckedToy) {
  Toy t;
  CohortParams p;
  auto r = cohort_table(t.customer, 3, t.day, t.amount, t.order, p);
  ASSERT_EQ(r.n_periods, 4);  // Jan..Apr
  // cohorts: customer 0 -> Jan, 1 -> Feb, 2 -> Mar
  EXPECT_EQ(r.cohort_size, (I64{1, 1, 1, 0}));
  // customer 0 buys Jan, Feb (two orders); March is a return only: not active.
  EXPECT_EQ(r.active, (I64{1, 1, 0, 0, /*Feb*/ 1, 0, 1, 0, /*Mar*/ 1, 0, 0, 0, 0, 0, 0, 0}));
  // rolling: customer 0's last purchase is Feb (offset 1), customer 1's Apr (offset 2).
  EXPECT_EQ(r.rolling, (I64{1, 1, 0, 0, 1, 1, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0}));
  EXPECT_EQ(r.orders[1], 2);
  EXPECT_DOUBLE_EQ(r.revenue[1], 21.0);
  EXPECT_DOUBLE_EQ(r.revenue[2], -3.0);  // the return, netted into the cohort's March
  EXPECT_EQ(r.period_active, (I64{1, 2, 1, 1}));
  EXPECT_EQ(r.period_new, (I64{1, 1, 1, 0}));
  EXPECT_EQ(r.period_retained, (I64{0, 1, 0, 0}));
  EXPECT_EQ(r.period_repeat, (I64{0, 1, 0, 0}));
  EXPECT_EQ(r.period_orders, (I64{1, 3, 1, 1}));
  EXPECT_DOUBLE_EQ(r.period_revenue[2], 1.0);  // -3 + 4

  p.net_returns = false;
  auto ex = cohort_table(t.customer, 3, t.day, t.amount, t.order, p);
  EXPECT_DOUBLE_EQ(ex.period_revenue[2], 4.0);
  // Without amounts every row is a purchase: customer 0 is active in March too.
  auto all = cohort_table(t.customer, 3, t.day, {}, {}, CohortParams{});
  EXPECT_EQ(all.active[2], 1);
  EXPECT_EQ(all.period_orders, (I64{1, 3, 2, 1}));
}

TEST(CohortTable, OrdersAreDistinctAndReturnsOnlyCustomersHaveNoCohort) {
  I64 customer{0, 0, 0, 1};
  I64 day{100, 100, 101, 100};
  std::vector<double> amount{1, 2, 3, -5};
  I64 order{7, 7, 8, 9};
  CohortParams p;
  p.period.unit = PeriodUnit::Day;
  auto r = cohort_table(customer, 2, day, amount, order, p);
  EXPECT_EQ(r.customers_without_purchase, 1);
  EXPECT_EQ(r.orders[0], 1);  // order 7 twice in one day
  EXPECT_EQ(r.cohort_size, (I64{1, 0}));  // customer 1 only returned something
  EXPECT_EQ(r.period_retained, (I64{0, 1}));
  EXPECT_DOUBLE_EQ(r.period_revenue[0], -2.0);
}

TEST(CohortTable, SameResultForAnyThreadCount) {
  std::mt19937_64 gen(42);
  const std::int64_t n = 20000, k = 700;
  I64 customer(n), day(n), order(n);
  std::vector<double> amount(n);
  for (std::int64_t i = 0; i < n; ++i) {
    customer[i] = static_cast<std::int64_t>(gen() % k);
    day[i] = 15000 + static_cast<std::int64_t>(gen() % 700);
    order[i] = static_cast<std::int64_t>(gen() % 5000);
    amount[i] = std::uniform_real_distribution<double>(-20, 100)(gen);
  }
  CohortParams p1, p2;
  p1.period.unit = p2.period.unit = PeriodUnit::Week;
  p1.n_threads = 1;
  p2.n_threads = 2;
  auto a = cohort_table(customer, k, day, amount, order, p1);
  auto b = cohort_table(customer, k, day, amount, order, p2);
  EXPECT_EQ(a.active, b.active);
  EXPECT_EQ(a.rolling, b.rolling);
  EXPECT_EQ(a.orders, b.orders);
  EXPECT_EQ(a.revenue, b.revenue);  // bitwise: summed in one fixed order
  EXPECT_EQ(a.period_revenue, b.period_revenue);
  // Row sums of the classic table agree with the per-period totals.
  for (std::int64_t per = 0; per < a.n_periods; ++per) {
    std::int64_t s = 0;
    for (std::int64_t c = 0; c <= per; ++c) s += a.active[c * a.n_periods + (per - c)];
    EXPECT_EQ(s, a.period_active[per]);
  }
}

TEST(CohortTable, WideDateRangeConvertsRowByRow) {
  // Two rows 300 years apart (yearly periods): the per-day lookup table is skipped.
  I64 customer{0, 0, 1};
  I64 day{ymd(1800, 6, 1), ymd(2100, 6, 1), ymd(2100, 1, 1)};
  CohortParams p;
  p.period.unit = PeriodUnit::Year;
  auto r = cohort_table(customer, 2, day, {}, {}, p);
  ASSERT_EQ(r.n_periods, 301);
  EXPECT_EQ(r.active[0], 1);
  EXPECT_EQ(r.active[300], 1);
  EXPECT_EQ(r.cohort_size[300], 1);
  EXPECT_EQ(r.period_active[300], 2);
}

TEST(CohortTable, BadInputIsAClearError) {
  Toy t;
  CohortParams p;
  EXPECT_THROW(cohort_table(I64{}, 1, I64{}, {}, {}, p), InvalidArgument);
  EXPECT_THROW(cohort_table(t.customer, 2, t.day, t.amount, t.order, p), InvalidArgument);  // code 2 out of range
  I64 short_day(t.day.begin(), t.day.end() - 1);
  EXPECT_THROW(cohort_table(t.customer, 3, short_day, t.amount, t.order, p), ShapeError);
  std::vector<double> nan_amount = t.amount;
  nan_amount[3] = kNaN;
  EXPECT_THROW(cohort_table(t.customer, 3, t.day, nan_amount, t.order, p), InvalidArgument);
  I64 neg_order = t.order;
  neg_order[0] = -1;
  EXPECT_THROW(cohort_table(t.customer, 3, t.day, t.amount, neg_order, p), InvalidArgument);
  CohortParams tiny;
  tiny.period.unit = PeriodUnit::Day;
  tiny.max_cells = 100;  // 101 days -> 10,201 cells
  try {
    cohort_table(I64{0, 0}, 1, I64{0, 100}, {}, {}, tiny);
    FAIL() << "expected an error";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("coarser period"), std::string::npos);
  }
}

TEST(Funnel, HandCheckedPipeline) {
  // stages 0 Lead, 1 Qualified, 2 Proposal
  std::vector<std::int32_t> stage{0, 1, 2, 0, 2, 1};
  std::vector<double> amount{100, 200, 300, 50, 400, 80};
  std::vector<std::int8_t> status{kOpen, kOpen, kOpen, kLost, kWon, kLost};
  I64 opened{10, 10, 20, kNoDay, 0, 5};
  I64 closed{kNoDay, kNoDay, kNoDay, kNoDay, 30, 9};
  I64 entered{40, 45, 50, kNoDay, kNoDay, kNoDay};
  I64 owner{0, 1, 0, 1, 0, 0};
  FunnelInput in;
  in.stage = stage;
  in.n_stages = 3;
  in.amount = amount;
  in.status = status;
  in.opened = opened;
  in.closed = closed;
  in.stage_entered = entered;
  in.as_of = 60;
  in.group_b = owner;
  in.n_group_b = 2;
  auto r = funnel(in);
  EXPECT_EQ(r.open_deals, (I64{1, 1, 1}));
  EXPECT_EQ(r.reached, (I64{6, 4, 2}));  // won deal reaches all; lost at Lead reaches Lead only
  EXPECT_EQ(r.closed_reached, (I64{3, 2, 1}));
  EXPECT_NEAR(r.win_probability[0], 1.0 / 3, 1e-15);
  EXPECT_NEAR(r.win_probability[1], 0.5, 1e-15);
  EXPECT_NEAR(r.win_probability[2], 1.0, 1e-15);
  EXPECT_NEAR(r.conversion_to_next[0], 4.0 / 6, 1e-15);
  EXPECT_TRUE(std::isnan(r.conversion_to_next[2]));
  EXPECT_NEAR(r.weighted_pipeline, 100.0 / 3 + 100 + 300, 1e-12);
  EXPECT_NEAR(r.by_b.weighted_amount[0], 100.0 / 3 + 300, 1e-12);
  EXPECT_DOUBLE_EQ(r.by_b.won_amount[0], 400);
  EXPECT_DOUBLE_EQ(r.mean_days_in_stage[0], 20);
  EXPECT_DOUBLE_EQ(r.mean_days_to_win, 30);
  EXPECT_DOUBLE_EQ(r.mean_days_to_loss, 4);
  EXPECT_DOUBLE_EQ(r.mean_open_age, (50.0 + 50 + 40) / 3);

  // Given probabilities replace the estimates stage by stage.
  std::vector<double> given{0.1, kNaN, 0.9};
  in.given_probability = given;
  auto g = funnel(in);
  EXPECT_DOUBLE_EQ(g.win_probability[0], 0.1);
  EXPECT_DOUBLE_EQ(g.win_probability[1], 0.5);
  EXPECT_NEAR(g.weighted_pipeline, 10 + 100 + 270, 1e-12);
}

TEST(StageDurations, CompletedAndRunningStaysApart) {
  // deal 0: stage 0 on day 0, stage 1 on day 10 (input out of order), closed day 25
  // deal 1: stage 0 on day 5, still open
  I64 deal{0, 0, 1};
  std::vector<std::int32_t> stage{1, 0, 0};
  I64 day{10, 0, 5};
  I64 closed{25, 25, kNoDay};
  auto r = stage_durations(deal, 2, stage, 2, day, closed, 30);
  EXPECT_EQ(r.entries, (I64{2, 1}));
  EXPECT_EQ(r.completed, (I64{1, 1}));
  EXPECT_DOUBLE_EQ(r.mean_days[0], 10);
  EXPECT_DOUBLE_EQ(r.median_days[1], 15);
  EXPECT_EQ(r.current, (I64{1, 0}));
  EXPECT_DOUBLE_EQ(r.mean_days_current[0], 25);
  EXPECT_TRUE(std::isnan(r.mean_days_current[1]));
  I64 early{8, 8, kNoDay};
  EXPECT_THROW(stage_durations(deal, 2, stage, 2, day, early, 30), InvalidArgument);
  std::vector<std::int32_t> bad_stage{2, 0, 0};
  EXPECT_THROW(stage_durations(deal, 2, bad_stage, 2, day, closed, 30), InvalidArgument);
}

TEST(Funnel, BadInputIsAClearError) {
  std::vector<std::int32_t> stage{0, 3};
  std::vector<std::int8_t> status{kOpen, kWon};
  FunnelInput in;
  in.stage = stage;
  in.n_stages = 3;
  in.status = status;
  EXPECT_THROW(funnel(in), InvalidArgument);  // stage code 3 of 3 stages
  std::vector<std::int32_t> ok{0, 1};
  in.stage = ok;
  std::vector<double> negative{1, -1};
  in.amount = negative;
  EXPECT_THROW(funnel(in), InvalidArgument);
  in.amount = {};
  std::vector<std::int8_t> all_open{kOpen, kOpen};
  in.status = all_open;  // nothing closed: no estimate for an open stage
  try {
    funnel(in);
    FAIL() << "expected an error";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("pass probabilities"), std::string::npos);
  }
}

TEST(Scoring, HandCheckedScalings) {
  RowMatrix<double> X(4, 2);
  X << 1, 40, 2, 30, 3, 20, 4, 10;
  std::vector<double> w{3, 1};
  std::vector<std::uint8_t> up{1, 0};
  auto mm = weighted_score(X, w, up, {Scaling::MinMax});
  EXPECT_DOUBLE_EQ(mm.weight[0], 0.75);
  EXPECT_DOUBLE_EQ(mm.scaled(1, 0), 1.0 / 3);
  EXPECT_DOUBLE_EQ(mm.scaled(1, 1), 1.0 / 3);  // lower is better: 30 is a third of the way from 40
  EXPECT_DOUBLE_EQ(mm.score[3], 1.0);
  auto z = weighted_score(X, w, up, {Scaling::ZScore});
  // column 1..4: mean 2.5, sample sd sqrt(5/3)
  EXPECT_NEAR(z.scaled(0, 0), -1.5 / std::sqrt(5.0 / 3), 1e-14);
  EXPECT_NEAR(z.scaled(0, 1), -1.5 / std::sqrt(5.0 / 3), 1e-14);
  RowMatrix<double> T(4, 1);
  T << 5, 5, 1, 9;
  std::vector<double> w1{1};
  std::vector<std::uint8_t> up1{1};
  auto rk = weighted_score(T, w1, up1, {Scaling::Rank});
  EXPECT_DOUBLE_EQ(rk.scaled(0, 0), 0.5);  // ranks 2.5 of 4 -> (2.5-1)/3
  EXPECT_DOUBLE_EQ(rk.scaled(2, 0), 0.0);
  EXPECT_DOUBLE_EQ(rk.scaled(3, 0), 1.0);
  auto fx = weighted_score(T, w1, up1, {Scaling::Fixed, 0, 10});
  EXPECT_DOUBLE_EQ(fx.score[3], 0.9);
  RowMatrix<double> C = RowMatrix<double>::Constant(3, 1, 7.0);
  EXPECT_DOUBLE_EQ(weighted_score(C, w1, up1, {Scaling::MinMax}).score[0], 0.5);
  EXPECT_DOUBLE_EQ(weighted_score(C, w1, up1, {Scaling::ZScore}).score[0], 0.0);
  EXPECT_DOUBLE_EQ(weighted_score(C, w1, up1, {Scaling::Rank}).score[0], 0.5);
}

TEST(Scoring, BadInputIsAClearError) {
  RowMatrix<double> X(2, 2);
  X << 1, 2, 3, 4;
  std::vector<std::uint8_t> up{1, 1};
  std::vector<double> three{1, 1, 1}, zero{0, 0}, neg{1, -1}, ok{1, 1};
  EXPECT_THROW(weighted_score(X, three, up, {}), InvalidArgument);
  EXPECT_THROW(weighted_score(X, zero, up, {}), InvalidArgument);
  EXPECT_THROW(weighted_score(X, neg, up, {}), InvalidArgument);
  EXPECT_THROW(weighted_score(X, ok, up, {Scaling::Fixed, 0, 3}), InvalidArgument);  // 4 is outside [0, 3]
  X(0, 0) = kNaN;
  EXPECT_THROW(weighted_score(X, ok, up, {}), InvalidArgument);
}

TEST(Grades, ThresholdsAndSharesKeepTiesTogether) {
  std::vector<double> s{0.9, 0.5, 0.5, 0.1, 0.7};
  std::vector<double> lower{0.8, 0.5, 0.2};
  EXPECT_EQ(grade_by_thresholds(s, lower), (std::vector<std::int32_t>{0, 1, 1, 3, 1}));
  std::vector<double> bad{0.5, 0.8};
  EXPECT_THROW(grade_by_thresholds(s, bad), InvalidArgument);
  // shares 0.4 / 0.6 of 5: ranks 1-2 (0.9, 0.7) -> 0; 0.5, 0.5, 0.1 -> 1
  std::vector<double> cum{0.4, 1.0};
  EXPECT_EQ(grade_by_shares(s, cum), (std::vector<std::int32_t>{0, 1, 1, 1, 0}));
  // shares 0.6 / 0.4: rank 3 is a 0.5 -> group 0, and its equal (rank 4) joins it.
  std::vector<double> cum2{0.6, 1.0};
  EXPECT_EQ(grade_by_shares(s, cum2), (std::vector<std::int32_t>{0, 0, 0, 1, 0}));
  std::vector<double> not_one{0.5, 0.9};
  EXPECT_THROW(grade_by_shares(s, not_one), InvalidArgument);
}

TEST(Quadrants, SplitsAndCodes) {
  std::vector<double> x{1, 2, 3, 4}, y{4, 3, 2, 1};
  EXPECT_DOUBLE_EQ(split_value(x, Split::Median, 0), 2.5);
  std::vector<double> odd{5, 1, 3};
  EXPECT_DOUBLE_EQ(split_value(odd, Split::Median, 0), 3);
  EXPECT_DOUBLE_EQ(split_value(odd, Split::Mean, 0), 3);
  EXPECT_EQ(quadrants(x, y, 2.5, 2.5), (std::vector<std::int32_t>{1, 1, 2, 2}));
  EXPECT_EQ(quadrants(x, y, 0, 0), (std::vector<std::int32_t>{0, 0, 0, 0}));
  EXPECT_EQ(quadrants(x, y, 4, 4), (std::vector<std::int32_t>{3, 3, 3, 3}));  // "high" is strictly above
  std::vector<double> y3{1, 2, 3};
  EXPECT_THROW(quadrants(x, y3, 0, 0), ShapeError);
}

TEST(WeightedGraderTest, ReferenceRowsMatchFunctionsAndDocumentRoundTrips) {
  std::mt19937_64 gen(9);
  RowMatrix<double> X(200, 3);
  for (Index i = 0; i < X.rows(); ++i)
    for (Index j = 0; j < 3; ++j) X(i, j) = static_cast<double>(gen() % 50) / (j + 1.0);
  for (auto scaling : {Scaling::MinMax, Scaling::ZScore, Scaling::Rank}) {
    WeightedGrader::Params p;
    p.scaling = scaling;
    p.weights = {3, 2, 1};
    p.higher_is_better = {1, 0, 1};
    p.cum_shares = {0.1, 0.4, 1.0};
    WeightedGrader g(p);
    g.fit(X);
    const auto ref = weighted_score(X, p.weights, p.higher_is_better, {scaling});
    const auto got = g.score(X);
    for (Index i = 0; i < X.rows(); ++i) ASSERT_NEAR(got.score[i], ref.score[i], 1e-12);
    EXPECT_EQ(g.grade(got.score), grade_by_shares(ref.score, p.cum_shares));

    const auto back = WeightedGrader::from_document(from_json(to_json(g.to_document()), "Grader"));
    const auto again = back.score(X);
    EXPECT_EQ(again.score, got.score);
    EXPECT_EQ(back.grade(again.score), g.grade(got.score));
  }
}

TEST(WeightedGraderTest, CorruptDocumentsAndMisuseAreClearErrors) {
  RowMatrix<double> X(3, 1);
  X << 1, 2, 3;
  WeightedGrader::Params p;
  p.thresholds = {0.5};
  WeightedGrader g(p);
  EXPECT_THROW((void)g.score(X), NotFittedError);
  g.fit(X);
  RowMatrix<double> two(1, 2);
  two << 1, 2;
  EXPECT_THROW((void)g.score(two), ShapeError);
  const std::string good = to_json(g.to_document());
  auto corrupt = [&](const std::string& from, const std::string& to) {
    std::string s = good;
    const auto at = s.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    s.replace(at, from.size(), to);
    return s;
  };
  EXPECT_NO_THROW(WeightedGrader::from_document(from_json(good, "Grader")));
  EXPECT_THROW(WeightedGrader::from_document(from_json(corrupt("\"minmax\"", "\"mode\""), "Grader")), SerializationError);
  EXPECT_THROW(WeightedGrader::from_document(from_json(corrupt("\"weights\":[", "\"weights\":[-1,"), "Grader")),
               SerializationError);
  EXPECT_THROW(WeightedGrader::from_document(from_json(corrupt("\"lower\":[", "\"lower\":[1,"), "Grader")),
               SerializationError);
  WeightedGrader::Params both;
  both.thresholds = {0.5};
  both.cum_shares = {1.0};
  EXPECT_THROW(WeightedGrader(both).fit(X), InvalidArgument);
}
