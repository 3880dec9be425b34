// Goal: batch_records and validate_records read the records of a batch of every codec exactly
// as of the same batch uncompressed, accept what real clients send, and reject (never crash
// on) batches whose compressed payload is corrupt, too large, or disagrees with the header.
// Method: batches built with batch::builder and recompressed here (payload compressed, codec
// bits set, CRC recomputed), byte-exact batches from kafka-python (testdata/, see
// make_batches.py), hand-damaged batches, and a replay of batch_fuzz.cc's corpus.

#include "protocol/batch_records.h"

#include "base/batch_builder.h"
#include "base/bytes.h"
#include "protocol/compression.h"

#include <gtest/gtest.h>

#include <array>
#include <cctype>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace caudal::protocol {
namespace {

constexpr std::array<compression_codec, 5> all_codecs{
    compression_codec::none, compression_codec::gzip, compression_codec::snappy,
    compression_codec::lz4, compression_codec::zstd};
constexpr std::size_t mib = 1 << 20;

// A record as plain values, to compare records read from different buffers.
struct record {
  std::int64_t timestamp_delta;
  std::int32_t offset_delta;
  std::optional<std::vector<std::byte>> key;
  std::optional<std::vector<std::byte>> value;
  std::vector<std::byte> headers;
  std::int32_t header_count;
  bool operator==(const record&) const = default;
};

std::optional<std::vector<std::byte>> copy(std::optional<std::span<const std::byte>> b) {
  if (!b) return std::nullopt;
  return std::vector<std::byte>(b->begin(), b->end());
}

record to_record(const batch::record_view& v) {
  return {v.timestamp_delta,
          v.offset_delta,
          copy(v.key),
          copy(v.value),
          std::vector<std::byte>(v.headers.begin(), v.headers.end()),
          v.header_count};
}

result<std::vector<record>> read_all(std::span<const std::byte> b) {
  std::vector<record> out;
  CAUDAL_TRY(for_each_record(b, mib,
                             [&out](const batch::record_view& v) { out.push_back(to_record(v)); }));
  return out;
}

// `n` records with keys, values (some null), timestamps and headers; values of `value_bytes`.
std::vector<std::byte> make_batch(int n, std::size_t value_bytes = 300,
                                  batch::builder::options opts = {}) {
  batch::builder b(opts);
  const std::string header_value = "header-value";
  const batch::record_header h{as_bytes("h"), as_bytes(header_value)};
  for (int i = 0; i < n; ++i) {
    const std::string key = "key-" + std::to_string(i);
    std::string value;
    while (value.size() < value_bytes)
      value += "value-" + std::to_string(i) + " ";
    b.add(i == 1 ? std::nullopt : std::optional(as_bytes(key)),
          i == 2 ? std::nullopt : std::optional(as_bytes(value)), 1'000 + 7 * i,
          std::span(&h, i % 2 == 0 ? 1 : 0));
  }
  return b.finish();
}

// The batch with `records_region` (raw, already compressed or not) in place of its records,
// `codec` in its attributes, and batchLength and CRC made right.
std::vector<std::byte> with_region(std::span<const std::byte> batch_bytes,
                                   std::span<const std::byte> records_region,
                                   compression_codec codec) {
  std::vector<std::byte> out(batch_bytes.begin(), batch_bytes.begin() + batch::header_bytes);
  out.insert(out.end(), records_region.begin(), records_region.end());
  const auto attributes = batch::header_view(out).attributes();
  store_be<std::int16_t>(out.data() + batch::attributes_pos,
                         static_cast<std::int16_t>((attributes & ~batch::compression_mask) |
                                                   static_cast<std::int16_t>(codec)));
  store_be<std::int32_t>(out.data() + batch::batch_length_pos,
                         static_cast<std::int32_t>(out.size() - batch::log_overhead));
  store_be<std::uint32_t>(out.data() + batch::crc_pos, batch::compute_crc(out));
  return out;
}

std::span<const std::byte> region_of(std::span<const std::byte> b) {
  return b.subspan(batch::header_bytes);
}

// The uncompressed batch recompressed with `codec`, as a producer would send it.
std::vector<std::byte> compressed_batch(std::span<const std::byte> plain, compression_codec codec) {
  if (codec == compression_codec::none) return {plain.begin(), plain.end()};
  auto region = compress(codec, region_of(plain));
  EXPECT_TRUE(region.has_value());
  return with_region(plain, *region, codec);
}

std::vector<std::byte> read_hex(const std::string& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << path;
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::string digits;
  for (char c : text) {
    if (std::isxdigit(static_cast<unsigned char>(c)) != 0) digits += c;
  }
  std::vector<std::byte> out;
  for (std::size_t i = 0; i + 1 < digits.size(); i += 2) {
    out.push_back(static_cast<std::byte>(std::stoi(digits.substr(i, 2), nullptr, 16)));
  }
  return out;
}

TEST(batch_records, every_codec_reads_the_same_records_as_uncompressed) {
  const auto plain = make_batch(50);
  auto expected = read_all(plain);
  ASSERT_TRUE(expected.has_value());
  ASSERT_EQ(expected->size(), 50u);
  for (auto codec : all_codecs) {
    const auto b = compressed_batch(plain, codec);
    EXPECT_EQ(batch::header_view(b).compression(), static_cast<int>(codec));
    EXPECT_TRUE(batch::validate(b, b.size(), batch::count_check::fresh).has_value());
    auto v = validate_records(b, mib);
    EXPECT_TRUE(v.has_value()) << compression_codec_name(codec) << ": " << v.error().message();
    auto got = read_all(b);
    ASSERT_TRUE(got.has_value()) << compression_codec_name(codec);
    EXPECT_EQ(*got, *expected) << compression_codec_name(codec);
  }
}

TEST(batch_records, uncompressed_records_are_viewed_in_place) {
  const auto plain = make_batch(3);
  auto records = batch_records::open(plain, mib);
  ASSERT_TRUE(records.has_value());
  EXPECT_EQ(records->records_bytes(), plain.size() - batch::header_bytes);
  auto first = records->next();
  ASSERT_TRUE(first.has_value() && first->has_value());
  const auto* key = (*first)->key->data();
  EXPECT_TRUE(key >= plain.data() && key < plain.data() + plain.size());
}

TEST(batch_records, views_survive_moving_the_iterator) {
  const auto b = compressed_batch(make_batch(4), compression_codec::zstd);
  auto opened = batch_records::open(b, mib);
  ASSERT_TRUE(opened.has_value());
  auto first = opened->next();
  ASSERT_TRUE(first.has_value() && first->has_value());
  batch_records moved = std::move(*opened);
  const auto key = (*first)->key;
  EXPECT_EQ(std::string_view(reinterpret_cast<const char*>(key->data()), key->size()), "key-0");
  int rest = 0;
  for (;;) {
    auto r = moved.next();
    ASSERT_TRUE(r.has_value());
    if (!r->has_value()) break;
    ++rest;
  }
  EXPECT_EQ(rest, 3);
}

TEST(batch_records, for_each_record_stops_at_the_callers_error) {
  const auto b = compressed_batch(make_batch(5), compression_codec::lz4);
  int seen = 0;
  auto r = for_each_record(b, mib, [&seen](const batch::record_view&) -> result<void> {
    if (++seen == 2) return records_errc::bad_offset_delta;
    return ok();
  });
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error(), records_errc::bad_offset_delta);
  EXPECT_EQ(seen, 2);
}

