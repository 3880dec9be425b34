#include "raft/core/types.h"

#include <cstring>

namespace caudal::raft {

std::vector<std::byte> encode_membership(const membership& m) {
  std::vector<std::byte> out;
  const auto put_u32 = [&](std::uint32_t v) {
    for (int shift = 0; shift < 32; shift += 8)
      out.push_back(static_cast<std::byte>((v >> shift) & 0xFF));
  };
  put_u32(static_cast<std::uint32_t>(m.voters.size() + m.learners.size()));
  for (const auto* list : {&m.voters, &m.learners}) {
    for (node_id id : *list) {
      put_u32(static_cast<std::uint32_t>(id()));
      out.push_back(std::byte{list == &m.voters ? std::uint8_t{1} : std::uint8_t{0}});
    }
  }
  return out;
}

bool decode_membership(const std::vector<std::byte>& data, membership& out) {
  std::size_t at = 0;
  const auto get_u32 = [&](std::uint32_t& v) {
    if (data.size() - at < 4) return false;
    v = 0;
    for (int k = 0; k < 4; ++k)
      v |= static_cast<std::uint32_t>(data[at + static_cast<std::size_t>(k)]) << (8 * k);
    at += 4;
    return true;
  };
  out = membership{};
  std::uint32_t count = 0;
  if (!get_u32(count) || count > (data.size() - at) / 5) return false;
  for (std::uint32_t k = 0; k < count; ++k) {
    std::uint32_t id = 0;
    if (!get_u32(id) || at >= data.size()) return false;
    const auto role = static_cast<std::uint8_t>(data[at++]);
    if (role > 1) return false;
    (role == 1 ? out.voters : out.learners).push_back(node_id(static_cast<std::int32_t>(id)));
  }
  return at == data.size();
}

}  // namespace caudal::raft
