// LinearRegression (OLS/WLS with inference), Ridge, ridge_cv and shared helpers.
#include "custmine/regression/linear.hpp"

#include <boost/math/distributions/fisher_f.hpp>
#include <boost/math/distributions/normal.hpp>
#include <boost/math/distributions/students_t.hpp>
#include <cmath>
#include <limits>
#include <numbers>

#include "custmine/core/blas.hpp"
#include "custmine/core/linear_predict.hpp"
#include "custmine/core/threading.hpp"

namespace custmine::regression {

namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr Index kBlock = 4096;
}  // namespace

CovType parse_cov_type(std::string_view s) {
  if (s == "nonrobust") return CovType::NonRobust;
  if (s == "HC0") return CovType::HC0;
  if (s == "HC1") return CovType::HC1;
  if (s == "HC2") return CovType::HC2;
  if (s == "HC3") return CovType::HC3;
  fail("LinearRegression", "cov_type must be one of 'nonrobust', 'HC0', 'HC1', 'HC2', 'HC3', got '", s, "'");
}

std::string cov_type_name(CovType c) {
  switch (c) {
    case CovType::NonRobust: return "nonrobust";
    case CovType::HC0: return "HC0";
    case CovType::HC1: return "HC1";
    case CovType::HC2: return "HC2";
    case CovType::HC3: return "HC3";
  }
  return "nonrobust";
}

VectorXd check_fit_input(std::string_view where, MatrixView<double> X, VectorView<double> y,
                         const VectorXd* sample_weight) {
  check_nonempty(where, "X", X.rows());
  require<ShapeError>(X.cols() >= 1, where, "X has no columns (needs at least one feature)");
  check_same_length(where, "X", X.rows(), "y", y.size());
  check_finite(where, "X", X);
  check_finite(where, "y", y);
  if (!sample_weight) return VectorXd::Ones(X.rows());
  const VectorXd& w = *sample_weight;
  check_same_length(where, "X", X.rows(), "sample_weight", w.size());
  check_finite(where, "sample_weight", w);
  for (Index i = 0; i < w.size(); ++i)
    if (w(i) < 0) fail(where, "sample_weight must be non-negative (row ", i, " is ", w(i), ")");
  if (!(w.sum() > 0)) fail(where, "sample_weight must have a positive sum");
  return w;
}

