# C++ declarations of the strategy-based (Reg T) core. Declarations only: the binding logic
# lives in _core_regt.pxi.
from libc.stdint cimport int8_t, int32_t, int64_t, uint8_t, uint32_t
from libcpp.vector cimport vector


cdef extern from "pmfast_core/regt/regt_types.hpp" namespace "pmfast":
    cdef int kRegtStrategyCount

    cdef struct RegtParams:
        double short_price_threshold
        double short_floor_per_share
        double short_low_floor_per_share
        double naked_floor_per_share
        double protective_put_strike_rate
        double protective_call_strike_rate
        double collar_put_strike_rate
        double conversion_strike_rate
        double reverse_conversion_strike_rate
        uint32_t enabled
        int64_t max_nodes
        int64_t max_work
        int64_t max_templates
        int method
        int emit_rows

    cdef struct RegtLegs:
        const int8_t* kind
        const double* strike
        const int32_t* expiry
        const double* multiplier
        const double* price
        const double* quantity
        const double* long_rate
        int64_t n

    cdef struct RegtGroups:
        const int64_t* offsets
        const double* underlying_price
        const double* naked_rate
        const double* naked_minimum
        const double* long_initial
        const double* long_maintenance
        const double* short_initial
        const double* short_maintenance
        const double* short_low_maintenance
        int64_t n

    cdef cppclass RegtRows:
        vector[int64_t] group
        vector[int8_t] basis
        vector[int8_t] strategy
        vector[int64_t] legs
        vector[double] ratio
        vector[double] units
        vector[double] requirement

    cdef cppclass RegtOutput:
        vector[double] gross_initial
        vector[double] gross_maintenance
        vector[uint8_t] proven
        vector[double] gap_initial
        vector[double] gap_maintenance
        vector[RegtRows] blocks

    const char* regt_strategy_name(int code)
    void regt_margin(const RegtLegs& legs, const RegtGroups& groups, const RegtParams& params,
                     RegtOutput& out, int n_threads) except + nogil
