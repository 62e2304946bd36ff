// Bjerksund-Stensland American approximations: 1993 (one flat exercise boundary) and 2002 (a
// two-piece boundary split at t1 = (sqrt(5) - 1)/2 T). Both price calls; a put is the call with
// spot and strike, and rate and yield, swapped (the put-call transformation
// P(S, K, T, r, q, vol) = C(K, S, T, q, r, vol)).
//
// Numerics. Terms like alpha S^beta and (I/S)^kappa N(d) overflow or underflow separately at
// small volatility (kappa = 2b/vol^2 + ...) while their product stays finite, so every product
// is formed in log space. Exact limits are handled before the formula: T = 0 (intrinsic),
// S = 0 or K = 0, a call with q <= 0 and r >= 0 (never exercised early: the European value;
// with r < 0 paying the strike later costs more, so a deep in-the-money call is exercised and
// the value is floored at intrinsic), and
// vol sqrt(T) below kTinySd (the deterministic zero-volatility value). The result is floored at
// max(intrinsic, European), which the approximations may otherwise undershoot slightly.
#include <algorithm>
#include <cmath>
#include <limits>

#include "pmfast_core/pricing/american.hpp"
#include "pmfast_core/pricing/bivariate_normal.hpp"
#include "pmfast_core/pricing/european.hpp"