namespace detail {

VectorXd weighted_mean(MatrixView<double> X, const VectorXd& w, bool center) {
  if (!center) return VectorXd::Zero(X.cols());
  return (X.transpose() * w) / w.sum();
}

VectorXd mat_vec(MatrixView<double> X, const VectorXd& v, int n_threads) {
  VectorXd out(X.rows());
  parallel_chunks(X.rows(), n_threads, [&](Index b, Index e, int) {
    out.segment(b, e - b).noalias() = X.middleRows(b, e - b) * v;
  });
  return out;
}

VectorXd mat_t_vec(MatrixView<double> X, const VectorXd& u, int n_threads) {
  const Index n = X.rows(), nb = (n + kBlock - 1) / kBlock;
  MatrixXd part(X.cols(), nb);
  parallel_for(nb, n_threads, [&](Index b, int) {
    const Index r0 = b * kBlock, m = std::min(n, r0 + kBlock) - r0;
    part.col(b).noalias() = X.middleRows(r0, m).transpose() * u.segment(r0, m);
  });
  VectorXd out = VectorXd::Zero(X.cols());
  for (Index b = 0; b < nb; ++b) out += part.col(b);
  return out;
}

void centered_gram(MatrixView<double> X, const VectorXd& w, const VectorXd& mean, const VectorXd& y,
                   bool intercept_col, int n_threads, MatrixXd& G, VectorXd& c) {
  const Index n = X.rows(), p = X.cols(), k = p + (intercept_col ? 1 : 0);
  const Index nb = (n + kBlock - 1) / kBlock;
  std::vector<MatrixXd> Gs(nb);
  std::vector<VectorXd> cs(nb);
  // Block buffers per thread, reused: a fresh multi-megabyte block per 4096 rows went
  // through mmap and page faults every time.
  const auto nt = static_cast<std::size_t>(std::max(1, resolve_threads(n_threads)));
  std::vector<RowMatrix<double>> Bs(nt);
  std::vector<VectorXd> ybs(nt);
  parallel_for(nb, n_threads, [&](Index b, int t) {
    const Index r0 = b * kBlock, r1 = std::min(n, r0 + kBlock), m = r1 - r0;
    RowMatrix<double>& B = Bs[static_cast<std::size_t>(t)];  // row-major: filled row by row
    VectorXd& yb = ybs[static_cast<std::size_t>(t)];
    B.resize(m, k);
    yb.resize(m);
    for (Index i = 0; i < m; ++i) {
      const double s = std::sqrt(w(r0 + i));
      if (intercept_col) B(i, 0) = s;
      B.row(i).tail(p) = s * (X.row(r0 + i).transpose() - mean).transpose();
      yb(i) = s * y(r0 + i);
    }
    Gs[b].resize(k, k);
    blas::syrk_t(1.0, blas::view(B), 0.0, blas::mut_view(Gs[b]));
    Gs[b] = Gs[b].selfadjointView<Eigen::Lower>();
    cs[b] = B.transpose() * yb;
    if ((b & 63) == 0) Interrupt::check("regression");
  });
  G = MatrixXd::Zero(k, k);
  c = VectorXd::Zero(k);
  for (Index b = 0; b < nb; ++b) {
    G += Gs[b];
    c += cs[b];
  }
}

MatrixXd pinv_psd(const MatrixXd& G, Index& rank, double rtol) {
  const Index k = G.rows();
  VectorXd d = G.diagonal().cwiseMax(0.0).cwiseSqrt();
  const double dmax = d.size() ? d.maxCoeff() : 0.0;
  for (Index j = 0; j < k; ++j) d(j) = d(j) > dmax * 1e-12 && d(j) > 0 ? d(j) : 1.0;
  const MatrixXd S = d.cwiseInverse().asDiagonal() * G * d.cwiseInverse().asDiagonal();
  Eigen::SelfAdjointEigenSolver<MatrixXd> es(S);
  const VectorXd& ev = es.eigenvalues();
  const double tol = std::max(ev.cwiseAbs().maxCoeff(), 1e-300) * rtol;
  VectorXd inv(k);
  rank = 0;
  for (Index j = 0; j < k; ++j) {
    if (ev(j) > tol) {
      inv(j) = 1.0 / ev(j);
      ++rank;
    } else {
      inv(j) = 0.0;
    }
  }
  const MatrixXd& V = es.eigenvectors();
  const MatrixXd P = V * inv.asDiagonal() * V.transpose();
  return d.cwiseInverse().asDiagonal() * P * d.cwiseInverse().asDiagonal();
}

VectorXd json_vector(const json::object& o, std::string_view key, std::string_view where) {
  auto v = json_doubles(o, key, where);
  return Eigen::Map<VectorXd>(v.data(), static_cast<Index>(v.size()));
}

MatrixXd json_matrix(const json::object& o, std::string_view key, Index rows, Index cols, std::string_view where) {
  auto v = json_doubles(o, key, where);
  if (static_cast<Index>(v.size()) != rows * cols)
    fail<SerializationError>(where, "field '", key, "' must hold ", rows * cols, " numbers, found ", v.size());
  MatrixXd m(rows, cols);
  for (Index i = 0; i < rows; ++i)
    for (Index j = 0; j < cols; ++j) m(i, j) = v[i * cols + j];
  return m;
}

json::array to_json_array(const VectorXd& v) {
  json::array a;
  a.reserve(v.size());
  for (Index i = 0; i < v.size(); ++i) a.push_back(json_number(v(i)));
  return a;
}

json::array to_json_array(const MatrixXd& m) {
  json::array a;
  a.reserve(m.size());
  for (Index i = 0; i < m.rows(); ++i)
    for (Index j = 0; j < m.cols(); ++j) a.push_back(json_number(m(i, j)));
  return a;
}

}  // namespace detail

namespace {

double quantile_two_sided(double level, bool use_t, double df) {
  const double q = 0.5 + level / 2;
  if (use_t && df > 0) return boost::math::quantile(boost::math::students_t(df), q);
  return boost::math::quantile(boost::math::normal(), q);
}

double p_two_sided(double stat, bool use_t, double df) {
  if (!std::isfinite(stat)) return kNaN;
  const double a = std::abs(stat);
  if (use_t && df > 0) return 2 * boost::math::cdf(boost::math::complement(boost::math::students_t(df), a));
  return 2 * boost::math::cdf(boost::math::complement(boost::math::normal(), a));
}

/// Fitted and of the fitted width; finite unless the caller reads that off its own pass
/// (checked_linear).
void check_predict_X(std::string_view where, bool fitted, std::string_view name, MatrixView<double> X, Index p,
                     bool scan_finite = true) {
  if (!fitted) fail<NotFittedError>(where, "this ", name, " is not fitted yet; call fit first");
  require<ShapeError>(X.cols() == p, where, "X has ", X.cols(), " features, but the model was fitted with ", p);
  if (scan_finite) check_finite(where, "X", X);
}

int read_threads(const json::object& o, std::string_view where) {
  auto t = json_int(o, "n_threads", where);
  if (t == 0 || t < -1024 || t > 4096) fail<SerializationError>(where, "field 'n_threads' is out of range");
  return static_cast<int>(t);
}

}  // namespace

