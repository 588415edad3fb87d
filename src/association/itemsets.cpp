// FP-Growth, Eclat and Apriori over recoded transactions; closed/maximal filtering.
// See include/custmine/association/itemsets.hpp for references and conventions.
#include "custmine/association/itemsets.hpp"

#include <algorithm>
#include <atomic>
#include <bit>
#include <cmath>
#include <memory>
#include <numeric>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "custmine/association/transactions.hpp"
#include "custmine/core/factorize.hpp"
#include "custmine/core/threading.hpp"

namespace custmine::association {

Algorithm parse_algorithm(std::string_view s, std::string_view where) {
  if (s == "fpgrowth") return Algorithm::FPGrowth;
  if (s == "eclat") return Algorithm::Eclat;
  if (s == "apriori") return Algorithm::Apriori;
  fail(where, "algorithm must be 'fpgrowth', 'eclat' or 'apriori', got '", s, "'");
}

Kind parse_kind(std::string_view s, std::string_view where) {
  if (s == "all") return Kind::All;
  if (s == "closed") return Kind::Closed;
  if (s == "maximal") return Kind::Maximal;
  fail(where, "kind must be 'all', 'closed' or 'maximal', got '", s, "'");
}

void MiningParams::validate() const {
  constexpr std::string_view w = "frequent_itemsets";
  require(min_count >= 1, w, "the minimum count must be >= 1 (got ", min_count, ")");
  require(min_len >= 1, w, "min_len must be >= 1 (got ", min_len, ")");
  require(max_len >= 0, w, "max_len must be >= 1 or None (got ", max_len, ")");
  require(max_len == 0 || max_len >= min_len, w, "max_len (", max_len, ") must be >= min_len (", min_len, ")");
  require(max_itemsets >= 0, w, "max_itemsets must be >= 1 or None (got ", max_itemsets, ")");
  resolve_threads(n_threads, w);
}

Index min_count_from_support(double s, Index n) {
  require(std::isfinite(s) && s > 0.0 && s <= 1.0, "frequent_itemsets",
          "min_support as a fraction must lie in (0, 1] (got ", s, ")");
  const double x = s * static_cast<double>(n);
  const auto c = static_cast<Index>(std::ceil(x - 1e-9 * std::max(1.0, x)));
  return std::max<Index>(c, 1);
}

namespace {

using Item = std::int32_t;

/// Growable buffer without value-initialisation (arenas are rewritten constantly).
template <class T>
struct Buf {
  std::unique_ptr<T[]> p;
  std::size_t cap = 0, n = 0;
  void reserve_extra(std::size_t extra) {
    if (n + extra <= cap) return;
    const std::size_t c = std::max(cap * 2, n + extra + 64);
    std::unique_ptr<T[]> q(new T[c]);
    if (n) std::copy(p.get(), p.get() + n, q.get());
    p = std::move(q);
    cap = c;
  }
  T* data() { return p.get(); }
  const T* data() const { return p.get(); }
};

/// Frequent items recoded by frequency; transactions restricted to them, sorted by rank.
struct Recoded {
  int k = 0;
  std::vector<Item> to_orig;   // rank -> caller's item id
  std::vector<Index> support;  // per rank
  Transactions tx;
};

Recoded recode(const Transactions& t, Index minc, bool ascending) {
  Recoded r;
  auto counts = item_counts(t);
  std::vector<Item> freq;
  for (Item i = 0; i < t.n_items; ++i)
    if (counts[i] >= minc) freq.push_back(i);
  std::stable_sort(freq.begin(), freq.end(), [&](Item a, Item b) {
    return ascending ? counts[a] < counts[b] : counts[a] > counts[b];
  });
  r.k = static_cast<int>(freq.size());
  r.to_orig = freq;
  std::vector<Item> rank(static_cast<std::size_t>(t.n_items), -1);
  r.support.resize(freq.size());
  for (int q = 0; q < r.k; ++q) {
    rank[freq[q]] = q;
    r.support[q] = counts[freq[q]];
  }
  r.tx.n_items = r.k;
  r.tx.offsets.assign(t.offsets.size(), 0);
  r.tx.items.reserve(t.items.size());
  for (Index s = 0; s < t.size(); ++s) {
    for (Item i : t[s])
      if (rank[i] >= 0) r.tx.items.push_back(rank[i]);
    std::sort(r.tx.items.begin() + r.tx.offsets[s], r.tx.items.end());
    r.tx.offsets[s + 1] = static_cast<Index>(r.tx.items.size());
  }
  return r;
}

/// Collects itemsets (in rank space) for one first-level item; expands perfect extensions.
struct Sink {
  Itemsets out;
  std::atomic<Index>* total = nullptr;
  Index limit = 0;  // 0 = none
  int max_len = 0;
  Index pending = 0;

