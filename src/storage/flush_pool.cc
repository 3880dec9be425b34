#include "storage/flush_pool.h"

#include "base/assert.h"

namespace caudal::storage {

flush_pool::flush_pool(std::size_t threads) {
  CAUDAL_ASSERT(threads > 0, "a flush pool needs a thread");
  _threads.reserve(threads);
  for (std::size_t i = 0; i < threads; ++i)
    _threads.emplace_back([this] { run(); });
}

flush_pool::~flush_pool() {
  {
    std::lock_guard lock(_mutex);
    _stopping = true;
  }
  _wake.notify_all();
  for (auto& t : _threads)
    t.join();
}

void flush_pool::submit(std::function<void()> job) {
  {
    std::lock_guard lock(_mutex);
    CAUDAL_ASSERT(!_stopping, "flush job submitted to a stopping pool");
    _jobs.push_back(std::move(job));
  }
  _wake.notify_one();
}

void flush_pool::run() {
  for (;;) {
    std::function<void()> job;
    {
      std::unique_lock lock(_mutex);
      _wake.wait(lock, [this] { return _stopping || !_jobs.empty(); });
      if (_jobs.empty()) return;  // stopping and drained
      job = std::move(_jobs.front());
      _jobs.pop_front();
    }
    job();
  }
}

}  // namespace caudal::storage
