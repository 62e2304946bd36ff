// Error types thrown by the core. Cython's `except +` turns std::invalid_argument into
// ValueError, which the binding re-raises as pmfast.InputError; anything else becomes
// pmfast.PmfastError. Messages always name the argument and the first offending index.
#pragma once
#include <cstdint>
#include <sstream>
#include <stdexcept>
#include <string>

namespace pmfast {

class InputError : public std::invalid_argument {
 public:
  explicit InputError(const std::string& what) : std::invalid_argument(what) {}
};

// "S[12] = -3: must be >= 0"
inline InputError bad_value(const char* argument, int64_t index, double value,
                            const char* requirement) {
  std::ostringstream msg;
  msg << argument << "[" << index << "] = " << value << ": " << requirement;
  return InputError(msg.str());
}

}  // namespace pmfast
