#include "pmfast_core/pricing/implied_vol.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "pmfast_core/pricing/american.hpp"
#include "pmfast_core/common/errors.hpp"
#include "pmfast_core/pricing/european.hpp"
#include "pmfast_core/common/parallel.hpp"

namespace pmfast {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kRelTol = 1e-12;  // prices this close (relative to the scale) count as equal
constexpr double kMaxVol = 100.0;  // 10,000% a year: beyond it the price is at its upper bound

// T = 0: any volatility gives intrinsic value, so 0 answers a price at intrinsic.
double expiring(double price, double right, double S, double K) {
  const double intrinsic = std::max(right * (S - K), 0.0);
  return std::fabs(price - intrinsic) <= kRelTol * std::max({S, K, 1e-300}) ? 0.0 : kNaN;
}

// Out-of-the-money BSM value and its derivative in total deviation s = vol sqrt(T).
// fwd = S e^{-qT}, strike = K e^{-rT}, x = log(fwd / strike).
struct OtmValue {
  double value, dvalue;
};
OtmValue otm_value(double otm_right, double fwd, double strike, double x, double s) {
  const double d1 = x / s + 0.5 * s;
  const double d2 = d1 - s;
  const double v = otm_right * (fwd * norm_cdf(otm_right * d1) - strike * norm_cdf(otm_right * d2));
  return {std::max(v, 0.0), fwd * norm_pdf(d1)};
}

}  // namespace

double implied_vol_european(double price, double right, double S, double K, double T, double r,
                            double q) {
  if (T <= 0.0) return expiring(price, right, S, K);
  const double fwd = S * std::exp(-q * T);
  const double strike = K * std::exp(-r * T);
  const double upper = right > 0 ? fwd : strike;
  if (!(price < upper)) return kNaN;  // vol -> infinity (or the S = 0 / K = 0 limits)
  // Invert the out-of-the-money option (parity), whose price is pure time value: an OTM price is
  // used as given (however tiny), an ITM price loses its forward intrinsic value first, and a
  // few ulps of that subtraction's rounding count as zero time value.
  const double otm_right = fwd >= strike ? -1.0 : 1.0;
  double target = price;
  if (right != otm_right) {
    target = price - right * (fwd - strike);
    const double noise = kRelTol * std::max(price, 1e-300);
    if (target < -noise) return kNaN;  // below the discounted intrinsic value
    if (target <= noise) return 0.0;
  }
  if (!(target > 0.0)) return 0.0;
  const double x = std::log(fwd / strike);
  const double log_target = std::log(target);
  // Start at the inflection point of the value in s (sqrt(2|x|)), where Newton is safe, or at
  // the at-the-money approximation V ~ fwd s / sqrt(2 pi).
  double s = std::fabs(x) > 1e-8 ? std::sqrt(2.0 * std::fabs(x)) : target * 2.5066282746310002 / fwd;
  double lo = 0.0, hi = std::numeric_limits<double>::infinity();
  for (int iter = 0; iter < 100; ++iter) {
    const OtmValue ov = otm_value(otm_right, fwd, strike, x, s);
    if (ov.value > target) hi = s; else lo = s;
    double next;
    if (ov.value > 0.0 && ov.dvalue > 0.0) {
      // Newton on log V: the log flattens the exponential tails of deep out-of-the-money prices.
      const double f = std::log(ov.value) - log_target;
      if (std::fabs(f) < 1e-15) break;
      next = s - f * ov.value / ov.dvalue;
    } else {
      next = kNaN;
    }
    if (!(next > lo && next < hi)) next = std::isfinite(hi) ? 0.5 * (lo + hi) : 2.0 * s + 1e-3;
    const double step = std::fabs(next - s);
    s = next;
    if (step <= 1e-15 * s || (std::isfinite(hi) && hi - lo <= 1e-15 * hi)) break;
    if (s > kMaxVol * std::sqrt(T)) return kNaN;
  }
  return s / std::sqrt(T);
}

double implied_vol_model(double price, Model model, int steps, bool american, double right,
                         double S, double K, double T, double r, double q) {
  if (T <= 0.0) return expiring(price, right, S, K);
  auto value = [&](double vol) {
    return american ? american_value(model, steps, right, S, K, T, r, q, vol)
                    : crr_value(right, S, K, T, r, q, vol, steps, false);
  };
  const double upper = american ? (right > 0 ? S : K)
                                : (right > 0 ? S * std::exp(-q * T) : K * std::exp(-r * T));
  if (!(price < upper)) return kNaN;
  const double tol = kRelTol * std::max({S, K, 1e-300});
  double lo = 0.0, f_lo = value(0.0) - price;  // the exact zero-volatility value
  if (f_lo > tol) return kNaN;                  // below what any volatility gives
  if (f_lo >= -tol) return 0.0;
  double hi = 0.5, f_hi = value(hi) - price;
  while (f_hi < 0.0) {
    lo = hi;
    f_lo = f_hi;
    hi *= 2.0;
    if (hi > kMaxVol) return kNaN;
    f_hi = value(hi) - price;
  }
  // Illinois regula falsi: a secant inside the bracket, halving the stale end's weight.
  int side = 0;
  for (int iter = 0; iter < 200; ++iter) {
    const double v = (lo * f_hi - hi * f_lo) / (f_hi - f_lo);
    const double f = value(v) - price;
    if (f == 0.0) return v;
    if (f > 0.0) {
      hi = v;
      f_hi = f;
      if (side == 1) f_lo *= 0.5;
      side = 1;
    } else {
      lo = v;
      f_lo = f;
      if (side == -1) f_hi *= 0.5;
      side = -1;
    }
    if (hi - lo <= 1e-13 * hi || std::fabs(f) <= 1e-14 * std::max(price, 1e-300)) break;
  }
  return std::fabs(f_lo) < std::fabs(f_hi) ? lo : hi;
}

void implied_vol_options(const OptionArrays& o, const double* price, Model model, int steps,
                         bool american, double* out, int n_threads) {
  validate_market(o);
  check_column("price", price, o.n, false);
  check_model(model, steps);
  const bool european = !american && (model == Model::bsm || model == Model::black76);
  if (!european && !american && model != Model::crr)
    throw InputError("implied_vol: a European implied vol needs bsm, black76 or crr");
  parallel_for(o.n, n_threads, 256, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      const double right = o.right[i];
      if (european) {
        const double q = model == Model::black76 ? o.r[i] : o.q[i];
        out[i] = implied_vol_european(price[i], right, o.S[i], o.K[i], o.T[i], o.r[i], q);
      } else {
        out[i] = implied_vol_model(price[i], model, steps, american, right, o.S[i], o.K[i],
                                   o.T[i], o.r[i], o.q[i]);
      }
    }
  });
}

}  // namespace pmfast
