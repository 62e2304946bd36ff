# C++ declarations of the Book's encoding helpers (src/cpp/pmfast_core/book/segment_sort.hpp).
from libc.stdint cimport int32_t, int64_t, uint8_t, uint64_t
from libcpp.vector cimport vector


cdef extern from "pmfast_core/book/segment_sort.hpp" namespace "pmfast":
    void segment_sort(const int32_t* group, const int64_t* key, int64_t n, int64_t n_groups,
                      int64_t* order, int n_threads) except + nogil
    int64_t net_positions(const int32_t* account, const int32_t* instrument,
                          const double* quantity, int64_t n, int64_t n_accounts,
                          int32_t* out_account, int32_t* out_instrument, double* out_quantity,
                          int n_threads) except + nogil
    int64_t encode_sorted(const uint64_t* key, int64_t n, int32_t* code,
                          int64_t* first_row, int n_threads) except + nogil


cdef extern from "pmfast_core/book/encode_strings.hpp" namespace "pmfast":
    cdef cppclass StringChunks:
        vector[const int32_t*] offsets
        vector[const uint8_t*] data
        vector[const uint8_t*] validity
        vector[int64_t] validity_bit
        vector[int64_t] start
    int64_t encode_strings(const StringChunks& column, const char* what, int32_t* code,
                           int64_t* first_row, int n_threads) except + nogil
