// Bivariate standard normal CDF M(a, b; rho) = P(X < a, Y < b), corr(X, Y) = rho.
// Drezner-Wesolowsky (1990) Gauss-Legendre quadrature of Plackett's identity, with Genz's (2004)
// refinements for |rho| near 1: double precision accuracy (about 1e-15 absolute). Used by
// Bjerksund-Stensland 2002, whose psi term needs it at rho = +-sqrt(t1 / T) ~ 0.786.
#pragma once
#include <cmath>

#include "pmfast_core/european.hpp"

namespace pmfast {

namespace bvn_detail {
// Positive Gauss-Legendre nodes and weights for 6, 12 and 20 points (symmetric halves).
constexpr double kX6[3] = {0.9324695142031519, 0.6612093864662645, 0.2386191860831969};
constexpr double kW6[3] = {0.17132449237917027, 0.3607615730481387, 0.46791393457269104};
constexpr double kX12[6] = {0.9815606342467192, 0.9041172563704748, 0.7699026741943047,
                            0.5873179542866175, 0.3678314989981802, 0.1252334085114689};
constexpr double kW12[6] = {0.04717533638651141, 0.10693932599531907, 0.16007832854334642,
                            0.20316742672306573, 0.2334925365383546, 0.2491470458134027};
constexpr double kX20[10] = {0.993128599185095,  0.9639719272779138, 0.912234428251326,
                             0.8391169718222188, 0.7463319064601508, 0.636053680726515,
                             0.5108670019508271, 0.37370608871541955, 0.22778585114164507,
                             0.07652652113349734};
constexpr double kW20[10] = {0.017614007139150893, 0.040601429800386446, 0.06267204833410879,
                             0.08327674157670471,  0.1019301198172407,   0.1181945319615186,
                             0.1316886384491769,   0.1420961093183824,   0.14917298647260424,
                             0.15275338713072628};
constexpr double kTwoPi = 6.283185307179586476925;
}  // namespace bvn_detail

// P(X > h, Y > k) for correlation r (Genz's BVNU).
inline double bvn_upper(double h, double k, double r) {
  using namespace bvn_detail;
  const double* x;
  const double* w;
  int lg;
  if (std::fabs(r) < 0.3) { x = kX6; w = kW6; lg = 3; }
  else if (std::fabs(r) < 0.75) { x = kX12; w = kW12; lg = 6; }
  else { x = kX20; w = kW20; lg = 10; }
  double hk = h * k;
  double bvn = 0.0;
  if (std::fabs(r) < 0.925) {
    // Plackett: integrate the density derivative along the correlation from 0 to r.
    const double hs = 0.5 * (h * h + k * k);
    const double asr = std::asin(r);
    for (int i = 0; i < lg; ++i) {
      double sn = std::sin(asr * (1.0 - x[i]) * 0.5);
      bvn += w[i] * std::exp((sn * hk - hs) / (1.0 - sn * sn));
      sn = std::sin(asr * (1.0 + x[i]) * 0.5);
      bvn += w[i] * std::exp((sn * hk - hs) / (1.0 - sn * sn));
    }
    return bvn * asr / (2.0 * kTwoPi) + norm_cdf(-h) * norm_cdf(-k);
  }
  // |r| near 1: expand around the perfectly correlated case.
  if (r < 0) { k = -k; hk = -hk; }
  if (std::fabs(r) < 1.0) {
    const double as = (1.0 - r) * (1.0 + r);
    double a = std::sqrt(as);
    const double bs = (h - k) * (h - k);
    const double c = (4.0 - hk) / 8.0;
    const double d = (12.0 - hk) / 16.0;
    double asr = -(bs / as + hk) / 2.0;
    if (asr > -100.0)
      bvn = a * std::exp(asr) * (1.0 - c * (bs - as) * (1.0 - d * bs / 5.0) / 3.0 + c * d * as * as / 5.0);
    if (hk > -100.0) {
      const double b = std::sqrt(bs);
      const double sp = std::sqrt(kTwoPi) * norm_cdf(-b / a);
      bvn -= std::exp(-hk / 2.0) * sp * b * (1.0 - c * bs * (1.0 - d * bs / 5.0) / 3.0);
    }
    a /= 2.0;
    for (int i = 0; i < lg; ++i) {
      for (double xi : {x[i], -x[i]}) {
        const double xs = (a * (xi + 1.0)) * (a * (xi + 1.0));
        const double rs = std::sqrt(1.0 - xs);
        asr = -(bs / xs + hk) / 2.0;
        if (asr > -100.0) {
          bvn += a * w[i] * std::exp(asr) *
                 (std::exp(-hk * xs / (2.0 * (1.0 + rs) * (1.0 + rs))) / rs -
                  (1.0 + c * xs * (1.0 + d * xs)));
        }
      }
    }
    bvn = -bvn / kTwoPi;
  }
  if (r > 0) return bvn + norm_cdf(-std::fmax(h, k));
  if (h >= k) return -bvn;
  const double l = h < 0 ? norm_cdf(k) - norm_cdf(h) : norm_cdf(-h) - norm_cdf(-k);
  return l - bvn;
}

// M(a, b; rho) = P(X < a, Y < b), clamped to [0, 1].
inline double bvn_cdf(double a, double b, double rho) {
  const double m = bvn_upper(-a, -b, rho);
  return m < 0.0 ? 0.0 : (m > 1.0 ? 1.0 : m);
}

}  // namespace pmfast
