// Tests for the association family: hand-checked cases, brute-force property tests of the
// three miners, closed/maximal by definition, reference counts on FIMI data, the arules
// Groceries results, rules, recommender, JSON and bad input.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>

#include "custmine/association/recommend.hpp"
#include "custmine/association/transactions.hpp"
#include "shared_data.hpp"

using namespace custmine;
using namespace custmine::association;

namespace {

using SetMap = std::map<std::vector<std::int32_t>, Index>;

SetMap as_map(const Itemsets& s) {
  SetMap m;
  for (Index i = 0; i < s.size(); ++i) {
    auto v = std::vector<std::int32_t>(s[i].begin(), s[i].end());
    EXPECT_TRUE(std::is_sorted(v.begin(), v.end()));
    EXPECT_TRUE(m.emplace(v, s.counts[i]).second) << "duplicate itemset";
  }
  return m;
}

Transactions make(const std::vector<std::vector<std::int64_t>>& rows, Index n_items) {
  std::vector<std::int64_t> off{0}, items;
  for (const auto& r : rows) {
    items.insert(items.end(), r.begin(), r.end());
    off.push_back(static_cast<std::int64_t>(items.size()));
  }
  return transactions_from_csr(off, items, n_items);
}

/// Every frequent itemset by enumerating all subsets of the item universe.
SetMap brute_force(const Transactions& t, Index minc, int max_len) {
  SetMap m;
  const int k = t.n_items;
  for (std::uint32_t mask = 1; mask < (1u << k); ++mask) {
    const int len = std::popcount(mask);
    if (max_len && len > max_len) continue;
    Index c = 0;
    for (Index r = 0; r < t.size(); ++r) {
      std::uint32_t have = 0;
      for (auto i : t[r]) have |= 1u << i;
      c += (have & mask) == mask;
    }
    if (c >= minc) {
      std::vector<std::int32_t> v;
      for (int i = 0; i < k; ++i)
        if (mask >> i & 1) v.push_back(i);
      m[v] = c;
    }
  }
  return m;
}

SetMap closed_or_maximal(const SetMap& all, bool maximal) {
  SetMap out;
  for (const auto& [s, c] : all) {
    bool keep = true;
    for (const auto& [t, d] : all) {
      if (t.size() != s.size() + 1 || !std::includes(t.begin(), t.end(), s.begin(), s.end())) continue;
      if (maximal || d == c) keep = false;
    }
    if (keep) out[s] = c;
  }
  return out;
}

Itemsets mine(const Transactions& t, Index minc, Algorithm a, Kind k = Kind::All, int max_len = 0, int threads = 1) {
  MiningParams p;
  p.min_count = minc;
  p.algorithm = a;
  p.kind = k;
  p.max_len = max_len;
  p.n_threads = threads;
  return frequent_itemsets(t, p);
}

constexpr Algorithm kAlgs[] = {Algorithm::FPGrowth, Algorithm::Eclat, Algorithm::Apriori};

}  // namespace

TEST(AssociationTransactions, DeduplicatesAndSorts) {
  auto t = make({{3, 1, 3, 0}, {}, {2}}, 4);
  ASSERT_EQ(t.size(), 3);
  EXPECT_EQ(std::vector<std::int32_t>(t[0].begin(), t[0].end()), (std::vector<std::int32_t>{0, 1, 3}));
  EXPECT_TRUE(t[1].empty());
  auto p = transactions_from_pairs(std::vector<std::int64_t>{1, 0, 1, 1}, std::vector<std::int64_t>{2, 0, 2, 1}, 2, 3);
  EXPECT_EQ(std::vector<std::int32_t>(p[1].begin(), p[1].end()), (std::vector<std::int32_t>{1, 2}));
}

