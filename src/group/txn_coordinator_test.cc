// Goal: the transaction coordinator's state machine and every error path it answers:
// producer ids and epoch bumps (fencing, KIP-360 expected ids), adding partitions and
// offsets, ending (markers on every partition, offsets committed only on commit, retries),
// verification of transactional writes, timeouts, and a restart that completes an end
// interrupted half-way.
// Method: a real metadata store, partition manager and group coordinator in a temp
// directory with a manual clock; the markers are read back from the partition logs.

#include "group/txn_coordinator.h"

#include "base/record_reader.h"
#include "storage/test_util.h"

#include <gtest/gtest.h>

namespace caudal::group {
namespace {

class txn_coordinator_test : public ::testing::Test {
 protected:
  txn_coordinator_test() {
    config = std::make_unique<cluster::broker_config>(
        cluster::broker_config::load({{"log.dirs", dir.path().string()}}));
    open();
  }
  ~txn_coordinator_test() override { close(); }

  void open() {
    auto store = cluster::metadata_store::open(dir.path(), 0, clk, pool);
    ASSERT_TRUE(store) << store.error().message();
    metadata = std::move(*store);
    if (metadata->topics()->find("orders") == nullptr) {
      ASSERT_EQ(metadata->create_topic({"orders", 2, 1, {}}).index(), 0u);
    }
    partitions = std::make_unique<cluster::partition_manager>(dir.path(), *config, clk, pool);
    ASSERT_TRUE(partitions->reconcile(*metadata->topics()));
    coordinator_config c = coordinator_config::from(*config);
    c.offsets_partitions = 2;
    groups = std::make_unique<group_coordinator>(c, *metadata, *partitions, clk);
    ASSERT_TRUE(groups->ensure_topic());
    txns = std::make_unique<txn_coordinator>(txn_config::from(*config), *metadata, *partitions,
                                             *groups, clk);
    ASSERT_TRUE(txns->ensure_topic());
  }
  void close() {
    txns.reset();
    groups.reset();
    if (partitions) partitions->stop();
    partitions.reset();
    metadata.reset();
  }

  // The control markers in orders-`partition`: (producer id, epoch, type).
  std::vector<std::tuple<std::int64_t, std::int16_t, std::int16_t>> markers(std::int32_t p) {
    std::vector<std::tuple<std::int64_t, std::int16_t, std::int16_t>> out;
    auto part = partitions->get("orders", p);
    auto& log = *part->log;
    for (kafka_offset at = log.log_start_offset(); at < log.log_end_offset();) {
      auto r = log.read(at, 1 << 20);
      EXPECT_TRUE(r);
      auto bytes = storage::read_bytes(*r);
      std::span<const std::byte> rest(*bytes);
      while (rest.size() >= batch::header_bytes) {
        const batch::header_view h(rest);
        const auto one = rest.first(h.size_bytes());
        if (h.is_control()) {
          out.emplace_back(h.producer_id(), h.producer_epoch(), *batch::control_type(one));
        }
        rest = rest.subspan(one.size());
      }
      at = r->range.next_offset;
    }
    return out;
  }

  std::int64_t committed(const std::string& group_id) {
    auto [e, offsets] =
        groups->fetch_offsets(group_id, std::vector<topic_partition>{{"orders", 0}});
    return offsets.empty() ? -2 : offsets[0].second.offset;
  }