// ---- LinearRegression ----------------------------------------------------------------

void LinearRegression::Params::validate() const { resolve_threads(n_threads, "LinearRegression"); }

LinearRegression& LinearRegression::fit(MatrixView<double> X, VectorView<double> y, const VectorXd* sample_weight) {
  constexpr std::string_view where = "LinearRegression::fit";
  params_.validate();
  const VectorXd w = check_fit_input(where, X, y, sample_weight);
  const Index n = X.rows(), p = X.cols();
  const bool icpt = params_.fit_intercept;
  const Index k = p + (icpt ? 1 : 0);
  Index n_pos = 0;
  for (Index i = 0; i < n; ++i) n_pos += w(i) > 0;
  if (k > n_pos)
    fail(where, "X has ", n_pos, " samples (with positive weight) but the model has ", k, " parameters (", p,
         " features", icpt ? " + intercept" : "", "); least squares needs at least as many samples as ",
         "parameters: use Ridge (or Lasso/ElasticNet) when there are more features than samples");

  const VectorXd mean = detail::weighted_mean(X, w, icpt);
  const double wsum = w.sum();
  // Constant columns (zero weighted variance) are named so the caller can warn.
  constant_columns.clear();
  {
    VectorXd var = VectorXd::Zero(p);
    for (Index i = 0; i < n; ++i) var += w(i) * (X.row(i).transpose() - (icpt ? mean : VectorXd::Zero(p))).cwiseAbs2();
    for (Index j = 0; j < p; ++j)
      if (icpt ? var(j) <= 1e-24 * (1 + mean(j) * mean(j)) * wsum : var(j) == 0) constant_columns.push_back(j);
  }

  LinearSolver solver = params_.solver;
  if (solver == LinearSolver::Auto) solver = (n * k <= 4'000'000) ? LinearSolver::QR : LinearSolver::Cholesky;

  // theta: coefficients in the centred parametrisation [c, beta], b0 = c - m'beta.
  VectorXd theta;
  MatrixXd Ginv;  // (B'B)^+ in the centred parametrisation
  bool full_rank = false;
  MatrixXd G;
  VectorXd cvec;
  if (solver == LinearSolver::QR) {
    MatrixXd B(n, k);
    VectorXd yw(n);
    for (Index i = 0; i < n; ++i) {
      const double s = std::sqrt(w(i));
      if (icpt) B(i, 0) = s;
      B.row(i).tail(p) = s * (X.row(i).transpose() - mean).transpose();
      yw(i) = s * y(i);
    }
    Eigen::ColPivHouseholderQR<MatrixXd> qr(B);
    if (qr.rank() == k) {
      full_rank = true;
      theta = qr.solve(yw);
      const MatrixXd R = qr.matrixR().topLeftCorner(k, k).triangularView<Eigen::Upper>();
      const MatrixXd Rinv = R.triangularView<Eigen::Upper>().solve(MatrixXd::Identity(k, k));
      const MatrixXd Pinv = Rinv * Rinv.transpose();
      Ginv = qr.colsPermutation() * Pinv * qr.colsPermutation().transpose();
      rank = k;
    } else {
      G = B.transpose() * B;
      cvec = B.transpose() * yw;
    }
  } else {
    detail::centered_gram(X, w, mean, y, icpt, params_.n_threads, G, cvec);
    Eigen::LLT<MatrixXd> llt(G);
    if (llt.info() == Eigen::Success && llt.rcond() > 1e-13) {
      full_rank = true;
      theta = llt.solve(cvec);
      Ginv = llt.solve(MatrixXd::Identity(k, k));
      rank = k;
    }
  }
  if (!full_rank) {
    Ginv = detail::pinv_psd(G, rank);
    theta = Ginv * cvec;
  }

  // Residuals and the weighted sums needed for inference.
  VectorXd resid(n);
  for (Index i = 0; i < n; ++i)
    resid(i) = y(i) - (icpt ? theta(0) : 0.0) - (X.row(i).transpose() - mean).dot(theta.tail(p));
  nobs = n_pos;
  n_features = p;
  ssr = (w.array() * resid.array().square()).sum();
  const double ybar = icpt ? w.dot(y) / wsum : 0.0;
  centered_tss = (w.array() * (y.array() - ybar).square()).sum();
  df_model = static_cast<double>(rank - (icpt ? 1 : 0));
  df_resid = static_cast<double>(nobs - rank);
  scale = df_resid > 0 ? ssr / df_resid : kNaN;
  use_t = params_.use_t.value_or(params_.cov_type == CovType::NonRobust);

  MatrixXd cov_theta;
  if (params_.cov_type == CovType::NonRobust) {
    cov_theta = scale * Ginv;
  } else {
    // Sandwich Ginv (sum_i u_i b_i b_i') Ginv on the whitened centred rows b_i.
    MatrixXd meat = MatrixXd::Zero(k, k);
    VectorXd b(k);
    const auto ct = params_.cov_type;
    for (Index i = 0; i < n; ++i) {
      if (w(i) == 0) continue;
      const double s = std::sqrt(w(i));
      if (icpt) b(0) = s;
      b.tail(p) = s * (X.row(i).transpose() - mean);
      double u = w(i) * resid(i) * resid(i);
      if (ct == CovType::HC2 || ct == CovType::HC3) {
        const double h = b.dot(Ginv * b);
        const double one_h = 1 - h;
        u = one_h > 0 ? (ct == CovType::HC2 ? u / one_h : u / (one_h * one_h)) : kNaN;
      }
      meat.selfadjointView<Eigen::Lower>().rankUpdate(b, u);
    }
    meat = meat.selfadjointView<Eigen::Lower>();
    cov_theta = Ginv * meat * Ginv;
    if (ct == CovType::HC1) cov_theta *= df_resid > 0 ? static_cast<double>(nobs) / df_resid : kNaN;
  }
  // Back to the original parametrisation with the linear map L = [[1, -m'], [0, I]].
  MatrixXd L = MatrixXd::Identity(k, k);
  if (icpt) L.block(0, 1, 1, p) = -mean.transpose();
  params_vec = L * theta;
  cov = L * cov_theta * L.transpose();

  // R^2 (centred with an intercept, uncentred otherwise, as statsmodels)
  const double tss = icpt ? centered_tss : (w.array() * y.array().square()).sum();
  centered_tss = tss;
  rsquared = tss > 0 ? 1 - ssr / tss : kNaN;
  rsquared_adj = df_resid > 0 ? 1 - (static_cast<double>(nobs) - (icpt ? 1 : 0)) / df_resid * (1 - rsquared) : kNaN;

  // Overall F: Wald test that every slope is zero, under the chosen covariance (equals the
  // classical (ESS/df_model)/(SSR/df_resid) for the non-robust covariance).
  const Index off = icpt ? 1 : 0;
  if (df_model > 0 && df_resid > 0) {
    const MatrixXd Vs = cov.block(off, off, p, p);
    Index r = 0;
    const MatrixXd Vinv = detail::pinv_psd(Vs, r);
    const VectorXd bs = params_vec.tail(p);
    fvalue = bs.dot(Vinv * bs) / df_model;
    f_pvalue = boost::math::cdf(boost::math::complement(boost::math::fisher_f(df_model, df_resid), fvalue));
  } else {
    fvalue = f_pvalue = kNaN;
  }
  // Gaussian log-likelihood with weights (statsmodels' WLS llf).
  double logw = 0;
  for (Index i = 0; i < n; ++i)
    if (w(i) > 0) logw += std::log(w(i));
  const double nn = static_cast<double>(nobs);
  loglike = -nn / 2 * (std::log(2 * std::numbers::pi * ssr / nn) + 1) + logw / 2;
  aic = -2 * loglike + 2 * static_cast<double>(rank);
  bic = -2 * loglike + std::log(nn) * static_cast<double>(rank);
  fitted_ = true;
  finish_inference();
  return *this;
}

