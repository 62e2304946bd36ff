// Column views of a batch of options (structure of arrays). All arrays have length n.
#pragma once
#include <cstdint>

namespace pmfast {

// Pricing models. The numbers are part of the binding's contract (pmfast/pricing.py).
enum class Model : int {
  bsm = 0,          // European, Black-Scholes-Merton with continuous yield
  black76 = 1,      // European option on a future: bsm with q = r and S = F
  bjs1993 = 2,      // American, Bjerksund-Stensland 1993 (flat boundary)
  bjs2002 = 3,      // American, Bjerksund-Stensland 2002 (two-step boundary)
  crr = 4,          // Cox-Ross-Rubinstein binomial tree (American or European)
  fixed_point = 5,  // American, Andersen-Lake-Offengenden boundary fixed point
};

struct OptionArrays {
  const int8_t* right;  // +1 call, -1 put
  const double* S;      // spot (or the future's price for black76)
  const double* K;
  const double* T;      // years
  const double* r;      // continuous rate
  const double* q;      // continuous yield (ignored by black76)
  const double* vol;
  int64_t n;
};

// Throws InputError naming the argument and first offending index: NaN anywhere, S < 0,
// K < 0, T < 0, vol < 0, right not +-1. Zero strike, spot, time and volatility are allowed:
// the low-level kernels return their limits there.
void validate_options(const OptionArrays& o);

// The same checks for every column but vol (implied volatility takes prices instead).
void validate_market(const OptionArrays& o);

// Throws InputError naming `name` and the first offending index: NaN, +-inf, or (unless
// allow_negative) a negative value.
void check_column(const char* name, const double* x, int64_t n, bool allow_negative);

// Throws InputError for a code outside enum Model, or crr with steps < 1.
void check_model(Model model, int steps);

}  // namespace pmfast
