#include "group/offsets_records.h"

#include "base/bytes.h"
#include "base/record_batch.h"

namespace caudal::group {
namespace {

constexpr std::int16_t offset_key_version = 1;
constexpr std::int16_t group_key_version = 2;
constexpr std::int16_t offset_value_version = 3;
constexpr std::int16_t group_value_version = 3;

// Big-endian writer of Kafka's classic (non-flexible) primitives.
class out {
 public:
  template <class T>
  void integer(T v) {
    const std::size_t at = _bytes.size();
    _bytes.resize(at + sizeof(T));
    store_be<T>(_bytes.data() + at, v);
  }
  void string(std::string_view s) {
    integer<std::int16_t>(static_cast<std::int16_t>(s.size()));
    const auto* p = reinterpret_cast<const std::byte*>(s.data());
    _bytes.insert(_bytes.end(), p, p + s.size());
  }
  void nullable_string(const std::optional<std::string>& s) {
    if (!s) {
      integer<std::int16_t>(-1);
      return;
    }
    string(*s);
  }
  void bytes(std::span<const std::byte> b) {
    integer<std::int32_t>(static_cast<std::int32_t>(b.size()));
    _bytes.insert(_bytes.end(), b.begin(), b.end());
  }
  std::vector<std::byte> release() { return std::move(_bytes); }

 private:
  std::vector<std::byte> _bytes;
};

// Bounds-checked reader; any short read sets `bad` and yields zero values.
class in {
 public:
  explicit in(std::span<const std::byte> b) : _rest(b) {}
  template <class T>
  T integer() {
    if (_rest.size() < sizeof(T)) {
      bad = true;
      return T{};
    }
    const T v = load_be<T>(_rest.data());
    _rest = _rest.subspan(sizeof(T));
    return v;
  }
  std::optional<std::string> nullable_string() {
    const auto n = integer<std::int16_t>();
    if (n < 0) return std::nullopt;
    if (_rest.size() < static_cast<std::size_t>(n)) {
      bad = true;
      return std::string();
    }
    std::string s(reinterpret_cast<const char*>(_rest.data()), static_cast<std::size_t>(n));
    _rest = _rest.subspan(static_cast<std::size_t>(n));
    return s;
  }
  std::string string() { return nullable_string().value_or(""); }
  std::vector<std::byte> bytes() {
    const auto n = integer<std::int32_t>();
    if (n < 0) return {};
    if (_rest.size() < static_cast<std::size_t>(n)) {
      bad = true;
      return {};
    }
    std::vector<std::byte> b(_rest.begin(), _rest.begin() + n);
    _rest = _rest.subspan(static_cast<std::size_t>(n));
    return b;
  }
  bool bad = false;

 private:
  std::span<const std::byte> _rest;
};

std::error_code malformed() {
  return batch::make_error_code(batch::errc::truncated);
}

}  // namespace

std::vector<std::byte> encode_key(const offset_key& k) {
  out o;
  o.integer<std::int16_t>(offset_key_version);
  o.string(k.group);
  o.string(k.topic);
  o.integer<std::int32_t>(k.partition);
  return o.release();
}

std::vector<std::byte> encode_key(const group_key& k) {
  out o;
  o.integer<std::int16_t>(group_key_version);
  o.string(k.group);
  return o.release();
}

std::vector<std::byte> encode_value(const committed_offset& v) {
  out o;
  o.integer<std::int16_t>(offset_value_version);
  o.integer<std::int64_t>(v.offset);
  o.integer<std::int32_t>(v.leader_epoch);
  o.string(v.metadata);
  o.integer<std::int64_t>(v.commit_timestamp_ms);
  return o.release();
}

std::vector<std::byte> encode_value(const group_description& g) {
  out o;
  o.integer<std::int16_t>(group_value_version);
  o.string(g.protocol_type.value_or(""));
  o.integer<std::int32_t>(g.generation);
  o.nullable_string(g.protocol_name);
  o.nullable_string(g.leader);
  o.integer<std::int64_t>(g.state_timestamp_ms);
  o.integer<std::int32_t>(static_cast<std::int32_t>(g.members.size()));
  for (const auto& m : g.members) {
    o.string(m.member_id);
    o.nullable_string(m.instance_id);
    o.string(m.client_id);
    o.string(m.client_host);
    o.integer<std::int32_t>(m.rebalance_timeout_ms);
    o.integer<std::int32_t>(m.session_timeout_ms);
    o.bytes(m.metadata);
    o.bytes(m.assignment);
  }
  return o.release();
}

result<record_key> decode_key(std::span<const std::byte> bytes) {
  in i(bytes);
  const auto version = i.integer<std::int16_t>();
  if (i.bad) return malformed();
  if (version == 0 || version == 1) {
    offset_key k;
    k.group = i.string();
    k.topic = i.string();
    k.partition = i.integer<std::int32_t>();
    if (i.bad) return malformed();
    return record_key(std::move(k));
  }
  if (version == 2) {
    group_key k;
    k.group = i.string();
    if (i.bad) return malformed();
    return record_key(std::move(k));
  }
  return malformed();
}

result<committed_offset> decode_offset_value(std::span<const std::byte> bytes) {
  in i(bytes);
  committed_offset v;
  const auto version = i.integer<std::int16_t>();
  if (version < 0 || version > 3) return malformed();
  v.offset = i.integer<std::int64_t>();
  if (version >= 3) v.leader_epoch = i.integer<std::int32_t>();
  v.metadata = i.string();
  v.commit_timestamp_ms = i.integer<std::int64_t>();
  if (version == 1) (void)i.integer<std::int64_t>();  // expire timestamp: not used
  if (i.bad) return malformed();
  return v;
}

result<group_description> decode_group_value(const std::string& group_id,
                                             std::span<const std::byte> bytes) {
  in i(bytes);
  group_description g;
  g.group_id = group_id;
  const auto version = i.integer<std::int16_t>();
  if (version < 0 || version > 3) return malformed();
  const std::string type = i.string();
  if (!type.empty()) g.protocol_type = type;
  g.generation = i.integer<std::int32_t>();
  g.protocol_name = i.nullable_string();
  g.leader = i.nullable_string();
  if (version >= 2) g.state_timestamp_ms = i.integer<std::int64_t>();
  const auto count = i.integer<std::int32_t>();
  if (i.bad || count < 0) return malformed();
  for (std::int32_t n = 0; n < count && !i.bad; ++n) {
    member_description m;
    m.member_id = i.string();
    if (version >= 3) m.instance_id = i.nullable_string();
    m.client_id = i.string();
    m.client_host = i.string();
    m.rebalance_timeout_ms = version >= 1 ? i.integer<std::int32_t>() : 0;
    m.session_timeout_ms = i.integer<std::int32_t>();
    if (version == 0) m.rebalance_timeout_ms = m.session_timeout_ms;
    m.metadata = i.bytes();
    m.assignment = i.bytes();
    g.members.push_back(std::move(m));
  }
  if (i.bad) return malformed();
  g.state = g.members.empty() ? group_state::empty : group_state::stable;
  return g;
}

}  // namespace caudal::group
