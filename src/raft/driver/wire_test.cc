// Goal: the Raft RPC frame codec round-trips every field of every message type, and no
// input (truncated, bit-flipped, lying counts, random bytes) crashes the decoder or makes
// it allocate beyond what the input could hold. Method: encode known messages, decode,
// compare; then damage the bytes every way we can enumerate and check for an error value.

#include "raft/driver/wire.h"

#include "base/bytes.h"
#include "base/crc32c.h"
#include "base/random.h"
#include "raft/driver/errc.h"

#include <gtest/gtest.h>

#include <memory>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace caudal::raft {
namespace {

std::vector<std::byte> bytes_of(std::string_view s) {
  auto b = as_bytes(s);
  return {b.begin(), b.end()};
}

message full_message(message_type type) {
  message m;
  m.type = type;
  m.from = node_id(1);
  m.to = node_id(2);
  m.term = term_id(7);
  m.log_term = term_id(6);
  m.index = log_index(41);
  m.commit = log_index(40);
  m.reject = true;
  m.hint_index = log_index(39);
  m.hint_term = term_id(5);
  m.context = 0xfedcba9876543210ull;
  m.transfer = true;
  m.entries.push_back(entry{term_id(6), log_index(42), entry_kind::normal, bytes_of("hello")});
  m.entries.push_back(entry{term_id(7), log_index(43), entry_kind::leader_noop, {}});
  m.entries.push_back(entry{term_id(7), log_index(44), entry_kind::membership,
                            encode_membership({{node_id(1), node_id(2)}, {node_id(3)}})});
  if (type == message_type::install_snapshot) {
    auto s = std::make_shared<snapshot>();
    s->index = log_index(40);
    s->term = term_id(6);
    s->membership = {{node_id(1), node_id(2), node_id(3)}, {node_id(4)}};
    s->data = bytes_of("state machine");
    m.snapshot = std::move(s);
  }
  return m;
}

bool same(const message& a, const message& b) {
  return a.type == b.type && a.from == b.from && a.to == b.to && a.term == b.term &&
         a.log_term == b.log_term && a.index == b.index && a.commit == b.commit &&
         a.entries == b.entries && a.reject == b.reject && a.hint_index == b.hint_index &&
         a.hint_term == b.hint_term && a.context == b.context && a.transfer == b.transfer &&
         (a.snapshot == nullptr) == (b.snapshot == nullptr) &&
         (a.snapshot == nullptr || *a.snapshot == *b.snapshot);
}

std::vector<std::byte> sample_frame() {
  frame_builder b(node_id(1));
  for (int t = 0; t <= static_cast<int>(message_type::install_snapshot); ++t)
    b.add(group_id(static_cast<std::uint64_t>(100 + t)),
          full_message(static_cast<message_type>(t)));
  return b.finish();
}

TEST(raft_wire, every_message_type_round_trips_with_its_group) {
  frame_builder b(node_id(1));
  std::vector<message> sent;
  for (int t = 0; t <= static_cast<int>(message_type::install_snapshot); ++t) {
    sent.push_back(full_message(static_cast<message_type>(t)));
    b.add(group_id(static_cast<std::uint64_t>(100 + t)), sent.back());
  }
  sent.push_back(message{});  // all defaults: node_none, zeros, no entries
  b.add(group_id(~0ull), sent.back());
  EXPECT_EQ(b.message_count(), sent.size());
  const std::size_t expected_size = b.size_bytes();
  auto bytes = b.finish();
  ASSERT_EQ(bytes.size(), expected_size);
  std::size_t sum = frame_header_bytes + frame_body_header_bytes;
  for (const message& m : sent)
    sum += encoded_size(m);
  EXPECT_EQ(bytes.size(), sum);

  auto f = decode_frame(bytes);
  ASSERT_TRUE(f) << f.error().message();
  EXPECT_EQ(f->from, node_id(1));
  ASSERT_EQ(f->messages.size(), sent.size());
  for (std::size_t i = 0; i < sent.size(); ++i) {
    EXPECT_TRUE(same(f->messages[i].msg, sent[i])) << "message " << i;
  }
  EXPECT_EQ(f->messages[0].group, group_id(100));
  EXPECT_EQ(f->messages.back().group, group_id(~0ull));
}

TEST(raft_wire, builder_starts_afresh_after_finish) {
  frame_builder b(node_id(3));
  b.add(group_id(1), full_message(message_type::heartbeat));
  auto first = b.finish();
  EXPECT_EQ(b.message_count(), 0u);
  auto empty = b.finish();
  auto f = decode_frame(empty);
  ASSERT_TRUE(f);
  EXPECT_TRUE(f->messages.empty());
  EXPECT_EQ(f->from, node_id(3));
  EXPECT_TRUE(decode_frame(first));
}

TEST(raft_wire, every_truncation_is_an_error) {
  const auto bytes = sample_frame();
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    auto f = decode_frame(std::span(bytes).first(n));
    EXPECT_FALSE(f) << "prefix of " << n << " bytes decoded";
  }
}

TEST(raft_wire, every_single_bit_flip_is_caught) {
  auto bytes = sample_frame();
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      bytes[i] ^= std::byte(1 << bit);
      EXPECT_FALSE(decode_frame(bytes)) << "flip of bit " << bit << " at " << i;
      bytes[i] ^= std::byte(1 << bit);
    }
  }
}

