// American option models. Each prices one option; `american_spots` prices one series at many
// spot levels with everything else fixed, so a model may reuse spot-independent work (the
// exercise boundary) across a scenario grid.
#pragma once
#include <cstdint>

#include "pmfast_core/pricing/options.hpp"

namespace pmfast {

double bjs1993_value(double right, double S, double K, double T, double r, double q, double vol);
double bjs2002_value(double right, double S, double K, double T, double r, double q, double vol);
// Largest tree accepted (n + 1 nodes must fit an int; two buffers of 80 MB at the cap).
constexpr int kMaxCrrSteps = 10000000;
// Cox-Ross-Rubinstein tree (Hull's parameterisation); american = false gives the European tree.
double crr_value(double right, double S, double K, double T, double r, double q, double vol,
                 int steps, bool american);

// One American value under `model` (bjs1993, bjs2002, crr, fixed_point).
double american_value(Model model, int steps, double right, double S, double K, double T,
                      double r, double q, double vol);

// out[j * out_stride] = value at spot spots[j], j < n_spots.
void american_spots(Model model, int steps, double right, const double* spots, int64_t n_spots,
                    double K, double T, double r, double q, double vol, double* out,
                    int64_t out_stride);

}  // namespace pmfast
