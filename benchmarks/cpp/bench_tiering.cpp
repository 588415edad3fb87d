// RFM kernel over transaction counts, with and without distinct-order counting.
#include <benchmark/benchmark.h>

#include "custmine/core/random.hpp"
#include "custmine/tiering/rfm.hpp"

namespace {
struct Data {
  std::vector<std::int64_t> customer, day, order;
  std::vector<double> amount;
  std::int64_t n_customers;
};

Data make(std::int64_t n) {
  custmine::Rng rng(1);
  Data d;
  d.n_customers = std::max<std::int64_t>(1, n / 20);
  d.customer.resize(n);
  d.day.resize(n);
  d.order.resize(n);
  d.amount.resize(n);
  for (std::int64_t i = 0; i < n; ++i) {
    d.customer[i] = static_cast<std::int64_t>(rng.below(d.n_customers));
    d.day[i] = static_cast<std::int64_t>(rng.below(730));
    d.order[i] = i / 4;
    d.amount[i] = rng.uniform() * 100 - 5;
  }
  for (std::int64_t c = 0; c < d.n_customers; ++c) d.customer[c] = c;  // every code used
  return d;
}

void BM_Rfm(benchmark::State& state) {
  const Data d = make(state.range(0));
  const bool orders = state.range(1) != 0;
  for (auto _ : state) {
    auto t = custmine::tiering::rfm<double>(d.customer, d.n_customers, d.day, d.amount,
                                            orders ? std::span<const std::int64_t>(d.order)
                                                   : std::span<const std::int64_t>{},
                                            730, custmine::tiering::RfmParams{});
    benchmark::DoNotOptimize(t.m_score.data());
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_Rfm)->ArgsProduct({{10'000, 1'000'000}, {0, 1}})->Unit(benchmark::kMillisecond);
}  // namespace
