// Goal: the partition log's contract, one behaviour per test: offsets assigned by patching,
// invalid batches rejected without changing the log, reads of whole batches bounded by
// max bytes, segment rolls by size and age, timestamp lookups, retention by time and
// size, prefix and suffix truncation (and that they survive a reopen), durability
// callbacks under both flush policies and with two flush threads, readers running beside
// the writer, and read-ahead for readers of old data (observed with mincore).
// Method: real files in a temporary directory, a manual clock, batches from the builder.

#include "storage/log.h"

#include "base/record_batch.h"
#include "storage/errc.h"
#include "storage/test_util.h"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

namespace caudal::storage {
namespace {

using testing::make_batch;
using testing::temp_dir;

constexpr std::int64_t t0 = 1'700'000'000'000;

class log_test : public ::testing::Test {
 protected:
  std::unique_ptr<log> open_log() {
    auto l = log::open(dir.path(), config, clk, pool);
    EXPECT_TRUE(l) << l.error().message();
    return std::move(*l);
  }

  append_result append(log& l, int records = 3, std::size_t value_bytes = 100,
                       std::int64_t ts = t0) {
    auto b = make_batch(records, value_bytes, ts, ++seed);
    auto r = l.append(b);
    EXPECT_TRUE(r) << r.error().message();
    return *r;
  }

  // Reads every batch from the log start to the end, checking each one.
  std::vector<std::vector<std::byte>> read_all(const log& l) {
    std::vector<std::vector<std::byte>> out;
    kafka_offset next = l.log_start_offset();
    while (next < l.log_end_offset()) {
      auto r = l.read(next, 1 << 20);
      EXPECT_TRUE(r);
      if (!r || r->empty()) break;
      auto bytes = read_bytes(*r);
      EXPECT_TRUE(bytes);
      std::span<const std::byte> rest(*bytes);
      while (!rest.empty()) {
        auto size = batch::validate_prefix(rest, rest.size(), batch::count_check::stored);
        EXPECT_TRUE(size);
        if (!size) return out;
        out.emplace_back(rest.begin(), rest.begin() + static_cast<std::ptrdiff_t>(*size));
        rest = rest.subspan(*size);
      }
      next = r->range.next_offset;
    }
    return out;
  }

