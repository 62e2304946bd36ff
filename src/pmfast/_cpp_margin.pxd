# C++ declarations of the margin aggregation (src/cpp/pmfast_core/aggregate/aggregate.hpp and
# segment_sums.hpp). Each function has the same name in C++, the binding and the numpy twin
# (pmfast._reference.portfolio).
from libc.stdint cimport int32_t, int64_t


cdef extern from "pmfast_core/aggregate/aggregate.hpp" namespace "pmfast":
    cdef struct MarginLayout:
        const int32_t* instrument
        const double* quantity
        int64_t n_positions
        const int64_t* class_start
        int64_t n_class_rows
        const int64_t* group_start
        int64_t n_group_rows
        const int64_t* account_start
        int64_t n_accounts
        const double* group_offset

    cdef struct RiskArray:
        const double* pnl
        int64_t n_instruments
        int64_t n_scenarios

    cdef struct MinimumRule:
        const double* per_unit
        const double* long_cap

    cdef struct MarginOutput:
        double* class_pnl
        double* group_net
        double* group_risk
        double* group_minimum
        double* group_requirement
        int32_t* group_worst
        double* account_risk
        double* account_minimum
        double* account_requirement
        int32_t* account_worst_group

    void margin_aggregate(const MarginLayout& layout, const RiskArray& risk,
                          const MinimumRule& minimum, const MarginOutput& out,
                          int n_threads) except + nogil
    void margin_concentration(const MarginLayout& layout, const RiskArray& risk, int largest,
                               double* out, int n_threads) except + nogil


cdef extern from "pmfast_core/aggregate/segment_sums.hpp" namespace "pmfast":
    void segment_sums(const int32_t* instrument, const double* quantity, int64_t n_positions,
                      const int64_t* start, int64_t n_segments, const RiskArray& risk,
                      double* out, int n_threads) except + nogil
    void segment_worst_loss(const double* pnl, int64_t n_rows, int64_t n_scenarios,
                            double* loss, int32_t* worst, int n_threads) except + nogil
