#include "pmfast_core/dispatch/isa.hpp"

#include <atomic>
#include <string>

#include "pmfast_core/common/errors.hpp"

namespace pmfast {

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::avx512: return "avx512";
    case Isa::avx2: return "avx2";
    default: return "baseline";
  }
}

// The features the compiler may use under -march=x86-64-v3 / -v4 (CMakeLists.txt). libgcc's
// __builtin_cpu_supports also checks (XGETBV) that the OS saves the YMM / ZMM registers.
bool cpu_supports(Isa isa) {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  __builtin_cpu_init();
  const bool v3 = __builtin_cpu_supports("avx") && __builtin_cpu_supports("avx2") &&
                  __builtin_cpu_supports("fma") && __builtin_cpu_supports("bmi") &&
                  __builtin_cpu_supports("bmi2");
  const bool v4 = v3 && __builtin_cpu_supports("avx512f") &&
                  __builtin_cpu_supports("avx512cd") && __builtin_cpu_supports("avx512bw") &&
                  __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
  switch (isa) {
    case Isa::avx512: return v4;
    case Isa::avx2: return v3;
    default: return true;
  }
#else
  return isa == Isa::baseline;
#endif
}

Isa best_isa() {
  if (cpu_supports(Isa::avx512)) return Isa::avx512;
  if (cpu_supports(Isa::avx2)) return Isa::avx2;
  return Isa::baseline;
}

namespace {
std::atomic<int>& selected() {
  static std::atomic<int> isa{static_cast<int>(best_isa())};
  return isa;
}
}  // namespace

void select_isa(Isa isa) {
  if (static_cast<int>(isa) < 0 || static_cast<int>(isa) >= kIsaCount)
    throw InputError("unknown instruction set code " + std::to_string(static_cast<int>(isa)));
  if (!cpu_supports(isa))
    throw InputError(std::string("this CPU cannot run the ") + isa_name(isa) +
                     " kernels (the widest it supports is " + isa_name(best_isa()) + ")");
  selected().store(static_cast<int>(isa), std::memory_order_relaxed);
}

Isa selected_isa() { return static_cast<Isa>(selected().load(std::memory_order_relaxed)); }

}  // namespace pmfast
