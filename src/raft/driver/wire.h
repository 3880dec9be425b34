#pragma once

// The wire format of Raft messages between nodes: length-prefixed, checksummed frames,
// each carrying the messages of any number of groups from one node to another, so the
// heartbeats a node sends a peer in one loop turn travel in one frame. The byte layout is
// specified in docs/formats/raft-rpc.md; keep the two in step.

#include "base/named_type.h"
#include "base/result.h"
#include "raft/core/types.h"

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace caudal::raft {

/// A Raft group on a node. The cluster chooses ids; every member of a group uses the same.
using group_id = named_type<std::uint64_t, struct group_id_tag>;

/// The wire version this build writes and the only one it reads.
inline constexpr std::uint8_t wire_version = 1;
/// The size prefix and the CRC-32C in front of every frame body.
inline constexpr std::size_t frame_header_bytes = 8;
/// Frame body fields before the messages: version, flags, sender, message count.
inline constexpr std::size_t frame_body_header_bytes = 10;
/// The fixed part of one message (all fields but the entries and the snapshot).
inline constexpr std::size_t message_fixed_bytes = 80;
/// The fixed part of one entry (all fields but its data).
inline constexpr std::size_t entry_fixed_bytes = 21;
/// The fixed part of a snapshot (all fields but the member ids and the data).
inline constexpr std::size_t snapshot_fixed_bytes = 28;
/// The largest frame (prefix excluded) a node sends or accepts. A larger size prefix is
/// refused before anything is allocated, and a frame's buffer grows only as its bytes
/// arrive. The core cuts AppendEntries to append_bytes_max (1 MiB by default) and
/// snapshots to snapshot_bytes_max (64 MiB by default), so one message always fits.
inline constexpr std::uint32_t frame_bytes_max = 96U << 20;

/// A message and the group it belongs to.
struct addressed_message {
  group_id group;
  message msg;
};

/// A decoded frame: who sent it and its messages in the order they were added.
struct frame {
  node_id from = node_none;
  std::vector<addressed_message> messages;
};

/// Builds one frame from the messages a node sends to one peer. Not thread-safe.
class frame_builder {
 public:
  explicit frame_builder(node_id from);
  frame_builder(const frame_builder&) = delete;
  frame_builder& operator=(const frame_builder&) = delete;

  /// Appends `m` for `group`. The caller checks size_bytes() to stay under frame_bytes_max.
  void add(group_id group, const message& m);
  /// Messages added since the last finish().
  [[nodiscard]] std::size_t message_count() const { return _count; }
  /// The frame's size so far, prefix and header included.
  [[nodiscard]] std::size_t size_bytes() const { return _bytes.size(); }
  /// Seals the frame (size prefix, CRC, count) and returns its bytes; the builder then
  /// starts an empty frame.
  [[nodiscard]] std::vector<std::byte> finish();

 private:
  void reset();

  node_id _from;
  std::uint32_t _count = 0;
  std::vector<std::byte> _bytes;
};

/// The encoded size of `m`, to decide whether it still fits in a frame.
[[nodiscard]] std::size_t encoded_size(const message& m);

/// Reads the 8-byte frame header: returns the body's size (after the CRC) and stores the
/// CRC in `crc`. Errors: truncated (fewer than 8 bytes), frame_too_large.
[[nodiscard]] result<std::uint32_t> decode_frame_header(std::span<const std::byte> header,
                                                        std::uint32_t& crc);
/// Decodes a frame body whose header carried `crc`. Any malformed input is an error, never
/// a crash: corrupt (checksum, enum or bool out of range, trailing bytes), truncated,
/// unsupported_version.
[[nodiscard]] result<frame> decode_frame_body(std::span<const std::byte> body, std::uint32_t crc);
/// Decodes a whole frame (header and body), e.g. one finish() returned.
[[nodiscard]] result<frame> decode_frame(std::span<const std::byte> bytes);

}  // namespace caudal::raft
