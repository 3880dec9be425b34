#include "base/crc32c.h"

#include <array>
#include <cstring>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace caudal::crc32c {
namespace {

constexpr std::uint32_t polynomial = 0x82F63B78u;  // reflected Castagnoli

// Slicing-by-8 tables: table[k][b] is the CRC of byte b followed by k zero bytes.
struct tables {
  std::array<std::array<std::uint32_t, 256>, 8> t{};
  constexpr tables() {
    for (std::uint32_t b = 0; b < 256; ++b) {
      std::uint32_t crc = b;
      for (int i = 0; i < 8; ++i)
        crc = (crc >> 1) ^ ((crc & 1u) ? polynomial : 0u);
      t[0][b] = crc;
    }
    for (std::uint32_t b = 0; b < 256; ++b) {
      for (std::size_t k = 1; k < 8; ++k)
        t[k][b] = (t[k - 1][b] >> 8) ^ t[0][t[k - 1][b] & 0xFFu];
    }
  }
};
constexpr tables table;

}  // namespace

std::uint32_t extend_portable(std::uint32_t init, std::span<const std::byte> data) noexcept {
  std::uint32_t crc = ~init;
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  std::size_t n = data.size();
  while (n >= 8) {
    std::uint32_t lo;
    std::uint32_t hi;
    std::memcpy(&lo, p, 4);
    std::memcpy(&hi, p + 4, 4);
    lo ^= crc;  // little-endian layout assumed: the x86/ARM targets we build for
    crc = table.t[7][lo & 0xFFu] ^ table.t[6][(lo >> 8) & 0xFFu] ^ table.t[5][(lo >> 16) & 0xFFu] ^
          table.t[4][lo >> 24] ^ table.t[3][hi & 0xFFu] ^ table.t[2][(hi >> 8) & 0xFFu] ^
          table.t[1][(hi >> 16) & 0xFFu] ^ table.t[0][hi >> 24];
    p += 8;
    n -= 8;
  }
  while (n-- > 0)
    crc = (crc >> 8) ^ table.t[0][(crc ^ *p++) & 0xFFu];
  return ~crc;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) std::uint32_t extend_hardware(
    std::uint32_t init, std::span<const std::byte> data) noexcept {
  std::uint64_t crc = ~init;
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  std::size_t n = data.size();
  while (n >= 8) {
    std::uint64_t word;
    std::memcpy(&word, p, 8);
    crc = _mm_crc32_u64(crc, word);
    p += 8;
    n -= 8;
  }
  auto crc32 = static_cast<std::uint32_t>(crc);
  while (n-- > 0)
    crc32 = _mm_crc32_u8(crc32, *p++);
  return ~crc32;
}

bool has_hardware() noexcept {
  return __builtin_cpu_supports("sse4.2");
}
#else
std::uint32_t extend_hardware(std::uint32_t init, std::span<const std::byte> data) noexcept {
  return extend_portable(init, data);
}
bool has_hardware() noexcept {
  return false;
}
#endif

std::uint32_t extend(std::uint32_t init, std::span<const std::byte> data) noexcept {
  static const bool hardware = has_hardware();
  return hardware ? extend_hardware(init, data) : extend_portable(init, data);
}

}  // namespace caudal::crc32c
