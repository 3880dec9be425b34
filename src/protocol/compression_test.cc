// Goal: decompress() reads every stream Kafka clients write (gzip, raw and xerial snappy, LZ4
// frames, zstd frames with and without a content size), never returns more than output_max
// bytes nor allocates more to find out, and turns truncated or garbage input into an error;
// compress() output round-trips. Method: round trips over generated inputs, streams captured
// from Python's gzip, lz4, snappy and zstandard modules, and hand-built bombs and framings.

#include "protocol/compression.h"

#include "base/bytes.h"

#include <gtest/gtest.h>
#include <zstd.h>

#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

namespace caudal::protocol {
namespace {

constexpr std::array<compression_codec, 4> codecs{compression_codec::gzip,
                                                  compression_codec::snappy, compression_codec::lz4,
                                                  compression_codec::zstd};
constexpr std::size_t mib = 1 << 20;

std::vector<std::byte> to_vector(std::initializer_list<std::uint8_t> bytes) {
  std::vector<std::byte> v;
  for (auto b : bytes)
    v.push_back(static_cast<std::byte>(b));
  return v;
}

std::vector<std::byte> to_vector(std::string_view s) {
  auto b = as_bytes(s);
  return {b.begin(), b.end()};
}

// Half text-like (compressible), half xorshift noise (not), so every codec takes both paths.
std::vector<std::byte> sample(std::size_t size) {
  std::vector<std::byte> v(size);
  std::uint64_t x = 0x9E3779B97F4A7C15u;
  for (std::size_t i = 0; i < size; ++i) {
    if ((i / 4096) % 2 == 0) {
      v[i] = static_cast<std::byte>('a' + (i % 26));
    } else {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      v[i] = static_cast<std::byte>(x);
    }
  }
  return v;
}

std::vector<std::byte> compressed(compression_codec codec, std::span<const std::byte> input) {
  auto c = compress(codec, input);
  EXPECT_TRUE(c.has_value()) << compression_codec_name(codec);
  return c ? std::move(*c) : std::vector<std::byte>{};
}

std::vector<std::byte> repeated(std::span<const std::byte> part, std::size_t times) {
  std::vector<std::byte> v;
  for (std::size_t i = 0; i < times; ++i)
    v.insert(v.end(), part.begin(), part.end());
  return v;
}

void append_be32(std::vector<std::byte>& v, std::int32_t value) {
  std::array<std::byte, 4> b{};
  store_be<std::int32_t>(b.data(), value);
  v.insert(v.end(), b.begin(), b.end());
}

// A snappy-java stream: magic, version 1, compatible version 1, then length-prefixed raw
// snappy blocks of `block_bytes` of input each (snappy-java uses 32 KiB).
std::vector<std::byte> xerial(std::span<const std::byte> input, std::size_t block_bytes) {
  auto v = to_vector({0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0});
  append_be32(v, 1);
  append_be32(v, 1);
  for (std::size_t at = 0; at < input.size(); at += block_bytes) {
    auto block = compressed(compression_codec::snappy,
                            input.subspan(at, std::min(block_bytes, input.size() - at)));
    append_be32(v, static_cast<std::int32_t>(block.size()));
    v.insert(v.end(), block.begin(), block.end());
  }
  return v;
}

const std::vector<std::byte>& python_text() {
  static const auto text = [] {
    std::vector<std::byte> v;
    for (int i = 0; i < 8; ++i) {
      auto s = as_bytes("caudal compression ");
      v.insert(v.end(), s.begin(), s.end());
    }
    return v;
  }();
  return text;
}

TEST(compression, round_trips_every_codec_on_empty_small_and_large_inputs) {
  for (auto codec : codecs) {
    for (std::size_t size : {std::size_t{0}, std::size_t{1}, std::size_t{100}, mib}) {
      const auto input = sample(size);
      const auto c = compressed(codec, input);
      auto back = decompress(codec, c, mib);
      ASSERT_TRUE(back.has_value())
          << compression_codec_name(codec) << " " << size << ": " << back.error().message();
      EXPECT_EQ(*back, input) << compression_codec_name(codec) << " " << size;
    }
  }
}

TEST(compression, output_max_is_inclusive) {
  const auto input = sample(100000);
  for (auto codec : codecs) {
    const auto c = compressed(codec, input);
    EXPECT_TRUE(decompress(codec, c, input.size()).has_value()) << compression_codec_name(codec);
    auto r = decompress(codec, c, input.size() - 1);
    ASSERT_FALSE(r.has_value()) << compression_codec_name(codec);
    EXPECT_EQ(r.error(), compression_errc::too_large) << compression_codec_name(codec);
  }
}

TEST(compression, none_and_invalid_codecs_are_refused) {
  const auto input = sample(10);
  EXPECT_EQ(decompress(compression_codec::none, input, mib).error(),
            compression_errc::unknown_codec);
  EXPECT_EQ(compress(compression_codec::none, input).error(), compression_errc::unknown_codec);
  EXPECT_EQ(to_compression_codec(0), compression_codec::none);
  EXPECT_EQ(to_compression_codec(4), compression_codec::zstd);
  EXPECT_FALSE(to_compression_codec(5).has_value());
  EXPECT_FALSE(to_compression_codec(-1).has_value());
}

TEST(compression, decompress_append_keeps_the_prefix_and_restores_it_on_error) {
  const auto input = sample(5000);
  const auto c = compressed(compression_codec::zstd, input);
  auto out = to_vector("head");
  ASSERT_TRUE(decompress_append(compression_codec::zstd, c, mib, out).has_value());
  ASSERT_EQ(out.size(), 4 + input.size());
  EXPECT_EQ(std::vector<std::byte>(out.begin() + 4, out.end()), input);

  auto failed = to_vector("head");
  auto r = decompress_append(compression_codec::zstd, c, 100, failed);
  EXPECT_EQ(r.error(), compression_errc::too_large);
  EXPECT_EQ(failed, to_vector("head"));
}

TEST(compression, reads_xerial_framed_snappy) {
  const auto input = sample(100000);
  for (std::size_t block_bytes : {std::size_t{32 * 1024}, std::size_t{1000}}) {
    auto back = decompress(compression_codec::snappy, xerial(input, block_bytes), mib);
    ASSERT_TRUE(back.has_value()) << back.error().message();
    EXPECT_EQ(*back, input);
  }
  // A stream with no blocks is an empty payload.
  auto empty = decompress(compression_codec::snappy, xerial({}, 1000), mib);
  ASSERT_TRUE(empty.has_value());
  EXPECT_TRUE(empty->empty());
}

TEST(compression, rejects_broken_xerial_framing) {
  const auto stream = xerial(sample(10000), 4096);
  // A header cut short, a block length cut short, a block cut short.
  for (std::size_t size : {std::size_t{12}, std::size_t{18}, stream.size() - 1}) {
    auto r = decompress(compression_codec::snappy, std::span(stream).first(size), mib);
    ASSERT_FALSE(r.has_value()) << size;
    EXPECT_EQ(r.error(), compression_errc::corrupt) << size;
  }
  auto negative = stream;
  store_be<std::int32_t>(negative.data() + 16, -1);
  EXPECT_EQ(decompress(compression_codec::snappy, negative, mib).error(),
            compression_errc::corrupt);
  auto too_long = stream;
  store_be<std::int32_t>(too_long.data() + 16, 1 << 30);
  EXPECT_EQ(decompress(compression_codec::snappy, too_long, mib).error(),
            compression_errc::corrupt);
}

TEST(compression, reads_streams_written_by_python) {
  // gzip.compress(text, mtime=0)
  const auto gzip = to_vector({0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x03, 0x4b,
                               0x4e, 0x2c, 0x4d, 0x49, 0xcc, 0x51, 0x48, 0xce, 0xcf, 0x2d, 0x28,
                               0x4a, 0x2d, 0x2e, 0xce, 0xcc, 0xcf, 0x53, 0x48, 0x1e, 0x0c, 0x42,
                               0x00, 0x02, 0x17, 0x58, 0x9b, 0x98, 0x00, 0x00, 0x00});
  // lz4.frame.compress(text, block_linked=True, content_checksum=True): dependent blocks, a
  // content size and a content checksum.
  const auto lz4 = to_vector(
      {0x04, 0x22, 0x4d, 0x18, 0x6c, 0x40, 0x98, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xf7,
       0x1e, 0x00, 0x00, 0x00, 0xff, 0x04, 0x63, 0x61, 0x75, 0x64, 0x61, 0x6c, 0x20, 0x63, 0x6f,
       0x6d, 0x70, 0x72, 0x65, 0x73, 0x73, 0x69, 0x6f, 0x6e, 0x20, 0x13, 0x00, 0x6d, 0x50, 0x73,
       0x69, 0x6f, 0x6e, 0x20, 0x00, 0x00, 0x00, 0x00, 0x22, 0xc3, 0x19, 0xc7});
  // zstandard.ZstdCompressor(write_content_size=False, write_checksum=True).compress(text)
  const auto zstd =
      to_vector({0x28, 0xb5, 0x2f, 0xfd, 0x04, 0x00, 0xd5, 0x00, 0x00, 0x98, 0x63, 0x61, 0x75,
                 0x64, 0x61, 0x6c, 0x20, 0x63, 0x6f, 0x6d, 0x70, 0x72, 0x65, 0x73, 0x73, 0x69,
                 0x6f, 0x6e, 0x20, 0x01, 0x00, 0x05, 0x46, 0xcd, 0x30, 0xf1, 0x00, 0x23, 0x5e});
  // snappy.compress(text): one raw block.
  const auto snappy = to_vector({0x98, 0x01, 0x48, 0x63, 0x61, 0x75, 0x64, 0x61, 0x6c, 0x20,
                                 0x63, 0x6f, 0x6d, 0x70, 0x72, 0x65, 0x73, 0x73, 0x69, 0x6f,
                                 0x6e, 0x20, 0xfe, 0x13, 0x00, 0xfe, 0x13, 0x00, 0x05, 0x13});
  const std::array<std::pair<compression_codec, const std::vector<std::byte>*>, 4> cases{{
      {compression_codec::gzip, &gzip},
      {compression_codec::lz4, &lz4},
      {compression_codec::zstd, &zstd},
      {compression_codec::snappy, &snappy},
  }};
  for (const auto& [codec, stream] : cases) {
    auto back = decompress(codec, *stream, mib);
    ASSERT_TRUE(back.has_value()) << compression_codec_name(codec) << ": "
                                  << back.error().message();
    EXPECT_EQ(*back, python_text()) << compression_codec_name(codec);
  }
}

TEST(compression, accepts_concatenated_gzip_members_lz4_frames_and_zstd_frames) {
  const auto input = sample(3000);
  for (auto codec : {compression_codec::gzip, compression_codec::lz4, compression_codec::zstd}) {
    auto back = decompress(codec, repeated(compressed(codec, input), 3), mib);
    ASSERT_TRUE(back.has_value()) << compression_codec_name(codec);
    EXPECT_EQ(*back, repeated(input, 3)) << compression_codec_name(codec);
  }
}

// Each bomb expands to 8 MiB or more; the limit is 1 MiB. decompress_append leaves its vector's
// capacity behind, which shows how much it allocated on the way to the error.
void expect_defused(compression_codec codec, std::span<const std::byte> bomb, const char* what) {
  std::vector<std::byte> out;
  auto r = decompress_append(codec, bomb, mib, out);
  ASSERT_FALSE(r.has_value()) << what;
  EXPECT_EQ(r.error(), compression_errc::too_large) << what;
  EXPECT_TRUE(out.empty()) << what;
  EXPECT_LE(out.capacity(), mib) << what;
}

TEST(compression, decompression_bombs_fail_without_allocating_their_output) {
  const std::vector<std::byte> zeros(mib);
  // Raw snappy is a single block, so it cannot be concatenated; xerial repeats blocks.
  for (auto codec : {compression_codec::gzip, compression_codec::lz4, compression_codec::zstd}) {
    expect_defused(codec, repeated(compressed(codec, zeros), 100), compression_codec_name(codec));
  }
  expect_defused(compression_codec::snappy, xerial(repeated(zeros, 8), 32 * 1024), "xerial");
  expect_defused(compression_codec::snappy,
                 compressed(compression_codec::snappy, repeated(zeros, 8)), "raw snappy");

  // One zstd frame of 100 MiB of zeros that does not record its size, as a streaming
  // compressor writes it.
  ZSTD_CCtx* cctx = ZSTD_createCCtx();
  ASSERT_NE(cctx, nullptr);
  std::vector<std::byte> frame(ZSTD_compressBound(mib));
  ZSTD_outBuffer target{frame.data(), frame.size(), 0};
  for (int i = 0; i < 100; ++i) {
    ZSTD_inBuffer source{zeros.data(), zeros.size(), 0};
    const auto mode = i == 99 ? ZSTD_e_end : ZSTD_e_continue;
    std::size_t left = 0;
    do {
      left = ZSTD_compressStream2(cctx, &target, &source, mode);
      ASSERT_FALSE(ZSTD_isError(left));
    } while (source.pos < source.size || (mode == ZSTD_e_end && left != 0));
  }
  ZSTD_freeCCtx(cctx);
  frame.resize(target.pos);
  EXPECT_EQ(ZSTD_getFrameContentSize(frame.data(), frame.size()), ZSTD_CONTENTSIZE_UNKNOWN);
  expect_defused(compression_codec::zstd, frame, "one 100 MiB zstd frame");

  // A raw snappy block that declares 4 GiB - 1 of output: refused before any allocation.
  auto liar = to_vector({0xff, 0xff, 0xff, 0xff, 0x0f, 0x00});
  expect_defused(compression_codec::snappy, liar, "raw snappy declaring 4 GiB");
}

TEST(compression, truncated_input_fails_cleanly) {
  const auto input = sample(20000);
  for (auto codec : codecs) {
    const auto c = compressed(codec, input);
    for (std::size_t size = 0; size < c.size(); size += 1 + size / 4) {
      auto r = decompress(codec, std::span(c).first(size), mib);
      ASSERT_FALSE(r.has_value()) << compression_codec_name(codec) << " cut at " << size;
      EXPECT_EQ(r.error(), compression_errc::corrupt)
          << compression_codec_name(codec) << " cut at " << size;
    }
    auto one_short = decompress(codec, std::span(c).first(c.size() - 1), mib);
    EXPECT_FALSE(one_short.has_value()) << compression_codec_name(codec);
  }
}

TEST(compression, garbage_input_fails_cleanly) {
  for (auto codec : codecs) {
    for (std::size_t size : {std::size_t{1}, std::size_t{7}, std::size_t{64}, std::size_t{4096}}) {
      // The noise half of sample(): skip the first 4096 bytes of letters.
      const auto noise = sample(4096 + size);
      const std::vector<std::byte> garbage(noise.begin() + 4096, noise.end());
      auto r = decompress(codec, garbage, mib);
      EXPECT_FALSE(r.has_value()) << compression_codec_name(codec) << " " << size;
    }
    // Garbage after a valid stream is not ignored.
    auto c = compressed(codec, sample(100));
    c.push_back(std::byte{0x42});
    EXPECT_FALSE(decompress(codec, c, mib).has_value()) << compression_codec_name(codec);
  }
}

TEST(compression, error_messages_name_the_problem) {
  EXPECT_EQ(std::error_code(compression_errc::too_large).message(),
            "decompressed data larger than allowed");
  EXPECT_STREQ(std::error_code(compression_errc::corrupt).category().name(), "compression");
}

}  // namespace
}  // namespace caudal::protocol
