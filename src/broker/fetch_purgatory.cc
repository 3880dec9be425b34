#include "broker/fetch_purgatory.h"

#include "base/assert.h"

#include <algorithm>
#include <chrono>
#include <limits>

namespace caudal::broker {

fetch_purgatory::fetch_purgatory(clock& clk) : _clock(clk) {}

fetch_purgatory::~fetch_purgatory() {
  stop();
}

void fetch_purgatory::start() {
  CAUDAL_ASSERT(!_thread.joinable(), "purgatory started twice");
  _thread = std::thread([this] { run(); });
}

void fetch_purgatory::stop() {
  std::vector<parked> rest;
  {
    std::lock_guard lock(_mutex);
    if (_stopping) return;
    _stopping = true;
  }
  _wake.notify_all();
  if (_thread.joinable()) _thread.join();
  {
    std::lock_guard lock(_mutex);
    rest.swap(_parked);
  }
  for (auto& p : rest)
    p.op->try_complete(true);
}

void fetch_purgatory::park(std::shared_ptr<delayed_operation> op, std::int64_t deadline_ns,
                           std::vector<const void*> keys) {
  bool stopping = false;
  {
    std::lock_guard lock(_mutex);
    stopping = _stopping;
    if (!stopping) {
      _parked.push_back({std::move(op), deadline_ns, std::move(keys), true});
      _checks_pending = true;
    }
  }
  if (stopping) {
    op->try_complete(true);
    return;
  }
  _wake.notify_one();
}

void fetch_purgatory::notify(const void* key) {
  {
    std::lock_guard lock(_mutex);
    if (_parked.empty() && _in_flight == 0) return;  // nobody is waiting
    _dirty.insert(key);
    _checks_pending = true;
  }
  _wake.notify_one();
}

void fetch_purgatory::run() {
  std::unique_lock lock(_mutex);
  while (!_stopping) {
    std::int64_t next_deadline = std::numeric_limits<std::int64_t>::max();
    for (const auto& p : _parked)
      next_deadline = std::min(next_deadline, p.deadline_ns);
    if (!_checks_pending) {
      if (next_deadline == std::numeric_limits<std::int64_t>::max()) {
        _wake.wait(lock, [this] { return _stopping || _checks_pending; });
      } else {
        const std::int64_t wait_ns = next_deadline - _clock.steady_ns();
        if (wait_ns > 0) {
          _wake.wait_for(lock, std::chrono::nanoseconds(wait_ns),
                         [this] { return _stopping || _checks_pending; });
        }
      }
      if (_stopping) break;
    }
    // Take the operations to look at, then work without the lock.
    std::set<const void*> dirty;
    dirty.swap(_dirty);
    _checks_pending = false;
    const std::int64_t now = _clock.steady_ns();
    std::vector<parked> work;
    for (auto it = _parked.begin(); it != _parked.end();) {
      bool due = it->check || it->deadline_ns <= now;
      for (const void* k : it->keys)
        due = due || dirty.contains(k);
      if (due) {
        work.push_back(std::move(*it));
        it = _parked.erase(it);
      } else {
        ++it;
      }
    }
    _in_flight = work.size();
    lock.unlock();
    std::vector<parked> again;
    for (auto& p : work) {
      const bool expired = p.deadline_ns <= now;
      if (!p.op->try_complete(expired)) {
        p.check = false;
        again.push_back(std::move(p));
      }
    }
    lock.lock();
    _in_flight = 0;
    for (auto& p : again)
      _parked.push_back(std::move(p));
  }
}

}  // namespace caudal::broker
