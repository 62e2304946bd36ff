// The pricing loops compiled once per instruction set (dispatch/isa.hpp) and the table through
// which the rest of the core calls them. Each *_simd.cpp kernel is compiled for every set in
// CMakeLists.txt's PMFAST_ISAS with its own -march and -DPMFAST_ISA_NS; pricing_kernels_isa.cpp
// fills one table per set and pricing_kernels() returns the selected one.
#pragma once
#include <cstdint>

#include "pmfast_core/dispatch/isa.hpp"
#include "pmfast_core/pricing/american_fp.hpp"
#include "pmfast_core/pricing/options.hpp"
#include "pmfast_core/pricing/pricing.hpp"

namespace pmfast {

struct PricingKernels {
  Isa isa;
  // european_simd.hpp
  void (*bsm_block)(const OptionArrays& o, bool black76, int64_t begin, int64_t end, double* out);
  void (*bsm_grid_block)(const OptionArrays& o, const ScenarioGrid& grid, bool black76,
                         int64_t begin, int64_t end, double* out);
  // american_fp.hpp
  void (*fixed_point_spots)(const FpTables& tables, double right, const double* spots,
                            int64_t n_spots, double K, double T, double r, double q, double vol,
                            double* out, int64_t out_stride);
  // bivariate_normal.hpp
  double (*bvn_cdf_bjs)(double a, double b, bool negative_rho);
};

// One table per instruction set (pricing_kernels_isa.cpp).
extern const PricingKernels pricing_kernels_baseline;
extern const PricingKernels pricing_kernels_avx2;
extern const PricingKernels pricing_kernels_avx512;

// The table of selected_isa().
const PricingKernels& pricing_kernels();

}  // namespace pmfast
