// The aggregation's inner loop (tails.cpp), compiled once per instruction set: one account's
// scenario P&L summed from its positions' risk-matrix rows. It streams the whole risk matrix
// once per run, so its width matters (8 doubles per AVX-512 instruction, 2 on baseline x86-64).
// Each k is an independent sum in position order: bit-identical for any thread count; across
// sets only the FMA contraction of AVX2 / AVX-512 differs (one rounding instead of two).
#include <cstdint>

#include "pmfast_core/simulation/sim_kernels.hpp"

namespace pmfast {
namespace sim_detail {
PMFAST_ISA_BEGIN

namespace {
// inline and in an anonymous namespace: emitted locally (the per-ISA objects are compiled with
// -fno-implicit-templates and may define no symbol another set could share)
template <class T>
inline void accumulate(const int32_t* series, const double* quantity, const T* rows,
                       int64_t n_sc, int64_t begin, int64_t end, double* __restrict P) {
  for (int64_t p = begin; p < end; ++p) {
    const double qty = quantity[p];
    const T* __restrict row = rows + static_cast<int64_t>(series[p]) * n_sc;
#pragma omp simd
    for (int64_t k = 0; k < n_sc; ++k) P[k] += qty * static_cast<double>(row[k]);
  }
}
}  // namespace

void accumulate_rows_f64(const int32_t* series, const double* quantity, const double* rows,
                         int64_t n_sc, int64_t begin, int64_t end, double* P) {
  accumulate(series, quantity, rows, n_sc, begin, end, P);
}
void accumulate_rows_f32(const int32_t* series, const double* quantity, const float* rows,
                         int64_t n_sc, int64_t begin, int64_t end, double* P) {
  accumulate(series, quantity, rows, n_sc, begin, end, P);
}

PMFAST_ISA_END
}  // namespace sim_detail
}  // namespace pmfast
