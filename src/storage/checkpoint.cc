#include "storage/checkpoint.h"

#include "base/bytes.h"
#include "base/crc32c.h"
#include "storage/errc.h"
#include "storage/file.h"

#include <array>

namespace caudal::storage {
namespace {

constexpr std::uint32_t magic = 0x43444C43;  // "CDLC"
constexpr std::uint16_t version = 1;
constexpr std::size_t checkpoint_bytes = 4 + 2 + 8 + 8 + 4;

}  // namespace

result<void> write_checkpoint(const std::filesystem::path& dir, checkpoint c) {
  std::array<std::byte, checkpoint_bytes> out{};
  store_be(out.data(), magic);
  store_be(out.data() + 4, version);
  store_be(out.data() + 6, c.recovery_point());
  store_be(out.data() + 14, c.log_start());
  store_be(out.data() + 22, crc32c::value(std::span(out).first(22)));
  return write_file_atomic(dir / checkpoint_file_name, out);
}

result<checkpoint> read_checkpoint(const std::filesystem::path& dir) {
  auto bytes = read_whole_file(dir / checkpoint_file_name);
  if (!bytes) return bytes.error();
  const auto& b = *bytes;
  if (b.size() != checkpoint_bytes || load_be<std::uint32_t>(b.data()) != magic ||
      load_be<std::uint16_t>(b.data() + 4) != version ||
      load_be<std::uint32_t>(b.data() + 22) != crc32c::value(std::span(b).first(22))) {
    return errc::bad_checkpoint;
  }
  checkpoint c{kafka_offset(load_be<std::int64_t>(b.data() + 6)),
               kafka_offset(load_be<std::int64_t>(b.data() + 14))};
  if (c.recovery_point() < 0 || c.log_start() < 0) return errc::bad_checkpoint;
  return c;
}

}  // namespace caudal::storage