void LinearRegression::finish_inference() {
  const Index k = params_vec.size();
  std_err.resize(k);
  t_stat.resize(k);
  p_value.resize(k);
  for (Index j = 0; j < k; ++j) {
    std_err(j) = cov(j, j) >= 0 ? std::sqrt(cov(j, j)) : kNaN;
    t_stat(j) = std_err(j) > 0 ? params_vec(j) / std_err(j) : kNaN;
    p_value(j) = p_two_sided(t_stat(j), use_t, df_resid);
  }
}

MatrixXd LinearRegression::conf_int(double level) const {
  if (!fitted_) fail<NotFittedError>("LinearRegression::conf_int", "this LinearRegression is not fitted yet");
  require(level > 0 && level < 1, "LinearRegression::conf_int", "level must be in (0, 1), got ", level);
  const double q = quantile_two_sided(level, use_t, df_resid);
  MatrixXd ci(params_vec.size(), 2);
  ci.col(0) = params_vec - q * std_err;
  ci.col(1) = params_vec + q * std_err;
  return ci;
}

VectorXd LinearRegression::predict(MatrixView<double> X) const {
  constexpr std::string_view where = "LinearRegression::predict";
  check_predict_X(where, fitted_, "LinearRegression", X, n_features, false);
  const VectorXd w = coef();
  return checked_linear(where, X, w.data(), intercept(), params_.n_threads);
}

