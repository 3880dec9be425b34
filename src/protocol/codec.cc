#include "protocol/codec.h"

#include "base/assert.h"
#include "base/bytes.h"
#include "base/varint.h"
#include "protocol/errc.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>

namespace caudal::protocol {
namespace {

/// The largest length a classic int16-prefixed string can carry.
constexpr std::size_t classic_string_bytes_max = std::numeric_limits<std::int16_t>::max();
/// The largest length of bytes, records or an array: Kafka lengths are int32.
constexpr std::size_t length_max = std::numeric_limits<std::int32_t>::max();

}  // namespace

// ---------------------------------------------------------------------------------------
// record_set

std::span<const std::byte> record_set::bytes() const {
  CAUDAL_ASSERT(!is_external(), "bytes() of an external record_set");
  return std::get<0>(_data);
}

external_chunk record_set::external() const {
  CAUDAL_ASSERT(is_external(), "external() of an in-memory record_set");
  return std::get<1>(_data);
}

std::size_t record_set::size() const noexcept {
  return is_external() ? std::get<1>(_data).size : std::get<0>(_data).size();
}

bool operator==(const record_set& a, const record_set& b) noexcept {
  if (a.is_external() != b.is_external()) return false;
  if (a.is_external()) return std::get<1>(a._data) == std::get<1>(b._data);
  auto x = std::get<0>(a._data);
  auto y = std::get<0>(b._data);
  return std::equal(x.begin(), x.end(), y.begin(), y.end());
}

// ---------------------------------------------------------------------------------------
// reader

std::optional<std::span<const std::byte>> reader::take(std::size_t size) noexcept {
  if (size > remaining()) return std::nullopt;
  auto out = _input.subspan(_position, size);
  _position += size;
  return out;
}

namespace {

template <class T>
result<void> read_fixed(std::optional<std::span<const std::byte>> bytes, T& out) {
  if (!bytes) return errc::truncated;
  out = load_be<T>(bytes->data());
  return ok();
}

}  // namespace

result<void> reader::read_bool(bool& out) {
  std::uint8_t b = 0;
  CAUDAL_TRY(read_fixed(take(1), b));
  out = b != 0;
  return ok();
}
result<void> reader::read_int8(std::int8_t& out) {
  return read_fixed(take(1), out);
}
result<void> reader::read_int16(std::int16_t& out) {
  return read_fixed(take(2), out);
}
result<void> reader::read_uint16(std::uint16_t& out) {
  return read_fixed(take(2), out);
}
result<void> reader::read_int32(std::int32_t& out) {
  return read_fixed(take(4), out);
}
result<void> reader::read_uint32(std::uint32_t& out) {
  return read_fixed(take(4), out);
}
result<void> reader::read_int64(std::int64_t& out) {
  return read_fixed(take(8), out);
}

result<void> reader::read_float64(double& out) {
  std::uint64_t bits = 0;
  CAUDAL_TRY(read_fixed(take(8), bits));
  out = std::bit_cast<double>(bits);
  return ok();
}

result<void> reader::read_uuid(uuid& out) {
  CAUDAL_TRY(read_fixed(take(8), out.most));
  return read_fixed(take(8), out.least);
}

result<void> reader::read_uvarint(std::uint32_t& out) {
  auto d = varint::decode_u32(rest());
  if (!d) {
    // Running out of input inside the varint is truncation; anything else is malformed.
    bool ends_inside = remaining() < varint::bytes_max_32 &&
                       std::all_of(rest().begin(), rest().end(), [](std::byte b) {
                         return (b & std::byte{0x80}) != std::byte{0};
                       });
    return ends_inside ? errc::truncated : errc::bad_varint;
  }
  _position += d->size;
  out = d->value;
  return ok();
}

result<void> reader::read_varint(std::int32_t& out) {
  std::uint32_t raw = 0;
  CAUDAL_TRY(read_uvarint(raw));
  out = varint::zigzag_decode(raw);
  return ok();
}

result<void> reader::read_varlong(std::int64_t& out) {
  auto d = varint::decode_unsigned(rest(), varint::bytes_max_64);
  if (!d) return remaining() < varint::bytes_max_64 ? errc::truncated : errc::bad_varint;
  _position += d->size;
  out = varint::zigzag_decode(d->value);
  return ok();
}

result<void> reader::read_length(std::int64_t& length, bool compact, bool wide) {
  if (compact) {
    std::uint32_t n = 0;
    CAUDAL_TRY(read_uvarint(n));
    length = static_cast<std::int64_t>(n) - 1;
  } else if (wide) {
    std::int32_t n = 0;
    CAUDAL_TRY(read_int32(n));
    length = n;
  } else {
    std::int16_t n = 0;
    CAUDAL_TRY(read_int16(n));
    length = n;
  }
  if (length < -1) return errc::negative_length;
  if (length > static_cast<std::int64_t>(remaining())) return errc::truncated;
  return ok();
}

result<void> reader::read_string(std::string& out, bool compact) {
  std::int64_t length = 0;
  CAUDAL_TRY(read_length(length, compact, false));
  if (length < 0) return errc::non_nullable_null;
  auto bytes = take(static_cast<std::size_t>(length));
  if (!bytes) return errc::truncated;
  out.assign(reinterpret_cast<const char*>(bytes->data()), bytes->size());
  return ok();
}

result<void> reader::read_string(std::optional<std::string>& out, bool compact, bool nullable) {
  std::int64_t length = 0;
  CAUDAL_TRY(read_length(length, compact, false));
  if (length < 0) {
    if (!nullable) return errc::non_nullable_null;
    out.reset();
    return ok();
  }
  auto bytes = take(static_cast<std::size_t>(length));
  if (!bytes) return errc::truncated;
  out.emplace(reinterpret_cast<const char*>(bytes->data()), bytes->size());
  return ok();
}

result<void> reader::read_bytes(std::vector<std::byte>& out, bool compact) {
  std::int64_t length = 0;
  CAUDAL_TRY(read_length(length, compact, true));
  if (length < 0) return errc::non_nullable_null;
  auto bytes = take(static_cast<std::size_t>(length));
  if (!bytes) return errc::truncated;
  out.assign(bytes->begin(), bytes->end());
  return ok();
}

result<void> reader::read_bytes(std::optional<std::vector<std::byte>>& out, bool compact,
                                bool nullable) {
  std::int64_t length = 0;
  CAUDAL_TRY(read_length(length, compact, true));
  if (length < 0) {
    if (!nullable) return errc::non_nullable_null;
    out.reset();
    return ok();
  }
  auto bytes = take(static_cast<std::size_t>(length));
  if (!bytes) return errc::truncated;
  out.emplace(bytes->begin(), bytes->end());
  return ok();
}

result<void> reader::read_records(record_set& out, bool compact) {
  std::int64_t length = 0;
  CAUDAL_TRY(read_length(length, compact, true));
  if (length < 0) return errc::non_nullable_null;
  auto bytes = take(static_cast<std::size_t>(length));
  if (!bytes) return errc::truncated;
  out = record_set(*bytes);
  return ok();
}

result<void> reader::read_records(std::optional<record_set>& out, bool compact, bool nullable) {
  std::int64_t length = 0;
  CAUDAL_TRY(read_length(length, compact, true));
  if (length < 0) {
    if (!nullable) return errc::non_nullable_null;
    out.reset();
    return ok();
  }
  auto bytes = take(static_cast<std::size_t>(length));
  if (!bytes) return errc::truncated;
  out.emplace(*bytes);
  return ok();
}

result<void> reader::read_array_length(std::int32_t& count, bool compact, bool nullable) {
  std::int64_t n = 0;
  if (compact) {
    std::uint32_t raw = 0;
    CAUDAL_TRY(read_uvarint(raw));
    n = static_cast<std::int64_t>(raw) - 1;
  } else {
    std::int32_t raw = 0;
    CAUDAL_TRY(read_int32(raw));
    n = raw;
  }
  if (n == -1) {
    if (!nullable) return errc::non_nullable_null;
    count = -1;
    return ok();
  }
  if (n < -1) return errc::negative_length;
  // Checked before the caller allocates: a lying count cannot make us reserve memory.
  if (n > static_cast<std::int64_t>(remaining())) return errc::array_too_long;
  count = static_cast<std::int32_t>(n);
  return ok();
}

result<void> reader::read_sub(std::uint32_t size, reader& out) {
  auto bytes = take(size);
  if (!bytes) return errc::truncated;
  out = reader(*bytes);
  return ok();
}

result<void> reader::skip(std::size_t size) {
  if (!take(size)) return errc::truncated;
  return ok();
}

result<void> reader::skip_tagged_fields() {
  std::uint32_t count = 0;
  CAUDAL_TRY(read_uvarint(count));
  // Each field takes at least two bytes (tag and size), so the loop ends within
  // remaining() / 2 iterations whatever `count` claims.
  for (std::uint32_t i = 0; i < count; ++i) {
    std::uint32_t tag = 0;
    std::uint32_t size = 0;
    CAUDAL_TRY(read_uvarint(tag));
    CAUDAL_TRY(read_uvarint(size));
    CAUDAL_TRY(skip(size));
  }
  return ok();
}

// ---------------------------------------------------------------------------------------
// writer

std::byte* writer::grow(std::size_t size) {
  auto old = _buffer.size();
  _buffer.resize(old + size);
  return _buffer.data() + old;
}

void writer::write_bool(bool value) {
  _buffer.push_back(value ? std::byte{1} : std::byte{0});
}
void writer::write_int8(std::int8_t value) {
  _buffer.push_back(static_cast<std::byte>(value));
}
void writer::write_int16(std::int16_t value) {
  store_be(grow(2), value);
}
void writer::write_uint16(std::uint16_t value) {
  store_be(grow(2), value);
}
void writer::write_int32(std::int32_t value) {
  store_be(grow(4), value);
}
void writer::write_uint32(std::uint32_t value) {
  store_be(grow(4), value);
}
void writer::write_int64(std::int64_t value) {
  store_be(grow(8), value);
}
void writer::write_float64(double value) {
  store_be(grow(8), std::bit_cast<std::uint64_t>(value));
}
void writer::write_uuid(const uuid& value) {
  store_be(grow(8), value.most);
  store_be(grow(8), value.least);
}

void writer::write_uvarint(std::uint64_t value) {
  std::byte tmp[varint::bytes_max_64];
  auto n = varint::encode_unsigned(value, tmp);
  write_raw({tmp, n});
}
void writer::write_varint(std::int32_t value) {
  write_uvarint(varint::zigzag_encode(value));
}
void writer::write_varlong(std::int64_t value) {
  write_uvarint(varint::zigzag_encode(value));
}

void writer::write_string(std::string_view value, bool compact) {
  if (compact) {
    write_uvarint(value.size() + 1);
  } else {
    CAUDAL_ASSERT(value.size() <= classic_string_bytes_max,
                  "a classic string holds at most {} bytes, not {}", classic_string_bytes_max,
                  value.size());
    write_int16(static_cast<std::int16_t>(value.size()));
  }
  write_raw(caudal::as_bytes(value));
}

void writer::write_string(const std::optional<std::string>& value, bool compact, bool nullable) {
  if (value) return write_string(std::string_view(*value), compact);
  CAUDAL_ASSERT(nullable, "null string in a field that is not nullable in this version");
  if (compact) {
    write_uvarint(0);
  } else {
    write_int16(-1);
  }
}

void writer::write_bytes(std::span<const std::byte> value, bool compact) {
  CAUDAL_ASSERT(value.size() <= length_max, "bytes too long: {}", value.size());
  if (compact) {
    write_uvarint(value.size() + 1);
  } else {
    write_int32(static_cast<std::int32_t>(value.size()));
  }
  write_raw(value);
}

void writer::write_bytes(const std::optional<std::vector<std::byte>>& value, bool compact,
                         bool nullable) {
  if (value) return write_bytes(std::span<const std::byte>(*value), compact);
  CAUDAL_ASSERT(nullable, "null bytes in a field that is not nullable in this version");
  if (compact) {
    write_uvarint(0);
  } else {
    write_int32(-1);
  }
}

void writer::write_records(const record_set& value, bool compact) {
  if (!value.is_external()) return write_bytes(value.bytes(), compact);
  auto chunk = value.external();
  CAUDAL_ASSERT(chunk.size <= length_max, "records too long: {}", chunk.size);
  if (compact) {
    write_uvarint(std::uint64_t{chunk.size} + 1);
  } else {
    write_int32(static_cast<std::int32_t>(chunk.size));
  }
  write_external(chunk);
}

void writer::write_records(const std::optional<record_set>& value, bool compact, bool nullable) {
  if (value) return write_records(*value, compact);
  CAUDAL_ASSERT(nullable, "null records in a field that is not nullable in this version");
  if (compact) {
    write_uvarint(0);
  } else {
    write_int32(-1);
  }
}

void writer::write_array_length(std::size_t count, bool compact) {
  CAUDAL_ASSERT(count <= length_max, "array too long: {}", count);
  if (compact) {
    write_uvarint(count + 1);
  } else {
    write_int32(static_cast<std::int32_t>(count));
  }
}

void writer::write_null_array(bool compact, bool nullable) {
  CAUDAL_ASSERT(nullable, "null array in a field that is not nullable in this version");
  if (compact) {
    write_uvarint(0);
  } else {
    write_int32(-1);
  }
}

void writer::write_raw(std::span<const std::byte> bytes) {
  if (bytes.empty()) return;
  std::memcpy(grow(bytes.size()), bytes.data(), bytes.size());
}

void writer::write_external(external_chunk chunk) {
  _external.push_back({_buffer.size(), chunk});
  _external_bytes += chunk.size;
}

void writer::append(const writer& other) {
  CAUDAL_ASSERT(!other.has_external(), "appending a writer that holds external chunks");
  write_raw(other._buffer);
}

std::size_t writer::reserve_int32() {
  auto position = _buffer.size();
  grow(4);
  return position;
}

void writer::patch_int32(std::size_t position, std::int32_t value) {
  CAUDAL_ASSERT(position + 4 <= _buffer.size(), "patch at {} past the end {}", position,
                _buffer.size());
  store_be(_buffer.data() + position, value);
}

std::span<const std::byte> writer::bytes() const {
  CAUDAL_ASSERT(!has_external(), "bytes() of a writer with {} external chunks", _external.size());
  return _buffer;
}

std::vector<output_chunk> writer::chunks() const {
  std::vector<output_chunk> out;
  out.reserve(2 * _external.size() + 1);
  std::size_t from = 0;
  std::span<const std::byte> all(_buffer);
  for (const auto& mark : _external) {
    if (mark.position > from) out.emplace_back(all.subspan(from, mark.position - from));
    out.emplace_back(mark.chunk);
    from = mark.position;
  }
  if (from < all.size()) out.emplace_back(all.subspan(from));
  return out;
}

std::vector<std::byte> writer::release() {
  CAUDAL_ASSERT(!has_external(), "release() of a writer with {} external chunks", _external.size());
  return std::move(_buffer);
}

}  // namespace caudal::protocol
