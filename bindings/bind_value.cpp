// Value family bindings: cohort retention, funnel, weighted grading and quadrant matrices.
#include <limits>
#include <optional>

#include "common.hpp"
#include "custmine/value/funnel.hpp"
#include "custmine/value/periods.hpp"
#include "custmine/value/retention.hpp"
#include "custmine/value/scoring.hpp"

namespace custmine::bind {
namespace {

value::Period parse_period(const std::string& unit, int week_start, std::string_view where) {
  value::Period p;
  p.week_start = week_start;
  if (unit == "D") p.unit = value::PeriodUnit::Day;
  else if (unit == "W") p.unit = value::PeriodUnit::Week;
  else if (unit == "M") p.unit = value::PeriodUnit::Month;
  else if (unit == "Q") p.unit = value::PeriodUnit::Quarter;
  else if (unit == "Y") p.unit = value::PeriodUnit::Year;
  else fail(where, "period unit must be D, W, M, Q or Y, got '", unit, "'");
  p.validate(where);
  return p;
}

template <class T>
std::span<const T> opt_span(const std::optional<Array<T>>& a, std::string_view where, std::string_view name) {
  if (!a) return {};
  return span1d(*a, where, name);
}

py::array_t<double> square(const std::vector<double>& v, std::int64_t P) {
  py::array_t<double> out({P, P});
  std::copy(v.begin(), v.end(), out.mutable_data());
  return out;
}
py::array_t<std::int64_t> square(const std::vector<std::int64_t>& v, std::int64_t P) {
  py::array_t<std::int64_t> out({P, P});
  std::copy(v.begin(), v.end(), out.mutable_data());
  return out;
}

py::dict groups_dict(const value::FunnelGroups& g) {
  py::dict d;
  d["open_deals"] = to_numpy(g.open_deals);
  d["open_amount"] = to_numpy(g.open_amount);
  d["weighted_amount"] = to_numpy(g.weighted_amount);
  d["won_deals"] = to_numpy(g.won_deals);
  d["won_amount"] = to_numpy(g.won_amount);
  return d;
}

value::Scaling parse_scaling(const std::string& s) {
  if (s == "minmax") return value::Scaling::MinMax;
  if (s == "zscore") return value::Scaling::ZScore;
  if (s == "rank") return value::Scaling::Rank;
  if (s == "fixed") return value::Scaling::Fixed;
  fail("grade", "method must be 'minmax', 'zscore' or 'rank', got '", s, "'");
}

}  // namespace
}  // namespace custmine::bind

