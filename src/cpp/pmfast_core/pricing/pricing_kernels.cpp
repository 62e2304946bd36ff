#include "pmfast_core/pricing/pricing_kernels.hpp"

#include "pmfast_core/pricing/bivariate_normal.hpp"

namespace pmfast {

const PricingKernels& pricing_kernels() {
#ifndef PMFAST_BASELINE_ONLY  // CMakeLists.txt: a CPU other than x86-64 has one copy
  switch (selected_isa()) {
    case Isa::avx512: return pricing_kernels_avx512;
    case Isa::avx2: return pricing_kernels_avx2;
    default: break;
  }
#endif
  return pricing_kernels_baseline;
}

// The generic entry point Bjerksund-Stensland 2002 calls (american_bjs.cpp).
double bvn_cdf_bjs(double a, double b, bool negative_rho) {
  return pricing_kernels().bvn_cdf_bjs(a, b, negative_rho);
}

}  // namespace pmfast
