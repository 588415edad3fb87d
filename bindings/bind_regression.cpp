// Regression bindings: OLS/WLS with inference, ridge (+ LOO/GCV), elastic net (paths, CV),
// Tweedie GLMs and the regression metrics. GIL released around all native work.
#include "common.hpp"
#include "custmine/metrics/regression.hpp"
#include "custmine/regression/elastic_net.hpp"
#include "custmine/regression/glm.hpp"
#include "custmine/regression/linear.hpp"

namespace custmine::bind {
namespace {
using namespace custmine::regression;
using RowMap = Eigen::Map<const RowMatrix<double>>;
using VecMap = Eigen::Map<const Eigen::VectorXd>;

RowMap mat(const Array<double>& X, std::string_view where) {
  if (X.ndim() != 2) fail<ShapeError>(where, "X must be 2-dimensional, got ", X.ndim(), " dimensions");
  return RowMap(X.data(), X.shape(0), X.shape(1));
}
VecMap vec(const Array<double>& y, std::string_view where, std::string_view name) {
  auto s = span1d(y, where, name);
  return VecMap(s.data(), static_cast<Index>(s.size()));
}
std::optional<Eigen::VectorXd> weights(const std::optional<Array<double>>& w, std::string_view where) {
  if (!w) return std::nullopt;
  return Eigen::VectorXd(vec(*w, where, "sample_weight"));
}
const Eigen::VectorXd* ptr(const std::optional<Eigen::VectorXd>& w) { return w ? &*w : nullptr; }

LinearSolver parse_solver(const std::string& s) {
  if (s == "auto") return LinearSolver::Auto;
  if (s == "qr") return LinearSolver::QR;
  if (s == "cholesky") return LinearSolver::Cholesky;
  fail("LinearRegression", "solver must be 'auto', 'qr' or 'cholesky', got '", s, "'");
}
Precompute parse_precompute(const std::string& s) {
  if (s == "auto") return Precompute::Auto;
  if (s == "gram") return Precompute::Gram;
  if (s == "columns") return Precompute::Columns;
  fail("ElasticNet", "precompute must be 'auto', 'gram' or 'columns', got '", s, "'");
}
Link parse_link(const std::string& s) {
  if (s == "auto") return Link::Auto;
  if (s == "log") return Link::Log;
  if (s == "identity") return Link::Identity;
  fail("GLM", "link must be 'auto', 'log' or 'identity', got '", s, "'");
}
std::span<const double> sp(const Array<double>& a, std::string_view where, std::string_view name) {
  return span1d(a, where, name);
}
std::span<const double> spw(const std::optional<Array<double>>& a, std::string_view where) {
  return a ? span1d(*a, where, "sample_weight") : std::span<const double>{};
}
}  // namespace
}  // namespace custmine::bind

