// Transactions for association mining: building the CSR container from pairs or from
// a possibly unsorted CSR, and reading FIMI `.dat` and comma-separated basket files.
//
// Conventions: items inside a transaction are deduplicated and sorted by item id;
// empty transactions are kept (they count in the support denominator, as in R arules).
// Basket files split on the separator only and strip only the line end ("\n" or "\r\n"),
// so labels such as "cream cheese " keep their trailing space; empty fields are skipped.
// Complexity: O(m log L) for m item occurrences and transaction length L.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "custmine/core/matrix.hpp"

namespace custmine::association {

/// Transactions read from a basket file with their string labels (item id = label index,
/// labels sorted in byte order so ids do not depend on line order).
struct LabeledTransactions {
  Transactions transactions;
  std::vector<std::string> labels;
};

/// Transactions read from a FIMI file; item id k stands for the integer `item_ids[k]`
/// (ascending).
struct FimiTransactions {
  Transactions transactions;
  std::vector<std::int64_t> item_ids;
};

/// CSR from (transaction code, item code) pairs; codes must lie in [0, n_transactions)
/// and [0, n_items). Duplicates are dropped, items sorted.
Transactions transactions_from_pairs(std::span<const std::int64_t> transaction,
                                     std::span<const std::int64_t> item, Index n_transactions,
                                     Index n_items);

/// Validated, deduplicated, sorted copy of a CSR given as offsets + item codes.
Transactions transactions_from_csr(std::span<const std::int64_t> offsets,
                                   std::span<const std::int64_t> items, Index n_items);

/// Checks the invariants of a Transactions value (offsets monotone, items in range,
/// sorted and unique within each transaction). Throws InvalidArgument naming `where`.
void validate_transactions(const Transactions& t, std::string_view where);

/// Number of transactions containing each item.
std::vector<Index> item_counts(const Transactions& t);

/// FIMI format: one transaction per line, whitespace-separated non-negative integers.
FimiTransactions read_fimi(const std::string& path);
/// Basket format: one transaction per line, items separated by `sep`.
LabeledTransactions read_baskets(const std::string& path, char sep = ',');

}  // namespace custmine::association
