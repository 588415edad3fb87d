// CLV bindings: RFM summary, the six models, lifetime value and the simulators.
#include "common.hpp"
#include "custmine/clv/clv.hpp"

namespace custmine::bind {

namespace {

using Opt = std::optional<Array<double>>;

std::span<const double> opt_span(const Opt& a, std::string_view where, std::string_view name) {
  if (!a) return {};
  return span1d(*a, where, name);
}

clv::FitOptions fit_options(double penalizer, int max_iter, double tol, int n_threads, bool strict,
                            std::vector<double> initial) {
  clv::FitOptions o;
  o.penalizer = penalizer;
  o.max_iter = max_iter;
  o.tol = tol;
  o.n_threads = n_threads;
  o.strict = strict;
  o.initial = std::move(initial);
  return o;
}

clv::CountingKind parse_kind(const std::string& s) {
  if (s == "BetaGeo") return clv::CountingKind::BetaGeo;
  if (s == "ModifiedBetaGeo") return clv::CountingKind::ModifiedBetaGeo;
  if (s == "ParetoNBD") return clv::CountingKind::ParetoNBD;
  fail("clv", "unknown counting model '", s, "'");
}

py::dict info_dict(const clv::FitInfo& i) {
  py::dict d;
  d["converged"] = i.converged;
  d["iterations"] = i.iterations;
  d["evaluations"] = i.evaluations;
  d["gradient_norm"] = i.gradient_norm;
  d["message"] = i.message;
  d["n_rows"] = i.n_rows;
  d["n_groups"] = i.n_groups;
  d["total_weight"] = i.total_weight;
  return d;
}

template <class M, class C>
void common_members(C& cls, const char* estimator) {
  cls.def_property_readonly("params", [](const M& m) { return m.params(); })
      .def_property_readonly("standard_errors", [](const M& m) { return m.standard_errors(); })
      .def_property_readonly("param_names", [](const M& m) { return m.param_names(); })
      .def_property_readonly("log_likelihood", &M::log_likelihood)
      .def_property_readonly("info", [](const M& m) { return info_dict(m.info()); })
      .def_property_readonly("is_fitted", &M::is_fitted)
      .def("set_params", &M::set_params, py::arg("params"))
      .def("to_json", [](const M& m) { return to_json(m.to_document()); })
      .def_static("from_json", [estimator](const std::string& text) {
        return M::from_document(from_json(text, estimator));
      }, py::arg("text"));
}

template <class F>
auto nogil(F&& f) {
  py::gil_scoped_release release;
  return f();
}

}  // namespace

}  // namespace custmine::bind

