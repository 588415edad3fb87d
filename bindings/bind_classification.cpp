// Classification bindings: LogisticRegression and the naive Bayes models.
#include "common.hpp"
#include "custmine/classification/logistic.hpp"
#include "custmine/classification/naive_bayes.hpp"

namespace custmine::bind {
namespace {
template <class NB>
void bind_nb_common(py::class_<NB>& c, const char* name) {
  c.def("fit", [name](NB& self, const Array<double>& X, const Array<std::int64_t>& y, std::int64_t k,
                      std::optional<Array<double>> w, bool partial) {
         if (X.ndim() != 2) fail<ShapeError>(name, "X must be 2-dimensional");
         Eigen::Map<const RowMatrix<double>> map(X.data(), X.shape(0), X.shape(1));
         auto ys = span1d(y, name, "y");
         std::span<const double> ws;
         if (w) ws = span1d(*w, name, "sample_weight");
         py::gil_scoped_release nogil;
         if (partial) self.partial_fit(map, ys, k, ws);
         else self.fit(map, ys, k, ws);
       }, py::arg("X"), py::arg("y"), py::arg("n_classes"), py::arg("sample_weight") = py::none(), py::arg("partial") = false)
      .def("joint_log_likelihood", [name](const NB& self, const Array<double>& X) {
         if (X.ndim() != 2) fail<ShapeError>(name, "X must be 2-dimensional");
         Eigen::Map<const RowMatrix<double>> map(X.data(), X.shape(0), X.shape(1));
         py::gil_scoped_release nogil;
         return self.joint_log_likelihood(map);
       }, py::arg("X"))
      .def("predict_proba", [name](const NB& self, const Array<double>& X) {
         if (X.ndim() != 2) fail<ShapeError>(name, "X must be 2-dimensional");
         Eigen::Map<const RowMatrix<double>> map(X.data(), X.shape(0), X.shape(1));
         py::gil_scoped_release nogil;
         return self.predict_proba(map);
       }, py::arg("X"))
      .def_property_readonly("class_count", &NB::class_count)
      .def("to_json", [](const NB& s) { return to_json(s.to_document()); })
      .def_static("from_json", [name](const std::string& text) { return NB::from_document(from_json(text, name)); },
                  py::arg("text"));
}

Eigen::Map<const RowMatrix<double>> as_matrix(const Array<double>& X, std::string_view where) {
  if (X.ndim() != 2) fail<ShapeError>(where, "X must be 2-dimensional, got ", X.ndim(), " dimensions");
  return {X.data(), X.shape(0), X.shape(1)};
}
}  // namespace
}  // namespace custmine::bind

