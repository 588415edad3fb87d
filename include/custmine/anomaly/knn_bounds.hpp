// The bound kernel of the projected nearest-neighbour search (see lof_impl.hpp,
// knn_projected): lower bounds |Pq - Pr|^2 + (|Rq| - |Rr|)^2 of squared distances for a
// block of queries against every reference row, in float, without materializing the
// matrix product (a float GEMM over few axes spends most of its time writing its output).
// An AVX2/FMA version is picked at run time where the CPU has it; results may differ in the
// last bits between the two, which is harmless: the bounds only decide which rows are
// measured exactly, and their tolerance covers both.
#pragma once

#include <vector>

#include "custmine/core/matrix.hpp"

namespace custmine::anomaly::detail {

/// Reference rows packed for the kernel: panels of 16 rows, each p x 16 floats.
struct BoundPanels {
  static constexpr Index kPanel = 16, kChunk = 64;  // rows per panel and per chunk
  Index n = 0, n_pad = 0, p = 0;
  std::vector<float> x;    // n_pad / 16 panels
  std::vector<float> pn;   // n_pad squared norms of the coordinates (padding: huge)
  std::vector<float> res;  // n_pad residual norms
  [[nodiscard]] Index n_chunks() const { return n_pad / kChunk; }
};

/// Whether the AVX2/FMA kernel runs on this CPU (the generic one is about 4x slower per axis).
bool fast_bounds();

/// Packs n rows of p float coordinates (row-major) with their squared norms and residuals.
BoundPanels pack_bound_panels(const float* coords, const double* pn, const double* res, Index n, Index p);

/// Bounds for bs queries (coords bs x p row-major, squared norms, residual norms; bs a multiple
/// of 4, padding rows zero) into LB (bs x n_pad, row-major) and the minimum of each chunk of 64
/// references into cmin (bs x n_chunks).
/// generic = true runs the portable kernel even where the AVX2 one could (tests).
void projected_bounds(const BoundPanels& R, const float* coords, const float* qpn, const float* qres, Index bs,
                      float* LB, float* cmin, bool generic = false);

}  // namespace custmine::anomaly::detail
