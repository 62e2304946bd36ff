#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "pmfast_core/common/errors.hpp"
#include "pmfast_core/pricing/options.hpp"

namespace pmfast {

namespace {

// Checks run a branch-free pass over blocks of kCheckBlock values (vectorised: one OR per value,
// ~15x faster than the per-value branches, which were as slow as the pricing kernel itself),
// and only a block that fails is scanned again value by value for the first offender's message.
constexpr int64_t kCheckBlock = 4096;

// Every x in [lo, DBL_MAX]: NaN fails both comparisons, +-inf the bounds.
bool block_in_range(const double* x, int64_t n, double lo) {
  constexpr double kMax = std::numeric_limits<double>::max();
  // A count of 0s and 1s (exact in any order, so the simd reduction may reorder it): a form
  // GCC vectorises for SSE2, where an integer OR of the comparisons was not.
  double bad = 0.0;
#pragma omp simd reduction(+ : bad)
  for (int64_t i = 0; i < n; ++i) bad += (x[i] >= lo && x[i] <= kMax) ? 0.0 : 1.0;
  return bad == 0.0;
}

bool block_is_sign(const int8_t* right, int64_t n) {
  unsigned bad = 0;
  for (int64_t i = 0; i < n; ++i) bad |= (right[i] != 1) & (right[i] != -1);
  return bad == 0;
}

}  // namespace

void check_column(const char* name, const double* x, int64_t n, bool allow_negative) {
  const double lo = allow_negative ? -std::numeric_limits<double>::max() : 0.0;
  for (int64_t b = 0; b < n; b += kCheckBlock) {
    const int64_t e = std::min(n, b + kCheckBlock);
    if (block_in_range(x + b, e - b, lo)) continue;
    for (int64_t i = b; i < e; ++i) {
      if (std::isnan(x[i])) throw bad_value(name, i, x[i], "must be a number, not NaN");
      if (std::isinf(x[i])) throw bad_value(name, i, x[i], "must be finite");
      if (!allow_negative && x[i] < 0) throw bad_value(name, i, x[i], "must be >= 0");
    }
  }
}

void check_model(Model model, int steps) {
  switch (model) {
    case Model::bsm: case Model::black76: case Model::bjs1993: case Model::bjs2002:
    case Model::fixed_point:
      return;
    case Model::crr:
      if (steps < 1) throw InputError("steps must be >= 1 for the crr model");
      return;
  }
  throw InputError("unknown pricing model code " + std::to_string(static_cast<int>(model)));
}

void validate_market(const OptionArrays& o, unsigned broadcast) {
  // A broadcast column has one value (index 0 of the broadcast result, so messages are the same).
  auto len = [&](unsigned bit) { return (broadcast & bit) ? std::min<int64_t>(o.n, 1) : o.n; };
  const int64_t n_right = len(kBroadcastRight);
  for (int64_t b = 0; b < n_right; b += kCheckBlock) {
    const int64_t e = std::min(n_right, b + kCheckBlock);
    if (block_is_sign(o.right + b, e - b)) continue;
    for (int64_t i = b; i < e; ++i) {
      if (o.right[i] != 1 && o.right[i] != -1)
        throw bad_value("right", i, o.right[i], "must be call (C, +1) or put (P, -1)");
    }
  }
  check_column("S", o.S, len(kBroadcastS), false);
  check_column("K", o.K, len(kBroadcastK), false);
  check_column("T", o.T, len(kBroadcastT), false);
  check_column("r", o.r, len(kBroadcastR), true);
  check_column("q", o.q, len(kBroadcastQ), true);
}

void validate_market(const OptionArrays& o) { validate_market(o, 0u); }

void validate_options(const OptionArrays& o, unsigned broadcast) {
  validate_market(o, broadcast);
  check_column("vol", o.vol, (broadcast & kBroadcastVol) ? std::min<int64_t>(o.n, 1) : o.n, false);
}

void validate_options(const OptionArrays& o) { validate_options(o, 0u); }

}  // namespace pmfast