TEST(batch_records, control_batches_get_the_same_checks) {
  batch::builder::options opts;
  opts.attributes = batch::control_bit | batch::transactional_bit;
  opts.producer_id = 7;
  opts.producer_epoch = 1;
  const auto control = make_batch(1, 6, opts);
  EXPECT_TRUE(validate_records(control, mib).has_value());
  EXPECT_TRUE(validate_records(compressed_batch(control, compression_codec::gzip), mib));
}

TEST(batch_records, fewer_or_more_records_than_the_header_says_are_rejected) {
  const auto three = make_batch(3);
  const auto two = make_batch(2);
  for (auto codec : all_codecs) {
    // The header of three records, the payload of two.
    auto region = codec == compression_codec::none
                      ? std::vector<std::byte>(region_of(two).begin(), region_of(two).end())
                      : *compress(codec, region_of(two));
    const auto short_batch = with_region(three, region, codec);
    auto r = validate_records(short_batch, mib);
    ASSERT_FALSE(r.has_value()) << compression_codec_name(codec);
    EXPECT_EQ(r.error(), records_errc::malformed_record) << compression_codec_name(codec);
    EXPECT_FALSE(read_all(short_batch).has_value());

    // The header of two records, the payload of three.
    region = codec == compression_codec::none
                 ? std::vector<std::byte>(region_of(three).begin(), region_of(three).end())
                 : *compress(codec, region_of(three));
    r = validate_records(with_region(two, region, codec), mib);
    ASSERT_FALSE(r.has_value()) << compression_codec_name(codec);
    EXPECT_EQ(r.error(), records_errc::malformed_record) << compression_codec_name(codec);
  }
}

