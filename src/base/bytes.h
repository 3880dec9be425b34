#pragma once

// Big-endian loads and stores on raw bytes, the byte order of every Kafka wire format.
// Callers check bounds; these only move bytes.

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>
#include <type_traits>

namespace caudal {

/// Byte-order reversal (std::byteswap is C++23).
template <class U>
[[nodiscard]] constexpr U byteswap(U u) noexcept {
  if constexpr (sizeof(U) == 2) {
    return static_cast<U>(__builtin_bswap16(u));
  } else if constexpr (sizeof(U) == 4) {
    return static_cast<U>(__builtin_bswap32(u));
  } else {
    static_assert(sizeof(U) == 8);
    return static_cast<U>(__builtin_bswap64(u));
  }
}

/// Reads a big-endian integer of type T from the first sizeof(T) bytes at `p`.
template <class T>
requires std::is_integral_v<T>
[[nodiscard]] inline T load_be(const std::byte* p) noexcept {
  using U = std::make_unsigned_t<T>;
  U u;
  std::memcpy(&u, p, sizeof(U));
  if constexpr (std::endian::native == std::endian::little && sizeof(U) > 1) {
    u = byteswap(u);
  }
  return static_cast<T>(u);
}

/// Writes `value` big-endian into the first sizeof(T) bytes at `p`.
template <class T>
requires std::is_integral_v<T>
inline void store_be(std::byte* p, T value) noexcept {
  using U = std::make_unsigned_t<T>;
  auto u = static_cast<U>(value);
  if constexpr (std::endian::native == std::endian::little && sizeof(U) > 1) {
    u = byteswap(u);
  }
  std::memcpy(p, &u, sizeof(U));
}

/// Views a span of chars or unsigned chars as bytes.
inline std::span<const std::byte> as_bytes(std::string_view s) noexcept {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

}  // namespace caudal
