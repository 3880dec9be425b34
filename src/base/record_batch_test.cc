// Goal: batch validation accepts what a producer sends and rejects every corruption
// (bad CRC, bad length, bad magic, count mismatch, bad codec, truncation at every
// length) without reading outside the buffer; patching the base offset keeps the CRC.

#include "base/record_batch.h"
#include "base/batch_builder.h"

#include <gtest/gtest.h>

#include <string>

namespace caudal::batch {
namespace {

constexpr std::size_t size_max = 1 << 20;

std::vector<std::byte> sample_batch(int records = 3) {
  builder b;
  const record_header h{as_bytes("trace"), as_bytes("abc")};
  for (int i = 0; i < records; ++i) {
    const std::string value = "value-" + std::to_string(i);
    b.add(as_bytes("key"), as_bytes(value), 1'000 + i, std::span(&h, 1));
  }
  return b.finish();
}

void refresh_crc(std::vector<std::byte>& b) {
  store_be<std::uint32_t>(b.data() + crc_pos, compute_crc(b));
}

TEST(record_batch, builder_output_is_valid) {
  auto b = sample_batch();
  ASSERT_TRUE(validate(b, size_max, count_check::fresh));
  header_view h(b);
  EXPECT_EQ(h.records_count(), 3);
  EXPECT_EQ(h.last_offset_delta(), 2);
  EXPECT_EQ(h.base_timestamp(), 1000);
  EXPECT_EQ(h.max_timestamp(), 1002);
  EXPECT_EQ(h.size_bytes(), b.size());
  EXPECT_EQ(h.magic(), 2);
}

TEST(record_batch, base_offset_patch_keeps_crc) {
  auto b = sample_batch();
  set_base_offset(b, kafka_offset(123456789));
  set_leader_epoch(b, 17);
  ASSERT_TRUE(validate(b, size_max, count_check::fresh));
  header_view h(b);
  EXPECT_EQ(h.base_offset(), kafka_offset(123456789));
  EXPECT_EQ(h.last_offset(), kafka_offset(123456791));
  EXPECT_EQ(h.leader_epoch(), 17);
}

TEST(record_batch, rejects_bad_crc_in_every_covered_byte) {
  const auto good = sample_batch();
  for (std::size_t i = crc_start; i < good.size(); ++i) {
    if (i >= last_offset_delta_pos && i < last_offset_delta_pos + 4) continue;  // count check
    if (i >= records_count_pos && i < records_count_pos + 4) continue;
    auto b = good;
    b[i] ^= std::byte{0x01};
    auto r = validate(b, size_max, count_check::fresh);
    ASSERT_FALSE(r) << "flip at " << i;
    if (i >= attributes_pos + 1 || i < attributes_pos) {
      EXPECT_EQ(r.error(), errc::bad_crc) << "flip at " << i;
    }
  }
}

TEST(record_batch, rejects_bad_magic) {
  auto b = sample_batch();
  b[magic_pos] = std::byte{1};
  EXPECT_EQ(validate(b, size_max, count_check::fresh).error(), errc::bad_magic);
}

TEST(record_batch, rejects_bad_length) {
  auto b = sample_batch();
  store_be<std::int32_t>(b.data() + batch_length_pos, 10);  // below the header
  EXPECT_EQ(validate(b, size_max, count_check::fresh).error(), errc::bad_length);
  store_be<std::int32_t>(b.data() + batch_length_pos, -1);
  EXPECT_EQ(validate(b, size_max, count_check::fresh).error(), errc::bad_length);
  auto big = sample_batch();
  EXPECT_EQ(validate(big, big.size() - 1, count_check::fresh).error(), errc::bad_length);
  store_be<std::int32_t>(big.data() + batch_length_pos, 0x7FFFFFFF);  // a lie
  EXPECT_EQ(validate(big, size_max, count_check::fresh).error(), errc::bad_length);
}

TEST(record_batch, rejects_count_mismatch) {
  auto b = sample_batch();
  store_be<std::int32_t>(b.data() + records_count_pos, 4);
  refresh_crc(b);
  EXPECT_EQ(validate(b, size_max, count_check::fresh).error(), errc::bad_record_count);
  store_be<std::int32_t>(b.data() + records_count_pos, 0);
  store_be<std::int32_t>(b.data() + last_offset_delta_pos, -1);
  refresh_crc(b);
  EXPECT_EQ(validate(b, size_max, count_check::fresh).error(), errc::bad_record_count);
  // A compacted batch may hold fewer records than its delta range, but only when stored.
  auto c = sample_batch();
  store_be<std::int32_t>(c.data() + records_count_pos, 2);
  refresh_crc(c);
  EXPECT_EQ(validate(c, size_max, count_check::fresh).error(), errc::bad_record_count);
  EXPECT_TRUE(validate(c, size_max, count_check::stored));
}

TEST(record_batch, rejects_bad_compression) {
  auto b = sample_batch();
  store_be<std::int16_t>(b.data() + attributes_pos, 5);
  refresh_crc(b);
  EXPECT_EQ(validate(b, size_max, count_check::fresh).error(), errc::bad_compression);
}

TEST(record_batch, rejects_truncation_at_every_length) {
  const auto b = sample_batch();
  for (std::size_t n = 0; n < b.size(); ++n) {
    // A copy of exactly n bytes, so ASan catches any read past the end.
    std::vector<std::byte> cut(b.begin(), b.begin() + static_cast<std::ptrdiff_t>(n));
    auto r = validate(cut, size_max, count_check::fresh);
    ASSERT_FALSE(r) << n;
    EXPECT_EQ(r.error(), errc::truncated) << n;
  }
}

TEST(record_batch, prefix_reports_size_and_trailing_bytes_are_rejected) {
  auto b = sample_batch();
  const auto size = b.size();
  b.push_back(std::byte{0});
  auto prefix = validate_prefix(b, size_max, count_check::fresh);
  ASSERT_TRUE(prefix);
  EXPECT_EQ(*prefix, size);
  EXPECT_EQ(validate(b, size_max, count_check::fresh).error(), errc::trailing_bytes);
}

}  // namespace
}  // namespace caudal::batch

#include "base/record_reader.h"

namespace caudal::batch {
namespace {

TEST(record_reader, reads_back_what_the_builder_wrote) {
  builder b;
  const record_header h{as_bytes("h"), std::nullopt};
  b.add(as_bytes("k1"), as_bytes("v1"), 100);
  b.add(std::nullopt, std::nullopt, 90, std::span(&h, 1));
  auto bytes = b.finish();
  record_reader r(bytes);
  auto first = r.next();
  ASSERT_TRUE(first && *first);
  EXPECT_EQ((*first)->offset_delta, 0);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>((*first)->key->data()), 2), "k1");
  EXPECT_EQ((*first)->header_count, 0);
  auto second = r.next();
  ASSERT_TRUE(second && *second);
  EXPECT_EQ((*second)->offset_delta, 1);
  EXPECT_EQ((*second)->timestamp_delta, -10);
  EXPECT_FALSE((*second)->key);
  EXPECT_FALSE((*second)->value);
  EXPECT_EQ((*second)->header_count, 1);
  auto end = r.next();
  ASSERT_TRUE(end);
  EXPECT_FALSE(*end);
}

TEST(record_reader, a_count_that_lies_is_an_error) {
  builder b;
  b.add(as_bytes("k"), as_bytes("v"), 1);
  auto bytes = b.finish();
  store_be<std::int32_t>(bytes.data() + records_count_pos, 2);
  record_reader r(bytes);
  ASSERT_TRUE(r.next());
  EXPECT_FALSE(r.next());
}

}  // namespace
}  // namespace caudal::batch
