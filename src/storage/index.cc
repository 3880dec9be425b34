#include "storage/index.h"

#include "base/bytes.h"

#include <algorithm>

namespace caudal::storage {

void offset_index::append(offset_entry e) {
  if (!_entries.empty()) {
    CAUDAL_ASSERT(e.relative_offset > _entries.back().relative_offset,
                  "offset index went back: {} after {}", e.relative_offset,
                  _entries.back().relative_offset);
    CAUDAL_ASSERT(e.position > _entries.back().position, "index position went back: {} after {}",
                  e.position, _entries.back().position);
  }
  _entries.push_back(e);
}

std::optional<offset_entry> offset_index::floor(std::uint32_t relative) const {
  auto it = std::upper_bound(
      _entries.begin(), _entries.end(), relative,
      [](std::uint32_t r, const offset_entry& e) { return r < e.relative_offset; });
  if (it == _entries.begin()) return std::nullopt;
  return *std::prev(it);
}

void offset_index::truncate_to_position(std::uint32_t position) {
  while (!_entries.empty() && _entries.back().position >= position)
    _entries.pop_back();
}

void offset_index::truncate_to_offset(std::uint32_t relative) {
  while (!_entries.empty() && _entries.back().relative_offset >= relative)
    _entries.pop_back();
}

std::vector<std::byte> offset_index::encode() const {
  std::vector<std::byte> out(_entries.size() * offset_entry_bytes);
  std::byte* p = out.data();
  for (const auto& e : _entries) {
    store_be(p, e.relative_offset);
    store_be(p + 4, e.position);
    p += offset_entry_bytes;
  }
  return out;
}

std::optional<offset_index> offset_index::decode(std::span<const std::byte> bytes,
                                                 std::uint64_t data_bytes) {
  if (bytes.size() % offset_entry_bytes != 0) return std::nullopt;
  offset_index index;
  index._entries.reserve(bytes.size() / offset_entry_bytes);
  for (std::size_t i = 0; i < bytes.size(); i += offset_entry_bytes) {
    const offset_entry e{load_be<std::uint32_t>(bytes.data() + i),
                         load_be<std::uint32_t>(bytes.data() + i + 4)};
    if (e.position >= data_bytes) return std::nullopt;
    if (!index._entries.empty() && (e.relative_offset <= index._entries.back().relative_offset ||
                                    e.position <= index._entries.back().position)) {
      return std::nullopt;
    }
    index._entries.push_back(e);
  }
  return index;
}

bool time_index::append(time_entry e) {
  if (!_entries.empty()) {
    if (e.timestamp <= _entries.back().timestamp) return false;
    CAUDAL_ASSERT(e.relative_offset > _entries.back().relative_offset,
                  "time index offset went back: {} after {}", e.relative_offset,
                  _entries.back().relative_offset);
  }
  _entries.push_back(e);
  return true;
}

std::optional<time_entry> time_index::last_before(std::int64_t timestamp) const {
  auto it = std::lower_bound(_entries.begin(), _entries.end(), timestamp,
                             [](const time_entry& e, std::int64_t t) { return e.timestamp < t; });
  if (it == _entries.begin()) return std::nullopt;
  return *std::prev(it);
}

void time_index::truncate_to_offset(std::uint32_t relative) {
  while (!_entries.empty() && _entries.back().relative_offset >= relative)
    _entries.pop_back();
}

std::vector<std::byte> time_index::encode() const {
  std::vector<std::byte> out(_entries.size() * time_entry_bytes);
  std::byte* p = out.data();
  for (const auto& e : _entries) {
    store_be(p, e.timestamp);
    store_be(p + 8, e.relative_offset);
    p += time_entry_bytes;
  }
  return out;
}

std::optional<time_index> time_index::decode(std::span<const std::byte> bytes,
                                             std::uint64_t relative_end) {
  if (bytes.size() % time_entry_bytes != 0) return std::nullopt;
  time_index index;
  index._entries.reserve(bytes.size() / time_entry_bytes);
  for (std::size_t i = 0; i < bytes.size(); i += time_entry_bytes) {
    const time_entry e{load_be<std::int64_t>(bytes.data() + i),
                       load_be<std::uint32_t>(bytes.data() + i + 8)};
    if (e.relative_offset >= relative_end) return std::nullopt;
    if (!index._entries.empty() && (e.timestamp <= index._entries.back().timestamp ||
                                    e.relative_offset <= index._entries.back().relative_offset)) {
      return std::nullopt;
    }
    index._entries.push_back(e);
  }
  return index;
}

}  // namespace caudal::storage
