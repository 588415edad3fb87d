// The custmine._core extension module: the core first, then every family that
// registered itself with CUSTMINE_BIND_FAMILY, in name order.
#include <algorithm>

#include "common.hpp"

namespace custmine::bind {
std::vector<std::pair<std::string, BindFn>>& family_registry() {
  static std::vector<std::pair<std::string, BindFn>> registry;
  return registry;
}
}  // namespace custmine::bind

PYBIND11_MODULE(_core, m) {
  m.doc() = "custmine native core (private: use the custmine package)";
  m.attr("__version__") = CUSTMINE_VERSION;
  custmine::bind::bind_core(m);
  auto families = custmine::bind::family_registry();
  std::sort(families.begin(), families.end());
  for (const auto& [name, fn] : families) fn(m);
}
