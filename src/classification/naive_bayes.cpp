// Naive Bayes (see include/custmine/classification/naive_bayes.hpp).
#include "custmine/classification/naive_bayes.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "custmine/core/threading.hpp"

namespace custmine::classification {

namespace {

void check_fit_input(std::string_view where, MatrixView<double> X, std::span<const std::int64_t> y,
                     std::int64_t n_classes, std::span<const double> w) {
  check_nonempty(where, "X", X.rows());
  require<ShapeError>(X.cols() >= 1, where, "X has no columns");
  check_same_length(where, "X", X.rows(), "y", static_cast<Index>(y.size()));
  check_finite(where, "X", X);
  require(n_classes >= 1, where, "n_classes must be positive (got ", n_classes, ")");
  for (std::size_t i = 0; i < y.size(); ++i)
    if (y[i] < 0 || y[i] >= n_classes) fail(where, "class code ", y[i], " at row ", i, " is out of range");
  if (!w.empty()) {
    check_same_length(where, "sample_weight", static_cast<Index>(w.size()), "X", X.rows());
    for (std::size_t i = 0; i < w.size(); ++i)
      if (!std::isfinite(w[i]) || w[i] < 0)
        fail(where, "sample_weight must be finite and non-negative (row ", i, " is ", w[i], ")");
  }
}

void check_prior(std::string_view where, std::string_view name, const std::vector<double>& prior) {
  if (prior.empty()) return;
  double s = 0;
  for (double v : prior) {
    require(std::isfinite(v) && v >= 0, where, name, " must be non-negative");
    s += v;
  }
  require(std::abs(s - 1.0) <= 1e-8, where, "the ", name, " must sum to 1 (they sum to ", s, ")");
}

RowMatrix<double> softmax_rows(RowMatrix<double> J) {
  for (Index i = 0; i < J.rows(); ++i) {
    const double mx = J.row(i).maxCoeff();
    J.row(i) = (J.row(i).array() - mx).exp();
    J.row(i) /= J.row(i).sum();
  }
  return J;
}

json::array flat(const RowMatrix<double>& M) {
  return json_array(std::vector<double>(M.data(), M.data() + M.size()));
}

RowMatrix<double> unflat(const std::vector<double>& v, Index r, Index c, std::string_view where, std::string_view f) {
  if (static_cast<Index>(v.size()) != r * c) fail<SerializationError>(where, "field '", f, "' has the wrong length");
  RowMatrix<double> M = Eigen::Map<const RowMatrix<double>>(v.data(), r, c);
  if (!M.allFinite()) fail<SerializationError>(where, "field '", f, "' must be finite");
  return M;
}

}  // namespace

// ---- GaussianNB -------------------------------------------------------------------

void GaussianNB::Params::validate() const {
  require(std::isfinite(var_smoothing) && var_smoothing >= 0, "GaussianNB", "var_smoothing must be non-negative (got ",
          var_smoothing, ")");
  check_prior("GaussianNB", "priors", priors);
  resolve_threads(n_threads, "GaussianNB");
}

GaussianNB& GaussianNB::fit(MatrixView<double> X, std::span<const std::int64_t> y, std::int64_t n_classes,
                            std::span<const double> weight) {
  // Fit a fresh model and swap it in, so a failed fit leaves this one unchanged.
  GaussianNB fresh(params_);
  fresh.partial_fit(X, y, n_classes, weight);
  *this = std::move(fresh);
  return *this;
}

GaussianNB& GaussianNB::partial_fit(MatrixView<double> X, std::span<const std::int64_t> y, std::int64_t n_classes,
                                    std::span<const double> weight) {
  constexpr std::string_view where = "GaussianNB::fit";
  params_.validate();
  check_fit_input(where, X, y, n_classes, weight);
  const Index p = X.cols();
  if (!params_.priors.empty())
    require(static_cast<std::int64_t>(params_.priors.size()) == n_classes, where, "priors has ",
            params_.priors.size(), " values but there are ", n_classes, " classes");
  const bool first = !is_fitted();
  if (!first) {
    require<ShapeError>(p == theta_.cols(), where, "X has ", p, " features but earlier batches had ", theta_.cols());
    require(n_classes == theta_.rows(), where, "n_classes changed from ", theta_.rows(), " to ", n_classes);
  }
  // Two passes over fixed row blocks (results independent of the thread count): class
  // weights and sums plus column sums, then squared deviations around those means.
  const Index n = X.rows(), k = n_classes;
  const Index B = std::clamp<Index>(n / 8192, 1, 64);
  struct Acc {
    Vector<double> nw;
    RowMatrix<double> sum, ss;
    Eigen::RowVectorXd col, colss;
  };
  std::vector<Acc> acc(B);
  parallel_for(B, params_.n_threads, [&](Index b, int) {
    Acc& a = acc[b];
    a.nw = Vector<double>::Zero(k);
    a.sum = RowMatrix<double>::Zero(k, p);
    a.col = Eigen::RowVectorXd::Zero(p);
    for (Index i = n * b / B; i < n * (b + 1) / B; ++i) {
      const double w = weight.empty() ? 1.0 : weight[i];
      a.nw(y[i]) += w;
      a.sum.row(y[i]) += w * X.row(i);
      a.col += X.row(i);
    }
  });
  for (Index b = 1; b < B; ++b) acc[0].nw += acc[b].nw, acc[0].sum += acc[b].sum, acc[0].col += acc[b].col;
  const Vector<double> nw = acc[0].nw;
  RowMatrix<double> mu = acc[0].sum;
  for (Index c = 0; c < k; ++c)
    if (nw(c) > 0) mu.row(c) /= nw(c);
  const Eigen::RowVectorXd mean = acc[0].col / static_cast<double>(n);
  parallel_for(B, params_.n_threads, [&](Index b, int) {
    Acc& a = acc[b];
    a.ss = RowMatrix<double>::Zero(k, p);
    a.colss = Eigen::RowVectorXd::Zero(p);
    for (Index i = n * b / B; i < n * (b + 1) / B; ++i) {
      const double w = weight.empty() ? 1.0 : weight[i];
      a.ss.row(y[i]) += w * (X.row(i) - mu.row(y[i])).cwiseAbs2();
      a.colss += (X.row(i) - mean).cwiseAbs2();
    }
  });
  for (Index b = 1; b < B; ++b) acc[0].ss += acc[b].ss, acc[0].colss += acc[b].colss;
  // epsilon from this batch's largest (unweighted) feature variance, as scikit-learn.
  const double eps = params_.var_smoothing * (acc[0].colss / static_cast<double>(n)).maxCoeff();
  if (first) {
    theta_ = RowMatrix<double>::Zero(n_classes, p);
    var_ = RowMatrix<double>::Zero(n_classes, p);
    class_count_ = Vector<double>::Zero(n_classes);
  } else {
    // scikit-learn removes the new batch's epsilon (not the stored one) before the merge;
    // kept identical so that partial_fit results agree.
    var_.array() -= eps;
  }
  epsilon_ = eps;
  for (Index c = 0; c < k; ++c) {
    if (!(nw(c) > 0)) continue;
    const Eigen::RowVectorXd v = acc[0].ss.row(c) / nw(c);
    const double n0 = class_count_(c);
    if (n0 == 0) {
      theta_.row(c) = mu.row(c);
      var_.row(c) = v;
    } else {
      const double nt = n0 + nw(c);
      const Eigen::RowVectorXd mt = (n0 * theta_.row(c) + nw(c) * mu.row(c)) / nt;
      const Eigen::RowVectorXd ssd = n0 * var_.row(c) + nw(c) * v + (n0 * nw(c) / nt) * (theta_.row(c) - mu.row(c)).cwiseAbs2();
      theta_.row(c) = mt;
      var_.row(c) = ssd / nt;
    }
    class_count_(c) += nw(c);
  }
  var_.array() += eps;
  return *this;
}

Vector<double> GaussianNB::class_prior() const {
  if (!params_.priors.empty()) return Eigen::Map<const Vector<double>>(params_.priors.data(), params_.priors.size());
  return class_count_ / class_count_.sum();
}

RowMatrix<double> GaussianNB::joint_log_likelihood(MatrixView<double> X) const {
  constexpr std::string_view where = "GaussianNB::predict";
  if (!is_fitted()) fail<NotFittedError>(where, "this GaussianNB is not fitted yet; call fit first");
  require<ShapeError>(X.cols() == theta_.cols(), where, "X has ", X.cols(), " features but the model was fitted with ",
                      theta_.cols());
  check_finite(where, "X", X);
  const Index k = theta_.rows();
  const Vector<double> prior = class_prior();
  Vector<double> base(k);
  for (Index c = 0; c < k; ++c)
    base(c) = std::log(prior(c)) - 0.5 * (2.0 * std::numbers::pi * var_.row(c).array()).log().sum();
  const RowMatrix<double> inv = var_.cwiseInverse();
  RowMatrix<double> J(X.rows(), k);
  parallel_chunks(X.rows(), params_.n_threads, [&](Index b, Index e, int) {
    for (Index i = b; i < e; ++i)
      for (Index c = 0; c < k; ++c)
        J(i, c) = base(c) - 0.5 * ((X.row(i) - theta_.row(c)).cwiseAbs2().cwiseProduct(inv.row(c))).sum();
  });
  return J;
}

RowMatrix<double> GaussianNB::predict_proba(MatrixView<double> X) const { return softmax_rows(joint_log_likelihood(X)); }

ModelDocument GaussianNB::to_document() const {
  if (!is_fitted()) fail<NotFittedError>("GaussianNB::to_document", "this GaussianNB is not fitted yet");
  ModelDocument d;
  d.estimator = "GaussianNB";
  d.params["var_smoothing"] = params_.var_smoothing;
  d.params["priors"] = json_array(params_.priors);
  d.params["n_threads"] = params_.n_threads;
  d.state["n_classes"] = theta_.rows();
  d.state["n_features"] = theta_.cols();
  d.state["theta"] = flat(theta_);
  d.state["var"] = flat(var_);
  d.state["class_count"] = json_array(std::vector<double>(class_count_.data(), class_count_.data() + class_count_.size()));
  d.state["epsilon"] = epsilon_;
  return d;
}

GaussianNB GaussianNB::from_document(const ModelDocument& doc) {
  constexpr std::string_view where = "GaussianNB document";
  if (doc.estimator != "GaussianNB") fail<SerializationError>(where, "holds a '", doc.estimator, "' model");
  Params p;
  p.var_smoothing = json_double(doc.params, "var_smoothing", where);
  p.priors = json_doubles(doc.params, "priors", where);
  const auto t = json_int(doc.params, "n_threads", where);
  if (t == 0 || std::abs(t) > 1 << 16) fail<SerializationError>(where, "n_threads out of range");
  p.n_threads = static_cast<int>(t);
  try {
    p.validate();
  } catch (const Error& e) {
    fail<SerializationError>(where, "invalid parameters: ", e.what());
  }
  GaussianNB m(p);
  const auto k = json_int(doc.state, "n_classes", where), f = json_int(doc.state, "n_features", where);
  if (k < 1 || k > 1'000'000 || f < 1 || f > 100'000'000) fail<SerializationError>(where, "sizes out of range");
  m.theta_ = unflat(json_doubles(doc.state, "theta", where), k, f, where, "theta");
  m.var_ = unflat(json_doubles(doc.state, "var", where), k, f, where, "var");
  if ((m.var_.array() <= 0).any()) fail<SerializationError>(where, "variances must be positive");
  const auto cc = json_doubles(doc.state, "class_count", where);
  if (static_cast<std::int64_t>(cc.size()) != k) fail<SerializationError>(where, "field 'class_count' has the wrong length");
  m.class_count_ = Eigen::Map<const Vector<double>>(cc.data(), k);
  m.epsilon_ = json_double(doc.state, "epsilon", where);
  return m;
}

// ---- CategoricalNB ----------------------------------------------------------------

void CategoricalNB::Params::validate() const {
  constexpr std::string_view w = "CategoricalNB";
  require(std::isfinite(alpha) && alpha >= 0, w, "alpha must be non-negative (got ", alpha, ")");
  check_prior(w, "class_prior", class_prior);
  for (auto m : min_categories) require(m >= 1 && m <= (1LL << 31), w, "min_categories must be positive integers");
  resolve_threads(n_threads, w);
}

namespace {
std::int64_t category(std::string_view where, double x, Index i, Index j) {
  if (!(x >= 0) || x != std::floor(x) || x >= 2147483648.0)
    fail(where, "X must hold non-negative integer category codes; row ", i, " column ", j, " is ", x);
  return static_cast<std::int64_t>(x);
}
}  // namespace

CategoricalNB& CategoricalNB::fit(MatrixView<double> X, std::span<const std::int64_t> y, std::int64_t n_classes,
                                  std::span<const double> weight) {
  CategoricalNB fresh(params_);
  fresh.partial_fit(X, y, n_classes, weight);
  *this = std::move(fresh);
  return *this;
}

CategoricalNB& CategoricalNB::partial_fit(MatrixView<double> X, std::span<const std::int64_t> y, std::int64_t n_classes,
                                          std::span<const double> weight) {
  constexpr std::string_view where = "CategoricalNB::fit";
  params_.validate();
  check_fit_input(where, X, y, n_classes, weight);
  const Index p = X.cols();
  if (!params_.class_prior.empty())
    require(static_cast<std::int64_t>(params_.class_prior.size()) == n_classes, where, "class_prior has ",
            params_.class_prior.size(), " values but there are ", n_classes, " classes");
  const auto& mc = params_.min_categories;
  require(mc.size() <= 1 || static_cast<Index>(mc.size()) == p, where, "min_categories has ", mc.size(),
          " values but X has ", p, " features");
  // Validate every code before touching the counts, so a bad batch leaves the model as it was.
  std::vector<std::int64_t> maxcat(p, -1);
  for (Index i = 0; i < X.rows(); ++i)
    for (Index j = 0; j < p; ++j) maxcat[j] = std::max(maxcat[j], category(where, X(i, j), i, j));
  if (!is_fitted()) {
    counts_.assign(p, RowMatrix<double>());
    for (Index j = 0; j < p; ++j) {
      const std::int64_t m0 = mc.empty() ? 1 : mc.size() == 1 ? mc[0] : mc[j];
      counts_[j] = RowMatrix<double>::Zero(n_classes, m0);
    }
    class_count_ = Vector<double>::Zero(n_classes);
  } else {
    require<ShapeError>(p == static_cast<Index>(counts_.size()), where, "X has ", p, " features but earlier batches had ",
                        counts_.size());
    require(n_classes == class_count_.size(), where, "n_classes changed from ", class_count_.size(), " to ", n_classes);
  }
  for (Index j = 0; j < p; ++j)
    if (maxcat[j] >= counts_[j].cols()) {
      RowMatrix<double> grown = RowMatrix<double>::Zero(n_classes, maxcat[j] + 1);
      grown.leftCols(counts_[j].cols()) = counts_[j];
      counts_[j].swap(grown);
    }
  for (Index i = 0; i < X.rows(); ++i) {
    const double w = weight.empty() ? 1.0 : weight[i];
    class_count_(y[i]) += w;
    for (Index j = 0; j < p; ++j) counts_[j](y[i], static_cast<Index>(X(i, j))) += w;
  }
  return *this;
}

Vector<double> CategoricalNB::class_log_prior() const {
  const Index k = class_count_.size();
  if (!params_.class_prior.empty())
    return Eigen::Map<const Vector<double>>(params_.class_prior.data(), k).array().log();
  if (params_.fit_prior) return class_count_.array().log() - std::log(class_count_.sum());
  return Vector<double>::Constant(k, -std::log(static_cast<double>(k)));
}

std::vector<RowMatrix<double>> CategoricalNB::feature_log_prob() const {
  const double a = std::max(params_.alpha, 1e-10);
  std::vector<RowMatrix<double>> out;
  for (const auto& C : counts_) {
    RowMatrix<double> L = (C.array() + a).log();
    const Vector<double> den = (C.rowwise().sum().array() + a * static_cast<double>(C.cols())).log();
    L.colwise() -= den;
    out.push_back(std::move(L));
  }
  return out;
}

RowMatrix<double> CategoricalNB::joint_log_likelihood(MatrixView<double> X) const {
  constexpr std::string_view where = "CategoricalNB::predict";
  if (!is_fitted()) fail<NotFittedError>(where, "this CategoricalNB is not fitted yet; call fit first");
  const Index p = static_cast<Index>(counts_.size());
  require<ShapeError>(X.cols() == p, where, "X has ", X.cols(), " features but the model was fitted with ", p);
  check_finite(where, "X", X);
  const auto L = feature_log_prob();
  const Vector<double> prior = class_log_prior();
  RowMatrix<double> J(X.rows(), prior.size());
  parallel_chunks(X.rows(), params_.n_threads, [&](Index b, Index e, int) {
    for (Index i = b; i < e; ++i) {
      J.row(i) = prior.transpose();
      for (Index j = 0; j < p; ++j) {
        const auto c = category(where, X(i, j), i, j);
        if (c >= L[j].cols())
          fail(where, "row ", i, " feature ", j, " has category ", c, ", unseen during fit (known 0..",
               L[j].cols() - 1, "); set min_categories to reserve it");
        J.row(i) += L[j].col(c).transpose();
      }
    }
  });
  return J;
}

RowMatrix<double> CategoricalNB::predict_proba(MatrixView<double> X) const { return softmax_rows(joint_log_likelihood(X)); }

ModelDocument CategoricalNB::to_document() const {
  if (!is_fitted()) fail<NotFittedError>("CategoricalNB::to_document", "this CategoricalNB is not fitted yet");
  ModelDocument d;
  d.estimator = "CategoricalNB";
  d.params["alpha"] = params_.alpha;
  d.params["fit_prior"] = params_.fit_prior;
  d.params["class_prior"] = json_array(params_.class_prior);
  d.params["min_categories"] = json_array(params_.min_categories);
  d.params["n_threads"] = params_.n_threads;
  d.state["n_classes"] = class_count_.size();
  std::vector<std::int64_t> ncat;
  std::vector<double> all;
  for (const auto& C : counts_) {
    ncat.push_back(C.cols());
    all.insert(all.end(), C.data(), C.data() + C.size());
  }
  d.state["n_categories"] = json_array(ncat);
  d.state["category_count"] = json_array(all);
  d.state["class_count"] = json_array(std::vector<double>(class_count_.data(), class_count_.data() + class_count_.size()));
  return d;
}

CategoricalNB CategoricalNB::from_document(const ModelDocument& doc) {
  constexpr std::string_view where = "CategoricalNB document";
  if (doc.estimator != "CategoricalNB") fail<SerializationError>(where, "holds a '", doc.estimator, "' model");
  Params p;
  p.alpha = json_double(doc.params, "alpha", where);
  p.fit_prior = json_bool(doc.params, "fit_prior", where);
  p.class_prior = json_doubles(doc.params, "class_prior", where);
  p.min_categories = json_ints(doc.params, "min_categories", where);
  const auto t = json_int(doc.params, "n_threads", where);
  if (t == 0 || std::abs(t) > 1 << 16) fail<SerializationError>(where, "n_threads out of range");
  p.n_threads = static_cast<int>(t);
  try {
    p.validate();
  } catch (const Error& e) {
    fail<SerializationError>(where, "invalid parameters: ", e.what());
  }
  CategoricalNB m(p);
  const auto k = json_int(doc.state, "n_classes", where);
  if (k < 1 || k > 1'000'000) fail<SerializationError>(where, "n_classes out of range");
  const auto ncat = json_ints(doc.state, "n_categories", where);
  const auto all = json_doubles(doc.state, "category_count", where);
  const auto cc = json_doubles(doc.state, "class_count", where);
  if (ncat.empty() || static_cast<std::int64_t>(cc.size()) != k) fail<SerializationError>(where, "sizes do not agree");
  std::size_t off = 0;
  for (auto m_j : ncat) {
    if (m_j < 1 || m_j > (1LL << 31)) fail<SerializationError>(where, "n_categories out of range");
    const std::size_t len = static_cast<std::size_t>(k * m_j);
    if (off + len > all.size()) fail<SerializationError>(where, "field 'category_count' is too short");
    m.counts_.push_back(unflat(std::vector<double>(all.begin() + off, all.begin() + off + len), k, m_j, where,
                               "category_count"));
    off += len;
  }
  if (off != all.size()) fail<SerializationError>(where, "field 'category_count' is too long");
  m.class_count_ = Eigen::Map<const Vector<double>>(cc.data(), k);
  if (!m.class_count_.allFinite() || (m.class_count_.array() < 0).any())
    fail<SerializationError>(where, "class counts must be finite and non-negative");
  return m;
}

}  // namespace custmine::classification
