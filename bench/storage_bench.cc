// Storage engine throughput: appends of 16 KiB record batches to a partition log (a)
// without waiting for fsync, (b) with the default every_append policy and one appender,
// (c) with four appenders that each wait for their own append to be durable (group
// commit), and (d) a sequential read of the log back through log::read. Beside them, the
// same batch stream written the way an O_DIRECT log would write it (e) without and (f)
// with an fdatasync per append: what bypassing the page cache would save, measured before
// building it. Every case reports its CPU seconds per GB (all threads of this process).
// Prints one human line and one JSON line per case; bench/storage.sh runs it beside fio.
//
// Usage: storage_bench [--dir DIR] [--bytes N] [--sync-bytes N] [--batch-bytes N]
//                      [--threads N] [--cases nofsync,sync1,syncN,read,direct,direct_sync1]

#include "base/batch_builder.h"
#include "base/clock.h"
#include "base/record_batch.h"
#include "storage/flush_pool.h"
#include "storage/log.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
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
  std::string cases = "nofsync,sync1,syncN,read,direct,direct_sync1";
};

[[noreturn]] void usage(const char* why) {
  std::fprintf(
      stderr,
      "storage_bench: %s\nusage: storage_bench [--dir DIR] [--bytes N] [--sync-bytes N] "
      "[--batch-bytes N] [--threads N] [--cases nofsync,sync1,syncN,read,direct,direct_sync1]\n"
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

// CPU seconds (user + system) of every thread of this process so far.
double cpu_seconds() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// Busy CPU seconds of the whole machine so far (/proc/stat: all but idle and iowait). It
// counts what this process does not pay itself, such as the kernel's writeback threads.
double machine_cpu_seconds() {
  std::FILE* f = std::fopen("/proc/stat", "r");
  if (f == nullptr) return 0;
  unsigned long long v[8] = {};
  const int n = std::fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2],
                            &v[3], &v[4], &v[5], &v[6], &v[7]);
  std::fclose(f);
  if (n < 5) return 0;
  const unsigned long long busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
  return static_cast<double>(busy) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

struct cpu_mark {
  double process = cpu_seconds();
  double machine = machine_cpu_seconds();
};

void report(std::string_view name, std::string_view what, std::uint64_t bytes,
            std::uint64_t batches, double seconds, int threads, const cpu_mark& before) {
  const cpu_mark after;
  const double mb_s = static_cast<double>(bytes) / 1e6 / seconds;
  const double batches_s = static_cast<double>(batches) / seconds;
  const double gb = static_cast<double>(bytes) / 1e9;
  const double cpu_per_gb = (after.process - before.process) / gb;
  const double machine_per_gb = (after.machine - before.machine) / gb;
  std::printf(
      "%-12s %-52s %9.1f MB/s %10.0f batches/s %6.2f cpu-s/GB (machine %.2f) (%llu MB in %.2f "
      "s)\n",
      std::string(name).c_str(), std::string(what).c_str(), mb_s, batches_s, cpu_per_gb,
      machine_per_gb, static_cast<unsigned long long>(bytes / 1000000), seconds);
  std::printf(
      "{\"case\":\"%s\",\"threads\":%d,\"bytes\":%llu,\"batches\":%llu,\"seconds\":%.4f,"
      "\"mb_per_s\":%.2f,\"batches_per_s\":%.1f,\"cpu_s_per_gb\":%.3f,"
      "\"machine_cpu_s_per_gb\":%.3f}\n",
      std::string(name).c_str(), threads, static_cast<unsigned long long>(bytes),
      static_cast<unsigned long long>(batches), seconds, mb_s, batches_s, cpu_per_gb,
      machine_per_gb);
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
  const cpu_mark cpu;
  const std::int64_t start = system_clock().steady_ns();
  for (std::uint64_t i = 0; i < count; ++i)
    check(l->append(batch).has_value(), "append");
  check(l->flush().has_value(), "flush");
  const double s = seconds_since(start);
  report("nofsync", fmt::format("append {} B batches, no fsync wait, final flush", batch.size()),
         count * batch.size(), count, s, 1, cpu);
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
  const cpu_mark cpu;
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
         count * proto.size(), count, s, threads, cpu);
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
  const cpu_mark cpu;
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
         bytes / batch_size, s, 1, cpu);
  (void)reads;
  check(l.close().has_value(), "close");
}

