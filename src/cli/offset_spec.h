#pragma once

// Where `caudal consume --from` starts: "beginning", "end", an offset ("42"), an offset
// counted back from the end ("-10": the last ten records) or a timestamp in milliseconds
// ("@1700000000000": the first record at or after it).

#include <cstdint>
#include <string_view>

namespace caudal::cli {

/// A parsed --from value.
struct offset_spec {
  enum class kind { beginning, end, offset, from_end, timestamp };
  kind k = kind::beginning;
  /// The offset (kind::offset), the count back from the end (kind::from_end, positive) or
  /// the timestamp in ms (kind::timestamp); 0 otherwise.
  std::int64_t value = 0;
  bool operator==(const offset_spec&) const = default;
};

/// Parses a --from value; throws a usage error naming `flag` for anything else.
[[nodiscard]] offset_spec parse_offset_spec(std::string_view text,
                                            std::string_view flag = "--from");

}  // namespace caudal::cli
