// Goal: the primitive reader rejects every malformed input with an error value (never a
// read past the end, never an assert), and the writer produces the exact wire encoding,
// including chunked output with external record chunks.
// Method: hand-built byte vectors for each primitive and each failure kind.

#include "protocol/codec.h"

#include "protocol/errc.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <initializer_list>
#include <vector>

namespace caudal::protocol {
namespace {

std::vector<std::byte> bytes_of(std::initializer_list<int> values) {
  std::vector<std::byte> out;
  for (int v : values)
    out.push_back(static_cast<std::byte>(v));
  return out;
}

std::vector<std::byte> to_vector(std::span<const std::byte> s) {
  return {s.begin(), s.end()};
}

template <class T>
std::error_code error_of(const result<T>& r) {
  return r ? std::error_code() : r.error();
}

TEST(codec, fixed_width_integers_are_big_endian) {
  auto in = bytes_of({0x01, 0x02, 0xFF, 0xFE, 0x00, 0x00, 0x01, 0x00, 0x80, 0, 0, 0, 0, 0, 0, 1});
  reader r(in);
  std::int16_t a = 0;
  std::int16_t b = 0;
  std::int32_t c = 0;
  std::int64_t d = 0;
  ASSERT_TRUE(r.read_int16(a));
  ASSERT_TRUE(r.read_int16(b));
  ASSERT_TRUE(r.read_int32(c));
  ASSERT_TRUE(r.read_int64(d));
  EXPECT_EQ(a, 0x0102);
  EXPECT_EQ(b, -2);
  EXPECT_EQ(c, 256);
  EXPECT_EQ(d, std::numeric_limits<std::int64_t>::min() + 1);
  EXPECT_EQ(r.remaining(), 0u);
}

TEST(codec, every_fixed_width_read_detects_truncation) {
  auto in = bytes_of({1, 2, 3});
  reader r(in);
  std::int32_t v32 = 0;
  EXPECT_EQ(error_of(r.read_int32(v32)), errc::truncated);
  std::int64_t v64 = 0;
  EXPECT_EQ(error_of(r.read_int64(v64)), errc::truncated);
  uuid u;
  EXPECT_EQ(error_of(r.read_uuid(u)), errc::truncated);
  double f = 0;
  EXPECT_EQ(error_of(r.read_float64(f)), errc::truncated);
  reader empty;
  bool b = false;
  EXPECT_EQ(error_of(empty.read_bool(b)), errc::truncated);
  std::int8_t i8 = 0;
  EXPECT_EQ(error_of(empty.read_int8(i8)), errc::truncated);
}

TEST(codec, bool_reads_any_non_zero_as_true) {
  auto in = bytes_of({0, 1, 0x7F});
  reader r(in);
  bool v = true;
  ASSERT_TRUE(r.read_bool(v));
  EXPECT_FALSE(v);
  ASSERT_TRUE(r.read_bool(v));
  EXPECT_TRUE(v);
  ASSERT_TRUE(r.read_bool(v));
  EXPECT_TRUE(v);
}

TEST(codec, uvarint_edges) {
  std::uint32_t v = 0;
  auto max = bytes_of({0xFF, 0xFF, 0xFF, 0xFF, 0x0F});
  reader r1(max);
  ASSERT_TRUE(r1.read_uvarint(v));
  EXPECT_EQ(v, 0xFFFFFFFFu);

  auto too_big = bytes_of({0xFF, 0xFF, 0xFF, 0xFF, 0x1F});  // 2^35 - 1
  reader r2(too_big);
  EXPECT_EQ(error_of(r2.read_uvarint(v)), errc::bad_varint);

  auto overlong = bytes_of({0x80, 0x80, 0x80, 0x80, 0x80, 0x00});
  reader r3(overlong);
  EXPECT_EQ(error_of(r3.read_uvarint(v)), errc::bad_varint);

  auto cut = bytes_of({0x80, 0x80});
  reader r4(cut);
  EXPECT_EQ(error_of(r4.read_uvarint(v)), errc::truncated);

  reader r5;
  EXPECT_EQ(error_of(r5.read_uvarint(v)), errc::truncated);
}

TEST(codec, zigzag_varints_round_trip) {
  writer w;
  w.write_varint(-1);
  w.write_varint(std::numeric_limits<std::int32_t>::min());
  w.write_varlong(std::numeric_limits<std::int64_t>::max());
  reader r(w.bytes());
  std::int32_t a = 0;
  std::int32_t b = 0;
  std::int64_t c = 0;
  ASSERT_TRUE(r.read_varint(a));
  ASSERT_TRUE(r.read_varint(b));
  ASSERT_TRUE(r.read_varlong(c));
  EXPECT_EQ(a, -1);
  EXPECT_EQ(b, std::numeric_limits<std::int32_t>::min());
  EXPECT_EQ(c, std::numeric_limits<std::int64_t>::max());
  EXPECT_EQ(w.bytes()[0], std::byte{1});
}

TEST(codec, classic_string_lengths) {
  std::string s;
  std::optional<std::string> o;
  auto null = bytes_of({0xFF, 0xFF});
  reader r1(null);
  EXPECT_EQ(error_of(r1.read_string(s, false)), errc::non_nullable_null);
  reader r2(null);
  ASSERT_TRUE(r2.read_string(o, false, true));
  EXPECT_FALSE(o.has_value());
  reader r3(null);
  EXPECT_EQ(error_of(r3.read_string(o, false, false)), errc::non_nullable_null);

  auto negative = bytes_of({0xFF, 0xFE});
  reader r4(negative);
  EXPECT_EQ(error_of(r4.read_string(s, false)), errc::negative_length);

  auto long_claim = bytes_of({0x00, 0x05, 'a', 'b'});
  reader r5(long_claim);
  EXPECT_EQ(error_of(r5.read_string(s, false)), errc::truncated);

  auto good = bytes_of({0x00, 0x02, 'h', 'i', 0x00, 0x00});
  reader r6(good);
  ASSERT_TRUE(r6.read_string(s, false));
  EXPECT_EQ(s, "hi");
  ASSERT_TRUE(r6.read_string(o, false, true));
  EXPECT_EQ(o, std::optional<std::string>(""));
}

TEST(codec, compact_string_and_bytes) {
  std::string s;
  std::optional<std::string> o;
  auto null = bytes_of({0x00});
  reader r1(null);
  EXPECT_EQ(error_of(r1.read_string(s, true)), errc::non_nullable_null);
  reader r2(null);
  ASSERT_TRUE(r2.read_string(o, true, true));
  EXPECT_FALSE(o.has_value());

  auto text = bytes_of({0x04, 'a', 'b', 'c'});
  reader r3(text);
  ASSERT_TRUE(r3.read_string(s, true));
  EXPECT_EQ(s, "abc");

  auto cut = bytes_of({0x05, 'a', 'b', 'c'});
  reader r4(cut);
  EXPECT_EQ(error_of(r4.read_string(s, true)), errc::truncated);

  std::vector<std::byte> b;
  auto huge = bytes_of({0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 1, 2});
  reader r5(huge);
  EXPECT_EQ(error_of(r5.read_bytes(b, true)), errc::truncated);

  auto classic_null = bytes_of({0xFF, 0xFF, 0xFF, 0xFF});
  reader r6(classic_null);
  EXPECT_EQ(error_of(r6.read_bytes(b, false)), errc::non_nullable_null);
}

TEST(codec, records_are_a_view_into_the_input) {
  auto in = bytes_of({0, 0, 0, 3, 7, 8, 9, 0xFF, 0xFF, 0xFF, 0xFF});
  reader r(in);
  std::optional<record_set> rs;
  ASSERT_TRUE(r.read_records(rs, false, true));
  ASSERT_TRUE(rs.has_value());
  EXPECT_EQ(rs->bytes().data(), in.data() + 4);  // not copied
  EXPECT_EQ(rs->size(), 3u);
  ASSERT_TRUE(r.read_records(rs, false, true));
  EXPECT_FALSE(rs.has_value());
}

TEST(codec, array_length_checks) {
  std::int32_t n = 0;
  auto null = bytes_of({0xFF, 0xFF, 0xFF, 0xFF});
  reader r1(null);
  EXPECT_EQ(error_of(r1.read_array_length(n, false, false)), errc::non_nullable_null);
  reader r2(null);
  ASSERT_TRUE(r2.read_array_length(n, false, true));
  EXPECT_EQ(n, -1);

  auto negative = bytes_of({0xFF, 0xFF, 0xFF, 0xFE});
  reader r3(negative);
  EXPECT_EQ(error_of(r3.read_array_length(n, false, true)), errc::negative_length);

  // Two bytes left cannot hold three elements.
  auto lying = bytes_of({0, 0, 0, 3, 1, 2});
  reader r4(lying);
  EXPECT_EQ(error_of(r4.read_array_length(n, false, false)), errc::array_too_long);
  auto lying_max = bytes_of({0x7F, 0xFF, 0xFF, 0xFF, 1});
  reader r5(lying_max);
  EXPECT_EQ(error_of(r5.read_array_length(n, false, false)), errc::array_too_long);
  auto lying_compact = bytes_of({0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 1});
  reader r6(lying_compact);
  EXPECT_EQ(error_of(r6.read_array_length(n, true, false)), errc::array_too_long);

  auto exact = bytes_of({0x03, 1, 2});  // compact: 2 elements, 2 bytes left
  reader r7(exact);
  ASSERT_TRUE(r7.read_array_length(n, true, false));
  EXPECT_EQ(n, 2);
}

TEST(codec, tagged_sections_are_skipped_whole) {
  // Two fields: tag 0 with 2 bytes, tag 5 with 0 bytes; then one trailing byte.
  auto in = bytes_of({0x02, 0x00, 0x02, 0xAA, 0xBB, 0x05, 0x00, 0x42});
  reader r(in);
  ASSERT_TRUE(r.skip_tagged_fields());
  EXPECT_EQ(r.remaining(), 1u);

  auto cut = bytes_of({0x01, 0x00, 0x05, 0xAA});
  reader r2(cut);
  EXPECT_EQ(error_of(r2.skip_tagged_fields()), errc::truncated);

  // A count far above what the bytes can hold ends at the first missing byte.
  auto lying = bytes_of({0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 0x00, 0x00});
  reader r3(lying);
  EXPECT_EQ(error_of(r3.skip_tagged_fields()), errc::truncated);
}

TEST(codec, writer_encodes_strings_and_nulls) {
  writer w;
  w.write_string("ab", false);
  w.write_string("ab", true);
  w.write_string(std::optional<std::string>(), false, true);
  w.write_string(std::optional<std::string>(), true, true);
  w.write_bytes(std::optional<std::vector<std::byte>>(), false, true);
  w.write_array_length(1, true);
  w.write_null_array(false, true);
  EXPECT_EQ(to_vector(w.bytes()), bytes_of({0, 2, 'a', 'b', 3, 'a', 'b', 0xFF, 0xFF, 0, 0xFF, 0xFF,
                                            0xFF, 0xFF, 2, 0xFF, 0xFF, 0xFF, 0xFF}));
}

TEST(codec, uuid_and_float_round_trip) {
  writer w;
  w.write_uuid(uuid{0x0102030405060708u, 0x1112131415161718u});
  w.write_float64(-2.5);
  reader r(w.bytes());
  uuid u;
  double d = 0;
  ASSERT_TRUE(r.read_uuid(u));
  ASSERT_TRUE(r.read_float64(d));
  EXPECT_EQ(u, (uuid{0x0102030405060708u, 0x1112131415161718u}));
  EXPECT_EQ(d, -2.5);
  EXPECT_EQ(w.bytes()[0], std::byte{1});
  EXPECT_EQ(w.bytes()[15], std::byte{0x18});
}

TEST(codec, external_records_become_separate_chunks) {
  writer w;
  auto frame = w.reserve_int32();
  w.write_int16(7);
  w.write_records(record_set(external_chunk{42, 1000}), false);
  w.write_records(std::optional<record_set>(record_set(external_chunk{43, 5})), true, true);
  w.write_int8(1);
  w.patch_int32(frame, static_cast<std::int32_t>(w.size() - 4));

  EXPECT_TRUE(w.has_external());
  EXPECT_EQ(w.size(), 4u + 2u + 4u + 1000u + 1u + 5u + 1u);
  auto chunks = w.chunks();
  ASSERT_EQ(chunks.size(), 5u);
  EXPECT_EQ(to_vector(std::get<0>(chunks[0])),
            bytes_of({0, 0, 0x03, 0xF5, 0, 7, 0, 0, 0x03, 0xE8}));  // size 1013, 7, len 1000
  EXPECT_EQ(std::get<1>(chunks[1]), (external_chunk{42, 1000}));
  EXPECT_EQ(to_vector(std::get<0>(chunks[2])), bytes_of({6}));  // compact length 5 + 1
  EXPECT_EQ(std::get<1>(chunks[3]), (external_chunk{43, 5}));
  EXPECT_EQ(to_vector(std::get<0>(chunks[4])), bytes_of({1}));
}

TEST(codec, external_chunks_back_to_back_have_no_empty_pieces) {
  writer w;
  w.write_external({1, 10});
  w.write_external({2, 20});
  auto chunks = w.chunks();
  ASSERT_EQ(chunks.size(), 2u);
  EXPECT_EQ(std::get<1>(chunks[0]).id, 1u);
  EXPECT_EQ(std::get<1>(chunks[1]).id, 2u);
}

TEST(codec, record_set_equality) {
  auto a = bytes_of({1, 2, 3});
  auto b = bytes_of({1, 2, 3});
  auto c = bytes_of({1, 2});
  EXPECT_EQ(record_set(std::span<const std::byte>(a)), record_set(std::span<const std::byte>(b)));
  EXPECT_NE(record_set(std::span<const std::byte>(a)), record_set(std::span<const std::byte>(c)));
  EXPECT_NE(record_set(std::span<const std::byte>(a)), record_set(external_chunk{1, 3}));
  EXPECT_EQ(record_set(external_chunk{1, 3}), record_set(external_chunk{1, 3}));
  EXPECT_EQ(record_set(), record_set(std::span<const std::byte>(c).first(0)));
}

}  // namespace
}  // namespace caudal::protocol
