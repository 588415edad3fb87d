// Anomaly-detection bindings: the six detectors with one shared method set.
#include "common.hpp"
#include "custmine/anomaly/isolation_forest.hpp"
#include "custmine/anomaly/lof.hpp"
#include "custmine/anomaly/mcd.hpp"
#include "custmine/anomaly/univariate.hpp"

namespace custmine::bind {
namespace {
using namespace custmine::anomaly;
using Map2 = Eigen::Map<const RowMatrix<double>>;

Map2 map2d(const Array<double>& X, std::string_view where) {
  if (X.ndim() != 2) fail<ShapeError>(where, "X must be 2-dimensional, got ", X.ndim(), " dimensions");
  return Map2(X.data(), X.shape(0), X.shape(1));
}

Contamination parse_contamination(const py::object& c, std::string_view where) {
  if (py::isinstance<py::str>(c)) {
    if (c.cast<std::string>() == "auto") return Contamination::automatic();
    fail(where, "contamination must be 'auto' or a float in (0, 0.5], got '", c.cast<std::string>(), "'");
  }
  return Contamination::fraction(c.cast<double>());
}

py::dict profile_dict(const FeatureProfile& p) {
  py::dict d;
  d["low"] = to_numpy(p.low);
  d["median"] = to_numpy(p.median);
  d["high"] = to_numpy(p.high);
  d["baseline"] = to_numpy(p.baseline);
  return d;
}

template <class M>
Vector<double> run_vec(const M& m, const Array<double>& X, Vector<double> (M::*fn)(MatrixView<double>) const,
                       std::string_view where) {
  auto map = map2d(X, where);
  py::gil_scoped_release nogil;
  return (m.*fn)(map);
}

// The method set every detector shares.
template <class M>
py::class_<M> bind_detector(py::module_& m, const char* name) {
  py::class_<M> c(m, name);
  c.def("fit", [](M& self, const Array<double>& X) {
       auto map = map2d(X, "fit");
       py::gil_scoped_release nogil;
       self.fit(map);
     }, py::arg("X"))
      .def("score_samples", [](const M& s, const Array<double>& X) { return run_vec<M>(s, X, &M::score_samples, "score_samples"); })
      .def("decision_function", [](const M& s, const Array<double>& X) { return run_vec<M>(s, X, &M::decision_function, "decision_function"); })
      .def("anomaly_score", [](const M& s, const Array<double>& X) { return run_vec<M>(s, X, &M::anomaly_score, "anomaly_score"); })
      .def("predict", [](const M& s, const Array<double>& X) {
        auto map = map2d(X, "predict");
        py::gil_scoped_release nogil;
        return Vector<std::int32_t>(s.predict(map));
      })
      .def("explain", [](const M& s, const Array<double>& X) {
        auto map = map2d(X, "explain");
        py::gil_scoped_release nogil;
        return RowMatrix<double>(s.explain(map));
      })
      .def("top_attributes", [](const M& s, const Array<double>& X, int k) {
        auto map = map2d(X, "top_attributes");
        TopK t;
        {
          py::gil_scoped_release nogil;
          t = s.top_attributes(map, k);
        }
        return py::make_tuple(t.feature, t.excess);
      }, py::arg("X"), py::arg("k"))
      .def_property_readonly("offset", &M::offset)
      .def_property_readonly("n_features", &M::n_features)
      .def_property_readonly("profile", [](const M& s) { return profile_dict(s.profile()); })
      .def("to_json", [](const M& s) { return to_json(s.to_document()); })
      .def_static("from_json", [name](const std::string& text) { return M::from_document(from_json(text, name)); },
                  py::arg("text"));
  return c;
}
}  // namespace
}  // namespace custmine::bind

