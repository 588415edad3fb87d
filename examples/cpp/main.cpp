// custmine from C++: RFM scores and segments for a handful of customers, then a fitted
// scorer saved as JSON and read back (the same document Python's RFMScorer.load reads).
#include <custmine/custmine.hpp>

#include <cstdio>
#include <filesystem>
#include <iostream>

int main() {
  using namespace custmine;
  // Transactions: customer id, day number, amount (negative = return), order id.
  std::vector<std::int64_t> ids{1001, 1001, 1002, 1003, 1003, 1003, 1004, 1005, 1005};
  std::vector<std::int64_t> day{100, 160, 20, 150, 170, 175, 90, 40, 178};
  std::vector<double> amount{120.0, 80.0, 35.0, 60.0, 75.0, -15.0, 400.0, 20.0, 25.0};
  std::vector<std::int64_t> order{1, 2, 3, 4, 5, 6, 7, 8, 9};

  const Factorized customers = factorize(ids);
  tiering::RfmParams params;
  params.bins = 3;
  const auto table = tiering::rfm<double>(customers.codes, static_cast<std::int64_t>(customers.uniques.size()), day,
                                          amount, order, /*as_of_day=*/180, params);
  const auto& rules = tiering::default_segment_rules();
  std::cout << "customer recency frequency monetary  R F M  segment\n";
  for (std::size_t c = 0; c < table.size(); ++c) {
    std::printf("%8lld %7lld %9lld %8.2f  %d %d %d  %s\n", static_cast<long long>(customers.uniques[c]),
                static_cast<long long>(table.recency[c]), static_cast<long long>(table.frequency[c]),
                table.monetary[c], table.r_score[c], table.f_score[c], table.m_score[c],
                table.segment[c] < 0 ? "Others" : rules[table.segment[c]].name.c_str());
  }

  // Learn the score edges and keep them for next month's customers.
  RowMatrix<double> X(static_cast<Index>(table.size()), 3);
  for (std::size_t c = 0; c < table.size(); ++c)
    X.row(static_cast<Index>(c)) << static_cast<double>(table.recency[c]), static_cast<double>(table.frequency[c]),
        table.monetary[c];
  tiering::QuantileScorer scorer(tiering::QuantileScorer::Params{3, {false, true, true}});
  scorer.fit(X);
  const auto path = (std::filesystem::temp_directory_path() / "custmine_example_scorer.json").string();
  save_document(scorer.to_document(), path);
  const auto loaded = tiering::QuantileScorer::from_document(load_document(path, "QuantileScorer"));
  RowMatrix<double> newcomer(1, 3);
  newcomer << 3.0, 2.0, 150.0;
  const auto s = loaded.transform(newcomer);
  std::cout << "new customer scored with the saved edges: R=" << s(0, 0) << " F=" << s(0, 1) << " M=" << s(0, 2)
            << "\n";

  // Errors are custmine::Error subclasses with messages that name the argument.
  try {
    tiering::rfm<double>(customers.codes, static_cast<std::int64_t>(customers.uniques.size()), day, amount, order,
                         /*as_of_day=*/10, params);
  } catch (const Error& e) {
    std::cout << "error as expected: " << e.what() << "\n";
    return loaded.transform(X) == scorer.transform(X) ? 0 : 1;
  }
  return 1;
}