MatrixXd LinearRegression::predict_interval(MatrixView<double> X, bool prediction, double level) const {
  constexpr std::string_view where = "LinearRegression::predict";
  check_predict_X(where, fitted_, "LinearRegression", X, n_features);
  require(level > 0 && level < 1, where, "level must be in (0, 1), got ", level);
  const double q = quantile_two_sided(level, use_t, df_resid);
  const Index n = X.rows(), k = params_vec.size(), off = params_.fit_intercept ? 1 : 0;
  MatrixXd out(n, 4);
  VectorXd a(k);
  for (Index i = 0; i < n; ++i) {
    if (off) a(0) = 1;
    a.tail(n_features) = X.row(i).transpose();
    const double mean = a.dot(params_vec);
    double var = a.dot(cov * a);
    if (prediction) var += scale;
    const double se = std::sqrt(std::max(var, 0.0));
    out.row(i) << mean, se, mean - q * se, mean + q * se;
  }
  return out;
}

namespace {
constexpr std::string_view kOls = "LinearRegression";
std::string solver_name(LinearSolver s) {
  return s == LinearSolver::QR ? "qr" : s == LinearSolver::Cholesky ? "cholesky" : "auto";
}
LinearSolver parse_solver(const std::string& s, std::string_view where) {
  if (s == "auto") return LinearSolver::Auto;
  if (s == "qr") return LinearSolver::QR;
  if (s == "cholesky") return LinearSolver::Cholesky;
  fail<SerializationError>(where, "unknown solver '", s, "'");
}
}  // namespace

ModelDocument LinearRegression::to_document() const {
  if (!fitted_) fail<NotFittedError>("LinearRegression::to_document", "this LinearRegression is not fitted yet");
  ModelDocument d;
  d.estimator = std::string(kOls);
  d.params["fit_intercept"] = params_.fit_intercept;
  d.params["solver"] = solver_name(params_.solver);
  d.params["cov_type"] = cov_type_name(params_.cov_type);
  d.params["use_t"] = params_.use_t ? json::value(*params_.use_t) : json::value(nullptr);
  d.params["n_threads"] = params_.n_threads;
  auto& s = d.state;
  s["params"] = detail::to_json_array(params_vec);
  s["cov"] = detail::to_json_array(cov);
  s["nobs"] = nobs;
  s["rank"] = rank;
  s["n_features"] = n_features;
  s["use_t"] = use_t;
  s["constant_columns"] = json_array(constant_columns);
  for (auto [key, val] : std::initializer_list<std::pair<const char*, double>>{
           {"df_model", df_model}, {"df_resid", df_resid}, {"scale", scale}, {"ssr", ssr},
           {"centered_tss", centered_tss}, {"rsquared", rsquared}, {"rsquared_adj", rsquared_adj},
           {"fvalue", fvalue}, {"f_pvalue", f_pvalue}, {"loglike", loglike}, {"aic", aic}, {"bic", bic}})
    s[key] = json_number(val);
  return d;
}