TEST(AssociationTransactions, BadInputIsAnError) {
  EXPECT_THROW(make({{0, 5}}, 3), InvalidArgument);
  EXPECT_THROW(make({{-1}}, 3), InvalidArgument);
  EXPECT_THROW(transactions_from_pairs(std::vector<std::int64_t>{0}, std::vector<std::int64_t>{0, 1}, 1, 2), ShapeError);
  EXPECT_THROW(transactions_from_csr(std::vector<std::int64_t>{1, 0}, std::vector<std::int64_t>{}, 1), InvalidArgument);
  EXPECT_THROW(read_fimi("/nonexistent/x.dat"), InvalidArgument);
  Transactions empty;
  EXPECT_THROW(mine(empty, 1, Algorithm::Eclat), InvalidArgument);
  auto t = make({{0}}, 1);
  MiningParams p;
  p.min_count = 0;
  EXPECT_THROW(frequent_itemsets(t, p), InvalidArgument);
  EXPECT_THROW(min_count_from_support(0.0, 10), InvalidArgument);
  EXPECT_THROW(min_count_from_support(1.5, 10), InvalidArgument);
  EXPECT_EQ(min_count_from_support(0.07, 100), 7);        // 0.07*100 = 7.000000000000001
  EXPECT_EQ(min_count_from_support(0.001, 9835), 10);     // arules: ceil, not the printed 9
}

TEST(AssociationTransactions, ReadersKeepLabelsExactly) {
  const auto dir = std::filesystem::temp_directory_path();
  const auto b = (dir / "custmine_assoc_baskets.csv").string();
  {
    std::ofstream f(b);
    f << "cream cheese ,milk\r\nmilk,,milk\n\nbread\n";
  }
  auto lt = read_baskets(b);
  ASSERT_EQ(lt.transactions.size(), 4);  // the empty line is an empty transaction
  EXPECT_EQ(lt.labels, (std::vector<std::string>{"bread", "cream cheese ", "milk"}));
  EXPECT_EQ(lt.transactions[1].size(), 1u);  // milk deduplicated, empty field skipped
  const auto d = (dir / "custmine_assoc.dat").string();
  {
    std::ofstream f(d);
    f << "10 3 \n3\n";
  }
  auto ft = read_fimi(d);
  EXPECT_EQ(ft.item_ids, (std::vector<std::int64_t>{3, 10}));
  EXPECT_EQ(ft.transactions.size(), 2);
  {
    std::ofstream f(d);
    f << "1 x\n";
  }
  EXPECT_THROW(read_fimi(d), InvalidArgument);
}

TEST(AssociationItemsets, HandChecked) {
  // a=0 b=1 c=2: {a,b} {a,b,c} {a,c} {b} ; minc 2
  auto t = make({{0, 1}, {0, 1, 2}, {0, 2}, {1}}, 3);
  for (auto a : kAlgs) {
    auto m = as_map(mine(t, 2, a));
    SetMap want{{{0}, 3}, {{1}, 3}, {{2}, 2}, {{0, 1}, 2}, {{0, 2}, 2}};
    EXPECT_EQ(m, want) << int(a);
    // closed: {a}3 {b}3 {a,b}2 {a,c}2 ({c} has superset {a,c} with count 2)
    auto c = as_map(mine(t, 2, a, Kind::Closed));
    EXPECT_EQ(c, (SetMap{{{0}, 3}, {{1}, 3}, {{0, 1}, 2}, {{0, 2}, 2}}));
    auto x = as_map(mine(t, 2, a, Kind::Maximal));
    EXPECT_EQ(x, (SetMap{{{0, 1}, 2}, {{0, 2}, 2}}));
  }
}

