#pragma once

// The only source of randomness. A seeded xoshiro256** generator with our own mapping
// from bits to ranges, so a seed gives the same sequence with every standard library
// (std::*_distribution output differs between them). tools/tidy bans std::rand and
// std::random_device outside this file.

#include "base/assert.h"

#include <cstdint>

namespace caudal {

__extension__ using uint128 = unsigned __int128;

/// A deterministic pseudo-random generator. Not thread-safe: one per thread or owner.
class random_source {
 public:
  explicit random_source(std::uint64_t seed) noexcept {
    // splitmix64 spreads any seed (including 0) over the whole state.
    for (auto& word : _state) {
      seed += 0x9E3779B97F4A7C15ull;
      std::uint64_t z = seed;
      z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
      z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
      word = z ^ (z >> 31);
    }
  }

  /// 64 uniformly random bits.
  [[nodiscard]] std::uint64_t next() noexcept {
    const std::uint64_t result = rotl(_state[1] * 5, 7) * 9;
    const std::uint64_t t = _state[1] << 17;
    _state[2] ^= _state[0];
    _state[3] ^= _state[1];
    _state[1] ^= _state[2];
    _state[0] ^= _state[3];
    _state[2] ^= t;
    _state[3] = rotl(_state[3], 45);
    return result;
  }

  /// A uniform integer in [0, bound). Requires: bound > 0. (Lemire's method, unbiased.)
  [[nodiscard]] std::uint64_t uniform(std::uint64_t bound) noexcept {
    CAUDAL_ASSERT(bound > 0, "uniform() needs a positive bound");
    uint128 m = static_cast<uint128>(next()) * bound;
    auto low = static_cast<std::uint64_t>(m);
    if (low < bound) {
      const std::uint64_t threshold = (0 - bound) % bound;
      while (low < threshold) {
        m = static_cast<uint128>(next()) * bound;
        low = static_cast<std::uint64_t>(m);
      }
    }
    return static_cast<std::uint64_t>(m >> 64);
  }

  /// A uniform integer in [low, high]. Requires: low <= high.
  [[nodiscard]] std::int64_t range(std::int64_t low, std::int64_t high) noexcept {
    CAUDAL_ASSERT(low <= high, "empty range [{}, {}]", low, high);
    const auto span = static_cast<std::uint64_t>(high) - static_cast<std::uint64_t>(low);
    if (span == ~0ull) return static_cast<std::int64_t>(next());
    return static_cast<std::int64_t>(static_cast<std::uint64_t>(low) + uniform(span + 1));
  }

  /// True with probability `numerator / denominator`.
  [[nodiscard]] bool chance(std::uint64_t numerator, std::uint64_t denominator) noexcept {
    return uniform(denominator) < numerator;
  }

 private:
  static constexpr std::uint64_t rotl(std::uint64_t x, int k) noexcept {
    return (x << k) | (x >> (64 - k));
  }

  std::uint64_t _state[4];
};

/// A seed from the operating system's entropy, for runs that are not replayed.
[[nodiscard]] std::uint64_t entropy_seed();

}  // namespace caudal