LinearRegression LinearRegression::from_document(const ModelDocument& d) {
  constexpr std::string_view where = "LinearRegression document";
  if (d.estimator != kOls) fail<SerializationError>(where, "holds a '", d.estimator, "' model");
  Params p;
  p.fit_intercept = json_bool(d.params, "fit_intercept", where);
  p.solver = parse_solver(json_string(d.params, "solver", where), where);
  try {
    p.cov_type = parse_cov_type(json_string(d.params, "cov_type", where));
  } catch (const InvalidArgument& e) {
    fail<SerializationError>(where, e.what());
  }
  const auto& ut = json_field(d.params, "use_t", where);
  if (ut.is_bool()) p.use_t = ut.get_bool();
  else if (!ut.is_null()) fail<SerializationError>(where, "field 'use_t' must be a boolean or null");
  p.n_threads = read_threads(d.params, where);
  LinearRegression m(p);
  const auto& s = d.state;
  m.n_features = json_int(s, "n_features", where);
  const Index k = m.n_features + (p.fit_intercept ? 1 : 0);
  if (m.n_features < 1 || m.n_features > 10'000'000) fail<SerializationError>(where, "field 'n_features' is out of range");
  m.params_vec = detail::json_vector(s, "params", where);
  if (m.params_vec.size() != k) fail<SerializationError>(where, "field 'params' must hold ", k, " numbers");
  m.cov = detail::json_matrix(s, "cov", k, k, where);
  m.nobs = json_int(s, "nobs", where);
  m.rank = json_int(s, "rank", where);
  if (m.nobs < 1 || m.rank < 0 || m.rank > k) fail<SerializationError>(where, "fields 'nobs'/'rank' are out of range");
  m.use_t = json_bool(s, "use_t", where);
  m.constant_columns = json_ints(s, "constant_columns", where);
  m.df_model = json_double(s, "df_model", where);
  m.df_resid = json_double(s, "df_resid", where);
  m.scale = json_double(s, "scale", where);
  m.ssr = json_double(s, "ssr", where);
  m.centered_tss = json_double(s, "centered_tss", where);
  m.rsquared = json_double(s, "rsquared", where);
  m.rsquared_adj = json_double(s, "rsquared_adj", where);
  m.fvalue = json_double(s, "fvalue", where);
  m.f_pvalue = json_double(s, "f_pvalue", where);
  m.loglike = json_double(s, "loglike", where);
  m.aic = json_double(s, "aic", where);
  m.bic = json_double(s, "bic", where);
  m.fitted_ = true;
  m.finish_inference();
  return m;
}

// ---- Ridge -----------------------------------------------------------------------------

void Ridge::Params::validate() const {
  require(std::isfinite(alpha) && alpha >= 0, "Ridge", "alpha must be a finite number >= 0, got ", alpha);
  resolve_threads(n_threads, "Ridge");
}

namespace {
// Solves the ridge system on whitened, centred data; returns beta.
// y is centred by ybar (its weighted mean, or 0 without intercept) although the centred
// columns of X make its mean drop out in exact arithmetic: with a large offset in y, the
// rounding left in X's centring would otherwise be multiplied by it.
VectorXd ridge_solve(MatrixView<double> X, VectorView<double> y, const VectorXd& w, const VectorXd& mean,
                     double ybar, double alpha, int n_threads) {
  const Index n = X.rows(), p = X.cols();
  if (p <= n) {
    MatrixXd G;
    VectorXd c;
    detail::centered_gram(X, w, mean, VectorXd(y.array() - ybar), false, n_threads, G, c);
    G.diagonal().array() += alpha;
    Eigen::LLT<MatrixXd> llt(G);
    if (alpha > 0 && llt.info() == Eigen::Success) return llt.solve(c);
    Index r = 0;
    return detail::pinv_psd(G, r) * c;
  }
  // Dual form: beta = B' (B B' + alpha I)^-1 yw.
  MatrixXd B(n, p);
  VectorXd yw(n);
  for (Index i = 0; i < n; ++i) {
    const double s = std::sqrt(w(i));
    B.row(i) = s * (X.row(i).transpose() - mean).transpose();
    yw(i) = s * (y(i) - ybar);
  }
  MatrixXd K = B * B.transpose();
  K.diagonal().array() += alpha;
  Eigen::LLT<MatrixXd> llt(K);
  if (alpha > 0 && llt.info() == Eigen::Success) return B.transpose() * llt.solve(yw);
  Index r = 0;
  return B.transpose() * (detail::pinv_psd(K, r) * yw);
}
}  // namespace

