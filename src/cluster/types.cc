#include "cluster/types.h"

#include <array>

namespace caudal::cluster {
namespace {

constexpr std::string_view alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::array<std::uint8_t, 16> to_bytes(const topic_id& id) {
  std::array<std::uint8_t, 16> b{};
  for (int i = 0; i < 8; ++i) {
    b[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(id.most >> (56 - 8 * i));
    b[static_cast<std::size_t>(8 + i)] = static_cast<std::uint8_t>(id.least >> (56 - 8 * i));
  }
  return b;
}

}  // namespace

topic_id topic_id::random(random_source& rng) {
  topic_id id;
  while (id.is_zero())
    id = {rng.next(), rng.next()};
  return id;
}

std::string topic_id::to_string() const {
  const auto b = to_bytes(*this);
  std::string out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (auto byte : b) {
    acc = (acc << 8) | byte;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(alphabet[(acc >> bits) & 0x3F]);
    }
  }
  if (bits > 0) out.push_back(alphabet[(acc << (6 - bits)) & 0x3F]);
  return out;
}

topic_id topic_id::parse(std::string_view text) {
  if (text.size() != 22) return {};
  std::array<std::uint8_t, 16> b{};
  std::uint32_t acc = 0;
  int bits = 0;
  std::size_t n = 0;
  for (char c : text) {
    const auto pos = alphabet.find(c);
    if (pos == std::string_view::npos) return {};
    acc = (acc << 6) | static_cast<std::uint32_t>(pos);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      if (n < b.size()) b[n++] = static_cast<std::uint8_t>(acc >> bits);
    }
  }
  topic_id id;
  for (int i = 0; i < 8; ++i) {
    id.most = (id.most << 8) | b[static_cast<std::size_t>(i)];
    id.least = (id.least << 8) | b[static_cast<std::size_t>(8 + i)];
  }
  return id;
}

}  // namespace caudal::cluster
