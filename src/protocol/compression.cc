#include "protocol/compression.h"

#include "base/assert.h"
#include "base/bytes.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <limits>
#include <string>

// zlib's next_in is const only with ZLIB_CONST.
#define ZLIB_CONST
#include <lz4frame.h>
#include <snappy.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

namespace caudal::protocol {
namespace {

/// No batch is this large (batchLength is an int32), so larger inputs are refused up front;
/// it also keeps every length within zlib's 32-bit counters.
constexpr std::size_t input_bytes_max = std::numeric_limits<std::int32_t>::max();
/// The first step of output growth, and the smallest after that.
constexpr std::size_t growth_bytes_min = 64 * 1024;
/// The most output space handed to a library in one call (zlib counts in 32 bits).
constexpr std::size_t space_bytes_max = std::size_t{1} << 30;

/// The xerial/snappy-java stream header: magic, int32 version, int32 compatible version.
constexpr std::array<std::uint8_t, 8> xerial_magic{0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0};
constexpr std::size_t xerial_header_bytes = xerial_magic.size() + 4 + 4;

/// zstd window sizes accepted: at least 2^23 (8 MiB, enough for every level up to 19 when a
/// streaming compressor does not record the content size), at most zstd's default limit.
constexpr int zstd_window_log_min = 23;
constexpr int zstd_window_log_max = 27;  // ZSTD_WINDOWLOG_LIMIT_DEFAULT (experimental API)

class category final : public std::error_category {
 public:
  [[nodiscard]] const char* name() const noexcept override { return "compression"; }
  [[nodiscard]] std::string message(int value) const override {
    switch (static_cast<compression_errc>(value)) {
      case compression_errc::unknown_codec:
        return "unknown compression codec";
      case compression_errc::corrupt:
        return "compressed data corrupt or truncated";
      case compression_errc::too_large:
        return "decompressed data larger than allowed";
      case compression_errc::library_failure:
        return "compression library failure";
    }
    return "unknown compression error";
  }
};

/// Hands output space to a decoder, appending to a vector that never grows past
/// `start + output_max` bytes (capacity included). At the limit it hands out a one-byte probe
/// instead: a decoder that writes into the probe has more output than allowed.
/// Invariant: _written <= _max and _out.size() >= _start + _written.
class bounded_output {
 public:
  bounded_output(std::vector<std::byte>& out, std::size_t output_max)
      : _out(out), _start(out.size()), _max(output_max) {}

  bounded_output(const bounded_output&) = delete;
  bounded_output& operator=(const bounded_output&) = delete;

  /// Non-empty space for the decoder; report what it wrote with commit().
  [[nodiscard]] std::span<std::byte> space() {
    if (_written == _max) {
      _probing = true;
      return {&_probe, 1};
    }
    _probing = false;
    if (_out.size() == _start + _written) {
      grow(std::min(_max - _written, std::max(_written, growth_bytes_min)));
    }
    auto free = std::span<std::byte>(_out).subspan(_start + _written);
    return free.first(std::min(free.size(), space_bytes_max));
  }

  /// Records that the decoder wrote `n` bytes at the start of the last space().
  [[nodiscard]] result<void> commit(std::size_t n) {
    if (_probing) {
      CAUDAL_ASSERT(n <= 1, "{} bytes written into the one-byte probe", n);
      if (n > 0) return compression_errc::too_large;
      return ok();
    }
    CAUDAL_ASSERT(_start + _written + n <= _out.size(), "decoder wrote past its space");
    _written += n;
    return ok();
  }

  /// Exactly `n` bytes for a decoder that knows its output size, already committed.
  [[nodiscard]] result<std::span<std::byte>> take(std::size_t n) {
    if (n > _max - _written) return compression_errc::too_large;
    if (_out.size() < _start + _written + n) grow(_start + _written + n - _out.size());
    auto s = std::span<std::byte>(_out).subspan(_start + _written, n);
    _written += n;
    return s;
  }

