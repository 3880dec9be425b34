#pragma once

// Variable-length integers of the Kafka formats (../shared/kafka-protocol/README.md 3.3):
// unsigned varints (7 bits per byte, least significant group first) and zig-zag signed
// varints/varlongs used inside record batches. Decoders are bounds-checked: truncated or
// overlong input is reported, never read past.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace caudal::varint {

/// The most bytes an encoded 32-bit / 64-bit varint takes.
inline constexpr std::size_t bytes_max_32 = 5;
inline constexpr std::size_t bytes_max_64 = 10;

/// Zig-zag maps signed to unsigned so small magnitudes stay small: 0,-1,1,-2 -> 0,1,2,3.
[[nodiscard]] constexpr std::uint32_t zigzag_encode(std::int32_t n) noexcept {
  return (static_cast<std::uint32_t>(n) << 1) ^ static_cast<std::uint32_t>(n >> 31);
}
[[nodiscard]] constexpr std::uint64_t zigzag_encode(std::int64_t n) noexcept {
  return (static_cast<std::uint64_t>(n) << 1) ^ static_cast<std::uint64_t>(n >> 63);
}
[[nodiscard]] constexpr std::int32_t zigzag_decode(std::uint32_t n) noexcept {
  return static_cast<std::int32_t>((n >> 1) ^ (~(n & 1u) + 1u));
}
[[nodiscard]] constexpr std::int64_t zigzag_decode(std::uint64_t n) noexcept {
  return static_cast<std::int64_t>((n >> 1) ^ (~(n & 1u) + 1u));
}

/// A decoded value and how many input bytes it took.
template <class T>
struct decoded {
  T value;
  std::size_t size;
};

/// Decodes an unsigned varint of at most `max_bytes` bytes (5 for 32-bit, 10 for 64-bit).
/// Returns nullopt when the input ends first, the encoding is longer than `max_bytes`, or
/// the value does not fit in 64 bits.
[[nodiscard]] inline std::optional<decoded<std::uint64_t>> decode_unsigned(
    std::span<const std::byte> in, std::size_t max_bytes = bytes_max_64) noexcept {
  std::uint64_t value = 0;
  for (std::size_t i = 0; i < in.size() && i < max_bytes; ++i) {
    auto b = static_cast<std::uint8_t>(in[i]);
    if (i == 9 && b > 1) return std::nullopt;  // bits beyond 64
    value |= static_cast<std::uint64_t>(b & 0x7Fu) << (7 * i);
    if ((b & 0x80u) == 0) return decoded<std::uint64_t>{value, i + 1};
  }
  return std::nullopt;
}

/// Decodes a 32-bit unsigned varint; nullopt if truncated, overlong or above 2^32-1.
[[nodiscard]] inline std::optional<decoded<std::uint32_t>> decode_u32(
    std::span<const std::byte> in) noexcept {
  auto d = decode_unsigned(in, bytes_max_32);
  if (!d || d->value > 0xFFFFFFFFu) return std::nullopt;
  return decoded<std::uint32_t>{static_cast<std::uint32_t>(d->value), d->size};
}

/// Decodes a zig-zag signed 32-bit varint.
[[nodiscard]] inline std::optional<decoded<std::int32_t>> decode_i32(
    std::span<const std::byte> in) noexcept {
  auto d = decode_u32(in);
  if (!d) return std::nullopt;
  return decoded<std::int32_t>{zigzag_decode(d->value), d->size};
}

/// Decodes a zig-zag signed 64-bit varlong.
[[nodiscard]] inline std::optional<decoded<std::int64_t>> decode_i64(
    std::span<const std::byte> in) noexcept {
  auto d = decode_unsigned(in, bytes_max_64);
  if (!d) return std::nullopt;
  return decoded<std::int64_t>{zigzag_decode(d->value), d->size};
}

/// Encodes `value` as an unsigned varint into `out`, which must hold bytes_max_64 bytes.
/// Returns the number of bytes written.
inline std::size_t encode_unsigned(std::uint64_t value, std::byte* out) noexcept {
  std::size_t n = 0;
  while (value >= 0x80u) {
    out[n++] = static_cast<std::byte>((value & 0x7Fu) | 0x80u);
    value >>= 7;
  }
  out[n++] = static_cast<std::byte>(value);
  return n;
}

/// Encodes a zig-zag signed varint / varlong; `out` must hold bytes_max_64 bytes.
inline std::size_t encode_i32(std::int32_t value, std::byte* out) noexcept {
  return encode_unsigned(zigzag_encode(value), out);
}
inline std::size_t encode_i64(std::int64_t value, std::byte* out) noexcept {
  return encode_unsigned(zigzag_encode(value), out);
}

/// The encoded size of an unsigned varint.
[[nodiscard]] constexpr std::size_t size_unsigned(std::uint64_t value) noexcept {
  std::size_t n = 1;
  while (value >= 0x80u) {
    value >>= 7;
    ++n;
  }
  return n;
}

}  // namespace caudal::varint