TEST(AssociationItemsets, RandomMatchesBruteForce) {
  std::mt19937_64 rng(12345);
  for (int trial = 0; trial < 60; ++trial) {
    const int k = 2 + static_cast<int>(rng() % 9);
    const int n = 1 + static_cast<int>(rng() % 40);
    const double dens = 0.15 + 0.7 * (rng() % 1000) / 1000.0;
    std::vector<std::vector<std::int64_t>> rows(n);
    for (auto& r : rows)
      for (int i = 0; i < k; ++i)
        if ((rng() % 1000) / 1000.0 < dens) r.push_back(i);
    auto t = make(rows, k);
    const Index minc = 1 + static_cast<Index>(rng() % std::max(1, n / 2));
    const int max_len = static_cast<int>(rng() % 4);  // 0 = no limit
    const SetMap want = brute_force(t, minc, 0);
    SetMap want_len;
    for (const auto& [s, c] : want)
      if (!max_len || static_cast<int>(s.size()) <= max_len) want_len[s] = c;
    auto closed = closed_or_maximal(want, false), maximal = closed_or_maximal(want, true);
    auto cut = [&](const SetMap& m) {
      SetMap o;
      for (const auto& [s, c] : m)
        if (!max_len || static_cast<int>(s.size()) <= max_len) o[s] = c;
      return o;
    };
    for (auto a : kAlgs)
      for (int threads : {1, 2}) {
        EXPECT_EQ(as_map(mine(t, minc, a, Kind::All, max_len, threads)), want_len) << "trial " << trial;
        // Closed/maximal with max_len: by definition on the full lattice, then cut by length.
        EXPECT_EQ(as_map(mine(t, minc, a, Kind::Closed, max_len, threads)), cut(closed)) << "trial " << trial;
        EXPECT_EQ(as_map(mine(t, minc, a, Kind::Maximal, max_len, threads)), cut(maximal)) << "trial " << trial;
      }
  }
}

TEST(AssociationItemsets, SkewedSupportsMatchBruteForce) {
  // Item frequencies from 95 % down to 0.5 %: tid-lists of very different lengths, which
  // the vertical miners intersect by galloping, and sparse enough for tid-lists.
  std::mt19937_64 rng(777);
  const double freq[] = {0.95, 0.6, 0.3, 0.12, 0.06, 0.04, 0.03, 0.02, 0.01, 0.008, 0.005, 0.005};
  const int k = 12, n = 800;
  std::vector<std::vector<std::int64_t>> rows(n);
  for (auto& r : rows)
    for (int i = 0; i < k; ++i)
      if ((rng() % 100000) / 100000.0 < freq[i]) r.push_back(i);
  auto t = make(rows, k);
  for (Index minc : {1, 2, 4, 9}) {
    const SetMap want = brute_force(t, minc, 0);
    for (auto a : kAlgs) EXPECT_EQ(as_map(mine(t, minc, a)), want) << "min count " << minc;
  }
}

namespace {
/// Every frequent itemset by depth-first extension: each candidate counted by a binary
/// search in every transaction of its parent (slow and plain; for item universes too large
/// for brute_force).
void naive_extend(const Transactions& t, Index minc, std::vector<std::int32_t>& base, const std::vector<Index>& tids,
                  SetMap& out) {
  const std::int32_t from = base.empty() ? 0 : base.back() + 1;
  for (std::int32_t i = from; i < t.n_items; ++i) {
    std::vector<Index> sub;
    for (Index r : tids)
      if (std::binary_search(t[r].begin(), t[r].end(), i)) sub.push_back(r);
    if (static_cast<Index>(sub.size()) < minc) continue;
    base.push_back(i);
    out[base] = static_cast<Index>(sub.size());
    naive_extend(t, minc, base, sub, out);
    base.pop_back();
  }
}
}  // namespace

TEST(AssociationItemsets, SparseManyItemsMatchNaiveMiner) {
  // 160 items, short transactions (under 1/32 of the items: tid-lists, not bit-sets),
  // skewed item frequencies: Eclat's classes are large and its scans of the projected
  // transactions (occurrence deliver) beat the intersections for many members, so both
  // ways of counting children run. Items 158 and 159 always come with item 157 (perfect
  // extensions).
  std::mt19937_64 rng(2024);
  const int k = 160, n = 3000;
  std::vector<std::vector<std::int64_t>> rows(n);
  for (auto& r : rows) {
    const int len = 1 + static_cast<int>(rng() % 7);
    for (int q = 0; q < len; ++q) {
      const double u = (rng() % 100000) / 100000.0;
      r.push_back(static_cast<std::int64_t>(u * u * 157));  // low items are frequent
    }
    if (rng() % 12 == 0) r.insert(r.end(), {157, 158, 159});
    std::sort(r.begin(), r.end());
    r.erase(std::unique(r.begin(), r.end()), r.end());
  }
  auto t = make(rows, k);
  std::vector<Index> all(static_cast<std::size_t>(n));
  for (Index r = 0; r < n; ++r) all[static_cast<std::size_t>(r)] = r;
  for (Index minc : {2, 4, 15}) {
    SetMap want;
    std::vector<std::int32_t> base;
    naive_extend(t, minc, base, all, want);
    ASSERT_GT(want.size(), 200U);
    for (auto a : kAlgs)
      for (int threads : {1, 2}) EXPECT_EQ(as_map(mine(t, minc, a, Kind::All, 0, threads)), want) << "min count " << minc;
    EXPECT_EQ(as_map(mine(t, minc, Algorithm::Eclat, Kind::Closed)), closed_or_maximal(want, false));
  }
}