CUSTMINE_BIND_FAMILY(classification) {
  using namespace custmine;
  using namespace custmine::bind;
  using classification::LogisticRegression;
  m = m.def_submodule("classification", "Logistic regression and naive Bayes");

  py::class_<LogisticRegression>(m, "LogisticRegression")
      .def(py::init([](const std::string& penalty, double C, double l1_ratio, const std::string& solver,
                       bool fit_intercept, double tol, int max_iter, int n_threads) {
             LogisticRegression::Params p;
             p.penalty = classification::parse_penalty(penalty);
             p.C = C;
             p.l1_ratio = l1_ratio;
             p.solver = classification::parse_logistic_solver(solver);
             p.fit_intercept = fit_intercept;
             p.tol = tol;
             p.max_iter = max_iter;
             p.n_threads = n_threads;
             p.validate();
             return LogisticRegression(p);
           }),
           py::arg("penalty"), py::arg("C"), py::arg("l1_ratio"), py::arg("solver"), py::arg("fit_intercept"),
           py::arg("tol"), py::arg("max_iter"), py::arg("n_threads"))
      .def("fit", [](LogisticRegression& self, const Array<double>& X, const Array<std::int64_t>& y,
                     std::int64_t n_classes, std::optional<Array<double>> w) {
            auto map = as_matrix(X, "LogisticRegression::fit");
            auto ys = span1d(y, "LogisticRegression::fit", "y");
            std::span<const double> ws;
            if (w) ws = span1d(*w, "LogisticRegression::fit", "sample_weight");
            py::gil_scoped_release nogil;
            self.fit(map, ys, n_classes, ws);
          }, py::arg("X"), py::arg("y"), py::arg("n_classes"), py::arg("sample_weight") = py::none())
      .def("decision_function", [](const LogisticRegression& self, const Array<double>& X) {
            auto map = as_matrix(X, "LogisticRegression::decision_function");
            py::gil_scoped_release nogil;
            return self.decision_function(map);
          }, py::arg("X"))
      .def("predict_proba", [](const LogisticRegression& self, const Array<double>& X) {
            auto map = as_matrix(X, "LogisticRegression::predict_proba");
            py::gil_scoped_release nogil;
            return self.predict_proba(map);
          }, py::arg("X"))
      .def("predict", [](const LogisticRegression& self, const Array<double>& X) {
            auto map = as_matrix(X, "LogisticRegression::predict");
            std::vector<std::int64_t> out;
            {
              py::gil_scoped_release nogil;
              out = self.predict(map);
            }
            return to_numpy(out);
          }, py::arg("X"))
      .def("inference", [](const LogisticRegression& self, double alpha) {
            auto r = self.inference(alpha);
            py::dict d;
            d["coef"] = to_numpy(r.coef);
            d["std_err"] = to_numpy(r.std_err);
            d["z"] = to_numpy(r.z);
            d["p_value"] = to_numpy(r.p_value);
            d["ci_low"] = to_numpy(r.ci_low);
            d["ci_high"] = to_numpy(r.ci_high);
            return d;
          }, py::arg("alpha"))
      .def_property_readonly("coef", &LogisticRegression::coef)
      .def_property_readonly("intercept", &LogisticRegression::intercept)
      .def_property_readonly("n_classes", &LogisticRegression::n_classes)
      .def_property_readonly("n_iter", &LogisticRegression::n_iter)
      .def_property_readonly("converged", &LogisticRegression::converged)
      .def_property_readonly("gradient_norm", &LogisticRegression::gradient_norm)
      .def_property_readonly("solver_used", [](const LogisticRegression& s) { return classification::to_string(s.solver_used()); })
      .def("to_json", [](const LogisticRegression& s) { return to_json(s.to_document()); })
      .def_static("from_json", [](const std::string& text) {
            return LogisticRegression::from_document(from_json(text, "LogisticRegression"));
          }, py::arg("text"));

  using classification::GaussianNB;
  using classification::CategoricalNB;
  py::class_<GaussianNB> g(m, "GaussianNB");
  g.def(py::init([](double var_smoothing, std::vector<double> priors, int n_threads) {
     GaussianNB::Params p{var_smoothing, std::move(priors), n_threads};
     p.validate();
     return GaussianNB(p);
   }), py::arg("var_smoothing"), py::arg("priors"), py::arg("n_threads"))
      .def_property_readonly("theta", &GaussianNB::theta)
      .def_property_readonly("var", &GaussianNB::var)
      .def_property_readonly("class_prior", &GaussianNB::class_prior)
      .def_property_readonly("epsilon", &GaussianNB::epsilon);
  bind_nb_common(g, "GaussianNB");

  py::class_<CategoricalNB> c(m, "CategoricalNB");
  c.def(py::init([](double alpha, bool fit_prior, std::vector<double> class_prior, std::vector<std::int64_t> min_categories,
                    int n_threads) {
     CategoricalNB::Params p{alpha, fit_prior, std::move(class_prior), std::move(min_categories), n_threads};
     p.validate();
     return CategoricalNB(p);
   }), py::arg("alpha"), py::arg("fit_prior"), py::arg("class_prior"), py::arg("min_categories"), py::arg("n_threads"))
      .def_property_readonly("class_log_prior", &CategoricalNB::class_log_prior)
      .def_property_readonly("category_count", &CategoricalNB::category_count)
      .def_property_readonly("feature_log_prob", &CategoricalNB::feature_log_prob);
  bind_nb_common(c, "CategoricalNB");
}
