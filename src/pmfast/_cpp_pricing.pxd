# C++ declarations of the pricing core (src/cpp/pmfast_core). Declarations only: the binding
# logic lives in _core_pricing.pxi.
from libc.stdint cimport int8_t, int64_t
from libcpp cimport bool


cdef extern from "pmfast_core/pricing/options.hpp" namespace "pmfast":
    cdef enum class Model(int):
        bsm
        black76
        bjs1993
        bjs2002
        crr
        fixed_point

    cdef struct OptionArrays:
        const int8_t* right
        const double* S
        const double* K
        const double* T
        const double* r
        const double* q
        const double* vol
        int64_t n


cdef extern from "pmfast_core/pricing/pricing.hpp" namespace "pmfast":
    cdef struct ScenarioGrid:
        const double* spot_moves
        int64_t n_moves
        const double* vol_shifts
        int64_t n_vols
        bool vol_relative
        double horizon_years

    void price_options(const OptionArrays& o, Model model, int steps, bool american,
                       double* out, int n_threads) except + nogil
    void price_options(const OptionArrays& o, unsigned broadcast, Model model, int steps,
                       bool american, double* out, int n_threads) except + nogil
    void reprice_grid(const OptionArrays& o, const ScenarioGrid& grid, Model model, int steps,
                      double* out, int n_threads) except + nogil


cdef extern from "pmfast_core/pricing/implied_vol.hpp" namespace "pmfast":
    void implied_vol_options(const OptionArrays& o, const double* price, Model model, int steps,
                             bool american, double* out, int n_threads) except + nogil