  void count_one() {
    if (limit == 0) return;
    if (++pending >= 256) flush();
  }
  void flush() {
    if (limit == 0 || pending == 0) return;
    const Index t = total->fetch_add(pending) + pending;
    pending = 0;
    if (t > limit)
      fail("frequent_itemsets", "more than max_itemsets=", limit,
           " itemsets; raise min_support, set max_len, ask for kind='closed'/'maximal', or raise max_itemsets");
  }
  /// Reports base ∪ T for every subset T of perfect (T may be empty unless base is empty).
  void report(std::vector<Item>& base, Index count, const std::vector<Item>& perfect) {
    expand(base, count, perfect, 0);
  }
  void expand(std::vector<Item>& base, Index count, const std::vector<Item>& perfect, std::size_t from) {
    if (!base.empty()) {
      out.push(base, count);
      count_one();
    }
    if (max_len && static_cast<int>(base.size()) >= max_len) return;
    for (std::size_t q = from; q < perfect.size(); ++q) {
      base.push_back(perfect[q]);
      expand(base, count, perfect, q + 1);
      base.pop_back();
    }
  }
};

// ---- vertical representations ------------------------------------------------------

/// a ∩ b for sorted tid-lists; stops early once min_count cannot be reached (the count
/// returned is then below it). `out` needs room for min(na, nb) items.
inline Index intersect(const Item* a, Index na, const Item* b, Index nb, Item* out, Index minc) {
  if (na > nb) std::swap(a, b), std::swap(na, nb);  // a is the shorter list
  Index i = 0, j = 0, c = 0;
  if (na * 16 < nb) {
    // Very unequal lengths: each item of the short list is looked up in the long one by
    // galloping from the last position (O(na log(nb / na)) instead of O(na + nb)).
    for (; i < na && j < nb; ++i) {
      if (c + std::min(na - i, nb - j) < minc) return c;
      const Item x = a[i];
      Index step = 1, hi = j;
      while (hi < nb && b[hi] < x) j = hi + 1, hi = j + step, step *= 2;
      j = std::lower_bound(b + j, b + std::min(hi, nb), x) - b;
      if (j < nb && b[j] == x) out[c++] = x, ++j;
    }
    return c;
  }
#if defined(__SSE2__)
  // Four items of each list at a time: all 16 pairs compared at once (the lists hold
  // distinct increasing items, so an item matches at most once), then the block with the
  // smaller last item moves on (both when equal).
  while (i + 4 <= na && j + 4 <= nb) {
    if (c + std::min(na - i, nb - j) < minc) return c;
    const __m128i va = _mm_loadu_si128(reinterpret_cast<const __m128i*>(a + i));
    const __m128i vb = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b + j));
    const __m128i m01 = _mm_or_si128(_mm_cmpeq_epi32(va, vb),
                                     _mm_cmpeq_epi32(va, _mm_shuffle_epi32(vb, _MM_SHUFFLE(0, 3, 2, 1))));
    const __m128i m23 = _mm_or_si128(_mm_cmpeq_epi32(va, _mm_shuffle_epi32(vb, _MM_SHUFFLE(1, 0, 3, 2))),
                                     _mm_cmpeq_epi32(va, _mm_shuffle_epi32(vb, _MM_SHUFFLE(2, 1, 0, 3))));
    for (auto mask = static_cast<unsigned>(_mm_movemask_ps(_mm_castsi128_ps(_mm_or_si128(m01, m23)))); mask != 0;
         mask &= mask - 1)
      out[c++] = a[i + std::countr_zero(mask)];
    const Item amax = a[i + 3], bmax = b[j + 3];
    i += amax <= bmax ? 4 : 0;
    j += bmax <= amax ? 4 : 0;
  }
#endif
  while (i < na && j < nb) {
    const Index rem = std::min(na - i, nb - j);
    if (c + rem < minc) return c;  // cannot become frequent
    // Branch-free steps for lists of similar length (which list advances is data a branch
    // predictor cannot learn: the branchy merge spent half its time on mispredictions).
    // Each step advances i or j, so `steps` steps stay inside both lists, and a step
    // without a match lowers c + rem by at most one, so the early stop is checked as soon
    // as it could hold (most candidate pairs of sparse data fail it within a few steps).
    const Index steps = std::min<Index>(std::min<Index>(32, rem), c + rem - minc + 1);
    for (Index s = 0; s < steps; ++s) {
      const Item x = a[i], y = b[j];
      out[c] = x;  // kept only when x == y
      c += x == y;
      i += x <= y;
      j += y <= x;
    }
  }
  return c;
}

// The library is built for baseline x86-64, where std::popcount is a libgcc call (most of
// the time of a dense mining run went there); a clone for CPUs with POPCNT (all x86-64
// since 2008) is picked when the library loads.
#if defined(__x86_64__) && defined(__GNUC__) && defined(__ELF__)
__attribute__((target_clones("popcnt", "default")))
#endif
Index and_bits(const std::uint64_t* a, const std::uint64_t* b, Index w, std::uint64_t* out) {
  Index c = 0;
  for (Index q = 0; q < w; ++q) {
    out[q] = a[q] & b[q];
    c += std::popcount(out[q]);
  }
  return c;
}

/// Vertical database: per item a tid-list (sparse) or bit-set (dense).
template <bool Dense>
struct Vertical {
  using T = std::conditional_t<Dense, std::uint64_t, Item>;
  Index words = 0;  // dense: words per bit-set
  std::vector<Index> off;
  std::vector<T> data;
  [[nodiscard]] const T* at(int i) const { return data.data() + off[i]; }
  [[nodiscard]] Index len(int i) const { return off[i + 1] - off[i]; }
};

template <bool Dense>
Vertical<Dense> make_vertical(const Recoded& r) {
  Vertical<Dense> v;
  const Index n = r.tx.size();
  v.off.assign(r.k + 1, 0);
  if constexpr (Dense) {
    v.words = (n + 63) / 64;
    for (int i = 0; i <= r.k; ++i) v.off[i] = i * v.words;
    v.data.assign(static_cast<std::size_t>(r.k * v.words), 0);
    for (Index s = 0; s < n; ++s)
      for (Item i : r.tx[s]) v.data[i * v.words + s / 64] |= std::uint64_t{1} << (s % 64);
  } else {
    for (int i = 0; i < r.k; ++i) v.off[i + 1] = v.off[i] + r.support[i];
    v.data.resize(v.off.back());
    std::vector<Index> pos(v.off.begin(), v.off.end() - 1);
    for (Index s = 0; s < n; ++s)
      for (Item i : r.tx[s]) v.data[pos[i]++] = static_cast<Item>(s);
  }
  return v;
}

bool prefer_dense(const Recoded& r) {
  const double n = static_cast<double>(r.tx.size());
  if (r.k == 0 || n == 0) return false;
  const double occ = static_cast<double>(r.tx.items.size());
  return occ / (n * r.k) > 1.0 / 32.0;  // a bit-set is then smaller than a tid-list
}

// ---- Eclat -----------------------------------------------------------------------------

/// Transactions of a tid-list are scattered over the database: while transaction tids[s]
/// is scanned, fetch the end of tids[s + 4] (its last items are read first) and the
/// offsets of tids[s + 8].
inline void prefetch_transaction(const Transactions& tx, const std::int32_t* tids, Index s, Index len) {
  if (s + 8 < len) __builtin_prefetch(tx.offsets.data() + tids[s + 8]);
  if (s + 4 < len) __builtin_prefetch(tx.items.data() + tx.offsets[tids[s + 4] + 1] - 1);
}