Ridge& Ridge::fit(MatrixView<double> X, VectorView<double> y, const VectorXd* sample_weight) {
  constexpr std::string_view where = "Ridge::fit";
  params_.validate();
  const VectorXd w = check_fit_input(where, X, y, sample_weight);
  const VectorXd mean = detail::weighted_mean(X, w, params_.fit_intercept);
  const double ybar = params_.fit_intercept ? w.dot(y) / w.sum() : 0.0;
  coef = ridge_solve(X, y, w, mean, ybar, params_.alpha, params_.n_threads);
  intercept = params_.fit_intercept ? ybar - mean.dot(coef) : 0.0;
  fitted_ = true;
  return *this;
}

Ridge Ridge::from_solution(Params p, VectorXd coef, double intercept) {
  constexpr std::string_view where = "Ridge::from_solution";
  p.validate();
  require(coef.size() > 0 && coef.allFinite(), where, "coef must be non-empty and finite");
  require(std::isfinite(intercept), where, "intercept must be finite, got ", intercept);
  Ridge r(p);
  r.coef = std::move(coef);
  r.intercept = intercept;
  r.fitted_ = true;
  return r;
}

VectorXd Ridge::predict(MatrixView<double> X) const {
  constexpr std::string_view where = "Ridge::predict";
  check_predict_X(where, fitted_, "Ridge", X, coef.size(), false);
  return checked_linear(where, X, coef.data(), intercept, params_.n_threads);
}

ModelDocument Ridge::to_document() const {
  if (!fitted_) fail<NotFittedError>("Ridge::to_document", "this Ridge is not fitted yet");
  ModelDocument d;
  d.estimator = "Ridge";
  d.params["alpha"] = params_.alpha;
  d.params["fit_intercept"] = params_.fit_intercept;
  d.params["n_threads"] = params_.n_threads;
  d.state["coef"] = detail::to_json_array(coef);
  d.state["intercept"] = json_number(intercept);
  return d;
}

Ridge Ridge::from_document(const ModelDocument& d) {
  constexpr std::string_view where = "Ridge document";
  if (d.estimator != "Ridge") fail<SerializationError>(where, "holds a '", d.estimator, "' model");
  Params p;
  p.alpha = json_double(d.params, "alpha", where);
  if (!(p.alpha >= 0) || !std::isfinite(p.alpha)) fail<SerializationError>(where, "field 'alpha' must be >= 0");
  p.fit_intercept = json_bool(d.params, "fit_intercept", where);
  p.n_threads = read_threads(d.params, where);
  Ridge r(p);
  r.coef = detail::json_vector(d.state, "coef", where);
  if (r.coef.size() < 1) fail<SerializationError>(where, "field 'coef' is empty");
  r.intercept = json_double(d.state, "intercept", where);
  r.fitted_ = true;
  return r;
}

// ---- ridge_cv ----------------------------------------------------------------------------

