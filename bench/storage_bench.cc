// Storage engine throughput: appends of 16 KiB record batches to a partition log (a)
// without waiting for fsync, (b) with the default every_append policy and one appender,
// (c) with four appenders that each wait for their own append to be durable (group
// commit), and (d) a sequential read of the log back through log::read.
// Prints one human line and one JSON line per case; bench/storage.sh runs it beside fio.
//
// Usage: storage_bench [--dir DIR] [--bytes N] [--sync-bytes N] [--batch-bytes N]
//                      [--threads N] [--cases nofsync,sync1,syncN,read]

#include "base/batch_builder.h"
#include "base/clock.h"
#include "base/record_batch.h"
#include "storage/flush_pool.h"
#include "storage/log.h"

#include <fcntl.h>
#include <fmt/format.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

using namespace caudal;
namespace fs = std::filesystem;

struct options {
  fs::path dir = "storage-bench-data";
  std::uint64_t bytes = 1ull << 30;         // per no-fsync case and read
  std::uint64_t sync_bytes = 256ull << 20;  // per durable case
  std::size_t batch_bytes = 16 * 1024;
  int threads = 4;
  std::string cases = "nofsync,sync1,syncN,read";
};

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr,
               "storage_bench: %s\nusage: storage_bench [--dir DIR] [--bytes N] [--sync-bytes N] "
               "[--batch-bytes N] [--threads N] [--cases nofsync,sync1,syncN,read]\n"
               "sizes take a K, M or G suffix\n",
               why);
  std::exit(2);
}

std::uint64_t parse_size(std::string_view s) {
  char* end = nullptr;
  const std::string str(s);
  std::uint64_t v = std::strtoull(str.c_str(), &end, 10);
  const std::string_view suffix(end);
  if (end == str.c_str()) usage("bad size");
  if (suffix == "K" || suffix == "k")
    v <<= 10;
  else if (suffix == "M" || suffix == "m")
    v <<= 20;
  else if (suffix == "G" || suffix == "g")
    v <<= 30;
  else if (!suffix.empty())
    usage("bad size suffix");
  return v;
}

options parse(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (i + 1 >= argc) usage("missing value");
    const std::string_view v = argv[++i];
    if (a == "--dir")
      o.dir = std::string(v);
    else if (a == "--bytes")
      o.bytes = parse_size(v);
    else if (a == "--sync-bytes")
      o.sync_bytes = parse_size(v);
    else if (a == "--batch-bytes")
      o.batch_bytes = parse_size(v);
    else if (a == "--threads")
      o.threads = static_cast<int>(parse_size(v));
    else if (a == "--cases")
      o.cases = std::string(v);
    else
      usage("unknown flag");
  }
  if (o.batch_bytes < 200 || o.threads < 1) usage("batch too small or no threads");
  return o;
}

// One batch of about `size` bytes: records of 1000-byte values.
std::vector<std::byte> make_batch(std::size_t size) {
  batch::builder b;
  std::vector<std::byte> value(1000);
  for (std::size_t i = 0; i < value.size(); ++i)
    value[i] = static_cast<std::byte>(i * 31 + 7);
  std::size_t used = batch::header_bytes;
  std::int64_t ts = 1'700'000'000'000;
  while (used + 1020 <= size || b.records() == 0) {
    const std::size_t n =
        std::min<std::size_t>(value.size(), size > used + 20 ? size - used - 20 : 1);
    b.add(std::nullopt, std::span<const std::byte>(value).first(n), ts++);
    used += n + 20;
  }
  return b.finish();
}

double seconds_since(std::int64_t start_ns) {
  return static_cast<double>(system_clock().steady_ns() - start_ns) / 1e9;
}

void report(std::string_view name, std::string_view what, std::uint64_t bytes,
            std::uint64_t batches, double seconds, int threads) {
  const double mb_s = static_cast<double>(bytes) / 1e6 / seconds;
  const double batches_s = static_cast<double>(batches) / seconds;
  std::printf("%-8s %-52s %9.1f MB/s %10.0f batches/s (%llu MB in %.2f s)\n",
              std::string(name).c_str(), std::string(what).c_str(), mb_s, batches_s,
              static_cast<unsigned long long>(bytes / 1000000), seconds);
  std::printf(
      "{\"case\":\"%s\",\"threads\":%d,\"bytes\":%llu,\"batches\":%llu,\"seconds\":%.4f,"
      "\"mb_per_s\":%.2f,\"batches_per_s\":%.1f}\n",
      std::string(name).c_str(), threads, static_cast<unsigned long long>(bytes),
      static_cast<unsigned long long>(batches), seconds, mb_s, batches_s);
  std::fflush(stdout);
}

void check(bool ok, std::string_view what) {
  if (!ok) {
    std::fprintf(stderr, "storage_bench: %s failed\n", std::string(what).c_str());
    std::exit(1);
  }
}

