// Goal: the idempotent-producer rules of a partition log, as Kafka's clients rely on them:
// a retried batch is answered with its first offsets and not written twice, a gap or a
// repeat outside the last five batches is refused, an older epoch is fenced, a new epoch
// restarts at sequence 0, sequences wrap; and the state survives a clean reopen (snapshot),
// a crash (snapshot plus replay), damaged snapshots, suffix truncation and expiry.
// Method: producer_state alone for the rules; real logs in a temporary directory for the
// persistence, with a directory copy taken while the log is open standing in for a crash.

#include "storage/producer_state.h"

#include "base/batch_builder.h"
#include "base/clock.h"
#include "base/record_reader.h"
#include "storage/errc.h"
#include "storage/log.h"
#include "storage/test_util.h"

#include <gtest/gtest.h>

#include <array>
#include <fstream>
#include <limits>

namespace caudal::storage {
namespace {

using testing::temp_dir;

constexpr std::int64_t t0 = 1'700'000'000'000;

std::vector<std::byte> producer_batch_bytes(std::int64_t id, std::int16_t epoch,
                                            std::int32_t sequence, int records = 2,
                                            std::int64_t ts = t0) {
  batch::builder b(batch::producer_options(id, epoch, sequence));
  for (int i = 0; i < records; ++i)
    b.add(std::nullopt, as_bytes("value"), ts + i);
  return b.finish();
}

// Applies a batch to the state as an append at `base` would.
void apply(producer_state& s, const std::vector<std::byte>& bytes, std::int64_t base) {
  const batch::header_view h(bytes);
  s.update(h, kafka_offset(base), kafka_offset(base + h.last_offset_delta()));
}

std::error_code check_error(const producer_state& s, const std::vector<std::byte>& bytes) {
  auto r = s.check(batch::header_view(bytes));
  return r ? std::error_code{} : r.error();
}

TEST(producer_state, first_batch_of_an_unknown_producer_is_accepted_at_any_sequence) {
  producer_state s;
  auto r = s.check(batch::header_view(producer_batch_bytes(7, 0, 42)));
  ASSERT_TRUE(r);
  EXPECT_FALSE(*r);
}

TEST(producer_state, next_sequence_is_accepted_and_a_gap_is_refused) {
  producer_state s;
  apply(s, producer_batch_bytes(7, 0, 0, 2), 0);  // sequences 0-1
  EXPECT_FALSE(check_error(s, producer_batch_bytes(7, 0, 2)));
  EXPECT_EQ(check_error(s, producer_batch_bytes(7, 0, 3)), errc::out_of_order_sequence);
  EXPECT_EQ(check_error(s, producer_batch_bytes(7, 0, 1)), errc::out_of_order_sequence);
}

TEST(producer_state, retry_of_one_of_the_last_five_batches_returns_its_offsets) {
  producer_state s;
  for (int i = 0; i < 6; ++i)
    apply(s, producer_batch_bytes(7, 0, i * 2, 2), 100 + i * 2);
  // Batch 0 (sequences 0-1) fell out of the window; batches 1-5 are remembered.
  EXPECT_EQ(check_error(s, producer_batch_bytes(7, 0, 0, 2)), errc::out_of_order_sequence);
  for (int i = 1; i < 6; ++i) {
    auto r = s.check(batch::header_view(producer_batch_bytes(7, 0, i * 2, 2)));
    ASSERT_TRUE(r);
    ASSERT_TRUE(*r);
    EXPECT_EQ((*r)->base_offset, kafka_offset(100 + i * 2));
    EXPECT_EQ((*r)->last_offset, kafka_offset(101 + i * 2));
  }
  // Same first sequence but another length is no retry.
  EXPECT_EQ(check_error(s, producer_batch_bytes(7, 0, 10, 3)), errc::out_of_order_sequence);
}

TEST(producer_state, older_epoch_is_fenced_and_a_new_epoch_restarts_at_zero) {
  producer_state s;
  apply(s, producer_batch_bytes(7, 3, 0), 0);
  EXPECT_EQ(check_error(s, producer_batch_bytes(7, 2, 2)), errc::invalid_producer_epoch);
  EXPECT_EQ(check_error(s, producer_batch_bytes(7, 4, 5)), errc::out_of_order_sequence);
  EXPECT_FALSE(check_error(s, producer_batch_bytes(7, 4, 0)));
  apply(s, producer_batch_bytes(7, 4, 0), 2);
  EXPECT_EQ(s.find(7)->epoch, 4);
  EXPECT_EQ(s.find(7)->batch_count, 1);
}

TEST(producer_state, sequences_wrap_after_int32_max) {
  constexpr std::int32_t max = std::numeric_limits<std::int32_t>::max();
  EXPECT_EQ(add_sequence(max, 1), 0);
  EXPECT_EQ(add_sequence(max - 1, 3), 1);
  producer_state s;
  apply(s, producer_batch_bytes(7, 0, max - 1, 2), 0);  // sequences max-1, max
  EXPECT_FALSE(check_error(s, producer_batch_bytes(7, 0, 0)));
  apply(s, producer_batch_bytes(7, 0, max, 3), 2);  // max, 0, 1: a batch across the wrap
  EXPECT_EQ(s.find(7)->batches[1].last_sequence, 1);
}

TEST(producer_state, negative_epoch_or_sequence_with_a_producer_id_is_invalid) {
  producer_state s;
  EXPECT_EQ(check_error(s, producer_batch_bytes(7, 0, -1)), errc::invalid_sequence);
  EXPECT_EQ(check_error(s, producer_batch_bytes(7, -1, 0)), errc::invalid_sequence);
  EXPECT_FALSE(check_error(s, producer_batch_bytes(-1, -1, -1)));  // a plain producer
}

TEST(producer_state, transactional_batches_open_a_transaction_that_a_marker_closes) {
  producer_state s;
  batch::builder::options opts{batch::transactional_bit, 9, 0, 0, -1};
  batch::builder data(opts);
  data.add(std::nullopt, as_bytes("v"), t0);
  apply(s, data.finish(), 50);
  EXPECT_EQ(s.find(9)->txn_first_offset, kafka_offset(50));
  opts.attributes = batch::transactional_bit | batch::control_bit;
  opts.base_sequence = -1;
  batch::builder marker(opts);
  marker.add(as_bytes("k"), as_bytes("v"), t0);
  apply(s, marker.finish(), 51);
  EXPECT_EQ(s.find(9)->txn_first_offset, kafka_offset(-1));
  EXPECT_EQ(s.find(9)->batch_count, 1);  // the marker is no batch of the producer's
}

TEST(producer_state, expiry_forgets_idle_producers_without_open_transactions) {
  producer_state s;
  apply(s, producer_batch_bytes(1, 0, 0, 1, t0), 0);
  apply(s, producer_batch_bytes(2, 0, 0, 1, t0 + 5000), 1);
  EXPECT_EQ(s.expire(t0 + 6000, 2000), 1u);
  EXPECT_EQ(s.find(1), nullptr);
  EXPECT_NE(s.find(2), nullptr);
}

TEST(producer_state, snapshot_round_trips_and_damage_is_detected) {
  producer_state s;
  for (int i = 0; i < 7; ++i)
    apply(s, producer_batch_bytes(i % 3, static_cast<std::int16_t>(i % 2), i, 1), i);
  auto bytes = s.serialize();
  auto back = producer_state::parse(bytes);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->serialize(), bytes);
  for (std::size_t cut = 0; cut < bytes.size(); ++cut) {
    EXPECT_FALSE(producer_state::parse(std::span(bytes).first(cut))) << cut;
  }
  for (std::size_t at = 0; at < bytes.size(); ++at) {
    auto damaged = bytes;
    damaged[at] ^= std::byte{0x40};
    EXPECT_FALSE(producer_state::parse(damaged)) << at;
  }
}

class producer_log_test : public ::testing::Test {
 protected:
  std::unique_ptr<log> open_log(const std::filesystem::path& path) {
    auto l = log::open(path, config, clk, pool);
    EXPECT_TRUE(l) << l.error().message();
    return l ? std::move(*l) : nullptr;
  }
  result<append_result> append(log& l, std::int64_t id, std::int16_t epoch, std::int32_t seq) {
    auto bytes = producer_batch_bytes(id, epoch, seq, 2, clk.wall_ms());
    return l.append(bytes);
  }

