// Transaction building and file readers for the association family.
#include "custmine/association/transactions.hpp"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <map>
#include <sstream>
#include <unordered_map>

namespace custmine::association {

namespace {
void sort_unique_rows(Transactions& t) {
  Index w = 0;
  std::vector<Index> new_off(t.offsets.size());
  for (Index r = 0; r < t.size(); ++r) {
    auto* b = t.items.data() + t.offsets[r];
    auto* e = t.items.data() + t.offsets[r + 1];
    std::sort(b, e);
    auto* u = std::unique(b, e);
    new_off[r] = w;
    for (auto* p = b; p != u; ++p) t.items[w++] = *p;
  }
  new_off.back() = w;
  t.offsets = std::move(new_off);
  t.items.resize(w);
  t.items.shrink_to_fit();
}
}  // namespace

Transactions transactions_from_pairs(std::span<const std::int64_t> transaction,
                                     std::span<const std::int64_t> item, Index n_transactions,
                                     Index n_items) {
  constexpr std::string_view where = "transactions_from_pairs";
  check_same_length(where, "item", static_cast<Index>(item.size()), "transaction",
                    static_cast<Index>(transaction.size()));
  require(n_transactions >= 0, where, "n_transactions must be >= 0 (got ", n_transactions, ")");
  require(n_items >= 0 && n_items <= INT32_MAX, where, "n_items must be in 0..2^31-1 (got ", n_items, ")");
  Transactions t;
  t.n_items = static_cast<std::int32_t>(n_items);
  t.offsets.assign(n_transactions + 1, 0);
  for (std::size_t i = 0; i < transaction.size(); ++i) {
    const auto tr = transaction[i], it = item[i];
    if (tr < 0 || tr >= n_transactions)
      fail(where, "transaction code ", tr, " at position ", i, " is outside 0..", n_transactions - 1);
    if (it < 0 || it >= n_items) fail(where, "item code ", it, " at position ", i, " is outside 0..", n_items - 1);
    ++t.offsets[tr + 1];
  }
  for (Index r = 0; r < n_transactions; ++r) t.offsets[r + 1] += t.offsets[r];
  t.items.resize(transaction.size());
  std::vector<Index> pos(t.offsets.begin(), t.offsets.end() - 1);
  for (std::size_t i = 0; i < transaction.size(); ++i)
    t.items[pos[transaction[i]]++] = static_cast<std::int32_t>(item[i]);
  sort_unique_rows(t);
  return t;
}

Transactions transactions_from_csr(std::span<const std::int64_t> offsets,
                                   std::span<const std::int64_t> items, Index n_items) {
  constexpr std::string_view where = "transactions_from_csr";
  require(!offsets.empty(), where, "offsets must hold at least one entry (got none)");
  require(offsets.front() == 0, where, "offsets must start at 0 (got ", offsets.front(), ")");
  require(offsets.back() == static_cast<std::int64_t>(items.size()), where, "offsets end at ", offsets.back(),
          " but items has ", items.size(), " entries");
  require(n_items >= 0 && n_items <= INT32_MAX, where, "n_items must be in 0..2^31-1 (got ", n_items, ")");
  Transactions t;
  t.n_items = static_cast<std::int32_t>(n_items);
  t.offsets.assign(offsets.begin(), offsets.end());
  for (std::size_t r = 0; r + 1 < offsets.size(); ++r)
    if (offsets[r + 1] < offsets[r]) fail(where, "offsets decrease at position ", r + 1);
  t.items.resize(items.size());
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (items[i] < 0 || items[i] >= n_items)
      fail(where, "item code ", items[i], " at position ", i, " is outside 0..", n_items - 1);
    t.items[i] = static_cast<std::int32_t>(items[i]);
  }
  sort_unique_rows(t);
  return t;
}

void validate_transactions(const Transactions& t, std::string_view where) {
  require(!t.offsets.empty() && t.offsets.front() == 0, where, "transactions: offsets must start at 0");
  require(t.offsets.back() == static_cast<Index>(t.items.size()), where,
          "transactions: last offset does not match the number of items");
  require(t.n_items >= 0, where, "transactions: n_items must be >= 0");
  for (Index r = 0; r < t.size(); ++r) {
    require(t.offsets[r + 1] >= t.offsets[r], where, "transactions: offsets decrease at ", r + 1);
    auto row = t[r];
    for (std::size_t k = 0; k < row.size(); ++k) {
      require(row[k] >= 0 && row[k] < t.n_items, where, "transactions: item ", row[k], " in transaction ", r,
              " is outside 0..", t.n_items - 1);
      require(k == 0 || row[k - 1] < row[k], where, "transactions: items of transaction ", r,
              " are not sorted and unique");
    }
  }
}

