#include "raft/driver/wire.h"

#include "base/assert.h"
#include "base/bytes.h"
#include "base/crc32c.h"
#include "raft/driver/errc.h"

#include <limits>
#include <memory>

namespace caudal::raft {
namespace {

// Field widths are the format (docs/formats/raft-rpc.md); the sums below must match the
// constants in wire.h.
static_assert(message_fixed_bytes == 8 + 1 + 4 + 4 + 8 * 4 + 1 + 1 + 8 + 8 + 8 + 4 + 1);
static_assert(entry_fixed_bytes == 8 + 8 + 1 + 4);
static_assert(snapshot_fixed_bytes == 8 + 8 + 4 + 4 + 4);
static_assert(frame_body_header_bytes == 1 + 1 + 4 + 4);

constexpr auto message_type_max = static_cast<std::uint8_t>(message_type::install_snapshot);
constexpr auto entry_kind_max = static_cast<std::uint8_t>(entry_kind::membership);

template <class T>
void put(std::vector<std::byte>& out, T value) {
  const std::size_t at = out.size();
  out.resize(at + sizeof(T));
  store_be<T>(out.data() + at, value);
}

void put_entry(std::vector<std::byte>& out, const entry& e) {
  CAUDAL_ASSERT(e.data.size() <= std::numeric_limits<std::uint32_t>::max(), "entry of {} bytes",
                e.data.size());
  put<std::int64_t>(out, e.term());
  put<std::int64_t>(out, e.index());
  put<std::uint8_t>(out, static_cast<std::uint8_t>(e.kind));
  put<std::uint32_t>(out, static_cast<std::uint32_t>(e.data.size()));
  out.insert(out.end(), e.data.begin(), e.data.end());
}

void put_ids(std::vector<std::byte>& out, const std::vector<node_id>& ids) {
  put<std::uint32_t>(out, static_cast<std::uint32_t>(ids.size()));
  for (node_id id : ids)
    put<std::int32_t>(out, id());
}

void put_snapshot(std::vector<std::byte>& out, const snapshot& s) {
  CAUDAL_ASSERT(s.data.size() <= frame_bytes_max, "snapshot of {} bytes", s.data.size());
  put<std::int64_t>(out, s.index());
  put<std::int64_t>(out, s.term());
  put_ids(out, s.membership.voters);
  put_ids(out, s.membership.learners);
  put<std::uint32_t>(out, static_cast<std::uint32_t>(s.data.size()));
  out.insert(out.end(), s.data.begin(), s.data.end());
}

/// Reads fields front to back; every read checks the bytes left first.
class reader {
 public:
  explicit reader(std::span<const std::byte> in) : _in(in) {}

  template <class T>
  [[nodiscard]] bool get(T& value) {
    if (_in.size() < sizeof(T)) return false;
    value = load_be<T>(_in.data());
    _in = _in.subspan(sizeof(T));
    return true;
  }
  [[nodiscard]] bool get_bytes(std::size_t n, std::vector<std::byte>& out) {
    if (_in.size() < n) return false;
    out.assign(_in.begin(), _in.begin() + static_cast<std::ptrdiff_t>(n));
    _in = _in.subspan(n);
    return true;
  }
  [[nodiscard]] std::size_t left() const { return _in.size(); }

