#pragma once

// The deterministic batches of the storage crash test (log_crash_test.cc), shared by the
// test and the child process it kills (log_crash_writer.cc): batch `id` of run `seed` is
// always the same bytes, so the test can check what it reads back without having been
// told the content. The id travels in the batch's producer id field, so any batch found
// in the log, acknowledged or not, can be regenerated and compared (and the log's producer
// state is rebuilt after each crash on the way).

#include "base/batch_builder.h"
#include "base/random.h"

#include <cstddef>
#include <cstdint>
#include <vector>

namespace caudal::storage::crash_test {

/// Record values are at most this long; with up to 40 records a batch stays below 24 KiB.
inline constexpr std::uint64_t value_bytes_max = 600;
inline constexpr std::uint64_t records_max = 40;

/// Batch `id` of run `seed`: 1..records_max records of 0..value_bytes_max bytes, base
/// offset 0 as a producer would send it.
[[nodiscard]] inline std::vector<std::byte> make_batch(std::uint64_t seed, std::int64_t id) {
  random_source r(seed ^ (static_cast<std::uint64_t>(id) * 0x9E3779B97F4A7C15ull));
  // Each id is an idempotent producer's first batch, which the producer state accepts.
  batch::builder b(batch::producer_options(id, 0, 0));
  // Mostly small batches, sometimes large ones, so segments roll at varied points.
  const bool large = r.chance(1, 8);
  const auto records = static_cast<std::int64_t>(1 + r.uniform(large ? records_max : 4));
  std::vector<std::byte> value;
  for (std::int64_t i = 0; i < records; ++i) {
    value.resize(r.uniform(value_bytes_max + 1));
    for (auto& v : value)
      v = static_cast<std::byte>(r.next());
    const std::int64_t key = id * 1000 + i;
    b.add(std::span(reinterpret_cast<const std::byte*>(&key), sizeof key),
          std::span<const std::byte>(value), 1'700'000'000'000 + id);
  }
  return b.finish();
}

}  // namespace caudal::storage::crash_test