CUSTMINE_BIND_FAMILY(anomaly) {
  using namespace custmine;
  using namespace custmine::bind;
  using namespace custmine::anomaly;
  py::module_ root = m;
  m = root.def_submodule("anomaly", "Anomaly detectors with per-feature attribution");

  using IF = IsolationForest<double>;
  bind_detector<IF>(m, "IsolationForest")
      .def(py::init([](int n_estimators, std::int64_t max_samples, double max_samples_fraction, std::int64_t max_features,
                       double max_features_fraction, bool bootstrap, const py::object& contamination, std::uint64_t seed,
                       int n_threads) {
             IF::Params p{n_estimators, max_samples, max_samples_fraction, max_features, max_features_fraction, bootstrap,
                          parse_contamination(contamination, "IsolationForest"), seed, n_threads};
             p.validate();
             return IF(p);
           }),
           py::arg("n_estimators"), py::arg("max_samples"), py::arg("max_samples_fraction"), py::arg("max_features"),
           py::arg("max_features_fraction"), py::arg("bootstrap"), py::arg("contamination"), py::arg("seed"),
           py::arg("n_threads"))
      .def("mean_path_length", [](const IF& s, const Array<double>& X) { return run_vec<IF>(s, X, &IF::mean_path_length, "mean_path_length"); })
      .def_property_readonly("max_samples_used", &IF::max_samples_used)
      .def_property_readonly("n_nodes", &IF::n_nodes);
  m.def("average_path_length", &average_path_length, py::arg("n"));

  using LOF = LocalOutlierFactor<double>;
  bind_detector<LOF>(m, "LocalOutlierFactor")
      .def(py::init([](int n_neighbors, bool novelty, const py::object& contamination, int n_threads,
                       const std::string& algorithm) {
             LOF::Params p{n_neighbors, novelty, parse_contamination(contamination, "LocalOutlierFactor"), n_threads};
             p.algorithm = parse_algorithm(algorithm, "LocalOutlierFactor");
             p.validate();
             return LOF(p);
           }),
           py::arg("n_neighbors"), py::arg("novelty"), py::arg("contamination"), py::arg("n_threads"),
           py::arg("algorithm") = "auto")
      .def_property_readonly("algorithm_used", [](const LOF& s) { return algorithm_name(s.search_method()); })
      .def_property_readonly("projection_axes", [](const LOF& s) { return s.projection_axes(); })
      .def_property_readonly("negative_outlier_factor", [](const LOF& s) { return s.negative_outlier_factor(); })
      .def_property_readonly("lrd", [](const LOF& s) { return s.lrd(); })
      .def("explain_training", [](const LOF& s) {
        py::gil_scoped_release nogil;
        return s.explain_training();
      })
      .def("kneighbors", [](const LOF& s, const Array<double>& X) {
        auto map = map2d(X, "kneighbors");
        Neighbors nb;
        {
          py::gil_scoped_release nogil;
          nb = s.kneighbors(map);
        }
        return py::make_tuple(nb.distance, nb.index);
      });

  using RZ = RobustZScore<double>;
  bind_detector<RZ>(m, "RobustZScore")
      .def(py::init([](const std::string& combine, const py::object& contamination) {
             Combine c;
             if (combine == "max") c = Combine::Max;
             else if (combine == "mean") c = Combine::Mean;
             else if (combine == "rms") c = Combine::Rms;
             else fail("RobustZScore", "combine must be 'max', 'mean' or 'rms', got '", combine, "'");
             RZ::Params p{c, parse_contamination(contamination, "RobustZScore")};
             p.validate();
             return RZ(p);
           }),
           py::arg("combine"), py::arg("contamination"))
      .def("transform", [](const RZ& s, const Array<double>& X) { return s.transform(map2d(X, "transform")); })
      .def_property_readonly("center", [](const RZ& s) { return to_numpy(s.center()); })
      .def_property_readonly("scale", [](const RZ& s) { return to_numpy(s.scale()); })
      .def_property_readonly("constant", [](const RZ& s) { return to_numpy(s.constant()); });

  using HB = HBOS<double>;
  bind_detector<HB>(m, "HBOS")
      .def(py::init([](int n_bins, double alpha, double tol, const py::object& contamination, int n_threads) {
             HB::Params p{n_bins, alpha, tol, parse_contamination(contamination, "HBOS"), n_threads};
             p.validate();
             return HB(p);
           }),
           py::arg("n_bins"), py::arg("alpha"), py::arg("tol"), py::arg("contamination"), py::arg("n_threads"))
      .def_property_readonly("edges", &HB::edges)
      .def_property_readonly("density", &HB::density);

  using EC = ECOD<double>;
  bind_detector<EC>(m, "ECOD")
      .def(py::init([](const std::string& aggregation, const py::object& contamination, int n_threads) {
             Aggregation a;
             if (aggregation == "paper") a = Aggregation::Paper;
             else if (aggregation == "pyod") a = Aggregation::PyOD;
             else fail("ECOD", "aggregation must be 'paper' or 'pyod', got '", aggregation, "'");
             EC::Params p{a, parse_contamination(contamination, "ECOD"), n_threads};
             p.validate();
             return EC(p);
           }),
           py::arg("aggregation"), py::arg("contamination"), py::arg("n_threads"))
      .def("tail_scores", [](const EC& s, const Array<double>& X) {
        RowMatrix<double> L, R;
        s.tail_scores(map2d(X, "tail_scores"), L, R);
        return py::make_tuple(L, R);
      })
      .def_property_readonly("skewness", [](const EC& s) { return to_numpy(s.skewness()); });

  using EE = EllipticEnvelope<double>;
  bind_detector<EE>(m, "EllipticEnvelope")
      .def(py::init([](double support_fraction, const py::object& contamination, std::uint64_t seed, int n_trials) {
             EE::Params p{support_fraction, parse_contamination(contamination, "EllipticEnvelope"), seed, n_trials};
             p.validate();
             return EE(p);
           }),
           py::arg("support_fraction"), py::arg("contamination"), py::arg("seed"), py::arg("n_trials"))
      .def("mahalanobis", [](const EE& s, const Array<double>& X) { return run_vec<EE>(s, X, &EE::mahalanobis, "mahalanobis"); })
      .def_property_readonly("location", &EE::location)
      .def_property_readonly("covariance", &EE::covariance)
      .def_property_readonly("precision", &EE::precision)
      .def_property_readonly("raw_location", &EE::raw_location)
      .def_property_readonly("raw_covariance", &EE::raw_covariance)
      .def_property_readonly("support", [](const EE& s) { return to_numpy(s.support()); })
      .def_property_readonly("dist", &EE::train_distances);
}
