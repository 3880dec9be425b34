#pragma once

// The only way Caudal reads time. Code takes a `clock&` so tests and the simulator can
// substitute a manual_clock; tools/tidy bans direct calls to std::chrono clocks elsewhere.

#include "base/assert.h"

#include <cstdint>

namespace caudal {

/// A source of wall-clock and monotonic time.
class clock {
 public:
  clock() = default;
  clock(const clock&) = delete;
  clock& operator=(const clock&) = delete;
  virtual ~clock() = default;

  /// Milliseconds since the Unix epoch: record timestamps, retention, segment age.
  [[nodiscard]] virtual std::int64_t wall_ms() const = 0;
  /// Monotonic nanoseconds from an arbitrary origin: timeouts and latencies.
  [[nodiscard]] virtual std::int64_t steady_ns() const = 0;
};

/// The process-wide real clock.
[[nodiscard]] clock& system_clock();

/// A clock that moves only when told. Not thread-safe; for tests and the simulator.
class manual_clock final : public clock {
 public:
  explicit manual_clock(std::int64_t wall_ms_start = 1'700'000'000'000) : _wall_ms(wall_ms_start) {}

  [[nodiscard]] std::int64_t wall_ms() const override { return _wall_ms; }
  [[nodiscard]] std::int64_t steady_ns() const override { return _steady_ns; }

  /// Moves both clocks forward by `ms` milliseconds.
  void advance_ms(std::int64_t ms) {
    CAUDAL_ASSERT(ms >= 0, "time went back by {} ms", -ms);
    _wall_ms += ms;
    _steady_ns += ms * 1'000'000;
  }

 private:
  std::int64_t _wall_ms;
  std::int64_t _steady_ns = 0;
};

}  // namespace caudal
