#include "base/batch_builder.h"

#include "base/varint.h"

#include <algorithm>
#include <array>

namespace caudal::batch {

builder::builder(options opts) : _options(opts) {
  CAUDAL_ASSERT((opts.attributes & compression_mask) == 0,
                "batch builder writes uncompressed batches only");
}

void builder::put_varint(std::int64_t v) {
  std::array<std::byte, varint::bytes_max_64> buf{};
  const auto n = varint::encode_i64(v, buf.data());
  _scratch.insert(_scratch.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n));
}

void builder::put_bytes(std::optional<std::span<const std::byte>> b) {
  if (!b) {
    put_varint(-1);
    return;
  }
  put_varint(static_cast<std::int64_t>(b->size()));
  _scratch.insert(_scratch.end(), b->begin(), b->end());
}

void builder::add(std::optional<std::span<const std::byte>> key,
                  std::optional<std::span<const std::byte>> value, std::int64_t timestamp_ms,
                  std::span<const record_header> headers) {
  if (_count == 0) _base_timestamp = timestamp_ms;
  _max_timestamp = std::max(_max_timestamp, timestamp_ms);
  _scratch.clear();
  _scratch.push_back(std::byte{0});  // record attributes, unused
  put_varint(timestamp_ms - _base_timestamp);
  put_varint(_count);  // offset delta
  put_bytes(key);
  put_bytes(value);
  put_varint(static_cast<std::int64_t>(headers.size()));
  for (const auto& h : headers) {
    put_bytes(h.key);
    put_bytes(h.value);
  }
  std::array<std::byte, varint::bytes_max_64> len{};
  const auto n = varint::encode_i64(static_cast<std::int64_t>(_scratch.size()), len.data());
  _records.insert(_records.end(), len.begin(), len.begin() + static_cast<std::ptrdiff_t>(n));
  _records.insert(_records.end(), _scratch.begin(), _scratch.end());
  ++_count;
}

std::vector<std::byte> builder::finish() {
  CAUDAL_ASSERT(_count > 0, "a batch needs at least one record");
  std::vector<std::byte> out(header_bytes + _records.size());
  std::byte* p = out.data();
  store_be<std::int64_t>(p + base_offset_pos, 0);
  store_be<std::int32_t>(p + batch_length_pos,
                         static_cast<std::int32_t>(out.size() - log_overhead));
  store_be<std::int32_t>(p + leader_epoch_pos, _options.leader_epoch);
  p[magic_pos] = static_cast<std::byte>(magic_v2);
  store_be<std::int16_t>(p + attributes_pos, _options.attributes);
  store_be<std::int32_t>(p + last_offset_delta_pos, _count - 1);
  store_be<std::int64_t>(p + base_timestamp_pos, _base_timestamp);
  store_be<std::int64_t>(p + max_timestamp_pos, _max_timestamp);
  store_be<std::int64_t>(p + producer_id_pos, _options.producer_id);
  store_be<std::int16_t>(p + producer_epoch_pos, _options.producer_epoch);
  store_be<std::int32_t>(p + base_sequence_pos, _options.base_sequence);
  store_be<std::int32_t>(p + records_count_pos, _count);
  std::copy(_records.begin(), _records.end(), out.begin() + header_bytes);
  store_be<std::uint32_t>(p + crc_pos, compute_crc(out));
  return out;
}

}  // namespace caudal::batch
