#include "pmfast_core/common/interrupt.hpp"

#include <csignal>
#include <mutex>

namespace pmfast {

namespace {
std::mutex install_mutex;
int install_depth = 0;
struct sigaction previous_action;

extern "C" void on_sigint(int sig) {
  const auto prev = previous_action.sa_handler;
  if (prev == SIG_IGN) return;  // the process ignores Ctrl-C: so do we
  interrupt_flag().store(true, std::memory_order_relaxed);
  // Chain to Python's own handler (async-signal-safe: it only trips a flag), so the
  // interpreter runs the Python-level handler once the call returns. SIG_DFL is not chained:
  // the binding raises KeyboardInterrupt instead of letting the process die mid-call.
  if (!(previous_action.sa_flags & SA_SIGINFO) && prev != SIG_DFL && prev != nullptr) prev(sig);
}
}  // namespace

std::atomic<bool>& interrupt_flag() {
  static std::atomic<bool> flag{false};
  return flag;
}

void interrupt_enter() {
  std::lock_guard<std::mutex> lock(install_mutex);
  if (install_depth++ == 0) {
    interrupt_flag().store(false, std::memory_order_relaxed);
    struct sigaction action {};
    action.sa_handler = on_sigint;
    sigemptyset(&action.sa_mask);
    action.sa_flags = 0;
    sigaction(SIGINT, &action, &previous_action);
  }
}

bool interrupt_exit() {
  std::lock_guard<std::mutex> lock(install_mutex);
  const bool interrupted = interrupt_requested();
  if (--install_depth == 0) {
    sigaction(SIGINT, &previous_action, nullptr);
    interrupt_flag().store(false, std::memory_order_relaxed);
  }
  return interrupted;
}

}  // namespace pmfast
