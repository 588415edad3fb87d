// TreeSHAP path bookkeeping shared by the CART/forest and boosting explainers.
//
// Lundberg, Erion & Lee (2018), "Consistent individualized feature attribution for tree
// ensembles", Algorithm 2: EXTEND adds a split to the unique-feature path with its zero
// and one fractions; UNWIND removes one again. Each is O(D) for a path of length D.
#pragma once

#include <cstdint>
#include <vector>

namespace custmine::tree::shap {

struct PathElem {
  std::int32_t d;  // feature (-1 for the root dummy)
  double z, o, w;  // zero fraction, one fraction, permutation weight
};
using Path = std::vector<PathElem>;

inline void extend(Path& m, double pz, double po, std::int32_t pi) {
  const std::size_t l = m.size();
  m.push_back({pi, pz, po, l == 0 ? 1.0 : 0.0});
  for (std::size_t i = l; i >= 1; --i) {
    m[i].w += po * m[i - 1].w * static_cast<double>(i) / static_cast<double>(l + 1);
    m[i - 1].w = pz * m[i - 1].w * static_cast<double>(l + 1 - i) / static_cast<double>(l + 1);
  }
}

/// Removes element i (0-based) from the path, undoing its extension.
inline Path unwind(const Path& m, std::size_t i) {
  const std::size_t l = m.size();
  double n = m[l - 1].w;
  Path r(m.begin(), m.end() - 1);
  const double o = m[i].o, z = m[i].z;
  for (std::size_t j = l - 1; j >= 1; --j) {
    if (o != 0) {
      const double t = r[j - 1].w;
      r[j - 1].w = n * static_cast<double>(l) / (static_cast<double>(j) * o);
      n = t - r[j - 1].w * z * static_cast<double>(l - j) / static_cast<double>(l);
    } else {
      r[j - 1].w = r[j - 1].w * static_cast<double>(l) / (z * static_cast<double>(l - j));
    }
  }
  for (std::size_t j = i; j + 1 < l; ++j) {
    r[j].d = m[j + 1].d;
    r[j].z = m[j + 1].z;
    r[j].o = m[j + 1].o;
  }
  return r;
}

}  // namespace custmine::tree::shap
