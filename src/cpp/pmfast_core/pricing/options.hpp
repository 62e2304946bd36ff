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

// Bits of a broadcast mask, one per column of OptionArrays: a set bit means the column holds one
// value that stands for all n (a scalar argument, broadcast by the core in small chunks instead
// of as an n-long column built in Python; pricing.hpp's price_options).
enum BroadcastBit : unsigned {
  kBroadcastRight = 1u << 0, kBroadcastS = 1u << 1, kBroadcastK = 1u << 2, kBroadcastT = 1u << 3,
  kBroadcastR = 1u << 4, kBroadcastQ = 1u << 5, kBroadcastVol = 1u << 6,
};

// Throws InputError naming the argument and first offending index: NaN anywhere, S < 0,
// K < 0, T < 0, vol < 0, right not +-1. Zero strike, spot, time and volatility are allowed:
// the low-level kernels return their limits there.
void validate_options(const OptionArrays& o);
// The same, where the columns flagged in `broadcast` (BroadcastBit) have one value.
void validate_options(const OptionArrays& o, unsigned broadcast);

// The same checks for every column but vol (implied volatility takes prices instead).
void validate_market(const OptionArrays& o);
void validate_market(const OptionArrays& o, unsigned broadcast);

// Throws InputError naming `name` and the first offending index: NaN, +-inf, or (unless
// allow_negative) a negative value.
void check_column(const char* name, const double* x, int64_t n, bool allow_negative);

// Throws InputError for a code outside enum Model, or crr with steps < 1.
void check_model(Model model, int steps);

}  // namespace pmfast
