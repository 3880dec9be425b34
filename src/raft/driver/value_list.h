#pragma once

// A small replicated state machine for the driver's tests, raft_node and the benchmark: the
// value of every applied normal entry, in log order.

#include "base/bytes.h"
#include "raft/driver/driver.h"

#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace caudal::raft {

/// Keeps each applied normal entry's data as a string. Values must not hold a newline: the
/// snapshot is the values joined by newlines. Thread-safe: the driver applies on its loop,
/// readers call values() and size() from any thread.
class value_list final : public state_machine {
 public:
  void apply(const entry& e) override {
    if (e.kind != entry_kind::normal) return;
    std::lock_guard lock(_mutex);
    _values.emplace_back(reinterpret_cast<const char*>(e.data.data()), e.data.size());
  }
  std::vector<std::byte> snapshot() const override {
    std::lock_guard lock(_mutex);
    std::string joined;
    for (const auto& v : _values)
      joined += v + "\n";
    const auto b = as_bytes(std::string_view(joined));
    return {b.begin(), b.end()};
  }
  void restore(const std::vector<std::byte>& data) override {
    std::lock_guard lock(_mutex);
    _values.clear();
    std::string value;
    for (std::byte b : data) {
      if (b != std::byte{'\n'}) {
        value += static_cast<char>(b);
        continue;
      }
      _values.push_back(std::exchange(value, {}));
    }
  }

  /// A copy of the values applied so far, in log order.
  [[nodiscard]] std::vector<std::string> values() const {
    std::lock_guard lock(_mutex);
    return _values;
  }
  /// How many values were applied so far.
  [[nodiscard]] std::size_t size() const {
    std::lock_guard lock(_mutex);
    return _values.size();
  }

 private:
  mutable std::mutex _mutex;
  std::vector<std::string> _values;  // guarded by _mutex
};

}  // namespace caudal::raft
