#include "base/record_reader.h"

#include "base/varint.h"

namespace caudal::batch {
namespace {

// A cursor over one record's bytes; every read checks what is left.
class cursor {
 public:
  explicit cursor(std::span<const std::byte> bytes) : _bytes(bytes) {}

  bool varint(std::int32_t& out) {
    auto d = varint::decode_i32(_bytes);
    if (!d) return false;
    out = d->value;
    _bytes = _bytes.subspan(d->size);
    return true;
  }
  bool varlong(std::int64_t& out) {
    auto d = varint::decode_i64(_bytes);
    if (!d) return false;
    out = d->value;
    _bytes = _bytes.subspan(d->size);
    return true;
  }
  bool skip(std::size_t n) {
    if (n > _bytes.size()) return false;
    _bytes = _bytes.subspan(n);
    return true;
  }
  bool nullable_bytes(std::optional<std::span<const std::byte>>& out) {
    std::int32_t len = 0;
    if (!varint(len)) return false;
    if (len < -1) return false;
    if (len == -1) {
      out.reset();
      return true;
    }
    const auto n = static_cast<std::size_t>(len);
    if (n > _bytes.size()) return false;
    out = _bytes.first(n);
    _bytes = _bytes.subspan(n);
    return true;
  }
  [[nodiscard]] std::span<const std::byte> rest() const { return _bytes; }

 private:
  std::span<const std::byte> _bytes;
};

}  // namespace

record_reader::record_reader(std::span<const std::byte> batch)
    : _rest(batch.subspan(header_bytes)), _remaining(header_view(batch).records_count()) {
  CAUDAL_ASSERT(header_view(batch).compression() == 0, "record_reader needs an uncompressed batch");
}

result<std::optional<record_view>> record_reader::next() {
  if (_remaining == 0) {
    if (!_rest.empty()) return errc::truncated;
    return std::optional<record_view>{};
  }
  cursor c(_rest);
  std::int32_t length = 0;
  if (!c.varint(length) || length < 0 || static_cast<std::size_t>(length) > c.rest().size()) {
    return errc::truncated;
  }
  const auto after = c.rest().subspan(static_cast<std::size_t>(length));
  cursor r(c.rest().first(static_cast<std::size_t>(length)));
  record_view v{};
  if (!r.skip(1) || !r.varlong(v.timestamp_delta) || !r.varint(v.offset_delta) ||
      !r.nullable_bytes(v.key) || !r.nullable_bytes(v.value) || !r.varint(v.header_count) ||
      v.header_count < 0) {
    return errc::truncated;
  }
  const auto headers_start = r.rest();
  for (std::int32_t i = 0; i < v.header_count; ++i) {
    std::optional<std::span<const std::byte>> key;
    std::optional<std::span<const std::byte>> value;
    if (!r.nullable_bytes(key) || !key || !r.nullable_bytes(value)) return errc::truncated;
  }
  if (!r.rest().empty()) return errc::truncated;
  v.headers = headers_start;
  _rest = after;
  --_remaining;
  return std::optional<record_view>(v);
}

std::optional<std::int16_t> control_type(std::span<const std::byte> batch) {
  const header_view h(batch);
  if (!h.is_control() || h.compression() != 0) return std::nullopt;
  record_reader reader(batch);
  auto first = reader.next();
  if (!first || !*first || !(*first)->key || (*first)->key->size() < 4) return std::nullopt;
  return load_be<std::int16_t>((*first)->key->data() + 2);
}

}  // namespace caudal::batch