namespace pmfast {

namespace {

constexpr double kTinySd = 1e-7;       // below this vol sqrt(T) the zero-vol limit is exact to ~1e-9
constexpr double kMaxDirectLog = 600.0;  // exp() of a larger log is formed in log space
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Parameters of the call problem shared by phi and psi.
struct CallProblem {
  double S, K, r, b, vol;
  double v2;      // vol^2
  double lS, lK;  // log S, log K
};

// exp(log_scale) * N(x), with N(x) taken in log space when exp(log_scale) is out of range.
inline double scaled_cdf(double log_scale, double x) {
  if (log_scale < kMaxDirectLog && log_scale > -kMaxDirectLog) return std::exp(log_scale) * norm_cdf(x);
  return std::exp(log_scale + log_norm_cdf(x));
}

// exp(log_scale) * M(a, b; rho). When exp(log_scale) overflows, the product is still finite
// but needs log M, which has no cheap accurate form in the far tail: the term is dropped when
// it is provably negligible (bounded by exp(log_scale) N(min(a, b))) and reported as NaN
// otherwise, so the caller can fall back.
inline double scaled_bvn(double log_scale, double a, double b, bool negative_rho) {
  if (log_scale < kMaxDirectLog) return std::exp(log_scale) * bvn_cdf_bjs(a, b, negative_rho);
  const double bound = log_scale + log_norm_cdf(std::fmin(a, b));
  return bound < -745.0 ? 0.0 : kNaN;
}

// phi(S, t, gamma, H, I) = e^{lambda t} S^gamma [N(-d1) - (I/S)^kappa N(-d2)] times a
// coefficient, where `log_pre` is the log of coefficient * S^gamma (so alpha S^beta stays finite
// however large beta is). Barriers are passed as logs (lH = log H, lI = log I).
double phi(const CallProblem& p, double log_pre, double t, double gamma, double lH, double lI) {
  const double sd = p.vol * std::sqrt(t);
  const double m = (p.b + (gamma - 0.5) * p.v2) * t;
  const double lambda = (-p.r + gamma * p.b + 0.5 * gamma * (gamma - 1.0) * p.v2) * t;
  const double kappa = 2.0 * p.b / p.v2 + (2.0 * gamma - 1.0);
  const double d1 = (p.lS - lH + m) / sd;
  const double d2 = (2.0 * lI - p.lS - lH + m) / sd;
  const double base = log_pre + lambda;
  return scaled_cdf(base, -d1) - scaled_cdf(base + kappa * (lI - p.lS), -d2);
}

// Bjerksund-Stensland 2002's psi: the two-period barrier term (I2 on [0, t1], I1 on [t1, T]),
// same conventions as phi.
double psi(const CallProblem& p, double log_pre, double T, double gamma, double lH, double lI2,
           double lI1, double t1) {
  const double sd1 = p.vol * std::sqrt(t1);
  const double sd = p.vol * std::sqrt(T);
  const double mu = p.b + (gamma - 0.5) * p.v2;
  const double lS_I1 = p.lS - lI1;
  const double lI2I2_SI1 = 2.0 * lI2 - p.lS - lI1;
  const double e1 = (lS_I1 + mu * t1) / sd1;
  const double e2 = (lI2I2_SI1 + mu * t1) / sd1;
  const double e3 = (lS_I1 - mu * t1) / sd1;
  const double e4 = (lI2I2_SI1 - mu * t1) / sd1;
  const double f1 = (p.lS - lH + mu * T) / sd;
  const double f2 = (2.0 * lI2 - p.lS - lH + mu * T) / sd;
  const double f3 = (2.0 * lI1 - p.lS - lH + mu * T) / sd;
  const double f4 = (p.lS + 2.0 * lI1 - lH - 2.0 * lI2 + mu * T) / sd;
  const double lambda = -p.r + gamma * p.b + 0.5 * gamma * (gamma - 1.0) * p.v2;
  const double kappa = 2.0 * p.b / p.v2 + (2.0 * gamma - 1.0);
  const double base = log_pre + lambda * T;
  // rho = sqrt(t1 / T) = kBjsRho for every option (t1 is a fixed fraction of T).
  return scaled_bvn(base, -e1, -f1, false) -
         scaled_bvn(base + kappa * (lI2 - p.lS), -e2, -f2, false) -
         scaled_bvn(base + kappa * (lI1 - p.lS), -e3, -f3, true) +
         scaled_bvn(base + kappa * (lI1 - lI2), -e4, -f4, true);
}

// beta = (1/2 - b/vol^2) + sqrt((b/vol^2 - 1/2)^2 + 2r/vol^2), written without cancellation.
double bjs_beta(double r, double b, double v2) {
  const double c = b / v2 - 0.5;
  const double disc = std::sqrt(c * c + 2.0 * r / v2);
  return c > 0.0 ? (2.0 * r / v2) / (c + disc) : disc - c;
}

// Exercise trigger I(t) = B0 + (Binf - B0)(1 - e^{h(t)}), kept >= B0 (for r <= 0 the 1993/2002
// h(t) can turn positive; the boundary never lies below its short-maturity limit B0).
double trigger(double B0, double Binf, double h) {
  return B0 + (Binf - B0) * std::fmax(0.0, -std::expm1(h));
}

struct Boundary {
  double beta, B0, Binf;
};

Boundary boundary(const CallProblem& p) {
  Boundary bd;
  bd.beta = bjs_beta(p.r, p.b, p.v2);
  bd.Binf = bd.beta / (bd.beta - 1.0) * p.K;
  bd.B0 = std::fmax(p.K, p.r / (p.r - p.b) * p.K);
  if (!(bd.Binf > bd.B0)) bd.Binf = bd.B0;  // degenerate (r <= 0): flat boundary at B0
  return bd;
}

double call_1993(const CallProblem& p, double T) {
  const Boundary bd = boundary(p);
  const double sd = p.vol * std::sqrt(T);
  const double span = bd.Binf - bd.B0;
  const double h = span > 0.0 ? -(p.b * T + 2.0 * sd) * bd.B0 / span : 0.0;
  const double I = trigger(bd.B0, bd.Binf, h);
  if (p.S >= I) return p.S - p.K;
  const double lI = std::log(I);
  // alpha S^beta = (I - K) (S / I)^beta
  const double la = std::log(I - p.K) + bd.beta * (p.lS - lI);
  return std::exp(la) - phi(p, la, T, bd.beta, lI, lI) + phi(p, p.lS, T, 1.0, lI, lI) -
         phi(p, p.lS, T, 1.0, p.lK, lI) - phi(p, p.lK, T, 0.0, lI, lI) +
         phi(p, p.lK, T, 0.0, p.lK, lI);
}

double call_2002(const CallProblem& p, double T) {
  const Boundary bd = boundary(p);
  const double t1 = 0.5 * (std::sqrt(5.0) - 1.0) * T;
  const double span = bd.Binf - bd.B0;
  const double scale = span > 0.0 ? p.K * p.K / (span * bd.B0) : 0.0;
  const double h1 = -(p.b * t1 + 2.0 * p.vol * std::sqrt(t1)) * scale;
  const double h2 = -(p.b * T + 2.0 * p.vol * std::sqrt(T)) * scale;
  const double I1 = trigger(bd.B0, bd.Binf, h1);
  const double I2 = trigger(bd.B0, bd.Binf, h2);
  if (p.S >= I2) return p.S - p.K;
  const double beta = bd.beta;
  const double lS = p.lS, lK = p.lK, lI1 = std::log(I1), lI2 = std::log(I2);
  // alpha_i S^beta = (I_i - K) (S / I_i)^beta, in logs. I1 may equal K (then alpha1 = 0).
  const double la2 = std::log(I2 - p.K) + beta * (lS - lI2);
  const bool has_a1 = I1 > p.K;
  const double la1 = has_a1 ? std::log(I1 - p.K) + beta * (lS - lI1) : 0.0;
  double v = std::exp(la2) - phi(p, la2, t1, beta, lI2, lI2) + phi(p, lS, t1, 1.0, lI2, lI2) -
             phi(p, lS, t1, 1.0, lI1, lI2) - phi(p, lK, t1, 0.0, lI2, lI2) +
             phi(p, lK, t1, 0.0, lI1, lI2);
  if (has_a1) v += phi(p, la1, t1, beta, lI1, lI2) - psi(p, la1, T, beta, lI1, lI2, lI1, t1);
  v += psi(p, lS, T, 1.0, lI1, lI2, lI1, t1) - psi(p, lS, T, 1.0, lK, lI2, lI1, t1) -
       psi(p, lK, T, 0.0, lI1, lI2, lI1, t1) + psi(p, lK, T, 0.0, lK, lI2, lI1, t1);
  return v;
}

// American call under either model; every limit handled here.
double bjs_call(bool model2002, double S, double K, double T, double r, double q, double vol) {
  const double intrinsic = std::fmax(S - K, 0.0);
  if (T <= 0.0) return intrinsic;
  if (S <= 0.0) return 0.0;
  if (K <= 0.0) return q >= 0.0 ? S : S * std::exp(-q * T);  // exercise now, or hold the asset
  const double european = bsm_value(1.0, S, K, T, r, q, vol);
  if (q <= 0.0 && r >= 0.0) return european;  // never exercised early
  // q <= 0 with r < 0: beta is not real (the approximation does not apply); the European
  // value may fall below intrinsic, and exercising is then worth more
  if (q <= 0.0) return std::fmin(std::fmax(european, intrinsic), S);
  // At vol sqrt(T) < 1e-7 only an at-the-forward option has time value (~0.4 S vol sqrt(T)),
  // which the European value carries; the early-exercise part is the deterministic one.
  if (vol * std::sqrt(T) < kTinySd)
    return std::fmax(zero_vol_value(1.0, S, K, T, r, q, true), european);
  CallProblem p{S, K, r, r - q, vol, vol * vol, std::log(S), std::log(K)};
  double v = model2002 ? call_2002(p, T) : kNaN;
  // 2002 terms that cannot be formed in double precision (tiny vol, see scaled_bvn): use 1993,
  // which needs no bivariate normal and whose value differs by far less than the vol effect.
  if (!std::isfinite(v)) v = call_1993(p, T);
  // beta -> 1 (q and r both ~0) sends the boundary to infinity: no early exercise.
  if (!std::isfinite(v)) v = european;
  v = std::fmax(v, std::fmax(intrinsic, european));
  return std::fmin(v, S);  // a call is never worth more than the asset
}

double bjs_value(bool model2002, double right, double S, double K, double T, double r, double q,
                 double vol) {
  if (right > 0) return bjs_call(model2002, S, K, T, r, q, vol);
  return bjs_call(model2002, K, S, T, q, r, vol);  // put-call transformation
}

}  // namespace

double bjs1993_value(double right, double S, double K, double T, double r, double q, double vol) {
  return bjs_value(false, right, S, K, T, r, q, vol);
}

double bjs2002_value(double right, double S, double K, double T, double r, double q, double vol) {
  return bjs_value(true, right, S, K, T, r, q, vol);
}

}  // namespace pmfast
