# C++ declarations of the crypto per-group margin (src/cpp/pmfast_core/crypto/crypto_groups.hpp).
from libc.stdint cimport int32_t, int64_t


cdef extern from "pmfast_core/crypto/crypto_groups.hpp" namespace "pmfast":
    cdef struct CryptoGroups:
        const double* raw
        int64_t n_groups
        int64_t n_scenarios
        int64_t n_standard
        const int64_t* group_pair
        const int64_t* group_start
        const int32_t* instrument
        const double* quantity
        int64_t n_positions
        const int64_t* tie_order

    cdef struct CryptoWeights:
        const int64_t* expiry_code
        const double* roll_weight
        const double* delta
        const double* short_weight
        int64_t n_instruments
        int64_t n_expiry_codes

    cdef struct CryptoPairParams:
        const double* offset
        const double* offset_cap
        const double* dampener
        const double* ext_factor
        const double* rate
        int64_t n_pairs

    cdef struct CryptoGroupOutput:
        double* adjusted
        double* worst_case
        int64_t* worst_index
        double* roll_shock
        double* net_delta
        double* short_units

    void crypto_group_margin(const CryptoGroups& groups, const CryptoWeights& weights,
                             const CryptoPairParams& params, const CryptoGroupOutput& out,
                             int n_threads) except + nogil
