#include "storage/producer_state.h"

#include "base/assert.h"
#include "base/bytes.h"
#include "base/crc32c.h"
#include "base/record_reader.h"
#include "storage/errc.h"
#include "storage/file.h"
#include "storage/segment.h"

#include <algorithm>
#include <limits>

namespace caudal::storage {
namespace {

constexpr std::uint32_t magic = 0x43445053;  // "CDPS"
constexpr std::uint16_t version = 1;
constexpr std::size_t header_bytes = 4 + 2 + 4 + 4;  // magic, version, crc, count
constexpr std::size_t entry_bytes = 8 + 2 + 4 + 8 + 8 + 1;
constexpr std::size_t batch_bytes = 4 + 4 + 8 + 8 + 8;
constexpr std::size_t aborted_bytes = 8 + 8 + 8;

// Appends big-endian fields to a byte vector.
class writer {
 public:
  explicit writer(std::vector<std::byte>& out) : _out(out) {}
  template <class T>
  void put(T value) {
    const std::size_t at = _out.size();
    _out.resize(at + sizeof(T));
    store_be(_out.data() + at, value);
  }

 private:
  std::vector<std::byte>& _out;
};

// Reads big-endian fields; the caller checks sizes before reading.
class cursor {
 public:
  explicit cursor(std::span<const std::byte> in) : _in(in) {}
  [[nodiscard]] std::size_t left() const { return _in.size() - _at; }
  template <class T>
  T get() {
    CAUDAL_ASSERT(left() >= sizeof(T), "snapshot read past the end");
    const T v = load_be<T>(_in.data() + _at);
    _at += sizeof(T);
    return v;
  }

