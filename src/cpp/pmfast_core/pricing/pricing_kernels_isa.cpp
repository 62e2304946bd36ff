// Compiled once per instruction set (CMakeLists.txt: PMFAST_ISAS), never on its own: fills the
// table pricing_kernels_<PMFAST_ISA_NAME> with this set's copies of the kernels.
#include "pmfast_core/pricing/american_fp.hpp"
#include "pmfast_core/pricing/bivariate_normal.hpp"
#include "pmfast_core/pricing/european_simd.hpp"
#include "pmfast_core/pricing/pricing_kernels.hpp"

#if !defined(PMFAST_ISA_NS) || !defined(PMFAST_ISA_NAME)
#error "pricing_kernels_isa.cpp is compiled once per instruction set by CMakeLists.txt"
#endif
#define PMFAST_CAT2(a, b) a##b
#define PMFAST_CAT(a, b) PMFAST_CAT2(a, b)

namespace pmfast {

extern const PricingKernels PMFAST_CAT(pricing_kernels_, PMFAST_ISA_NAME);
const PricingKernels PMFAST_CAT(pricing_kernels_, PMFAST_ISA_NAME) = {
    Isa::PMFAST_ISA_NAME,
    &bsm_block,
    &bsm_grid_block,
    &fixed_point_spots_kernel,
    &bvn_cdf_bjs,
};

}  // namespace pmfast