TEST(batch_records, offset_deltas_must_run_from_zero_in_order) {
  // Two copies of a one-record batch's record: offset deltas 0, 0.
  const auto one = make_batch(1);
  std::vector<std::byte> twice(region_of(one).begin(), region_of(one).end());
  twice.insert(twice.end(), region_of(one).begin(), region_of(one).end());
  auto b = with_region(make_batch(2), *compress(compression_codec::snappy, twice),
                       compression_codec::snappy);
  EXPECT_EQ(validate_records(b, mib).error(), records_errc::bad_offset_delta);
  // Iterating does not judge offsets.
  EXPECT_TRUE(read_all(b).has_value());
}

TEST(batch_records, a_reused_decompression_buffer_leaves_no_trace_in_the_next_batch) {
  // validate_records keeps its decompression buffer between calls on a thread, and open()
  // takes any buffer: no verdict and no record may depend on what an earlier batch left there.
  const auto plain = make_batch(200);
  const auto big = compressed_batch(plain, compression_codec::lz4);
  const auto small = compressed_batch(make_batch(2), compression_codec::lz4);
  // The header says three records; the payload holds two. The big batch's decompressed bytes
  // still sit in the buffer's capacity past the end, where a third record would be.
  const auto short_batch =
      with_region(make_batch(3), *compress(compression_codec::lz4, region_of(make_batch(2))),
                  compression_codec::lz4);
  for (int round = 0; round < 3; ++round) {
    EXPECT_TRUE(validate_records(big, mib).has_value());
    EXPECT_TRUE(validate_records(small, mib).has_value());
    auto r = validate_records(short_batch, mib);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error(), records_errc::malformed_record);
  }

  auto expected = read_all(plain);
  ASSERT_TRUE(expected.has_value());
  std::vector<std::byte> garbage(1 << 20, std::byte{0x7f});
  auto records = batch_records::open(big, mib, std::move(garbage));
  ASSERT_TRUE(records.has_value());
  std::vector<record> got;
  for (;;) {
    auto r = records->next();
    ASSERT_TRUE(r.has_value());
    if (!r->has_value()) break;
    got.push_back(to_record(**r));
  }
  EXPECT_EQ(got, *expected);
  const auto buffer = std::move(*records).take_buffer();
  EXPECT_GE(buffer.capacity(), std::size_t{1} << 20);  // the capacity came back for reuse
}

TEST(batch_records, header_problems_are_batch_errors) {
  const auto good = compressed_batch(make_batch(3), compression_codec::gzip);
  EXPECT_EQ(validate_records(std::span(good).first(60), mib).error(), batch::errc::truncated);
  EXPECT_EQ(validate_records(std::span(good).first(good.size() - 1), mib).error(),
            batch::errc::truncated);
  auto longer = good;
  longer.push_back(std::byte{0});
  EXPECT_EQ(validate_records(longer, mib).error(), batch::errc::trailing_bytes);
  // batch_records::open ignores what follows the batch.
  EXPECT_TRUE(batch_records::open(longer, mib).has_value());

  auto magic = good;
  magic[batch::magic_pos] = std::byte{1};
  EXPECT_EQ(validate_records(magic, mib).error(), batch::errc::bad_magic);

  auto codec = good;
  codec[batch::attributes_pos + 1] |= std::byte{0x07};
  EXPECT_EQ(validate_records(codec, mib).error(), batch::errc::bad_compression);

  auto length = good;
  store_be<std::int32_t>(length.data() + batch::batch_length_pos, 10);
  EXPECT_EQ(validate_records(length, mib).error(), batch::errc::bad_length);

  auto count = good;
  store_be<std::int32_t>(count.data() + batch::records_count_pos, 4);
  EXPECT_EQ(validate_records(count, mib).error(), batch::errc::bad_record_count);
  store_be<std::int32_t>(count.data() + batch::records_count_pos, -1);
  EXPECT_EQ(batch_records::open(count, mib).error(), batch::errc::bad_record_count);
}