template <bool Dense>
struct EclatWorker {
  using T = typename Vertical<Dense>::T;
  struct Member {
    Item item;
    std::size_t off;
    Index len, count;
  };
  struct Level {
    Buf<T> arena;
    std::vector<Member> members;
  };
  Index minc;
  int max_len;
  Index words;
  std::vector<Level> levels;
  std::vector<Item> prefix, perfect;
  Sink* sink = nullptr;
  // Sparse data: a member's children can also be counted by "occurrence deliver" (Uno et
  // al.'s LCM; Borgelt's Eclat variant 'o'): one scan of the transactions that hold the
  // member counts every later member at once, where intersections cost a pass per later
  // member. Chosen per member by the smaller number of item visits. Below the first level
  // the scans read the first item's projected database: its transactions (numbered by
  // position in its tid-list, which the deeper tid-lists then hold), each cut to the
  // items of the class, in descending rank, stored one after another.
  std::vector<Index> proj_off;
  std::vector<Item> proj_items;
  std::vector<std::vector<std::int32_t>> member_of;  // per depth: item -> member index or -1
  int n_items = 0;
  std::vector<Index> cnt;                            // per member index
  std::vector<std::size_t> fill;                     // per member index

  Level& level(std::size_t d) {
    if (levels.size() <= d) levels.resize(d + 1);
    return levels[d];
  }

  /// The class of the first-level item i (sparse data): the later items' counts and tid-lists
  /// from one projection of i's transactions instead of an intersection per later item
  /// (occurrence deliver, as deliver() below, on the original transactions), and i's
  /// projected database, which the deeper levels scan.
  void project_first(const Recoded& r, const Vertical<Dense>& v, Item i, const std::vector<Item>& top_pos) {
    Level& lvl = level(0);
    lvl.arena.n = 0;
    lvl.members.clear();
    cnt.assign(static_cast<std::size_t>(r.k), 0);
    const Item* ti = v.at(i);
    const Index len = v.len(i);
    // transactions are sorted by rank: walk back from the end down to i
    const Item* items = r.tx.items.data();
    const Index* toff = r.tx.offsets.data();
    for (Index s = 0; s < len; ++s) {
      prefetch_transaction(r.tx, ti, s, len);
      const Item* first = items + toff[ti[s]];
      for (const Item* e = items + toff[ti[s] + 1]; e-- != first && *e > i;) ++cnt[*e];
    }
    std::size_t total_len = 0;
    for (int j = i + 1; j < r.k; ++j) {
      if (cnt[j] < minc || top_pos[j] < 0) continue;
      if (cnt[j] == r.support[i]) {
        perfect.push_back(j);
        continue;
      }
      lvl.members.push_back({j, total_len, cnt[j], cnt[j]});
      total_len += static_cast<std::size_t>(cnt[j]);
    }
    lvl.arena.reserve_extra(total_len);
    fill.resize(lvl.members.size());
    for (std::size_t m = 0; m < lvl.members.size(); ++m) fill[m] = lvl.members[m].off;
    if (member_of.empty()) member_of.resize(1);
    auto& mo = member_of[0];
    mo.assign(static_cast<std::size_t>(r.k), -1);
    for (std::size_t m = 0; m < lvl.members.size(); ++m) mo[lvl.members[m].item] = static_cast<std::int32_t>(m);
    // tid-lists by position in i's list; the projected database alongside
    proj_off.resize(static_cast<std::size_t>(len) + 1);
    proj_items.clear();
    proj_off[0] = 0;
    for (Index s = 0; s < len; ++s) {
      prefetch_transaction(r.tx, ti, s, len);
      const Item* first = items + toff[ti[s]];
      for (const Item* e = items + toff[ti[s] + 1]; e-- != first && *e > i;)
        if (mo[*e] >= 0) {
          lvl.arena.data()[fill[mo[*e]]++] = static_cast<Item>(s);
          proj_items.push_back(*e);
        }
      proj_off[static_cast<std::size_t>(s) + 1] = static_cast<Index>(proj_items.size());
    }
    lvl.arena.n = total_len;
    for (const auto& m : lvl.members) mo[m.item] = -1;  // mine(0) maps depth 0 afresh
  }

  /// The class of first-level item top[q] (dense data): its bit-set and each later one's.
  void intersect_first(const Vertical<Dense>& v, const std::vector<Item>& top, std::size_t q, Index support) {
    Level& lvl = level(0);
    lvl.arena.n = 0;
    lvl.members.clear();
    const Item i = top[q];
    for (std::size_t qq = q + 1; qq < top.size(); ++qq) {
      const Item j = top[qq];
      lvl.arena.reserve_extra(v.words);
      const Index c = and_bits(v.at(i), v.at(j), v.words, lvl.arena.data() + lvl.arena.n);
      if (c < minc) continue;
      if (c == support) {
        perfect.push_back(j);
        continue;
      }
      lvl.members.push_back({j, lvl.arena.n, v.words, c});
      lvl.arena.n += v.words;
    }
  }

  /// Children of member `idx` of the class at depth d into depth d+1; returns the number
  /// of perfect extensions pushed onto `perfect`.
  std::size_t expand(std::size_t d, std::size_t idx) {
    Level& nxt = level(d + 1);
    Level& cur2 = levels[d];  // taken after level(d + 1), which may grow `levels`
    nxt.arena.n = 0;
    nxt.members.clear();
    const Member mi = cur2.members[idx];
    const T* a = cur2.arena.data() + mi.off;
    std::size_t n_perfect = 0;
    if constexpr (!Dense) {
      // item visits: intersections read both lists per later member (at most), the
      // scan reads the member's transactions once
      Index by_lists = 0, by_scan = 0;
      for (std::size_t j = idx + 1; j < cur2.members.size(); ++j) by_lists += mi.len + cur2.members[j].len;
      for (Index s = 0; s < mi.len && by_scan < by_lists; ++s) by_scan += proj_off[a[s] + 1] - proj_off[a[s]];
      if (by_scan < by_lists) return deliver(d, idx);
    }
    for (std::size_t j = idx + 1; j < cur2.members.size(); ++j) {
      const Member& mj = cur2.members[j];
      const T* b = cur2.arena.data() + mj.off;
      Index c;
      if constexpr (Dense) {
        nxt.arena.reserve_extra(words);
        c = and_bits(a, b, words, nxt.arena.data() + nxt.arena.n);
      } else {
        const Index bound = std::min(mi.len, mj.len);
        if (bound < minc) continue;
        nxt.arena.reserve_extra(bound);
        c = intersect(a, mi.len, b, mj.len, nxt.arena.data() + nxt.arena.n, minc);
      }
      if (c < minc) continue;
      if (c == mi.count) {
        perfect.push_back(mj.item);
        ++n_perfect;
        continue;
      }
      nxt.members.push_back({mj.item, nxt.arena.n, Dense ? words : c, c});
      nxt.arena.n += Dense ? words : c;
    }
    return n_perfect;
  }

