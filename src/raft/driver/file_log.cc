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

constexpr std::uint32_t snapshot_magic = 0x4352534E;  // "CRSN"
constexpr std::uint8_t snapshot_version = 1;
constexpr const char* snapshot_file_name = "snapshot";

void put_ids(std::vector<std::byte>& out, const std::vector<node_id>& ids) {
  const std::size_t at = out.size();
  out.resize(at + 4 + 4 * ids.size());
  store_be<std::uint32_t>(out.data() + at, static_cast<std::uint32_t>(ids.size()));
  for (std::size_t i = 0; i < ids.size(); ++i)
    store_be<std::int32_t>(out.data() + at + 4 + 4 * i, ids[i]());
}

std::vector<std::byte> encode_snapshot(const snapshot& s) {
  std::vector<std::byte> out(4 + 1 + 8 + 8);
  store_be<std::uint32_t>(out.data(), snapshot_magic);
  store_be<std::uint8_t>(out.data() + 4, snapshot_version);
  store_be<std::int64_t>(out.data() + 5, s.index());
  store_be<std::int64_t>(out.data() + 13, s.term());
  put_ids(out, s.membership.voters);
  put_ids(out, s.membership.learners);
  const std::size_t at = out.size();
  out.resize(at + 4);
  store_be<std::uint32_t>(out.data() + at, static_cast<std::uint32_t>(s.data.size()));
  out.insert(out.end(), s.data.begin(), s.data.end());
  const std::uint32_t crc = crc32c::value(out);
  out.resize(out.size() + 4);
  store_be<std::uint32_t>(out.data() + out.size() - 4, crc);
  return out;
}

[[nodiscard]] bool get_ids(std::span<const std::byte>& in, std::vector<node_id>& ids) {
  if (in.size() < 4) return false;
  const auto count = load_be<std::uint32_t>(in.data());
  in = in.subspan(4);
  if (count > in.size() / 4) return false;
  for (std::uint32_t i = 0; i < count; ++i)
    ids.push_back(node_id(load_be<std::int32_t>(in.data() + 4 * i)));
  in = in.subspan(4 * std::size_t{count});
  return true;
}