TEST(AssociationItemsets, ThreadCountDoesNotChangeOutput) {
  std::mt19937_64 rng(7);
  std::vector<std::vector<std::int64_t>> rows(300);
  for (auto& r : rows)
    for (int i = 0; i < 30; ++i)
      if (rng() % 4 == 0) r.push_back(i);
  auto t = make(rows, 30);
  for (auto a : kAlgs) {
    auto one = mine(t, 12, a, Kind::All, 0, 1), two = mine(t, 12, a, Kind::All, 0, 2);
    EXPECT_EQ(one.items, two.items);
    EXPECT_EQ(one.offsets, two.offsets);
    EXPECT_EQ(one.counts, two.counts);
  }
}

TEST(AssociationItemsets, CountItemsetsMatchesBruteForce) {
  // SON's second pass: every subset of the item universe, in scrambled item order and
  // candidate order, counted exactly (zero counts included), with 1 and 2 threads.
  std::mt19937_64 rng(99);
  for (int trial = 0; trial < 30; ++trial) {
    const int k = 2 + static_cast<int>(rng() % 8);
    const int n = static_cast<int>(rng() % 50);
    std::vector<std::vector<std::int64_t>> rows(n);
    for (auto& r : rows)
      for (int i = 0; i < k; ++i)
        if (rng() % 3 != 0) r.push_back(i);
    auto t = make(rows, k);
    const SetMap want = brute_force(t, 0, 0);  // count 0 reported too
    std::vector<std::vector<std::int32_t>> sets;
    for (const auto& [s, c] : want) sets.push_back(s);
    std::shuffle(sets.begin(), sets.end(), rng);
    std::vector<Index> off{0};
    std::vector<std::int32_t> items;
    for (auto s : sets) {
      std::shuffle(s.begin(), s.end(), rng);
      items.insert(items.end(), s.begin(), s.end());
      off.push_back(static_cast<Index>(items.size()));
    }
    for (int threads : {1, 2}) {
      auto got = count_itemsets(t, off, items, threads);
      ASSERT_EQ(got.size(), sets.size());
      for (std::size_t q = 0; q < sets.size(); ++q) {
        auto key = sets[q];
        std::sort(key.begin(), key.end());
        EXPECT_EQ(got[q], want.at(key)) << "trial " << trial << " set " << q;
      }
    }
  }
  auto t = make({{0, 1}, {1, 2}}, 3);
  std::vector<Index> off{0, 2};
  std::vector<std::int32_t> bad{0, 3}, rep{1, 1};
  EXPECT_THROW(count_itemsets(t, off, bad, 1), InvalidArgument);
  EXPECT_THROW(count_itemsets(t, off, rep, 1), InvalidArgument);
  std::vector<Index> empty_set{0, 0};
  EXPECT_THROW(count_itemsets(t, empty_set, std::span<const std::int32_t>{}, 1), InvalidArgument);
  std::vector<Index> wrong_end{0, 5};
  EXPECT_THROW(count_itemsets(t, wrong_end, bad, 1), InvalidArgument);
}

TEST(AssociationItemsets, MaxItemsetsGuard) {
  std::vector<std::vector<std::int64_t>> rows(5, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});
  auto t = make(rows, 12);  // 4095 itemsets
  for (auto a : kAlgs) {
    MiningParams p;
    p.algorithm = a;
    p.min_count = 1;
    p.max_itemsets = 1000;
    EXPECT_THROW(frequent_itemsets(t, p), InvalidArgument);
    p.max_itemsets = 4095;
    EXPECT_EQ(frequent_itemsets(t, p).size(), 4095);
  }
}

