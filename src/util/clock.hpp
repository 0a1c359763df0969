// Time and interruption: the side-effect interface for waiting, so waiter logic can be
// tested with a fake clock, and every wait wakes up promptly on Ctrl-C.
#pragma once

#include <chrono>

namespace rb {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual std::chrono::steady_clock::time_point now() const = 0;
  virtual std::chrono::system_clock::time_point wall_now() const = 0;
  // Sleeps for `d`, returning early (false) when the process is interrupted.
  virtual bool sleep_for(std::chrono::milliseconds d) = 0;
};

class SystemClock final : public Clock {
 public:
  std::chrono::steady_clock::time_point now() const override { return std::chrono::steady_clock::now(); }
  std::chrono::system_clock::time_point wall_now() const override { return std::chrono::system_clock::now(); }
  bool sleep_for(std::chrono::milliseconds d) override;
};

// SIGINT, SIGTERM, SIGHUP and SIGPIPE set a flag instead of killing the process, so locks are
// released, temporary worktrees and files removed and the journal records the interruption.
// SIGPIPE (the reader of our output went away, e.g. `rollback ... | head`) therefore never kills
// the tool mid-way: the write fails with EPIPE and the run stops as interrupted. Installed once by main.
void install_interrupt_handlers();
bool interrupted();
void clear_interrupted();  // for tests
// How many of those signals arrived so far (run_process forwards the ones that arrive while a
// child runs), and the last one (0: none).
unsigned interrupt_count();
int last_interrupt_signal();

}  // namespace rb
