// Inline functions of headers shared by the per-ISA kernels (european.hpp, ...) are wrapped in
// PMFAST_ISA_BEGIN / PMFAST_ISA_END. In a per-ISA object the build defines PMFAST_ISA_NS
// (isa_avx2, ...), so each instruction set gets its own copy with its own mangled name: the
// linker keeps one copy of an inline function that was not inlined, and an AVX-512 copy picked
// for baseline code would crash a CPU without AVX-512. Elsewhere the macros expand to nothing.
#pragma once

#ifdef PMFAST_ISA_NS
#define PMFAST_ISA_BEGIN inline namespace PMFAST_ISA_NS {
#define PMFAST_ISA_END }
#else
#define PMFAST_ISA_BEGIN
#define PMFAST_ISA_END
#endif

// The name of a per-ISA kernel table in the file that fills it: PMFAST_ISA_TABLE(sim_kernels)
// is sim_kernels_avx2 in the avx2 object (sim_kernels_isa.cpp; pricing_kernels_isa.cpp spells
// the same out by hand).
#define PMFAST_ISA_CAT2_(a, b) a##b
#define PMFAST_ISA_CAT_(a, b) PMFAST_ISA_CAT2_(a, b)
#define PMFAST_ISA_TABLE(prefix) PMFAST_ISA_CAT_(prefix##_, PMFAST_ISA_NAME)
