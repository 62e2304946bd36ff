# C++ declarations of the SPAN core (src/cpp/pmfast_core/span/span.hpp).
from libc.stdint cimport int32_t, int64_t, uint8_t
from libcpp cimport bool as cbool
from libcpp.vector cimport vector
from pmfast._cpp_book cimport StringChunks


cdef extern from "pmfast_core/span/span.hpp" namespace "pmfast":
    cdef struct SpanLayout:
        int32_t n_ccs, n_contracts, n_groups, n_months, n_tiers
        int32_t n_inter_tiers, n_intra_spreads, n_inter_spreads
        const double* ra
        const double* delta
        const int32_t* c_group
        const int32_t* c_month
        const int32_t* c_cc
        const double* som_rate
        const double* value
        const int32_t* g_cc
        const int32_t* m_cc
        const int32_t* m_intra
        const int32_t* m_inter
        const double* m_spot_spread
        const double* m_spot_outright
        const int32_t* t_cc
        const int32_t* is_cc
        const double* is_rate
        const int32_t* is_leg_start
        const int32_t* il_tier
        const int32_t* il_side
        const double* il_ratio
        const double* x_rate
        const int32_t* x_leg_start
        const int32_t* xl_tier
        const int32_t* xl_side
        const double* xl_ratio
        const int32_t* it_cc
        const double* cc_fx
        const double* cc_maint
        const uint8_t* cc_cap_anov
        const int32_t* paired

    cdef cppclass SpanOut:
        vector[int64_t] dup
        vector[int32_t] row_account, row_cc, row_worst
        vector[double] scan, intra, spot, inter, som, risk, nov, maint

    void span_margin_core(const SpanLayout& L, int64_t n_pos, const int32_t* acct,
                          const int32_t* contract, const double* qty, int32_t n_accounts,
                          cbool round_scan, int n_threads, SpanOut& out) except + nogil


cdef extern from "pmfast_core/span/map_contracts.hpp" namespace "pmfast":
    cdef cppclass SpanNames:
        cbool has_exchange
        StringChunks exchange, product, kind, period, right
        const double* strike

    void span_map_contracts(const SpanNames& file, int64_t n_file, const SpanNames& pos,
                            int64_t n_pos, int32_t* contract, int n_threads) except + nogil
