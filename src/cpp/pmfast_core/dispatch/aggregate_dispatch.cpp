// The aggregation kernel (aggregate/aggregate_kernel.cpp) is compiled once per instruction set by CMakeLists.txt without editing them: -Ddetail=detail_<isa>
// gives each copy its own namespace (pmfast::detail_avx2::margin_account_range, ...). These
// generic definitions of pmfast::detail's entry points, which aggregate.cpp calls, forward to
// the copy of selected_isa().
#include "pmfast_core/aggregate/aggregate_kernel.hpp"
#include "pmfast_core/dispatch/isa.hpp"

namespace pmfast {

#define PMFAST_DECLARE_AGGREGATE_KERNELS(ns)                                                   \
  namespace ns {                                                                               \
  void build_minimum_table(const MinimumRule& m, int64_t n_instruments, double* table);       \
  void margin_account_range(const MarginLayout& l, const RiskArray& r, const MinimumRule& m,  \
                            const double* minimum_table, const MarginOutput& out,              \
                            int64_t a_begin, int64_t a_end);                                   \
  }
PMFAST_DECLARE_AGGREGATE_KERNELS(detail_baseline)
PMFAST_DECLARE_AGGREGATE_KERNELS(detail_avx2)
PMFAST_DECLARE_AGGREGATE_KERNELS(detail_avx512)
#undef PMFAST_DECLARE_AGGREGATE_KERNELS

namespace detail {

void build_minimum_table(const MinimumRule& m, int64_t n_instruments, double* table) {
  detail_baseline::build_minimum_table(m, n_instruments, table);  // a copy loop: any set will do
}

void margin_account_range(const MarginLayout& l, const RiskArray& r, const MinimumRule& m,
                          const double* minimum_table, const MarginOutput& out, int64_t a_begin,
                          int64_t a_end) {
#ifndef PMFAST_BASELINE_ONLY  // CMakeLists.txt: a CPU other than x86-64 has one copy
  switch (selected_isa()) {
    case Isa::avx512:
      return detail_avx512::margin_account_range(l, r, m, minimum_table, out, a_begin, a_end);
    case Isa::avx2:
      return detail_avx2::margin_account_range(l, r, m, minimum_table, out, a_begin, a_end);
    default: break;
  }
#endif
  detail_baseline::margin_account_range(l, r, m, minimum_table, out, a_begin, a_end);
}

}  // namespace detail
}  // namespace pmfast
