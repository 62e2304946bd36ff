#include "pmfast_core/common/build_info.hpp"

#include "pmfast_core/common/errors.hpp"
#include "pmfast_core/common/parallel.hpp"
#include "pmfast_core/dispatch/isa.hpp"

namespace pmfast {

std::string build_compiler() {
#if defined(__clang__)
  return std::string("clang ") + __clang_version__;
#elif defined(__GNUC__)
  return std::string("gcc ") + __VERSION__;
#else
  return "unknown";
#endif
}

bool build_avx2() {
#if defined(__AVX2__)
  return true;
#else
  return false;
#endif
}

bool build_native() {
#ifdef PMFAST_BUILD_NATIVE
  return true;
#else
  return false;
#endif
}

bool build_openmp() { return have_openmp(); }

int openmp_max_threads() {
#ifdef PMFAST_HAVE_OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}

std::string kernel_isa() { return isa_name(selected_isa()); }

std::string cpu_best_isa() { return isa_name(best_isa()); }

std::vector<std::string> cpu_isas() {
  std::vector<std::string> names;
  for (int i = 0; i < kIsaCount; ++i)
    if (cpu_supports(static_cast<Isa>(i))) names.push_back(isa_name(static_cast<Isa>(i)));
  return names;
}

void select_kernel_isa(const std::string& name) {
  for (int i = 0; i < kIsaCount; ++i) {
    if (name == isa_name(static_cast<Isa>(i))) {
      select_isa(static_cast<Isa>(i));
      return;
    }
  }
  throw InputError("unknown instruction set '" + name + "': use baseline, avx2 or avx512");
}

}  // namespace pmfast