TEST(batch_records, corrupt_or_oversized_payloads_are_rejected) {
  const auto plain = make_batch(20);
  for (auto codec : all_codecs) {
    if (codec == compression_codec::none) continue;
    const auto good = compressed_batch(plain, codec);
    // Cut the compressed payload short (keeping the header's lengths and CRC right).
    const auto cut = with_region(good, region_of(good).first(region_of(good).size() / 2), codec);
    auto r = validate_records(cut, mib);
    ASSERT_FALSE(r.has_value()) << compression_codec_name(codec);
    EXPECT_EQ(r.error(), compression_errc::corrupt) << compression_codec_name(codec);

    const auto garbage = with_region(good, std::span(plain).subspan(8, 100), codec);
    EXPECT_FALSE(validate_records(garbage, mib).has_value()) << compression_codec_name(codec);

    // The limit is on the decompressed records.
    const auto records_bytes = plain.size() - batch::header_bytes;
    EXPECT_TRUE(validate_records(good, records_bytes).has_value());
    EXPECT_EQ(validate_records(good, records_bytes - 1).error(), compression_errc::too_large);
  }
}

TEST(batch_records, a_compressed_bomb_is_refused) {
  const std::vector<std::byte> zeros(mib);
  const auto frame = *compress(compression_codec::zstd, zeros);
  std::vector<std::byte> bomb;
  for (int i = 0; i < 64; ++i)
    bomb.insert(bomb.end(), frame.begin(), frame.end());
  const auto b = with_region(make_batch(1), bomb, compression_codec::zstd);
  EXPECT_EQ(validate_records(b, mib).error(), compression_errc::too_large);
}

// kafka-python's records (make_batches.py): key "key-i" (null for 3), value "value-i " * 400
// (null for 5), timestamp 1700000000000 + i, header ("h", "i").
TEST(batch_records, batches_written_by_kafka_python_validate_and_iterate) {
  for (auto codec : all_codecs) {
    const std::string name = compression_codec_name(codec);
    const auto b =
        read_hex(std::string(CAUDAL_PROTOCOL_TESTDATA) + "/kafka_python_" + name + ".hex");
    ASSERT_GT(b.size(), batch::header_bytes) << name;
    EXPECT_EQ(batch::header_view(b).compression(), static_cast<int>(codec)) << name;
    EXPECT_TRUE(batch::validate(b, b.size(), batch::count_check::fresh).has_value()) << name;
    auto v = validate_records(b, mib);
    EXPECT_TRUE(v.has_value()) << name << ": " << v.error().message();
    auto got = read_all(b);
    ASSERT_TRUE(got.has_value()) << name;
    ASSERT_EQ(got->size(), 10u) << name;
    for (int i = 0; i < 10; ++i) {
      const auto& r = (*got)[static_cast<std::size_t>(i)];
      SCOPED_TRACE(name + " record " + std::to_string(i));
      EXPECT_EQ(r.offset_delta, i);
      EXPECT_EQ(r.timestamp_delta, i);
      const std::string key = "key-" + std::to_string(i);
      std::string value;
      for (int j = 0; j < 400; ++j)
        value += "value-" + std::to_string(i) + " ";
      if (i == 3) {
        EXPECT_FALSE(r.key.has_value());
      } else {
        EXPECT_EQ(r.key, std::vector<std::byte>(as_bytes(key).begin(), as_bytes(key).end()));
      }
      if (i == 5) {
        EXPECT_FALSE(r.value.has_value());
      } else {
        EXPECT_EQ(r.value, std::vector<std::byte>(as_bytes(value).begin(), as_bytes(value).end()));
      }
      EXPECT_EQ(r.header_count, 1);
      const std::string digit = std::to_string(i);
      // Zig-zag lengths: 1 -> 0x02. Key "h", value the digit.
      const std::vector<std::byte> headers{std::byte{0x02}, std::byte{'h'}, std::byte{0x02},
                                           static_cast<std::byte>(digit[0])};
      EXPECT_EQ(r.headers, headers);
    }
  }
}

// The corpus of batch_fuzz.cc, replayed under GCC: a failed check in the target aborts.
TEST(batch_fuzz, replays_the_committed_corpus) {
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(CAUDAL_BATCH_CORPUS)) {
    std::ifstream in(entry.path(), std::ios::binary);
    const std::vector<char> raw((std::istreambuf_iterator<char>(in)),
                                std::istreambuf_iterator<char>());
    SCOPED_TRACE(entry.path().filename().string());
    LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(raw.data()), raw.size());
    // Every prefix, too: truncation is the commonest damage.
    for (std::size_t size = 0; size < raw.size(); ++size) {
      LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(raw.data()), size);
    }
    ++files;
  }
  EXPECT_GE(files, 9);
}

}  // namespace
}  // namespace caudal::protocol