// Reference counts from ../shared/data/*/SOURCE.md (pyfim 6.28 + an independent checker).
TEST(AssociationReference, ChessCounts) {
  CUSTMINE_SHARED_FILE(path, "chess/chess.dat");
  auto t = read_fimi(path.string()).transactions;
  for (auto a : kAlgs) {
    EXPECT_EQ(mine(t, 2557, a).size(), 8227);
    EXPECT_EQ(mine(t, 2557, a, Kind::Closed).size(), 5083);
    EXPECT_EQ(mine(t, 2557, a, Kind::Maximal).size(), 226);
  }
  EXPECT_EQ(mine(t, 2877, Algorithm::Eclat, Kind::All, 0, 2).size(), 622);
}

TEST(AssociationReference, MushroomCounts) {
  CUSTMINE_SHARED_FILE(path, "mushroom/mushroom.dat");
  auto t = read_fimi(path.string()).transactions;
  for (auto a : kAlgs) {
    EXPECT_EQ(mine(t, 4062, a).size(), 153);  // plain definition: includes {85} (in every row)
    EXPECT_EQ(mine(t, 4062, a, Kind::Closed).size(), 45);
    EXPECT_EQ(mine(t, 4062, a, Kind::Maximal).size(), 15);
    EXPECT_EQ(mine(t, 2438, a).size(), 2735);
  }
}

TEST(AssociationReference, RetailAndT10Counts) {
  CUSTMINE_SHARED_FILE(retail, "retail/retail.dat");
  CUSTMINE_SHARED_FILE(t10, "T10I4D100K/T10I4D100K.dat");
  auto r = read_fimi(retail.string()).transactions;
  EXPECT_EQ(r.size(), 88162);
  for (auto a : {Algorithm::FPGrowth, Algorithm::Eclat}) {
    EXPECT_EQ(mine(r, 441, a).size(), 580);
    EXPECT_EQ(mine(r, 441, a, Kind::Maximal).size(), 284);
  }
  EXPECT_EQ(mine(r, 882, Algorithm::Apriori).size(), 159);
  auto t = read_fimi(t10.string()).transactions;
  for (auto a : kAlgs) EXPECT_EQ(mine(t, 1000, a).size(), 385);
  EXPECT_EQ(mine(t, 500, Algorithm::Eclat, Kind::Maximal).size(), 585);
}

// R arules on Groceries (SOURCE.md): apriori(supp=0.001, conf=0.8) -> 410 rules with
// sizes 3:29 4:229 5:140 6:12; apriori(supp=0.006, conf=0.25, minlen=2) -> 463 rules.
TEST(AssociationReference, GroceriesArules) {
  CUSTMINE_SHARED_FILE(path, "groceries/groceries.csv");
  auto g = read_baskets(path.string());
  ASSERT_EQ(g.transactions.size(), 9835);
  ASSERT_EQ(g.labels.size(), 169u);
  MiningParams mp;
  mp.min_count = min_count_from_support(0.001, 9835);
  mp.max_len = 10;
  auto sets = frequent_itemsets(g.transactions, mp);
  RuleParams rp;
  rp.min_threshold = 0.8;
  rp.max_len = 10;
  auto rules = association_rules(sets, rp);
  ASSERT_EQ(rules.size(), 410);
  std::map<std::size_t, int> sizes;
  for (Index r = 0; r < rules.size(); ++r) ++sizes[rules.antecedent(r).size() + 1];
  EXPECT_EQ(sizes, (std::map<std::size_t, int>{{3, 29}, {4, 229}, {5, 140}, {6, 12}}));
  int exactly = 0;
  for (double c : rules.confidence) exactly += c == 0.8;
  EXPECT_EQ(exactly, 39);  // inclusive threshold matters (SOURCE.md gotcha 4)
  // arulesViz example rule {citrus fruit, whipped/sour cream, sugar} => {whole milk}
  auto id = [&](const std::string& s) {
    return static_cast<std::int32_t>(std::find(g.labels.begin(), g.labels.end(), s) - g.labels.begin());
  };
  std::vector<std::int32_t> lhs{id("citrus fruit"), id("whipped/sour cream"), id("sugar")};
  std::sort(lhs.begin(), lhs.end());
  bool found = false;
  for (Index r = 0; r < rules.size(); ++r) {
    auto a = rules.antecedent(r);
    if (std::vector<std::int32_t>(a.begin(), a.end()) == lhs && rules.consequent(r)[0] == id("whole milk")) {
      found = true;
      EXPECT_NEAR(rules.support[r], 0.001118454, 1e-9);
      EXPECT_NEAR(rules.confidence[r], 0.8461538, 1e-7);
      EXPECT_NEAR(rules.antecedent_support[r], 0.00132181, 1e-8);
      EXPECT_NEAR(rules.lift[r], 3.311549, 1e-6);
      EXPECT_EQ(rules.count[r], 11);
    }
  }
  EXPECT_TRUE(found);
  mp.min_count = min_count_from_support(0.006, 9835);
  rp.min_threshold = 0.25;
  rp.min_len = 2;
  EXPECT_EQ(association_rules(frequent_itemsets(g.transactions, mp), rp).size(), 463);
}

