#include <algorithm>
#include <cmath>
#include <vector>

#include "pmfast_core/american.hpp"
#include "pmfast_core/errors.hpp"

namespace pmfast {

// Hull's CRR tree: u = e^{vol sqrt(dt)}, d = 1/u, p = (e^{(r-q)dt} - d) / (u - d).
// Degenerate inputs (T = 0, vol = 0, p outside [0, 1]) fall back to the exact limit.
double crr_value(double right, double S, double K, double T, double r, double q, double vol,
                 int steps, bool american) {
  const double intrinsic = std::max(right * (S - K), 0.0);
  if (T <= 0.0) return intrinsic;
  if (steps < 1) throw InputError("steps must be >= 1");
  const double dt = T / steps;
  const double u = std::exp(vol * std::sqrt(dt));
  const double d = 1.0 / u;
  const double growth = std::exp((r - q) * dt);
  const double disc = std::exp(-r * dt);
  double p = (u - d) > 1e-300 ? (growth - d) / (u - d) : 0.5;
  if (!(p >= 0.0 && p <= 1.0) || vol <= 0.0) {
    // Zero or tiny volatility: the spot follows its forward deterministically.
    double best = 0.0;
    for (int i = 0; i <= steps; ++i) {
      const double t = i * dt;
      const double val = std::exp(-r * t) * std::max(right * (S * std::exp((r - q) * t) - K), 0.0);
      if (american || i == steps) best = std::max(best, val);
    }
    return best;
  }
  std::vector<double> values(steps + 1);
  // Leaves: spot S u^{j} d^{steps-j}.
  for (int j = 0; j <= steps; ++j) {
    const double st = S * std::pow(u, 2.0 * j - steps);
    values[j] = std::max(right * (st - K), 0.0);
  }
  for (int step = steps - 1; step >= 0; --step) {
    for (int j = 0; j <= step; ++j) {
      double cont = disc * (p * values[j + 1] + (1.0 - p) * values[j]);
      if (american) {
        const double st = S * std::pow(u, 2.0 * j - step);
        cont = std::max(cont, right * (st - K));
      }
      values[j] = cont;
    }
  }
  return values[0];
}

}  // namespace pmfast
