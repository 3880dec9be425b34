#pragma once

// The primitive Kafka wire codec (../shared/kafka-protocol/README.md sections 2.3, 3.3, 3.4):
// a bounds-checked `reader` over one request's bytes and a `writer` that builds a response
// as a sequence of chunks. The generated message code (protocol/generated/) is written in
// terms of these and nothing else.
//
// Reading never trusts the input: every read checks the bytes left and returns an errc
// (protocol/errc.h) instead of reading past the end or asserting. Lengths and array counts
// are checked against the bytes left before anything is allocated, so memory stays bounded
// by the input size.
//
// Writing and external chunks. A response is mostly small fields, but a Fetch response
// carries record batches that should go from a segment file to the socket without being
// copied (sendfile). So the writer's output is not one buffer but a sequence
//
//     owned bytes, external chunk, owned bytes, external chunk, ..., owned bytes
//
// where an external chunk is `{id, size}`: `size` bytes that the writer never sees, and `id`
// an opaque handle meaningful to whoever created the record_set (e.g. an index into a list of
// file ranges held by the fetch handler). The length prefix of a records field is written
// into the owned bytes before the external chunk, so the sequence, sent in order, is exactly
// the wire encoding. writer::size() counts external bytes too, so a frame length patched in
// with reserve_int32()/patch_int32() is right. Only `records` fields can be external.

#include "base/result.h"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace caudal::protocol {

/// A Kafka UUID: the most significant 64 bits, then the least significant (README 2.3).
/// All zero means "unset".
struct uuid {
  std::uint64_t most = 0;
  std::uint64_t least = 0;

  [[nodiscard]] bool is_zero() const noexcept { return most == 0 && least == 0; }
  bool operator==(const uuid&) const = default;
};

/// Bytes that the network layer supplies at send time (a file range to sendfile, say).
/// `id` means nothing to this layer.
struct external_chunk {
  std::uint64_t id = 0;
  std::uint32_t size = 0;

  bool operator==(const external_chunk&) const = default;
};

/// The value of a `records` field: a blob of record batches, never copied by the codec.
/// Either a view of bytes in memory or an external chunk (see the file comment).
/// Lifetime: a view does not own its bytes. A decoded record_set points into the reader's
/// input, so the caller keeps the request frame alive as long as the decoded message; a
/// record_set being encoded must stay valid until the writer's output is sent.
class record_set {
 public:
  /// An empty in-memory blob (zero bytes, not null: null is std::nullopt around it).
  record_set() = default;
  explicit record_set(std::span<const std::byte> bytes) noexcept : _data(bytes) {}
  explicit record_set(external_chunk chunk) noexcept : _data(chunk) {}

  [[nodiscard]] bool is_external() const noexcept { return _data.index() == 1; }
  /// The in-memory bytes. Requires: !is_external().
  [[nodiscard]] std::span<const std::byte> bytes() const;
  /// The external chunk. Requires: is_external().
  [[nodiscard]] external_chunk external() const;
  /// The number of bytes either way.
  [[nodiscard]] std::size_t size() const noexcept;

  /// In-memory blobs compare by content, external ones by id and size; the two kinds are
  /// never equal.
  friend bool operator==(const record_set& a, const record_set& b) noexcept;

 private:
  std::variant<std::span<const std::byte>, external_chunk> _data;
};

/// Reads Kafka primitives from one contiguous input, front to back.
/// Every function checks the bytes left; on failure it returns an error and the reader's
/// position is unspecified (the message is rejected as a whole). Never asserts on input.
/// Not thread-safe; the input must outlive the reader and anything viewing it (record_set).
class reader {
 public:
  reader() = default;
  explicit reader(std::span<const std::byte> input) noexcept : _input(input) {}

  [[nodiscard]] std::size_t remaining() const noexcept { return _input.size() - _position; }
  [[nodiscard]] std::size_t position() const noexcept { return _position; }
  /// The bytes not read yet.
  [[nodiscard]] std::span<const std::byte> rest() const noexcept {
    return _input.subspan(_position);
  }

  [[nodiscard]] result<void> read_bool(bool& out);  // any non-zero byte is true
  [[nodiscard]] result<void> read_int8(std::int8_t& out);
  [[nodiscard]] result<void> read_int16(std::int16_t& out);
  [[nodiscard]] result<void> read_uint16(std::uint16_t& out);
  [[nodiscard]] result<void> read_int32(std::int32_t& out);
  [[nodiscard]] result<void> read_uint32(std::uint32_t& out);
  [[nodiscard]] result<void> read_int64(std::int64_t& out);
  [[nodiscard]] result<void> read_float64(double& out);
  [[nodiscard]] result<void> read_uuid(uuid& out);
  /// An unsigned varint of at most 5 bytes (compact lengths, tags, tagged sizes).
  [[nodiscard]] result<void> read_uvarint(std::uint32_t& out);
  /// Zig-zag signed varint / varlong (record batches).
  [[nodiscard]] result<void> read_varint(std::int32_t& out);
  [[nodiscard]] result<void> read_varlong(std::int64_t& out);

