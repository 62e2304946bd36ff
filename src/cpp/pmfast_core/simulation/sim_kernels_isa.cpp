// Compiled once per instruction set (CMakeLists.txt: PMFAST_ISAS), never on its own: fills the
// table sim_kernels_<PMFAST_ISA_NAME> with this set's copies of the simulation kernels.
#include "pmfast_core/simulation/sim_kernels.hpp"

#if !defined(PMFAST_ISA_NS) || !defined(PMFAST_ISA_NAME)
#error "sim_kernels_isa.cpp is compiled once per instruction set by CMakeLists.txt"
#endif

namespace pmfast {

extern const SimKernels PMFAST_ISA_TABLE(sim_kernels);
const SimKernels PMFAST_ISA_TABLE(sim_kernels) = {
    Isa::PMFAST_ISA_NAME,
    &sim_detail::european_scenarios,
    &sim_detail::accumulate_rows_f64,
    &sim_detail::accumulate_rows_f32,
};

}  // namespace pmfast
