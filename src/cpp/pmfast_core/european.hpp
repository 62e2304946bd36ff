// Black-Scholes-Merton and Black-76 for one option, written so the batch loops vectorise:
// no branches that depend on data, only selects, and every limit handled by clamping.
#pragma once
#include <cmath>

namespace pmfast {

// Standard normal CDF. erfc keeps full relative accuracy in the lower tail.
inline double norm_cdf(double x) { return 0.5 * std::erfc(-x * 0.70710678118654752440); }

inline double norm_pdf(double x) { return 0.39894228040143267794 * std::exp(-0.5 * x * x); }

// BSM value of a call (right = +1) or put (right = -1) on a spot S with continuous yield q.
// Limits: T = 0 or vol = 0 gives the discounted forward intrinsic value; K = 0 gives the
// call the prepaid forward S e^{-qT}; S = 0 gives the put K e^{-rT}. d1 is clamped so no
// infinity is ever formed (the *_simd.cpp callers are compiled with -ffast-math).
inline double bsm_value(double right, double S, double K, double T, double r, double q, double vol) {
  constexpr double kTiny = 1e-300;
  constexpr double kMaxD = 40.0;  // N(40) == 1 in double precision
  const double fwd = S * std::exp(-q * T);   // prepaid forward
  const double strike = K * std::exp(-r * T);  // discounted strike
  const double sd = vol * std::sqrt(T);
  const double sd_safe = sd > kTiny ? sd : kTiny;
  double d1 = (std::log((fwd + kTiny) / (strike + kTiny)) + 0.5 * sd * sd) / sd_safe;
  d1 = d1 > kMaxD ? kMaxD : (d1 < -kMaxD ? -kMaxD : d1);
  const double d2 = d1 - sd;
  const double value = right * (fwd * norm_cdf(right * d1) - strike * norm_cdf(right * d2));
  return value > 0.0 ? value : 0.0;
}

// Black-76: an option on a future with price F; the premium is discounted at r.
inline double black76_value(double right, double F, double K, double T, double r, double vol) {
  return bsm_value(right, F, K, T, r, r, vol);
}

}  // namespace pmfast