CUSTMINE_BIND_FAMILY(regression) {
  using namespace custmine;
  using namespace custmine::bind;
  using namespace custmine::regression;
  py::module_ root = m;
  m = root.def_submodule("regression", "Linear models, penalized regression, GLMs and regression metrics");

  py::class_<LinearRegression>(m, "LinearRegression")
      .def(py::init([](bool fit_intercept, const std::string& solver, const std::string& cov_type,
                       std::optional<bool> use_t, int n_threads) {
             LinearRegression::Params p;
             p.fit_intercept = fit_intercept;
             p.solver = parse_solver(solver);
             p.cov_type = parse_cov_type(cov_type);
             p.use_t = use_t;
             p.n_threads = n_threads;
             p.validate();
             return LinearRegression(p);
           }),
           py::arg("fit_intercept"), py::arg("solver"), py::arg("cov_type"), py::arg("use_t"), py::arg("n_threads"))
      .def("fit", [](LinearRegression& s, const Array<double>& X, const Array<double>& y,
                     const std::optional<Array<double>>& w) {
             constexpr std::string_view where = "LinearRegression::fit";
             auto Xm = mat(X, where);
             auto ym = vec(y, where, "y");
             auto wv = weights(w, where);
             py::gil_scoped_release nogil;
             s.fit(Xm, ym, ptr(wv));
           }, py::arg("X"), py::arg("y"), py::arg("sample_weight"))
      .def("predict", [](const LinearRegression& s, const Array<double>& X) {
             auto Xm = mat(X, "LinearRegression::predict");
             Eigen::VectorXd out;
             {
               py::gil_scoped_release nogil;
               out = s.predict(Xm);
             }
             return out;
           }, py::arg("X"))
      .def("predict_interval", [](const LinearRegression& s, const Array<double>& X, bool prediction, double level) {
             auto Xm = mat(X, "LinearRegression::predict");
             Eigen::MatrixXd out;
             {
               py::gil_scoped_release nogil;
               out = s.predict_interval(Xm, prediction, level);
             }
             return out;
           }, py::arg("X"), py::arg("prediction"), py::arg("level"))
      .def("conf_int", &LinearRegression::conf_int, py::arg("level"))
      .def_property_readonly("params", [](const LinearRegression& s) { return s.params_vec; })
      .def_property_readonly("coef", &LinearRegression::coef)
      .def_property_readonly("intercept", &LinearRegression::intercept)
      .def_readonly("cov", &LinearRegression::cov)
      .def_readonly("std_err", &LinearRegression::std_err)
      .def_readonly("t", &LinearRegression::t_stat)
      .def_readonly("p_value", &LinearRegression::p_value)
      .def_readonly("nobs", &LinearRegression::nobs)
      .def_readonly("rank", &LinearRegression::rank)
      .def_readonly("df_model", &LinearRegression::df_model)
      .def_readonly("df_resid", &LinearRegression::df_resid)
      .def_readonly("scale", &LinearRegression::scale)
      .def_readonly("ssr", &LinearRegression::ssr)
      .def_readonly("rsquared", &LinearRegression::rsquared)
      .def_readonly("rsquared_adj", &LinearRegression::rsquared_adj)
      .def_readonly("fvalue", &LinearRegression::fvalue)
      .def_readonly("f_pvalue", &LinearRegression::f_pvalue)
      .def_readonly("loglike", &LinearRegression::loglike)
      .def_readonly("aic", &LinearRegression::aic)
      .def_readonly("bic", &LinearRegression::bic)
      .def_readonly("use_t", &LinearRegression::use_t)
      .def_readonly("constant_columns", &LinearRegression::constant_columns)
      .def("to_json", [](const LinearRegression& s) { return to_json(s.to_document()); })
      .def_static("from_json", [](const std::string& t) {
             return LinearRegression::from_document(from_json(t, "LinearRegression"));
           }, py::arg("text"));

  py::class_<Ridge>(m, "Ridge")
      .def(py::init([](double alpha, bool fit_intercept, int n_threads) {
             Ridge::Params p{alpha, fit_intercept, n_threads};
             p.validate();
             return Ridge(p);
           }), py::arg("alpha"), py::arg("fit_intercept"), py::arg("n_threads"))
      .def("fit", [](Ridge& s, const Array<double>& X, const Array<double>& y, const std::optional<Array<double>>& w) {
             constexpr std::string_view where = "Ridge::fit";
             auto Xm = mat(X, where);
             auto ym = vec(y, where, "y");
             auto wv = weights(w, where);
             py::gil_scoped_release nogil;
             s.fit(Xm, ym, ptr(wv));
           }, py::arg("X"), py::arg("y"), py::arg("sample_weight"))
      .def("predict", [](const Ridge& s, const Array<double>& X) {
             auto Xm = mat(X, "Ridge::predict");
             py::gil_scoped_release nogil;
             return Eigen::VectorXd(s.predict(Xm));
           }, py::arg("X"))
      .def_readonly("coef", &Ridge::coef)
      .def_readonly("intercept", &Ridge::intercept)
      .def("to_json", [](const Ridge& s) { return to_json(s.to_document()); })
      .def_static("from_json", [](const std::string& t) { return Ridge::from_document(from_json(t, "Ridge")); },
                  py::arg("text"))
      .def_static("from_solution", [](double alpha, bool fit_intercept, int n_threads, Eigen::VectorXd coef,
                                      double intercept) {
             return Ridge::from_solution(Ridge::Params{alpha, fit_intercept, n_threads}, std::move(coef), intercept);
           }, py::arg("alpha"), py::arg("fit_intercept"), py::arg("n_threads"), py::arg("coef"), py::arg("intercept"));

  m.def("ridge_cv", [](const Array<double>& X, const Array<double>& y, const std::optional<Array<double>>& w,
                       std::vector<double> alphas, bool fit_intercept, bool gcv, int n_threads) {
          constexpr std::string_view where = "RidgeCV::fit";
          auto Xm = mat(X, where);
          auto ym = vec(y, where, "y");
          auto wv = weights(w, where);
          RidgeCVResult r;
          {
            py::gil_scoped_release nogil;
            r = ridge_cv(Xm, ym, ptr(wv), alphas, fit_intercept, gcv, n_threads);
          }
          return py::make_tuple(r.cv_error, r.best, r.coef, r.intercept);
        }, py::arg("X"), py::arg("y"), py::arg("sample_weight"), py::arg("alphas"), py::arg("fit_intercept"),
        py::arg("gcv"), py::arg("n_threads"));

  auto make_enet = [](double alpha, double l1_ratio, bool fit_intercept, int max_iter, double tol,
                      const std::string& precompute, bool screening, int n_threads) {
    EnetParams p;
    p.alpha = alpha;
    p.l1_ratio = l1_ratio;
    p.fit_intercept = fit_intercept;
    p.max_iter = max_iter;
    p.tol = tol;
    p.precompute = parse_precompute(precompute);
    p.screening = screening;
    p.n_threads = n_threads;
    p.validate();
    return p;
  };
  py::class_<ElasticNet>(m, "ElasticNet")
      .def(py::init([make_enet](double alpha, double l1_ratio, bool fit_intercept, int max_iter, double tol,
                                const std::string& precompute, bool screening, int n_threads) {
             return ElasticNet(make_enet(alpha, l1_ratio, fit_intercept, max_iter, tol, precompute, screening, n_threads));
           }),
           py::arg("alpha"), py::arg("l1_ratio"), py::arg("fit_intercept"), py::arg("max_iter"), py::arg("tol"),
           py::arg("precompute"), py::arg("screening"), py::arg("n_threads"))
      .def("fit", [](ElasticNet& s, const Array<double>& X, const Array<double>& y, const std::optional<Array<double>>& w,
                     const std::optional<Array<double>>& warm) {
             constexpr std::string_view where = "ElasticNet::fit";
             auto Xm = mat(X, where);
             auto ym = vec(y, where, "y");
             auto wv = weights(w, where);
             std::optional<Eigen::VectorXd> ws;
             if (warm) ws = Eigen::VectorXd(vec(*warm, where, "warm start"));
             py::gil_scoped_release nogil;
             s.fit(Xm, ym, ptr(wv), ptr(ws));
           }, py::arg("X"), py::arg("y"), py::arg("sample_weight"), py::arg("warm_start"))
      .def("predict", [](const ElasticNet& s, const Array<double>& X) {
             auto Xm = mat(X, "ElasticNet::predict");
             py::gil_scoped_release nogil;
             return Eigen::VectorXd(s.predict(Xm));
           }, py::arg("X"))
      .def_readonly("coef", &ElasticNet::coef)
      .def_readonly("intercept", &ElasticNet::intercept)
      .def_property_readonly("n_iter", [](const ElasticNet& s) { return s.info.n_iter; })
      .def_property_readonly("dual_gap", [](const ElasticNet& s) { return s.info.gap; })
      .def_property_readonly("converged", [](const ElasticNet& s) { return s.info.converged; })
      .def("to_json", [](const ElasticNet& s) { return to_json(s.to_document()); })
      .def_static("from_json", [](const std::string& t) { return ElasticNet::from_document(from_json(t, "ElasticNet")); },
                  py::arg("text"));

  m.def("alpha_grid", [](const Array<double>& X, const Array<double>& y, const std::optional<Array<double>>& w,
                         double l1_ratio, bool fit_intercept, double eps, int n_alphas) {
          constexpr std::string_view where = "alpha_grid";
          auto Xm = mat(X, where);
          auto ym = vec(y, where, "y");
          auto wv = weights(w, where);
          py::gil_scoped_release nogil;
          return alpha_grid(Xm, ym, ptr(wv), l1_ratio, fit_intercept, eps, n_alphas);
        }, py::arg("X"), py::arg("y"), py::arg("sample_weight"), py::arg("l1_ratio"), py::arg("fit_intercept"),
        py::arg("eps"), py::arg("n_alphas"));

  m.def("enet_path", [make_enet](const Array<double>& X, const Array<double>& y, const std::optional<Array<double>>& w,
                                 std::vector<double> alphas, double l1_ratio, bool fit_intercept, int max_iter,
                                 double tol, const std::string& precompute, bool screening, int n_threads) {
          constexpr std::string_view where = "enet_path";
          auto Xm = mat(X, where);
          auto ym = vec(y, where, "y");
          auto wv = weights(w, where);
          auto p = make_enet(1.0, l1_ratio, fit_intercept, max_iter, tol, precompute, screening, n_threads);
          EnetPath r;
          {
            py::gil_scoped_release nogil;
            r = enet_path(Xm, ym, ptr(wv), alphas, p);
          }
          std::vector<int> conv(r.converged.begin(), r.converged.end());
          return py::make_tuple(r.coefs, r.intercepts, r.gaps, r.n_iters, conv);
        }, py::arg("X"), py::arg("y"), py::arg("sample_weight"), py::arg("alphas"), py::arg("l1_ratio"),
        py::arg("fit_intercept"), py::arg("max_iter"), py::arg("tol"), py::arg("precompute"), py::arg("screening"),
        py::arg("n_threads"));

  m.def("enet_cv", [make_enet](const Array<double>& X, const Array<double>& y, const std::optional<Array<double>>& w,
                               const std::vector<std::vector<std::int64_t>>& train,
                               const std::vector<std::vector<std::int64_t>>& test, std::vector<double> l1_ratios,
                               Eigen::MatrixXd alphas, bool fit_intercept, int max_iter, double tol,
                               const std::string& precompute, bool screening, int n_threads) {
          constexpr std::string_view where = "ElasticNetCV::fit";
          auto Xm = mat(X, where);
          auto ym = vec(y, where, "y");
          auto wv = weights(w, where);
          auto p = make_enet(1.0, 1.0, fit_intercept, max_iter, tol, precompute, screening, n_threads);
          EnetCVResult r;
          {
            py::gil_scoped_release nogil;
            r = enet_cv(Xm, ym, ptr(wv), train, test, l1_ratios, alphas, p);
          }
          return py::make_tuple(r.mse, r.all_converged);
        }, py::arg("X"), py::arg("y"), py::arg("sample_weight"), py::arg("train"), py::arg("test"),
        py::arg("l1_ratios"), py::arg("alphas"), py::arg("fit_intercept"), py::arg("max_iter"), py::arg("tol"),
        py::arg("precompute"), py::arg("screening"), py::arg("n_threads"));

  py::class_<GLM>(m, "GLM")
      .def(py::init([](double power, const std::string& link, double alpha, bool fit_intercept, int max_iter, double tol,
                       int n_threads) {
             GLM::Params p;
             p.power = power;
             p.link = parse_link(link);
             p.alpha = alpha;
             p.fit_intercept = fit_intercept;
             p.max_iter = max_iter;
             p.tol = tol;
             p.n_threads = n_threads;
             p.validate();
             return GLM(p);
           }),
           py::arg("power"), py::arg("link"), py::arg("alpha"), py::arg("fit_intercept"), py::arg("max_iter"),
           py::arg("tol"), py::arg("n_threads"))
      .def("fit", [](GLM& s, const Array<double>& X, const Array<double>& y, const std::optional<Array<double>>& w) {
             constexpr std::string_view where = "GLM::fit";
             auto Xm = mat(X, where);
             auto ym = vec(y, where, "y");
             auto wv = weights(w, where);
             py::gil_scoped_release nogil;
             s.fit(Xm, ym, ptr(wv));
           }, py::arg("X"), py::arg("y"), py::arg("sample_weight"))
      .def("predict", [](const GLM& s, const Array<double>& X) {
             auto Xm = mat(X, "GLM::predict");
             py::gil_scoped_release nogil;
             return Eigen::VectorXd(s.predict(Xm));
           }, py::arg("X"))
      .def("linear_predictor", [](const GLM& s, const Array<double>& X) {
             auto Xm = mat(X, "GLM::predict");
             py::gil_scoped_release nogil;
             return Eigen::VectorXd(s.linear_predictor(Xm));
           }, py::arg("X"))
      .def("conf_int", &GLM::conf_int, py::arg("level"))
      .def_readonly("coef", &GLM::coef)
      .def_readonly("intercept", &GLM::intercept)
      .def_readonly("n_iter", &GLM::n_iter)
      .def_readonly("converged", &GLM::converged)
      .def_readonly("params", &GLM::params_vec)
      .def_readonly("std_err", &GLM::std_err)
      .def_readonly("z", &GLM::z_stat)
      .def_readonly("p_value", &GLM::p_value)
      .def_readonly("cov", &GLM::cov)
      .def_readonly("nobs", &GLM::nobs)
      .def_readonly("df_model", &GLM::df_model)
      .def_readonly("df_resid", &GLM::df_resid)
      .def_readonly("scale", &GLM::scale)
      .def_readonly("deviance", &GLM::deviance)
      .def_readonly("null_deviance", &GLM::null_deviance)
      .def_readonly("pearson_chi2", &GLM::pearson_chi2)
      .def_readonly("loglike", &GLM::loglike)
      .def_readonly("aic", &GLM::aic)
      .def_readonly("bic", &GLM::bic)
      .def("to_json", [](const GLM& s) { return to_json(s.to_document()); })
      .def_static("from_json", [](const std::string& t) { return GLM::from_document(from_json(t, "GLM")); },
                  py::arg("text"));

  // Metrics: (y_true, y_pred, sample_weight or None)
  using Metric = double (*)(std::span<const double>, std::span<const double>, std::span<const double>);
  auto def_metric = [&](const char* name, Metric f) {
    m.def(name, [f, name](const Array<double>& y, const Array<double>& p, const std::optional<Array<double>>& w) {
            return f(sp(y, name, "y_true"), sp(p, name, "y_pred"), spw(w, name));
          }, py::arg("y_true"), py::arg("y_pred"), py::arg("sample_weight") = py::none());
  };
  def_metric("mean_absolute_error", &metrics::mean_absolute_error);
  def_metric("mean_squared_error", &metrics::mean_squared_error);
  def_metric("root_mean_squared_error", &metrics::root_mean_squared_error);
  def_metric("mean_absolute_percentage_error", &metrics::mean_absolute_percentage_error);
  def_metric("r2_score", &metrics::r2_score);
  def_metric("explained_variance_score", &metrics::explained_variance_score);
  def_metric("mean_poisson_deviance", &metrics::mean_poisson_deviance);
  def_metric("mean_gamma_deviance", &metrics::mean_gamma_deviance);
  m.def("mean_tweedie_deviance", [](const Array<double>& y, const Array<double>& p, double power,
                                    const std::optional<Array<double>>& w) {
          constexpr const char* name = "mean_tweedie_deviance";
          return metrics::mean_tweedie_deviance(sp(y, name, "y_true"), sp(p, name, "y_pred"), power, spw(w, name));
        }, py::arg("y_true"), py::arg("y_pred"), py::arg("power"), py::arg("sample_weight") = py::none());
  m.def("d2_tweedie_score", [](const Array<double>& y, const Array<double>& p, double power,
                               const std::optional<Array<double>>& w) {
          constexpr const char* name = "d2_tweedie_score";
          return metrics::d2_tweedie_score(sp(y, name, "y_true"), sp(p, name, "y_pred"), power, spw(w, name));
        }, py::arg("y_true"), py::arg("y_pred"), py::arg("power"), py::arg("sample_weight") = py::none());
}
