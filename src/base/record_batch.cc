#include "base/record_batch.h"

#include "base/crc32c.h"

#include <string>

namespace caudal::batch {
namespace {

class category final : public std::error_category {
 public:
  [[nodiscard]] const char* name() const noexcept override { return "record_batch"; }
  [[nodiscard]] std::string message(int value) const override {
    switch (static_cast<errc>(value)) {
      case errc::truncated:
        return "record batch truncated";
      case errc::bad_length:
        return "record batch length out of bounds";
      case errc::bad_magic:
        return "record batch magic is not 2";
      case errc::bad_crc:
        return "record batch CRC mismatch";
      case errc::bad_record_count:
        return "record batch record count inconsistent";
      case errc::bad_compression:
        return "record batch compression codec invalid";
      case errc::trailing_bytes:
        return "bytes after the record batch";
    }
    return "unknown record batch error";
  }
};

}  // namespace

const std::error_category& error_category() noexcept {
  static const category instance;
  return instance;
}

std::uint32_t compute_crc(std::span<const std::byte> bytes) {
  CAUDAL_ASSERT(bytes.size() >= header_bytes, "CRC of a {}-byte batch", bytes.size());
  return crc32c::value(bytes.subspan(crc_start));
}

result<std::size_t> validate_prefix(std::span<const std::byte> bytes, std::size_t size_max,
                                    count_check check) {
  // The magic sits at the same place in every format, so check it before trusting the
  // rest of the header's layout.
  if (bytes.size() < magic_pos + 1) return errc::truncated;
  const std::int32_t length = load_be<std::int32_t>(bytes.data() + batch_length_pos);
  if (length < static_cast<std::int32_t>(header_bytes - log_overhead)) return errc::bad_length;
  const std::size_t size = static_cast<std::size_t>(length) + log_overhead;
  if (size > size_max) return errc::bad_length;
  if (static_cast<std::int8_t>(bytes[magic_pos]) != magic_v2) return errc::bad_magic;
  if (bytes.size() < size) return errc::truncated;
  const auto whole = bytes.first(size);
  const header_view h(whole);
  if (h.compression() > compression_max) return errc::bad_compression;
  const std::int32_t count = h.records_count();
  const std::int32_t delta = h.last_offset_delta();
  if (delta < 0) return errc::bad_record_count;
  if (check == count_check::fresh) {
    if (count <= 0 || static_cast<std::int64_t>(delta) + 1 != count) return errc::bad_record_count;
  } else if (count < 0 || static_cast<std::int64_t>(count) > static_cast<std::int64_t>(delta) + 1) {
    return errc::bad_record_count;
  }
  if (compute_crc(whole) != h.crc()) return errc::bad_crc;
  return size;
}

result<void> validate(std::span<const std::byte> bytes, std::size_t size_max, count_check check) {
  auto size = validate_prefix(bytes, size_max, check);
  if (!size) return size.error();
  if (*size != bytes.size()) return errc::trailing_bytes;
  return ok();
}

}  // namespace caudal::batch
