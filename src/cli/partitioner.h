#pragma once

// Where a produced record goes. Keyed records use the Java client's default partitioner:
// toPositive(murmur2(key)) % partitions (Kafka's Utils.murmur2 and
// BuiltInPartitioner.partitionForKey), so a key lands on the same partition as it would from
// the Java client, kafka-python, kafkajs's JavaCompatiblePartitioner or librdkafka with
// partitioner=murmur2_random. librdkafka's own default (consistent_random, CRC32) places keys
// differently; we follow Java because it is the reference implementation. Records without a
// key stick to one partition per batch and move on to the next partition when the batch is
// sent (the "sticky" partitioner of KIP-480), round-robin rather than random so that runs
// are reproducible.

#include <cstddef>
#include <cstdint>
#include <span>

namespace caudal::cli {

/// Kafka's murmur2 hash (Utils.murmur2, seed 0x9747b28c) of `data`, as a signed int32.
/// Example: murmur2("21") == -973932308.
[[nodiscard]] std::int32_t murmur2(std::span<const std::byte> data) noexcept;

/// The partition of a keyed record: (murmur2(key) & 0x7fffffff) % partitions.
/// Requires: partitions > 0.
[[nodiscard]] std::int32_t partition_for_key(std::span<const std::byte> key,
                                             std::int32_t partitions);

/// The sticky round-robin choice for records without a key.
class sticky_partitioner {
 public:
  /// Requires: partitions > 0.
  explicit sticky_partitioner(std::int32_t partitions);

  /// The partition for the next record without a key.
  [[nodiscard]] std::int32_t current() const noexcept { return _current; }
  /// Called when the batch of `partition` was sent or filled: null-key records move to the
  /// next partition if they were sticking to this one.
  void batch_done(std::int32_t partition) noexcept;

 private:
  std::int32_t _partitions;
  std::int32_t _current = 0;
};

}  // namespace caudal::cli
