// Cox-Ross-Rubinstein binomial tree in Hull's parameterisation:
// u = e^{vol sqrt(dt)}, d = 1/u, p = (e^{(r-q)dt} - d) / (u - d), discount e^{-r dt}.
//
// Speed: the backward induction touches steps^2 / 2 nodes, so the inner loop is kept to a
// multiply-add, a multiply and a max over contiguous arrays (it vectorises): the spot of node j
// at step n is S u^{2j-n}, and stepping back one level multiplies every node's spot by u
// (S u^{2j-n} u = S u^{2j-(n-1)}), so no pow() is evaluated inside the tree.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "pmfast_core/pricing/american.hpp"
#include "pmfast_core/common/errors.hpp"
#include "pmfast_core/common/interrupt.hpp"
#include "pmfast_core/pricing/european.hpp"

namespace pmfast {

double crr_value(double right, double S, double K, double T, double r, double q, double vol,
                 int steps, bool american) {
  const double intrinsic = std::max(right * (S - K), 0.0);
  if (T <= 0.0) return intrinsic;
  if (steps < 1) throw InputError("steps must be >= 1");
  // n + 1 nodes must fit an int and the two buffers memory (80 MB each at the cap)
  if (steps > kMaxCrrSteps) throw InputError("steps must be <= 10,000,000");
  const double dt = T / steps;
  const double u = std::exp(vol * std::sqrt(dt));
  const double d = 1.0 / u;
  const double growth = std::exp((r - q) * dt);
  const double p = (growth - d) / (u - d);
  if (!(vol > 0.0) || !(p >= 0.0 && p <= 1.0) || S <= 0.0 || K <= 0.0) {
    // Zero or tiny volatility (the drift outruns the tree): no valid probabilities; the spot
    // follows its forward, and the exact zero-volatility limit is used.
    // S or K zero: the payoff is linear on the whole tree, so the American value is the better
    // of exercising now and holding (a zero-strike call, a zero-spot put); the European value
    // is discounted. Both are the zero-volatility value.
    const double v = zero_vol_value(right, S, K, T, r, q, american);
    return american ? std::max(v, intrinsic) : v;
  }
  const double disc = std::exp(-r * dt);
  const double pu = disc * p, pd = disc * (1.0 - p);
  const int n = steps;
  thread_local std::vector<double> value_buf, spot_buf;
  value_buf.resize(n + 1);
  spot_buf.resize(n + 1);
  double* value = value_buf.data();
  double* spot = spot_buf.data();
  // Leaves: spot S u^{2j - n}, built by repeated multiplication by u^2 from S d^n.
  const double u2 = u * u;
  spot[0] = S * std::exp(-vol * std::sqrt(dt) * n);
  for (int j = 1; j <= n; ++j) spot[j] = spot[j - 1] * u2;
  for (int j = 0; j <= n; ++j) value[j] = std::max(right * (spot[j] - K), 0.0);
  // One option's tree can run for hours (steps^2 / 2 nodes): Ctrl-C is checked every
  // ~kInterruptNodes nodes (a few milliseconds), i.e. every kInterruptNodes / steps levels.
  constexpr int64_t kInterruptNodes = int64_t{1} << 22;
  const int interrupt_rows = static_cast<int>(std::max<int64_t>(1, kInterruptNodes / (n + 1)));
  if (american) {
    for (int step = n - 1; step >= 0; --step) {
      if (step % interrupt_rows == 0) check_interrupt();
#pragma omp simd
      for (int j = 0; j <= step; ++j) {
        spot[j] *= u;
        const double cont = pu * value[j + 1] + pd * value[j];
        const double exer = right * (spot[j] - K);
        value[j] = cont > exer ? cont : exer;
      }
    }
  } else {
    for (int step = n - 1; step >= 0; --step) {
      if (step % interrupt_rows == 0) check_interrupt();
#pragma omp simd
      for (int j = 0; j <= step; ++j) value[j] = pu * value[j + 1] + pd * value[j];
    }
  }
  // The root's spot carries ~n rounding steps of the u multiplications: exercise at exactly S.
  return american ? std::max(value[0], intrinsic) : value[0];
}

}  // namespace pmfast
