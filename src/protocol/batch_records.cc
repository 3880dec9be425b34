#include "protocol/batch_records.h"

#include "base/bytes.h"
#include "protocol/compression.h"

#include <string>
#include <utility>

namespace caudal::protocol {
namespace {

class category final : public std::error_category {
 public:
  [[nodiscard]] const char* name() const noexcept override { return "batch_records"; }
  [[nodiscard]] std::string message(int value) const override {
    switch (static_cast<records_errc>(value)) {
      case records_errc::malformed_record:
        return "record malformed, or record count does not match the records";
      case records_errc::bad_offset_delta:
        return "record offset deltas are not 0..n-1 in order";
    }
    return "unknown batch_records error";
  }
};

/// The batch's size per its header, after the checks every walk needs: enough bytes, a
/// plausible batchLength, magic 2, codec 0-4, recordsCount >= 0. The CRC is not checked.
result<std::size_t> checked_size(std::span<const std::byte> batch) {
  if (batch.size() < batch::header_bytes) return batch::errc::truncated;
  const batch::header_view h(batch);
  if (h.batch_length() < static_cast<std::int32_t>(batch::header_bytes - batch::log_overhead)) {
    return batch::errc::bad_length;
  }
  if (h.magic() != batch::magic_v2) return batch::errc::bad_magic;
  if (h.size_bytes() > batch.size()) return batch::errc::truncated;
  if (!to_compression_codec(h.compression())) return batch::errc::bad_compression;
  if (h.records_count() < 0) return batch::errc::bad_record_count;
  return h.size_bytes();
}

}  // namespace

const std::error_category& records_error_category() noexcept {
  static const category instance;
  return instance;
}

result<batch_records> batch_records::open(std::span<const std::byte> batch,
                                          std::size_t decompressed_max,
                                          std::vector<std::byte> scratch) {
  auto size = checked_size(batch);
  if (!size) return size.error();
  const auto whole = batch.first(*size);
  const auto codec = *to_compression_codec(batch::header_view(whole).compression());
  if (codec == compression_codec::none) return batch_records({}, whole);

  // A copy of the header with the codec bits cleared, then the decompressed records: the
  // uncompressed batch record_reader knows how to walk (batchLength is left stale: nothing
  // reads it).
  std::vector<std::byte> buffer = std::move(scratch);
  buffer.assign(whole.begin(), whole.begin() + batch::header_bytes);
  const auto attributes = batch::header_view(buffer).attributes();
  store_be<std::int16_t>(buffer.data() + batch::attributes_pos,
                         static_cast<std::int16_t>(attributes & ~batch::compression_mask));
  CAUDAL_TRY(
      decompress_append(codec, whole.subspan(batch::header_bytes), decompressed_max, buffer));
  const std::span<const std::byte> walked(buffer);
  return batch_records(std::move(buffer), walked);
}

result<std::optional<batch::record_view>> batch_records::next() {
  auto r = _reader.next();
  if (!r) return records_errc::malformed_record;
  return *r;
}

result<void> validate_records(std::span<const std::byte> batch, std::size_t decompressed_max) {
  auto size = checked_size(batch);
  if (!size) return size.error();
  if (*size != batch.size()) return batch::errc::trailing_bytes;
  const batch::header_view h(batch);
  const std::int32_t count = h.records_count();
  if (count <= 0 || static_cast<std::int64_t>(h.last_offset_delta()) + 1 != count) {
    return batch::errc::bad_record_count;
  }
  // One decompression buffer per thread, kept between batches: a fresh one per batch came
  // from mmap once it grew large, and faulting its pages in and unmapping them again was the
  // broker's largest cost on lz4 produce (bench/RESULTS.md). Past scratch_bytes_max it is let
  // go, so one odd huge batch does not pin its memory.
  constexpr std::size_t scratch_bytes_max = 16 << 20;
  thread_local std::vector<std::byte> scratch;
  auto records = batch_records::open(batch, decompressed_max, std::exchange(scratch, {}));
  if (!records) return records.error();
  std::int32_t expected = 0;
  for (;;) {
    auto r = records->next();
    if (!r) return r.error();
    if (!r->has_value()) break;
    if ((*r)->offset_delta != expected) return records_errc::bad_offset_delta;
    ++expected;
  }
  // record_reader stops after exactly recordsCount records and fails on bytes left over.
  CAUDAL_ASSERT(expected == count, "walked {} records of {}", expected, count);
  auto buffer = std::move(*records).take_buffer();
  if (buffer.capacity() <= scratch_bytes_max) scratch = std::move(buffer);
  return ok();
}

}  // namespace caudal::protocol
