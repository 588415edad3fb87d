// Tweedie-family GLMs fitted by Fisher scoring (IRLS) with backtracking line search.
#include "custmine/regression/glm.hpp"

#include <boost/math/distributions/normal.hpp>
#include <cmath>
#include <limits>
#include <numbers>

#include "custmine/core/linear_predict.hpp"
#include "custmine/core/threading.hpp"
#include "custmine/metrics/regression.hpp"

namespace custmine::regression {

namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
}

void GLM::Params::validate() const {
  constexpr std::string_view w = "GLM";
  require(std::isfinite(power) && (power == 0 || power >= 1), w,
          "power must be 0 or >= 1 (0 < power < 1 is not a Tweedie distribution), got ", power);
  require(std::isfinite(alpha) && alpha >= 0, w, "alpha must be a finite number >= 0, got ", alpha);
  require(max_iter >= 1, w, "max_iter must be >= 1, got ", max_iter);
  require(std::isfinite(tol) && tol > 0, w, "tol must be > 0, got ", tol);
  resolve_threads(n_threads, w);
}

bool GLM::log_link() const {
  return params_.link == Link::Log || (params_.link == Link::Auto && params_.power != 0);
}

namespace {
struct Family {
  double power;
  bool log;
  double mu(double eta) const { return log ? std::exp(eta) : eta; }
  double variance(double mu) const { return power == 0 ? 1.0 : std::pow(mu, power); }
  // d mu / d eta
  double dmu(double mu) const { return log ? mu : 1.0; }
  bool valid_mu(double mu) const { return std::isfinite(mu) && (power == 0 || mu > 0); }
};

// Per-row terms are computed on `n_threads` threads and summed in row order, so the sum does
// not depend on the thread count.
double half_dev_sum(const Family& fam, const VectorXd& y, const VectorXd& mu, const VectorXd& w,
                    int n_threads = 1) {
  VectorXd d(y.size());
  parallel_chunks(y.size(), n_threads, [&](Index b, Index e, int) {
    for (Index i = b; i < e; ++i)
      d(i) = fam.valid_mu(mu(i)) ? w(i) * 0.5 * metrics::tweedie_unit_deviance(y(i), mu(i), fam.power)
                                 : std::numeric_limits<double>::infinity();
  });
  double s = 0;
  for (Index i = 0; i < y.size(); ++i) s += d(i);
  return s;
}
}  // namespace

