#pragma once

// Errors of the Raft driver: decoding frames and log records from the network or the disk,
// and proposals that did not commit. Network and disk input is never a bug, so decoders
// return these instead of asserting (STYLE.md, "Error model").

#include <system_error>

namespace caudal::raft {

enum class driver_errc {
  truncated = 1,        // fewer bytes than a length or count promised
  corrupt,              // a checksum mismatch or a value out of its range
  unsupported_version,  // a frame of a wire version this build does not speak
  frame_too_large,      // a frame above frame_bytes_max
  proposal_lost,        // another leader's entry took the proposal's index
  unknown_group,        // no group with that id runs on this node
  stopped,              // the driver stopped before the proposal completed
  outcome_unknown,      // a leader's snapshot replaced the log under the proposal
};

/// The category of driver_errc values ("raft.driver").
[[nodiscard]] const std::error_category& driver_error_category() noexcept;
/// Makes `e` usable as a std::error_code (and so as a result<T> error).
[[nodiscard]] inline std::error_code make_error_code(driver_errc e) noexcept {
  return {static_cast<int>(e), driver_error_category()};
}

}  // namespace caudal::raft

template <>
struct std::is_error_code_enum<caudal::raft::driver_errc> : std::true_type {};
