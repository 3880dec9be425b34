// Goal: the data-path APIs answer as Kafka does: ApiVersions (including the v0-layout
// reply to a too-new version), Metadata (all-topics rules per version, auto-creation, topic
// ids), Produce (acks 0/1/all, every validation error, LogAppendTime), Fetch (never a null
// records field, high watermark and log start, size limits, long polling woken by data,
// topic ids) and ListOffsets (earliest, latest, by timestamp to the exact record, max
// timestamp); unknown APIs and unserved versions close the connection.
// Method: a whole broker in a temp directory (test_harness.h) driven with wire-encoded
// requests; batches are built with batch::builder and compressed with protocol::compress.

#include "base/batch_builder.h"
#include "base/record_batch.h"
#include "broker/api_table.h"
#include "broker/errors.h"
#include "broker/fetch_purgatory.h"
#include "broker/probe.h"
#include "broker/test_harness.h"
#include "protocol/batch_records.h"
#include "protocol/compression.h"

#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <future>
#include <numeric>
#include <set>
#include <thread>

namespace caudal::broker {
namespace {

using protocol::error_code;
using testing::broker_harness;

std::int16_t code(error_code e) {
  return wire(e);
}

// A batch of `n` records with keys k<i>, values v<i> and timestamps ts0 + i.
std::vector<std::byte> make_batch(int n, std::int64_t ts0 = 1'000, std::size_t value_bytes = 10) {
  batch::builder b;
  for (int i = 0; i < n; ++i) {
    const std::string key = "k" + std::to_string(i);
    std::string value = "v" + std::to_string(i);
    value.resize(std::max(value.size(), value_bytes), 'x');
    b.add(as_bytes(key), as_bytes(value), ts0 + i);
  }
  return b.finish();
}

// The same batch with its records region compressed by `codec`.
std::vector<std::byte> compress_batch(const std::vector<std::byte>& plain,
                                      protocol::compression_codec codec) {
  auto body = protocol::compress(codec, std::span(plain).subspan(batch::header_bytes));
  EXPECT_TRUE(body);
  std::vector<std::byte> out(plain.begin(), plain.begin() + batch::header_bytes);
  out.insert(out.end(), body->begin(), body->end());
  store_be<std::int32_t>(out.data() + batch::batch_length_pos,
                         static_cast<std::int32_t>(out.size() - batch::log_overhead));
  const auto attributes = batch::header_view(out).attributes();
  store_be<std::int16_t>(out.data() + batch::attributes_pos,
                         static_cast<std::int16_t>(attributes | static_cast<std::int16_t>(codec)));
  store_be<std::uint32_t>(out.data() + batch::crc_pos, batch::compute_crc(out));
  return out;
}

protocol::produce_request produce(const std::string& topic, std::int32_t partition,
                                  const std::vector<std::byte>& records, std::int16_t acks = -1) {
  protocol::produce_request r;
  r.acks = acks;
  r.timeout_ms = 5000;
  protocol::produce_request::topic_produce_data t;
  t.name = topic;
  protocol::produce_request::partition_produce_data p;
  p.index = partition;
  p.records = protocol::record_set(records);
  t.partition_data.push_back(p);
  r.topic_data.push_back(t);
  return r;
}

protocol::fetch_request fetch(const std::string& topic, std::int32_t partition, std::int64_t offset,
                              std::int32_t max_wait_ms = 0, std::int32_t min_bytes = 1,
                              std::int32_t partition_max = 1 << 20) {
  protocol::fetch_request r;
  r.max_wait_ms = max_wait_ms;
  r.min_bytes = min_bytes;
  r.max_bytes = 50 << 20;
  r.session_epoch = -1;
  protocol::fetch_request::fetch_topic t;
  t.topic = topic;
  protocol::fetch_request::fetch_partition p;
  p.partition = partition;
  p.fetch_offset = offset;
  p.partition_max_bytes = partition_max;
  t.partitions.push_back(p);
  r.topics.push_back(t);
  return r;
}

// Every batch in a fetched partition's records.
std::vector<std::vector<std::byte>> batches_of(const protocol::fetch_response::partition_data& p) {
  std::vector<std::vector<std::byte>> out;
  EXPECT_TRUE(p.records.has_value()) << "records must never be null";
  if (!p.records) return out;
  std::span<const std::byte> rest = p.records->bytes();
  while (!rest.empty()) {
    auto size = batch::validate_prefix(rest, rest.size(), batch::count_check::stored);
    EXPECT_TRUE(size);
    if (!size) break;
    out.emplace_back(rest.begin(), rest.begin() + static_cast<std::ptrdiff_t>(*size));
    rest = rest.subspan(*size);
  }
  return out;
}

TEST(served_apis, are_in_key_order_and_inside_the_schema_ranges) {
  std::int16_t last = -1;
  for (const auto& e : served_apis()) {
    const auto key = static_cast<std::int16_t>(e.key);
    EXPECT_GT(key, last);
    last = key;
    const auto* api = protocol::find_api(key);
    ASSERT_NE(api, nullptr);
    EXPECT_GE(e.version_min, api->version_min);
    EXPECT_LE(e.version_max, api->version_max);
  }
}

TEST(api_versions, lists_exactly_the_served_apis) {
  broker_harness h;
  for (std::int16_t v : {0, 1, 2, 3, 4}) {
    protocol::api_versions_request req;
    req.client_software_name = "librdkafka";
    req.client_software_version = "2.0.2";
    auto resp = h.call(v, req);
    EXPECT_EQ(resp.error_code, 0);
    ASSERT_EQ(resp.api_keys.size(), served_apis().size());
    for (std::size_t i = 0; i < resp.api_keys.size(); ++i) {
      EXPECT_EQ(resp.api_keys[i].api_key, static_cast<std::int16_t>(served_apis()[i].key));
      EXPECT_EQ(resp.api_keys[i].max_version, served_apis()[i].version_max);
    }
  }
}

TEST(api_versions, a_too_new_version_gets_the_v0_layout_error) {
  broker_harness h;
  // v9 with a body we do not parse; the reply is header v0 + v0 body.
  const std::vector<std::byte> body{std::byte{0}};
  auto reply = h.exchange_body(18, 9, body);
  ASSERT_EQ(reply.kind, net::completion_kind::response);
  protocol::reader in(reply.bytes);
  std::int32_t correlation = 0;
  ASSERT_TRUE(in.read_int32(correlation));
  protocol::api_versions_response resp;
  ASSERT_TRUE(resp.decode(in, 0));
  EXPECT_EQ(in.remaining(), 0u);
  EXPECT_EQ(resp.error_code, code(error_code::unsupported_version));
  ASSERT_EQ(resp.api_keys.size(), 1u);
  EXPECT_EQ(resp.api_keys[0].api_key, 18);
  EXPECT_EQ(resp.api_keys[0].max_version, 4);
}

TEST(api_versions, invalid_software_name_is_invalid_request) {
  broker_harness h;
  protocol::api_versions_request req;
  req.client_software_name = "bad name!";
  req.client_software_version = "1.0";
  EXPECT_EQ(h.call(3, req).error_code, code(error_code::invalid_request));
}

TEST(dispatch, unknown_apis_and_unserved_versions_close_the_connection) {
  broker_harness h;
  // A header naming API 1000: key, version, correlation id, null client id.
  std::vector<std::byte> unknown(10);
  store_be<std::int16_t>(unknown.data(), 1000);
  store_be<std::int16_t>(unknown.data() + 2, 0);
  store_be<std::int32_t>(unknown.data() + 4, 1);
  store_be<std::int16_t>(unknown.data() + 8, -1);
  EXPECT_EQ(h.exchange_frame(unknown).kind, net::completion_kind::close);
  EXPECT_EQ(h.exchange_body(1, 3, {}).kind, net::completion_kind::close) << "Fetch v3";
  EXPECT_EQ(h.exchange_body(8, 0, {}).kind, net::completion_kind::close) << "not served yet";
  EXPECT_EQ(h.exchange_frame({std::byte{0}}).kind, net::completion_kind::close);
  const std::vector<std::byte> two_bytes{std::byte{0}, std::byte{0}};
  EXPECT_EQ(h.exchange_body(3, 1, two_bytes).kind, net::completion_kind::close)
      << "a truncated Metadata body";
}

TEST(metadata, all_topics_rules_per_version_and_auto_creation) {
  broker_harness h;
  h.create_topic("a", 2);
  protocol::metadata_request all_v0;
  all_v0.topics.emplace();  // v0: empty list = all topics
  auto r0 = h.call(0, all_v0);
  ASSERT_EQ(r0.topics.size(), 1u);
  EXPECT_EQ(r0.topics[0].partitions.size(), 2u);
  ASSERT_EQ(r0.brokers.size(), 1u);
  EXPECT_EQ(r0.brokers[0].host, "127.0.0.1");
  EXPECT_EQ(r0.brokers[0].port, 9092);

  protocol::metadata_request none_v1;
  none_v1.topics.emplace();  // v1+: empty list = no topics
  EXPECT_TRUE(h.call(1, none_v1).topics.empty());
  protocol::metadata_request all_v1;
  all_v1.topics.reset();  // v1+: null = all topics
  auto r1 = h.call(12, all_v1);
  ASSERT_EQ(r1.topics.size(), 1u);
  EXPECT_EQ(r1.cluster_id, h.metadata().cluster_id());
  EXPECT_EQ(r1.controller_id, 0);
  EXPECT_FALSE(r1.topics[0].topic_id.is_zero());

  protocol::metadata_request want;
  want.topics.emplace();
  protocol::metadata_request::metadata_request_topic t;
  t.name = "fresh";
  want.topics->push_back(t);
  t.name = "bad name";
  want.topics->push_back(t);
  want.allow_auto_topic_creation = true;
  auto created = h.call(4, want);
  ASSERT_EQ(created.topics.size(), 2u);
  EXPECT_EQ(created.topics[0].error_code, 0);
  EXPECT_EQ(created.topics[0].partitions.size(), 1u);
  EXPECT_EQ(created.topics[1].error_code, code(error_code::invalid_topic_exception));
  EXPECT_NE(h.partitions().get("fresh", 0), nullptr);

  want.topics->resize(1);
  (*want.topics)[0].name = "not-created";
  want.allow_auto_topic_creation = false;
  EXPECT_EQ(h.call(4, want).topics[0].error_code, code(error_code::unknown_topic_or_partition));

  // v12 looks topics up by id.
  protocol::metadata_request by_id;
  by_id.topics.emplace();
  protocol::metadata_request::metadata_request_topic id_topic;
  id_topic.name.reset();
  id_topic.topic_id = r1.topics[0].topic_id;
  by_id.topics->push_back(id_topic);
  auto r12 = h.call(12, by_id);
  ASSERT_EQ(r12.topics.size(), 1u);
  EXPECT_EQ(r12.topics[0].name, "a");
}

TEST(metadata, auto_creation_can_be_disabled) {
  broker_harness h(properties{{"auto.create.topics.enable", "false"}});
  protocol::metadata_request want;
  want.topics.emplace();
  protocol::metadata_request::metadata_request_topic t;
  t.name = "x";
  want.topics->push_back(t);
  EXPECT_EQ(h.call(1, want).topics[0].error_code, code(error_code::unknown_topic_or_partition));
  EXPECT_EQ(h.metadata().topics()->find("x"), nullptr);
}

// Observations in the process-wide histogram of how long appends waited to be durable.
std::uint64_t durable_waits() {
  const auto counts = durable_wait_seconds().bucket_counts();
  return std::accumulate(counts.begin(), counts.end(), std::uint64_t{0});
}

TEST(produce, acks_all_answers_with_durable_offsets_and_fetch_returns_the_batch) {
  broker_harness h;
  h.create_topic("t");
  const std::uint64_t waits_before = durable_waits();
  auto first = h.call(7, produce("t", 0, make_batch(3)));
  ASSERT_EQ(first.responses.size(), 1u);
  const auto& p = first.responses[0].partition_responses[0];
  EXPECT_EQ(p.error_code, 0);
  EXPECT_EQ(p.base_offset, 0);
  EXPECT_EQ(p.log_append_time_ms, -1);
  auto second = h.call(9, produce("t", 0, make_batch(2)));
  EXPECT_EQ(second.responses[0].partition_responses[0].base_offset, 3);
  EXPECT_EQ(h.partitions().get("t", 0)->high_watermark(), kafka_offset(5));
  EXPECT_EQ(durable_waits() - waits_before, 2u) << "each durable append is timed once";

  auto f = h.call(11, fetch("t", 0, 0));
  const auto& part = f.responses[0].partitions[0];
  EXPECT_EQ(part.error_code, 0);
  EXPECT_EQ(part.high_watermark, 5);
  EXPECT_EQ(part.last_stable_offset, 5);
  EXPECT_EQ(part.log_start_offset, 0);
  auto got = batches_of(part);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(batch::header_view(got[1]).base_offset(), kafka_offset(3));
}

TEST(init_producer_id, hands_out_fresh_ids_at_epoch_zero) {
  broker_harness h;
  protocol::init_producer_id_request r;
  r.transactional_id = std::nullopt;
  r.transaction_timeout_ms = 60000;
  std::set<std::int64_t> ids;
  for (std::int16_t version = 0; version <= 5; ++version) {
    auto resp = h.call(version, r);
    EXPECT_EQ(resp.error_code, 0);
    EXPECT_EQ(resp.producer_epoch, 0);
    EXPECT_GE(resp.producer_id, 0);
    ids.insert(resp.producer_id);
  }
  // KIP-360: a producer that sends its current id still gets a fresh one.
  r.producer_id = *ids.begin();
  r.producer_epoch = 0;
  ids.insert(h.call(5, r).producer_id);
  EXPECT_EQ(ids.size(), 7u);
  r.transactional_id = "txn";
  EXPECT_EQ(h.call(4, r).error_code, code(error_code::coordinator_not_available));
}

// A batch from an idempotent producer.
std::vector<std::byte> idempotent_batch(std::int64_t id, std::int16_t epoch, std::int32_t sequence,
                                        int n = 2) {
  batch::builder b(batch::producer_options(id, epoch, sequence));
  for (int i = 0; i < n; ++i)
    b.add(std::nullopt, as_bytes("v"), 1000 + i);
  return b.finish();
}

TEST(produce, idempotent_retries_get_the_first_offsets_and_gaps_and_old_epochs_are_refused) {
  broker_harness h;
  h.create_topic("t");
  auto result_of = [&](const std::vector<std::byte>& b) {
    return h.call(9, produce("t", 0, b)).responses[0].partition_responses[0];
  };
  EXPECT_EQ(result_of(idempotent_batch(7, 1, 0)).base_offset, 0);
  EXPECT_EQ(result_of(idempotent_batch(7, 1, 2)).base_offset, 2);
  const auto retry = result_of(idempotent_batch(7, 1, 0));
  EXPECT_EQ(retry.error_code, 0);
  EXPECT_EQ(retry.base_offset, 0);
  EXPECT_EQ(h.partitions().get("t", 0)->log->log_end_offset(), kafka_offset(4));
  EXPECT_EQ(result_of(idempotent_batch(7, 1, 9)).error_code,
            code(error_code::out_of_order_sequence_number));
  EXPECT_EQ(result_of(idempotent_batch(7, 0, 4)).error_code,
            code(error_code::invalid_producer_epoch));
  EXPECT_EQ(result_of(idempotent_batch(7, 2, 1)).error_code,
            code(error_code::out_of_order_sequence_number));
  EXPECT_EQ(result_of(idempotent_batch(7, 2, 0)).base_offset, 4);
  EXPECT_EQ(result_of(idempotent_batch(7, 2, -1)).error_code, code(error_code::invalid_record));
  EXPECT_EQ(h.partitions().get("t", 0)->log->log_end_offset(), kafka_offset(6));
}

TEST(fetch, read_committed_stops_at_the_last_stable_offset_and_lists_aborts) {
  broker_harness h;
  h.create_topic("t");
  auto& log = *h.partitions().get("t", 0)->log;
  auto txn = [](std::int64_t id, std::int32_t sequence) {
    auto opts = batch::producer_options(id, 0, sequence);
    opts.attributes = batch::transactional_bit;
    batch::builder b(opts);
    b.add(std::nullopt, as_bytes("v"), 1000);
    return b.finish();
  };
  auto marker = [](std::int64_t id, std::uint8_t type) {
    auto opts = batch::producer_options(id, 0, -1);
    opts.attributes = batch::transactional_bit | batch::control_bit;
    batch::builder b(opts);
    const std::array<std::byte, 4> key{std::byte{0}, std::byte{0}, std::byte{0}, std::byte{type}};
    const std::array<std::byte, 6> value{};
    b.add(std::span<const std::byte>(key), std::span<const std::byte>(value), 1000);
    return b.finish();
  };
  for (auto bytes : {txn(5, 0), txn(6, 0), marker(5, 0)}) {  // 0, 1, 2: 5 aborts, 6 stays open
    auto appended = log.append(bytes);
    ASSERT_TRUE(appended);
    ASSERT_TRUE(log.wait_durable(appended->last_offset));
  }
  auto committed = fetch("t", 0, 0);
  committed.isolation_level = 1;
  auto f = h.call(11, committed);
  const auto& part = f.responses[0].partitions[0];
  EXPECT_EQ(part.high_watermark, 3);
  EXPECT_EQ(part.last_stable_offset, 1);
  ASSERT_EQ(batches_of(part).size(), 1u);  // offset 0 only: 1 is undecided
  ASSERT_TRUE(part.aborted_transactions);
  ASSERT_EQ(part.aborted_transactions->size(), 1u);
  EXPECT_EQ((*part.aborted_transactions)[0].producer_id, 5);
  EXPECT_EQ((*part.aborted_transactions)[0].first_offset, 0);
  auto all = h.call(11, fetch("t", 0, 0));
  EXPECT_EQ(batches_of(all.responses[0].partitions[0]).size(), 3u);
  EXPECT_FALSE(all.responses[0].partitions[0].aborted_transactions);

  auto commit = marker(6, 1);
  ASSERT_TRUE(log.append(commit));  // 3: 6 commits
  ASSERT_TRUE(log.flush());
  f = h.call(11, committed);
  EXPECT_EQ(f.responses[0].partitions[0].last_stable_offset, 4);
}

TEST(produce, acks_zero_sends_nothing_and_acks_one_answers) {
  broker_harness h;
  h.create_topic("t");
  auto none = h.exchange(7, produce("t", 0, make_batch(1), 0));
  EXPECT_EQ(none.kind, net::completion_kind::nothing);
  auto one = h.call(7, produce("t", 0, make_batch(1), 1));
  EXPECT_EQ(one.responses[0].partition_responses[0].base_offset, 1);
}

TEST(produce, every_validation_error) {
  broker_harness h(properties{{"message.max.bytes", "5000"}});
  h.create_topic("t");
  h.create_topic("strict", 1, {{"min.insync.replicas", "2"}});
  auto error_of = [&](std::int16_t version, const protocol::produce_request& r) {
    return h.call(version, r).responses[0].partition_responses[0].error_code;
  };
  EXPECT_EQ(error_of(7, produce("nope", 0, make_batch(1))),
            code(error_code::unknown_topic_or_partition));
  EXPECT_EQ(error_of(7, produce("t", 5, make_batch(1))),
            code(error_code::unknown_topic_or_partition));
  auto bad_crc = make_batch(2);
  bad_crc.back() ^= std::byte{1};
  EXPECT_EQ(error_of(7, produce("t", 0, bad_crc)), code(error_code::corrupt_message));
  auto two = make_batch(1);
  const auto one = make_batch(1);
  two.insert(two.end(), one.begin(), one.end());
  EXPECT_EQ(error_of(7, produce("t", 0, two)), code(error_code::invalid_record));
  EXPECT_EQ(error_of(7, produce("t", 0, make_batch(1, 1000, 6000))),
            code(error_code::message_too_large));
  EXPECT_EQ(error_of(2, produce("t", 0, make_batch(1))), code(error_code::unsupported_version));
  EXPECT_EQ(error_of(7, produce("t", 0, make_batch(1), 2)),
            code(error_code::invalid_required_acks));
  EXPECT_EQ(error_of(7, produce("strict", 0, make_batch(1))),
            code(error_code::not_enough_replicas));
  EXPECT_EQ(error_of(7, produce("strict", 0, make_batch(1), 1)), 0) << "acks=1 is fine";
  const auto zstd = compress_batch(make_batch(5), protocol::compression_codec::zstd);
  EXPECT_EQ(error_of(6, produce("t", 0, zstd)), code(error_code::unsupported_compression_type));
  EXPECT_EQ(error_of(7, produce("t", 0, zstd)), 0);
  // A right CRC over garbage records: the records are checked too.
  auto garbage = make_batch(3);
  for (std::size_t i = batch::header_bytes; i < garbage.size(); ++i)
    garbage[i] = std::byte{0x7F};
  store_be<std::uint32_t>(garbage.data() + batch::crc_pos, batch::compute_crc(garbage));
  EXPECT_EQ(error_of(7, produce("t", 0, garbage)), code(error_code::corrupt_message));
  auto control = make_batch(1);
  store_be<std::int16_t>(control.data() + batch::attributes_pos, batch::control_bit);
  store_be<std::uint32_t>(control.data() + batch::crc_pos, batch::compute_crc(control));
  EXPECT_EQ(error_of(7, produce("t", 0, control)), code(error_code::invalid_record));
  EXPECT_EQ(h.partitions().get("t", 0)->log->log_end_offset(), kafka_offset(5)) << "only zstd";
}

TEST(produce, log_append_time_topics_stamp_the_broker_time) {
  broker_harness h;
  h.create_topic("lat", 1, {{"message.timestamp.type", "LogAppendTime"}});
  auto r = h.call(8, produce("lat", 0, make_batch(2, 5)));
  const auto& p = r.responses[0].partition_responses[0];
  EXPECT_EQ(p.error_code, 0);
  EXPECT_GT(p.log_append_time_ms, 1'000'000'000'000);
  auto got = batches_of(h.call(11, fetch("lat", 0, 0)).responses[0].partitions[0]);
  ASSERT_EQ(got.size(), 1u);
  const batch::header_view hv(got[0]);
  EXPECT_TRUE(hv.is_log_append_time());
  EXPECT_EQ(hv.max_timestamp(), p.log_append_time_ms);
  EXPECT_TRUE(batch::validate(got[0], got[0].size(), batch::count_check::fresh));
}

TEST(fetch, errors_still_carry_empty_records_and_offsets_out_of_range) {
  broker_harness h;
  h.create_topic("t");
  h.append_records("t", 0, 3);
  auto missing = h.call(4, fetch("none", 0, 0));
  const auto& m = missing.responses[0].partitions[0];
  EXPECT_EQ(m.error_code, code(error_code::unknown_topic_or_partition));
  ASSERT_TRUE(m.records.has_value());
  EXPECT_EQ(m.records->size(), 0u);
  auto past = h.call(11, fetch("t", 0, 4));
  EXPECT_EQ(past.responses[0].partitions[0].error_code, code(error_code::offset_out_of_range));
  EXPECT_EQ(past.responses[0].partitions[0].high_watermark, 3);
  auto at_end = h.call(11, fetch("t", 0, 3));
  EXPECT_EQ(at_end.responses[0].partitions[0].error_code, 0);
  EXPECT_TRUE(batches_of(at_end.responses[0].partitions[0]).empty());
}

TEST(fetch, size_limits_but_always_the_first_batch) {
  broker_harness h;
  h.create_topic("t");
  for (int i = 0; i < 5; ++i)
    h.call(7, produce("t", 0, make_batch(1, 1000, 1000)));
  const auto one = make_batch(1, 1000, 1000).size();
  auto small = h.call(11, fetch("t", 0, 0, 0, 1, static_cast<std::int32_t>(one * 2 + 10)));
  EXPECT_EQ(batches_of(small.responses[0].partitions[0]).size(), 2u);
  auto tiny = h.call(11, fetch("t", 0, 0, 0, 1, 10));
  EXPECT_EQ(batches_of(tiny.responses[0].partitions[0]).size(), 1u) << "first batch anyway";
  auto mid = h.call(4, fetch("t", 0, 3));
  auto got = batches_of(mid.responses[0].partitions[0]);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(batch::header_view(got[0]).base_offset(), kafka_offset(3));
}

TEST(fetch, long_poll_wakes_when_data_arrives_and_expires_empty) {
  broker_harness h;
  h.create_topic("t");
  const auto start = std::chrono::steady_clock::now();
  auto empty = h.call(11, fetch("t", 0, 0, 200));
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(150));
  EXPECT_TRUE(batches_of(empty.responses[0].partitions[0]).empty());

