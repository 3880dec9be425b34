#pragma once

// Errors of the storage layer. I/O failures carry errno in std::system_category instead;
// "corrupt" is kept apart from I/O errors because recovery treats them differently.

#include <system_error>

namespace caudal::storage {

enum class errc {
  offset_out_of_range = 1,  // below the log start offset or above the log end offset
  batch_too_large,          // a batch above the log's max.message.bytes
  corrupt,                  // bytes on disk fail validation where they must not
  log_failed,               // an earlier write or fsync failed; the log refuses more work
  closed,                   // the log was closed
  bad_checkpoint,           // a checkpoint file is unreadable
  invalid_argument,         // a caller's request makes no sense (e.g. truncate past the end)
  invalid_sequence,         // a batch with a producer id but a negative epoch or sequence
  out_of_order_sequence,    // a producer's batch does not follow its previous one
  invalid_producer_epoch,   // a producer's epoch is older than one already seen
};

[[nodiscard]] const std::error_category& error_category() noexcept;
[[nodiscard]] inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), error_category()};
}

}  // namespace caudal::storage

template <>
struct std::is_error_code_enum<caudal::storage::errc> : std::true_type {};