  /// expand() by occurrence deliver (sparse data): counts, then tid-lists, of the later
  /// members in one scan each of the member's transactions; the same children, in the same
  /// order, as the intersections.
  std::size_t deliver(std::size_t d, std::size_t idx) {
    Level& nxt = levels[d + 1];
    const Level& cur = levels[d];
    const Member mi = cur.members[idx];
    const T* a = cur.arena.data() + mi.off;
    const auto& mo = member_of[d];
    const std::size_t nm = cur.members.size();
    if (cnt.size() < nm) cnt.resize(nm);
    if (fill.size() < nm) fill.resize(nm);
    std::fill(cnt.begin() + static_cast<std::ptrdiff_t>(idx) + 1, cnt.begin() + static_cast<std::ptrdiff_t>(nm), 0);
    const auto self = static_cast<std::int32_t>(idx);
    // projected transactions hold descending ranks and later members have higher ranks:
    // each scan stops at the member's own item
    const Item* items = proj_items.data();
    const Index* toff = proj_off.data();
    for (Index s = 0; s < mi.len; ++s) {
      const Item* end = items + toff[a[s] + 1];
      for (const Item* q = items + toff[a[s]]; q != end && *q > mi.item; ++q)
        if (mo[*q] > self) ++cnt[mo[*q]];
    }
    std::size_t n_perfect = 0, total_len = 0;
    for (std::size_t m = idx + 1; m < nm; ++m) {
      const Index c = cnt[m];
      fill[m] = static_cast<std::size_t>(-1);
      if (c < minc) continue;
      if (c == mi.count) {
        perfect.push_back(cur.members[m].item);
        ++n_perfect;
        continue;
      }
      fill[m] = total_len;
      nxt.members.push_back({cur.members[m].item, total_len, c, c});
      total_len += static_cast<std::size_t>(c);
    }
    if (nxt.members.empty()) return n_perfect;
    nxt.arena.reserve_extra(total_len);
    T* out = nxt.arena.data();
    for (Index s = 0; s < mi.len; ++s) {
      const Item* end = items + toff[a[s] + 1];
      for (const Item* q = items + toff[a[s]]; q != end && *q > mi.item; ++q)
        if (const auto m = mo[*q]; m > self && fill[m] != static_cast<std::size_t>(-1)) out[fill[m]++] = a[s];
    }
    nxt.arena.n = total_len;
    return n_perfect;
  }

  /// Mines the class at depth d (members already in levels[d]).
  void mine(std::size_t d) {
    if constexpr (!Dense) {
      if (member_of.size() <= d) member_of.resize(d + 1);
      auto& mo = member_of[d];
      if (mo.size() < static_cast<std::size_t>(n_items)) mo.assign(static_cast<std::size_t>(n_items), -1);
      for (std::size_t m = 0; m < levels[d].members.size(); ++m)
        mo[levels[d].members[m].item] = static_cast<std::int32_t>(m);
    }
    mine_members(d);
    if constexpr (!Dense)
      for (const auto& m : levels[d].members) member_of[d][m.item] = -1;
  }

  void mine_members(std::size_t d) {
    for (std::size_t idx = 0; idx < levels[d].members.size(); ++idx) {
      const Member mi = levels[d].members[idx];
      prefix.push_back(mi.item);
      std::size_t np = 0;
      const bool deeper = max_len == 0 || static_cast<int>(prefix.size()) < max_len;
      if (deeper) np = expand(d, idx);
      sink->report(prefix, mi.count, perfect);
      if (deeper && !levels[d + 1].members.empty()) mine(d + 1);
      perfect.resize(perfect.size() - np);
      prefix.pop_back();
    }
  }
};

template <bool Dense>
std::vector<Itemsets> eclat(const Recoded& r, const MiningParams& p, const std::vector<Item>& root_perfect,
                            std::atomic<Index>& total) {
  const Vertical<Dense> v = make_vertical<Dense>(r);
  const Index n = r.tx.size();
  // First-level class: frequent items that are not in every transaction.
  std::vector<Item> top;
  for (int i = 0; i < r.k; ++i)
    if (r.support[i] != n) top.push_back(i);
  std::vector<Itemsets> outs(top.size() + 1);
  const int threads = resolve_threads(p.n_threads);
  std::vector<EclatWorker<Dense>> workers(static_cast<std::size_t>(threads));
  for (auto& w : workers) {
    w.minc = p.min_count;
    w.max_len = p.max_len;
    w.words = v.words;
    w.n_items = r.k;
  }
  std::vector<Item> top_pos(static_cast<std::size_t>(r.k), -1);
  for (std::size_t q = 0; q < top.size(); ++q) top_pos[top[q]] = static_cast<Item>(q);

  parallel_for(static_cast<Index>(top.size()), threads, [&](Index q, int t) {
    if (t == 0 && q % 16 == 0) Interrupt::check("frequent_itemsets");
    auto& w = workers[t];
    Sink sink;
    sink.total = &total;
    sink.limit = p.max_itemsets;
    sink.max_len = p.max_len;
    w.sink = &sink;
    w.prefix.clear();
    w.perfect = root_perfect;
    const Item i = top[q];
    if constexpr (Dense) w.intersect_first(v, top, q, r.support[i]);
    else w.project_first(r, v, i, top_pos);
    w.prefix.push_back(i);
    sink.report(w.prefix, r.support[i], w.perfect);
    if (!w.levels[0].members.empty() && (p.max_len == 0 || p.max_len > 1)) w.mine(0);
    sink.flush();
    outs[q + 1] = std::move(sink.out);
  });
  return outs;
}

// ---- FP-Growth ------------------------------------------------------------------------

