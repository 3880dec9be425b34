#pragma once

// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of Kafka record
// batches v2. Uses the SSE4.2 crc32 instruction when the CPU has it and a table-driven
// portable path otherwise; both give identical results (crc32c_test.cc checks known
// vectors against both).

#include <cstddef>
#include <cstdint>
#include <span>

namespace caudal::crc32c {

/// Continues a CRC-32C over `data`. Start with `init = 0`; feeding the pieces of a buffer
/// one after another gives the CRC of the whole buffer.
[[nodiscard]] std::uint32_t extend(std::uint32_t init, std::span<const std::byte> data) noexcept;

/// The CRC-32C of `data`.
[[nodiscard]] inline std::uint32_t value(std::span<const std::byte> data) noexcept {
  return extend(0, data);
}

/// The portable path, exposed so tests can check it against the hardware path.
[[nodiscard]] std::uint32_t extend_portable(std::uint32_t init,
                                            std::span<const std::byte> data) noexcept;

/// The SSE4.2 path. Requires: has_hardware().
[[nodiscard]] std::uint32_t extend_hardware(std::uint32_t init,
                                            std::span<const std::byte> data) noexcept;

/// Whether this CPU has the SSE4.2 crc32 instruction.
[[nodiscard]] bool has_hardware() noexcept;

}  // namespace caudal::crc32c
