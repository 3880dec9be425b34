#pragma once

// The log's checkpoint file: the recovery point (segments below it were durable with
// their indexes, so open() trusts them) and the log start offset (DeleteRecords and
// retention move it). Format: docs/formats/segment.md, "checkpoint".

#include "base/named_type.h"
#include "base/result.h"

#include <filesystem>

namespace caudal::storage {

struct checkpoint {
  kafka_offset recovery_point{0};
  kafka_offset log_start{0};
  friend bool operator==(const checkpoint&, const checkpoint&) = default;
};

inline constexpr const char* checkpoint_file_name = "checkpoint";

/// Writes the checkpoint atomically (temporary file, fsync, rename, directory fsync).
[[nodiscard]] result<void> write_checkpoint(const std::filesystem::path& dir, checkpoint c);
/// Reads it back; errc::bad_checkpoint if it is torn or not ours, ENOENT if missing.
[[nodiscard]] result<checkpoint> read_checkpoint(const std::filesystem::path& dir);

}  // namespace caudal::storage