  auto waiting =
      std::async(std::launch::async, [&h] { return h.call(11, fetch("t", 0, 0, 20'000)); });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  auto p = h.partitions().get("t", 0);
  batch::builder b;
  b.add(std::nullopt, as_bytes("late"), 1);
  auto bytes = b.finish();
  ASSERT_TRUE(p->log->append(bytes));
  ASSERT_TRUE(p->log->flush());
  h.services().fetches.notify(p.get());
  ASSERT_EQ(waiting.wait_for(std::chrono::seconds(5)), std::future_status::ready)
      << "the fetch must wake on data, not wait 20 s";
  EXPECT_EQ(batches_of(waiting.get().responses[0].partitions[0]).size(), 1u);
}

TEST(fetch, topic_ids_from_v13_and_sessions_are_refused) {
  broker_harness h;
  const auto t = h.create_topic("t");
  h.append_records("t", 0, 2);
  auto req = fetch("", 0, 0);
  req.topics[0].topic_id = protocol::uuid{t.id.most, t.id.least};
  auto r = h.call(13, req);
  EXPECT_EQ(r.responses[0].partitions[0].error_code, 0);
  EXPECT_EQ(batches_of(r.responses[0].partitions[0]).size(), 2u);
  req.topics[0].topic_id = protocol::uuid{1, 2};
  EXPECT_EQ(h.call(13, req).responses[0].partitions[0].error_code,
            code(error_code::unknown_topic_id));
  auto session = fetch("t", 0, 0);
  session.session_id = 42;
  session.session_epoch = 3;
  EXPECT_EQ(h.call(11, session).error_code, code(error_code::fetch_session_id_not_found));
  auto create_session = fetch("t", 0, 0);
  create_session.session_epoch = 0;  // a client asking for a session gets a full fetch
  auto full = h.call(11, create_session);
  EXPECT_EQ(full.error_code, 0);
  EXPECT_EQ(full.session_id, 0);
}

TEST(list_offsets, earliest_latest_by_timestamp_and_max_timestamp) {
  broker_harness h;
  h.create_topic("t");
  h.call(7, produce("t", 0, make_batch(3, 1000)));  // offsets 0-2 at 1000-1002
  h.call(7, produce("t", 0, compress_batch(make_batch(3, 2000), protocol::compression_codec::lz4)));
  h.call(7, produce("t", 0, make_batch(2, 1500)));  // offsets 6-7 at 1500-1501
  auto ask = [&](std::int16_t version, std::int64_t ts) {
    protocol::list_offsets_request r;
    r.replica_id = -1;
    protocol::list_offsets_request::list_offsets_topic t;
    t.name = "t";
    protocol::list_offsets_request::list_offsets_partition p;
    p.partition_index = 0;
    p.timestamp = ts;
    t.partitions.push_back(p);
    r.topics.push_back(t);
    return h.call(version, r).topics[0].partitions[0];
  };
  EXPECT_EQ(ask(1, -2).offset, 0);
  EXPECT_EQ(ask(7, -1).offset, 8);
  auto exact = ask(4, 1001);
  EXPECT_EQ(exact.offset, 1);
  EXPECT_EQ(exact.timestamp, 1001);
  auto compressed = ask(4, 2001);
  EXPECT_EQ(compressed.offset, 4) << "inside an lz4 batch";
  EXPECT_EQ(ask(4, 1200).offset, 3) << "the first batch whose max timestamp reaches it";
  EXPECT_EQ(ask(4, 9999).offset, -1);
  auto max_ts = ask(7, -3);
  EXPECT_EQ(max_ts.offset, 5);
  EXPECT_EQ(max_ts.timestamp, 2002);
  protocol::list_offsets_request missing;
  protocol::list_offsets_request::list_offsets_topic mt;
  mt.name = "nope";
  mt.partitions.emplace_back();
  missing.topics.push_back(mt);
  EXPECT_EQ(h.call(2, missing).topics[0].partitions[0].error_code,
            code(error_code::unknown_topic_or_partition));
}

}  // namespace
}  // namespace caudal::broker
