#include "raft/driver/file_log.h"

#include "base/assert.h"
#include "base/bytes.h"
#include "base/crc32c.h"
#include "base/logging.h"
#include "storage/errc.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <system_error>
#include <utility>

namespace caudal::raft {
namespace {

constexpr std::array<char, log_file_header_bytes> log_magic = {'C', 'R', 'A', 'F',
                                                               'T', 'L', 'G', '1'};
constexpr std::uint32_t hard_state_magic = 0x43524853;  // "CRHS"
constexpr std::uint8_t hard_state_version = 1;
constexpr std::size_t hard_state_bytes = 4 + 1 + 8 + 4 + 4;
constexpr auto entry_kind_max = static_cast<std::uint8_t>(entry_kind::membership);
// A record whose size field claims more than this is garbage, not a real entry: entries
// are at most config::entry_bytes_max (1 MiB by default) and this leaves wide room.
constexpr std::uint32_t record_bytes_max = 64U << 20;
static_assert(log_record_fixed_bytes == 4 + 4 + 8 + 8 + 1);

constexpr const char* log_file_name = "raft.log";
constexpr const char* hard_state_file_name = "hard_state";

std::vector<std::byte> encode_hard_state(const hard_state& hs) {
  std::vector<std::byte> out(hard_state_bytes);
  store_be<std::uint32_t>(out.data(), hard_state_magic);
  store_be<std::uint8_t>(out.data() + 4, hard_state_version);
  store_be<std::int64_t>(out.data() + 5, hs.term());
  store_be<std::int32_t>(out.data() + 13, hs.voted_for());
  const std::uint32_t crc = crc32c::value(std::span<const std::byte>(out).first(17));
  store_be<std::uint32_t>(out.data() + 17, crc);
  return out;
}

result<hard_state> decode_hard_state(std::span<const std::byte> in) {
  if (in.size() != hard_state_bytes) return storage::errc::corrupt;
  if (load_be<std::uint32_t>(in.data()) != hard_state_magic) return storage::errc::corrupt;
  if (load_be<std::uint8_t>(in.data() + 4) != hard_state_version) return storage::errc::corrupt;
  if (crc32c::value(in.first(17)) != load_be<std::uint32_t>(in.data() + 17))
    return storage::errc::corrupt;
  return hard_state{term_id(load_be<std::int64_t>(in.data() + 5)),
                    node_id(load_be<std::int32_t>(in.data() + 13))};
}

// Returns the record's CRC, which seeds the next record's: the CRCs form a chain.
std::uint32_t encode_record(const entry& e, std::uint32_t previous_crc,
                            std::vector<std::byte>& out) {
  const std::size_t at = out.size();
  out.resize(at + log_record_fixed_bytes);
  std::byte* p = out.data() + at;
  store_be<std::uint32_t>(p + 4,
                          static_cast<std::uint32_t>(log_record_fixed_bytes - 8 + e.data.size()));
  store_be<std::int64_t>(p + 8, e.term());
  store_be<std::int64_t>(p + 16, e.index());
  store_be<std::uint8_t>(p + 24, static_cast<std::uint8_t>(e.kind));
  out.insert(out.end(), e.data.begin(), e.data.end());
  const auto covered = std::span<const std::byte>(out).subspan(at + 4);
  const std::uint32_t crc = crc32c::extend(previous_crc, covered);
  store_be<std::uint32_t>(out.data() + at, crc);
  return crc;
}

}  // namespace

file_log::file_log(std::filesystem::path dir, storage::file log_file)
    : _dir(std::move(dir)), _file(std::move(log_file)) {}

result<std::unique_ptr<file_log>> file_log::open(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return ec;
  auto f = storage::file::open(dir / log_file_name, storage::file::mode::read_write_create);
  if (!f) return f.error();
  std::unique_ptr<file_log> log(new file_log(dir, std::move(*f)));
  CAUDAL_TRY(log->recover());
  return log;
}

result<void> file_log::recover() {
  const auto hs_path = _dir / hard_state_file_name;
  if (std::filesystem::exists(hs_path)) {
    auto bytes = storage::read_whole_file(hs_path);
    if (!bytes) return bytes.error();
    auto hs = decode_hard_state(*bytes);
    if (!hs) return hs.error();
    _recovered = *hs;
  }

  auto size = _file.size();
  if (!size) return size.error();
  std::vector<std::byte> all(*size);
  auto got = _file.read_at(0, all);
  if (!got) return got.error();
  all.resize(*got);

  const bool has_header = all.size() >= log_file_header_bytes &&
                          std::memcmp(all.data(), log_magic.data(), log_file_header_bytes) == 0;
  if (!has_header) {
    // Empty, or a crash while creating the file: nothing can have been acknowledged from
    // it (sync writes the header before any record), so start it afresh.
    if (all.size() > log_file_header_bytes)
      spdlog::warn("raft: {} has no log header; starting an empty log", _dir.string());
    CAUDAL_TRY(_file.truncate(0));
    CAUDAL_TRY(_file.write_at(0, std::as_bytes(std::span(log_magic))));
    CAUDAL_TRY(_file.sync_data());
    CAUDAL_TRY(storage::sync_directory(_dir));  // the new file's name must survive too
    _torn_bytes = all.size();
    _end = log_file_header_bytes;
    return ok();
  }

  std::uint64_t at = log_file_header_bytes;
  while (at + log_record_fixed_bytes <= all.size()) {
    const std::byte* p = all.data() + at;
    const auto size_field = load_be<std::uint32_t>(p + 4);
    if (size_field < log_record_fixed_bytes - 8 || size_field > record_bytes_max) break;
    if (at + 8 + size_field > all.size()) break;  // torn: the record did not fully land
    const auto covered = std::span<const std::byte>(p + 4, 4 + size_field);
    const std::uint32_t crc = crc32c::extend(last_crc(), covered);
    if (crc != load_be<std::uint32_t>(p)) break;
    entry e;
    e.term = term_id(load_be<std::int64_t>(p + 8));
    e.index = log_index(load_be<std::int64_t>(p + 16));
    const auto kind = load_be<std::uint8_t>(p + 24);
    // A record that does not continue the log cannot be one we wrote after the last
    // accepted one: treat it as the start of the damaged tail.
    if (kind > entry_kind_max || e.index != last_index() + 1 || e.term < term_at(last_index()))
      break;
    e.kind = static_cast<entry_kind>(kind);
    e.data.assign(p + log_record_fixed_bytes, p + 8 + size_field);
    _positions.push_back(at);
    _crcs.push_back(crc);
    _entries.push_back(std::move(e));
    at += 8 + size_field;
  }
  _end = at;
  if (at < all.size()) {
    _torn_bytes = all.size() - at;
    spdlog::warn("raft: {}: cutting {} bytes of torn or corrupt tail after index {}", _dir.string(),
                 _torn_bytes, last_index());
    CAUDAL_TRY(_file.truncate(at));
    CAUDAL_TRY(_file.sync_data());
  }
  return ok();
}

std::uint32_t file_log::last_crc() const {
  return _crcs.empty() ? 0 : _crcs.back();
}

log_index file_log::last_index() const {
  return log_index(static_cast<std::int64_t>(_entries.size()));
}

term_id file_log::term_at(log_index index) const {
  CAUDAL_ASSERT(index() >= 0 && index <= last_index(), "term_at({}) outside [0, {}]", index,
                last_index());
  if (index() == 0) return term_id(0);
  return _entries[static_cast<std::size_t>(index() - 1)].term;
}

void file_log::read(log_index first, log_index last_inclusive, std::size_t bytes_max,
                    std::vector<entry>& out) const {
  CAUDAL_ASSERT(first() >= 1 && first <= last_inclusive && last_inclusive <= last_index(),
                "read [{}, {}] outside [1, {}]", first, last_inclusive, last_index());
  std::size_t bytes = 0;
  for (log_index i = first; i <= last_inclusive; i = i + 1) {
    const entry& e = _entries[static_cast<std::size_t>(i() - 1)];
    if (i > first && bytes + e.data.size() > bytes_max) break;
    bytes += e.data.size();
    out.push_back(e);
  }
}

result<void> file_log::write(std::optional<log_index> truncate_from,
                             const std::vector<entry>& entries) {
  if (truncate_from && *truncate_from <= last_index()) {
    CAUDAL_ASSERT((*truncate_from)() >= 1, "truncate from {}", *truncate_from);
    const auto keep = static_cast<std::size_t>((*truncate_from)() - 1);
    _end = _positions[keep];
    _entries.resize(keep);
    _positions.resize(keep);
    _crcs.resize(keep);
    CAUDAL_TRY(_file.truncate(_end));
  }
  if (entries.empty()) return ok();
  std::vector<std::byte> bytes;
  std::uint64_t at = _end;
  for (const entry& e : entries) {
    CAUDAL_ASSERT(e.index == last_index() + 1, "append of index {} after {}", e.index,
                  last_index());
    _positions.push_back(at + bytes.size());
    _crcs.push_back(encode_record(e, last_crc(), bytes));
    _entries.push_back(e);
  }
  CAUDAL_TRY(_file.write_at(at, bytes));
  _end = at + bytes.size();
  return ok();
}

result<void> file_log::sync(const std::optional<hard_state>& term_and_vote) const {
  if (term_and_vote) {
    const auto bytes = encode_hard_state(*term_and_vote);
    CAUDAL_TRY(storage::write_file_atomic(_dir / hard_state_file_name, bytes));
  }
  return _file.sync_data();
}

}  // namespace caudal::raft
