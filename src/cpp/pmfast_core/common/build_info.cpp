#include "pmfast_core/common/build_info.hpp"

#include "pmfast_core/common/parallel.hpp"

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

bool build_openmp() { return have_openmp(); }

int openmp_max_threads() {
#ifdef PMFAST_HAVE_OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}

}  // namespace pmfast
