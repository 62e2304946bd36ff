#include <stdexcept>

#include "pmfast_core/american.hpp"

namespace pmfast {

// Bjerksund-Stensland: implemented in the foundation issue's pricing work.
double bjs1993_value(double, double, double, double, double, double, double) {
  throw std::logic_error("bjs1993 is not implemented yet");
}
double bjs2002_value(double, double, double, double, double, double, double) {
  throw std::logic_error("bjs2002 is not implemented yet");
}

}  // namespace pmfast
