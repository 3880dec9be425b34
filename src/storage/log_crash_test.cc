// Goal: nothing a log acknowledged as durable is lost or damaged when the process that
// wrote it dies at an arbitrary moment, and the log recovers to a valid, appendable state.
//
// Method: real processes and SIGKILL. Each round forks and execs log_crash_writer, which
// opens the log in the same directory (recovering what the previous round left), appends
// deterministic batches (storage/log_crash_batch.h) with the default every_append flush
// policy from one or three threads, and acknowledges each durable append on a pipe. The
// test kills it after a seeded random delay of a few to ~200 ms (counted from the start of
// the process in some rounds, so kills also land inside open/recovery, and from the moment
// the log is open in the others). Every few rounds, and at the end, the test opens the log
// itself and checks: every acknowledged batch is present at its offset byte for byte,
// offsets are contiguous from the log start, every batch validates and equals the batch
// its producer-id field names, and the log takes new appends. The seed is printed; set
// CAUDAL_SEED to replay a schedule (kill timing against real I/O stays nondeterministic).

#include "base/clock.h"
#include "base/random.h"
#include "base/record_batch.h"
#include "storage/flush_pool.h"
#include "storage/log.h"
#include "storage/log_crash_batch.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace caudal::storage {
namespace {

constexpr int rounds = 24;
constexpr std::int64_t kill_delay_ms_min = 3;
constexpr std::int64_t kill_delay_ms_max = 200;

struct ack {
  std::int64_t id;
  std::uint32_t crc;
};

std::uint64_t test_seed() {
  if (const char* s = std::getenv("CAUDAL_SEED")) return std::strtoull(s, nullptr, 10);
  return entropy_seed();
}

std::int64_t now_ms() {
  return system_clock().steady_ns() / 1'000'000;
}

// The output of one child: whether it reported an open log, and its acknowledgements.
struct round_output {
  bool opened = false;
  std::vector<std::pair<std::int64_t, ack>> acks;  // base offset -> ack
  int status = 0;
};

// Runs one writer child and kills it `delay_ms` after it started (or after it opened the
// log, with `from_open`). Reads the pipe all along so the child never blocks on it.
round_output run_round(const std::filesystem::path& dir, std::uint64_t seed, std::int64_t id_base,
                       int threads, std::int64_t delay_ms, bool from_open) {
  int fds[2];
  if (::pipe(fds) != 0) ADD_FAILURE() << "pipe: " << errno;
  ::fcntl(fds[0], F_SETFD, FD_CLOEXEC);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    const std::string seed_s = std::to_string(seed);
    const std::string id_s = std::to_string(id_base);
    const std::string threads_s = std::to_string(threads);
    const std::string fd_s = std::to_string(fds[1]);
    const char* args[] = {CAUDAL_CRASH_WRITER, dir.c_str(), seed_s.c_str(), id_s.c_str(),
                          threads_s.c_str(),   "1000000",   fd_s.c_str(),   nullptr};
    ::execv(CAUDAL_CRASH_WRITER, const_cast<char* const*>(args));
    ::_exit(127);
  }
  ::close(fds[1]);
  round_output out;
  std::string buffer;
  std::int64_t deadline = from_open ? -1 : now_ms() + delay_ms;
  bool killed = false;
  bool eof = false;
  auto parse_lines = [&] {
    std::size_t nl;
    while ((nl = buffer.find('\n')) != std::string::npos) {
      const std::string line = buffer.substr(0, nl);
      buffer.erase(0, nl + 1);
      if (line == "open") {
        out.opened = true;
        if (deadline < 0) deadline = now_ms() + delay_ms;
        continue;
      }
      std::istringstream in(line);
      std::int64_t offset = -1;
      ack a{};
      in >> offset >> a.id >> a.crc;
      EXPECT_TRUE(in && offset >= 0) << "bad acknowledgement line '" << line << "'";
      out.acks.push_back({offset, a});
    }
  };
  while (!eof) {
    int timeout = -1;
    if (!killed && deadline >= 0) {
      const std::int64_t left = deadline - now_ms();
      if (left <= 0) {
        ::kill(pid, SIGKILL);
        killed = true;
      } else {
        timeout = static_cast<int>(left);
      }
    }
    pollfd p{fds[0], POLLIN, 0};
    const int ready = ::poll(&p, 1, timeout);
    if (ready < 0 && errno != EINTR) {
      ADD_FAILURE() << "poll: " << errno;
      break;
    }
    if (ready <= 0) continue;
    char chunk[4096];
    const ssize_t n = ::read(fds[0], chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      eof = true;  // the child exited (killed, or finished) and the pipe is drained
      break;
    }
    buffer.append(chunk, static_cast<std::size_t>(n));
    parse_lines();
  }
  if (!killed) ::kill(pid, SIGKILL);  // it closed the pipe on its own: make sure it is gone
  ::close(fds[0]);
  ::waitpid(pid, &out.status, 0);
  EXPECT_TRUE(buffer.empty()) << "a torn acknowledgement line: '" << buffer << "'";
  return out;
}

