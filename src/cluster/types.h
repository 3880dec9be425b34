#pragma once

// Identifiers of the cluster's metadata.

#include "base/random.h"

#include <compare>
#include <cstdint>
#include <string>

namespace caudal::cluster {

/// A topic id: a random 128-bit value, as Kafka's Uuid (most significant half first).
/// All zero means unset.
struct topic_id {
  std::uint64_t most = 0;
  std::uint64_t least = 0;

  [[nodiscard]] bool is_zero() const { return most == 0 && least == 0; }
  friend auto operator<=>(const topic_id&, const topic_id&) = default;

  /// A fresh random id (never zero).
  [[nodiscard]] static topic_id random(random_source& rng);
  /// Kafka's text form: the 16 bytes in URL-safe base64 without padding (22 chars).
  [[nodiscard]] std::string to_string() const;
  /// Parses the text form; a zero id for anything malformed.
  [[nodiscard]] static topic_id parse(std::string_view text);
};

}  // namespace caudal::cluster
