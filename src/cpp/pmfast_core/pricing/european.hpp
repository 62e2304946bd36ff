// Black-Scholes-Merton and Black-76 for one option, written so the batch loops vectorise:
// no branches that depend on data, only selects, and every limit handled by clamping.
#pragma once
#include <cmath>

#include "pmfast_core/dispatch/isa_namespace.hpp"

namespace pmfast {
PMFAST_ISA_BEGIN

// Standard normal CDF. erfc keeps full relative accuracy in the lower tail.
inline double norm_cdf(double x) { return 0.5 * std::erfc(-x * 0.70710678118654752440); }

inline double norm_pdf(double x) { return 0.39894228040143267794 * std::exp(-0.5 * x * x); }

// log N(x), accurate where N(x) underflows: below x = -30 the asymptotic series
// N(x) ~ n(x)/(-x) (1 - 1/x^2 + 3/x^4 - 15/x^6) has relative error < 1e-10.
inline double log_norm_cdf(double x) {
  if (x > -30.0) return std::log(norm_cdf(x));
  const double z = 1.0 / (x * x);
  return -0.5 * x * x - std::log(-x) - 0.91893853320467274178 +
         std::log1p(z * (-1.0 + z * (3.0 - 15.0 * z)));
}

// Zero-volatility limit of an option on a spot that grows deterministically at r - q:
// exercising at time t is worth right (S e^{-qt} - K e^{-rt}) today. European: t = T only.
// American: the best t in [0, T]; f(t) has at most one stationary point, so the maximum is at
// t = 0, t = T or t* = ln(rK / (qS)) / (r - q).
inline double zero_vol_value(double right, double S, double K, double T, double r, double q,
                             bool american) {
  auto at = [&](double t) { return right * (S * std::exp(-q * t) - K * std::exp(-r * t)); };
  double best = at(T);
  if (american) {
    best = std::fmax(best, at(0.0));
    const double ratio = (q * S != 0.0) ? (r * K) / (q * S) : 0.0;
    if (r != q && ratio > 0.0) {
      const double t_star = std::log(ratio) / (r - q);
      if (t_star > 0.0 && t_star < T) best = std::fmax(best, at(t_star));
    }
  }
  return best > 0.0 ? best : 0.0;
}

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

PMFAST_ISA_END
}  // namespace pmfast
