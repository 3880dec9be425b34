#pragma once

// What a request handler answers with: a sequence of chunks that the connection writes
// back to back as the body of one response frame. No Asio here: this header is included
// by the broker layer.

#include "base/assert.h"

#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <utility>
#include <variant>
#include <vector>

namespace caudal::net {

/// A byte range of an open file, written to the socket with sendfile(2) (zero copy). The
/// fetch path uses it to serve record batches straight from a segment file.
///
/// Lifetime: `fd` must stay open and the range must stay readable until the connection
/// has written it or dropped the response; `keepalive` is held that long, so the caller
/// puts there whatever owns the descriptor (a segment handle). If the file turns out
/// shorter than the range, the frame cannot be completed and the connection is closed.
struct file_range {
  int fd = -1;
  std::uint64_t offset = 0;
  std::uint32_t length = 0;
  std::shared_ptr<const void> keepalive;
};

/// One piece of a response body: bytes owned by the response, or a file range.
using chunk = std::variant<std::vector<std::byte>, file_range>;

/// The body of one response frame: the response header (correlation id, ...) and the
/// message, as the broker encoded them.
///
/// The 4-byte big-endian size prefix is NOT part of the response: the connection writes
/// it, computed as size_bytes(), so that a handler can never get it wrong. This mirrors
/// the request side, where a handler receives a frame without its prefix.
class response {
 public:
  response() = default;
  /// A response made of one owned chunk.
  explicit response(std::vector<std::byte> bytes) { append(std::move(bytes)); }

  /// Appends owned bytes. Empty chunks are dropped.
  void append(std::vector<std::byte> bytes) {
    if (bytes.empty()) return;
    _size_bytes += bytes.size();
    _chunks.emplace_back(std::move(bytes));
  }
  /// Appends a file range. Requires: fd >= 0. Empty ranges are dropped.
  void append(file_range range) {
    CAUDAL_ASSERT(range.fd >= 0, "file range with fd {}", range.fd);
    if (range.length == 0) return;
    _size_bytes += range.length;
    _chunks.emplace_back(std::move(range));
  }

  /// The body size in bytes, which becomes the frame's size prefix.
  [[nodiscard]] std::uint64_t size_bytes() const noexcept { return _size_bytes; }
  [[nodiscard]] const std::vector<chunk>& chunks() const noexcept { return _chunks; }
  [[nodiscard]] std::vector<chunk>& chunks() noexcept { return _chunks; }

  /// The largest body a frame can carry: the size prefix is an int32.
  static constexpr std::uint64_t size_bytes_max = std::numeric_limits<std::int32_t>::max();

 private:
  std::vector<chunk> _chunks;
  std::uint64_t _size_bytes = 0;
};

}  // namespace caudal::net