std::unique_ptr<storage::log> open_log(const fs::path& dir, storage::flush_policy policy,
                                       storage::flush_executor& flusher) {
  std::error_code ec;
  fs::remove_all(dir, ec);
  storage::log_config config;  // 1 GiB segments, as Kafka
  config.flush = policy;
  if (policy == storage::flush_policy::interval) {
    config.flush_messages = 1LL << 62;
    config.flush_ms = 1LL << 62;
  }
  auto l = storage::log::open(dir, config, system_clock(), flusher);
  check(l.has_value(), "open");
  return std::move(*l);
}

// (a) Appends as fast as possible; one flush at the end (as fio's --end_fsync=1).
void bench_nofsync(const options& o) {
  storage::flush_pool flusher;
  auto l = open_log(o.dir / "nofsync", storage::flush_policy::interval, flusher);
  auto batch = make_batch(o.batch_bytes);
  const std::uint64_t count = std::max<std::uint64_t>(1, o.bytes / batch.size());
  const std::int64_t start = system_clock().steady_ns();
  for (std::uint64_t i = 0; i < count; ++i)
    check(l->append(batch).has_value(), "append");
  check(l->flush().has_value(), "flush");
  const double s = seconds_since(start);
  report("nofsync", fmt::format("append {} B batches, no fsync wait, final flush", batch.size()),
         count * batch.size(), count, s, 1);
  check(l->close().has_value(), "close");
}

// (b), (c) Every append waits until it is durable; `threads` appenders share fsyncs.
void bench_sync(const options& o, int threads) {
  storage::flush_pool flusher;
  auto l = open_log(o.dir / fmt::format("sync{}", threads), storage::flush_policy::every_append,
                    flusher);
  const auto proto = make_batch(o.batch_bytes);
  const std::uint64_t per_thread =
      std::max<std::uint64_t>(1, o.sync_bytes / proto.size() / static_cast<std::uint64_t>(threads));
  const std::int64_t start = system_clock().steady_ns();
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&l, &proto, per_thread] {
      auto batch = proto;
      for (std::uint64_t i = 0; i < per_thread; ++i) {
        auto appended = l->append(batch);
        check(appended.has_value(), "append");
        check(l->wait_durable(appended->last_offset).has_value(), "wait_durable");
      }
    });
  }
  for (auto& w : workers)
    w.join();
  const double s = seconds_since(start);
  const std::uint64_t count = per_thread * static_cast<std::uint64_t>(threads);
  report(threads == 1 ? "sync1" : fmt::format("sync{}", threads),
         fmt::format("append {} B batches, every_append, {} appender(s)", proto.size(), threads),
         count * proto.size(), count, s, threads);
  check(l->close().has_value(), "close");
}

// (d) Reads the no-fsync case's log (or writes one) front to back, 1 MiB per read,
// after dropping it from the page cache so the disk is read.
void bench_read(const options& o) {
  const fs::path dir = o.dir / "nofsync";
  storage::flush_pool flusher;
  if (!fs::exists(dir)) {
    auto l = open_log(dir, storage::flush_policy::interval, flusher);
    auto batch = make_batch(o.batch_bytes);
    for (std::uint64_t i = 0; i < std::max<std::uint64_t>(1, o.bytes / batch.size()); ++i) {
      check(l->append(batch).has_value(), "append");
    }
    check(l->close().has_value(), "close");
  }
  for (const auto& entry : fs::directory_iterator(dir)) {
    const int fd = ::open(entry.path().c_str(), O_RDONLY);
    if (fd < 0) continue;
    ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    ::close(fd);
  }
  storage::log_config config;
  auto opened = storage::log::open(dir, config, system_clock(), flusher);
  check(opened.has_value(), "open");
  auto& l = **opened;
  const std::int64_t start = system_clock().steady_ns();
  std::uint64_t bytes = 0;
  std::uint64_t reads = 0;
  kafka_offset next = l.log_start_offset();
  while (next < l.log_end_offset()) {
    auto r = l.read(next, 1 << 20);
    check(r.has_value() && !r->empty(), "read");
    auto data = storage::read_bytes(*r);
    check(data.has_value(), "read_bytes");
    bytes += data->size();
    ++reads;
    next = r->range.next_offset;
  }
  const double s = seconds_since(start);
  const std::uint64_t batch_size = make_batch(o.batch_bytes).size();
  report("read", "sequential log::read + read_bytes, 1 MiB reads, cold cache", bytes,
         bytes / batch_size, s, 1);
  (void)reads;
  check(l.close().has_value(), "close");
}

}  // namespace

int main(int argc, char** argv) {
  const options o = parse(argc, argv);
  std::error_code ec;
  fs::create_directories(o.dir, ec);
  auto want = [&](std::string_view c) {
    return ("," + o.cases + ",").find("," + std::string(c) + ",") != std::string::npos;
  };
  if (want("nofsync")) bench_nofsync(o);
  if (want("sync1")) bench_sync(o, 1);
  if (want("syncN")) bench_sync(o, o.threads);
  if (want("read")) bench_read(o);
  fs::remove_all(o.dir, ec);
  return 0;
}
