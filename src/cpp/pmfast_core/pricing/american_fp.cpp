// Fixed-point American engine (Andersen, Lake & Offengenden 2016). Notation of the paper, for
// an American put with unit strike, rate r, yield q, volatility vol, time to expiry tau:
//
//   value(x) = european(x) + int_0^T [ r e^{-rt} N(-d-(t, x/B(T-t))) - q x e^{-qt} N(-d+(...)) ] dt
//   B(tau)   = e^{-(r-q) tau} N(tau, B) / D(tau, B)                      (the fixed point)
//
// with d+-(t, z) = (ln z + (r - q) t) / (vol sqrt t) +- vol sqrt(t) / 2. Two forms of (N, D):
// the value-matching form (N = N(d-) + r int e^{ru} N(d-) du, D likewise with q and d+) and the
// smooth-pasting form (densities over vol sqrt(tau - u)); as QuantLib's QdFp engine does, the
// second is used only when |r - q| is small, where the first converges slowly.
//
// Discretisation: B is interpolated in sqrt(tau) on Chebyshev extrema through
// H = (ln(B / B(0+)))^2, which is smooth near expiry where B itself has a sqrt(tau ln tau) edge.
// Every integral substitutes u = tau sin^2(theta), theta in [0, pi/2]: sqrt(u) = sqrt(tau) sin and
// sqrt(tau - u) = sqrt(tau) cos are then both smooth, so Gauss-Legendre converges spectrally at
// both ends. The quadrature points therefore sit at fixed Chebyshev coordinates whatever
// (r, q, vol, T) are, and the interpolation weights are computed once per scheme.
#include "pmfast_core/pricing/american_fp.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include "pmfast_core/pricing/american_fp_tables.hpp"
#include "pmfast_core/pricing/pricing_kernels.hpp"

