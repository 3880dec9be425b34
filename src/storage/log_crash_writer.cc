// The child process of the storage crash test (log_crash_test.cc). It opens a log with the
// default, durable-by-default configuration (and small segments, so rolls happen while it
// runs), appends the deterministic batches of storage/log_crash_batch.h from one or more
// threads, waits for each append to be durable, and only then acknowledges it with one
// line "offset id crc" written with write(2) to a file descriptor: no buffering, so a line
// the parent reads is an append that was durable before the line was written. The parent
// kills this process with SIGKILL at a moment of its choosing.
//
// Usage: log_crash_writer DIR SEED ID_BASE THREADS BATCHES_MAX ACK_FD
// Writes "open\n" once the log is open. Exits 0 after BATCHES_MAX batches per thread.

#include "base/clock.h"
#include "base/record_batch.h"
#include "storage/flush_pool.h"
#include "storage/log.h"
#include "storage/log_crash_batch.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

using namespace caudal;

// Writes all of `line` to `fd`; a line shorter than PIPE_BUF reaches a pipe in one piece.
void write_line(int fd, std::string_view line) {
  while (!line.empty()) {
    const ssize_t n = ::write(fd, line.data(), line.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) std::_Exit(3);  // the parent is gone
    line.remove_prefix(static_cast<std::size_t>(n));
  }
}

[[noreturn]] void die(std::string_view what, std::error_code ec) {
  std::fprintf(stderr, "log_crash_writer: %.*s: %s\n", static_cast<int>(what.size()), what.data(),
               ec.message().c_str());
  std::_Exit(2);
}

void appender(storage::log& l, std::uint64_t seed, std::int64_t first_id, std::int64_t count,
              int ack_fd) {
  for (std::int64_t i = 0; i < count; ++i) {
    const std::int64_t id = first_id + i;
    auto bytes = storage::crash_test::make_batch(seed, id);
    const std::uint32_t crc = batch::header_view(bytes).crc();
    auto appended = l.append(bytes);
    if (!appended) die("append", appended.error());
    if (auto r = l.wait_durable(appended->last_offset); !r) die("wait_durable", r.error());
    write_line(ack_fd, fmt::format("{} {} {}\n", appended->base_offset, id, crc));
  }
}

std::int64_t parse(const char* s) {
  char* end = nullptr;
  const long long v = std::strtoll(s, &end, 10);
  if (end == s || *end != '\0') {
    std::fprintf(stderr, "log_crash_writer: bad number '%s'\n", s);
    std::_Exit(2);
  }
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 7) {
    std::fprintf(stderr, "usage: log_crash_writer DIR SEED ID_BASE THREADS BATCHES_MAX ACK_FD\n");
    return 2;
  }
  const std::string dir = argv[1];
  const std::uint64_t seed = std::strtoull(argv[2], nullptr, 10);
  const std::int64_t id_base = parse(argv[3]);
  const std::int64_t threads = parse(argv[4]);
  const std::int64_t batches_max = parse(argv[5]);
  const int ack_fd = static_cast<int>(parse(argv[6]));

  storage::log_config config;  // flush_policy::every_append: the default under test
  config.segment_bytes = 64 * 1024;
  storage::flush_pool flusher;
  auto opened = storage::log::open(dir, config, system_clock(), flusher);
  if (!opened) die("open", opened.error());
  storage::log& l = **opened;
  write_line(ack_fd, "open\n");

  std::vector<std::thread> workers;
  for (std::int64_t t = 0; t < threads; ++t) {
    workers.emplace_back(appender, std::ref(l), seed, id_base + t * 100'000, batches_max, ack_fd);
  }
  for (auto& w : workers)
    w.join();
  if (auto r = l.close(); !r) die("close", r.error());
  return 0;
}
