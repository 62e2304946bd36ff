#include "pmfast_core/simulation/sim_kernels.hpp"

namespace pmfast {

const SimKernels& sim_kernels() {
#ifndef PMFAST_BASELINE_ONLY  // CMakeLists.txt: a CPU other than x86-64 has one copy
  switch (selected_isa()) {
    case Isa::avx512: return sim_kernels_avx512;
    case Isa::avx2: return sim_kernels_avx2;
    default: break;
  }
#endif
  return sim_kernels_baseline;
}

}  // namespace pmfast
