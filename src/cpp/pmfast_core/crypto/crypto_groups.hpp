// Crypto portfolio margin (Deribit-style), per risk matrix ("group": one account x index x
// settlement): from the aggregated scenario vector and the group's positions to the adjusted
// vector, the worst case and its entry, the roll shock, the net delta and the short option units.
// The formulas (docs/crypto.md) with every rate as data; the aggregation itself is
// aggregate/'s portfolio_margin (one class per group).
#pragma once
#include <cstdint>

namespace pmfast {

struct CryptoGroups {
  const double* raw;            // [n_groups * n_scenarios] sum of quantity x risk vector
  int64_t n_groups;
  int64_t n_scenarios;
  int64_t n_standard;           // entries [0, n_standard) standard, the rest the extended table
  const int64_t* group_pair;    // [n_groups] row of the pair parameters
  const int64_t* group_start;   // [n_groups + 1] CSR into the positions
  const int32_t* instrument;    // [n_positions]
  const double* quantity;       // [n_positions]
  int64_t n_positions;
  const int64_t* tie_order;     // [n_scenarios] entries in the order ties are broken
};

// Per instrument: the add-on weights per unit of quantity.
struct CryptoWeights {
  const int64_t* expiry_code;   // [n_instruments] 0 perpetual, 1.. expiry dates
  const double* roll_weight;    // delta in coins (x forward for linear): settlement currency
  const double* delta;          // delta in coins
  const double* short_weight;   // coins per contract for options, 0 otherwise
  int64_t n_instruments;
  int64_t n_expiry_codes;
};

// Per pair (index, settlement), in its settlement currency.
struct CryptoPairParams {
  const double* offset;         // pnl_offset: share of a scenario gain kept
  const double* offset_cap;     // max_offsetable_pnl
  const double* dampener;       // extended_dampener
  const double* ext_factor;     // extended_table_factor
  const double* rate;           // [n_pairs * n_expiry_codes] annualised move of each expiry
  int64_t n_pairs;
};

struct CryptoGroupOutput {
  double* adjusted;             // [n_groups * n_scenarios]
  double* worst_case;           // [n_groups] max(0, -min adjusted)
  int64_t* worst_index;         // [n_groups] first minimum in tie_order (-1: nothing loses)
  double* roll_shock;           // [n_groups] sum over expiries |net exposure| x rate
  double* net_delta;            // [n_groups] coins
  double* short_units;          // [n_groups] coins of net short options
};

// Checks the inputs (throws InputError naming the argument and index), then computes every
// group, threaded over groups; bit-identical for any n_threads.
void crypto_group_margin(const CryptoGroups& groups, const CryptoWeights& weights,
                         const CryptoPairParams& params, const CryptoGroupOutput& out,
                         int n_threads);

}  // namespace pmfast