namespace pmfast {

namespace {

constexpr double kPi = 3.14159265358979323846;
int round_up8(int n) { return (n + 7) / 8 * 8; }

// P_n(z) and P_n'(z) by the three-term recurrence.
void legendre(int n, double z, double& p_n, double& dp_n) {
  double p0 = 1.0, p1 = z;
  for (int k = 2; k <= n; ++k) {
    const double p2 = ((2.0 * k - 1.0) * z * p1 - (k - 1.0) * p0) / k;
    p0 = p1;
    p1 = p2;
  }
  p_n = p1;
  dp_n = n * (z * p1 - p0) / (z * z - 1.0);
}

// Gauss-Legendre nodes and weights on [-1, 1] (Newton on the Legendre recurrence).
void gauss_legendre(int n, std::vector<double>& x, std::vector<double>& w) {
  x.assign(n, 0.0);
  w.assign(n, 0.0);
  for (int i = 0; i < n; ++i) {
    double z = std::cos(kPi * (i + 0.75) / (n + 0.5));
    double p1 = 0.0, dp = 1.0;
    for (int it = 0; it < 100; ++it) {
      legendre(n, z, p1, dp);
      const double dz = p1 / dp;
      z -= dz;
      if (std::fabs(dz) < 1e-16) break;
    }
    legendre(n, z, p1, dp);
    x[i] = z;
    w[i] = 2.0 / ((1.0 - z * z) * dp * dp);
  }
}

// Lagrange basis of the Chebyshev extrema z_j = cos(j pi / (n - 1)) at z (barycentric form).
void chebyshev_basis(int n, double z, double* basis) {
  double denom = 0.0;
  for (int j = 0; j < n; ++j) {
    const double zj = std::cos(kPi * j / (n - 1));
    if (std::fabs(z - zj) < 1e-14) {
      for (int i = 0; i < n; ++i) basis[i] = (i == j) ? 1.0 : 0.0;
      return;
    }
    const double wj = ((j % 2) ? -1.0 : 1.0) * ((j == 0 || j == n - 1) ? 0.5 : 1.0);
    basis[j] = wj / (z - zj);
    denom += basis[j];
  }
  for (int j = 0; j < n; ++j) basis[j] /= denom;
}

std::unique_ptr<FpTables> make_tables(const FpScheme& s) {
  auto t = std::make_unique<FpTables>();
  t->s = s;
  const int n = s.nodes, l = s.fp_points, p = s.price_points;
  t->n1 = n - 1;
  t->m = t->n1 * l;
  t->m8 = round_up8(t->m + t->n1);
  t->p8 = round_up8(p + 1);
  for (int j = 0; j < t->n1; ++j) t->node_frac.push_back(0.5 * (1.0 + std::cos(kPi * j / (n - 1))));

  std::vector<double> gx, gw, basis(n);
  gauss_legendre(l, gx, gw);
  for (int k = 0; k < l; ++k) {
    const double theta = 0.25 * kPi * (1.0 + gx[k]);
    t->fp_cos.push_back(std::cos(theta));
    t->fp_sin2.push_back(std::sin(theta) * std::sin(theta));
    t->fp_wt.push_back(0.25 * kPi * gw[k] * std::sin(2.0 * theta));
  }
  t->fp_interp.assign(static_cast<size_t>(t->n1) * t->m, 0.0);
  for (int j = 0; j < t->n1; ++j) {
    for (int k = 0; k < l; ++k) {
      // sqrt(u / T) = node_frac[j] sin(theta): Chebyshev coordinate 2 sqrt(u / T) - 1.
      const double z = 2.0 * t->node_frac[j] * std::sqrt(t->fp_sin2[k]) - 1.0;
      chebyshev_basis(n, z, basis.data());
      for (int i = 0; i < t->n1; ++i) t->fp_interp[static_cast<size_t>(i) * t->m + j * l + k] = basis[i];
    }
  }

  gauss_legendre(p, gx, gw);
  t->pr_interp.assign(static_cast<size_t>(t->n1) * p, 0.0);
  for (int k = 0; k < p; ++k) {
    const double theta = 0.25 * kPi * (1.0 + gx[k]);
    t->pr_sin.push_back(std::sin(theta));
    t->pr_sin2.push_back(std::sin(theta) * std::sin(theta));
    t->pr_wt.push_back(0.25 * kPi * gw[k] * std::sin(2.0 * theta));
    // The boundary is needed at time to expiry T - t = T cos^2(theta).
    chebyshev_basis(n, 2.0 * std::cos(theta) - 1.0, basis.data());
    for (int i = 0; i < t->n1; ++i) t->pr_interp[static_cast<size_t>(i) * p + k] = basis[i];
  }
  return t;
}

void check_scheme(const FpScheme& s) {
  if (s.nodes < 2 || s.nodes > kFpMaxNodes || s.fp_points < 1 || s.fp_points > kFpMaxFpPoints ||
      s.iterations < 1 || s.iterations > 100 || s.price_points < 1 ||
      s.price_points > kFpMaxPricePoints)
    throw std::invalid_argument("fixed_point scheme out of range");
}

const FpTables& tables_for(const FpScheme& s) {
  static const FpScheme def = fp_default_scheme();
  static const std::unique_ptr<FpTables> def_tables = make_tables(def);
  if (s.nodes == def.nodes && s.fp_points == def.fp_points && s.iterations == def.iterations &&
      s.price_points == def.price_points)
    return *def_tables;
  check_scheme(s);
  static std::mutex mutex;
  static std::map<std::tuple<int, int, int, int>, std::unique_ptr<FpTables>> cache;
  std::lock_guard<std::mutex> lock(mutex);
  auto& slot = cache[std::make_tuple(s.nodes, s.fp_points, s.iterations, s.price_points)];
  if (!slot) slot = make_tables(s);
  return *slot;
}

}  // namespace

// 8 nodes, 8-point fixed-point integrals, 5 iterations, 15-point premium integral: against
// QuantLib's high-precision QdFp engine, mean scaled error ~2e-7 and max ~2e-5 on the issue's
// random book; the iterations also keep the delta jump at the exercise boundary below 3e-4.
FpScheme fp_default_scheme() { return FpScheme{8, 8, 5, 15}; }

void fixed_point_spots(const FpScheme& scheme, double right, const double* spots,
                       int64_t n_spots, double K, double T, double r, double q, double vol,
                       double* out, int64_t out_stride) {
  pricing_kernels().fixed_point_spots(tables_for(scheme), right, spots, n_spots, K, T, r, q, vol,
                                      out, out_stride);
}

void fixed_point_spots(double right, const double* spots, int64_t n_spots, double K, double T,
                       double r, double q, double vol, double* out, int64_t out_stride) {
  fixed_point_spots(fp_default_scheme(), right, spots, n_spots, K, T, r, q, vol, out, out_stride);
}

double fixed_point_value(double right, double S, double K, double T, double r, double q,
                         double vol) {
  double out;
  fixed_point_spots(right, &S, 1, K, T, r, q, vol, &out, 1);
  return out;
}

}  // namespace pmfast