  temp_dir dir;
  manual_clock clk{t0};
  flush_pool pool{1};
  log_config config;
  std::uint64_t seed = 0;
};

TEST_F(log_test, append_assigns_offsets_by_patching_the_base_offset) {
  auto l = open_log();
  EXPECT_EQ(l->log_start_offset(), kafka_offset(0));
  EXPECT_EQ(l->log_end_offset(), kafka_offset(0));
  auto a = append(*l, 3);
  auto b = append(*l, 5);
  EXPECT_EQ(a.base_offset, kafka_offset(0));
  EXPECT_EQ(a.last_offset, kafka_offset(2));
  EXPECT_EQ(b.base_offset, kafka_offset(3));
  EXPECT_EQ(b.last_offset, kafka_offset(7));
  EXPECT_EQ(b.max_timestamp, t0 + 4);
  EXPECT_EQ(l->log_end_offset(), kafka_offset(8));
  auto batches = read_all(*l);
  ASSERT_EQ(batches.size(), 2u);
  EXPECT_EQ(batch::header_view(batches[1]).base_offset(), kafka_offset(3));
}

TEST_F(log_test, invalid_batches_are_rejected_and_change_nothing) {
  auto l = open_log();
  append(*l);
  auto bad_crc = make_batch(2, 10, t0);
  bad_crc.back() ^= std::byte{1};
  EXPECT_EQ(l->append(bad_crc).error(), batch::errc::bad_crc);
  auto bad_magic = make_batch(2, 10, t0);
  bad_magic[batch::magic_pos] = std::byte{1};
  EXPECT_EQ(l->append(bad_magic).error(), batch::errc::bad_magic);
  auto half = make_batch(2, 10, t0);
  half.resize(half.size() / 2);
  EXPECT_EQ(l->append(half).error(), batch::errc::truncated);
  config.max_message_bytes = 1000;
  l->set_config(config);
  auto big = make_batch(1, 2000, t0);
  EXPECT_EQ(l->append(big).error(), errc::batch_too_large);
  EXPECT_EQ(l->log_end_offset(), kafka_offset(3));
  EXPECT_EQ(read_all(*l).size(), 1u);
}

TEST_F(log_test, trusted_appends_skip_the_crc_but_still_take_only_whole_batches) {
  auto l = open_log();
  auto b = make_batch(2, 10, t0, 1);
  auto bad_crc = b;
  bad_crc.back() ^= std::byte{1};  // the caller vouches for it: no CRC pass here
  EXPECT_TRUE(l->append(bad_crc, batch_check::trusted));
  EXPECT_FALSE(l->append(bad_crc));
  auto longer = b;
  longer.push_back(std::byte{0});
  EXPECT_FALSE(l->append(longer, batch_check::trusted));
  EXPECT_FALSE(l->append(std::span(b).first(20), batch_check::trusted));
  auto old_magic = b;
  old_magic[batch::magic_pos] = std::byte{1};
  EXPECT_FALSE(l->append(old_magic, batch_check::trusted));
  EXPECT_EQ(l->log_end_offset(), kafka_offset(2));
}

TEST_F(log_test, reads_whole_batches_within_max_bytes_but_at_least_one) {
  auto l = open_log();
  std::vector<std::size_t> sizes;
  for (int i = 0; i < 10; ++i) {
    auto b = make_batch(2, 200, t0, static_cast<std::uint64_t>(i));
    sizes.push_back(b.size());
    ASSERT_TRUE(l->append(b));
  }
  // Offset 5 is the second record of the third batch: the read starts at that batch.
  auto r = l->read(kafka_offset(5), sizes[2] + sizes[3] + 10);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->range.first_offset, kafka_offset(4));
  EXPECT_EQ(r->range.size, sizes[2] + sizes[3]);
  EXPECT_EQ(r->range.next_offset, kafka_offset(8));
  auto one = l->read(kafka_offset(0), 1);
  ASSERT_TRUE(one);
  EXPECT_EQ(one->range.size, sizes[0]) << "the first batch even if larger than the limit";
  auto at_end = l->read(kafka_offset(20), 1000);
  ASSERT_TRUE(at_end);
  EXPECT_TRUE(at_end->empty());
  EXPECT_EQ(l->read(kafka_offset(21), 1000).error(), errc::offset_out_of_range);
  EXPECT_EQ(l->read(kafka_offset(-1), 1000).error(), errc::offset_out_of_range);
}

TEST_F(log_test, every_offset_is_found_through_the_sparse_index) {
  config.index_interval_bytes = 512;
  config.segment_bytes = 16 * 1024;
  auto l = open_log();
  for (int i = 0; i < 200; ++i)
    append(*l, 1 + i % 4, 50 + static_cast<std::size_t>(i % 7) * 30);
  EXPECT_GT(l->segment_count(), 2u);
  for (std::int64_t o = 0; o < l->log_end_offset()(); ++o) {
    auto r = l->read(kafka_offset(o), 1);
    ASSERT_TRUE(r);
    auto bytes = read_bytes(*r);
    ASSERT_TRUE(bytes);
    ASSERT_TRUE(batch::validate(*bytes, bytes->size(), batch::count_check::fresh));
    const batch::header_view h(*bytes);
    EXPECT_LE(h.base_offset(), kafka_offset(o));
    EXPECT_GE(h.last_offset(), kafka_offset(o));
  }
}

TEST_F(log_test, rolls_segments_by_size_and_by_age) {
  config.segment_bytes = 4096;
  auto l = open_log();
  const auto one = make_batch(3, 500, t0).size();
  const std::size_t per_segment = 4096 / one;
  for (std::size_t i = 0; i < per_segment; ++i)
    append(*l, 3, 500);
  EXPECT_EQ(l->segment_count(), 1u);
  append(*l, 3, 500);
  EXPECT_EQ(l->segment_count(), 2u);
  EXPECT_EQ(l->segment_bases().back(), kafka_offset(static_cast<std::int64_t>(per_segment) * 3));

  config.segment_bytes = 1 << 20;
  config.segment_ms = 1000;
  l->set_config(config);
  append(*l);
  EXPECT_EQ(l->segment_count(), 2u);
  clk.advance_ms(1000);
  l->tick();
  EXPECT_EQ(l->segment_count(), 3u) << "tick() rolls an old active segment";
  clk.advance_ms(1000);
  l->tick();
  EXPECT_EQ(l->segment_count(), 3u) << "an empty active segment is not rolled";
  EXPECT_EQ(read_all(*l).size(), per_segment + 2);
}

TEST_F(log_test, finds_the_first_batch_at_or_after_a_timestamp) {
  config.index_interval_bytes = 300;
  config.segment_bytes = 8 * 1024;
  auto l = open_log();
  for (int i = 0; i < 100; ++i)
    append(*l, 2, 100, t0 + i * 10);  // records at t0+10i, +1
  for (int i = 0; i < 100; ++i) {
    for (std::int64_t delta : {0, 1, 2}) {
      auto found = l->find_timestamp(t0 + i * 10 + delta);
      ASSERT_TRUE(found);
      const bool past_batch = delta == 2;
      if (past_batch && i == 99) {
        EXPECT_FALSE(*found);
        continue;
      }
      ASSERT_TRUE(*found) << i << " " << delta;
      EXPECT_EQ((*found)->range.first_offset, kafka_offset((i + (past_batch ? 1 : 0)) * 2));
    }
  }
  auto before = l->find_timestamp(0);
  ASSERT_TRUE(before && *before);
  EXPECT_EQ((*before)->range.first_offset, kafka_offset(0));
}

TEST_F(log_test, retention_by_time_deletes_old_segments_and_moves_the_start) {
  config.segment_bytes = 2048;
  config.retention_ms = 60'000;
  auto l = open_log();
  for (int i = 0; i < 10; ++i)
    append(*l, 2, 400, t0);
  const auto segments = l->segment_count();
  ASSERT_GT(segments, 3u);
  clk.advance_ms(30'000);
  EXPECT_EQ(*l->apply_retention(), 0u);
  for (int i = 0; i < 3; ++i)
    append(*l, 2, 400, clk.wall_ms());
  clk.advance_ms(31'000);  // the first ten batches are now 61 s old, the rest 31 s
  auto removed = l->apply_retention();
  ASSERT_TRUE(removed);
  EXPECT_GT(*removed, 0u);
  EXPECT_EQ(l->log_start_offset(), l->segment_bases().front());
  EXPECT_LE(l->log_start_offset(), kafka_offset(20)) << "recent batches stay";
  EXPECT_EQ(l->read(kafka_offset(0), 100).error(), errc::offset_out_of_range);
  clk.advance_ms(60'000);  // now everything, the active segment too, has expired
  ASSERT_TRUE(l->apply_retention());
  EXPECT_EQ(l->log_start_offset(), l->log_end_offset());
  EXPECT_EQ(l->segment_count(), 1u);
  EXPECT_EQ(append(*l).base_offset, kafka_offset(26)) << "offsets continue after retention";
}

TEST_F(log_test, retention_by_size_keeps_at_most_retention_bytes_outside_the_active_segment) {
  config.segment_bytes = 2048;
  config.retention_bytes = 5000;
  auto l = open_log();
  for (int i = 0; i < 30; ++i)
    append(*l, 2, 400);
  ASSERT_TRUE(l->apply_retention());
  EXPECT_LT(l->size_bytes(), 5000u + 2048u);
  EXPECT_GE(l->size_bytes(), 5000u - 2048u);
  EXPECT_EQ(l->log_start_offset(), l->segment_bases().front());
  EXPECT_EQ(read_all(*l).size() * 2,
            static_cast<std::size_t>(l->log_end_offset() - l->log_start_offset()));
}

TEST_F(log_test, prefix_truncation_moves_the_start_and_survives_reopen) {
  config.segment_bytes = 2048;
  {
    auto l = open_log();
    for (int i = 0; i < 20; ++i)
      append(*l, 2, 400);
    const auto before = l->segment_count();
    ASSERT_TRUE(l->truncate_prefix(kafka_offset(15)));  // mid-batch
    EXPECT_EQ(l->log_start_offset(), kafka_offset(15));
    EXPECT_LT(l->segment_count(), before);
    EXPECT_EQ(l->read(kafka_offset(14), 100).error(), errc::offset_out_of_range);
    auto r = l->read(kafka_offset(15), 100);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->range.first_offset, kafka_offset(14)) << "the batch holding the start";
    EXPECT_EQ(l->truncate_prefix(kafka_offset(41)).error(), errc::offset_out_of_range);
    ASSERT_TRUE(l->truncate_prefix(kafka_offset(10)));  // going back is a no-op
    EXPECT_EQ(l->log_start_offset(), kafka_offset(15));
  }
  auto l = open_log();
  EXPECT_EQ(l->log_start_offset(), kafka_offset(15));
  EXPECT_EQ(l->log_end_offset(), kafka_offset(40));
  ASSERT_TRUE(l->truncate_prefix(kafka_offset(40)));  // everything
  EXPECT_EQ(l->segment_count(), 1u);
  EXPECT_EQ(append(*l).base_offset, kafka_offset(40));
}

TEST_F(log_test, suffix_truncation_removes_whole_batches_across_segments) {
  config.segment_bytes = 2048;
  {
    auto l = open_log();
    for (int i = 0; i < 20; ++i)
      append(*l, 2, 400);
    const auto segments = l->segment_count();
    auto end = l->truncate_suffix(kafka_offset(9));  // inside the batch 8..9
    ASSERT_TRUE(end);
    EXPECT_EQ(*end, kafka_offset(8));
    EXPECT_EQ(l->log_end_offset(), kafka_offset(8));
    EXPECT_LT(l->segment_count(), segments);
    EXPECT_EQ(read_all(*l).size(), 4u);
    EXPECT_EQ(append(*l).base_offset, kafka_offset(8));
    EXPECT_EQ(*l->truncate_suffix(kafka_offset(100)), kafka_offset(11)) << "past the end: no-op";
  }
  auto l = open_log();
  EXPECT_EQ(l->log_end_offset(), kafka_offset(11));
  EXPECT_EQ(read_all(*l).size(), 5u);
  EXPECT_EQ(*l->truncate_suffix(kafka_offset(0)), kafka_offset(0));
  EXPECT_EQ(l->log_end_offset(), kafka_offset(0));
  EXPECT_EQ(append(*l).base_offset, kafka_offset(0));
}

TEST_F(log_test, reopen_after_clean_close_keeps_everything) {
  config.segment_bytes = 4096;
  std::vector<std::vector<std::byte>> before;
  {
    auto l = open_log();
    for (int i = 0; i < 30; ++i)
      append(*l, 2, 300);
    before = read_all(*l);
    ASSERT_TRUE(l->close());
    EXPECT_EQ(l->close().error(), errc::closed);
    auto b = make_batch(1, 1, t0);
    EXPECT_EQ(l->append(b).error(), errc::closed);
  }
  auto l = open_log();
  EXPECT_EQ(l->log_end_offset(), kafka_offset(60));
  EXPECT_EQ(l->durable_end_offset(), kafka_offset(60));
  EXPECT_EQ(read_all(*l), before);
}

TEST_F(log_test, durability_callbacks_complete_in_group_commits) {
  auto l = open_log();
  std::atomic<int> done{0};
  for (int i = 0; i < 50; ++i) {
    auto a = append(*l);
    l->when_durable(a.last_offset, [&done](std::error_code ec) {
      EXPECT_FALSE(ec);
      done.fetch_add(1);
    });
  }
  ASSERT_TRUE(l->flush());
  ASSERT_TRUE(l->wait_durable(kafka_offset(149)));
  EXPECT_EQ(done.load(), 50);
  EXPECT_EQ(l->durable_end_offset(), kafka_offset(150));
  // Already durable: the callback runs at once, on this thread.
  bool now = false;
  l->when_durable(kafka_offset(3), [&now](std::error_code ec) { now = !ec; });
  EXPECT_TRUE(now);
}

TEST_F(log_test, interval_policy_flushes_after_flush_messages_or_flush_ms) {
  config.flush = flush_policy::interval;
  config.flush_messages = 10;
  config.flush_ms = 1000;
  auto l = open_log();
  append(*l, 3);
  append(*l, 3);
  // Nothing asked for durability and fewer than 10 messages: no flush has run.
  EXPECT_EQ(l->durable_end_offset(), kafka_offset(0));
  append(*l, 5);  // 11 unflushed messages
  // The flush runs on the pool: poll without asking for durability ourselves.
  for (int i = 0; i < 5000 && l->durable_end_offset() < kafka_offset(11); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_EQ(l->durable_end_offset(), kafka_offset(11));
  append(*l, 1);
  clk.advance_ms(1000);
  l->tick();
  for (int i = 0; i < 5000 && l->durable_end_offset() < kafka_offset(12); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_EQ(l->durable_end_offset(), kafka_offset(12));
}

TEST_F(log_test, readers_never_see_half_a_batch) {
  config.segment_bytes = 64 * 1024;
  auto l = open_log();
  std::atomic<bool> stop{false};
  std::atomic<int> checked{0};
  std::thread reader([&] {
    while (!stop.load()) {
      const kafka_offset end = l->log_end_offset();
      kafka_offset next = l->log_start_offset();
      while (next < end) {
        auto r = l->read(next, 8192);
        ASSERT_TRUE(r);
        auto bytes = read_bytes(*r);
        ASSERT_TRUE(bytes);
        std::span<const std::byte> rest(*bytes);
        while (!rest.empty()) {
          auto size = batch::validate_prefix(rest, rest.size(), batch::count_check::fresh);
          ASSERT_TRUE(size) << size.error().message();
          rest = rest.subspan(*size);
          checked.fetch_add(1);
        }
        next = r->range.next_offset;
      }
    }
  });
  for (int i = 0; i < 500; ++i)
    append(*l, 1 + i % 5, 100 + static_cast<std::size_t>(i % 13) * 50);
  stop.store(true);
  reader.join();
  EXPECT_GT(checked.load(), 0);
}

}  // namespace
}  // namespace caudal::storage

namespace caudal::storage {
namespace {

TEST_F(log_test, reads_stop_at_the_limit) {
  config.segment_bytes = 2048;
  auto l = open_log();
  for (int i = 0; i < 10; ++i)
    append(*l, 2, 400);  // several segments
  auto r = l->read(kafka_offset(0), 1 << 20, kafka_offset(4));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->range.next_offset, kafka_offset(4));
  auto at_limit = l->read(kafka_offset(4), 1 << 20, kafka_offset(4));
  ASSERT_TRUE(at_limit);
  EXPECT_TRUE(at_limit->empty());
  const auto last_base = l->segment_bases().back();
  auto across = l->read(last_base, 1 << 20, last_base);
  ASSERT_TRUE(across);
  EXPECT_TRUE(across->empty()) << "a limit at a segment boundary stops the read";
}

}  // namespace
}  // namespace caudal::storage

namespace caudal::storage {
namespace {

// Pages of [position, position + length) of `fd` the page cache holds.
std::size_t resident_pages(int fd, std::uint64_t position, std::uint64_t length) {
  const auto page = static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
  void* map = ::mmap(nullptr, position + length, PROT_READ, MAP_SHARED, fd, 0);
  if (map == MAP_FAILED) return 0;
  std::vector<unsigned char> in_core((position + length + page - 1) / page);
  std::size_t n = 0;
  if (::mincore(map, position + length, in_core.data()) == 0) {
    for (std::size_t i = position / page; i < in_core.size(); ++i)
      n += in_core[i] & 1;
  }
  ::munmap(map, position + length);
  return n;
}

TEST_F(log_test, a_read_of_old_data_starts_the_disk_on_what_follows) {
  {
    auto l = open_log();
    for (int i = 0; i < 160; ++i)
      append(*l, 10, 10'000);  // about 16 MiB in one segment
    ASSERT_TRUE(l->close());
  }
  const int fd = ::open((dir.path() / segment_file_name(kafka_offset(0), ".log")).c_str(),
                        O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  const std::uint64_t window = 6 << 20;
  ASSERT_EQ(::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED), 0);
  if (resident_pages(fd, 1 << 20, window) > 0) {
    ::close(fd);
    GTEST_SKIP() << "this file system keeps the pages cached (tmpfs?): nothing to observe";
  }
  // A consumer starting at the beginning of old data: its first read asks for the next
  // window, and the kernel fills it without anyone reading it.
  auto l = open_log();
  auto first = l->read(kafka_offset(0), 1 << 20);
  ASSERT_TRUE(first && !first->empty());
  const std::uint64_t after = first->range.position + first->range.size;
  const auto page = static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
  std::size_t resident = 0;
  for (int i = 0; i < 500 && resident < window / page / 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    resident = resident_pages(fd, after, window);
  }
  ::close(fd);
  EXPECT_GE(resident, window / page / 2) << "the bytes after the read were not read ahead";
}

}  // namespace
}  // namespace caudal::storage

namespace caudal::storage {
namespace {

TEST_F(log_test, with_two_flush_threads_every_waiter_completes_once_durable_and_in_order) {
  flush_pool two{2};
  auto opened = log::open(dir.path(), config, clk, two);
  ASSERT_TRUE(opened);
  auto& l = **opened;
  constexpr int writers = 4;
  constexpr int appends = 300;
  std::atomic<int> done{0};
  std::atomic<int> early{0};  // callbacks run before their offset was durable
  std::atomic<int> failed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < writers; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < appends; ++i) {
        auto b = testing::make_batch(1, 100, t0, static_cast<std::uint64_t>(t * appends + i));
        auto a = l.append(b);
        if (!a) {
          failed.fetch_add(1);
          continue;
        }
        const kafka_offset last = a->last_offset;
        l.when_durable(last, [&, last](std::error_code ec) {
          if (ec) failed.fetch_add(1);
          if (l.durable_end_offset() <= last) early.fetch_add(1);
          done.fetch_add(1);
        });
      }
    });
  }
  for (auto& t : threads)
    t.join();
  // Registered after every callback above, for the highest offset: it returns only after
  // all of them ran.
  ASSERT_TRUE(l.wait_durable(l.log_end_offset() - 1));
  EXPECT_EQ(done.load(), writers * appends);
  EXPECT_EQ(early.load(), 0);
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(l.durable_end_offset(), l.log_end_offset());
  ASSERT_TRUE(l.close());
}

}  // namespace
}  // namespace caudal::storage
