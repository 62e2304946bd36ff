# C++ declarations of simulation margin (src/cpp/pmfast_core/simulation/simulation.hpp).
from libc.stdint cimport int8_t, int32_t, int64_t


cdef extern from "pmfast_core/simulation/simulation.hpp" namespace "pmfast":
    cdef struct SimSeries:
        const int8_t* model
        const int8_t* right
        const double* S
        const double* K
        const double* T
        const double* q
        const double* vol
        const double* multiplier
        const int32_t* underlying
        int64_t n
        double rate
        int american_model
        int steps

    cdef struct SimScenarios:
        const double* returns
        const double* vol_shifts
        const double* rate_shifts
        int64_t n_underlyings
        int64_t n_scenarios
        double horizon_years

    cdef struct SimLayout:
        const int32_t* series
        const double* quantity
        int64_t n_positions
        const int64_t* class_start
        int64_t n_class_rows
        const int64_t* account_start
        int64_t n_accounts

    cdef struct SimOutput:
        double* es
        double* var
        double* worst
        int32_t* worst_scenario
        double* component

    cdef struct RiskRows:
        double* f64
        float* f32

    cdef struct SimGrid:
        const int32_t* table
        int64_t n_tables
        int n_spot
        int n_vol
        double max_dx
        double max_dvol
        int max_spot
        int max_vol

    void simulation_revalue_grid(const SimSeries& series, const SimScenarios& scenarios,
                                 const SimGrid& grid, const RiskRows& pnl, double* value0,
                                 int n_threads) except + nogil
    void simulation_revalue(const SimSeries& series, const SimScenarios& scenarios,
                            const RiskRows& pnl, double* value0, int n_threads) except + nogil
    void simulation_check_series(const SimLayout& layout, int64_t n_series) except + nogil
    void simulation_aggregate(const SimLayout& layout, const double* pnl, int64_t n_scenarios,
                              int64_t tail_count, const SimOutput& out,
                              int n_threads) except + nogil
    void simulation_aggregate(const SimLayout& layout, const float* pnl, int64_t n_scenarios,
                              int64_t tail_count, const SimOutput& out,
                              int n_threads) except + nogil
    void simulation_account_pnl(const SimLayout& layout, const double* pnl, int64_t n_scenarios,
                                double* out, int n_threads) except + nogil
    void simulation_account_pnl(const SimLayout& layout, const float* pnl, int64_t n_scenarios,
                                double* out, int n_threads) except + nogil
