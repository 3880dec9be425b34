#include "storage/segment.h"

#include "base/record_batch.h"
#include "storage/errc.h"
#include "storage/log_config.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <limits>
#include <mutex>
#include <vector>

namespace caudal::storage {
namespace {

constexpr std::size_t scan_chunk_bytes = 1 << 20;
// How far past a read the disk is asked to go, and the least worth asking for.
constexpr std::uint64_t read_ahead_bytes = 8 << 20;
constexpr std::uint64_t read_ahead_step_bytes = 1 << 20;

// Reads a file front to back through one buffer, so recovery does one read per MiB rather
// than one per batch.
class sequential_reader {
 public:
  explicit sequential_reader(const file& f) : _file(f) {}

  // The bytes [position, position + n), or an empty span when the file ends first.
  result<std::span<const std::byte>> get(std::uint64_t position, std::size_t n) {
    if (position < _start || position + n > _start + _length) {
      _buffer.resize(std::max(n, scan_chunk_bytes));
      auto got = _file.read_at(position, _buffer);
      if (!got) return got.error();
      _start = position;
      _length = *got;
      if (_length < n) return std::span<const std::byte>{};
    }
    return std::span<const std::byte>(_buffer.data() + (position - _start), n);
  }

 private:
  const file& _file;
  std::vector<std::byte> _buffer;
  std::uint64_t _start = 0;
  std::size_t _length = 0;
};

}  // namespace

std::string segment_file_name(kafka_offset base, std::string_view extension) {
  return fmt::format("{:020d}{}", base(), extension);
}

std::optional<kafka_offset> parse_segment_file_name(std::string_view name,
                                                    std::string_view extension) {
  constexpr std::size_t digits = 20;
  if (name.size() != digits + extension.size() || !name.ends_with(extension)) return std::nullopt;
  std::int64_t value = 0;
  auto [end, ec] = std::from_chars(name.data(), name.data() + digits, value);
  if (ec != std::errc{} || end != name.data() + digits || value < 0) return std::nullopt;
  return kafka_offset(value);
}

segment::segment(std::filesystem::path dir, kafka_offset base, file data, std::int64_t created_ms)
    : _dir(std::move(dir)),
      _base(base),
      _data(std::move(data)),
      _created_ms(created_ms),
      _next_offset(base()) {}

result<std::shared_ptr<segment>> segment::create(const std::filesystem::path& dir,
                                                 kafka_offset base, std::int64_t created_ms) {
  CAUDAL_ASSERT(base() >= 0, "segment base offset {} is negative", base);
  auto data = file::open(dir / segment_file_name(base, ".log"), file::mode::read_write_create);
  if (!data) return data.error();
  CAUDAL_TRY(data->truncate(0));
  std::shared_ptr<segment> seg(new segment(dir, base, std::move(*data), created_ms));
  CAUDAL_TRY(seg->write_indexes());
  return seg;
}

result<segment::open_result> segment::open(const std::filesystem::path& dir, kafka_offset base,
                                           open_mode mode, std::int32_t index_interval_bytes,
                                           std::int64_t created_ms) {
  auto data = file::open(dir / segment_file_name(base, ".log"), file::mode::read_write);
  if (!data) return data.error();
  auto size = data->size();
  if (!size) return size.error();
  std::shared_ptr<segment> seg(new segment(dir, base, std::move(*data), created_ms));
  open_result out{seg, false};
  seg->_size = *size;
  if (mode == open_mode::trust_indexes && seg->load_indexes()) {
    // Indexes are consistent with the file; find the end from the last indexed batch.
    std::uint64_t position = 0;
    {
      std::shared_lock lock(seg->_index_mutex);
      if (!seg->_offsets.entries().empty()) position = seg->_offsets.entries().back().position;
    }
    const std::uint64_t last_indexed = position;
    kafka_offset next = base;
    {
      std::shared_lock lock(seg->_index_mutex);
      if (!seg->_offsets.entries().empty())
        next = base + seg->_offsets.entries().back().relative_offset;
    }
    std::int64_t max_ts = -1;
    bool ok_to_end = true;
    std::vector<std::byte> tail_batch;
    while (position < seg->_size) {
      auto h = seg->header_at(position);
      if (!h && h.error() != errc::corrupt) return h.error();
      // A header that is no batch means the tail is damaged: the scan below sorts it out.
      if (!h || !*h || (*h)->position + (*h)->size > seg->_size || (*h)->base_offset < next) {
        ok_to_end = false;
        break;
      }
      // The batches after the last index entry (about index.interval.bytes) are checked
      // whole, so damage at the end of a trusted segment is never served.
      tail_batch.resize((*h)->size);
      auto got = seg->_data.read_at(position, tail_batch);
      if (!got) return got.error();
      if (*got != tail_batch.size() ||
          !batch::validate(tail_batch, tail_batch.size(), batch::count_check::stored)) {
        ok_to_end = false;
        break;
      }
      next = (*h)->last_offset + 1;
      max_ts = std::max(max_ts, (*h)->max_timestamp);
      position += (*h)->size;
    }
    if (ok_to_end && position == seg->_size) {
      seg->_next_offset.store(next(), std::memory_order_release);
      const auto last_time = seg->_times.last();
      seg->_max_timestamp.store(std::max(max_ts, last_time ? last_time->timestamp : -1),
                                std::memory_order_release);
      seg->_visible_bytes.store(seg->_size, std::memory_order_release);
      seg->_synced_bytes.store(seg->_size, std::memory_order_release);
      seg->_first_batch_indexed = seg->_size > 0;
      seg->_bytes_since_index = seg->_size - last_indexed;
      return out;
    }
    // The tail does not line up with the index: fall through to a full scan.
  }
  auto truncated = seg->scan_and_rebuild(index_interval_bytes);
  if (!truncated) return truncated.error();
  out.truncated = *truncated;
  return out;
}

bool segment::load_indexes() {
  auto offsets_bytes = read_whole_file(_dir / segment_file_name(_base, ".index"));
  auto times_bytes = read_whole_file(_dir / segment_file_name(_base, ".timeindex"));
  if (!offsets_bytes || !times_bytes) return false;
  auto offsets = offset_index::decode(*offsets_bytes, _size);
  if (!offsets) return false;
  // A non-empty segment must have its first batch indexed at position 0.
  if (_size > 0 && (offsets->entries().empty() || offsets->entries().front().position != 0 ||
                    offsets->entries().front().relative_offset != 0)) {
    return false;
  }
  auto times = time_index::decode(*times_bytes, std::numeric_limits<std::uint32_t>::max());
  if (!times) return false;
  std::unique_lock lock(_index_mutex);
  _offsets = std::move(*offsets);
  _times = std::move(*times);
  return true;
}

result<bool> segment::scan_and_rebuild(std::int32_t index_interval_bytes) {
  {
    std::unique_lock lock(_index_mutex);
    _offsets.clear();
    _times.clear();
  }
  _bytes_since_index = 0;
  _first_batch_indexed = false;
  sequential_reader reader(_data);
  std::uint64_t position = 0;
  kafka_offset expected = _base;
  std::int64_t max_ts = -1;
  while (position < _size) {
    auto head = reader.get(position, batch::header_bytes);
    if (!head) return head.error();
    if (head->empty()) break;  // a partial header: a torn write
    const batch::header_view h(*head);
    const std::uint64_t remaining = _size - position;
    const std::int64_t length = h.batch_length();
    if (length < static_cast<std::int64_t>(batch::header_bytes - batch::log_overhead) ||
        static_cast<std::uint64_t>(length) + batch::log_overhead > remaining) {
      break;
    }
    const auto size = static_cast<std::size_t>(length) + batch::log_overhead;
    auto whole = reader.get(position, size);
    if (!whole) return whole.error();
    if (whole->empty()) break;
    if (!batch::validate(*whole, size, batch::count_check::stored)) break;
    const batch::header_view v(*whole);
    if (v.base_offset() < expected) break;
    if (v.last_offset() - _base > std::numeric_limits<std::int32_t>::max()) break;
    index_batch(position, static_cast<std::uint32_t>(size), v.base_offset(), v.max_timestamp(),
                index_interval_bytes);
    max_ts = std::max(max_ts, v.max_timestamp());
    expected = v.last_offset() + 1;
    position += size;
  }
  const bool truncated = position != _size;
  if (truncated) {
    CAUDAL_TRY(_data.truncate(position));
    CAUDAL_TRY(_data.sync_data());
    _size = position;
  }
  _next_offset.store(expected(), std::memory_order_release);
  _max_timestamp.store(max_ts, std::memory_order_release);
  _visible_bytes.store(_size, std::memory_order_release);
  _synced_bytes.store(0, std::memory_order_release);  // recovered bytes may be only in cache
  return truncated;
}

std::uint32_t segment::relative(kafka_offset o) const {
  const std::int64_t r = o - _base;
  CAUDAL_ASSERT(r >= 0 && r <= std::numeric_limits<std::int32_t>::max(),
                "offset {} outside segment {}", o, _base);
  return static_cast<std::uint32_t>(r);
}

void segment::index_batch(std::uint64_t position, std::uint32_t size, kafka_offset base,
                          std::int64_t max_timestamp, std::int32_t index_interval_bytes) {
  const std::int64_t running_max =
      std::max(_max_timestamp.load(std::memory_order_relaxed), max_timestamp);
  if (!_first_batch_indexed ||
      _bytes_since_index >= static_cast<std::uint64_t>(index_interval_bytes)) {
    std::unique_lock lock(_index_mutex);
    _offsets.append({relative(base), static_cast<std::uint32_t>(position)});
    (void)_times.append({running_max, relative(base)});
    _bytes_since_index = 0;
    _first_batch_indexed = true;
  }
  _bytes_since_index += size;
  _max_timestamp.store(running_max, std::memory_order_release);
}

result<void> segment::append(std::span<const std::byte> batch, kafka_offset base, kafka_offset last,
                             std::int64_t max_timestamp, std::int32_t index_interval_bytes) {
  CAUDAL_ASSERT(base >= next_offset(), "append at {} below segment end {}", base, next_offset());
  CAUDAL_ASSERT(last >= base, "batch last offset {} below base {}", last, base);
  CAUDAL_ASSERT(_size + batch.size() <= static_cast<std::uint64_t>(segment_bytes_max),
                "segment {} would pass 2 GiB", _base);
  if (auto w = _data.write_at(_size, batch); !w) {
    // Drop whatever part of the batch reached the file so no torn batch stays visible to
    // recovery later; the caller marks the log failed if even that fails.
    ignore_error(_data.truncate(_size), "best effort after a failed write");
    return w.error();
  }
  index_batch(_size, static_cast<std::uint32_t>(batch.size()), base, max_timestamp,
              index_interval_bytes);
  _size += batch.size();
  _next_offset.store((last + 1)(), std::memory_order_release);
  _visible_bytes.store(_size, std::memory_order_release);
  return ok();
}

result<std::optional<batch_location>> segment::header_at(std::uint64_t position) const {
  std::array<std::byte, batch::header_bytes> head{};
  auto got = _data.read_at(position, head);
  if (!got) return got.error();
  if (*got < head.size()) return std::optional<batch_location>{};
  const batch::header_view h(head);
  if (h.batch_length() < static_cast<std::int32_t>(batch::header_bytes - batch::log_overhead)) {
    return errc::corrupt;
  }
  return std::optional<batch_location>{
      batch_location{position, static_cast<std::uint32_t>(h.size_bytes()), h.base_offset(),
                     h.last_offset(), h.max_timestamp()}};
}

result<std::optional<batch_location>> segment::scan_from(std::uint64_t position,
                                                         kafka_offset target) const {
  const std::uint64_t end = visible_bytes();
  while (position < end) {
    auto h = header_at(position);
    if (!h) return h.error();
    if (!*h || (*h)->position + (*h)->size > end) return errc::corrupt;
    if ((*h)->last_offset >= target) return h;
    position += (*h)->size;
  }
  return std::optional<batch_location>{};
}

result<std::optional<batch_location>> segment::find(kafka_offset target) const {
  std::uint64_t start = 0;
  if (target > _base) {
    std::shared_lock lock(_index_mutex);
    const std::int64_t r =
        std::min<std::int64_t>(target - _base, std::numeric_limits<std::uint32_t>::max());
    if (auto e = _offsets.floor(static_cast<std::uint32_t>(r))) start = e->position;
  }
  return scan_from(start, target);
}

result<file_range> segment::read(kafka_offset target, std::uint64_t bytes_max,
                                 kafka_offset limit) const {
  auto first = find(target);
  if (!first) return first.error();
  if (!*first) return file_range{visible_bytes(), 0, next_offset(), next_offset()};
  if ((*first)->base_offset >= limit) {
    return file_range{(*first)->position, 0, (*first)->base_offset, (*first)->base_offset};
  }
  file_range range{(*first)->position, (*first)->size, (*first)->base_offset,
                   (*first)->last_offset + 1};
  const std::uint64_t end = visible_bytes();
  while (range.position + range.size < end) {
    auto h = header_at(range.position + range.size);
    if (!h) return h.error();
    if (!*h || (*h)->position + (*h)->size > end) return errc::corrupt;
    if (range.size + (*h)->size > bytes_max || (*h)->base_offset >= limit) break;
    range.size += (*h)->size;
    range.next_offset = (*h)->last_offset + 1;
  }
  read_ahead(range.position + range.size);
  return range;
}

// Consumers of old data read a segment front to back. Starting the disk on the bytes after
// each read means the next read finds them cached, instead of blocking its thread (an event
// loop, inside sendfile) on the disk while nothing else moves.
void segment::read_ahead(std::uint64_t from) const {
  const std::uint64_t end = std::min(from + read_ahead_bytes, visible_bytes());
  std::uint64_t until = _read_ahead_until.load(std::memory_order_relaxed);
  // A reader far behind (or ahead of) the last hint gets a window of its own.
  const std::uint64_t start = until >= from && until <= end ? until : from;
  // A consumer at the log's end reads what was just written and is still cached: it never
  // gets a step's worth, so tailing costs one comparison and no system call.
  if (end < start + read_ahead_step_bytes) return;
  if (!_read_ahead_until.compare_exchange_strong(until, end, std::memory_order_relaxed)) return;
  _data.advise_will_need(start, end - start);
}

result<std::optional<batch_location>> segment::find_timestamp(std::int64_t timestamp,
                                                              kafka_offset from) const {
  std::uint64_t start = 0;
  if (from > _base) {
    auto first = find(from);
    if (!first) return first.error();
    if (!*first) return std::optional<batch_location>{};
    start = (*first)->position;
  }
  {
    std::shared_lock lock(_index_mutex);
    if (auto t = _times.last_before(timestamp)) {
      // Every batch up to and including t's batch is older: start at that batch (its
      // offset is indexed exactly when the time entry was written) and skip it below.
      if (auto e = _offsets.floor(t->relative_offset))
        start = std::max<std::uint64_t>(start, e->position);
    }
  }
  const std::uint64_t end = visible_bytes();
  while (start < end) {
    auto h = header_at(start);
    if (!h) return h.error();
    if (!*h || (*h)->position + (*h)->size > end) return errc::corrupt;
    if ((*h)->max_timestamp >= timestamp) return h;
    start += (*h)->size;
  }
  return std::optional<batch_location>{};
}

result<kafka_offset> segment::truncate_to(kafka_offset offset) {
  auto found = find(offset);
  if (!found) return found.error();
  if (!*found) return next_offset();  // nothing at or after `offset`
  const std::uint64_t position = (*found)->position;
  const kafka_offset next = (*found)->base_offset;
  // Hide the bytes from readers before they go.
  _visible_bytes.store(position, std::memory_order_release);
  CAUDAL_TRY(_data.truncate(position));
  CAUDAL_TRY(_data.sync_data());
  _size = position;
  {
    std::unique_lock lock(_index_mutex);
    _offsets.truncate_to_position(static_cast<std::uint32_t>(position));
    _times.truncate_to_offset(relative(next));
  }
  // Recompute the running state from what is left.
  std::int64_t max_ts = -1;
  kafka_offset new_next = _base;
  std::uint64_t last_indexed = 0;
  {
    std::shared_lock lock(_index_mutex);
    if (auto t = _times.last()) max_ts = t->timestamp;
    if (!_offsets.entries().empty()) last_indexed = _offsets.entries().back().position;
    _first_batch_indexed = !_offsets.entries().empty();
  }
  _bytes_since_index = 0;
  std::uint64_t p = last_indexed;
  while (p < _size) {
    auto h = header_at(p);
    if (!h) return h.error();
    if (!*h) return errc::corrupt;
    max_ts = std::max(max_ts, (*h)->max_timestamp);
    new_next = (*h)->last_offset + 1;
    _bytes_since_index += (*h)->size;
    p += (*h)->size;
  }
  _next_offset.store(new_next(), std::memory_order_release);
  _max_timestamp.store(max_ts, std::memory_order_release);
  _synced_bytes.store(std::min(_synced_bytes.load(), _size), std::memory_order_release);
  return new_next;
}

result<void> segment::write_indexes() {
  std::vector<std::byte> offsets;
  std::vector<std::byte> times;
  {
    std::shared_lock lock(_index_mutex);
    offsets = _offsets.encode();
    times = _times.encode();
  }
  for (const auto& [ext, bytes] :
       {std::pair{".index", &offsets}, std::pair{".timeindex", &times}}) {
    auto f = file::open(_dir / segment_file_name(_base, ext), file::mode::read_write_create);
    if (!f) return f.error();
    CAUDAL_TRY(f->truncate(0));
    CAUDAL_TRY(f->write_at(0, *bytes));
    CAUDAL_TRY(f->sync_data());
  }
  return ok();
}

result<void> segment::sync() {
  const std::uint64_t target = visible_bytes();
  CAUDAL_TRY(_data.sync_data());
  std::uint64_t seen = _synced_bytes.load(std::memory_order_acquire);
  while (seen < target &&
         !_synced_bytes.compare_exchange_weak(seen, target, std::memory_order_acq_rel)) {
  }
  return ok();
}

result<void> segment::remove_files() const {
  for (const char* ext : {".log", ".index", ".timeindex"}) {
    std::error_code ec;
    std::filesystem::remove(_dir / segment_file_name(_base, ext), ec);
    if (ec) return ec;
  }
  return ok();
}

offset_index segment::offset_index_copy() const {
  std::shared_lock lock(_index_mutex);
  return _offsets;
}

time_index segment::time_index_copy() const {
  std::shared_lock lock(_index_mutex);
  return _times;
}

}  // namespace caudal::storage
