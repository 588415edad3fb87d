// Shared pieces of the CLV family: fit options, fitted state and its JSON document.
#include <cmath>

#include "custmine/clv/clv.hpp"

namespace custmine::clv {

void FitOptions::validate(std::string_view where, std::size_t n_params) const {
  require(std::isfinite(penalizer) && penalizer >= 0, where, "penalizer must be a finite number >= 0 (got ",
          penalizer, ")");
  require(max_iter >= 1, where, "max_iter must be >= 1 (got ", max_iter, ")");
  require(std::isfinite(tol) && tol > 0, where, "tol must be a positive number (got ", tol, ")");
  if (n_threads == 0) fail(where, "n_jobs must be a non-zero integer (got 0)");
  if (!initial.empty()) {
    require(initial.size() == n_params, where, "initial_params must hold ", n_params, " values, got ",
            initial.size());
    for (double v : initial)
      require(std::isfinite(v) && v > 0, where, "initial_params must be finite and > 0 (got ", v, ")");
  }
}

void FittedModel::set_params(const std::vector<double>& p) {
  require(p.size() == names_.size(), estimator_, "set_params needs ", names_.size(), " values, got ", p.size());
  for (double v : p) require(std::isfinite(v) && v > 0, estimator_, "parameters must be finite and > 0 (got ", v, ")");
  params_ = p;
  se_.assign(p.size(), std::numeric_limits<double>::quiet_NaN());
  log_likelihood_ = std::numeric_limits<double>::quiet_NaN();
  info_ = FitInfo{};
  info_.message = "parameters set directly";
}

void FittedModel::check_fitted(std::string_view where) const {
  if (!is_fitted()) fail<NotFittedError>(where, "this ", estimator_, " is not fitted yet; call fit first");
}

ModelDocument FittedModel::to_document() const {
  check_fitted(estimator_ + "::to_document");
  ModelDocument doc;
  doc.estimator = estimator_;
  doc.params["penalizer"] = penalizer_;
  json::object p, se;
  for (std::size_t i = 0; i < names_.size(); ++i) {
    p[names_[i]] = json_number(params_[i]);
    se[names_[i]] = json_number(se_[i]);
  }
  doc.state["params"] = std::move(p);
  doc.state["standard_errors"] = std::move(se);
  doc.state["log_likelihood"] = json_number(log_likelihood_);
  json::object info;
  info["converged"] = info_.converged;
  info["iterations"] = info_.iterations;
  info["evaluations"] = info_.evaluations;
  info["gradient_norm"] = json_number(info_.gradient_norm);
  info["message"] = info_.message;
  info["n_rows"] = info_.n_rows;
  info["n_groups"] = info_.n_groups;
  info["total_weight"] = json_number(info_.total_weight);
  doc.state["info"] = std::move(info);
  return doc;
}

void FittedModel::read_document(const ModelDocument& doc) {
  const std::string where = estimator_ + " document";
  if (doc.estimator != estimator_) fail<SerializationError>(where, "holds a '", doc.estimator, "' model");
  penalizer_ = json_double(doc.params, "penalizer", where);
  if (!std::isfinite(penalizer_) || penalizer_ < 0) fail<SerializationError>(where, "field 'penalizer' must be >= 0");
  const auto& p = json_object(doc.state, "params", where);
  const auto& se = json_object(doc.state, "standard_errors", where);
  std::vector<double> params, ses;
  for (const auto& name : names_) {
    const double v = json_double(p, name, where + " params");
    if (!std::isfinite(v) || v <= 0)
      fail<SerializationError>(where, "parameter '", name, "' must be finite and > 0, got ", v);
    params.push_back(v);
    ses.push_back(json_double(se, name, where + " standard_errors"));
  }
  params_ = std::move(params);
  se_ = std::move(ses);
  log_likelihood_ = json_double(doc.state, "log_likelihood", where);
  const auto& info = json_object(doc.state, "info", where);
  info_.converged = json_bool(info, "converged", where);
  info_.iterations = static_cast<int>(json_int(info, "iterations", where));
  info_.evaluations = static_cast<int>(json_int(info, "evaluations", where));
  info_.gradient_norm = json_double(info, "gradient_norm", where);
  info_.message = json_string(info, "message", where);
  info_.n_rows = json_int(info, "n_rows", where);
  info_.n_groups = json_int(info, "n_groups", where);
  info_.total_weight = json_double(info, "total_weight", where);
}

}  // namespace custmine::clv
