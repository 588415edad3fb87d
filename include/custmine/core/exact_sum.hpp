// Order-independent sums of doubles (the same total whatever the order of the addends).
//
// A floating-point sum depends on the order of its additions, so a total computed by an
// engine that combines partitions in any order (Spark, Dask) can differ in the last bit
// from a one-process sum, and exactly tied totals then rank differently. GridSum rounds
// every addend to a fixed grid, 2^-90 times the power of two at or below the largest
// |addend| (addends are rounded to nearest, ties to even), adds the grid integers exactly
// in 128 bits and rounds the exact total once to double. The total is then a property of
// the multiset of addends: custmine.spark and custmine.dask rebuild it from three 30-bit
// integer parts summed in the engine (python/custmine/_distributed.py) and get the same
// double. Headroom: 2^36 addends per total; error per addend at most 2^-91 of the largest.
#pragma once

#include <cmath>
#include <cstdint>

namespace custmine {

class GridSum {
 public:
  __extension__ typedef __int128 Int;  // GCC/Clang; __extension__ keeps -Wpedantic quiet
  /// Grid for addends whose largest magnitude is `max_abs` (finite, >= 0).
  explicit GridSum(double max_abs) {
    const int e = max_abs > 0 ? std::ilogb(max_abs) : 0;
    shift_ = kBits - e;
    // x * 2^shift as two exact power-of-two factors (each within double range).
    f1_ = std::ldexp(1.0, shift_ / 2);
    f2_ = std::ldexp(1.0, shift_ - shift_ / 2);
  }
  /// The addend on the grid, as an integer (|x| <= max_abs gives |result| < 2^91): rint of
  /// x * 2^shift, ties to even. Done with plain double adds (the 1.5 * 2^(52+k) trick rounds to
  /// a multiple of 2^k) and two int64 conversions: std::rint and a double -> __int128
  /// conversion are library calls on baseline x86-64 and cost rfm a fifth of its time.
  /// Needs IEEE double arithmetic in round-to-nearest (no -ffast-math).
  [[nodiscard]] Int to_grid(double x) const {
    const double y = x * f1_ * f2_;  // exact: power-of-two factors
    constexpr double kHigh = 0x1.8p98, kLow = 0x1.8p52;
    const double yh = (y + kHigh) - kHigh;  // nearest multiple of 2^46 (|y| < 2^97)
    const double yl = (y - yh);             // exact, |yl| <= 2^45
    const double rl = (yl + kLow) - kLow;   // nearest integer (|yl| < 2^51)
    // rint(y) = yh + rint(yl): yh is an even integer, so ties go the same way
    return (static_cast<Int>(static_cast<std::int64_t>(yh * 0x1p-46)) << 46) + static_cast<std::int64_t>(rl);
  }
  /// The exact grid total rounded once to the nearest double.
  [[nodiscard]] double to_double(Int total) const { return std::ldexp(static_cast<double>(total), -shift_); }
  [[nodiscard]] int shift() const { return shift_; }

  static constexpr int kBits = 90;

 private:
  int shift_ = kBits;
  double f1_ = 1.0, f2_ = 1.0;
};

}  // namespace custmine
