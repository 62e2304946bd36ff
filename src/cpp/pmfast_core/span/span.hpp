// SPAN on exchange risk-parameter files: the per-account loop (16-wide scan sums, composite
// delta bookkeeping, intra-commodity spread walk, delivery charge, inter-commodity credits with
// weighted futures price risk, short option minimum, net option value), threaded over accounts.
// Every parameter is data flattened from the exchange's file by pmfast/span/layout.py; the numpy
// twin pmfast/_reference/span.py is the same algorithm written for reading, and the tests hold
// the two to the same numbers. Results are bit-identical for any n_threads and any row order:
// each account is computed by one thread, over its positions sorted by contract.
#pragma once
#include <cstdint>
#include <vector>

namespace pmfast {

constexpr int kSpanScenarios = 16;

// Flattened SpanParams (see layout.py for each array's meaning); all pointers borrowed.
struct SpanLayout {
  int32_t n_ccs = 0, n_contracts = 0, n_groups = 0, n_months = 0, n_tiers = 0;
  int32_t n_inter_tiers = 0, n_intra_spreads = 0, n_inter_spreads = 0;
  const double* ra = nullptr;          // [n_contracts][16]
  const double* delta = nullptr;       // composite delta x delta scaling factor
  const int32_t* c_group = nullptr;
  const int32_t* c_month = nullptr;
  const int32_t* c_cc = nullptr;
  const double* som_rate = nullptr;
  const double* value = nullptr;       // premium-style option value per contract
  const int32_t* g_cc = nullptr;
  const int32_t* m_cc = nullptr;
  const int32_t* m_intra = nullptr;    // -1: no intra tier
  const int32_t* m_inter = nullptr;    // -1: no inter tier
  const double* m_spot_spread = nullptr;
  const double* m_spot_outright = nullptr;
  const int32_t* t_cc = nullptr;
  const int32_t* is_cc = nullptr;      // intra spreads grouped by cc, priority order
  const double* is_rate = nullptr;
  const int32_t* is_leg_start = nullptr;
  const int32_t* il_tier = nullptr;
  const int32_t* il_side = nullptr;
  const double* il_ratio = nullptr;
  const double* x_rate = nullptr;      // inter spreads, priority order
  const int32_t* x_leg_start = nullptr;
  const int32_t* xl_tier = nullptr;
  const int32_t* xl_side = nullptr;
  const double* xl_ratio = nullptr;
  const int32_t* it_cc = nullptr;
  const double* cc_fx = nullptr;
  const double* cc_maint = nullptr;
  const uint8_t* cc_cap_anov = nullptr;
  const int32_t* paired = nullptr;     // [16], 0-based
};

// One row per (account, combined commodity held), accounts ascending, ccs ascending; amounts in
// the base currency. dup[a] = a contract account a holds twice (the account is skipped), or -1.
struct SpanOut {
  std::vector<int64_t> dup;
  std::vector<int32_t> row_account, row_cc, row_worst;
  std::vector<double> scan, intra, spot, inter, som, risk, nov, maint;
};

// acct[i] in [0, n_accounts), contract[i] in [0, n_contracts); throws InputError otherwise.
void span_margin_core(const SpanLayout& L, int64_t n_pos, const int32_t* acct,
                      const int32_t* contract, const double* qty, int32_t n_accounts,
                      bool round_scan, int n_threads, SpanOut& out);

}  // namespace pmfast