TEST(AssociationRules, MeasuresByHand) {
  // 4 transactions: {a,b} {a,b,c} {a,c} {b}
  auto t = make({{0, 1}, {0, 1, 2}, {0, 2}, {1}}, 3);
  auto sets = mine(t, 1, Algorithm::FPGrowth);
  RuleParams p;
  p.min_threshold = 0.0;
  p.min_len = 2;
  auto r = association_rules(sets, p);
  // {c} => {a}: supp 2/4, conf 1, lift 1/(3/4), conviction inf, leverage .5-.5*.75
  bool seen = false;
  for (Index i = 0; i < r.size(); ++i)
    if (r.antecedent(i).size() == 1 && r.antecedent(i)[0] == 2 && r.consequent(i)[0] == 0) {
      seen = true;
      EXPECT_DOUBLE_EQ(r.support[i], 0.5);
      EXPECT_DOUBLE_EQ(r.confidence[i], 1.0);
      EXPECT_DOUBLE_EQ(r.lift[i], 4.0 / 3.0);
      EXPECT_DOUBLE_EQ(r.leverage[i], 0.5 - 0.5 * 0.75);
      EXPECT_TRUE(std::isinf(r.conviction[i]));
      EXPECT_DOUBLE_EQ(r.jaccard[i], 2.0 / 3.0);
      EXPECT_DOUBLE_EQ(r.kulczynski[i], (1.0 + 2.0 / 3.0) / 2);
      EXPECT_DOUBLE_EQ(r.all_confidence[i], 2.0 / 3.0);
      EXPECT_DOUBLE_EQ(r.certainty[i], 1.0);
      EXPECT_EQ(r.count[i], 2);
    }
  EXPECT_TRUE(seen);
  // min_len 1 adds {} => {y} when supp(y) >= threshold
  p.min_len = 1;
  p.min_threshold = 0.7;
  auto r1 = association_rules(sets, p);
  int empty = 0;
  for (Index i = 0; i < r1.size(); ++i) empty += r1.antecedent(i).empty();
  EXPECT_EQ(empty, 2);  // a and b have support 0.75
  // appearance: only c on the right
  p.min_threshold = 0.0;
  p.min_len = 2;
  p.appearance = {1, 1, 2};
  auto r2 = association_rules(sets, p);
  for (Index i = 0; i < r2.size(); ++i) EXPECT_EQ(r2.consequent(i)[0], 2);
  EXPECT_EQ(r2.size(), 3);  // {a}=>{c}, {b}=>{c}, {a,b}=>{c}
  // redundancy: {a,b}=>{c} has conf 1/2 <= conf({a}=>{c}) = 2/3 -> redundant
  p.prune_redundant = true;
  auto r3 = association_rules(sets, p);
  EXPECT_EQ(r3.size(), 2);
  for (Index i = 0; i < r3.size(); ++i) EXPECT_EQ(r3.antecedent(i).size(), 1u);
  // multi-item consequents: every non-empty proper subset
  p = RuleParams{};
  p.min_threshold = 0.0;
  p.multi_consequent = true;
  EXPECT_EQ(association_rules(sets, p).size(), 12);  // ab, ac, bc: 2 each; abc: 6
}

