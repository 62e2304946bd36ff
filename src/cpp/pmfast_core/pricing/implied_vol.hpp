// Implied volatility: the vol that reproduces a price under a model.
//
// A price that no volatility reproduces (below the model's zero-volatility value, or at/above
// the no-arbitrage upper bound: S e^{-qT} for a European call, K e^{-rT} for a European put, S
// for an American call, K for an American put) gives NaN; callers decide what to do.
// A price equal to the zero-volatility value (within 1e-12 relative) gives 0.
#pragma once
#include <cstdint>

#include "pmfast_core/pricing/options.hpp"

namespace pmfast {

// European BSM (black76: pass q = r and the future's price as S). Newton on the log of the
// out-of-the-money price, kept inside a shrinking bracket (bisection when a step leaves it).
double implied_vol_european(double price, double right, double S, double K, double T, double r,
                            double q);

// Any model american_value() knows (american = true), or the European crr tree: a bracketed
// Illinois regula falsi on the model value, which is increasing in vol.
double implied_vol_model(double price, Model model, int steps, bool american, double right,
                         double S, double K, double T, double r, double q);

// Batch: out[i] = implied vol of option i priced at price[i] (o.vol is not read and may be
// null). Validates prices (NaN or negative: InputError naming `price` and the index) and every
// column but vol.
void implied_vol_options(const OptionArrays& o, const double* price, Model model, int steps,
                         bool american, double* out, int n_threads);

}  // namespace pmfast
