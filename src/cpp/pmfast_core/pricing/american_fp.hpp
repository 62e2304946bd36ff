// High-accuracy American engine: the early-exercise boundary of the integral equation solved by
// fixed-point iteration on Chebyshev nodes (Andersen, Lake & Offengenden 2016, "High-performance
// American option pricing"), started from the QD+ boundary (Li 2005). See docs/american.md.
//
// Everything is priced as a put with unit strike: put(S, K) = K v(S / K) and, by put-call
// symmetry, call(S, K, r, q) = put(K, S, q, r) = S v'(K / S). The unit-strike boundary depends on
// (r, q, vol, T) only, so one boundary serves every spot of a scenario grid, calls included.
#pragma once
#include <cstdint>

#include "pmfast_core/dispatch/isa_namespace.hpp"

namespace pmfast {

// Accuracy/speed knobs of the engine (the paper's n, l, m, p).
struct FpScheme {
  int nodes;         // Chebyshev nodes of the boundary in sqrt(time to expiry), tau = 0 included
  int fp_points;     // Gauss-Legendre points of each fixed-point integral
  int iterations;    // fixed-point iterations; the first is a partial Jacobi-Newton step
  int price_points;  // Gauss-Legendre points of the early-exercise premium integral
};

constexpr int kFpMaxNodes = 24;
constexpr int kFpMaxFpPoints = 32;
constexpr int kFpMaxPricePoints = 63;

// The scheme behind Model::fixed_point (chosen against QuantLib's high-precision engine).
FpScheme fp_default_scheme();

// One American value (right +1 call, -1 put).
double fixed_point_value(double right, double S, double K, double T, double r, double q,
                         double vol);

// out[j * out_stride] = value at spots[j]: one boundary for all spots.
void fixed_point_spots(double right, const double* spots, int64_t n_spots, double K, double T,
                       double r, double q, double vol, double* out, int64_t out_stride);

// Same with an explicit scheme (tests and tuning). Throws std::invalid_argument if a scheme
// field is outside [2, kFpMax*] (nodes), [1, kFpMax*] (the others).
void fixed_point_spots(const FpScheme& scheme, double right, const double* spots,
                       int64_t n_spots, double K, double T, double r, double q, double vol,
                       double* out, int64_t out_stride);

// Vectorised inner loops (american_fp_simd.cpp, compiled with -ffast-math). Every array has
// at least `n` finite entries, n a multiple of 8, 64-byte aligned; sd > 0. Like the kernel
// above, one copy per instruction set: the rest of the core calls fixed_point_spots, which goes
// through pricing_kernels().
struct FpTables;  // american_fp_tables.hpp

PMFAST_ISA_BEGIN
// fixed_point_spots for the tables of one scheme (american_fp_kernel.cpp).
void fixed_point_spots_kernel(const FpTables& tables, double right, const double* spots,
                              int64_t n_spots, double K, double T, double r, double q,
                              double vol, double* out, int64_t out_stride);

namespace fp_simd {
// d+ = a / sd + sd / 2, d- = d+ - sd: cdf_plus = N(d+), cdf_minus = N(d-).
void cdf_pair(int n, const double* a, const double* sd, double* cdf_plus, double* cdf_minus);
// As cdf_pair, plus pdf_plus = n(d+), pdf_minus = n(d-).
void pdf_cdf_pair(int n, const double* a, const double* sd, double* cdf_plus, double* cdf_minus,
                  double* pdf_plus, double* pdf_minus);
// term[k] = ar[k] N(-d-) - x aq[k] N(-d+), d+ = (ln_x - c[k]) inv_sd[k] + half_sd[k],
// d- = d+ - 2 half_sd[k]: the premium integrand at each quadrature point.
void premium_terms(int n, double ln_x, double x, const double* c, const double* inv_sd,
                   const double* half_sd, const double* ar, const double* aq, double* term);
// ln_b[i] = log(b[i]) and H[i] = (ln_b[i] - ln_xmax)^2 at every boundary node (b[i] > 0).
void log_boundary(int n, const double* b, double ln_xmax, double* ln_b, double* H);
// out[i] = scale[i] * exp(rate * arg[i]).
void scaled_exp(int n, double rate, const double* arg, const double* scale, double* out);
// QD+ (Li 2005) exercise boundary of a unit-strike put (r > 0) at each time to expiry tau[i] > 0:
// `iterations` Halley steps from B(0+) = xmax on the QD+ equation, all nodes in lock step.
void qdplus_boundary(int n, const double* tau, double r, double q, double vol, double xmax,
                     int iterations, double* b);
}  // namespace fp_simd
PMFAST_ISA_END

}  // namespace pmfast