  temp_dir dir;
  temp_dir copy;
  log_config config;
  manual_clock clk{t0};
  flush_pool pool;
};

TEST_F(producer_log_test, retried_batch_is_not_written_again) {
  auto l = open_log(dir.path());
  ASSERT_TRUE(append(*l, 5, 0, 0));
  ASSERT_TRUE(append(*l, 5, 0, 2));
  auto retry = append(*l, 5, 0, 0);
  ASSERT_TRUE(retry);
  EXPECT_TRUE(retry->duplicate);
  EXPECT_EQ(retry->base_offset, kafka_offset(0));
  EXPECT_EQ(retry->last_offset, kafka_offset(1));
  EXPECT_EQ(l->log_end_offset(), kafka_offset(4));
  auto gap = append(*l, 5, 0, 9);
  ASSERT_FALSE(gap);
  EXPECT_EQ(gap.error(), errc::out_of_order_sequence);
  EXPECT_EQ(append(*l, 5, -1, 4).error(), errc::invalid_sequence);
  EXPECT_EQ(l->log_end_offset(), kafka_offset(4));
}

TEST_F(producer_log_test, state_survives_a_clean_reopen_through_the_snapshot) {
  {
    auto l = open_log(dir.path());
    ASSERT_TRUE(append(*l, 5, 2, 0));
    ASSERT_TRUE(l->close());
  }
  auto snapshots = list_producer_snapshots(dir.path());
  ASSERT_TRUE(snapshots);
  EXPECT_EQ(*snapshots, std::vector{kafka_offset(2)});
  auto l = open_log(dir.path());
  auto retry = append(*l, 5, 2, 0);
  ASSERT_TRUE(retry);
  EXPECT_TRUE(retry->duplicate);
  EXPECT_EQ(append(*l, 5, 1, 2).error(), errc::invalid_producer_epoch);
}

TEST_F(producer_log_test, state_survives_a_crash_by_replaying_after_the_last_snapshot) {
  config.segment_bytes = 300;  // a few batches per segment, so rolls write snapshots
  auto l = open_log(dir.path());
  for (int i = 0; i < 20; ++i)
    ASSERT_TRUE(append(*l, 5, 0, i * 2));
  ASSERT_TRUE(l->flush());
  // The files as a crash would leave them: no snapshot at the log end.
  std::filesystem::copy(
      dir.path(), copy.path(),
      std::filesystem::copy_options::recursive | std::filesystem::copy_options::overwrite_existing);
  auto snapshots = list_producer_snapshots(copy.path());
  ASSERT_TRUE(snapshots);
  ASSERT_FALSE(snapshots->empty());
  EXPECT_LE(snapshots->size(), 3u);
  EXPECT_LT(snapshots->back(), kafka_offset(40));
  auto crashed = open_log(copy.path());
  auto retry = append(*crashed, 5, 0, 38);
  ASSERT_TRUE(retry);
  EXPECT_TRUE(retry->duplicate);
  EXPECT_EQ(retry->base_offset, kafka_offset(38));
  EXPECT_TRUE(append(*crashed, 5, 0, 40));
}

TEST_F(producer_log_test, damaged_snapshot_falls_back_to_replay) {
  {
    auto l = open_log(dir.path());
    ASSERT_TRUE(append(*l, 5, 0, 0));
    ASSERT_TRUE(l->close());
  }
  {
    std::ofstream damaged(dir.path() / segment_file_name(kafka_offset(2), ".snapshot"),
                          std::ios::trunc);
    damaged << "garbage";
  }
  auto l = open_log(dir.path());
  auto retry = append(*l, 5, 0, 0);
  ASSERT_TRUE(retry);
  EXPECT_TRUE(retry->duplicate);
}

TEST_F(producer_log_test, suffix_truncation_rebuilds_the_state) {
  auto l = open_log(dir.path());
  ASSERT_TRUE(append(*l, 5, 0, 0));
  ASSERT_TRUE(append(*l, 5, 0, 2));
  ASSERT_TRUE(l->truncate_suffix(kafka_offset(2)));
  // The batch with sequences 2-3 is gone, so it is no retry and follows on.
  auto again = append(*l, 5, 0, 2);
  ASSERT_TRUE(again);
  EXPECT_FALSE(again->duplicate);
  EXPECT_EQ(again->base_offset, kafka_offset(2));
}

std::vector<std::byte> txn_batch(std::int64_t id, std::int32_t sequence) {
  auto opts = batch::producer_options(id, 0, sequence);
  opts.attributes = batch::transactional_bit;
  batch::builder b(opts);
  b.add(std::nullopt, as_bytes("txn"), t0);
  return b.finish();
}

std::vector<std::byte> marker(std::int64_t id, std::int16_t type) {
  auto opts = batch::producer_options(id, 0, -1);
  opts.attributes = batch::transactional_bit | batch::control_bit;
  batch::builder b(opts);
  const std::array<std::byte, 4> key{std::byte{0}, std::byte{0}, std::byte{0},
                                     static_cast<std::byte>(type)};
  const std::array<std::byte, 6> value{};
  b.add(std::span<const std::byte>(key), std::span<const std::byte>(value), t0);
  return b.finish();
}

TEST(control_type, reads_the_marker_of_a_control_batch) {
  EXPECT_EQ(batch::control_type(marker(1, batch::control_commit)), batch::control_commit);
  EXPECT_EQ(batch::control_type(marker(1, batch::control_abort)), batch::control_abort);
  EXPECT_EQ(batch::control_type(txn_batch(1, 0)), std::nullopt);
}

TEST_F(producer_log_test, open_transactions_hold_the_last_stable_offset_and_aborts_are_listed) {
  auto l = open_log(dir.path());
  auto append_bytes = [&](std::vector<std::byte> b) {
    auto r = l->append(b);
    EXPECT_TRUE(r) << r.error().message();
    return r ? r->base_offset : kafka_offset(-1);
  };
  const kafka_offset hw(1000);
  append_bytes(producer_batch_bytes(3, 0, 0));  // 0-1, not transactional
  EXPECT_EQ(l->last_stable_offset(hw), hw);
  append_bytes(txn_batch(5, 0));  // 2: producer 5 opens a transaction
  append_bytes(txn_batch(6, 0));  // 3: producer 6 too
  append_bytes(txn_batch(5, 1));  // 4
  EXPECT_EQ(l->last_stable_offset(hw), kafka_offset(2));
  EXPECT_EQ(l->last_stable_offset(kafka_offset(1)), kafka_offset(1));
  append_bytes(marker(5, batch::control_abort));  // 5: aborts 2-4 of producer 5
  EXPECT_EQ(l->last_stable_offset(hw), kafka_offset(3));
  append_bytes(marker(6, batch::control_commit));  // 6
  EXPECT_EQ(l->last_stable_offset(hw), hw);
  const std::vector want{aborted_txn{5, kafka_offset(2), kafka_offset(5)}};
  EXPECT_EQ(l->aborted_transactions(kafka_offset(0), kafka_offset(7)), want);
  EXPECT_EQ(l->aborted_transactions(kafka_offset(5), kafka_offset(7)), want);
  EXPECT_TRUE(l->aborted_transactions(kafka_offset(6), kafka_offset(7)).empty());
  EXPECT_TRUE(l->aborted_transactions(kafka_offset(0), kafka_offset(2)).empty());

  // An open transaction and the aborted list survive a clean reopen and a crash.
  append_bytes(txn_batch(7, 0));  // 7: stays open
  ASSERT_TRUE(l->flush());
  std::filesystem::copy(
      dir.path(), copy.path(),
      std::filesystem::copy_options::recursive | std::filesystem::copy_options::overwrite_existing);
  ASSERT_TRUE(l->close());
  l.reset();
  for (const auto& path : {dir.path(), copy.path()}) {
    auto again = open_log(path);
    EXPECT_EQ(again->last_stable_offset(hw), kafka_offset(7)) << path;
    EXPECT_EQ(again->aborted_transactions(kafka_offset(0), kafka_offset(8)), want) << path;
  }
}

TEST_F(producer_log_test, idle_producers_expire) {
  auto l = open_log(dir.path());
  ASSERT_TRUE(append(*l, 5, 0, 0));
  clk.advance_ms(10'000);
  ASSERT_TRUE(append(*l, 6, 0, 0));
  EXPECT_EQ(l->expire_producers(5'000), 1u);
  EXPECT_FALSE(l->producer(5));
  EXPECT_TRUE(l->producer(6));
  EXPECT_EQ(l->producer_count(), 1u);
}

}  // namespace
}  // namespace caudal::storage