// The snapshot file is replaced whole, so any damage is corruption, not a torn write.
result<std::shared_ptr<const snapshot>> decode_snapshot(std::span<const std::byte> in) {
  if (in.size() < 4 + 1 + 8 + 8 + 4 + 4 + 4 + 4) return storage::errc::corrupt;
  const auto body = in.first(in.size() - 4);
  if (crc32c::value(body) != load_be<std::uint32_t>(in.data() + in.size() - 4))
    return storage::errc::corrupt;
  if (load_be<std::uint32_t>(body.data()) != snapshot_magic) return storage::errc::corrupt;
  if (load_be<std::uint8_t>(body.data() + 4) != snapshot_version) return storage::errc::corrupt;
  auto s = std::make_shared<snapshot>();
  s->index = log_index(load_be<std::int64_t>(body.data() + 5));
  s->term = term_id(load_be<std::int64_t>(body.data() + 13));
  auto rest = body.subspan(21);
  if (!get_ids(rest, s->membership.voters) || !get_ids(rest, s->membership.learners))
    return storage::errc::corrupt;
  if (rest.size() < 4) return storage::errc::corrupt;
  const auto size = load_be<std::uint32_t>(rest.data());
  rest = rest.subspan(4);
  if (rest.size() != size) return storage::errc::corrupt;
  s->data.assign(rest.begin(), rest.end());
  return std::shared_ptr<const snapshot>(std::move(s));
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
    : _dir(std::move(dir)), _file(std::make_shared<storage::file>(std::move(log_file))) {}

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
  // A rewrite that crashed before its rename left this; the log file itself is whole.
  std::error_code ignored;
  std::filesystem::remove(_dir / (std::string(log_file_name) + ".rewrite"), ignored);
  const auto hs_path = _dir / hard_state_file_name;
  if (std::filesystem::exists(hs_path)) {
    auto bytes = storage::read_whole_file(hs_path);
    if (!bytes) return bytes.error();
    auto hs = decode_hard_state(*bytes);
    if (!hs) return hs.error();
    _recovered = *hs;
  }
  const auto snapshot_path = _dir / snapshot_file_name;
  if (std::filesystem::exists(snapshot_path)) {
    auto bytes = storage::read_whole_file(snapshot_path);
    if (!bytes) return bytes.error();
    auto snap = decode_snapshot(*bytes);
    if (!snap) return snap.error();
    _snapshot = std::move(*snap);
  }

  auto size = _file->size();
  if (!size) return size.error();
  std::vector<std::byte> all(*size);
  auto got = _file->read_at(0, all);
  if (!got) return got.error();
  all.resize(*got);

  const bool has_header = all.size() >= log_file_header_bytes &&
                          std::memcmp(all.data(), log_magic.data(), log_file_header_bytes) == 0;
  if (!has_header) {
    // Empty, or a crash while creating the file: nothing can have been acknowledged from
    // it (sync writes the header before any record), so start it afresh.
    if (all.size() > log_file_header_bytes)
      spdlog::warn("raft: {} has no log header; starting an empty log", _dir.string());
    _torn_bytes = all.size();
    CAUDAL_TRY(reset_file());
    CAUDAL_TRY(_file->sync_data());
    return storage::sync_directory(_dir);  // the new file's name must survive too
  }

  // The records are contiguous from the first one's index: 1, or at most one past the
  // snapshot (an install restarts the file there). With a snapshot, they continue it if
  // they start right after it or hold its last entry with its term.
  const log_index first_allowed = first_index();
  bool continues_snapshot = _snapshot == nullptr;
  std::uint64_t at = log_file_header_bytes;
  std::uint32_t previous_crc = 0;
  log_index previous_index{0};
  term_id previous_term{0};
  while (at + log_record_fixed_bytes <= all.size()) {
    const std::byte* p = all.data() + at;
    const auto size_field = load_be<std::uint32_t>(p + 4);
    if (size_field < log_record_fixed_bytes - 8 || size_field > record_bytes_max) break;
    if (at + 8 + size_field > all.size()) break;  // torn: the record did not fully land
    const auto covered = std::span<const std::byte>(p + 4, 4 + size_field);
    const std::uint32_t crc = crc32c::extend(previous_crc, covered);
    if (crc != load_be<std::uint32_t>(p)) break;
    entry e;
    e.term = term_id(load_be<std::int64_t>(p + 8));
    e.index = log_index(load_be<std::int64_t>(p + 16));
    const auto kind = load_be<std::uint8_t>(p + 24);
    // A record that does not continue the log cannot be one we wrote after the last
    // accepted one: treat it as the start of the damaged tail.
    const bool continues = previous_index() == 0
                               ? e.index() >= 1 && e.index <= first_allowed
                               : e.index == previous_index + 1 && e.term >= previous_term;
    if (kind > entry_kind_max || !continues) break;
    if (_snapshot && e.index == _snapshot->index) {
      if (e.term != _snapshot->term) break;  // the rest is dropped below
      continues_snapshot = true;
    }
    if (_snapshot && previous_index() == 0 && e.index == first_allowed) continues_snapshot = true;
    e.kind = static_cast<entry_kind>(kind);
    e.data.assign(p + log_record_fixed_bytes, p + 8 + size_field);
    previous_index = e.index;
    previous_term = e.term;
    previous_crc = crc;
    if (e.index < first_allowed) {
      _base_crc = crc;  // compacted: the snapshot stands in for it
    } else {
      _positions.push_back(at);
      _crcs.push_back(crc);
      _entries.push_back(std::move(e));
    }
    at += 8 + size_field;
  }
  _end = at;
  if (!continues_snapshot && previous_index() != 0) {
    // The records end before the snapshot's index, or hold another term there (an
    // install that crashed before emptying the file): they are not the log after the
    // snapshot, and new entries must not follow them.
    spdlog::warn("raft: {}: dropping log records up to {} that do not continue snapshot {}",
                 _dir.string(), previous_index, _snapshot->index);
    CAUDAL_TRY(reset_file());
    return _file->sync_data();
  }
  if (at < all.size()) {
    _torn_bytes = all.size() - at;
    spdlog::warn("raft: {}: cutting {} bytes of torn or corrupt tail after index {}", _dir.string(),
                 _torn_bytes, previous_index);
    CAUDAL_TRY(_file->truncate(at));
    CAUDAL_TRY(_file->sync_data());
  }
  return ok();
}

result<void> file_log::reset_file() {
  _entries.clear();
  _positions.clear();
  _crcs.clear();
  _base_crc = 0;
  _end = log_file_header_bytes;
  CAUDAL_TRY(_file->truncate(0));
  return _file->write_at(0, std::as_bytes(std::span(log_magic)));
}

std::uint32_t file_log::last_crc() const {
  return _crcs.empty() ? _base_crc : _crcs.back();
}

log_index file_log::first_index() const {
  return _snapshot ? _snapshot->index + 1 : log_index(1);
}

log_index file_log::last_index() const {
  return first_index() + static_cast<std::int64_t>(_entries.size()) - 1;
}

term_id file_log::term_at(log_index index) const {
  const log_index first = first_index();
  CAUDAL_ASSERT(index >= first - 1 && index <= last_index(), "term_at({}) outside [{}, {}]", index,
                first - 1, last_index());
  if (index == first - 1) return _snapshot ? _snapshot->term : term_id(0);
  return _entries[static_cast<std::size_t>(index - first)].term;
}

