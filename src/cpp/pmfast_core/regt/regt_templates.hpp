// The strategy library of one (account, underlying) group: stand-alone requirements of each
// position and every multi-leg template the positions could form, with its requirement per
// unit and its saving against leaving the same legs stand-alone.
#pragma once
#include <cstdint>
#include <vector>

#include "pmfast_core/regt/regt_types.hpp"

namespace pmfast {

constexpr int kBasisInitial = 0;
constexpr int kBasisMaintenance = 1;

// The rates of one group (one row of RegtGroups).
struct GroupRates {
  double U, naked_rate, naked_min, long_init, long_maint, short_init, short_maint, short_low;
};

// One inventory row: a leg with its capacity (|quantity|) and stand-alone cost per unit.
struct RegtItem {
  int64_t leg;
  int8_t kind;      // kLegStock / kLegCall / kLegPut
  int sign;         // +1 long, -1 short
  double cap;       // shares or contracts available
  double K, M, p;   // strike, multiplier, price per share
  int32_t expiry;
  double value;     // p * M (per contract; per share for stock)
  double naked;     // naked requirement per contract (short options)
  double unit_cost; // stand-alone requirement per share / contract for the basis
};

// One template: up to four items with the units each consumes per template unit.
struct RegtColumn {
  int8_t strategy;
  int n_legs;
  int32_t item[4];
  double ratio[4];  // > 0: units of that item consumed per template unit
  double cost;      // requirement of one unit
  double saving;    // sum of stand-alone costs of the legs - cost
};

GroupRates group_rates(const RegtGroups& g, int64_t group);

// Inventory rows of legs [begin, end) for a basis.
void build_items(const RegtLegs& legs, int64_t begin, int64_t end, const GroupRates& r,
                 const RegtParams& params, int basis, std::vector<RegtItem>& items);

// Index lists reused across groups (no allocation per group once warm).
struct TemplateScratch {
  std::vector<int> stocks, longs, shorts;
};

// Every enabled template with a positive saving; false when the library reached
// params.max_templates and the enumeration stopped (two-leg templates come first, so it is the
// 3- and 4-leg ones of a market maker's hundreds of series that are cut).
bool build_columns(const std::vector<RegtItem>& items, const GroupRates& r,
                   const RegtParams& params, int basis, TemplateScratch& scratch,
                   std::vector<RegtColumn>& columns);

// Stand-alone strategy code of an item (long_stock, naked_call, ...).
RegtStrategy standalone_strategy(const RegtItem& item);

}  // namespace pmfast
