// The per-ISA objects are compiled with -fno-implicit-templates (CMakeLists.txt): a library
// template they use out of line (std::vector growth) is not emitted in them, where the linker
// could pick an AVX-512 copy for every caller, but instantiated here once, for the baseline
// x86-64. Add a line when the ISA build reports an undefined std:: symbol.
#include <cstdint>
#include <vector>

template class std::vector<double>;
