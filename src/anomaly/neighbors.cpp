// Exact nearest-neighbour search instantiations.
#include "custmine/anomaly/neighbors_impl.hpp"

namespace custmine::anomaly {
template Neighbors NeighborIndex::search<double>(const RowMatrix<double>&, MatrixView<double>, Index, bool, int) const;
template Neighbors NeighborIndex::search<float>(const RowMatrix<double>&, MatrixView<float>, Index, bool, int) const;
template Neighbors knn_search<double>(const RowMatrix<double>&, MatrixView<double>, Index, bool, int);
template Neighbors knn_search<float>(const RowMatrix<double>&, MatrixView<float>, Index, bool, int);
}  // namespace custmine::anomaly