TEST(AssociationRules, BadInput) {
  Itemsets empty;
  RuleParams p;
  EXPECT_THROW(association_rules(empty, p), InvalidArgument);
  auto t = make({{0, 1}, {0, 1}}, 2);
  MiningParams mp;
  mp.kind = Kind::Maximal;
  auto maximal = frequent_itemsets(t, mp);  // only {0,1}: its subsets are missing
  EXPECT_THROW(association_rules(maximal, p), InvalidArgument);
  EXPECT_THROW(parse_measure("nope", "x"), InvalidArgument);
  p.min_len = 0;
  EXPECT_THROW(p.validate(), InvalidArgument);
}

TEST(AssociationRecommender, RecommendScoreAndJson) {
  // bread & butter -> jam (conf 1); bread -> milk (conf 2/3)
  auto t = make({{0, 1, 2}, {0, 1, 2}, {0, 3}, {0, 3}, {1, 3}}, 4);
  RuleRecommender rec;
  RecommenderParams p;
  p.min_count = 2;
  p.min_confidence = 0.5;
  rec.fit(t, p);
  std::vector<std::int32_t> basket{0, 1, 99};  // 99 unknown: ignored
  auto out = rec.recommend(basket, 3);
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(out[0].item, 2);
  EXPECT_DOUBLE_EQ(out[0].score, 1.0);
  for (const auto& r : out) EXPECT_NE(r.item, 0);
  auto many = rec.recommend_many(t, 2, false, 2);
  auto many1 = rec.recommend_many(t, 2, false, 1);
  ASSERT_EQ(many.size(), 5u);
  for (std::size_t b = 0; b < many.size(); ++b) {
    ASSERT_EQ(many[b].size(), many1[b].size());
    for (std::size_t q = 0; q < many[b].size(); ++q) EXPECT_EQ(many[b][q].item, many1[b][q].item);
  }
  auto h = rec.score(t, 1, 2);
  EXPECT_EQ(h.cases, 12);
  EXPECT_GT(h.hit_rate, 0.0);
  EXPECT_LE(h.hit_rate, 1.0);
  EXPECT_EQ(h.hits, rec.score(t, 1, 1).hits);
  EXPECT_THROW(rec.recommend(basket, 3, true), InvalidArgument);  // no prices
  rec.set_prices({1.0, 2.0, 10.0, 0.5});
  auto up = rec.recommend(std::vector<std::int32_t>{0}, 3, true);
  ASSERT_FALSE(up.empty());
  const std::vector<double> price{1, 2, 10, 0.5};
  for (const auto& r : up) EXPECT_DOUBLE_EQ(r.score, rec.rules().confidence[r.rule] * price[r.item]);
  auto text = to_json(rec.to_document());
  auto back = RuleRecommender::from_document(from_json(text, "CrossSellRecommender"));
  EXPECT_EQ(to_json(back.to_document()), text);
  auto o2 = back.recommend(basket, 3);
  ASSERT_EQ(o2.size(), out.size());
  for (std::size_t q = 0; q < out.size(); ++q) EXPECT_EQ(o2[q].item, out[q].item);
  auto bad = from_json("{\"format_version\":1,\"estimator\":\"CrossSellRecommender\",\"params\":{\"metric\":\"lift\"},"
                       "\"state\":{\"n_items\":2,\"antecedent_offsets\":[0,1],\"antecedents\":[5],"
                       "\"consequents\":[0],\"count\":[1],\"n_transactions\":3,\"antecedent_count\":[1],\"consequent_count\":[1]}}",
                       "CrossSellRecommender");
  EXPECT_THROW(RuleRecommender::from_document(bad), SerializationError);
  RuleRecommender unfitted;
  EXPECT_THROW(unfitted.recommend(basket, 1), NotFittedError);
}