GLM& GLM::fit(MatrixView<double> X, VectorView<double> yv, const VectorXd* sample_weight) {
  constexpr std::string_view where = "GLM::fit";
  params_.validate();
  const VectorXd w = check_fit_input(where, X, yv, sample_weight);
  const VectorXd y = yv;
  const Family fam{params_.power, log_link()};
  const double pw = params_.power;
  for (Index i = 0; i < y.size(); ++i) {
    if (pw >= 1 && pw < 2 && y(i) < 0)
      fail(where, "y must be non-negative for power ", pw, " (Poisson / Tweedie), got ", y(i), " at row ", i);
    if (pw >= 2 && !(y(i) > 0))
      fail(where, "y must be strictly positive for power ", pw, " (Gamma / inverse Gaussian), got ", y(i), " at row ", i);
  }
  const Index n = X.rows(), p = X.cols();
  const bool icpt = params_.fit_intercept;
  const Index k = p + (icpt ? 1 : 0);
  const double S = w.sum();
  const double ybar = w.dot(y) / S;
  if (pw >= 1 && !(ybar > 0)) fail(where, "y must have a positive (weighted) mean for power ", pw);
  const VectorXd mean = detail::weighted_mean(X, w, icpt);
  const double alpha = params_.alpha;

  // theta = [c, beta] in the centred parametrisation eta = c + (x - m)'beta.
  VectorXd theta = VectorXd::Zero(k);
  if (icpt) theta(0) = fam.log ? std::log(ybar) : ybar;
  // Each pass starts its threads anew; below ~64k rows that costs more than it saves (the
  // results do not depend on the thread count either way).
  const int nt = n >= 65536 ? params_.n_threads : 1;
  auto eta_of = [&](const VectorXd& th) {
    VectorXd eta = detail::mat_vec(X, th.tail(p), nt);
    eta.array() += (icpt ? th(0) : 0.0) - mean.dot(th.tail(p));
    return eta;
  };
  auto mu_of = [&](const VectorXd& eta) {
    VectorXd mu(n);
    parallel_chunks(n, nt, [&](Index b, Index e, int) {
      for (Index i = b; i < e; ++i) mu(i) = fam.mu(eta(i));
    });
    return mu;
  };
  if (!icpt && fam.log == false && pw != 0) {
    // identity link without intercept starts at mu = 0, outside the domain: start from
    // a least-squares fit instead.
    fail(where, "identity link without an intercept is not supported for power ", pw);
  }
  // Log link: the deviance in terms of eta = log(mu), with y's own term computed once per fit
  // and mu^(1-p) = exp((1-p) eta): no log() or pow() per row and evaluation (they dominated
  // small fits). Poisson: y log y - y eta - y + mu; Gamma: eta - log y + y e^-eta - 1.
  const bool dev_from_eta = fam.log && pw != 0;
  VectorXd y_term;
  if (dev_from_eta) {
    y_term.resize(n);
    for (Index i = 0; i < n; ++i) {
      const double yi = y(i);
      if (pw == 1) y_term(i) = yi > 0 ? yi * std::log(yi) : 0.0;
      else if (pw == 2) y_term(i) = std::log(yi);
      else y_term(i) = yi > 0 ? std::pow(yi, 2 - pw) / ((1 - pw) * (2 - pw)) : 0.0;
    }
  }
  auto half_dev = [&](const VectorXd& et, const VectorXd& mu) {
    double dev;
    if (dev_from_eta) {
      VectorXd d(n);
      parallel_chunks(n, nt, [&](Index b, Index e, int) {
        for (Index i = b; i < e; ++i) {
          const double m1 = pw == 1 ? 1.0 : std::exp((1 - pw) * et(i));
          double h;
          if (pw == 1) h = y_term(i) - y(i) * et(i) - y(i) + mu(i);
          else if (pw == 2) h = et(i) - y_term(i) + y(i) * m1 - 1;
          else h = y_term(i) - y(i) * m1 / (1 - pw) + m1 * mu(i) / (2 - pw);
          d(i) = fam.valid_mu(mu(i)) && std::isfinite(m1) ? w(i) * h : std::numeric_limits<double>::infinity();
        }
      });
      dev = 0;
      for (Index i = 0; i < n; ++i) dev += d(i);  // row order: thread-count invariant
    } else {
      dev = half_dev_sum(fam, y, mu, w, nt);
    }
    return dev;
  };
  auto objective = [&](const VectorXd& th, const VectorXd& et, const VectorXd& mu) {
    return half_dev(et, mu) / S + 0.5 * alpha * th.tail(p).squaredNorm();
  };
  VectorXd eta = eta_of(theta), mu = mu_of(eta);
  double f = objective(theta, eta, mu);
  if (!std::isfinite(f)) fail<ConvergenceError>(where, "the starting point is outside the domain of the family");
  converged = false;
  n_iter = 0;
  VectorXd grad(k), v(n), u(n);
  MatrixXd H;
  VectorXd dummy;
  for (int it = 0; it < params_.max_iter; ++it) {
    parallel_chunks(n, nt, [&](Index b, Index e, int) {
      for (Index i = b; i < e; ++i) {
        if (fam.log) {
          // Log link: d mu / d eta = mu and mu / V = mu^(1-p) = exp((1-p) eta).
          const double m1 = std::exp((1 - pw) * eta(i)), m2 = m1 * mu(i);
          u(i) = w(i) * (mu(i) - y(i)) * m1 / S;
          // Newton weight (exact Hessian of the log-link deviance) where it is non-negative,
          // Fisher's expected weight mu^(2-p) elsewhere: quadratic convergence, always descent.
          const double exact = (2 - pw) * m2 - (1 - pw) * y(i) * m1;
          v(i) = w(i) * (exact >= 0 ? exact : m2) / S;
        } else {
          const double V = fam.variance(mu(i)), d = fam.dmu(mu(i));
          u(i) = w(i) * (mu(i) - y(i)) / V * d / S;
          v(i) = w(i) * d * d / V / S;
        }
      }
    });
    const double su = u.sum();
    VectorXd gx = detail::mat_t_vec(X, u, nt) - mean * su;
    if (icpt) grad(0) = su;
    grad.tail(p) = gx + alpha * theta.tail(p);
    n_iter = it;
    if (grad.cwiseAbs().maxCoeff() <= params_.tol) {
      converged = true;
      break;
    }
    detail::centered_gram(X, v, mean, VectorXd::Zero(n), icpt, nt, H, dummy);
    H.diagonal().tail(p).array() += alpha;
    Eigen::LDLT<MatrixXd> ldlt(H);
    VectorXd step;
    if (ldlt.info() == Eigen::Success && ldlt.isPositive()) step = -ldlt.solve(grad);
    if (step.size() != k || !step.allFinite()) {
      Index r = 0;
      step = -detail::pinv_psd(H, r) * grad;
    }
    // Armijo backtracking; also keeps mu inside the domain (identity links).
    const double slope = grad.dot(step);
    double t = 1;
    VectorXd th_new, eta_new, mu_new;
    double f_new = f;
    bool accepted = false;
    for (int ls = 0; ls < 40; ++ls) {
      th_new = theta + t * step;
      eta_new = eta_of(th_new);
      mu_new = mu_of(eta_new);
      f_new = objective(th_new, eta_new, mu_new);
      if (std::isfinite(f_new) && f_new <= f + 1e-4 * t * slope) {
        accepted = true;
        break;
      }
      t /= 2;
    }
    n_iter = it + 1;
    if (!accepted) break;  // no descent possible: at numerical precision
    const double change = (th_new - theta).cwiseAbs().maxCoeff();
    theta = th_new;
    eta = eta_new;
    mu = mu_new;
    const double f_old = f;
    f = f_new;
    if (change <= 1e-15 * (1 + theta.cwiseAbs().maxCoeff()) || std::abs(f_old - f) <= 1e-16 * std::abs(f)) {
      converged = true;
      break;
    }
    Interrupt::check(where);
  }
  coef = theta.tail(p);
  intercept = icpt ? theta(0) - mean.dot(coef) : 0.0;

  // ---- inference (expected information at the solution) ----------------------------
  nobs = 0;
  for (Index i = 0; i < n; ++i) nobs += w(i) > 0;
  df_model = static_cast<double>(k - (icpt ? 1 : 0));
  df_resid = static_cast<double>(nobs - k);
  deviance = 2 * half_dev(eta, mu);
  {
    const double m0 = icpt ? ybar : fam.mu(0.0);
    const VectorXd mu0 = VectorXd::Constant(n, m0);
    null_deviance = 2 * half_dev(VectorXd::Constant(n, fam.log ? std::log(m0) : m0), mu0);
  }
  // Pearson terms and Fisher weights; on a log link 1 / V = mu^(1-p) / mu with
  // mu^(1-p) = exp((1-p) eta) (no pow per row).
  VectorXd pr(n);
  parallel_chunks(n, nt, [&](Index b, Index e, int) {
    for (Index i = b; i < e; ++i) {
      const double r2 = (y(i) - mu(i)) * (y(i) - mu(i));
      if (fam.log) {
        const double m1 = std::exp((1 - pw) * eta(i));
        pr(i) = w(i) * r2 * (m1 / mu(i));
        v(i) = w(i) * m1 * mu(i);
      } else {
        const double V = fam.variance(mu(i)), d = fam.dmu(mu(i));
        pr(i) = w(i) * r2 / V;
        v(i) = w(i) * d * d / V;
      }
    }
  });
  pearson_chi2 = 0;
  for (Index i = 0; i < n; ++i) pearson_chi2 += pr(i);  // row order: thread-count invariant
  scale = pw == 1 ? 1.0 : (df_resid > 0 ? pearson_chi2 / df_resid : kNaN);
  MatrixXd Hs;
  detail::centered_gram(X, v, mean, VectorXd::Zero(n), icpt, nt, Hs, dummy);
  Index r = 0;
  const MatrixXd cov_theta = scale * detail::pinv_psd(Hs, r);
  MatrixXd L = MatrixXd::Identity(k, k);
  if (icpt) L.block(0, 1, 1, p) = -mean.transpose();
  params_vec = L * theta;
  cov = L * cov_theta * L.transpose();
  std_err = cov.diagonal().cwiseMax(0.0).cwiseSqrt();
  z_stat = params_vec.cwiseQuotient(std_err);
  p_value.resize(k);
  for (Index j = 0; j < k; ++j)
    p_value(j) = std::isfinite(z_stat(j))
                     ? 2 * boost::math::cdf(boost::math::complement(boost::math::normal(), std::abs(z_stat(j))))
                     : kNaN;
  // Log-likelihood where the family has a closed form (statsmodels' conventions).
  loglike = kNaN;
  if (pw == 1) {
    loglike = 0;
    for (Index i = 0; i < n; ++i)
      loglike += w(i) * ((y(i) > 0 ? y(i) * std::log(mu(i)) : 0.0) - mu(i) - std::lgamma(y(i) + 1));
  } else if (pw == 2) {
    loglike = 0;
    for (Index i = 0; i < n; ++i) {
      if (w(i) == 0) continue;
      const double ws = w(i) / scale, ym = y(i) / mu(i);
      loglike += ws * std::log(ws * ym) - ws * ym - std::lgamma(ws) - std::log(y(i));
    }
  } else if (pw == 0) {
    double s = scale;
    if (!fam.log) s = deviance / static_cast<double>(nobs);  // MLE scale for identity link
    loglike = 0;
    for (Index i = 0; i < n; ++i) {
      if (w(i) == 0) continue;
      loglike += -0.5 * (w(i) * (y(i) - mu(i)) * (y(i) - mu(i)) / s + std::log(2 * std::numbers::pi * s / w(i)));
    }
  }
  aic = -2 * loglike + 2 * static_cast<double>(k);
  bic = -2 * loglike + std::log(static_cast<double>(nobs)) * static_cast<double>(k);
  fitted_ = true;
  return *this;
}