// Opens the log and checks it against the acknowledgements; then closes it (cleanly).
void verify(const std::filesystem::path& dir, std::uint64_t seed,
            const std::map<std::int64_t, ack>& acked, bool append_after) {
  log_config config;
  config.segment_bytes = 64 * 1024;
  flush_pool flusher;
  auto opened = log::open(dir, config, system_clock(), flusher);
  ASSERT_TRUE(opened) << opened.error().message();
  log& l = **opened;
  EXPECT_EQ(l.log_start_offset(), kafka_offset(0));
  std::size_t acked_found = 0;
  kafka_offset next = l.log_start_offset();
  while (next < l.log_end_offset()) {
    auto read = l.read(next, 1 << 20);
    ASSERT_TRUE(read) << "read at " << next() << ": " << read.error().message();
    ASSERT_FALSE(read->empty()) << "nothing read at " << next() << " below the log end";
    auto bytes = read_bytes(*read);
    ASSERT_TRUE(bytes) << bytes.error().message();
    std::span<const std::byte> rest(*bytes);
    while (!rest.empty()) {
      auto size = batch::validate_prefix(rest, rest.size(), batch::count_check::stored);
      ASSERT_TRUE(size) << "batch at offset " << next() << ": " << size.error().message();
      const auto one = rest.first(*size);
      const batch::header_view h(one);
      ASSERT_EQ(h.base_offset(), next) << "offsets are not contiguous";
      auto expected = crash_test::make_batch(seed, h.producer_id());
      batch::set_base_offset(expected, next);
      ASSERT_TRUE(std::equal(one.begin(), one.end(), expected.begin(), expected.end()))
          << "batch at offset " << next() << " (id " << h.producer_id()
          << ") differs from what was written: " << one.size() << " bytes read, " << expected.size()
          << " expected, first difference at byte "
          << (std::mismatch(one.begin(), one.end(), expected.begin(), expected.end()).first -
              one.begin());
      if (auto it = acked.find(next()); it != acked.end()) {
        EXPECT_EQ(it->second.id, h.producer_id()) << "offset " << next();
        EXPECT_EQ(it->second.crc, h.crc()) << "offset " << next();
        ++acked_found;
      }
      next = h.last_offset() + 1;
      rest = rest.subspan(*size);
    }
  }
  EXPECT_EQ(next, l.log_end_offset());
  ASSERT_EQ(acked_found, acked.size())
      << "acknowledged batches are missing; the last one "
      << "acknowledged is at offset " << (acked.empty() ? -1 : acked.rbegin()->first)
      << ", the log ends at " << l.log_end_offset()();
  if (append_after) {
    // The recovered log takes new appends, and they read back.
    for (std::int64_t id = 900'000'000; id < 900'000'020; ++id) {
      auto bytes = crash_test::make_batch(seed, id);
      auto appended = l.append(bytes);
      ASSERT_TRUE(appended) << appended.error().message();
      ASSERT_TRUE(l.wait_durable(appended->last_offset));
      auto read = l.read(appended->base_offset, 1);
      ASSERT_TRUE(read);
      auto back = read_bytes(*read);
      ASSERT_TRUE(back);
      EXPECT_EQ(*back, bytes);
    }
  }
  ASSERT_TRUE(l.close());
}

TEST(log_crash, acknowledged_appends_survive_sigkill) {
  const std::uint64_t seed = test_seed();
  std::printf("log_crash seed %llu (set CAUDAL_SEED to replay)\n",
              static_cast<unsigned long long>(seed));
  SCOPED_TRACE(testing::Message() << "seed " << seed);
  random_source r(seed);

  char dir_template[] = "/tmp/caudal_log_crash_XXXXXX";
  ASSERT_NE(::mkdtemp(dir_template), nullptr);
  const std::filesystem::path dir = dir_template;

  std::map<std::int64_t, ack> acked;
  std::size_t opened_rounds = 0;
  for (int round = 0; round < rounds; ++round) {
    SCOPED_TRACE(testing::Message() << "round " << round);
    const int threads = round % 2 == 0 ? 1 : 3;
    const std::int64_t delay = r.range(kill_delay_ms_min, kill_delay_ms_max);
    const bool from_open = round % 4 != 0;
    auto out = run_round(dir, seed, std::int64_t{round} * 1'000'000, threads, delay, from_open);
    EXPECT_TRUE((WIFSIGNALED(out.status) && WTERMSIG(out.status) == SIGKILL) ||
                (WIFEXITED(out.status) && WEXITSTATUS(out.status) == 0))
        << "the writer failed on its own: status " << out.status;
    if (out.opened) ++opened_rounds;
    for (const auto& [offset, a] : out.acks) {
      const auto [it, fresh] = acked.emplace(offset, a);
      EXPECT_TRUE(fresh) << "offset " << offset << " acknowledged twice (ids " << it->second.id
                         << " and " << a.id << "): an acknowledged batch was lost";
    }
    std::printf("round %d: %d thread(s), killed after %lld ms%s, %zu acknowledged\n", round,
                threads, static_cast<long long>(delay), from_open ? " of an open log" : "",
                out.acks.size());
    if (round % 5 == 4) {
      verify(dir, seed, acked, false);
      if (HasFatalFailure()) return;
    }
  }
  EXPECT_GT(opened_rounds, 0u);
  EXPECT_GT(acked.size(), 0u);
  verify(dir, seed, acked, true);
  if (!HasFailure()) std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace caudal::storage