 private:
  std::span<const std::byte> _in;
};

[[nodiscard]] result<void> get_bool(reader& r, bool& out) {
  std::uint8_t b = 0;
  if (!r.get(b)) return driver_errc::truncated;
  if (b > 1) return driver_errc::corrupt;
  out = b == 1;
  return ok();
}

[[nodiscard]] result<void> get_entry(reader& r, entry& e) {
  std::int64_t term = 0;
  std::int64_t index = 0;
  std::uint8_t kind = 0;
  std::uint32_t size = 0;
  if (!r.get(term) || !r.get(index) || !r.get(kind) || !r.get(size)) return driver_errc::truncated;
  if (kind > entry_kind_max) return driver_errc::corrupt;
  e.term = term_id(term);
  e.index = log_index(index);
  e.kind = static_cast<entry_kind>(kind);
  if (!r.get_bytes(size, e.data)) return driver_errc::truncated;
  return ok();
}

[[nodiscard]] result<void> get_ids(reader& r, std::vector<node_id>& ids) {
  std::uint32_t count = 0;
  if (!r.get(count)) return driver_errc::truncated;
  if (count > r.left() / 4) return driver_errc::truncated;
  ids.resize(count);
  for (node_id& id : ids) {
    std::int32_t v = 0;
    if (!r.get(v)) return driver_errc::truncated;
    id = node_id(v);
  }
  return ok();
}

[[nodiscard]] result<void> get_snapshot(reader& r, std::shared_ptr<const snapshot>& out) {
  std::uint8_t present = 0;
  if (!r.get(present)) return driver_errc::truncated;
  if (present > 1) return driver_errc::corrupt;
  if (present == 0) return ok();
  auto s = std::make_shared<snapshot>();
  std::int64_t index = 0;
  std::int64_t term = 0;
  if (!r.get(index) || !r.get(term)) return driver_errc::truncated;
  s->index = log_index(index);
  s->term = term_id(term);
  CAUDAL_TRY(get_ids(r, s->membership.voters));
  CAUDAL_TRY(get_ids(r, s->membership.learners));
  std::uint32_t size = 0;
  if (!r.get(size)) return driver_errc::truncated;
  if (!r.get_bytes(size, s->data)) return driver_errc::truncated;
  out = std::move(s);
  return ok();
}

[[nodiscard]] result<void> get_message(reader& r, addressed_message& out) {
  std::uint64_t group = 0;
  std::uint8_t type = 0;
  std::int32_t from = 0;
  std::int32_t to = 0;
  std::int64_t term = 0;
  std::int64_t log_term = 0;
  std::int64_t index = 0;
  std::int64_t commit = 0;
  if (!r.get(group) || !r.get(type) || !r.get(from) || !r.get(to) || !r.get(term) ||
      !r.get(log_term) || !r.get(index) || !r.get(commit))
    return driver_errc::truncated;
  if (type > message_type_max) return driver_errc::corrupt;
  message& m = out.msg;
  out.group = group_id(group);
  m.type = static_cast<message_type>(type);
  m.from = node_id(from);
  m.to = node_id(to);
  m.term = term_id(term);
  m.log_term = term_id(log_term);
  m.index = log_index(index);
  m.commit = log_index(commit);
  CAUDAL_TRY(get_bool(r, m.reject));
  CAUDAL_TRY(get_bool(r, m.transfer));
  std::int64_t hint_index = 0;
  std::int64_t hint_term = 0;
  std::uint32_t entry_count = 0;
  if (!r.get(hint_index) || !r.get(hint_term) || !r.get(m.context) || !r.get(entry_count))
    return driver_errc::truncated;
  m.hint_index = log_index(hint_index);
  m.hint_term = term_id(hint_term);
  // The count must fit in what is left before anything is reserved: memory stays bounded
  // by the input, whatever the count claims.
  if (entry_count > r.left() / entry_fixed_bytes) return driver_errc::truncated;
  m.entries.resize(entry_count);
  for (entry& e : m.entries)
    CAUDAL_TRY(get_entry(r, e));
  return get_snapshot(r, m.snapshot);
}

}  // namespace

frame_builder::frame_builder(node_id from) : _from(from) {
  reset();
}

void frame_builder::reset() {
  _bytes.clear();
  _count = 0;
  _bytes.resize(frame_header_bytes);  // size and CRC, filled by finish()
  put<std::uint8_t>(_bytes, wire_version);
  put<std::uint8_t>(_bytes, 0);  // flags: none defined in version 1
  put<std::int32_t>(_bytes, _from());
  put<std::uint32_t>(_bytes, 0);  // message count, filled by finish()
}

void frame_builder::add(group_id group, const message& m) {
  put<std::uint64_t>(_bytes, group());
  put<std::uint8_t>(_bytes, static_cast<std::uint8_t>(m.type));
  put<std::int32_t>(_bytes, m.from());
  put<std::int32_t>(_bytes, m.to());
  put<std::int64_t>(_bytes, m.term());
  put<std::int64_t>(_bytes, m.log_term());
  put<std::int64_t>(_bytes, m.index());
  put<std::int64_t>(_bytes, m.commit());
  put<std::uint8_t>(_bytes, m.reject ? 1 : 0);
  put<std::uint8_t>(_bytes, m.transfer ? 1 : 0);
  put<std::int64_t>(_bytes, m.hint_index());
  put<std::int64_t>(_bytes, m.hint_term());
  put<std::uint64_t>(_bytes, m.context);
  put<std::uint32_t>(_bytes, static_cast<std::uint32_t>(m.entries.size()));
  for (const entry& e : m.entries)
    put_entry(_bytes, e);
  put<std::uint8_t>(_bytes, m.snapshot ? 1 : 0);
  if (m.snapshot) put_snapshot(_bytes, *m.snapshot);
  ++_count;
}

std::vector<std::byte> frame_builder::finish() {
  CAUDAL_ASSERT(_bytes.size() - 4 <= frame_bytes_max, "frame of {} bytes above the max {}",
                _bytes.size() - 4, frame_bytes_max);
  store_be<std::uint32_t>(_bytes.data() + frame_header_bytes + 6, _count);
  const auto body = std::span<const std::byte>(_bytes).subspan(frame_header_bytes);
  store_be<std::uint32_t>(_bytes.data(), static_cast<std::uint32_t>(_bytes.size() - 4));
  store_be<std::uint32_t>(_bytes.data() + 4, crc32c::value(body));
  std::vector<std::byte> out = std::move(_bytes);
  reset();
  return out;
}

std::size_t encoded_size(const message& m) {
  std::size_t n = message_fixed_bytes;
  for (const entry& e : m.entries)
    n += entry_fixed_bytes + e.data.size();
  if (m.snapshot) {
    n += snapshot_fixed_bytes + m.snapshot->data.size() +
         4 * (m.snapshot->membership.voters.size() + m.snapshot->membership.learners.size());
  }
  return n;
}

result<std::uint32_t> decode_frame_header(std::span<const std::byte> header, std::uint32_t& crc) {
  if (header.size() < frame_header_bytes) return driver_errc::truncated;
  const auto size = load_be<std::uint32_t>(header.data());
  if (size > frame_bytes_max) return driver_errc::frame_too_large;
  if (size < 4 + frame_body_header_bytes) return driver_errc::truncated;
  crc = load_be<std::uint32_t>(header.data() + 4);
  return size - 4;
}

result<frame> decode_frame_body(std::span<const std::byte> body, std::uint32_t crc) {
  if (crc32c::value(body) != crc) return driver_errc::corrupt;
  reader r(body);
  std::uint8_t version = 0;
  std::uint8_t flags = 0;
  std::int32_t from = 0;
  std::uint32_t count = 0;
  if (!r.get(version) || !r.get(flags) || !r.get(from) || !r.get(count))
    return driver_errc::truncated;
  if (version != wire_version) return driver_errc::unsupported_version;
  if (flags != 0) return driver_errc::corrupt;
  if (count > r.left() / message_fixed_bytes) return driver_errc::truncated;
  frame f;
  f.from = node_id(from);
  f.messages.resize(count);
  for (addressed_message& m : f.messages)
    CAUDAL_TRY(get_message(r, m));
  if (r.left() != 0) return driver_errc::corrupt;
  return f;
}

result<frame> decode_frame(std::span<const std::byte> bytes) {
  std::uint32_t crc = 0;
  auto size = decode_frame_header(bytes, crc);
  if (!size) return size.error();
  const auto body = bytes.subspan(frame_header_bytes);
  if (body.size() < *size) return driver_errc::truncated;
  if (body.size() > *size) return driver_errc::corrupt;
  return decode_frame_body(body, crc);
}

}  // namespace caudal::raft
