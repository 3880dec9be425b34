#include "base/clock.h"

#include <chrono>

namespace caudal {
namespace {

class real_clock final : public clock {
 public:
  [[nodiscard]] std::int64_t wall_ms() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
  [[nodiscard]] std::int64_t steady_ns() const override {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
};

}  // namespace

clock& system_clock() {
  static real_clock instance;
  return instance;
}

}  // namespace caudal
