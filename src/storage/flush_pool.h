#pragma once

// Where a log's fsyncs run. fdatasync blocks, so it never runs on an event loop: the
// log hands flush jobs to a flush_executor, and flush_pool is the thread-pool one.

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace caudal::storage {

/// Runs flush jobs somewhere other than the caller's thread.
class flush_executor {
 public:
  flush_executor() = default;
  flush_executor(const flush_executor&) = delete;
  flush_executor& operator=(const flush_executor&) = delete;
  virtual ~flush_executor() = default;

  /// Runs `job` later on another thread. Jobs may run concurrently with each other.
  virtual void submit(std::function<void()> job) = 0;
};

/// A fixed pool of threads running flush jobs in submission order. The destructor runs
/// the jobs still queued, then joins the threads.
class flush_pool final : public flush_executor {
 public:
  explicit flush_pool(std::size_t threads = 2);
  ~flush_pool() override;

  void submit(std::function<void()> job) override;

 private:
  void run();

  std::mutex _mutex;
  std::condition_variable _wake;
  std::deque<std::function<void()>> _jobs;  // guarded by _mutex
  bool _stopping = false;                   // guarded by _mutex
  std::vector<std::thread> _threads;
};

}  // namespace caudal::storage
