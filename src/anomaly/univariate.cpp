// RobustZScore, HBOS and ECOD instantiations.
#include "custmine/anomaly/univariate_impl.hpp"

namespace custmine::anomaly {
template class RobustZScore<double>;
template class RobustZScore<float>;
template class HBOS<double>;
template class HBOS<float>;
template class ECOD<double>;
template class ECOD<float>;
}  // namespace custmine::anomaly