void file_log::read(log_index first, log_index last_inclusive, std::size_t bytes_max,
                    std::vector<entry>& out) const {
  const log_index base = first_index();
  CAUDAL_ASSERT(first >= base && first <= last_inclusive && last_inclusive <= last_index(),
                "read [{}, {}] outside [{}, {}]", first, last_inclusive, base, last_index());
  std::size_t bytes = 0;
  for (log_index i = first; i <= last_inclusive; i = i + 1) {
    const entry& e = _entries[static_cast<std::size_t>(i - base)];
    if (i > first && bytes + e.data.size() > bytes_max) break;
    bytes += e.data.size();
    out.push_back(e);
  }
}

result<void> file_log::write(std::optional<log_index> truncate_from,
                             const std::vector<entry>& entries) {
  if (truncate_from && *truncate_from <= last_index()) {
    CAUDAL_ASSERT(*truncate_from >= first_index(), "truncate from {} below the log start {}",
                  *truncate_from, first_index());
    const auto keep = static_cast<std::size_t>(*truncate_from - first_index());
    _end = _positions[keep];
    _entries.resize(keep);
    _positions.resize(keep);
    _crcs.resize(keep);
    CAUDAL_TRY(_file->truncate(_end));
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
  CAUDAL_TRY(_file->write_at(at, bytes));
  _end = at + bytes.size();
  return ok();
}

result<void> file_log::write_snapshot(const snapshot& s) const {
  return storage::write_file_atomic(_dir / snapshot_file_name, encode_snapshot(s));
}

result<void> file_log::compact(std::shared_ptr<const snapshot> s) {
  CAUDAL_ASSERT(s->index >= first_index() && s->index <= last_index(),
                "compaction to {} outside the log [{}, {}]", s->index, first_index(), last_index());
  CAUDAL_ASSERT(term_at(s->index) == s->term, "compaction to {} with term {}, the log has {}",
                s->index, s->term, term_at(s->index));
  // The records up to the index are durable (they were applied), so the new snapshot
  // and the records after it always form a log.
  CAUDAL_TRY(write_snapshot(*s));
  const auto drop = static_cast<std::size_t>(s->index - first_index() + 1);
  _base_crc = _crcs[drop - 1];
  _entries.erase(_entries.begin(), _entries.begin() + static_cast<std::ptrdiff_t>(drop));
  _positions.erase(_positions.begin(), _positions.begin() + static_cast<std::ptrdiff_t>(drop));
  _crcs.erase(_crcs.begin(), _crcs.begin() + static_cast<std::ptrdiff_t>(drop));
  _snapshot = std::move(s);
  const std::uint64_t live_from = _positions.empty() ? _end : _positions.front();
  const std::uint64_t dead = live_from - log_file_header_bytes;
  if (dead >= rewrite_dead_bytes_min && dead >= _end - live_from) CAUDAL_TRY(rewrite_file());
  return ok();
}

result<void> file_log::rewrite_file() {
  // The live records go to a new file, synced, which then replaces the old one by a
  // rename: a crash leaves either file whole, and both hold the log after the snapshot.
  // Writes not yet synced in the old file are in memory and so in the new one.
  const auto temporary = _dir / (std::string(log_file_name) + ".rewrite");
  auto f = storage::file::open(temporary, storage::file::mode::read_write_create);
  if (!f) return f.error();
  std::vector<std::byte> bytes(log_magic.size());
  std::memcpy(bytes.data(), log_magic.data(), log_magic.size());
  std::vector<std::uint64_t> positions;
  std::vector<std::uint32_t> crcs;
  for (const entry& e : _entries) {
    positions.push_back(bytes.size());
    crcs.push_back(encode_record(e, crcs.empty() ? 0 : crcs.back(), bytes));
  }
  CAUDAL_TRY(f->truncate(0));
  CAUDAL_TRY(f->write_at(0, bytes));
  CAUDAL_TRY(f->sync_data());
  std::error_code ec;
  std::filesystem::rename(temporary, _dir / log_file_name, ec);
  if (ec) return ec;
  CAUDAL_TRY(storage::sync_directory(_dir));
  {
    std::lock_guard lock(_file_mutex);
    _file = std::make_shared<storage::file>(std::move(*f));
  }
  _positions = std::move(positions);
  _crcs = std::move(crcs);
  _base_crc = 0;
  _end = bytes.size();
  return ok();
}

result<void> file_log::install(std::shared_ptr<const snapshot> s) {
  // Snapshot first, durably: only then may the old records go. The other order could
  // lose acknowledged entries to a crash between the two.
  CAUDAL_TRY(write_snapshot(*s));
  _snapshot = std::move(s);
  return reset_file();
}

result<void> file_log::sync(const std::optional<hard_state>& term_and_vote) const {
  if (term_and_vote) {
    const auto bytes = encode_hard_state(*term_and_vote);
    CAUDAL_TRY(storage::write_file_atomic(_dir / hard_state_file_name, bytes));
  }
  std::shared_ptr<storage::file> f;
  {
    std::lock_guard lock(_file_mutex);
    f = _file;
  }
  return f->sync_data();
}

}  // namespace caudal::raft
