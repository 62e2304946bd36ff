// Run-time choice of the instruction set of the hot kernels (docs/performance.md, "One build for
// every CPU"). The kernels are compiled once per instruction set (CMakeLists.txt: PMFAST_ISAS)
// and reached through small tables of function pointers; the set is chosen once, at import,
// from the CPU's features, or forced with the environment variable PMFAST_ISA.
#pragma once

namespace pmfast {

// Ordered: each set includes the one before it.
enum class Isa : int {
  baseline = 0,  // x86-64 (SSE2): runs on every 64-bit x86 CPU
  avx2 = 1,      // x86-64-v3: AVX2 + FMA (Haswell, Zen 1 and later)
  avx512 = 2,    // x86-64-v4: AVX-512 F/CD/BW/DQ/VL (Skylake-SP, Ice Lake, Zen 4 and later)
};
constexpr int kIsaCount = 3;

// "baseline", "avx2" or "avx512".
const char* isa_name(Isa isa);

// The CPU (and the operating system, which must save the wider registers) can run `isa`.
bool cpu_supports(Isa isa);

// The widest set the CPU supports.
Isa best_isa();

// Use `isa` from now on. Throws InputError if the CPU cannot run it. Call it before any
// kernel runs (the binding calls it once at import); it is not meant to change mid-run.
void select_isa(Isa isa);

// The set in use (best_isa() until select_isa is called).
Isa selected_isa();

}  // namespace pmfast