RidgeCVResult ridge_cv(MatrixView<double> X, VectorView<double> y, const VectorXd* sample_weight,
                       const std::vector<double>& alphas, bool fit_intercept, bool gcv, int n_threads) {
  constexpr std::string_view where = "RidgeCV::fit";
  const VectorXd w = check_fit_input(where, X, y, sample_weight);
  require(!alphas.empty(), where, "alphas is empty");
  for (double a : alphas) require(std::isfinite(a) && a > 0, where, "alphas must be finite and > 0, got ", a);
  resolve_threads(n_threads, where);
  const Index n = X.rows(), p = X.cols();
  const VectorXd mean = detail::weighted_mean(X, w, fit_intercept);
  const double wsum = w.sum();
  const double ybar = fit_intercept ? w.dot(y) / wsum : 0.0;
  VectorXd sw = w.cwiseSqrt();
  VectorXd yw = sw.array() * (y.array() - ybar);
  const auto A = static_cast<Index>(alphas.size());
  RidgeCVResult res;
  res.cv_error = VectorXd::Zero(A);
  // Spectral form: with B the centred, sqrt-weighted X, the hat matrix for alpha is
  // U diag(f) U' where, for p <= n, U = B V (V the eigenvectors of the Gram matrix B'B,
  // f = 1/(lambda + alpha)) and, for p > n, U = Q (eigenvectors of BB', f = lambda/(lambda+alpha)).
  // LOO error: sum_i ((yw_i - fitted_i) / (1 - h_ii))^2 / n; GCV: rss / n / (1 - trace/n)^2.
  VectorXd lam, z;
  MatrixXd V;  // p x r: coefficients = V diag(1/(lambda+alpha)) z
  MatrixXd F;  // r x A spectral weights, one column per alpha
  const bool primal = p <= n;
  auto weights = [&](Index r) {
    F.resize(r, A);
    for (Index a = 0; a < A; ++a)
      for (Index j = 0; j < r; ++j) F(j, a) = primal ? 1.0 / (lam(j) + alphas[a]) : lam(j) / (lam(j) + alphas[a]);
  };
  // Accumulates the per-alpha residual sums and hat traces of rows [r0, r0 + U.rows()).
  auto accumulate = [&](const MatrixXd& U, Index r0, VectorXd& rss, VectorXd& loo, VectorXd& trace) {
    const MatrixXd fitted = U * (F.array().colwise() * z.array()).matrix();  // rows x A
    const MatrixXd H = U.cwiseAbs2() * F;                                      // hat diagonals
    for (Index i = 0; i < U.rows(); ++i) {
      const double hi0 = fit_intercept ? w(r0 + i) / wsum : 0.0;
      for (Index a = 0; a < A; ++a) {
        const double e = yw(r0 + i) - fitted(i, a), h = H(i, a) + hi0;
        rss(a) += e * e;
        trace(a) += h;
        loo(a) += (e / (1 - h)) * (e / (1 - h));
      }
    }
  };
  VectorXd rss = VectorXd::Zero(A), loo = VectorXd::Zero(A), trace = VectorXd::Zero(A);
  if (primal) {
    MatrixXd G;
    VectorXd c;
    detail::centered_gram(X, w, mean, VectorXd(y.array() - ybar), false, n_threads, G, c);
    Eigen::SelfAdjointEigenSolver<MatrixXd> es(G);
    lam = es.eigenvalues().cwiseMax(0.0);
    V = es.eigenvectors();
    z = V.transpose() * c;  // = U' yw, since the weighted column sums of B are zero
    weights(p);
    // Stream U = B V over row blocks (never n x p in memory); per-block sums are added in
    // block order so the result does not depend on the thread count.
    constexpr Index kRows = 2048;
    const Index nb = (n + kRows - 1) / kRows;
    std::vector<VectorXd> part(static_cast<std::size_t>(nb) * 3);
    parallel_for(nb, n_threads, [&](Index b, int) {
      const Index r0 = b * kRows, m = std::min(n, r0 + kRows) - r0;
      MatrixXd Bb(m, p);
      for (Index i = 0; i < m; ++i) Bb.row(i) = sw(r0 + i) * (X.row(r0 + i) - mean.transpose());
      const MatrixXd U = Bb * V;
      VectorXd r1 = VectorXd::Zero(A), l1 = VectorXd::Zero(A), t1 = VectorXd::Zero(A);
      accumulate(U, r0, r1, l1, t1);
      part[3 * b] = std::move(r1);
      part[3 * b + 1] = std::move(l1);
      part[3 * b + 2] = std::move(t1);
      if ((b & 63) == 0) Interrupt::check("regression");
    });
    for (Index b = 0; b < nb; ++b) {
      rss += part[3 * b];
      loo += part[3 * b + 1];
      trace += part[3 * b + 2];
    }
  } else {
    MatrixXd B(n, p);
    for (Index i = 0; i < n; ++i) B.row(i) = sw(i) * (X.row(i).transpose() - mean).transpose();
    Eigen::SelfAdjointEigenSolver<MatrixXd> es(B * B.transpose());
    lam = es.eigenvalues().cwiseMax(0.0);
    const MatrixXd Q = es.eigenvectors();  // n x n orthonormal
    V = B.transpose() * Q;                 // beta = B' Q diag(1/(lam+a)) Q' yw
    z = Q.transpose() * yw;
    weights(n);
    accumulate(Q, 0, rss, loo, trace);
  }
  for (Index a = 0; a < A; ++a) {
    const double d = 1 - trace(a) / static_cast<double>(n);
    res.cv_error(a) = gcv ? rss(a) / static_cast<double>(n) / (d * d) : loo(a) / static_cast<double>(n);
  }
  res.cv_error.minCoeff(&res.best);
  const double al = alphas[res.best];
  VectorXd f(lam.size());
  for (Index j = 0; j < lam.size(); ++j) f(j) = 1.0 / (lam(j) + al);
  res.coef = V * f.cwiseProduct(z);
  res.intercept = fit_intercept ? ybar - mean.dot(res.coef) : 0.0;
  return res;
}

}  // namespace custmine::regression