// (e), (f) The batch stream written as an O_DIRECT log would write it. Each batch is copied
// into an aligned buffer. Without a wait for durability, whole blocks go out 1 MiB at a
// time (write-behind, as the page cache would do it; readers of the tail would need that
// buffer as a cache). With an fdatasync per append, each append writes the blocks from the
// partial last one on, which the next append writes again. Not the log itself: no indexes,
// reads or recovery; the write path's price, measured before building it.
void bench_direct(const options& o, bool sync_each) {
  constexpr std::size_t block = 4096;
  constexpr std::size_t write_behind = 1 << 20;
  const fs::path dir = o.dir / (sync_each ? "direct_sync1" : "direct");
  std::error_code ec;
  fs::remove_all(dir, ec);
  fs::create_directories(dir, ec);
  const fs::path path = dir / "00000000000000000000.log";
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_DIRECT | O_CLOEXEC, 0644);
  if (fd < 0 && errno == EINVAL) {
    std::printf("%-12s skipped: this file system refuses O_DIRECT\n",
                sync_each ? "direct_sync1" : "direct");
    fs::remove_all(dir, ec);
    return;
  }
  check(fd >= 0, "open O_DIRECT");
  const auto batch = make_batch(o.batch_bytes);
  const std::size_t staging_bytes = write_behind + 2 * ((batch.size() + block) / block) * block;
  void* raw = nullptr;
  check(::posix_memalign(&raw, block, staging_bytes) == 0, "posix_memalign");
  std::unique_ptr<std::byte, decltype(&std::free)> staging(static_cast<std::byte*>(raw), std::free);
  std::memset(staging.get(), 0, staging_bytes);
  std::uint64_t file_bytes = 0;   // logical size: bytes of whole batches
  std::uint64_t staged_from = 0;  // file position of staging[0], block aligned
  std::size_t written = 0;        // staging bytes already on disk (block aligned)
  // Writes staging[written, upto) rounded up to whole blocks (zero padded).
  const auto write_out = [&](std::size_t upto) {
    const std::size_t to = (upto + block - 1) / block * block;
    std::memset(staging.get() + upto, 0, to - upto);
    const ssize_t n = ::pwrite(fd, staging.get() + written, to - written,
                               static_cast<off_t>(staged_from + written));
    check(n == static_cast<ssize_t>(to - written), "pwrite O_DIRECT");
    written = upto / block * block;  // a partial last block is written again later
  };
  const std::uint64_t total = sync_each ? o.sync_bytes : o.bytes;
  const std::uint64_t count = std::max<std::uint64_t>(1, total / batch.size());
  const cpu_mark cpu;
  const std::int64_t start = system_clock().steady_ns();
  for (std::uint64_t i = 0; i < count; ++i) {
    std::size_t used = file_bytes - staged_from;
    if (used + batch.size() > staging_bytes - block) {
      // Keep only what is not yet written out, from its block on, at the front.
      std::memmove(staging.get(), staging.get() + written, used - written);
      staged_from += written;
      used -= written;
      written = 0;
    }
    std::memcpy(staging.get() + used, batch.data(), batch.size());
    used += batch.size();
    file_bytes += batch.size();
    if (sync_each) {
      write_out(used);
      check(::fdatasync(fd) == 0, "fdatasync");
    } else if (used - written >= write_behind) {
      write_out(used / block * block);
    }
  }
  write_out(file_bytes - staged_from);
  check(::ftruncate(fd, static_cast<off_t>(file_bytes)) == 0, "ftruncate");
  check(::fdatasync(fd) == 0, "fdatasync");
  const double s = seconds_since(start);
  ::close(fd);
  report(sync_each ? "direct_sync1" : "direct",
         sync_each ? fmt::format("O_DIRECT {} B batches, fdatasync after each", batch.size())
                   : fmt::format("O_DIRECT {} B batches, 1 MiB writes, final flush", batch.size()),
         count * batch.size(), count, s, 1, cpu);
  fs::remove_all(dir, ec);
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
  if (want("direct")) bench_direct(o, false);
  if (want("direct_sync1")) bench_direct(o, true);
  fs::remove_all(o.dir, ec);
  return 0;
}
