#pragma once

// A count of running tasks that a controlling thread can wait to reach zero (Seastar's
// gate). No Asio here.

#include "base/assert.h"

#include <condition_variable>
#include <cstddef>
#include <mutex>

namespace caudal::net {

/// Counts spawned coroutines: enter() before spawning, leave() in its completion; stop()
/// paths first make sure nothing new will be spawned, then wait() for zero.
/// Thread safety: every member is safe from any thread. Not on a hot path (one
/// enter/leave per coroutine, not per request), so a mutex is fine.
class gate {
 public:
  gate() = default;
  gate(const gate&) = delete;
  gate& operator=(const gate&) = delete;
  ~gate() {
    std::lock_guard lock(_mutex);
    CAUDAL_ASSERT(_count == 0, "gate destroyed with {} tasks running", _count);
  }

  /// Counts one more task.
  void enter() {
    std::lock_guard lock(_mutex);
    ++_count;
  }
  /// One task finished.
  void leave() {
    std::lock_guard lock(_mutex);
    CAUDAL_ASSERT(_count > 0, "gate left more often than entered");
    if (--_count == 0) _zero.notify_all();
  }
  /// Blocks until the count is zero. Requires: not called on a thread a task needs.
  void wait() {
    std::unique_lock lock(_mutex);
    _zero.wait(lock, [this] { return _count == 0; });
  }
  [[nodiscard]] std::size_t count() const {
    std::lock_guard lock(_mutex);
    return _count;
  }

 private:
  mutable std::mutex _mutex;
  std::condition_variable _zero;
  std::size_t _count = 0;
};

}  // namespace caudal::net
