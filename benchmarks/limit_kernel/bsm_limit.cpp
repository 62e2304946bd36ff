// The "limit" kernels of benchmarks/test_bench_limit.py: the same closed forms as pmfast's
// European grid and flat pricing, written plainly (one loop, vectorised across series by
// `omp simd` with glibc's vector erfc/exp/log from libmvec) and compiled by the benchmark with
// -O3 -ffast-math -fopenmp-simd and -march=native (or one instruction set's flags). Nothing
// here is validated or clamped beyond what the formula needs: it is the speed a straightforward
// C++ programmer gets from the compiler, the yardstick the project's kernels are measured by.
#include <cmath>
#include <cstdint>
#include <vector>

extern "C" {

// out[i * n_moves + m]: BSM value of series i with the spot moved to S (1 + moves[m]). The
// per-series terms are computed once (one pass, into scratch arrays), then each move costs two
// erfc per series: the least work the closed form needs, as pmfast's grid kernel does.
void grid_limit(int64_t n, const double* right, const double* S, const double* K,
                const double* T, const double* r, const double* q, const double* vol,
                int64_t n_moves, const double* moves, double* out) {
  std::vector<double> fwd(n), strike(n), lfk(n), sd(n);
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) {
    fwd[i] = S[i] * std::exp(-q[i] * T[i]);
    strike[i] = K[i] * std::exp(-r[i] * T[i]);
    lfk[i] = std::log(fwd[i] / strike[i]);
    sd[i] = vol[i] * std::sqrt(T[i]);
  }
  for (int64_t m = 0; m < n_moves; ++m) {
    const double g = 1.0 + moves[m], lg = std::log(g);
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) {
      const double d1 = (lfk[i] + lg) / sd[i] + 0.5 * sd[i], d2 = d1 - sd[i];
      const double s = right[i];
      out[i * n_moves + m] = s * (fwd[i] * g * 0.5 * std::erfc(-s * d1 * M_SQRT1_2) -
                                  strike[i] * 0.5 * std::erfc(-s * d2 * M_SQRT1_2));
    }
  }
}

// out[i]: BSM value of option i.
void flat_limit(int64_t n, const double* right, const double* S, const double* K,
                const double* T, const double* r, const double* q, const double* vol,
                double* out) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) {
    const double fwd = S[i] * std::exp(-q[i] * T[i]), strike = K[i] * std::exp(-r[i] * T[i]);
    const double sd = vol[i] * std::sqrt(T[i]);
    const double d1 = std::log(fwd / strike) / sd + 0.5 * sd, d2 = d1 - sd;
    const double s = right[i];
    out[i] = s * (fwd * 0.5 * std::erfc(-s * d1 * M_SQRT1_2) -
                  strike * 0.5 * std::erfc(-s * d2 * M_SQRT1_2));
  }
}

}  // extern "C"