struct FPTree {
  std::vector<Item> item;     // local item of each node; node 0 is the root
  std::vector<Item> parent;
  std::vector<Index> count;
  std::vector<Index> head_off;  // per local item: its nodes in head_nodes
  std::vector<Item> head_nodes;
  std::vector<Index> support;   // per local item
  std::vector<Item> global;     // local item -> rank
  void clear() {
    item.assign(1, -1);
    parent.assign(1, -1);
    count.assign(1, 0);
  }
};

/// Builds `tree` from paths (sorted item sequences) with weights, in lexicographic order.
void build_tree(FPTree& tree, const std::vector<Item>& items, const std::vector<Index>& off,
                const std::vector<Index>& weight, int m, std::vector<Index>& order, std::vector<Item>& stack) {
  const Index np = static_cast<Index>(weight.size());
  order.resize(np);
  std::iota(order.begin(), order.end(), Index{0});
  std::sort(order.begin(), order.end(), [&](Index a, Index b) {
    return std::lexicographical_compare(items.begin() + off[a], items.begin() + off[a + 1], items.begin() + off[b],
                                        items.begin() + off[b + 1]);
  });
  tree.clear();
  stack.clear();  // stack[d] = node at depth d+1 on the previous path
  Index prev = -1;
  for (Index oi = 0; oi < np; ++oi) {
    const Index pth = order[oi];
    const Index len = off[pth + 1] - off[pth];
    std::size_t common = 0;
    if (prev >= 0) {
      const Index plen = off[prev + 1] - off[prev];
      while (static_cast<Index>(common) < std::min(len, plen) &&
             items[off[prev] + common] == items[off[pth] + common])
        ++common;
    }
    stack.resize(common);
    for (std::size_t d = 0; d < common; ++d) tree.count[stack[d]] += weight[pth];
    for (Index d = static_cast<Index>(common); d < len; ++d) {
      const Item node = static_cast<Item>(tree.item.size());
      tree.item.push_back(items[off[pth] + d]);
      tree.parent.push_back(d == 0 ? 0 : stack[d - 1]);
      tree.count.push_back(weight[pth]);
      stack.push_back(node);
    }
    prev = pth;
  }
  tree.head_off.assign(static_cast<std::size_t>(m) + 1, 0);
  tree.support.assign(static_cast<std::size_t>(m), 0);
  for (std::size_t v = 1; v < tree.item.size(); ++v) {
    ++tree.head_off[tree.item[v] + 1];
    tree.support[tree.item[v]] += tree.count[v];
  }
  for (int i = 0; i < m; ++i) tree.head_off[i + 1] += tree.head_off[i];
  tree.head_nodes.resize(tree.item.size() - 1);
  std::vector<Index> pos(tree.head_off.begin(), tree.head_off.end() - 1);
  for (std::size_t v = 1; v < tree.item.size(); ++v) tree.head_nodes[pos[tree.item[v]]++] = static_cast<Item>(v);
}

struct FPWorker {
  Index minc;
  int max_len;
  int k;
  std::vector<std::unique_ptr<FPTree>> trees;  // per depth
  std::vector<Index> cnt;                      // per global rank (kept zero between uses)
  std::vector<Item> local_of;                  // per global rank
  std::vector<Item> touched, path_items, stack;
  std::vector<Index> path_off, path_w, order;
  std::vector<Item> prefix, perfect;
  Sink* sink = nullptr;

  void init(int k_) {
    k = k_;
    cnt.assign(static_cast<std::size_t>(k), 0);
    local_of.assign(static_cast<std::size_t>(k), -1);
  }
  FPTree& tree(std::size_t d) {
    while (trees.size() <= d) trees.push_back(std::make_unique<FPTree>());
    return *trees[d];
  }

  /// Handles local item r of tree T at depth d: report, build the conditional tree, recurse.
  void process(const FPTree& T, Item r, std::size_t d) {
    const Index s = T.support[r];
    prefix.push_back(T.global[r]);
    const bool deeper = max_len == 0 || static_cast<int>(prefix.size()) < max_len;
    std::size_t np = 0;
    bool has_tree = false;
    if (deeper) {
      touched.clear();
      for (Index h = T.head_off[r]; h < T.head_off[r + 1]; ++h) {
        const Item v = T.head_nodes[h];
        const Index w = T.count[v];
        for (Item u = T.parent[v]; u > 0; u = T.parent[u]) {
          const Item g = T.global[T.item[u]];
          if (cnt[g] == 0) touched.push_back(g);
          cnt[g] += w;
        }
      }
      // Conditional items in ascending rank order keep paths sorted.
      std::sort(touched.begin(), touched.end());
      FPTree& C = tree(d + 1);
      C.global.clear();
      for (Item g : touched) {
        if (cnt[g] >= minc) {
          if (cnt[g] == s) {
            perfect.push_back(g);
            ++np;
          } else {
            local_of[g] = static_cast<Item>(C.global.size());
            C.global.push_back(g);
          }
        }
      }
      if (!C.global.empty()) {
        path_items.clear();
        path_off.assign(1, 0);
        path_w.clear();
        for (Index h = T.head_off[r]; h < T.head_off[r + 1]; ++h) {
          const Item v = T.head_nodes[h];
          const std::size_t start = path_items.size();
          for (Item u = T.parent[v]; u > 0; u = T.parent[u]) {
            const Item l = local_of[T.global[T.item[u]]];
            if (l >= 0) path_items.push_back(l);
          }
          if (path_items.size() == start) continue;
          std::reverse(path_items.begin() + static_cast<std::ptrdiff_t>(start), path_items.end());
          path_off.push_back(static_cast<Index>(path_items.size()));
          path_w.push_back(T.count[v]);
        }
        build_tree(C, path_items, path_off, path_w, static_cast<int>(C.global.size()), order, stack);
        has_tree = true;
      }
      for (Item g : touched) {
        cnt[g] = 0;
        local_of[g] = -1;
      }
    }
    sink->report(prefix, s, perfect);
    if (has_tree) {
      FPTree& C = *trees[d + 1];
      for (Item l = static_cast<Item>(C.global.size()) - 1; l >= 0; --l) process(C, l, d + 1);
    }
    perfect.resize(perfect.size() - np);
    prefix.pop_back();
  }
};

