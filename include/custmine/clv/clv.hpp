// Customer lifetime value: "buy till you die" models fitted by maximum likelihood.
//
// Non-contractual, continuous time (data per customer: frequency x = repeat purchases,
// recency t_x = time of the last repeat purchase since the first, T = age):
//   BetaGeo          BG/NBD    Fader, Hardie & Lee (2005), "Counting your customers the
//                              easy way", Marketing Science 24(2)
//   ModifiedBetaGeo  MBG/NBD   Batislam, Denizel & Filiztekin (2007), IJRM 24(3)
//   ParetoNBD        Pareto/NBD Schmittlein, Morrison & Colombo (1987), Management Sci.
//                              33(1); likelihood as in Fader & Hardie (2005) "A note on
//                              deriving the Pareto/NBD model and related expressions"
// Spend: GammaGamma    Fader, Hardie & Lee (2005), "RFM and CLV", JMR 42(4); Fader &
//                      Hardie (2013), "The Gamma-Gamma model of monetary value"
// Discrete opportunities: BetaGeoBetaBinom  BG/BB  Fader, Hardie & Shang (2010),
//                      "Customer-base analysis in a discrete-time noncontractual setting",
//                      Marketing Science 29(6)
// Contractual: ShiftedBetaGeometric  sBG  Fader & Hardie (2007), "How to project customer
//                      retention", J. Interactive Marketing 21(1); discounted expected
//                      residual lifetime from Fader & Hardie (2010), Marketing Science 29(1).
//
// Fitting: identical data rows are grouped (with summed weights; a hash pass, O(n)
// expected, then the g distinct rows are sorted). Each likelihood evaluation is factored:
// the lgamma terms once per distinct frequency, log(alpha + t) (and log(beta + t)) once
// per distinct time value, the Pareto/NBD hypergeometric series (typically tens of
// terms) once per distinct (frequency, time) pair, and a few exp/log per distinct row:
// O(g) per evaluation. Rows are summed in fixed-size blocks in a fixed order, so the
// result does not depend on the thread count. The parameters are optimised on the log
// scale by L-BFGS with exact gradients (dual numbers through the closed-form
// log-likelihood) then polished by Newton steps; standard errors come from the
// Hessian. Objective = -LL / sum(weights) + penalizer * sum(params^2) (lifetimes'
// convention, natural-scale parameters).
// Predictions are O(1) per customer (BG/NBD conditional expectations: a hypergeometric
// series, or a tanh-sinh integral when the series would converge slowly).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "custmine/core/matrix.hpp"
#include "custmine/core/serialize.hpp"

namespace custmine::clv {

/// How a fit runs. tol bounds the gradient (infinity norm) of the per-customer objective
/// with respect to the log-parameters.
struct FitOptions {
  double penalizer = 0.0;
  int max_iter = 1000;
  double tol = 1e-8;
  int n_threads = 1;
  bool strict = true;            ///< throw ConvergenceError when the fit does not converge
  std::vector<double> initial;   ///< natural-scale starting values (empty: model default)
  void validate(std::string_view where, std::size_t n_params) const;
};

/// What a fit found.
struct FitInfo {
  bool converged = false;
  int iterations = 0;
  int evaluations = 0;
  double gradient_norm = 0;
  std::string message;
  std::int64_t n_rows = 0;     ///< data rows given
  std::int64_t n_groups = 0;   ///< distinct rows after grouping
  double total_weight = 0;
};

/// Shared fitted state of every model: parameter names and values, standard errors,
/// log-likelihood (unpenalised, summed with weights) and the optimiser's report.
class FittedModel {
 public:
  [[nodiscard]] bool is_fitted() const { return !params_.empty(); }
  [[nodiscard]] const std::vector<double>& params() const { return params_; }
  [[nodiscard]] const std::vector<double>& standard_errors() const { return se_; }
  [[nodiscard]] const std::vector<std::string>& param_names() const { return names_; }
  [[nodiscard]] double log_likelihood() const { return log_likelihood_; }
  [[nodiscard]] const FitInfo& info() const { return info_; }
  [[nodiscard]] double penalizer() const { return penalizer_; }
  [[nodiscard]] const std::string& estimator() const { return estimator_; }
  /// Sets the parameters directly (e.g. published values), marking the model fitted.
  void set_params(const std::vector<double>& p);

  [[nodiscard]] ModelDocument to_document() const;

