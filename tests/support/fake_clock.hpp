// A Clock for unit tests: time stands still unless someone sleeps; sleeps are recorded, and
// can be made to report an interruption (Ctrl-C) instead.
#pragma once

#include <chrono>
#include <vector>

#include "util/clock.hpp"

namespace rb::testing {

class FakeClock : public Clock {
 public:
  // 2026-01-01T00:00:00Z unless a test needs another wall-clock start.
  explicit FakeClock(std::chrono::system_clock::time_point wall = std::chrono::system_clock::from_time_t(1767225600))
      : wall_(wall) {}

  std::chrono::steady_clock::time_point now() const override { return steady_; }
  std::chrono::system_clock::time_point wall_now() const override {
    return wall_ + std::chrono::duration_cast<std::chrono::system_clock::duration>(steady_ - start_);
  }
  bool sleep_for(std::chrono::milliseconds d) override {
    sleeps.push_back(d);
    steady_ += d;
    return !interrupt_sleeps;
  }

  std::vector<std::chrono::milliseconds> sleeps;
  bool interrupt_sleeps = false;

 private:
  std::chrono::steady_clock::time_point start_{};
  std::chrono::steady_clock::time_point steady_{};
  std::chrono::system_clock::time_point wall_;
};

}  // namespace rb::testing