std::vector<Itemsets> fpgrowth(const Recoded& r, const MiningParams& p, const std::vector<Item>& root_perfect,
                               std::atomic<Index>& total) {
  const Index n = r.tx.size();
  // Global tree over items that are not in every transaction (those are perfect).
  std::vector<Item> local_of(static_cast<std::size_t>(r.k), -1);
  FPTree G;
  for (int i = 0; i < r.k; ++i)
    if (r.support[i] != n) {
      local_of[i] = static_cast<Item>(G.global.size());
      G.global.push_back(i);
    }
  {
    std::vector<Item> items;
    std::vector<Index> off{0}, w, order;
    std::vector<Item> stack;
    items.reserve(r.tx.items.size());
    for (Index s = 0; s < n; ++s) {
      const std::size_t start = items.size();
      for (Item i : r.tx[s])
        if (local_of[i] >= 0) items.push_back(local_of[i]);
      if (items.size() == start) continue;
      off.push_back(static_cast<Index>(items.size()));
      w.push_back(1);
    }
    build_tree(G, items, off, w, static_cast<int>(G.global.size()), order, stack);
  }
  const Item m = static_cast<Item>(G.global.size());
  std::vector<Itemsets> outs(static_cast<std::size_t>(m) + 1);
  const int threads = resolve_threads(p.n_threads);
  std::vector<FPWorker> workers(static_cast<std::size_t>(threads));
  for (auto& w : workers) {
    w.minc = p.min_count;
    w.max_len = p.max_len;
    w.init(r.k);
  }
  // Least frequent items first: their conditional trees are small, and dynamic scheduling
  // then balances the large ones.
  parallel_for(m, threads, [&](Index q, int t) {
    if (t == 0 && q % 16 == 0) Interrupt::check("frequent_itemsets");
    auto& w = workers[t];
    Sink sink;
    sink.total = &total;
    sink.limit = p.max_itemsets;
    sink.max_len = p.max_len;
    w.sink = &sink;
    w.prefix.clear();
    w.perfect = root_perfect;
    const Item l = m - 1 - static_cast<Item>(q);
    w.process(G, l, 0);
    sink.flush();
    outs[static_cast<std::size_t>(l) + 1] = std::move(sink.out);
  });
  return outs;
}

// ---- Apriori --------------------------------------------------------------------------

template <bool Dense>
std::vector<Itemsets> apriori(const Recoded& r, const MiningParams& p, std::atomic<Index>& total) {
  using T = typename Vertical<Dense>::T;
  const Vertical<Dense> v = make_vertical<Dense>(r);
  const int threads = resolve_threads(p.n_threads);
  struct LevelSet {
    int k = 1;
    std::vector<Item> items;  // k per itemset, lexicographic order
    std::vector<Index> counts;
    std::vector<std::size_t> voff{0};
    std::vector<T> vdata;
    [[nodiscard]] Index size() const { return static_cast<Index>(counts.size()); }
    [[nodiscard]] const Item* set(Index s) const { return items.data() + s * k; }
  };
  std::vector<Itemsets> outs;
  Sink sink;
  sink.total = &total;
  sink.limit = p.max_itemsets;
  LevelSet cur;
  cur.k = 1;
  for (int i = 0; i < r.k; ++i) {
    cur.items.push_back(i);
    cur.counts.push_back(r.support[i]);
    cur.vdata.insert(cur.vdata.end(), v.at(i), v.at(i) + v.len(i));
    cur.voff.push_back(cur.vdata.size());
  }
  auto emit = [&](const LevelSet& L) {
    Itemsets o;
    o.items.assign(L.items.begin(), L.items.end());
    o.counts = L.counts;
    o.offsets.resize(static_cast<std::size_t>(L.size()) + 1);
    for (Index s = 0; s <= L.size(); ++s) o.offsets[s] = s * L.k;
    sink.pending += L.size();
    sink.flush();
    outs.push_back(std::move(o));
  };
  emit(cur);
  while (cur.size() > 1 && (p.max_len == 0 || cur.k < p.max_len)) {
    Interrupt::check("frequent_itemsets");
    const int k = cur.k;
    // Prefix groups: itemsets sharing their first k-1 items are contiguous.
    std::vector<Index> gstart{0};
    for (Index s = 1; s < cur.size(); ++s)
      if (!std::equal(cur.set(s), cur.set(s) + k - 1, cur.set(s - 1))) gstart.push_back(s);
    gstart.push_back(cur.size());
    auto exists = [&](const Item* cand) {  // binary search of a k-itemset in cur
      Index lo = 0, hi = cur.size();
      while (lo < hi) {
        const Index mid = (lo + hi) / 2;
        if (std::lexicographical_compare(cur.set(mid), cur.set(mid) + k, cand, cand + k)) lo = mid + 1;
        else hi = mid;
      }
      return lo < cur.size() && std::equal(cand, cand + k, cur.set(lo));
    };
    const Index n_groups = static_cast<Index>(gstart.size()) - 1;
    const int chunks = static_cast<int>(std::min<Index>(n_groups, 8 * threads));
    std::vector<LevelSet> parts(static_cast<std::size_t>(std::max(chunks, 1)));
    parallel_for(chunks, threads, [&](Index c, int) {
      LevelSet& out = parts[c];
      out.k = k + 1;
      std::vector<Item> cand(static_cast<std::size_t>(k) + 1), sub(static_cast<std::size_t>(k));
      std::vector<T> tmp;
      const Index g0 = n_groups * c / chunks, g1 = n_groups * (c + 1) / chunks;
      for (Index g = g0; g < g1; ++g)
        for (Index a = gstart[g]; a < gstart[g + 1]; ++a)
          for (Index b = a + 1; b < gstart[g + 1]; ++b) {
            std::copy(cur.set(a), cur.set(a) + k, cand.begin());
            cand[k] = cur.set(b)[k - 1];
            bool ok = true;  // every k-subset must be frequent (the two generators are)
            for (int drop = 0; drop + 1 < k && ok; ++drop) {
              std::size_t w = 0;
              for (int q = 0; q <= k; ++q)
                if (q != drop) sub[w++] = cand[q];
              ok = exists(sub.data());
            }
            if (!ok) continue;
            Index cnt;
            const std::size_t la = cur.voff[a + 1] - cur.voff[a], lb = cur.voff[b + 1] - cur.voff[b];
            if constexpr (Dense) {
              tmp.resize(la);
              cnt = and_bits(cur.vdata.data() + cur.voff[a], cur.vdata.data() + cur.voff[b], static_cast<Index>(la),
                             tmp.data());
            } else {
              tmp.resize(std::min(la, lb));
              cnt = intersect(cur.vdata.data() + cur.voff[a], static_cast<Index>(la), cur.vdata.data() + cur.voff[b],
                              static_cast<Index>(lb), tmp.data(), p.min_count);
            }
            if (cnt < p.min_count) continue;
            out.items.insert(out.items.end(), cand.begin(), cand.end());
            out.counts.push_back(cnt);
            out.vdata.insert(out.vdata.end(), tmp.begin(), tmp.begin() + (Dense ? static_cast<Index>(la) : cnt));
            out.voff.push_back(out.vdata.size());
          }
    });
    LevelSet next;
    next.k = k + 1;
    for (auto& part : parts) {
      const std::size_t base = next.vdata.size();
      next.items.insert(next.items.end(), part.items.begin(), part.items.end());
      next.counts.insert(next.counts.end(), part.counts.begin(), part.counts.end());
      next.vdata.insert(next.vdata.end(), part.vdata.begin(), part.vdata.end());
      for (std::size_t q = 1; q < part.voff.size(); ++q) next.voff.push_back(base + part.voff[q]);
    }
    if (next.size() == 0) break;
    emit(next);
    cur = std::move(next);
  }
  return outs;
}