MatrixXd GLM::conf_int(double level) const {
  require(level > 0 && level < 1, "GLM::conf_int", "level must be in (0, 1), got ", level);
  const double q = boost::math::quantile(boost::math::normal(), 0.5 + level / 2);
  MatrixXd ci(params_vec.size(), 2);
  ci.col(0) = params_vec - q * std_err;
  ci.col(1) = params_vec + q * std_err;
  return ci;
}

VectorXd GLM::linear_predictor(MatrixView<double> X) const {
  constexpr std::string_view where = "GLM::predict";
  if (!fitted_) fail<NotFittedError>(where, "this GLM is not fitted yet; call fit first");
  require<ShapeError>(X.cols() == coef.size(), where, "X has ", X.cols(), " features, but the model was fitted with ",
                      coef.size());
  return checked_linear(where, X, coef.data(), intercept, params_.n_threads);
}

VectorXd GLM::predict(MatrixView<double> X) const {
  VectorXd eta = linear_predictor(X);
  if (log_link()) eta = eta.array().exp();
  return eta;
}

namespace {
std::string link_name(Link l) { return l == Link::Log ? "log" : l == Link::Identity ? "identity" : "auto"; }
}  // namespace

ModelDocument GLM::to_document() const {
  if (!fitted_) fail<NotFittedError>("GLM::to_document", "this GLM is not fitted yet");
  ModelDocument d;
  d.estimator = "GLM";
  d.params["power"] = params_.power;
  d.params["link"] = link_name(params_.link);
  d.params["alpha"] = params_.alpha;
  d.params["fit_intercept"] = params_.fit_intercept;
  d.params["max_iter"] = params_.max_iter;
  d.params["tol"] = params_.tol;
  d.params["n_threads"] = params_.n_threads;
  auto& s = d.state;
  s["coef"] = detail::to_json_array(coef);
  s["intercept"] = json_number(intercept);
  s["n_iter"] = n_iter;
  s["converged"] = converged;
  s["cov"] = detail::to_json_array(cov);
  s["nobs"] = nobs;
  for (auto [key, val] : std::initializer_list<std::pair<const char*, double>>{
           {"df_model", df_model}, {"df_resid", df_resid}, {"scale", scale}, {"deviance", deviance},
           {"null_deviance", null_deviance}, {"pearson_chi2", pearson_chi2}, {"loglike", loglike}, {"aic", aic},
           {"bic", bic}})
    s[key] = json_number(val);
  return d;
}

