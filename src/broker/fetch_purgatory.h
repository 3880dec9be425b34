#pragma once

// Where fetches wait (Kafka's "purgatory"): a fetch that found fewer than min_bytes parks
// here until data arrives on one of its partitions or its max_wait_ms runs out. A thread
// of its own re-checks parked fetches when a partition's high watermark moves and when
// deadlines pass, so no event loop ever waits.

#include "base/clock.h"

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

namespace caudal::broker {

/// A parked operation. try_complete() is called on the purgatory's thread.
class delayed_operation {
 public:
  delayed_operation() = default;
  delayed_operation(const delayed_operation&) = delete;
  delayed_operation& operator=(const delayed_operation&) = delete;
  virtual ~delayed_operation() = default;

  /// Completes the operation if it can (or must, when `expired`); returns whether it did.
  virtual bool try_complete(bool expired) = 0;
};

class fetch_purgatory {
 public:
  explicit fetch_purgatory(clock& clk);
  fetch_purgatory(const fetch_purgatory&) = delete;
  fetch_purgatory& operator=(const fetch_purgatory&) = delete;
  ~fetch_purgatory();

  void start();
  /// Completes every parked operation as expired and stops the thread. Idempotent.
  void stop();

  /// Parks `op` until `deadline_ns` (on clock::steady_ns) or a notify() on one of `keys`.
  /// The operation is checked once right after parking, so data that arrived between the
  /// caller's check and the park is not missed.
  void park(std::shared_ptr<delayed_operation> op, std::int64_t deadline_ns,
            std::vector<const void*> keys);

  /// Data arrived on the partition identified by `key`. Cheap; callable from any thread.
  void notify(const void* key);

 private:
  struct parked {
    std::shared_ptr<delayed_operation> op;
    std::int64_t deadline_ns;
    std::vector<const void*> keys;
    bool check = true;
  };

  void run();

  clock& _clock;
  std::mutex _mutex;
  std::condition_variable _wake;
  std::vector<parked> _parked;   // guarded by _mutex
  std::set<const void*> _dirty;  // guarded by _mutex
  bool _stopping = false;        // guarded by _mutex
  bool _checks_pending = false;  // guarded by _mutex
  std::size_t _in_flight = 0;    // operations being checked outside the lock
  std::thread _thread;
};

}  // namespace caudal::broker
