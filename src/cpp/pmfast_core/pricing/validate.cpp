#include <cmath>
#include <string>

#include "pmfast_core/common/errors.hpp"
#include "pmfast_core/pricing/options.hpp"

namespace pmfast {

void check_column(const char* name, const double* x, int64_t n, bool allow_negative) {
  for (int64_t i = 0; i < n; ++i) {
    if (std::isnan(x[i])) throw bad_value(name, i, x[i], "must be a number, not NaN");
    if (std::isinf(x[i])) throw bad_value(name, i, x[i], "must be finite");
    if (!allow_negative && x[i] < 0) throw bad_value(name, i, x[i], "must be >= 0");
  }
}

void check_model(Model model, int steps) {
  switch (model) {
    case Model::bsm: case Model::black76: case Model::bjs1993: case Model::bjs2002:
    case Model::fixed_point:
      return;
    case Model::crr:
      if (steps < 1) throw InputError("steps must be >= 1 for the crr model");
      return;
  }
  throw InputError("unknown pricing model code " + std::to_string(static_cast<int>(model)));
}

void validate_market(const OptionArrays& o) {
  for (int64_t i = 0; i < o.n; ++i) {
    if (o.right[i] != 1 && o.right[i] != -1) {
      throw bad_value("right", i, o.right[i], "must be call (C, +1) or put (P, -1)");
    }
  }
  check_column("S", o.S, o.n, false);
  check_column("K", o.K, o.n, false);
  check_column("T", o.T, o.n, false);
  check_column("r", o.r, o.n, true);
  check_column("q", o.q, o.n, true);
}

void validate_options(const OptionArrays& o) {
  validate_market(o);
  check_column("vol", o.vol, o.n, false);
}

}  // namespace pmfast
