#include "util/clock.hpp"

#include <csignal>
#include <thread>

namespace rb {

namespace {

volatile std::sig_atomic_t g_interrupted = 0;
volatile std::sig_atomic_t g_count = 0;
volatile std::sig_atomic_t g_last_signal = 0;
// How often a sleeping wait checks for Ctrl-C.
constexpr auto kInterruptPollSlice = std::chrono::milliseconds(50);

extern "C" void on_interrupt(int sig) {
  g_interrupted = 1;
  g_last_signal = sig;
  g_count = g_count + 1;
}

}  // namespace

void install_interrupt_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_interrupt;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: blocking calls return EINTR so waits end promptly
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGPIPE}) sigaction(sig, &sa, nullptr);
}

bool interrupted() { return g_interrupted != 0; }
void clear_interrupted() {
  g_interrupted = 0;
  g_last_signal = 0;
}
unsigned interrupt_count() { return static_cast<unsigned>(g_count); }
int last_interrupt_signal() { return g_last_signal; }

bool SystemClock::sleep_for(std::chrono::milliseconds d) {
  auto end = std::chrono::steady_clock::now() + d;
  while (!interrupted()) {
    auto left = end - std::chrono::steady_clock::now();
    if (left <= std::chrono::milliseconds(0)) return true;
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(left, kInterruptPollSlice));
  }
  return false;
}

}  // namespace rb
