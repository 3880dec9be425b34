#pragma once

// Compression codecs of record batch v2 (../shared/kafka-protocol/README.md 4.5): gzip, snappy
// (raw blocks as librdkafka and sarama write them, and the xerial/snappy-java framing of the
// Java client and kafka-python), lz4 (the standard LZ4 frame) and zstd (a standard frame).
//
// Decompression never trusts its input: corrupt or truncated data is an error value, and the
// output never grows beyond the caller's `output_max` — a decompression bomb (a few bytes that
// expand to gigabytes) fails with compression_errc::too_large after allocating at most
// output_max bytes. Everything here is synchronous and thread-compatible (no shared state).

#include "base/result.h"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <system_error>
#include <vector>

namespace caudal::protocol {

/// The codec in bits 0-2 of a batch's attributes. 5-7 are invalid and have no enumerator.
enum class compression_codec : std::int8_t {
  none = 0,
  gzip = 1,
  snappy = 2,
  lz4 = 3,
  zstd = 4,
};

/// The codec named by a batch's attribute bits 0-2 (`attributes & 7`), nullopt for 5-7.
[[nodiscard]] std::optional<compression_codec> to_compression_codec(int bits) noexcept;

/// The codec's lower-case Kafka name ("none", "gzip", "snappy", "lz4", "zstd").
[[nodiscard]] const char* compression_codec_name(compression_codec codec) noexcept;

/// Why compressing or decompressing failed.
enum class compression_errc {
  unknown_codec = 1,  // compression_codec::none or a value outside 1-4
  corrupt,            // not a valid (or a truncated) stream of the codec
  too_large,          // output above output_max, or input too large for the codec's format
  library_failure,    // the library failed for a reason not in the input (out of memory)
};
[[nodiscard]] const std::error_category& compression_error_category() noexcept;
[[nodiscard]] inline std::error_code make_error_code(compression_errc e) noexcept {
  return {static_cast<int>(e), compression_error_category()};
}

/// Decompresses `compressed` (a whole gzip stream, raw or xerial-framed snappy, LZ4 frame or
/// zstd frame; concatenated gzip members, LZ4 frames and zstd frames are accepted) and appends
/// the result to `out`. Fails with too_large as soon as the output would pass `output_max`
/// bytes (counted from what this call appends); allocates at most output_max more bytes. On
/// error `out` keeps its old size.
[[nodiscard]] result<void> decompress_append(compression_codec codec,
                                             std::span<const std::byte> compressed,
                                             std::size_t output_max, std::vector<std::byte>& out);

/// Like decompress_append into a fresh vector.
[[nodiscard]] result<std::vector<std::byte>> decompress(compression_codec codec,
                                                        std::span<const std::byte> compressed,
                                                        std::size_t output_max);

/// Compresses `input` in the codec's format as a Kafka producer would: a gzip stream, one raw
/// snappy block, an LZ4 frame with independent 64 KiB blocks (what the Java client reads), or
/// a zstd frame (level 3) recording its content size. Fails with too_large for inputs of
/// 2 GiB or more, which no batch holds.
[[nodiscard]] result<std::vector<std::byte>> compress(compression_codec codec,
                                                      std::span<const std::byte> input);

}  // namespace caudal::protocol

template <>
struct std::is_error_code_enum<caudal::protocol::compression_errc> : std::true_type {};