// With a valid CRC recomputed over damaged bodies, the structural checks are what stop
// the input: counts larger than the bytes left, bad enums and bools, trailing bytes.
void reseal(std::vector<std::byte>& bytes) {
  const auto body = std::span<const std::byte>(bytes).subspan(frame_header_bytes);
  store_be<std::uint32_t>(bytes.data(), static_cast<std::uint32_t>(bytes.size() - 4));
  store_be<std::uint32_t>(bytes.data() + 4, crc32c::value(body));
}

TEST(raft_wire, lying_counts_and_bad_values_are_refused_with_a_valid_crc) {
  const auto good = sample_frame();
  const std::size_t count_at = frame_header_bytes + 6;
  const std::size_t first_message = frame_header_bytes + frame_body_header_bytes;

  auto lie = good;
  store_be<std::uint32_t>(lie.data() + count_at, 0xffffffffu);
  reseal(lie);
  EXPECT_EQ(decode_frame(lie).error(), make_error_code(driver_errc::truncated));

  auto bad_type = good;
  bad_type[first_message + 8] = std::byte(200);
  reseal(bad_type);
  EXPECT_EQ(decode_frame(bad_type).error(), make_error_code(driver_errc::corrupt));

  auto bad_bool = good;
  bad_bool[first_message + 8 + 1 + 4 + 4 + 32] = std::byte(2);  // reject
  reseal(bad_bool);
  EXPECT_EQ(decode_frame(bad_bool).error(), make_error_code(driver_errc::corrupt));

  // The entry count ends the fields before the entries; the snapshot flag follows them.
  const std::size_t entry_count_at = first_message + message_fixed_bytes - 5;
  auto entries_lie = good;
  store_be<std::uint32_t>(entries_lie.data() + entry_count_at, 0x7fffffffu);
  reseal(entries_lie);
  EXPECT_EQ(decode_frame(entries_lie).error(), make_error_code(driver_errc::truncated));

  auto data_lie = good;
  store_be<std::uint32_t>(data_lie.data() + entry_count_at + 4 + 17, 0xfffffff0u);
  reseal(data_lie);
  EXPECT_EQ(decode_frame(data_lie).error(), make_error_code(driver_errc::truncated));

  auto trailing = good;
  trailing.push_back(std::byte(0));
  reseal(trailing);
  EXPECT_EQ(decode_frame(trailing).error(), make_error_code(driver_errc::corrupt));

  auto version = good;
  version[frame_header_bytes] = std::byte(wire_version + 1);
  reseal(version);
  EXPECT_EQ(decode_frame(version).error(), make_error_code(driver_errc::unsupported_version));
}

TEST(raft_wire, lying_snapshot_fields_are_refused_with_a_valid_crc) {
  frame_builder b(node_id(1));
  const message m = full_message(message_type::install_snapshot);
  b.add(group_id(1), m);
  const auto good = b.finish();
  message without = m;
  without.snapshot.reset();
  const std::size_t flag_at =
      frame_header_bytes + frame_body_header_bytes + encoded_size(without) - 1;
  ASSERT_EQ(good[flag_at], std::byte(1));

  auto bad_flag = good;
  bad_flag[flag_at] = std::byte(2);
  reseal(bad_flag);
  EXPECT_EQ(decode_frame(bad_flag).error(), make_error_code(driver_errc::corrupt));

  auto voters_lie = good;
  store_be<std::uint32_t>(voters_lie.data() + flag_at + 17, 0x7fffffffu);
  reseal(voters_lie);
  EXPECT_EQ(decode_frame(voters_lie).error(), make_error_code(driver_errc::truncated));

  // voters (3 ids) and learners (1 id) come before the data size.
  auto data_lie = good;
  store_be<std::uint32_t>(data_lie.data() + flag_at + 17 + 4 + 12 + 4 + 4, 0xfffffff0u);
  reseal(data_lie);
  EXPECT_EQ(decode_frame(data_lie).error(), make_error_code(driver_errc::truncated));
}

TEST(raft_wire, an_oversized_prefix_is_refused_before_reading_the_body) {
  std::array<std::byte, frame_header_bytes> header{};
  store_be<std::uint32_t>(header.data(), frame_bytes_max + 1);
  std::uint32_t crc = 0;
  EXPECT_EQ(decode_frame_header(header, crc).error(),
            make_error_code(driver_errc::frame_too_large));
  store_be<std::uint32_t>(header.data(), 3);
  EXPECT_EQ(decode_frame_header(header, crc).error(), make_error_code(driver_errc::truncated));
}

TEST(raft_wire, random_garbage_never_crashes) {
  random_source random(5);
  const auto good = sample_frame();
  for (int round = 0; round < 20000; ++round) {
    std::vector<std::byte> bytes;
    if (random.chance(1, 2)) {
      bytes.resize(random.uniform(300));
      for (auto& b : bytes)
        b = std::byte(random.uniform(256));
    } else {
      // Mostly-valid frames with a few random bytes changed and the CRC made right, so
      // the structural decoder sees the damage.
      bytes = good;
      const auto changes = 1 + random.uniform(4);
      for (std::uint64_t c = 0; c < changes; ++c)
        bytes[frame_header_bytes + random.uniform(bytes.size() - frame_header_bytes)] =
            std::byte(random.uniform(256));
      reseal(bytes);
    }
    // The fuzz target's check: a decoded frame re-encodes to the same bytes (it asserts).
    LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
  }
}

}  // namespace
}  // namespace caudal::raft