  /// A string: int16 length (classic) or uvarint length + 1 (`compact`). Null is an error.
  [[nodiscard]] result<void> read_string(std::string& out, bool compact);
  /// A string that may be null when `nullable`; null then yields std::nullopt.
  [[nodiscard]] result<void> read_string(std::optional<std::string>& out, bool compact,
                                         bool nullable);
  /// Bytes: int32 length (classic) or uvarint length + 1 (`compact`). Null is an error.
  [[nodiscard]] result<void> read_bytes(std::vector<std::byte>& out, bool compact);
  [[nodiscard]] result<void> read_bytes(std::optional<std::vector<std::byte>>& out, bool compact,
                                        bool nullable);
  /// Records: encoded like bytes, returned as a view into the input (no copy).
  [[nodiscard]] result<void> read_records(record_set& out, bool compact);
  [[nodiscard]] result<void> read_records(std::optional<record_set>& out, bool compact,
                                          bool nullable);

  /// An array count: int32 (classic) or uvarint count + 1 (`compact`). Yields -1 for null,
  /// which is only accepted when `nullable`. A count above remaining() is rejected with
  /// errc::array_too_long (every element takes at least one byte), so the caller may
  /// allocate `count` elements.
  [[nodiscard]] result<void> read_array_length(std::int32_t& count, bool compact, bool nullable);

  /// Takes the next `size` bytes as a separate reader (a tagged field's value) and moves
  /// past them.
  [[nodiscard]] result<void> read_sub(std::uint32_t size, reader& out);
  /// Moves past `size` bytes.
  [[nodiscard]] result<void> skip(std::size_t size);
  /// Reads a tagged-field section and skips every field in it (README 3.7).
  [[nodiscard]] result<void> skip_tagged_fields();

 private:
  /// The next `size` bytes, moving past them; nullopt (position unchanged) if fewer remain.
  [[nodiscard]] std::optional<std::span<const std::byte>> take(std::size_t size) noexcept;
  /// Length of a string/bytes/records: -1 for null, else a length that fits in remaining().
  [[nodiscard]] result<void> read_length(std::int64_t& length, bool compact, bool wide);

  std::span<const std::byte> _input;
  std::size_t _position = 0;
};

/// One piece of a writer's output: owned bytes or an external chunk.
using output_chunk = std::variant<std::span<const std::byte>, external_chunk>;

/// Appends Kafka primitives to a growing output (see the file comment for external chunks).
/// Writing a value the format cannot carry (a null where the version forbids it, a string
/// over 32767 bytes in classic encoding) is a bug in the caller and asserts.
/// Move-only: copying an output by accident is expensive.
class writer {
 public:
  writer() = default;
  writer(const writer&) = delete;
  writer& operator=(const writer&) = delete;
  writer(writer&&) noexcept = default;
  writer& operator=(writer&&) noexcept = default;
  ~writer() = default;

  void write_bool(bool value);
  void write_int8(std::int8_t value);
  void write_int16(std::int16_t value);
  void write_uint16(std::uint16_t value);
  void write_int32(std::int32_t value);
  void write_uint32(std::uint32_t value);
  void write_int64(std::int64_t value);
  void write_float64(double value);
  void write_uuid(const uuid& value);
  void write_uvarint(std::uint64_t value);
  void write_varint(std::int32_t value);
  void write_varlong(std::int64_t value);

  void write_string(std::string_view value, bool compact);
  /// Writes null for std::nullopt. Requires: value or `nullable`.
  void write_string(const std::optional<std::string>& value, bool compact, bool nullable);
  void write_bytes(std::span<const std::byte> value, bool compact);
  void write_bytes(const std::optional<std::vector<std::byte>>& value, bool compact, bool nullable);
  /// Writes the length prefix, then the bytes or an external chunk.
  void write_records(const record_set& value, bool compact);
  void write_records(const std::optional<record_set>& value, bool compact, bool nullable);
  void write_array_length(std::size_t count, bool compact);
  /// Requires: `nullable`.
  void write_null_array(bool compact, bool nullable);

  /// Appends raw bytes.
  void write_raw(std::span<const std::byte> bytes);
  /// Appends an external chunk of `chunk.size` bytes.
  void write_external(external_chunk chunk);
  /// Appends everything `other` wrote. Requires: `other` has no external chunks (it is a
  /// tagged field's value).
  void append(const writer& other);

  /// Reserves four bytes (a frame length, say) and returns their position for patch_int32.
  [[nodiscard]] std::size_t reserve_int32();
  void patch_int32(std::size_t position, std::int32_t value);

  /// Total output size, external chunks included.
  [[nodiscard]] std::size_t size() const noexcept { return _buffer.size() + _external_bytes; }
  [[nodiscard]] bool has_external() const noexcept { return !_external.empty(); }
  /// The whole output as one buffer. Requires: !has_external().
  [[nodiscard]] std::span<const std::byte> bytes() const;
  /// The output in order: owned bytes and external chunks. Views stay valid until the
  /// writer is next modified or destroyed. Empty owned pieces are left out.
  [[nodiscard]] std::vector<output_chunk> chunks() const;
  /// Moves out the owned buffer. Requires: !has_external().
  [[nodiscard]] std::vector<std::byte> release();

 private:
  /// An external chunk goes between _buffer[position - 1] and _buffer[position].
  struct external_mark {
    std::size_t position;
    external_chunk chunk;
  };

  std::byte* grow(std::size_t size);

  std::vector<std::byte> _buffer;
  std::vector<external_mark> _external;
  std::size_t _external_bytes = 0;
};

}  // namespace caudal::protocol
