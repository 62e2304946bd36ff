// The fixed-point engine's work per option (american_fp.cpp has the method and the tables):
// solve the exercise boundary of a unit-strike put, then value it at each spot. Compiled once
// per instruction set (CMakeLists.txt, PMFAST_ISAS) and reached through pricing_kernels(), so
// the scalar glue around the vector loops (the boundary interpolation, the fixed-point sums)
// also runs with AVX2 / AVX-512 and FMA where the CPU has them. Not -ffast-math: the
// iteration relies on isfinite and on IEEE rounding.
#include <algorithm>
#include <cmath>

#include "pmfast_core/pricing/american.hpp"
#include "pmfast_core/pricing/american_fp_tables.hpp"
#include "pmfast_core/pricing/european.hpp"

namespace pmfast {
PMFAST_ISA_BEGIN

namespace {

// Below this vol sqrt(T) the premium integrand is a step in time that no fixed quadrature
// resolves; the value is then the larger of the exact zero-volatility American value (the
// rule of QuantLib's QD+ edge cases) and the European value, which keeps the at-the-money time
// value. Both are within a fraction of vol sqrt(T) K < 1e-5 K of the true value.
constexpr double kDeterministicVolTime = 1e-5;
// Rates this close to zero from above count as zero for the boundary (keeps QD+ finite).
constexpr double kTinyRate = 1e-12;
// Tree used in the rare double-boundary regime q < r < 0 (put) / r < q < 0 (call).
constexpr int kFallbackSteps = 500;  // averaged with 501 steps: error ~1e-4 K

int round_up8(int n) { return (n + 7) / 8 * 8; }

enum class FpKind { expired, deterministic, european, boundary, tree };

// A unit-strike American put ready to be valued at any spot x.
struct FpPut {
  FpKind kind = FpKind::expired;
  double r = 0, q = 0, vol = 0, T = 0;
  double b_T = 0;  // exercise boundary at time to expiry T: x <= b_T is exercised now
  int p = 0, p8 = 0;
  // Premium quadrature (k < p) and the European term (k = p), see fp_simd::premium_terms.
  alignas(64) double c[kFpMaxPricePoints + 1];
  alignas(64) double inv_sd[kFpMaxPricePoints + 1];
  alignas(64) double half_sd[kFpMaxPricePoints + 1];
  alignas(64) double ar[kFpMaxPricePoints + 1];
  alignas(64) double aq[kFpMaxPricePoints + 1];
};

constexpr int kCapM = (kFpMaxNodes * kFpMaxFpPoints + kFpMaxNodes + 7) / 8 * 8;
constexpr int kCapNodes = (kFpMaxNodes + 7) / 8 * 8;
// Halley steps of the QD+ initial boundary (from B(0+); converged to ~1e-9 for our inputs).
constexpr int kQdPlusIterations = 8;

// Solves the boundary of a unit-strike put (r > 0) and fills the premium quadrature.
void solve_boundary(const FpTables& tb, FpPut& put) {
  const double r = put.r, q = put.q, vol = put.vol, T = put.T;
  const int n1 = tb.n1, l = tb.s.fp_points, m = tb.m, m8 = tb.m8;
  const double xmax = (q > 0.0) ? std::min(1.0, r / q) : 1.0;
  const double ln_xmax = std::log(xmax);
  const bool smooth_pasting = std::fabs(r - q) < 1e-3;

  alignas(64) double tau[kCapNodes], b[kCapNodes];
  alignas(64) double ln_b[kCapNodes], H[kCapNodes];
  double sqrt_tau[kFpMaxNodes], sqrt_h[kFpMaxNodes];
  double fwd[kFpMaxNodes];
  alignas(64) double a[kCapM], sd[kCapM], wr[kCapM], wq[kCapM], arg[kCapM], scale[kCapM];
  alignas(64) double cp[kCapM], cm[kCapM], pp[kCapM], pm[kCapM], Hq[kCapM];

  // Initial boundary: QD+ at every node (padding repeats node 0 to stay finite).
  const int n1_8 = round_up8(n1);
  for (int j = 0; j < n1_8; ++j) {
    const int jj = (j < n1) ? j : 0;
    tau[j] = T * tb.node_frac[jj] * tb.node_frac[jj];
  }
  fp_simd::qdplus_boundary(n1_8, tau, r, q, vol, xmax, kQdPlusIterations, b);
  for (int j = 0; j < n1; ++j) {
    sqrt_tau[j] = std::sqrt(T) * tb.node_frac[j];
    fwd[j] = std::exp(-(r - q) * tau[j]);
  }
  fp_simd::log_boundary(n1_8, b, ln_xmax, ln_b, H);

  // Per quadrature point: u = tau sin^2, tau - u = tau cos^2; weights r e^{ru} du, q e^{qu} du.
  for (int j = 0; j < n1; ++j) {
    for (int k = 0; k < l; ++k) {
      const int e = j * l + k;
      sd[e] = vol * sqrt_tau[j] * tb.fp_cos[k];
      arg[e] = tau[j] * tb.fp_sin2[k];
      scale[e] = tau[j] * tb.fp_wt[k];
      if (smooth_pasting) scale[e] /= sd[e];  // the density form divides by vol sqrt(tau - u)
    }
  }
  for (int e = m; e < m8; ++e) {
    sd[e] = 1.0;
    arg[e] = 0.0;
    scale[e] = 0.0;
    a[e] = 0.0;
  }
  fp_simd::scaled_exp(m8, r, arg, scale, wr);
  fp_simd::scaled_exp(m8, q, arg, scale, wq);
  for (int e = 0; e < m; ++e) {
    wr[e] *= r;
    wq[e] *= q;
  }
  // The nodes' own terms d+-(tau_j, b_j / 1) ride in slots m + j of the same vectors.
  for (int j = 0; j < n1; ++j) sd[m + j] = vol * sqrt_tau[j];

  for (int iter = 0; iter < tb.s.iterations; ++iter) {
    // H at every quadrature point from H at the nodes (H = 0 at tau = 0 contributes nothing).
    for (int e = 0; e < m; ++e) Hq[e] = 0.0;
    for (int i = 0; i < n1; ++i) {
      const double* w = tb.fp_interp.data() + static_cast<size_t>(i) * m;
      const double hi = H[i];
      for (int e = 0; e < m; ++e) Hq[e] += w[e] * hi;
    }
    for (int j = 0; j < n1; ++j) sqrt_h[j] = std::sqrt(H[j]);
    for (int j = 0; j < n1; ++j) {
      for (int k = 0; k < l; ++k) {
        const int e = j * l + k;
        // ln(B(tau_j) / B(u)) = sqrt(H(u)) - sqrt(H(tau_j)), plus the drift (r - q)(tau - u).
        a[e] = std::sqrt(std::max(Hq[e], 0.0)) - sqrt_h[j] + (r - q) * (tau[j] - arg[e]);
      }
      a[m + j] = ln_b[j] + (r - q) * tau[j];
    }
    if (smooth_pasting)
      fp_simd::pdf_cdf_pair(m8, a, sd, cp, cm, pp, pm);
    else
      fp_simd::cdf_pair(m8, a, sd, cp, cm);

    const bool newton = (iter == 0);
    for (int j = 0; j < n1; ++j) {
      double N, D, Nd, Dd;  // Nd, Dd: derivatives of the non-integral terms in b
      const double v = sd[m + j];
      if (smooth_pasting) {
        double ni = 0.0, di = 0.0;
        for (int k = 0; k < l; ++k) {
          const int e = j * l + k;
          ni += wr[e] * pm[e];
          di += wq[e] * (pp[e] + sd[e] * cp[e]);  // scale carried 1 / sd for the density
        }
        const double dp = a[m + j] / v + 0.5 * v, dm = dp - v;
        N = pm[m + j] / v + ni;
        D = pp[m + j] / v + cp[m + j] + di;
        Nd = -pm[m + j] * dm / (b[j] * v * v);
        Dd = -pp[m + j] * dp / (b[j] * v * v) + pp[m + j] / (b[j] * v);
      } else {
        double ni = 0.0, di = 0.0;
        for (int k = 0; k < l; ++k) {
          const int e = j * l + k;
          ni += wr[e] * cm[e];
          di += wq[e] * cp[e];
        }
        N = cm[m + j] + ni;
        D = cp[m + j] + di;
        if (newton) {
          const double dp = a[m + j] / v + 0.5 * v;
          Nd = norm_pdf(dp - v) / (b[j] * v);
          Dd = norm_pdf(dp) / (b[j] * v);
        } else {
          Nd = Dd = 0.0;
        }
      }
      if (!(N > 0.0) || !(D > 0.0)) continue;  // keep the node (cannot happen for valid input)
      const double f = fwd[j] * N / D;
      double next = f;
      if (newton) {
        const double fd = fwd[j] * (Nd / D - Dd * N / (D * D));
        const double nb = b[j] - (f - b[j]) / (fd - 1.0);
        if (std::isfinite(nb) && nb > 0.0) next = nb;
      }
      next = std::min(std::max(next, 1e-12 * xmax), xmax);
      b[j] = next;
    }
    fp_simd::log_boundary(n1_8, b, ln_xmax, ln_b, H);  // padding nodes keep finite values
  }

  // Premium quadrature at t_k = T sin^2(theta_k); the boundary there is B(T - t_k).
  const int p = tb.s.price_points;
  put.p = p;
  put.p8 = tb.p8;
  put.b_T = b[0];
  const double sT = std::sqrt(T);
  for (int k = 0; k < p; ++k) {
    double hk = 0.0;
    for (int i = 0; i < n1; ++i) hk += tb.pr_interp[static_cast<size_t>(i) * p + k] * H[i];
    const double ln_b = ln_xmax - std::sqrt(std::max(hk, 0.0));
    const double t = T * tb.pr_sin2[k];
    const double s = vol * sT * tb.pr_sin[k];
    put.c[k] = ln_b - (r - q) * t;
    put.inv_sd[k] = 1.0 / s;
    put.half_sd[k] = 0.5 * s;
    arg[k] = t;
    scale[k] = T * tb.pr_wt[k];
  }
  for (int k = p; k < put.p8; ++k) arg[k] = scale[k] = 0.0;
  fp_simd::scaled_exp(put.p8, -r, arg, scale, wr);
  fp_simd::scaled_exp(put.p8, -q, arg, scale, wq);
  for (int k = 0; k < p; ++k) {
    put.ar[k] = r * wr[k];
    put.aq[k] = q * wq[k];
  }
}

// The European put (unit strike) in slot p, padding after it.
void fill_european_slot(FpPut& put) {
  const double s = put.vol * std::sqrt(put.T);
  put.c[put.p] = -(put.r - put.q) * put.T;
  put.inv_sd[put.p] = 1.0 / s;
  put.half_sd[put.p] = 0.5 * s;
  put.ar[put.p] = std::exp(-put.r * put.T);
  put.aq[put.p] = std::exp(-put.q * put.T);
  for (int k = put.p + 1; k < put.p8; ++k) {
    put.c[k] = 0.0;
    put.inv_sd[k] = 1.0;
    put.half_sd[k] = 0.0;
    put.ar[k] = put.aq[k] = 0.0;
  }
}

void prepare_put(const FpTables& tb, double r, double q, double vol, double T, FpPut& put) {
  put.r = r;
  put.q = q;
  put.vol = vol;
  put.T = T;
  if (!(T > 0.0)) {
    put.kind = FpKind::expired;
    return;
  }
  if (vol * std::sqrt(T) < kDeterministicVolTime) {
    put.kind = FpKind::deterministic;
    return;
  }
  if (r <= 0.0 && q >= r) {
    put.kind = FpKind::european;  // never optimal to exercise early
  } else if (r < 0.0) {
    put.kind = FpKind::tree;  // q < r < 0: two exercise boundaries
    return;
  } else {
    put.r = std::max(r, kTinyRate);  // r = 0 with q < 0: single boundary starting at K
    put.kind = FpKind::boundary;
  }
  if (put.kind == FpKind::boundary) {
    solve_boundary(tb, put);
  } else {
    put.p = 0;
    put.p8 = 8;
    put.b_T = 0.0;
  }
  fill_european_slot(put);
}

// Value of the prepared unit-strike put at spot x >= 0.
double put_value(const FpPut& put, double x) {
  const double intrinsic = std::max(1.0 - x, 0.0);
  switch (put.kind) {
    case FpKind::expired: return intrinsic;
    case FpKind::deterministic:
      // Exact zero-volatility value of the unit-strike American put (spot on its forward).
      return std::max(zero_vol_value(-1.0, x, 1.0, put.T, put.r, put.q, true),
                      bsm_value(-1.0, x, 1.0, put.T, put.r, put.q, put.vol));
    case FpKind::tree: {
      const double a = crr_value(-1.0, x, 1.0, put.T, put.r, put.q, put.vol, kFallbackSteps, true);
      const double b = crr_value(-1.0, x, 1.0, put.T, put.r, put.q, put.vol, kFallbackSteps + 1, true);
      const double european = bsm_value(-1.0, x, 1.0, put.T, put.r, put.q, put.vol);
      return std::max(0.5 * (a + b), std::max(european, intrinsic));
    }
    default: break;
  }
  if (x <= 0.0) return std::max(1.0, std::exp(-put.r * put.T));
  if (put.kind == FpKind::boundary && x <= put.b_T) return intrinsic;
  alignas(64) double term[kFpMaxPricePoints + 1 + 8];
  fp_simd::premium_terms(put.p8, std::log(x), x, put.c, put.inv_sd, put.half_sd, put.ar, put.aq,
                         term);
  double premium = 0.0;
  for (int k = 0; k < put.p; ++k) premium += term[k];
  const double european = std::max(term[put.p], 0.0);
  return std::max(european + std::max(premium, 0.0), intrinsic);
}

}  // namespace

void fixed_point_spots_kernel(const FpTables& tb, double right, const double* spots,
                              int64_t n_spots, double K, double T, double r, double q,
                              double vol, double* out, int64_t out_stride) {
  FpPut put;
  if (right < 0.0) {
    if (!(K > 0.0)) {
      for (int64_t j = 0; j < n_spots; ++j) out[j * out_stride] = 0.0;
      return;
    }
    prepare_put(tb, r, q, vol, T, put);
    // The intrinsic floor is re-applied in the caller's units: K (1 - S/K) may round below K - S.
    for (int64_t j = 0; j < n_spots; ++j)
      out[j * out_stride] = std::max(K * put_value(put, spots[j] / K), K - spots[j]);
    return;
  }
  // call(S, K, r, q) = put(K, S, q, r) = S v(K / S) with the rates swapped.
  prepare_put(tb, q, r, vol, T, put);
  for (int64_t j = 0; j < n_spots; ++j) {
    const double S = spots[j];
    out[j * out_stride] = (S > 0.0) ? std::max(S * put_value(put, K / S), S - K) : 0.0;
  }
}

PMFAST_ISA_END
}  // namespace pmfast
