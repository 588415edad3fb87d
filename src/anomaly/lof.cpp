// Local outlier factor and k-nearest-neighbour instantiations.
#include "custmine/anomaly/lof_impl.hpp"

namespace custmine::anomaly {
template Neighbors knn_search<double>(const RowMatrix<double>&, MatrixView<double>, Index, bool, int);
template Neighbors knn_search<float>(const RowMatrix<double>&, MatrixView<float>, Index, bool, int);
template class LocalOutlierFactor<double>;
template class LocalOutlierFactor<float>;
}  // namespace custmine::anomaly