/// Rank space -> caller ids (sorted within each itemset), buffers joined in order.
Itemsets join(std::vector<Itemsets>& parts, const Recoded& r, int min_len, Index n) {
  Itemsets all;
  all.n_transactions = n;
  std::size_t total_sets = 0, total_items = 0;
  for (auto& pt : parts) {
    total_sets += pt.counts.size();
    total_items += pt.items.size();
  }
  all.counts.reserve(total_sets);
  all.items.reserve(total_items);
  all.offsets.reserve(total_sets + 1);
  for (auto& pt : parts) {
    for (Index s = 0; s < pt.size(); ++s) {
      auto set = pt[s];
      if (static_cast<int>(set.size()) < min_len) continue;
      const std::size_t b = all.items.size();
      for (Item i : set) all.items.push_back(r.to_orig[i]);
      std::sort(all.items.begin() + static_cast<std::ptrdiff_t>(b), all.items.end());
      all.offsets.push_back(static_cast<Index>(all.items.size()));
      all.counts.push_back(pt.counts[s]);
    }
    pt = Itemsets{};
  }
  return all;
}

}  // namespace


// ---- ItemsetIndex -----------------------------------------------------------------------

std::uint64_t ItemsetIndex::hash(std::span<const std::int32_t> s) {
  std::uint64_t h = 0x9E3779B97F4A7C15ULL ^ s.size();
  for (auto x : s) h = detail::mix64(h ^ static_cast<std::uint64_t>(static_cast<std::uint32_t>(x)));
  return h;
}

ItemsetIndex::ItemsetIndex(const std::vector<Index>& offsets, const std::vector<std::int32_t>& items)
    : offsets_(&offsets), items_(&items) {
  const std::size_t n = offsets.size() - 1;
  std::size_t cap = 16;
  while (cap < 2 * n) cap <<= 1;
  slots_.assign(cap, -1);
  mask_ = cap - 1;
  for (std::size_t s = 0; s < n; ++s) {
    std::span<const std::int32_t> set(items.data() + offsets[s], static_cast<std::size_t>(offsets[s + 1] - offsets[s]));
    std::size_t h = hash(set) & mask_;
    while (slots_[h] >= 0) h = (h + 1) & mask_;
    slots_[h] = static_cast<Index>(s);
  }
}

Index ItemsetIndex::find(std::span<const std::int32_t> set) const {
  if (slots_.empty()) return -1;
  std::size_t h = hash(set) & mask_;
  for (Index s; (s = slots_[h]) >= 0; h = (h + 1) & mask_) {
    const Index b = (*offsets_)[s], e = (*offsets_)[s + 1];
    if (static_cast<std::size_t>(e - b) == set.size() && std::equal(set.begin(), set.end(), items_->begin() + b))
      return s;
  }
  return -1;
}

Itemsets filter_kind(const Itemsets& all, Kind kind, int keep_max_len, int n_threads) {
  if (kind == Kind::All) return all;
  const Index n = all.size();
  ItemsetIndex index(all.offsets, all.items);
  std::unique_ptr<std::atomic<std::uint8_t>[]> drop(new std::atomic<std::uint8_t>[static_cast<std::size_t>(n)]);
  for (Index s = 0; s < n; ++s) drop[s].store(0, std::memory_order_relaxed);
  parallel_chunks(n, n_threads, [&](Index b, Index e, int) {
    std::vector<std::int32_t> sub;
    for (Index s = b; s < e; ++s) {
      auto set = all[s];
      if (set.size() < 2) continue;
      for (std::size_t j = 0; j < set.size(); ++j) {
        sub.clear();
        for (std::size_t q = 0; q < set.size(); ++q)
          if (q != j) sub.push_back(set[q]);
        const Index x = index.find(sub);
        if (x < 0) fail("frequent_itemsets", "internal error: itemset collection is not downward closed");
        if (kind == Kind::Maximal || all.counts[x] == all.counts[s]) drop[x].store(1, std::memory_order_relaxed);
      }
    }
  });
  Itemsets out;
  out.n_transactions = all.n_transactions;
  for (Index s = 0; s < n; ++s) {
    auto set = all[s];
    if (drop[s].load(std::memory_order_relaxed)) continue;
    if (keep_max_len > 0 && static_cast<int>(set.size()) > keep_max_len) continue;
    out.push(set, all.counts[s]);
  }
  return out;
}

