// The per-scheme tables of the fixed-point engine (american_fp.cpp builds them once per scheme;
// american_fp_kernel.cpp, compiled once per instruction set, only reads them).
#pragma once
#include <vector>

#include "pmfast_core/pricing/american_fp.hpp"

namespace pmfast {

// Everything about a scheme that does not depend on (r, q, vol, T).
struct FpTables {
  FpScheme s{};
  int n1 = 0;  // nodes with tau > 0; node j has sqrt(tau_j / T) = node_frac[j], j = 0 is T
  int m = 0;   // fixed-point quadrature points, e = j * l + k
  int m8 = 0;  // m plus one slot per node (its own N(d+-) terms), rounded up to 8
  int p8 = 0;  // premium points plus one (the European term), rounded up to 8
  std::vector<double> node_frac;
  std::vector<double> fp_interp;  // [i * m + e]: weight of H at node i in H at point e
  std::vector<double> fp_cos, fp_sin2, fp_wt;  // per k: cos, sin^2, (pi/4) w sin(2 theta)
  std::vector<double> pr_interp;  // [i * p + k]
  std::vector<double> pr_sin, pr_sin2, pr_wt;
};

}  // namespace pmfast
