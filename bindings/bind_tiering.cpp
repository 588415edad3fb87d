// Tiering bindings: RFM table, pyramid, ABC and the fitted RFMScorer.
#include "common.hpp"
#include "custmine/core/factorize.hpp"
#include "custmine/tiering/rfm.hpp"

namespace custmine::bind {

namespace {
tiering::Ties parse_ties(const std::string& s) {
  if (s == "first") return tiering::Ties::First;
  if (s == "together") return tiering::Ties::Together;
  fail("rfm", "ties must be 'first' or 'together', got '", s, "'");
}
tiering::Monetary parse_monetary(const std::string& s) {
  if (s == "sum") return tiering::Monetary::Sum;
  if (s == "mean") return tiering::Monetary::Mean;
  fail("rfm", "monetary must be 'sum' or 'mean', got '", s, "'");
}
tiering::Returns parse_returns(const std::string& s) {
  if (s == "net") return tiering::Returns::Net;
  if (s == "exclude") return tiering::Returns::Exclude;
  fail("rfm", "returns must be 'net' or 'exclude', got '", s, "'");
}

using RuleTuple = std::tuple<std::string, int, int, int, int, int, int>;

std::vector<tiering::SegmentRule> to_rules(const std::vector<RuleTuple>& t) {
  std::vector<tiering::SegmentRule> rules;
  for (const auto& [name, rl, rh, fl, fh, ml, mh] : t) rules.push_back({name, rl, rh, fl, fh, ml, mh});
  return rules;
}

py::dict summary_dict(const tiering::TierSummary& s) {
  py::dict d;
  d["customers"] = to_numpy(s.customers);
  d["customer_share"] = to_numpy(s.customer_share);
  d["value"] = to_numpy(s.value);
  d["value_share"] = to_numpy(s.value_share);
  d["min_value"] = to_numpy(s.min_value);
  d["max_value"] = to_numpy(s.max_value);
  return d;
}
}  // namespace

}  // namespace custmine::bind

