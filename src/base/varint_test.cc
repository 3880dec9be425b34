// Goal: varint and zig-zag encodings match the Kafka format at the edges (0, -1, limits),
// round-trip, and reject truncated and overlong input without reading past it.

#include "base/varint.h"

#include <gtest/gtest.h>

#include <array>
#include <limits>
#include <vector>

namespace caudal::varint {
namespace {

TEST(varint, zigzag_maps_small_magnitudes_to_small_values) {
  EXPECT_EQ(zigzag_encode(std::int32_t{0}), 0u);
  EXPECT_EQ(zigzag_encode(std::int32_t{-1}), 1u);
  EXPECT_EQ(zigzag_encode(std::int32_t{1}), 2u);
  EXPECT_EQ(zigzag_encode(std::int32_t{-2}), 3u);
  EXPECT_EQ(zigzag_encode(std::numeric_limits<std::int32_t>::max()), 0xFFFFFFFEu);
  EXPECT_EQ(zigzag_encode(std::numeric_limits<std::int32_t>::min()), 0xFFFFFFFFu);
  EXPECT_EQ(zigzag_encode(std::numeric_limits<std::int64_t>::min()), ~0ull);
  for (std::int64_t v : std::initializer_list<std::int64_t>{
           0, -1, 1, -64, 63, std::numeric_limits<std::int64_t>::min(),
           std::numeric_limits<std::int64_t>::max()}) {
    EXPECT_EQ(zigzag_decode(zigzag_encode(v)), v);
  }
}

TEST(varint, known_encodings) {
  std::array<std::byte, bytes_max_64> buf{};
  EXPECT_EQ(encode_unsigned(0, buf.data()), 1u);
  EXPECT_EQ(buf[0], std::byte{0x00});
  EXPECT_EQ(encode_unsigned(300, buf.data()), 2u);  // 0xAC 0x02, the protobuf example
  EXPECT_EQ(buf[0], std::byte{0xAC});
  EXPECT_EQ(buf[1], std::byte{0x02});
  EXPECT_EQ(encode_i32(-1, buf.data()), 1u);
  EXPECT_EQ(buf[0], std::byte{0x01});
  EXPECT_EQ(encode_unsigned(~0ull, buf.data()), 10u);
  EXPECT_EQ(size_unsigned(~0ull), 10u);
  EXPECT_EQ(size_unsigned(127), 1u);
  EXPECT_EQ(size_unsigned(128), 2u);
}

TEST(varint, round_trip) {
  std::array<std::byte, bytes_max_64> buf{};
  for (std::int64_t v : std::initializer_list<std::int64_t>{
           0, 1, -1, 127, 128, -129, std::int64_t{1} << 40, -(std::int64_t{1} << 40),
           std::numeric_limits<std::int64_t>::max(), std::numeric_limits<std::int64_t>::min()}) {
    const auto n = encode_i64(v, buf.data());
    auto d = decode_i64(std::span<const std::byte>(buf.data(), n));
    ASSERT_TRUE(d);
    EXPECT_EQ(d->value, v);
    EXPECT_EQ(d->size, n);
  }
  for (std::int32_t v : {0, 1, -1, 1 << 20, std::numeric_limits<std::int32_t>::min(),
                         std::numeric_limits<std::int32_t>::max()}) {
    const auto n = encode_i32(v, buf.data());
    auto d = decode_i32(std::span<const std::byte>(buf.data(), n));
    ASSERT_TRUE(d);
    EXPECT_EQ(d->value, v);
  }
}

TEST(varint, rejects_truncated_input) {
  std::array<std::byte, bytes_max_64> buf{};
  const auto n = encode_unsigned(1ull << 35, buf.data());
  for (std::size_t cut = 0; cut < n; ++cut) {
    EXPECT_FALSE(decode_unsigned(std::span<const std::byte>(buf.data(), cut))) << cut;
  }
}

TEST(varint, rejects_overlong_input) {
  // Six continuation bytes cannot be a 32-bit varint.
  std::vector<std::byte> six(6, std::byte{0x80});
  six.back() = std::byte{0x01};
  EXPECT_FALSE(decode_u32(six));
  // Eleven bytes cannot be a 64-bit varint, and a tenth byte above 1 overflows.
  std::vector<std::byte> eleven(11, std::byte{0x80});
  eleven.back() = std::byte{0x01};
  EXPECT_FALSE(decode_unsigned(eleven));
  std::vector<std::byte> overflow(10, std::byte{0xFF});
  overflow.back() = std::byte{0x02};
  EXPECT_FALSE(decode_unsigned(overflow));
  // A 5-byte value above 2^32-1 is not a u32.
  std::vector<std::byte> big{std::byte{0xFF}, std::byte{0xFF}, std::byte{0xFF}, std::byte{0xFF},
                             std::byte{0x1F}};
  EXPECT_FALSE(decode_u32(big));
  EXPECT_TRUE(decode_unsigned(big));
}

}  // namespace
}  // namespace caudal::varint