  storage::testing::temp_dir dir;
  manual_clock clk;
  storage::flush_pool pool{1};
  std::unique_ptr<cluster::broker_config> config;
  std::unique_ptr<cluster::metadata_store> metadata;
  std::unique_ptr<cluster::partition_manager> partitions;
  std::unique_ptr<group_coordinator> groups;
  std::unique_ptr<txn_coordinator> txns;
};

const std::vector<topic_partition> both{{"orders", 0}, {"orders", 1}};

TEST_F(txn_coordinator_test, init_bumps_the_epoch_and_fences_the_previous_producer) {
  auto first = txns->init_producer("t", 60000, -1, -1);
  ASSERT_EQ(first.err, error::none);
  EXPECT_EQ(first.epoch, 0);
  auto second = txns->init_producer("t", 60000, -1, -1);
  EXPECT_EQ(second.producer_id, first.producer_id);
  EXPECT_EQ(second.epoch, 1);
  // The first producer is fenced everywhere.
  EXPECT_EQ(txns->add_partitions("t", first.producer_id, 0, both)[0], error::producer_fenced);
  EXPECT_EQ(txns->end("t", first.producer_id, 0, true), error::producer_fenced);
  EXPECT_EQ(txns->add_partitions("t", 999, 1, both)[0], error::invalid_producer_id_mapping);
  // KIP-360: a producer naming its current id and epoch gets the bump; a stale one is fenced.
  EXPECT_EQ(txns->init_producer("t", 60000, first.producer_id, 0).err, error::producer_fenced);
  EXPECT_EQ(txns->init_producer("t", 60000, first.producer_id, 1).epoch, 2);
  EXPECT_EQ(txns->init_producer("t", 0, -1, -1).err, error::invalid_transaction_timeout);
  EXPECT_EQ(txns->init_producer("t", 900001, -1, -1).err, error::invalid_transaction_timeout);
  EXPECT_NE(txns->init_producer("u", 60000, -1, -1).producer_id, first.producer_id);
}

TEST_F(txn_coordinator_test, commit_marks_every_partition_and_commits_the_offsets) {
  const auto p = txns->init_producer("t", 60000, -1, -1);
  EXPECT_EQ(txns->verify(p.producer_id, p.epoch, {"orders", 0}), error::invalid_txn_state);
  auto added = txns->add_partitions("t", p.producer_id, p.epoch, both);
  EXPECT_EQ(added, std::vector<error>(2, error::none));
  EXPECT_EQ(txns->verify(p.producer_id, p.epoch, {"orders", 0}), error::none);
  EXPECT_EQ(txns->verify(p.producer_id, p.epoch - 1, {"orders", 0}), error::invalid_producer_epoch);
  EXPECT_EQ(txns->commit_offsets("t", p.producer_id, p.epoch, "g", {}), error::invalid_txn_state)
      << "offsets need AddOffsetsToTxn first";
  EXPECT_EQ(txns->add_offsets("t", p.producer_id, p.epoch, "g"), error::none);
  offset_commit o{{"orders", 0}, {}};
  o.value.offset = 42;
  EXPECT_EQ(txns->commit_offsets("t", p.producer_id, p.epoch, "g", {o}), error::none);
  EXPECT_EQ(committed("g"), -1) << "not visible before the commit";
  EXPECT_EQ(txns->end("t", p.producer_id, p.epoch, true), error::none);
  EXPECT_EQ(committed("g"), 42);
  for (std::int32_t part : {0, 1}) {
    const std::vector want{std::tuple{p.producer_id, p.epoch, batch::control_commit}};
    EXPECT_EQ(markers(part), want);
  }
  EXPECT_EQ(txns->verify(p.producer_id, p.epoch, {"orders", 0}), error::invalid_txn_state);
  // A retried commit succeeds; an abort of a committed transaction does not.
  EXPECT_EQ(txns->end("t", p.producer_id, p.epoch, true), error::none);
  EXPECT_EQ(txns->end("t", p.producer_id, p.epoch, false), error::invalid_txn_state);
  EXPECT_EQ(txns->describe("t")->state, txn_state::complete_commit);
}

TEST_F(txn_coordinator_test, abort_marks_and_drops_the_offsets) {
  const auto p = txns->init_producer("t", 60000, -1, -1);
  EXPECT_EQ(txns->end("t", p.producer_id, p.epoch, false), error::invalid_txn_state)
      << "nothing to end";
  ASSERT_EQ(txns->add_partitions("t", p.producer_id, p.epoch, {{"orders", 1}})[0], error::none);
  ASSERT_EQ(txns->add_offsets("t", p.producer_id, p.epoch, "g"), error::none);
  offset_commit o{{"orders", 0}, {}};
  o.value.offset = 7;
  ASSERT_EQ(txns->commit_offsets("t", p.producer_id, p.epoch, "g", {o}), error::none);
  EXPECT_EQ(txns->end("t", p.producer_id, p.epoch, false), error::none);
  EXPECT_EQ(committed("g"), -1);
  EXPECT_TRUE(markers(0).empty());
  const std::vector want{std::tuple{p.producer_id, p.epoch, batch::control_abort}};
  EXPECT_EQ(markers(1), want);
}

TEST_F(txn_coordinator_test, unknown_partitions_fail_and_the_others_are_not_attempted) {
  const auto p = txns->init_producer("t", 60000, -1, -1);
  auto added = txns->add_partitions("t", p.producer_id, p.epoch, {{"orders", 0}, {"nope", 0}});
  EXPECT_EQ(added,
            (std::vector{error::operation_not_attempted, error::unknown_topic_or_partition}));
  EXPECT_EQ(txns->describe("t")->state, txn_state::empty);
}

TEST_F(txn_coordinator_test, a_new_producer_aborts_the_open_transaction_of_the_old_one) {
  const auto old = txns->init_producer("t", 60000, -1, -1);
  ASSERT_EQ(txns->add_partitions("t", old.producer_id, old.epoch, {{"orders", 0}})[0], error::none);
  const auto next = txns->init_producer("t", 60000, -1, -1);
  EXPECT_EQ(next.epoch, 2) << "one bump for the abort markers, one for the new producer";
  const std::vector want{std::tuple{old.producer_id, std::int16_t{1}, batch::control_abort}};
  EXPECT_EQ(markers(0), want);
}

TEST_F(txn_coordinator_test, a_transaction_open_past_its_timeout_is_aborted_and_fenced) {
  const auto p = txns->init_producer("t", 5000, -1, -1);
  ASSERT_EQ(txns->add_partitions("t", p.producer_id, p.epoch, {{"orders", 0}})[0], error::none);
  clk.advance_ms(4000);
  txns->tick();
  EXPECT_EQ(txns->describe("t")->state, txn_state::ongoing);
  clk.advance_ms(2000);
  txns->tick();
  EXPECT_EQ(txns->describe("t")->state, txn_state::complete_abort);
  EXPECT_EQ(txns->end("t", p.producer_id, p.epoch, true), error::producer_fenced);
  const std::vector want{
      std::tuple{p.producer_id, std::int16_t(p.epoch + 1), batch::control_abort}};
  EXPECT_EQ(markers(0), want);
}

TEST_F(txn_coordinator_test, idle_transactional_ids_expire) {
  const auto p = txns->init_producer("t", 5000, -1, -1);
  ASSERT_EQ(txns->add_partitions("t", p.producer_id, p.epoch, {{"orders", 0}})[0], error::none);
  ASSERT_EQ(txns->end("t", p.producer_id, p.epoch, true), error::none);
  clk.advance_ms(604800000 + 1);
  txns->tick();
  EXPECT_FALSE(txns->describe("t"));
  close();
  open();
  EXPECT_FALSE(txns->describe("t")) << "the tombstone is replayed";
  EXPECT_NE(txns->init_producer("t", 5000, -1, -1).producer_id, p.producer_id);
}

TEST_F(txn_coordinator_test, state_survives_a_restart) {
  const auto p = txns->init_producer("t", 60000, -1, -1);
  ASSERT_EQ(txns->add_partitions("t", p.producer_id, p.epoch, both)[0], error::none);
  close();
  open();
  EXPECT_EQ(txns->describe("t")->state, txn_state::ongoing);
  EXPECT_EQ(txns->verify(p.producer_id, p.epoch, {"orders", 1}), error::none);
  EXPECT_EQ(txns->end("t", p.producer_id, p.epoch, true), error::none);
  close();
  open();
  EXPECT_EQ(txns->describe("t")->state, txn_state::complete_commit);
  EXPECT_EQ(txns->init_producer("t", 60000, -1, -1).epoch, p.epoch + 1);
  EXPECT_EQ(txns->list().size(), 1u);
}

}  // namespace
}  // namespace caudal::group
