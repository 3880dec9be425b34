#include "cli/partitioner.h"

#include "base/assert.h"

namespace caudal::cli {

std::int32_t murmur2(std::span<const std::byte> data) noexcept {
  // Kafka's Utils.murmur2, in unsigned arithmetic (Java's int wraps the same way).
  constexpr std::uint32_t seed = 0x9747b28c;
  constexpr std::uint32_t m = 0x5bd1e995;
  constexpr int r = 24;
  const auto length = static_cast<std::uint32_t>(data.size());
  std::uint32_t h = seed ^ length;
  const std::size_t blocks = data.size() / 4;
  auto byte = [&](std::size_t i) { return std::to_integer<std::uint32_t>(data[i]); };
  for (std::size_t i = 0; i < blocks; ++i) {
    const std::size_t i4 = i * 4;
    std::uint32_t k = byte(i4) | (byte(i4 + 1) << 8) | (byte(i4 + 2) << 16) | (byte(i4 + 3) << 24);
    k *= m;
    k ^= k >> r;
    k *= m;
    h *= m;
    h ^= k;
  }
  const std::size_t tail = blocks * 4;
  switch (data.size() % 4) {
    case 3:
      h ^= byte(tail + 2) << 16;
      [[fallthrough]];
    case 2:
      h ^= byte(tail + 1) << 8;
      [[fallthrough]];
    case 1:
      h ^= byte(tail);
      h *= m;
      break;
    default:
      break;
  }
  h ^= h >> 13;
  h *= m;
  h ^= h >> 15;
  return static_cast<std::int32_t>(h);
}

std::int32_t partition_for_key(std::span<const std::byte> key, std::int32_t partitions) {
  CAUDAL_ASSERT(partitions > 0, "partition_for_key with {} partitions", partitions);
  return (murmur2(key) & 0x7fffffff) % partitions;
}

sticky_partitioner::sticky_partitioner(std::int32_t partitions) : _partitions(partitions) {
  CAUDAL_ASSERT(partitions > 0, "sticky_partitioner with {} partitions", partitions);
}

void sticky_partitioner::batch_done(std::int32_t partition) noexcept {
  if (partition == _current) _current = (_current + 1) % _partitions;
}

}  // namespace caudal::cli