 protected:
  FittedModel(std::string estimator, std::vector<std::string> names)
      : estimator_(std::move(estimator)), names_(std::move(names)) {}
  void check_fitted(std::string_view where) const;
  void read_document(const ModelDocument& doc);

  std::string estimator_;
  std::vector<std::string> names_;
  std::vector<double> params_, se_;
  double log_likelihood_ = 0;
  double penalizer_ = 0;
  FitInfo info_;
};

enum class CountingKind { BetaGeo, ModifiedBetaGeo, ParetoNBD };

/// BG/NBD, MBG/NBD and Pareto/NBD share data, predictions and most of their code.
/// Parameters: BG and MBG (r, alpha, a, b); Pareto/NBD (r, alpha, s, beta).
class CountingModel : public FittedModel {
 public:
  explicit CountingModel(CountingKind kind);
  [[nodiscard]] CountingKind kind() const { return kind_; }

  /// Fit on (frequency, recency, T) with optional weights (counts of identical customers;
  /// empty = 1 each). Throws InvalidArgument on invalid data naming the argument.
  CountingModel& fit(std::span<const double> frequency, std::span<const double> recency,
                     std::span<const double> T, std::span<const double> weights, const FitOptions& opt = {});

  /// Per-customer log-likelihood at the current parameters.
  [[nodiscard]] std::vector<double> log_likelihood_rows(std::span<const double> frequency,
                                                        std::span<const double> recency,
                                                        std::span<const double> T, int n_threads = 1) const;
  /// E[X(t)] for a customer just acquired (one t per output).
  [[nodiscard]] std::vector<double> expected_purchases(std::span<const double> t) const;
  /// E[Y(t) | x, t_x, T] per customer; t is one value or one per customer.
  [[nodiscard]] std::vector<double> conditional_expected_purchases(std::span<const double> t,
                                                                   std::span<const double> frequency,
                                                                   std::span<const double> recency,
                                                                   std::span<const double> T,
                                                                   int n_threads = 1) const;
  /// P(alive | x, t_x, T) per customer.
  [[nodiscard]] std::vector<double> probability_alive(std::span<const double> frequency,
                                                      std::span<const double> recency,
                                                      std::span<const double> T, int n_threads = 1) const;

  static CountingModel from_document(const ModelDocument& doc);

