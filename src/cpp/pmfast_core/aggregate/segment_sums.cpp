#include "pmfast_core/aggregate/segment_sums.hpp"

#include <cmath>
#include <string>

#include "pmfast_core/aggregate/aggregate_kernel.hpp"
#include "pmfast_core/common/errors.hpp"
#include "pmfast_core/common/parallel.hpp"

namespace pmfast {
namespace {

// About 64k multiply-adds per block: small enough for Ctrl-C and load balance, large enough
// that a block costs more than scheduling it.
int64_t grain_for(int64_t rows, int64_t work_per_row) {
  const int64_t per = std::max<int64_t>(work_per_row, 1);
  return std::max<int64_t>(1, std::min<int64_t>(rows, (1 << 16) / per));
}

}  // namespace

void segment_sums(const int32_t* instrument, const double* quantity, int64_t n_positions,
                  const int64_t* start, int64_t n_segments, const RiskArray& risk, double* out,
                  int n_threads) {
  const int64_t S = risk.n_scenarios;
  if (S < 1) throw InputError("risk array: n_scenarios must be >= 1");
  if (n_segments < 0 || start[0] != 0 || start[n_segments] != n_positions)
    throw InputError("start: must run from 0 to the number of positions");
  for (int64_t g = 0; g < n_segments; ++g)
    if (start[g + 1] < start[g])
      throw InputError("start[" + std::to_string(g + 1) + "]: offsets must not decrease");
  for (int64_t p = 0; p < n_positions; ++p) {
    if (instrument[p] < 0 || instrument[p] >= risk.n_instruments)
      throw InputError("instrument[" + std::to_string(p) + "]: row outside the risk array");
    if (!std::isfinite(quantity[p]))
      throw InputError("quantity[" + std::to_string(p) + "]: not finite");
  }
  const int64_t mean = n_segments ? std::max<int64_t>(1, n_positions / n_segments) : 1;
  parallel_for(n_segments, n_threads, grain_for(n_segments, mean * S),
               [&](int64_t g0, int64_t g1) {
    for (int64_t g = g0; g < g1; ++g) {
      double* acc = out + g * S;
      for (int64_t s = 0; s < S; ++s) acc[s] = 0.0;
      for (int64_t p = start[g]; p < start[g + 1]; ++p) {
        const double q = quantity[p];
        const double* row = risk.pnl + static_cast<int64_t>(instrument[p]) * S;
        for (int64_t s = 0; s < S; ++s) acc[s] = detail::mul_add(q, row[s], acc[s]);
      }
    }
  });
}

void segment_worst_loss(const double* pnl, int64_t n_rows, int64_t n_scenarios, double* loss,
                        int32_t* worst, int n_threads) {
  if (n_scenarios < 1) throw InputError("pnl: n_scenarios must be >= 1");
  parallel_for(n_rows, n_threads, grain_for(n_rows, n_scenarios), [&](int64_t r0, int64_t r1) {
    for (int64_t g = r0; g < r1; ++g) {
      const double* row = pnl + g * n_scenarios;
      int32_t k = 0;
      for (int64_t s = 0; s < n_scenarios; ++s) {
        if (std::isnan(row[s]))
          throw InputError("pnl[" + std::to_string(g) + ", " + std::to_string(s) + "]: NaN");
        if (row[s] < row[k]) k = static_cast<int32_t>(s);
      }
      worst[g] = k;
      loss[g] = row[k] < 0.0 ? -row[k] : 0.0;
    }
  });
}

}  // namespace pmfast
