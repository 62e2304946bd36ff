// What the core was built with, for pmfast.show_config().
#pragma once
#include <string>

namespace pmfast {
std::string build_compiler();
bool build_avx2();
bool build_openmp();
int openmp_max_threads();
}  // namespace pmfast