CUSTMINE_BIND_FAMILY(value) {
  using namespace custmine;
  using namespace custmine::bind;
  m = m.def_submodule("value", "Cohort retention, sales funnel, weighted grading and value matrices");

  m.def("periods_of_days", [](const Array<std::int64_t>& days, const std::string& unit, int week_start, int n_threads) {
        auto p = parse_period(unit, week_start, "periods");
        auto d = span1d(days, "periods", "days");
        std::vector<std::int64_t> out;
        {
          py::gil_scoped_release nogil;
          out = value::periods_of_days(d, p, n_threads);
        }
        return to_numpy(out);
      }, py::arg("days"), py::arg("unit"), py::arg("week_start") = 0, py::arg("n_threads") = 1);

  m.def("period_starts", [](const Array<std::int64_t>& ordinals, const std::string& unit, int week_start) {
        auto p = parse_period(unit, week_start, "periods");
        auto o = span1d(ordinals, "periods", "ordinals");
        std::vector<std::int64_t> out(o.size());
        for (std::size_t i = 0; i < o.size(); ++i) out[i] = value::period_start_day(o[i], p);
        return to_numpy(out);
      }, py::arg("ordinals"), py::arg("unit"), py::arg("week_start") = 0);

  m.def("cohort_table", [](const Array<std::int64_t>& customer, std::int64_t n_customers, const Array<std::int64_t>& day,
                           std::optional<Array<double>> amount, std::optional<Array<std::int64_t>> order,
                           const std::string& unit, int week_start, bool net_returns, int n_threads,
                           std::int64_t max_cells) {
        constexpr std::string_view w = "cohort_retention";
        value::CohortParams p;
        p.period = parse_period(unit, week_start, w);
        p.net_returns = net_returns;
        p.n_threads = n_threads;
        p.max_cells = max_cells;
        auto c = span1d(customer, w, "customer");
        auto d = span1d(day, w, "date");
        auto a = opt_span(amount, w, "amount");
        auto o = opt_span(order, w, "order");
        value::CohortTable t;
        {
          py::gil_scoped_release nogil;
          t = value::cohort_table(c, n_customers, d, a, o, p);
        }
        const auto P = t.n_periods;
        py::dict out;
        out["first_period"] = t.first_period;
        out["n_periods"] = P;
        out["customers_without_purchase"] = t.customers_without_purchase;
        out["cohort_size"] = to_numpy(t.cohort_size);
        out["active"] = square(t.active, P);
        out["rolling"] = square(t.rolling, P);
        out["orders"] = square(t.orders, P);
        out["revenue"] = square(t.revenue, P);
        out["period_active"] = to_numpy(t.period_active);
        out["period_new"] = to_numpy(t.period_new);
        out["period_retained"] = to_numpy(t.period_retained);
        out["period_repeat"] = to_numpy(t.period_repeat);
        out["period_orders"] = to_numpy(t.period_orders);
        out["period_revenue"] = to_numpy(t.period_revenue);
        return out;
      },
      py::arg("customer"), py::arg("n_customers"), py::arg("day"), py::arg("amount"), py::arg("order"),
      py::arg("unit"), py::arg("week_start"), py::arg("net_returns"), py::arg("n_threads"),
      py::arg("max_cells") = 50'000'000);

  m.def("funnel", [](const Array<std::int32_t>& stage, std::int32_t n_stages, std::optional<Array<double>> amount,
                     const Array<std::int8_t>& status, std::optional<Array<std::int64_t>> opened,
                     std::optional<Array<std::int64_t>> closed, std::optional<Array<std::int64_t>> stage_entered,
                     std::optional<std::int64_t> as_of, std::optional<Array<std::int64_t>> group_a, std::int64_t n_group_a,
                     std::optional<Array<std::int64_t>> group_b, std::int64_t n_group_b,
                     std::optional<Array<double>> probability) {
        constexpr std::string_view w = "funnel";
        value::FunnelInput in;
        in.stage = span1d(stage, w, "stage");
        in.n_stages = n_stages;
        in.amount = opt_span(amount, w, "amount");
        in.status = span1d(status, w, "won");
        in.opened = opt_span(opened, w, "opened");
        in.closed = opt_span(closed, w, "closed");
        in.stage_entered = opt_span(stage_entered, w, "stage_entered");
        in.as_of = as_of ? *as_of : value::kNoDay;
        in.group_a = opt_span(group_a, w, "expected_close");
        in.n_group_a = n_group_a;
        in.group_b = opt_span(group_b, w, "owner");
        in.n_group_b = n_group_b;
        in.given_probability = opt_span(probability, w, "probabilities");
        value::FunnelResult r;
        {
          py::gil_scoped_release nogil;
          r = value::funnel(in);
        }
        py::dict out;
        out["open_deals"] = to_numpy(r.open_deals);
        out["reached"] = to_numpy(r.reached);
        out["won_reached"] = to_numpy(r.won_reached);
        out["lost_at"] = to_numpy(r.lost_at);
        out["closed_reached"] = to_numpy(r.closed_reached);
        out["open_amount"] = to_numpy(r.open_amount);
        out["weighted_amount"] = to_numpy(r.weighted_amount);
        out["win_probability"] = to_numpy(r.win_probability);
        out["estimated_probability"] = to_numpy(r.estimated_probability);
        out["conversion_to_next"] = to_numpy(r.conversion_to_next);
        out["mean_days_in_stage"] = to_numpy(r.mean_days_in_stage);
        out["median_days_in_stage"] = to_numpy(r.median_days_in_stage);
        out["deal_probability"] = to_numpy(r.deal_probability);
        out["deal_weighted"] = to_numpy(r.deal_weighted);
        out["by_a"] = groups_dict(r.by_a);
        out["by_b"] = groups_dict(r.by_b);
        py::dict tot;
        tot["open_deals"] = r.open;
        tot["won_deals"] = r.won;
        tot["lost_deals"] = r.lost;
        tot["won_amount"] = r.won_amount;
        tot["lost_amount"] = r.lost_amount;
        tot["pipeline_amount"] = r.pipeline_amount;
        tot["weighted_pipeline"] = r.weighted_pipeline;
        tot["mean_days_to_win"] = r.mean_days_to_win;
        tot["median_days_to_win"] = r.median_days_to_win;
        tot["mean_days_to_loss"] = r.mean_days_to_loss;
        tot["median_days_to_loss"] = r.median_days_to_loss;
        tot["mean_open_age"] = r.mean_open_age;
        out["totals"] = tot;
        return out;
      },
      py::arg("stage"), py::arg("n_stages"), py::arg("amount"), py::arg("status"), py::arg("opened"), py::arg("closed"),
      py::arg("stage_entered"), py::arg("as_of"), py::arg("group_a"), py::arg("n_group_a"), py::arg("group_b"),
      py::arg("n_group_b"), py::arg("probability"));

  m.def("stage_durations", [](const Array<std::int64_t>& deal, std::int64_t n_deals, const Array<std::int32_t>& stage,
                              std::int32_t n_stages, const Array<std::int64_t>& day,
                              std::optional<Array<std::int64_t>> closed, std::optional<std::int64_t> as_of) {
        constexpr std::string_view w = "stage_durations";
        auto dl = span1d(deal, w, "deal");
        auto st = span1d(stage, w, "stage");
        auto dy = span1d(day, w, "entered");
        auto cl = opt_span(closed, w, "closed");
        value::StageDurations r;
        {
          py::gil_scoped_release nogil;
          r = value::stage_durations(dl, n_deals, st, n_stages, dy, cl, as_of ? *as_of : value::kNoDay);
        }
        py::dict out;
        out["entries"] = to_numpy(r.entries);
        out["completed"] = to_numpy(r.completed);
        out["mean_days"] = to_numpy(r.mean_days);
        out["median_days"] = to_numpy(r.median_days);
        out["current"] = to_numpy(r.current);
        out["mean_days_current"] = to_numpy(r.mean_days_current);
        return out;
      }, py::arg("deal"), py::arg("n_deals"), py::arg("stage"), py::arg("n_stages"), py::arg("day"), py::arg("closed"),
      py::arg("as_of"));

  m.def("weighted_score", [](const Array<double>& X, const Array<double>& weights, const Array<std::uint8_t>& higher,
                             const std::string& method, double low, double high) {
        if (X.ndim() != 2) fail<ShapeError>("grade", "indicators must be 2-dimensional");
        Eigen::Map<const RowMatrix<double>> map(X.data(), X.shape(0), X.shape(1));
        value::ScoreParams p{parse_scaling(method), low, high};
        auto w = span1d(weights, "grade", "weights");
        auto h = span1d(higher, "grade", "directions");
        value::ScoreResult r;
        {
          py::gil_scoped_release nogil;
          r = value::weighted_score(map, w, h, p);
        }
        py::dict out;
        out["scaled"] = r.scaled;
        out["contribution"] = r.contribution;
        out["score"] = to_numpy(r.score);
        out["weight"] = to_numpy(r.weight);
        return out;
      }, py::arg("X"), py::arg("weights"), py::arg("higher_is_better"), py::arg("method"), py::arg("low") = 0.0,
      py::arg("high") = 1.0);

  m.def("grade_by_thresholds", [](const Array<double>& score, std::vector<double> lower) {
        return to_numpy(value::grade_by_thresholds(span1d(score, "grade", "score"), lower));
      }, py::arg("score"), py::arg("lower"));
  m.def("grade_by_shares", [](const Array<double>& score, std::vector<double> cum_share) {
        return to_numpy(value::grade_by_shares(span1d(score, "grade", "score"), cum_share));
      }, py::arg("score"), py::arg("cum_share"));
  m.def("split_value", [](const Array<double>& v, const std::string& how, double value) {
        value::Split s;
        if (how == "median") s = value::Split::Median;
        else if (how == "mean") s = value::Split::Mean;
        else if (how == "value") s = value::Split::Value;
        else fail("split", "split must be 'median', 'mean' or a number, got '", how, "'");
        return value::split_value(span1d(v, "split", "values"), s, value);
      }, py::arg("values"), py::arg("how"), py::arg("value") = 0.0);
  m.def("quadrants", [](const Array<double>& x, const Array<double>& y, double sx, double sy) {
        return to_numpy(value::quadrants(span1d(x, "quadrants", "x"), span1d(y, "quadrants", "y"), sx, sy));
      }, py::arg("x"), py::arg("y"), py::arg("split_x"), py::arg("split_y"));

  py::class_<value::WeightedGrader>(m, "Grader")
      .def(py::init([](const std::string& method, std::vector<double> weights, std::vector<std::uint8_t> higher,
                       std::vector<double> cum_shares, std::vector<double> thresholds) {
             value::WeightedGrader::Params p;
             p.scaling = parse_scaling(method);
             p.weights = std::move(weights);
             p.higher_is_better = std::move(higher);
             p.cum_shares = std::move(cum_shares);
             p.thresholds = std::move(thresholds);
             p.validate();
             return value::WeightedGrader(std::move(p));
           }),
           py::arg("method"), py::arg("weights"), py::arg("higher_is_better"), py::arg("cum_shares"),
           py::arg("thresholds"))
      .def("fit", [](value::WeightedGrader& g, const Array<double>& X) {
            if (X.ndim() != 2) fail<ShapeError>("Grader::fit", "X must be 2-dimensional");
            Eigen::Map<const RowMatrix<double>> map(X.data(), X.shape(0), X.shape(1));
            py::gil_scoped_release nogil;
            g.fit(map);
          }, py::arg("X"))
      .def("score", [](const value::WeightedGrader& g, const Array<double>& X) {
            if (X.ndim() != 2) fail<ShapeError>("Grader::transform", "X must be 2-dimensional");
            Eigen::Map<const RowMatrix<double>> map(X.data(), X.shape(0), X.shape(1));
            value::ScoreResult r;
            std::vector<std::int32_t> grades;
            {
              py::gil_scoped_release nogil;
              r = g.score(map);
              grades = g.grade(r.score);
            }
            py::dict out;
            out["scaled"] = r.scaled;
            out["contribution"] = r.contribution;
            out["score"] = to_numpy(r.score);
            out["grade"] = to_numpy(grades);
            return out;
          }, py::arg("X"))
      .def_property_readonly("lower_bounds", &value::WeightedGrader::lower_bounds)
      .def_property_readonly("weights", &value::WeightedGrader::weights)
      .def("to_json", [](const value::WeightedGrader& g) { return to_json(g.to_document()); })
      .def_static("from_json", [](const std::string& text) {
            return value::WeightedGrader::from_document(from_json(text, "Grader"));
          }, py::arg("text"));
}
