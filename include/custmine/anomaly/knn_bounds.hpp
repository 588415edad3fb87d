// The bound kernel of the projected nearest-neighbour search (see lof_impl.hpp,
// knn_projected): lower bounds |Pq - Pr|^2 + (|Rq| - |Rr|)^2 of squared distances for a
// block of queries against every reference row, in float, without materializing the
// matrix product (a float GEMM over few axes spends most of its time writing its output).
// An AVX2/FMA version is picked at run time where the CPU has it; results may differ in the
// last bits between the two, which is harmless: the bounds only decide which rows are
// measured exactly, and their tolerance covers both.
#pragma once

#include <bit>
#include <cstdint>
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
  /// Where coordinate f of row j sits in x.
  [[nodiscard]] std::size_t at(Index j, Index f) const {
    return static_cast<std::size_t>(((j / kPanel) * p + f) * kPanel + j % kPanel);
  }
  /// Row j's p coordinates, as the kernel reads them.
  void row(Index j, float* coords) const;
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

/// The same for the chunks [c0, c1) only: reference j's bound for query i at LB[i * ld + j - 64 c0];
/// cmin (bs x n_chunks, only columns c0..c1-1 written) may be null.
void projected_bounds_chunks(const BoundPanels& R, const float* coords, const float* qpn, const float* qres, Index bs,
                             Index c0, Index c1, float* LB, Index ld, float* cmin, bool generic = false);

/// A chunk minimum stored in 16 bits (bfloat16: a float's top half) rounded down, so it stays
/// a lower bound; negative values (rounding below a zero bound) become 0, which the search's
/// bar (always above 0) still admits.
inline std::uint16_t bf16_down(float v) {
  return v > 0.0f ? static_cast<std::uint16_t>(std::bit_cast<std::uint32_t>(v) >> 16) : std::uint16_t{0};
}
inline float bf16_value(std::uint16_t h) { return std::bit_cast<float>(static_cast<std::uint32_t>(h) << 16); }

/// Chunk minima of the bounds between the reference rows themselves, from half the pairs. The
/// bound is symmetric in its two rows (the same float operations either way), so the block of
/// chunk I's rows against chunk J's gives both the minima of I's rows over J (row minima) and
/// those of J's rows over I (column minima). For chunk I and every J >= I this writes
/// cmin[(I * 64 + a) * n_chunks + J] and cmin[(J * 64 + b) * n_chunks + I] (cmin: n_pad x
/// n_chunks, row-major, bf16_down), so the calls for different I write disjoint entries and
/// all n_chunks calls fill it.
void symmetric_minima(const BoundPanels& R, Index I, std::uint16_t* cmin, bool generic = false);

}  // namespace custmine::anomaly::detail