std::vector<Index> item_counts(const Transactions& t) {
  std::vector<Index> c(static_cast<std::size_t>(t.n_items), 0);
  for (auto it : t.items) ++c[static_cast<std::size_t>(it)];
  return c;
}

FimiTransactions read_fimi(const std::string& path) {
  constexpr std::string_view where = "read_fimi";
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(where, "cannot open '", path, "'");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::int64_t> raw;
  std::vector<Index> off{0};
  Index line = 1;
  const char* p = text.data();
  const char* end = p + text.size();
  bool line_has_content = false;
  while (p < end) {
    const char c = *p;
    if (c == '\n') {
      off.push_back(static_cast<Index>(raw.size()));
      ++line;
      line_has_content = false;
      ++p;
    } else if (c == ' ' || c == '\t' || c == '\r') {
      ++p;
    } else {
      std::int64_t v = 0;
      auto [q, ec] = std::from_chars(p, end, v);
      if (ec != std::errc() || q == p || v < 0)
        fail(where, "'", path, "' line ", line, ": expected a non-negative integer item id");
      raw.push_back(v);
      line_has_content = true;
      p = q;
    }
  }
  if (line_has_content || (!text.empty() && text.back() != '\n')) off.push_back(static_cast<Index>(raw.size()));
  FimiTransactions out;
  std::vector<std::int64_t> ids;
  std::vector<std::int64_t> codes(raw.size());
  const std::int64_t mx = raw.empty() ? -1 : *std::max_element(raw.begin(), raw.end());
  // Ids are usually dense small integers: index by value when the range allows.
  if (mx < static_cast<std::int64_t>(8 * raw.size() + 1024)) {
    std::vector<std::int64_t> map(static_cast<std::size_t>(mx + 1), -1);
    for (auto x : raw) map[x] = 0;
    for (std::int64_t x = 0; x <= mx; ++x)
      if (map[x] == 0) {
        map[x] = static_cast<std::int64_t>(ids.size());
        ids.push_back(x);
      }
    for (std::size_t i = 0; i < raw.size(); ++i) codes[i] = map[raw[i]];
  } else {
    ids = raw;
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    for (std::size_t i = 0; i < raw.size(); ++i)
      codes[i] = std::lower_bound(ids.begin(), ids.end(), raw[i]) - ids.begin();
  }
  out.transactions = transactions_from_csr(off, codes, static_cast<Index>(ids.size()));
  out.item_ids = std::move(ids);
  return out;
}

LabeledTransactions read_baskets(const std::string& path, char sep) {
  constexpr std::string_view where = "read_baskets";
  require(sep != '\n' && sep != '\r', where, "sep must not be a line break");
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(where, "cannot open '", path, "'");
  std::unordered_map<std::string, std::int64_t> index;
  std::vector<std::string> first_seen;
  std::vector<std::int64_t> raw;
  std::vector<Index> off{0};
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    std::size_t b = 0;
    while (b <= line.size()) {
      std::size_t e = line.find(sep, b);
      if (e == std::string::npos) e = line.size();
      if (e > b) {
        auto [it, inserted] = index.try_emplace(line.substr(b, e - b), static_cast<std::int64_t>(first_seen.size()));
        if (inserted) first_seen.push_back(it->first);
        raw.push_back(it->second);
      }
      b = e + 1;
    }
    off.push_back(static_cast<Index>(raw.size()));
  }
  // Renumber so that ids follow the sorted labels.
  std::vector<std::int64_t> order(first_seen.size());
  for (std::size_t k = 0; k < order.size(); ++k) order[k] = static_cast<std::int64_t>(k);
  std::sort(order.begin(), order.end(), [&](auto a, auto b) { return first_seen[a] < first_seen[b]; });
  std::vector<std::int64_t> rank(order.size());
  LabeledTransactions out;
  out.labels.resize(order.size());
  for (std::size_t r = 0; r < order.size(); ++r) {
    rank[order[r]] = static_cast<std::int64_t>(r);
    out.labels[r] = first_seen[order[r]];
  }
  for (auto& c : raw) c = rank[c];
  out.transactions = transactions_from_csr(off, raw, static_cast<Index>(out.labels.size()));
  return out;
}

}  // namespace custmine::association