 private:
  std::span<const std::byte> _in;
  std::size_t _at = 0;
};

}  // namespace

std::int32_t add_sequence(std::int32_t sequence, std::int32_t delta) {
  constexpr std::int64_t wrap = std::int64_t{std::numeric_limits<std::int32_t>::max()} + 1;
  return static_cast<std::int32_t>((std::int64_t{sequence} + delta) % wrap);
}

result<std::optional<producer_batch>> producer_state::check(const batch::header_view& h) const {
  const std::int64_t id = h.producer_id();
  if (id < 0) return std::optional<producer_batch>{};
  const std::int16_t epoch = h.producer_epoch();
  if (epoch < 0 || (!h.is_control() && h.base_sequence() < 0)) return errc::invalid_sequence;
  const auto found = _producers.find(id);
  // An unknown producer may start anywhere: its earlier batches may have expired.
  if (found == _producers.end()) return std::optional<producer_batch>{};
  const producer_entry& e = found->second;
  if (epoch < e.epoch) return errc::invalid_producer_epoch;
  if (h.is_control()) return std::optional<producer_batch>{};
  const std::int32_t first = h.base_sequence();
  if (epoch > e.epoch) {
    // A bumped epoch restarts the sequence (KIP-360).
    if (first != 0 && e.epoch >= 0) return errc::out_of_order_sequence;
    return std::optional<producer_batch>{};
  }
  const std::int32_t last = add_sequence(first, h.last_offset_delta());
  for (const producer_batch& b : e.recent()) {
    if (b.first_sequence == first && b.last_sequence == last) return std::optional(b);
  }
  // With no batch of this epoch yet (a marker moved the epoch), the sequence starts at 0.
  const std::int32_t expected =
      e.batch_count == 0 ? 0 : add_sequence(e.batches[e.batch_count - 1].last_sequence, 1);
  if (first != expected) {
    return errc::out_of_order_sequence;
  }
  return std::optional<producer_batch>{};
}

void producer_state::update(const batch::header_view& h, kafka_offset base, kafka_offset last,
                            std::int16_t marker) {
  const std::int64_t id = h.producer_id();
  if (id < 0) return;
  producer_entry& e = _producers[id];
  if (h.producer_epoch() != e.epoch) {
    e.epoch = h.producer_epoch();
    e.batch_count = 0;
  }
  e.last_timestamp = h.max_timestamp();
  if (h.is_control()) {
    if (e.txn_first_offset() >= 0) {
      _ongoing.erase(e.txn_first_offset);
      if (marker == batch::control_abort) _aborted.push_back({id, e.txn_first_offset, base});
    }
    e.txn_first_offset = kafka_offset(-1);
    return;
  }
  if (h.is_transactional() && e.txn_first_offset() < 0) {
    e.txn_first_offset = base;
    _ongoing.emplace(base, id);
  }
  if (e.batch_count == producer_batches_kept) {
    std::move(e.batches.begin() + 1, e.batches.end(), e.batches.begin());
    --e.batch_count;
  }
  e.batches[e.batch_count++] =
      producer_batch{h.base_sequence(), add_sequence(h.base_sequence(), h.last_offset_delta()),
                     base, last, h.max_timestamp()};
}

std::size_t producer_state::expire(std::int64_t now_ms, std::int64_t expiration_ms) {
  return std::erase_if(_producers, [&](const auto& item) {
    const producer_entry& e = item.second;
    return e.txn_first_offset() < 0 && now_ms - e.last_timestamp > expiration_ms;
  });
}

std::optional<kafka_offset> producer_state::first_unstable_offset() const {
  if (_ongoing.empty()) return std::nullopt;
  return _ongoing.begin()->first;
}

void producer_state::prune_aborted(kafka_offset log_start) {
  std::erase_if(_aborted, [&](const aborted_txn& a) { return a.last_offset < log_start; });
}

const producer_entry* producer_state::find(std::int64_t producer_id) const {
  const auto found = _producers.find(producer_id);
  return found == _producers.end() ? nullptr : &found->second;
}

std::vector<std::byte> producer_state::serialize() const {
  std::vector<std::byte> out;
  out.reserve(header_bytes + _producers.size() * (entry_bytes + 2 * batch_bytes));
  writer w(out);
  w.put(magic);
  w.put(version);
  w.put(std::uint32_t{0});  // the CRC, patched below
  w.put(static_cast<std::uint32_t>(_producers.size()));
  // In producer id order, so equal states give equal files.
  std::vector<std::int64_t> ids;
  ids.reserve(_producers.size());
  for (const auto& item : _producers)
    ids.push_back(item.first);
  std::sort(ids.begin(), ids.end());
  for (const std::int64_t id : ids) {
    const producer_entry& e = _producers.at(id);
    w.put(id);
    w.put(e.epoch);
    w.put(e.coordinator_epoch);
    w.put(e.last_timestamp);
    w.put(e.txn_first_offset());
    w.put(e.batch_count);
    for (const producer_batch& b : e.recent()) {
      w.put(b.first_sequence);
      w.put(b.last_sequence);
      w.put(b.base_offset());
      w.put(b.last_offset());
      w.put(b.max_timestamp);
    }
  }
  w.put(static_cast<std::uint32_t>(_aborted.size()));
  for (const aborted_txn& a : _aborted) {
    w.put(a.producer_id);
    w.put(a.first_offset());
    w.put(a.last_offset());
  }
  // The CRC covers the counts, the entries and the aborted transactions.
  store_be(out.data() + 6, crc32c::value(std::span(out).subspan(10)));
  return out;
}

result<producer_state> producer_state::parse(std::span<const std::byte> bytes) {
  if (bytes.size() < header_bytes) return errc::corrupt;
  cursor c(bytes);
  if (c.get<std::uint32_t>() != magic || c.get<std::uint16_t>() != version) return errc::corrupt;
  if (c.get<std::uint32_t>() != crc32c::value(bytes.subspan(10))) return errc::corrupt;
  const auto count = c.get<std::uint32_t>();
  if (count > c.left() / entry_bytes) return errc::corrupt;
  producer_state state;
  for (std::uint32_t i = 0; i < count; ++i) {
    if (c.left() < entry_bytes) return errc::corrupt;
    const auto id = c.get<std::int64_t>();
    producer_entry e;
    e.epoch = c.get<std::int16_t>();
    e.coordinator_epoch = c.get<std::int32_t>();
    e.last_timestamp = c.get<std::int64_t>();
    e.txn_first_offset = kafka_offset(c.get<std::int64_t>());
    e.batch_count = c.get<std::uint8_t>();
    if (id < 0 || e.batch_count > producer_batches_kept || c.left() < e.batch_count * batch_bytes) {
      return errc::corrupt;
    }
    for (auto& b : std::span(e.batches).first(e.batch_count)) {
      b.first_sequence = c.get<std::int32_t>();
      b.last_sequence = c.get<std::int32_t>();
      b.base_offset = kafka_offset(c.get<std::int64_t>());
      b.last_offset = kafka_offset(c.get<std::int64_t>());
      b.max_timestamp = c.get<std::int64_t>();
    }
    if (!state._producers.emplace(id, e).second) return errc::corrupt;
    if (e.txn_first_offset() >= 0 && !state._ongoing.emplace(e.txn_first_offset, id).second) {
      return errc::corrupt;
    }
  }
  if (c.left() < 4) return errc::corrupt;
  const auto aborted = c.get<std::uint32_t>();
  if (aborted != c.left() / aborted_bytes || c.left() % aborted_bytes != 0) return errc::corrupt;
  state._aborted.reserve(aborted);
  for (std::uint32_t i = 0; i < aborted; ++i) {
    aborted_txn a;
    a.producer_id = c.get<std::int64_t>();
    a.first_offset = kafka_offset(c.get<std::int64_t>());
    a.last_offset = kafka_offset(c.get<std::int64_t>());
    state._aborted.push_back(a);
  }
  if (c.left() != 0) return errc::corrupt;
  return state;
}

result<std::vector<kafka_offset>> list_producer_snapshots(const std::filesystem::path& dir) {
  std::vector<kafka_offset> out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (auto offset = parse_segment_file_name(name, ".snapshot")) out.push_back(*offset);
  }
  if (ec) return ec;
  std::sort(out.begin(), out.end());
  return out;
}

result<void> write_producer_snapshot(const std::filesystem::path& dir, kafka_offset offset,
                                     const producer_state& s) {
  return write_file_atomic(dir / segment_file_name(offset, ".snapshot"), s.serialize());
}

result<producer_state> read_producer_snapshot(const std::filesystem::path& dir,
                                              kafka_offset offset) {
  auto bytes = read_whole_file(dir / segment_file_name(offset, ".snapshot"));
  if (!bytes) return bytes.error();
  return producer_state::parse(*bytes);
}

void remove_producer_snapshot(const std::filesystem::path& dir, kafka_offset offset) {
  std::error_code ec;
  std::filesystem::remove(dir / segment_file_name(offset, ".snapshot"), ec);
}

}  // namespace caudal::storage
