// Local outlier factor instantiations.
#include "custmine/anomaly/lof_impl.hpp"

namespace custmine::anomaly {
template class LocalOutlierFactor<double>;
template class LocalOutlierFactor<float>;
}  // namespace custmine::anomaly
