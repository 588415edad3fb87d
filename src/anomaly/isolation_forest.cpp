// Isolation forest instantiations.
#include "custmine/anomaly/isolation_forest_impl.hpp"

namespace custmine::anomaly {
template class IsolationForest<double>;
template class IsolationForest<float>;
}  // namespace custmine::anomaly
