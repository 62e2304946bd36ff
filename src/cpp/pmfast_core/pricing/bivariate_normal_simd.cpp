// The bivariate normal CDF at Bjerksund-Stensland 2002's fixed correlation, vectorised: the
// Drezner-Wesolowsky nodes sin(asin(rho)(1 -+ x_i)/2) depend on rho only, so for rho =
// +-sqrt((sqrt(5) - 1)/2) they are computed once and each call costs 20 exp (libmvec, this file
// is compiled with -ffast-math; arguments are finite) and two erfc.
#include <cmath>

#include "pmfast_core/pricing/bivariate_normal.hpp"

namespace pmfast {
PMFAST_ISA_BEGIN

namespace {
struct FixedRhoNodes {
  alignas(64) double sn[20];
  alignas(64) double inv[20];     // 1 / (1 - sn^2)
  alignas(64) double weight[20];  // w_i asin(rho) / (4 pi)
  explicit FixedRhoNodes(double rho) {
    using namespace bvn_detail;
    const double asr = std::asin(rho);
    for (int i = 0; i < 10; ++i) {
      for (int side = 0; side < 2; ++side) {
        const int j = 2 * i + side;
        sn[j] = std::sin(asr * (side == 0 ? 1.0 - kX20[i] : 1.0 + kX20[i]) * 0.5);
        inv[j] = 1.0 / (1.0 - sn[j] * sn[j]);
        weight[j] = kW20[i] * asr / (2.0 * kTwoPi);
      }
    }
  }
};
}  // namespace

double bvn_cdf_bjs(double a, double b, bool negative_rho) {
  static const FixedRhoNodes pos(kBjsRho), neg(-kBjsRho);
  const FixedRhoNodes& t = negative_rho ? neg : pos;
  // P(X < a, Y < b) = P(X > h, Y > k) with h = -a, k = -b (Genz's BVNU, |rho| < 0.925 branch).
  const double hk = a * b, hs = 0.5 * (a * a + b * b);
  double sum = 0.0;
#pragma omp simd reduction(+ : sum)
  for (int j = 0; j < 20; ++j) sum += t.weight[j] * std::exp((t.sn[j] * hk - hs) * t.inv[j]);
  const double m = sum + norm_cdf(a) * norm_cdf(b);
  return m < 0.0 ? 0.0 : (m > 1.0 ? 1.0 : m);
}

PMFAST_ISA_END
}  // namespace pmfast
