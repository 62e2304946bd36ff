// Ctrl-C for long C++ calls. While a binding call runs with the GIL released, Python cannot run
// its own SIGINT handler, so the binding installs ours for the duration of the call
// (interrupt_enter / interrupt_exit, nested calls counted): it raises a process-wide flag and
// chains to the previous handler, so Python still sees the signal afterwards. Long loops call
// check_interrupt() between blocks (parallel_for does it for every block), which throws
// Interrupted; the binding turns that into KeyboardInterrupt. A block should therefore take well
// under a second.
#pragma once
#include <atomic>
#include <exception>

namespace pmfast {

class Interrupted : public std::exception {
 public:
  const char* what() const noexcept override { return "interrupted (Ctrl-C)"; }
};

std::atomic<bool>& interrupt_flag();

inline bool interrupt_requested() { return interrupt_flag().load(std::memory_order_relaxed); }

inline void check_interrupt() {
  if (interrupt_requested()) throw Interrupted();
}

// Install the SIGINT handler (first nested call) and clear the flag.
void interrupt_enter();
// Restore the previous handler (last nested call); returns whether Ctrl-C arrived meanwhile.
bool interrupt_exit();

}  // namespace pmfast