  /// Trims the vector to what was written (on success) or to its old size (on error).
  void finish(bool success) { _out.resize(_start + (success ? _written : 0)); }

 private:
  // Makes the vector `n` bytes longer; capacity doubles but never passes start + max.
  void grow(std::size_t n) {
    const std::size_t size = _out.size() + n;
    CAUDAL_ASSERT(size - _start <= _max, "output grows past its limit: {} > {} + {}", size, _start,
                  _max);
    if (size > _out.capacity()) {
      const std::size_t limit = _max > SIZE_MAX - _start ? SIZE_MAX : _start + _max;
      _out.reserve(std::max(size, std::min(limit, 2 * _out.capacity())));
    }
    _out.resize(size);
  }

  std::vector<std::byte>& _out;
  const std::size_t _start;
  const std::size_t _max;
  std::size_t _written = 0;
  std::byte _probe{};
  bool _probing = false;
};

result<void> gzip_decompress(std::span<const std::byte> in, bounded_output& out) {
  z_stream s{};
  if (inflateInit2(&s, 15 + 16) != Z_OK) return compression_errc::library_failure;  // gzip only
  struct guard {
    z_stream* s;
    ~guard() { inflateEnd(s); }
  } g{&s};
  s.next_in = reinterpret_cast<const Bytef*>(in.data());
  s.avail_in = static_cast<uInt>(in.size());
  for (;;) {
    auto space = out.space();
    s.next_out = reinterpret_cast<Bytef*>(space.data());
    s.avail_out = static_cast<uInt>(space.size());
    const uInt in_before = s.avail_in;
    const int rc = inflate(&s, Z_NO_FLUSH);
    const std::size_t produced = space.size() - s.avail_out;
    CAUDAL_TRY(out.commit(produced));
    if (rc == Z_STREAM_END) {
      if (s.avail_in == 0) return ok();
      // Another gzip member follows, as GZIPInputStream and Go's gzip reader accept.
      if (inflateReset(&s) != Z_OK) return compression_errc::library_failure;
      continue;
    }
    if (rc == Z_MEM_ERROR) return compression_errc::library_failure;
    if (rc != Z_OK && rc != Z_BUF_ERROR) return compression_errc::corrupt;
    // The input ended inside the stream, or zlib made no progress at all.
    if (s.avail_in == 0 && s.avail_out != 0) return compression_errc::corrupt;
    if (produced == 0 && s.avail_in == in_before) return compression_errc::corrupt;
  }
}

result<void> snappy_block_decompress(std::span<const std::byte> block, bounded_output& out) {
  const auto* p = reinterpret_cast<const char*>(block.data());
  std::size_t n = 0;
  if (!snappy::GetUncompressedLength(p, block.size(), &n)) return compression_errc::corrupt;
  auto target = out.take(n);
  if (!target) return target.error();
  // RawUncompress checks the block against its declared length and never writes past it.
  if (!snappy::RawUncompress(p, block.size(), reinterpret_cast<char*>(target->data()))) {
    return compression_errc::corrupt;
  }
  return ok();
}

bool is_xerial(std::span<const std::byte> in) {
  return in.size() >= xerial_magic.size() &&
         std::memcmp(in.data(), xerial_magic.data(), xerial_magic.size()) == 0;
}

// Blocks of the snappy-java stream, each a big-endian int32 length and a raw snappy block.
result<void> xerial_decompress(std::span<const std::byte> in, bounded_output& out) {
  if (in.size() < xerial_header_bytes) return compression_errc::corrupt;
  auto rest = in.subspan(xerial_header_bytes);
  while (!rest.empty()) {
    if (rest.size() < 4) return compression_errc::corrupt;
    const auto length = load_be<std::int32_t>(rest.data());
    rest = rest.subspan(4);
    if (length < 0 || static_cast<std::size_t>(length) > rest.size()) {
      return compression_errc::corrupt;
    }
    const auto n = static_cast<std::size_t>(length);
    CAUDAL_TRY(snappy_block_decompress(rest.first(n), out));
    rest = rest.subspan(n);
  }
  return ok();
}

result<void> lz4_decompress(std::span<const std::byte> in, bounded_output& out) {
  LZ4F_dctx* ctx = nullptr;
  if (LZ4F_isError(LZ4F_createDecompressionContext(&ctx, LZ4F_VERSION))) {
    return compression_errc::library_failure;
  }
  struct guard {
    LZ4F_dctx* ctx;
    ~guard() { LZ4F_freeDecompressionContext(ctx); }
  } g{ctx};
  auto rest = in;
  for (;;) {
    auto space = out.space();
    std::size_t produced = space.size();
    std::size_t consumed = rest.size();
    const std::size_t hint =
        LZ4F_decompress(ctx, space.data(), &produced, rest.data(), &consumed, nullptr);
    if (LZ4F_isError(hint)) return compression_errc::corrupt;
    CAUDAL_TRY(out.commit(produced));
    rest = rest.subspan(consumed);
    if (rest.empty()) {
      if (hint == 0) return ok();  // the last frame is complete and flushed
      // LZ4F wants more input, and not because the output space was full: truncated.
      if (produced < space.size()) return compression_errc::corrupt;
    } else if (consumed == 0 && produced == 0) {
      return compression_errc::corrupt;
    }
    // hint == 0 with input left: another frame follows and the context starts over.
  }
}

result<void> zstd_decompress(std::span<const std::byte> in, std::size_t output_max,
                             bounded_output& out) {
  ZSTD_DCtx* ctx = ZSTD_createDCtx();
  if (ctx == nullptr) return compression_errc::library_failure;
  struct guard {
    ZSTD_DCtx* ctx;
    ~guard() { ZSTD_freeDCtx(ctx); }
  } g{ctx};
  // The window is memory zstd allocates from the frame header's say-so; keep it near the
  // output the caller allows.
  const int window_log = std::clamp(static_cast<int>(std::bit_width(output_max)),
                                    zstd_window_log_min, zstd_window_log_max);
  if (ZSTD_isError(ZSTD_DCtx_setParameter(ctx, ZSTD_d_windowLogMax, window_log))) {
    return compression_errc::library_failure;
  }
  ZSTD_inBuffer source{in.data(), in.size(), 0};
  for (;;) {
    auto space = out.space();
    ZSTD_outBuffer target{space.data(), space.size(), 0};
    const std::size_t consumed_before = source.pos;
    const std::size_t hint = ZSTD_decompressStream(ctx, &target, &source);
    if (ZSTD_isError(hint)) {
      switch (ZSTD_getErrorCode(hint)) {
        case ZSTD_error_memory_allocation:
          return compression_errc::library_failure;
        case ZSTD_error_frameParameter_windowTooLarge:
          return compression_errc::too_large;
        default:
          return compression_errc::corrupt;
      }
    }
    CAUDAL_TRY(out.commit(target.pos));
    if (source.pos == source.size) {
      if (hint == 0) return ok();  // the last frame is complete and flushed
      if (target.pos < target.size) return compression_errc::corrupt;  // truncated
    } else if (target.pos == 0 && source.pos == consumed_before) {
      return compression_errc::corrupt;
    }
  }
}

result<void> decompress_into(compression_codec codec, std::span<const std::byte> in,
                             std::size_t output_max, bounded_output& out) {
  switch (codec) {
    case compression_codec::gzip:
      return gzip_decompress(in, out);
    case compression_codec::snappy:
      return is_xerial(in) ? xerial_decompress(in, out) : snappy_block_decompress(in, out);
    case compression_codec::lz4:
      return lz4_decompress(in, out);
    case compression_codec::zstd:
      return zstd_decompress(in, output_max, out);
    case compression_codec::none:
      break;
  }
  return compression_errc::unknown_codec;
}

result<std::vector<std::byte>> gzip_compress(std::span<const std::byte> in) {
  z_stream s{};
  if (deflateInit2(&s, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    return compression_errc::library_failure;
  }
  struct guard {
    z_stream* s;
    ~guard() { deflateEnd(s); }
  } g{&s};
  std::vector<std::byte> out(deflateBound(&s, static_cast<uLong>(in.size())));
  s.next_in = reinterpret_cast<const Bytef*>(in.data());
  s.avail_in = static_cast<uInt>(in.size());
  s.next_out = reinterpret_cast<Bytef*>(out.data());
  s.avail_out = static_cast<uInt>(out.size());
  if (deflate(&s, Z_FINISH) != Z_STREAM_END) return compression_errc::library_failure;
  out.resize(s.total_out);
  return out;
}

result<std::vector<std::byte>> snappy_compress(std::span<const std::byte> in) {
  std::vector<std::byte> out(snappy::MaxCompressedLength(in.size()));
  std::size_t n = 0;
  snappy::RawCompress(reinterpret_cast<const char*>(in.data()), in.size(),
                      reinterpret_cast<char*>(out.data()), &n);
  out.resize(n);
  return out;
}

result<std::vector<std::byte>> lz4_compress(std::span<const std::byte> in) {
  LZ4F_preferences_t prefs{};
  // Kafka's Java reader (KafkaLZ4BlockInputStream) refuses dependent blocks.
  prefs.frameInfo.blockSizeID = LZ4F_max64KB;
  prefs.frameInfo.blockMode = LZ4F_blockIndependent;
  std::vector<std::byte> out(LZ4F_compressFrameBound(in.size(), &prefs));
  const std::size_t n = LZ4F_compressFrame(out.data(), out.size(), in.data(), in.size(), &prefs);
  if (LZ4F_isError(n)) return compression_errc::library_failure;
  out.resize(n);
  return out;
}

result<std::vector<std::byte>> zstd_compress(std::span<const std::byte> in) {
  constexpr int level = 3;  // zstd's default, and Kafka's
  std::vector<std::byte> out(ZSTD_compressBound(in.size()));
  const std::size_t n = ZSTD_compress(out.data(), out.size(), in.data(), in.size(), level);
  if (ZSTD_isError(n)) return compression_errc::library_failure;
  out.resize(n);
  return out;
}

}  // namespace

std::optional<compression_codec> to_compression_codec(int bits) noexcept {
  if (bits < 0 || bits > static_cast<int>(compression_codec::zstd)) return std::nullopt;
  return static_cast<compression_codec>(bits);
}

const char* compression_codec_name(compression_codec codec) noexcept {
  switch (codec) {
    case compression_codec::none:
      return "none";
    case compression_codec::gzip:
      return "gzip";
    case compression_codec::snappy:
      return "snappy";
    case compression_codec::lz4:
      return "lz4";
    case compression_codec::zstd:
      return "zstd";
  }
  return "invalid";
}

const std::error_category& compression_error_category() noexcept {
  static const category instance;
  return instance;
}

result<void> decompress_append(compression_codec codec, std::span<const std::byte> compressed,
                               std::size_t output_max, std::vector<std::byte>& out) {
  if (compressed.size() > input_bytes_max) return compression_errc::too_large;
  bounded_output target(out, output_max);
  auto r = decompress_into(codec, compressed, output_max, target);
  target.finish(r.has_value());
  return r;
}

result<std::vector<std::byte>> decompress(compression_codec codec,
                                          std::span<const std::byte> compressed,
                                          std::size_t output_max) {
  std::vector<std::byte> out;
  CAUDAL_TRY(decompress_append(codec, compressed, output_max, out));
  return out;
}

result<std::vector<std::byte>> compress(compression_codec codec, std::span<const std::byte> input) {
  if (input.size() > input_bytes_max) return compression_errc::too_large;
  switch (codec) {
    case compression_codec::gzip:
      return gzip_compress(input);
    case compression_codec::snappy:
      return snappy_compress(input);
    case compression_codec::lz4:
      return lz4_compress(input);
    case compression_codec::zstd:
      return zstd_compress(input);
    case compression_codec::none:
      break;
  }
  return compression_errc::unknown_codec;
}

}  // namespace caudal::protocol
