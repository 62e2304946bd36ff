// The simulation kernels compiled once per instruction set (dispatch/isa.hpp) and the table
// through which revaluation and aggregation call them, as pricing/pricing_kernels.hpp does for
// pricing: european_scenarios_simd.cpp and accumulate_kernel.cpp are compiled for every set in
// CMakeLists.txt's PMFAST_ISAS (their functions live in the inline namespace PMFAST_ISA_NS),
// sim_kernels_isa.cpp fills one table per set and sim_kernels() returns the selected one.
#pragma once
#include <cstdint>

#include "pmfast_core/dispatch/isa.hpp"
#include "pmfast_core/dispatch/isa_namespace.hpp"
#include "pmfast_core/simulation/revalue_detail.hpp"

namespace pmfast {
namespace sim_detail {

PMFAST_ISA_BEGIN
// out[k] = value in scenario k (european_scenarios_simd.cpp): the same formula and limits as
// bsm_value with S' = S (1 + ret), vol' = max(vol (1 + dvol), 1e-4), r' = r + drate.
void european_scenarios(const EuropeanSeries& e, const Shifted& x, int64_t n, double* out);

// P[k] += quantity[p] x rows[series[p], k] over positions [begin, end), in position order, k
// in [0, n_sc) (accumulate_kernel.cpp; float32 rows are widened, every sum is in double).
void accumulate_rows_f64(const int32_t* series, const double* quantity, const double* rows,
                         int64_t n_sc, int64_t begin, int64_t end, double* P);
void accumulate_rows_f32(const int32_t* series, const double* quantity, const float* rows,
                         int64_t n_sc, int64_t begin, int64_t end, double* P);
PMFAST_ISA_END

}  // namespace sim_detail

struct SimKernels {
  Isa isa;
  void (*european_scenarios)(const sim_detail::EuropeanSeries& e, const sim_detail::Shifted& x,
                             int64_t n, double* out);
  void (*accumulate_rows_f64)(const int32_t* series, const double* quantity, const double* rows,
                              int64_t n_sc, int64_t begin, int64_t end, double* P);
  void (*accumulate_rows_f32)(const int32_t* series, const double* quantity, const float* rows,
                              int64_t n_sc, int64_t begin, int64_t end, double* P);
};

// One table per instruction set (sim_kernels_isa.cpp).
extern const SimKernels sim_kernels_baseline;
extern const SimKernels sim_kernels_avx2;
extern const SimKernels sim_kernels_avx512;

// The table of selected_isa().
const SimKernels& sim_kernels();

}  // namespace pmfast