GLM GLM::from_document(const ModelDocument& d) {
  constexpr std::string_view where = "GLM document";
  if (d.estimator != "GLM") fail<SerializationError>(where, "holds a '", d.estimator, "' model");
  Params p;
  p.power = json_double(d.params, "power", where);
  const auto link = json_string(d.params, "link", where);
  if (link == "log") p.link = Link::Log;
  else if (link == "identity") p.link = Link::Identity;
  else if (link == "auto") p.link = Link::Auto;
  else fail<SerializationError>(where, "unknown link '", link, "'");
  p.alpha = json_double(d.params, "alpha", where);
  p.fit_intercept = json_bool(d.params, "fit_intercept", where);
  const auto mi = json_int(d.params, "max_iter", where);
  const auto nt = json_int(d.params, "n_threads", where);
  if (mi < 1 || mi > 100'000'000 || nt == 0 || nt < -1024 || nt > 4096)
    fail<SerializationError>(where, "fields 'max_iter'/'n_threads' are out of range");
  p.max_iter = static_cast<int>(mi);
  p.n_threads = static_cast<int>(nt);
  p.tol = json_double(d.params, "tol", where);
  try {
    p.validate();
  } catch (const InvalidArgument& e) {
    fail<SerializationError>(where, e.what());
  }
  GLM m(p);
  const auto& s = d.state;
  m.coef = detail::json_vector(s, "coef", where);
  if (m.coef.size() < 1) fail<SerializationError>(where, "field 'coef' is empty");
  m.intercept = json_double(s, "intercept", where);
  const auto it = json_int(s, "n_iter", where);
  if (it < 0 || it > 100'000'000) fail<SerializationError>(where, "field 'n_iter' is out of range");
  m.n_iter = static_cast<int>(it);
  m.converged = json_bool(s, "converged", where);
  const Index k = m.coef.size() + (p.fit_intercept ? 1 : 0);
  m.cov = detail::json_matrix(s, "cov", k, k, where);
  m.nobs = json_int(s, "nobs", where);
  m.df_model = json_double(s, "df_model", where);
  m.df_resid = json_double(s, "df_resid", where);
  m.scale = json_double(s, "scale", where);
  m.deviance = json_double(s, "deviance", where);
  m.null_deviance = json_double(s, "null_deviance", where);
  m.pearson_chi2 = json_double(s, "pearson_chi2", where);
  m.loglike = json_double(s, "loglike", where);
  m.aic = json_double(s, "aic", where);
  m.bic = json_double(s, "bic", where);
  m.params_vec.resize(k);
  if (p.fit_intercept) m.params_vec(0) = m.intercept;
  m.params_vec.tail(m.coef.size()) = m.coef;
  m.std_err = m.cov.diagonal().cwiseMax(0.0).cwiseSqrt();
  m.z_stat = m.params_vec.cwiseQuotient(m.std_err);
  m.p_value.resize(k);
  for (Index j = 0; j < k; ++j)
    m.p_value(j) = std::isfinite(m.z_stat(j))
                       ? 2 * boost::math::cdf(boost::math::complement(boost::math::normal(), std::abs(m.z_stat(j))))
                       : kNaN;
  m.fitted_ = true;
  return m;
}

}  // namespace custmine::regression
