// Vectorised European loops (compiled with -ffast-math; inputs are validated and finite), one
// copy per instruction set: the rest of the core calls them through pricing_kernels().
#pragma once
#include <cstdint>

#include "pmfast_core/pricing/options.hpp"
#include "pmfast_core/pricing/pricing.hpp"

namespace pmfast {
PMFAST_ISA_BEGIN

// Options [begin, end) of o, BSM (q used as given; black76 callers pass q = r).
void bsm_block(const OptionArrays& o, bool black76, int64_t begin, int64_t end, double* out);

// Options (series) per vectorised chunk of the flat and grid kernels. Callers split work at
// multiples of it so an option is always in the same lane position, whatever the threads.
constexpr int kGridLanes = 64;

// Series [begin, end) over the grid (begin a multiple of kGridLanes); out points at row `begin` of the [n, n_scenarios] matrix.
void bsm_grid_block(const OptionArrays& o, const ScenarioGrid& grid, bool black76,
                    int64_t begin, int64_t end, double* out);

PMFAST_ISA_END
}  // namespace pmfast