Itemsets frequent_itemsets(const Transactions& t, const MiningParams& p) {
  p.validate();
  constexpr std::string_view where = "frequent_itemsets";
  require(t.size() > 0, where, "transactions is empty (no transactions)");
  const Index n = t.size();
  // Closed/maximal need the one-item supersets of the longest itemsets reported.
  MiningParams q = p;
  if (p.kind != Kind::All && p.max_len > 0) q.max_len = p.max_len + 1;
  const bool asc = p.algorithm != Algorithm::FPGrowth;
  const Recoded r = recode(t, p.min_count, asc);
  std::vector<Item> root_perfect;
  for (int i = 0; i < r.k; ++i)
    if (r.support[i] == n) root_perfect.push_back(i);
  std::atomic<Index> total{0};
  std::vector<Itemsets> parts;
  if (p.algorithm == Algorithm::Apriori) {
    parts = prefer_dense(r) ? apriori<true>(r, q, total) : apriori<false>(r, q, total);
  } else {
    if (p.algorithm == Algorithm::FPGrowth) {
      parts = fpgrowth(r, q, root_perfect, total);
    } else {
      parts = prefer_dense(r) ? eclat<true>(r, q, root_perfect, total) : eclat<false>(r, q, root_perfect, total);
    }
    // Itemsets made only of items present in every transaction.
    Sink sink;
    sink.total = &total;
    sink.limit = q.max_itemsets;
    sink.max_len = q.max_len;
    std::vector<Item> empty;
    sink.report(empty, n, root_perfect);
    sink.flush();
    parts[0] = std::move(sink.out);
  }
  if (p.kind == Kind::All) return join(parts, r, p.min_len, n);
  Itemsets all = join(parts, r, 1, n);
  Itemsets f = filter_kind(all, p.kind, p.max_len, p.n_threads);
  if (p.max_itemsets > 0 && f.size() > p.max_itemsets)
    fail(where, "more than max_itemsets=", p.max_itemsets, " itemsets; raise min_support or max_itemsets");
  if (p.min_len <= 1) return f;
  Itemsets g;
  g.n_transactions = n;
  for (Index s = 0; s < f.size(); ++s)
    if (static_cast<int>(f[s].size()) >= p.min_len) g.push(f[s], f.counts[s]);
  return g;
}

// ---- counting given itemsets (SON's second pass) -----------------------------------

std::vector<Index> count_itemsets(const Transactions& t, std::span<const Index> offsets,
                                  std::span<const std::int32_t> items, int n_threads) {
  constexpr std::string_view w = "count_itemsets";
  require(!offsets.empty() && offsets.front() == 0 && offsets.back() == static_cast<Index>(items.size()), w,
          "offsets must start at 0 and end at len(items)");
  const Index m = static_cast<Index>(offsets.size()) - 1;
  const std::int32_t n_items = t.n_items;
  // Vertical tid-lists, ascending: one pass over the CSR (counts, then their prefix sums).
  std::vector<Index> voff(static_cast<std::size_t>(n_items) + 1, 0);
  for (const auto it : t.items) ++voff[static_cast<std::size_t>(it) + 1];
  std::partial_sum(voff.begin(), voff.end(), voff.begin());
  std::vector<Item> tids(t.items.size());
  {
    std::vector<Index> fill(voff.begin(), voff.end() - 1);
    for (Index r = 0; r < t.size(); ++r)
      for (const auto it : t[r]) tids[static_cast<std::size_t>(fill[static_cast<std::size_t>(it)]++)] = static_cast<Item>(r);
  }
  // Each candidate's items rarest first (ties by id): shared prefixes then keep the
  // running intersection small. Candidates sorted by that sequence share prefixes.
  std::vector<std::int32_t> seq(items.begin(), items.end());
  auto rarer = [&](std::int32_t a, std::int32_t b) {
    const Index fa = voff[a + 1] - voff[a], fb = voff[b + 1] - voff[b];
    return fa != fb ? fa < fb : a < b;
  };
  for (Index s = 0; s < m; ++s) {
    require(offsets[s + 1] > offsets[s], w, "itemset ", s, " is empty");
    auto b = seq.begin() + offsets[s], e = seq.begin() + offsets[s + 1];
    for (auto p = b; p != e; ++p) require(*p >= 0 && *p < n_items, w, "item id ", *p, " of itemset ", s,
                                          " is outside [0, ", n_items, ")");
    std::sort(b, e, rarer);
    require(std::adjacent_find(b, e) == e, w, "itemset ", s, " repeats an item");
  }
  std::vector<Index> order(static_cast<std::size_t>(m));
  std::iota(order.begin(), order.end(), Index{0});
  auto span_of = [&](Index s) { return std::span<const std::int32_t>(seq.data() + offsets[s], offsets[s + 1] - offsets[s]); };
  std::sort(order.begin(), order.end(), [&](Index a, Index b) {
    auto x = span_of(a), y = span_of(b);
    return std::lexicographical_compare(x.begin(), x.end(), y.begin(), y.end(), rarer);
  });
  std::vector<Index> counts(static_cast<std::size_t>(m), 0);
  // Contiguous chunks of the sorted order; each thread keeps its own prefix stack.
  parallel_chunks(m, n_threads, [&](Index lo, Index hi, int) {
    std::vector<std::vector<Item>> stack;  // stack[j] = tids of the first j + 2 items
    std::span<const std::int32_t> prev;
    for (Index q = lo; q < hi; ++q) {
      const Index s = order[static_cast<std::size_t>(q)];
      const auto cur = span_of(s);
      std::size_t common = 0;
      while (common < prev.size() && common < cur.size() && prev[common] == cur[common]) ++common;
      const Item* a = tids.data() + voff[cur[0]];
      Index na = voff[cur[0] + 1] - voff[cur[0]];
      if (stack.size() < cur.size()) stack.resize(cur.size());
      for (std::size_t j = 1; j < cur.size(); ++j) {
        auto& out = stack[j - 1];
        if (j >= common) {  // not shared with the previous candidate: intersect again
          const Index nb = voff[cur[j] + 1] - voff[cur[j]];
          out.resize(static_cast<std::size_t>(std::min(na, nb)));
          const Index c = intersect(a, na, tids.data() + voff[cur[j]], nb, out.data(), 0);
          out.resize(static_cast<std::size_t>(c));
        }
        a = out.data();
        na = static_cast<Index>(out.size());
      }
      counts[static_cast<std::size_t>(s)] = na;
      prev = cur;
    }
  });
  return counts;
}

}  // namespace custmine::association