CUSTMINE_BIND_FAMILY(tiering) {
  using namespace custmine;
  using namespace custmine::bind;
  py::module_ root = m;
  m = root.def_submodule("tiering", "RFM, customer pyramid and ABC tiering");

  m.def("factorize_int64", [](const Array<std::int64_t>& ids) {
        auto s = span1d(ids, "factorize", "ids");
        Factorized f;
        {
          py::gil_scoped_release nogil;
          f = factorize(s);
        }
        return py::make_tuple(to_numpy(f.codes), to_numpy(f.uniques));
      }, py::arg("ids"));
  root.attr("factorize_int64") = m.attr("factorize_int64");

  m.def("default_segment_rules", [] {
    std::vector<RuleTuple> out;
    for (const auto& r : tiering::default_segment_rules())
      out.emplace_back(r.name, r.r_lo, r.r_hi, r.f_lo, r.f_hi, r.m_lo, r.m_hi);
    return out;
  });

  m.def("assign_segments", [](const Array<std::int32_t>& r, const Array<std::int32_t>& f,
                              const Array<std::int32_t>& mm, int bins, const std::vector<RuleTuple>& rules) {
        constexpr std::string_view w = "segment";
        auto rs = span1d(r, w, "r_score"), fs = span1d(f, w, "f_score"), ms = span1d(mm, w, "m_score");
        check_same_length(w, "r_score", rs.size(), "f_score", fs.size());
        check_same_length(w, "r_score", rs.size(), "m_score", ms.size());
        require(bins >= 2 && bins <= 100, w, "bins must be an integer in 2..100 (got ", bins, ")");
        for (auto sc : {rs, fs, ms})
          for (auto v : sc) require(v >= 1 && v <= bins, w, "scores must lie in 1..", bins, ", got ", v);
        auto table = rules.empty() ? tiering::default_segment_rules() : to_rules(rules);
        tiering::validate_segment_rules(table);
        return to_numpy(tiering::assign_segments(rs, fs, ms, bins, table));
      }, py::arg("r"), py::arg("f"), py::arg("m"), py::arg("bins"), py::arg("rules"));

  // RFM scoring of per-customer values computed elsewhere (custmine.spark / custmine.dask
  // aggregate in the engine and score the small table here, exactly as rfm does).
  m.def("quantile_scores", [](const Array<double>& values, int bins, const std::string& ties, bool higher_is_better) {
        constexpr std::string_view w = "quantile_scores";
        auto v = span1d(values, w, "values");
        require(bins >= 2 && bins <= 100, w, "bins must be an integer in 2..100 (got ", bins, ")");
        for (double x : v) require(std::isfinite(x), w, "values must be finite");
        const auto t = parse_ties(ties);
        std::vector<std::int32_t> out;
        {
          py::gil_scoped_release nogil;
          out = tiering::quantile_scores(v, bins, t, higher_is_better);
        }
        return to_numpy(out);
      }, py::arg("values"), py::arg("bins"), py::arg("ties"), py::arg("higher_is_better"));

  m.def("rfm", [](const Array<std::int64_t>& customer, std::int64_t n_customers, const Array<std::int64_t>& day,
                  const Array<double>& amount, std::optional<Array<std::int64_t>> order, std::int64_t as_of_day,
                  int bins, const std::string& ties, const std::string& monetary, const std::string& returns,
                  const std::vector<RuleTuple>& rules, int n_threads) {
        constexpr std::string_view w = "rfm";
        tiering::RfmParams p{bins, parse_ties(ties), parse_monetary(monetary), parse_returns(returns), n_threads};
        auto c = span1d(customer, w, "customer");
        auto d = span1d(day, w, "date");
        auto a = span1d(amount, w, "amount");
        std::span<const std::int64_t> o;
        if (order) o = span1d(*order, w, "order");
        auto rule_table = rules.empty() ? tiering::default_segment_rules() : to_rules(rules);
        tiering::RfmTable t;
        {
          py::gil_scoped_release nogil;
          t = tiering::rfm<double>(c, n_customers, d, a, o, as_of_day, p, rule_table);
        }
        py::dict out;
        out["recency"] = to_numpy(t.recency);
        out["frequency"] = to_numpy(t.frequency);
        out["monetary"] = to_numpy(t.monetary);
        out["r_score"] = to_numpy(t.r_score);
        out["f_score"] = to_numpy(t.f_score);
        out["m_score"] = to_numpy(t.m_score);
        out["segment"] = to_numpy(t.segment);
        return out;
      },
      py::arg("customer"), py::arg("n_customers"), py::arg("day"), py::arg("amount"), py::arg("order"),
      py::arg("as_of_day"), py::arg("bins"), py::arg("ties"), py::arg("monetary"), py::arg("returns"),
      py::arg("rules"), py::arg("n_threads"));

  m.def("pyramid", [](const Array<double>& values, std::vector<double> cuts) {
        auto v = span1d(values, "pyramid", "values");
        std::vector<std::int32_t> tier;
        tiering::TierSummary s;
        {
          py::gil_scoped_release nogil;
          tier = tiering::pyramid_tiers<double>(v, cuts);
          s = tiering::summarize_tiers<double>(v, tier, static_cast<int>(cuts.size()) + 1);
        }
        return py::make_tuple(to_numpy(tier), summary_dict(s));
      }, py::arg("values"), py::arg("cuts"));

  m.def("abc", [](const Array<double>& values, std::vector<double> thresholds) {
        auto v = span1d(values, "abc", "values");
        std::vector<std::int32_t> cls;
        tiering::TierSummary s;
        {
          py::gil_scoped_release nogil;
          cls = tiering::abc_classes<double>(v, thresholds);
          s = tiering::summarize_tiers<double>(v, cls, static_cast<int>(thresholds.size()) + 1);
        }
        return py::make_tuple(to_numpy(cls), summary_dict(s));
      }, py::arg("values"), py::arg("thresholds"));

  using tiering::QuantileScorer;
  py::class_<QuantileScorer>(m, "QuantileScorer")
      .def(py::init([](int bins, std::vector<bool> higher_is_better) {
             return QuantileScorer(QuantileScorer::Params{bins, std::move(higher_is_better)});
           }),
           py::arg("bins"), py::arg("higher_is_better"))
      .def("fit", [](QuantileScorer& s, const Array<double>& X) {
            if (X.ndim() != 2) fail<ShapeError>("QuantileScorer::fit", "X must be 2-dimensional");
            Eigen::Map<const RowMatrix<double>> map(X.data(), X.shape(0), X.shape(1));
            py::gil_scoped_release nogil;
            s.fit(map);
          }, py::arg("X"))
      .def("transform", [](const QuantileScorer& s, const Array<double>& X) {
            if (X.ndim() != 2) fail<ShapeError>("QuantileScorer::transform", "X must be 2-dimensional");
            Eigen::Map<const RowMatrix<double>> map(X.data(), X.shape(0), X.shape(1));
            RowMatrix<std::int32_t> out;
            {
              py::gil_scoped_release nogil;
              out = s.transform(map);
            }
            return out;
          }, py::arg("X"))
      .def_property_readonly("edges", &QuantileScorer::edges)
      .def("to_json", [](const QuantileScorer& s) { return to_json(s.to_document()); })
      .def_static("from_json", [](const std::string& text) {
            return QuantileScorer::from_document(from_json(text, "QuantileScorer"));
          }, py::arg("text"));
}
