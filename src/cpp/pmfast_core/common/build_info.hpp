// What the core was built with and which kernels it runs, for pmfast.show_config().
#pragma once
#include <string>
#include <vector>

namespace pmfast {
std::string build_compiler();
bool build_avx2();    // the non-dispatched core was compiled with AVX2 (PMFAST_NATIVE=ON)
bool build_native();  // compiled with -march=native: runs only on CPUs like the build machine
bool build_openmp();
int openmp_max_threads();

// Instruction sets of the dispatched kernels (dispatch/isa.hpp), by name.
std::string kernel_isa();                   // the set in use
std::string cpu_best_isa();                 // the widest this CPU runs
std::vector<std::string> cpu_isas();        // every set this CPU runs, narrowest first
void select_kernel_isa(const std::string& name);  // throws InputError: unknown or unsupported
}  // namespace pmfast
