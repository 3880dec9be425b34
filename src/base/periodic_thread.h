#pragma once

// A thread that calls a function every interval until stopped: the timers of the
// coordinators (session expiry, transaction timeouts). stop() wakes it at once.

#include "base/assert.h"

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>

namespace caudal {

/// Runs `work` every `interval_ms` on its own thread between start() and stop().
/// Not restartable. The destructor stops it.
class periodic_thread {
 public:
  periodic_thread() = default;
  periodic_thread(const periodic_thread&) = delete;
  periodic_thread& operator=(const periodic_thread&) = delete;
  ~periodic_thread() { stop(); }

  /// Starts the thread; the first call comes one interval from now.
  void start(std::int64_t interval_ms, std::function<void()> work) {
    CAUDAL_ASSERT(!_thread.joinable(), "periodic thread started twice");
    _thread = std::thread([this, interval_ms, work = std::move(work)] {
      std::unique_lock lock(_mutex);
      while (!_stopping) {
        _wake.wait_for(lock, std::chrono::milliseconds(interval_ms), [this] { return _stopping; });
        if (_stopping) break;
        lock.unlock();
        work();
        lock.lock();
      }
    });
  }

  /// Stops the thread and waits for a running call to return. Idempotent.
  void stop() {
    {
      std::lock_guard lock(_mutex);
      _stopping = true;
    }
    _wake.notify_all();
    if (_thread.joinable()) _thread.join();
  }

 private:
  std::mutex _mutex;
  std::condition_variable _wake;
  bool _stopping = false;  // guarded by _mutex
  std::thread _thread;
};

}  // namespace caudal