CUSTMINE_BIND_FAMILY(clv) {
  using namespace custmine;
  using namespace custmine::bind;
  m = m.def_submodule("clv", "Customer lifetime value models");

  m.def("summary_data", [](const Array<std::int64_t>& customer, std::int64_t n_customers, const Array<std::int64_t>& day,
                           const Opt& amount, double period, std::int64_t observation_end, bool has_cal,
                           std::int64_t cal_end) {
        constexpr std::string_view w = "summary_data";
        auto c = span1d(customer, w, "customer");
        auto d = span1d(day, w, "date");
        auto a = opt_span(amount, w, "amount");
        auto s = nogil([&] { return clv::summary_data(c, n_customers, d, a, period, observation_end, has_cal, cal_end); });
        py::dict out;
        out["frequency"] = to_numpy(s.frequency);
        out["recency"] = to_numpy(s.recency);
        out["T"] = to_numpy(s.T);
        out["monetary_value"] = to_numpy(s.monetary_value);
        out["in_calibration"] = to_numpy(s.in_calibration);
        if (has_cal) {
          out["frequency_holdout"] = to_numpy(s.frequency_holdout);
          out["monetary_value_holdout"] = to_numpy(s.monetary_value_holdout);
          out["duration_holdout"] = s.duration_holdout;
        }
        return out;
      },
      py::arg("customer"), py::arg("n_customers"), py::arg("day"), py::arg("amount"), py::arg("period"),
      py::arg("observation_end"), py::arg("has_calibration"), py::arg("calibration_end"));

  // ---- counting models ----
  py::class_<clv::CountingModel> cm(m, "CountingModel");
  cm.def(py::init([](const std::string& kind) { return clv::CountingModel(parse_kind(kind)); }), py::arg("kind"))
      .def("fit", [](clv::CountingModel& self, const Array<double>& x, const Array<double>& tx, const Array<double>& T,
                     const Opt& w, double penalizer, int max_iter, double tol, int n_threads, bool strict,
                     std::vector<double> initial) {
            const std::string where = self.estimator() + ".fit";
            auto xs = span1d(x, where, "frequency");
            auto ts = span1d(tx, where, "recency");
            auto Ts = span1d(T, where, "T");
            auto ws = opt_span(w, where, "weights");
            auto o = fit_options(penalizer, max_iter, tol, n_threads, strict, std::move(initial));
            nogil([&] { return &self.fit(xs, ts, Ts, ws, o); });
          },
          py::arg("frequency"), py::arg("recency"), py::arg("T"), py::arg("weights"), py::arg("penalizer"),
          py::arg("max_iter"), py::arg("tol"), py::arg("n_threads"), py::arg("strict"), py::arg("initial"))
      .def("expected_purchases", [](const clv::CountingModel& self, const Array<double>& t) {
            auto ts = span1d(t, "expected_purchases", "t");
            return to_numpy(nogil([&] { return self.expected_purchases(ts); }));
          }, py::arg("t"))
      .def("conditional_expected_purchases", [](const clv::CountingModel& self, const Array<double>& t,
                                                const Array<double>& x, const Array<double>& tx,
                                                const Array<double>& T, int n_threads) {
            constexpr std::string_view w = "conditional_expected_purchases";
            auto a = span1d(t, w, "t");
            auto b = span1d(x, w, "frequency");
            auto c = span1d(tx, w, "recency");
            auto d = span1d(T, w, "T");
            return to_numpy(nogil([&] { return self.conditional_expected_purchases(a, b, c, d, n_threads); }));
          }, py::arg("t"), py::arg("frequency"), py::arg("recency"), py::arg("T"), py::arg("n_threads") = 1)
      .def("probability_alive", [](const clv::CountingModel& self, const Array<double>& x, const Array<double>& tx,
                                   const Array<double>& T, int n_threads) {
            constexpr std::string_view w = "probability_alive";
            auto b = span1d(x, w, "frequency");
            auto c = span1d(tx, w, "recency");
            auto d = span1d(T, w, "T");
            return to_numpy(nogil([&] { return self.probability_alive(b, c, d, n_threads); }));
          }, py::arg("frequency"), py::arg("recency"), py::arg("T"), py::arg("n_threads") = 1)
      .def("log_likelihood_rows", [](const clv::CountingModel& self, const Array<double>& x, const Array<double>& tx,
                                     const Array<double>& T, int n_threads) {
            constexpr std::string_view w = "log_likelihood_rows";
            auto b = span1d(x, w, "frequency");
            auto c = span1d(tx, w, "recency");
            auto d = span1d(T, w, "T");
            return to_numpy(nogil([&] { return self.log_likelihood_rows(b, c, d, n_threads); }));
          }, py::arg("frequency"), py::arg("recency"), py::arg("T"), py::arg("n_threads") = 1);
  cm.def_property_readonly("params", [](const clv::CountingModel& s) { return s.params(); })
      .def_property_readonly("standard_errors", [](const clv::CountingModel& s) { return s.standard_errors(); })
      .def_property_readonly("param_names", [](const clv::CountingModel& s) { return s.param_names(); })
      .def_property_readonly("log_likelihood", &clv::CountingModel::log_likelihood)
      .def_property_readonly("info", [](const clv::CountingModel& s) { return info_dict(s.info()); })
      .def_property_readonly("estimator", &clv::CountingModel::estimator)
      .def("set_params", &clv::CountingModel::set_params, py::arg("params"))
      .def("to_json", [](const clv::CountingModel& s) { return to_json(s.to_document()); })
      .def_static("from_json", [](const std::string& text, const std::string& kind) {
            return clv::CountingModel::from_document(from_json(text, kind));
          }, py::arg("text"), py::arg("kind"));

  // ---- Gamma-Gamma ----
  py::class_<clv::GammaGamma> gg(m, "GammaGamma");
  gg.def(py::init<>())
      .def("fit", [](clv::GammaGamma& self, const Array<double>& x, const Array<double>& mv, const Opt& w,
                     double penalizer, int max_iter, double tol, int n_threads, bool strict,
                     std::vector<double> initial) {
            constexpr std::string_view where = "GammaGamma.fit";
            auto xs = span1d(x, where, "frequency");
            auto ms = span1d(mv, where, "monetary_value");
            auto ws = opt_span(w, where, "weights");
            auto o = fit_options(penalizer, max_iter, tol, n_threads, strict, std::move(initial));
            nogil([&] { return &self.fit(xs, ms, ws, o); });
          },
          py::arg("frequency"), py::arg("monetary_value"), py::arg("weights"), py::arg("penalizer"),
          py::arg("max_iter"), py::arg("tol"), py::arg("n_threads"), py::arg("strict"), py::arg("initial"))
      .def("conditional_expected_average_profit", [](const clv::GammaGamma& self, const Array<double>& x,
                                                     const Array<double>& mv) {
            constexpr std::string_view w = "conditional_expected_average_profit";
            return to_numpy(self.conditional_expected_average_profit(span1d(x, w, "frequency"),
                                                                     span1d(mv, w, "monetary_value")));
          }, py::arg("frequency"), py::arg("monetary_value"));
  common_members<clv::GammaGamma>(gg, "GammaGamma");

  // ---- BG/BB ----
  py::class_<clv::BetaGeoBetaBinom> bb(m, "BetaGeoBetaBinom");
  bb.def(py::init<>())
      .def("fit", [](clv::BetaGeoBetaBinom& self, const Array<double>& x, const Array<double>& tx,
                     const Array<double>& n, const Opt& w, double penalizer, int max_iter, double tol, int n_threads,
                     bool strict, std::vector<double> initial) {
            constexpr std::string_view where = "BetaGeoBetaBinom.fit";
            auto xs = span1d(x, where, "frequency");
            auto ts = span1d(tx, where, "recency");
            auto ns = span1d(n, where, "n_periods");
            auto ws = opt_span(w, where, "weights");
            auto o = fit_options(penalizer, max_iter, tol, n_threads, strict, std::move(initial));
            nogil([&] { return &self.fit(xs, ts, ns, ws, o); });
          },
          py::arg("frequency"), py::arg("recency"), py::arg("n_periods"), py::arg("weights"), py::arg("penalizer"),
          py::arg("max_iter"), py::arg("tol"), py::arg("n_threads"), py::arg("strict"), py::arg("initial"))
      .def("probability_alive", [](const clv::BetaGeoBetaBinom& self, const Array<double>& x, const Array<double>& tx,
                                   const Array<double>& n) {
            constexpr std::string_view w = "probability_alive";
            return to_numpy(self.probability_alive(span1d(x, w, "frequency"), span1d(tx, w, "recency"),
                                                   span1d(n, w, "n_periods")));
          }, py::arg("frequency"), py::arg("recency"), py::arg("n_periods"))
      .def("conditional_expected_purchases", [](const clv::BetaGeoBetaBinom& self, double m, const Array<double>& x,
                                                const Array<double>& tx, const Array<double>& n) {
            constexpr std::string_view w = "conditional_expected_purchases";
            return to_numpy(self.conditional_expected_purchases(m, span1d(x, w, "frequency"), span1d(tx, w, "recency"),
                                                                span1d(n, w, "n_periods")));
          }, py::arg("m"), py::arg("frequency"), py::arg("recency"), py::arg("n_periods"))
      .def("expected_purchases", [](const clv::BetaGeoBetaBinom& self, const Array<double>& n) {
            return to_numpy(self.expected_purchases(span1d(n, "expected_purchases", "n")));
          }, py::arg("n"))
      .def("log_likelihood_rows", [](const clv::BetaGeoBetaBinom& self, const Array<double>& x, const Array<double>& tx,
                                     const Array<double>& n) {
            constexpr std::string_view w = "log_likelihood_rows";
            return to_numpy(self.log_likelihood_rows(span1d(x, w, "frequency"), span1d(tx, w, "recency"),
                                                     span1d(n, w, "n_periods")));
          }, py::arg("frequency"), py::arg("recency"), py::arg("n_periods"));
  common_members<clv::BetaGeoBetaBinom>(bb, "BetaGeoBetaBinom");

  // ---- sBG ----
  py::class_<clv::ShiftedBetaGeometric> sbg(m, "ShiftedBetaGeometric");
  sbg.def(py::init<>())
      .def("fit", [](clv::ShiftedBetaGeometric& self, const std::vector<std::vector<double>>& survivors,
                     double penalizer, int max_iter, double tol, bool strict, std::vector<double> initial) {
            auto o = fit_options(penalizer, max_iter, tol, 1, strict, std::move(initial));
            nogil([&] { return &self.fit(survivors, o); });
          },
          py::arg("survivors"), py::arg("penalizer"), py::arg("max_iter"), py::arg("tol"), py::arg("strict"),
          py::arg("initial"))
      .def("survival", [](const clv::ShiftedBetaGeometric& s, const Array<double>& t) {
            return to_numpy(s.survival(span1d(t, "survival", "t")));
          }, py::arg("t"))
      .def("retention_rate", [](const clv::ShiftedBetaGeometric& s, const Array<double>& t) {
            return to_numpy(s.retention_rate(span1d(t, "retention_rate", "t")));
          }, py::arg("t"))
      .def("churn_probability", [](const clv::ShiftedBetaGeometric& s, const Array<double>& t) {
            return to_numpy(s.churn_probability(span1d(t, "churn_probability", "t")));
          }, py::arg("t"))
      .def("derl", &clv::ShiftedBetaGeometric::derl, py::arg("discount_rate"), py::arg("renewals"))
      .def("del_", &clv::ShiftedBetaGeometric::del, py::arg("discount_rate"));
  common_members<clv::ShiftedBetaGeometric>(sbg, "ShiftedBetaGeometric");

  m.def("customer_lifetime_value", [](const clv::CountingModel& model, const Array<double>& spend, const Array<double>& x,
                                      const Array<double>& tx, const Array<double>& T, int months, double f, double d,
                                      int n_threads) {
        constexpr std::string_view w = "customer_lifetime_value";
        auto a = span1d(spend, w, "monetary_value");
        auto b = span1d(x, w, "frequency");
        auto c = span1d(tx, w, "recency");
        auto e = span1d(T, w, "T");
        return to_numpy(nogil([&] { return clv::customer_lifetime_value(model, a, b, c, e, months, f, d, n_threads); }));
      },
      py::arg("model"), py::arg("monetary_value"), py::arg("frequency"), py::arg("recency"), py::arg("T"),
      py::arg("months"), py::arg("periods_per_month"), py::arg("discount_rate"), py::arg("n_threads") = 1);

  m.def("simulate_counting", [](const std::string& kind, const std::vector<double>& params, const Array<double>& T,
                                std::uint64_t seed) {
        auto s = clv::simulate_counting(parse_kind(kind), params, span1d(T, "simulate", "T"), seed);
        return py::make_tuple(to_numpy(s.frequency), to_numpy(s.recency), to_numpy(s.T));
      }, py::arg("kind"), py::arg("params"), py::arg("T"), py::arg("seed"));
  m.def("simulate_gamma_gamma", [](const std::vector<double>& params, const Array<double>& x, std::uint64_t seed) {
        return to_numpy(clv::simulate_gamma_gamma(params, span1d(x, "simulate", "frequency"), seed));
      }, py::arg("params"), py::arg("frequency"), py::arg("seed"));
  m.def("simulate_bgbb", [](const std::vector<double>& params, std::int64_t n, int periods, std::uint64_t seed) {
        auto s = clv::simulate_bgbb(params, n, periods, seed);
        return py::make_tuple(to_numpy(s.frequency), to_numpy(s.recency), to_numpy(s.T));
      }, py::arg("params"), py::arg("n_customers"), py::arg("n_periods"), py::arg("seed"));
  m.def("simulate_sbg", [](const std::vector<double>& params, std::int64_t cohort, int periods, std::uint64_t seed) {
        return to_numpy(clv::simulate_sbg(params, cohort, periods, seed));
      }, py::arg("params"), py::arg("cohort"), py::arg("periods"), py::arg("seed"));
}
