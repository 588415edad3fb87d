// Metrics bindings: ranking metrics, confusion matrix, gains, profit and calibration.
#include "common.hpp"
#include "custmine/metrics/classification.hpp"

namespace custmine::bind {
namespace {
std::span<const double> opt_weight(const std::optional<Array<double>>& w, std::string_view where) {
  if (!w) return {};
  return span1d(*w, where, "sample_weight");
}
metrics::Average parse_average(const std::string& s) {
  if (s == "none") return metrics::Average::None;
  if (s == "binary") return metrics::Average::Binary;
  if (s == "micro") return metrics::Average::Micro;
  if (s == "macro") return metrics::Average::Macro;
  if (s == "weighted") return metrics::Average::Weighted;
  fail("precision_recall_fscore", "average must be None, 'binary', 'micro', 'macro' or 'weighted', got '", s, "'");
}
}  // namespace
}  // namespace custmine::bind

CUSTMINE_BIND_FAMILY(metrics) {
  using namespace custmine;
  using namespace custmine::bind;
  m = m.def_submodule("metrics", "Classification metrics, gains and profit curves");
  using Y = Array<std::uint8_t>;
  using W = std::optional<Array<double>>;

  auto ranking = [&](const char* name, auto fn) {
    m.def(name, [fn, name](const Y& y, const Array<double>& s, const W& w, int n_threads) {
          auto ys = span1d(y, name, "y_true");
          auto ss = span1d(s, name, "y_score");
          auto ws = opt_weight(w, name);
          py::gil_scoped_release nogil;
          return fn(ys, ss, ws, n_threads);
        }, py::arg("y_true"), py::arg("y_score"), py::arg("sample_weight") = py::none(), py::arg("n_threads") = 1);
  };
  ranking("roc_auc", [](auto y, auto s, auto w, int t) { return metrics::roc_auc<double>(y, s, w, t); });
  ranking("average_precision", [](auto y, auto s, auto w, int t) { return metrics::average_precision<double>(y, s, w, t); });
  ranking("ks_statistic", [](auto y, auto s, auto w, int t) { return metrics::ks_statistic<double>(y, s, w, t); });

  m.def("brier_score", [](const Y& y, const Array<double>& p, const W& w) {
        auto ys = span1d(y, "brier_score_loss", "y_true");
        auto ps = span1d(p, "brier_score_loss", "y_proba");
        auto ws = opt_weight(w, "brier_score_loss");
        py::gil_scoped_release nogil;
        return metrics::brier_score<double>(ys, ps, ws);
      }, py::arg("y_true"), py::arg("y_proba"), py::arg("sample_weight") = py::none());

  m.def("binary_curve", [](const Y& y, const Array<double>& s, const W& w, bool drop, int n_threads) {
        auto ys = span1d(y, "roc_curve", "y_true");
        auto ss = span1d(s, "roc_curve", "y_score");
        auto ws = opt_weight(w, "roc_curve");
        metrics::BinaryCurve c;
        {
          py::gil_scoped_release nogil;
          c = metrics::binary_curve<double>(ys, ss, ws, drop, n_threads);
        }
        return py::make_tuple(to_numpy(c.thresholds), to_numpy(c.tps), to_numpy(c.fps));
      }, py::arg("y_true"), py::arg("y_score"), py::arg("sample_weight") = py::none(),
      py::arg("drop_intermediate") = false, py::arg("n_threads") = 1);

  m.def("log_loss", [](const Array<std::int64_t>& y, const Array<double>& P, const W& w) {
        auto ys = span1d(y, "log_loss", "y_true");
        if (P.ndim() != 2) fail<ShapeError>("log_loss", "y_proba must be 2-dimensional");
        Eigen::Map<const RowMatrix<double>> map(P.data(), P.shape(0), P.shape(1));
        auto ws = opt_weight(w, "log_loss");
        py::gil_scoped_release nogil;
        return metrics::log_loss(ys, map, ws);
      }, py::arg("y_true"), py::arg("y_proba"), py::arg("sample_weight") = py::none());

  m.def("confusion_matrix", [](const Array<std::int64_t>& t, const Array<std::int64_t>& p, std::int64_t k, const W& w) {
        auto ts = span1d(t, "confusion_matrix", "y_true");
        auto ps = span1d(p, "confusion_matrix", "y_pred");
        auto ws = opt_weight(w, "confusion_matrix");
        RowMatrix<double> cm;
        {
          py::gil_scoped_release nogil;
          cm = metrics::confusion_matrix(ts, ps, k, ws);
        }
        return cm;
      }, py::arg("y_true"), py::arg("y_pred"), py::arg("n_classes"), py::arg("sample_weight") = py::none());

  m.def("precision_recall_fscore", [](const RowMatrix<double>& cm, double beta, const std::string& average,
                                      std::int64_t pos_label) {
        auto r = metrics::precision_recall_fscore(cm, beta);
        py::dict d;
        d["precision"] = to_numpy(r.precision);
        d["recall"] = to_numpy(r.recall);
        d["fscore"] = to_numpy(r.fscore);
        d["support"] = to_numpy(r.support);
        const auto avg = parse_average(average);
        if (avg != metrics::Average::None) d["average"] = metrics::average_report(r, cm, avg, pos_label, beta);
        return d;
      }, py::arg("cm"), py::arg("beta"), py::arg("average"), py::arg("pos_label"));

  m.def("accuracy", [](const RowMatrix<double>& cm) { return metrics::accuracy(cm); }, py::arg("cm"));

  m.def("gains_table", [](const Y& y, const Array<double>& s, int bins, int n_threads) {
        auto ys = span1d(y, "gains_table", "y_true");
        auto ss = span1d(s, "gains_table", "y_score");
        metrics::GainsTable g;
        {
          py::gil_scoped_release nogil;
          g = metrics::gains_table<double>(ys, ss, bins, n_threads);
        }
        py::dict d;
        d["customers"] = to_numpy(g.customers);
        d["responders"] = to_numpy(g.responders);
        d["min_score"] = to_numpy(g.min_score);
        d["max_score"] = to_numpy(g.max_score);
        return d;
      }, py::arg("y_true"), py::arg("y_score"), py::arg("bins"), py::arg("n_threads") = 1);

  m.def("profit_curve", [](const std::optional<Y>& y, const Array<double>& s, double cost, double revenue, int n_threads) {
        std::span<const std::uint8_t> ys;
        if (y) ys = span1d(*y, "profit_curve", "y_true");
        auto ss = span1d(s, "profit_curve", "y_score");
        metrics::ProfitCurve c;
        {
          py::gil_scoped_release nogil;
          c = metrics::profit_curve<double>(ys, ss, cost, revenue, n_threads);
        }
        return py::make_tuple(to_numpy(c.profit), to_numpy(c.threshold), c.best_k);
      }, py::arg("y_true"), py::arg("y_score"), py::arg("cost_per_contact"), py::arg("revenue_per_response"),
      py::arg("n_threads") = 1);

  m.def("calibration_curve", [](const Y& y, const Array<double>& p, int bins, bool quantile) {
        auto ys = span1d(y, "calibration_curve", "y_true");
        auto ps = span1d(p, "calibration_curve", "y_proba");
        auto c = metrics::calibration_curve<double>(ys, ps, bins, quantile);
        return py::make_tuple(to_numpy(c.prob_true), to_numpy(c.prob_pred), to_numpy(c.count));
      }, py::arg("y_true"), py::arg("y_proba"), py::arg("n_bins"), py::arg("quantile"));

  m.def("rank_descending", [](const Array<double>& s, int n_threads) {
        auto ss = span1d(s, "rank_descending", "y_score");
        std::vector<std::int64_t> o;
        {
          py::gil_scoped_release nogil;
          o = metrics::rank_descending<double>(ss, n_threads);
        }
        return to_numpy(o);
      }, py::arg("y_score"), py::arg("n_threads") = 1);
}
