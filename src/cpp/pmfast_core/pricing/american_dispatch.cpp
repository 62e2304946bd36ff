// Dispatch of the American models, scalar and over a spot grid.
#include <stdexcept>

#include "pmfast_core/pricing/american.hpp"
#include "pmfast_core/pricing/american_fp.hpp"

namespace pmfast {

double american_value(Model model, int steps, double right, double S, double K, double T,
                      double r, double q, double vol) {
  switch (model) {
    case Model::bjs1993: return bjs1993_value(right, S, K, T, r, q, vol);
    case Model::bjs2002: return bjs2002_value(right, S, K, T, r, q, vol);
    case Model::crr: return crr_value(right, S, K, T, r, q, vol, steps, true);
    case Model::fixed_point: return fixed_point_value(right, S, K, T, r, q, vol);
    default: break;
  }
  throw std::logic_error("american_value: model is not an American model");
}

// Default: price each spot on its own. Models with spot-independent work override by model.
void american_spots(Model model, int steps, double right, const double* spots, int64_t n_spots,
                    double K, double T, double r, double q, double vol, double* out,
                    int64_t out_stride) {
  if (model == Model::fixed_point) {  // one exercise boundary serves every spot
    fixed_point_spots(right, spots, n_spots, K, T, r, q, vol, out, out_stride);
    return;
  }
  for (int64_t j = 0; j < n_spots; ++j)
    out[j * out_stride] = american_value(model, steps, right, spots[j], K, T, r, q, vol);
}

}  // namespace pmfast