 private:
  CountingKind kind_;
};

struct BetaGeo : CountingModel { BetaGeo() : CountingModel(CountingKind::BetaGeo) {} };
struct ModifiedBetaGeo : CountingModel { ModifiedBetaGeo() : CountingModel(CountingKind::ModifiedBetaGeo) {} };
struct ParetoNBD : CountingModel { ParetoNBD() : CountingModel(CountingKind::ParetoNBD) {} };

/// Gamma-Gamma spend model, parameters (p, q, gamma). Fit on customers with at least one
/// repeat purchase: frequency x >= 1 and mean repeat spend > 0.
class GammaGamma : public FittedModel {
 public:
  GammaGamma();
  GammaGamma& fit(std::span<const double> frequency, std::span<const double> monetary_value,
                  std::span<const double> weights, const FitOptions& opt = {});
  /// E[Z | x, zbar] = (p (gamma + x zbar)) / (p x + q - 1); x = 0 gives the population mean.
  [[nodiscard]] std::vector<double> conditional_expected_average_profit(std::span<const double> frequency,
                                                                        std::span<const double> monetary_value) const;
  static GammaGamma from_document(const ModelDocument& doc);
};

/// BG/BB for n discrete purchase opportunities, parameters (alpha, beta, gamma, delta).
/// Data: frequency x (0..n), recency t_x (0 when x = 0, else x..n), n_periods.
class BetaGeoBetaBinom : public FittedModel {
 public:
  BetaGeoBetaBinom();
  BetaGeoBetaBinom& fit(std::span<const double> frequency, std::span<const double> recency,
                        std::span<const double> n_periods, std::span<const double> weights,
                        const FitOptions& opt = {});
  [[nodiscard]] std::vector<double> log_likelihood_rows(std::span<const double> frequency,
                                                        std::span<const double> recency,
                                                        std::span<const double> n_periods) const;
  /// P(alive at opportunity n+1 | x, t_x, n).
  [[nodiscard]] std::vector<double> probability_alive(std::span<const double> frequency,
                                                      std::span<const double> recency,
                                                      std::span<const double> n_periods) const;
  /// Expected transactions in the next m opportunities.
  [[nodiscard]] std::vector<double> conditional_expected_purchases(double m, std::span<const double> frequency,
                                                                   std::span<const double> recency,
                                                                   std::span<const double> n_periods) const;
  /// Expected transactions of a new customer in n opportunities.
  [[nodiscard]] std::vector<double> expected_purchases(std::span<const double> n) const;
  static BetaGeoBetaBinom from_document(const ModelDocument& doc);
};

/// sBG for contractual retention, parameters (alpha, beta) of the beta churn mixture.
/// Data: survivor counts per cohort, each starting with the cohort's size at period 0.
class ShiftedBetaGeometric : public FittedModel {
 public:
  ShiftedBetaGeometric();
  ShiftedBetaGeometric& fit(const std::vector<std::vector<double>>& survivors, const FitOptions& opt = {});
  /// S(t) = B(alpha, beta + t) / B(alpha, beta).
  [[nodiscard]] std::vector<double> survival(std::span<const double> t) const;
  /// r(t) = (beta + t - 1) / (alpha + beta + t - 1), t >= 1.
  [[nodiscard]] std::vector<double> retention_rate(std::span<const double> t) const;
  /// P(T = t), t >= 1 (churn in period t).
  [[nodiscard]] std::vector<double> churn_probability(std::span<const double> t) const;
  /// Discounted expected residual lifetime of a customer who has made `renewals`
  /// renewals (Fader & Hardie 2010, eq. 6): first payment undiscounted.
  [[nodiscard]] double derl(double discount_rate, double renewals) const;
  /// Discounted expected lifetime of a newly acquired customer (renewals = -1 in DERL terms).
  [[nodiscard]] double del(double discount_rate) const;
  static ShiftedBetaGeometric from_document(const ModelDocument& doc);
};

// ---- lifetime value ------------------------------------------------------------------

/// lifetimes' CLV convention: sum over months i = 1..months of
///   spend * (E[Y(i * f)] - E[Y((i - 1) * f)]) / (1 + discount_rate)^i
/// with f = periods_per_month model time units per month (30 for days, 4.345 for weeks).
std::vector<double> customer_lifetime_value(const CountingModel& model, std::span<const double> spend,
                                            std::span<const double> frequency, std::span<const double> recency,
                                            std::span<const double> T, int months, double periods_per_month,
                                            double discount_rate, int n_threads = 1);

// ---- RFM summary from transactions ---------------------------------------------------

/// Per customer (codes 0..k-1): repeat purchases counted as distinct purchase days.
struct Summary {
  std::vector<double> frequency, recency, T, monetary_value;
  std::vector<double> frequency_holdout, monetary_value_holdout;  ///< only with a calibration end
  std::vector<std::uint8_t> in_calibration;  ///< 1 when the first purchase is <= calibration end
  double duration_holdout = 0;
};

/// customer codes in [0, n_customers), day = whole days since the epoch, amount optional
/// (empty span: monetary columns are 0). period = days per model time unit (1 = "D",
/// 7 = "W"). Transactions after observation_end are not counted. With has_calibration,
/// frequency/recency/T/monetary describe [first purchase, calibration_end] and the
/// holdout columns (calibration_end, observation_end].
Summary summary_data(std::span<const std::int64_t> customer, std::int64_t n_customers,
                     std::span<const std::int64_t> day, std::span<const double> amount, double period,
                     std::int64_t observation_end, bool has_calibration, std::int64_t calibration_end);

// ---- simulation (property tests, benchmarks) ------------------------------------------

struct SimulatedRfm {
  std::vector<double> frequency, recency, T;
};
/// Draws customers from a fitted counting model's generative process with ages T.
SimulatedRfm simulate_counting(CountingKind kind, const std::vector<double>& params, std::span<const double> T,
                               std::uint64_t seed);
/// Gamma-Gamma: mean spend of x transactions per customer.
std::vector<double> simulate_gamma_gamma(const std::vector<double>& params, std::span<const double> frequency,
                                         std::uint64_t seed);
/// BG/BB with n opportunities per customer: (x, t_x).
SimulatedRfm simulate_bgbb(const std::vector<double>& params, std::int64_t n_customers, int n_periods,
                           std::uint64_t seed);
/// sBG: survivors 0..periods of a cohort of the given size.
std::vector<double> simulate_sbg(const std::vector<double>& params, std::int64_t cohort, int periods,
                                 std::uint64_t seed);

}  // namespace custmine::clv
