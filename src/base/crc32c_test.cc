// Goal: CRC-32C matches published test vectors (RFC 3720 appendix B.4 and the standard
// "123456789" check value) on both the SSE4.2 and the portable path, and extending in
// pieces equals one pass.

#include "base/crc32c.h"

#include "base/bytes.h"

#include <gtest/gtest.h>

#include <array>
#include <vector>

namespace caudal {
namespace {

struct vector_case {
  std::vector<std::byte> data;
  std::uint32_t crc;
};

std::vector<vector_case> known_vectors() {
  std::vector<vector_case> cases;
  cases.push_back({std::vector<std::byte>(32, std::byte{0x00}), 0x8A9136AAu});
  cases.push_back({std::vector<std::byte>(32, std::byte{0xFF}), 0x62A8AB43u});
  std::vector<std::byte> ascending(32);
  std::vector<std::byte> descending(32);
  for (int i = 0; i < 32; ++i) {
    ascending[i] = static_cast<std::byte>(i);
    descending[i] = static_cast<std::byte>(31 - i);
  }
  cases.push_back({ascending, 0x46DD794Eu});
  cases.push_back({descending, 0x113FDB5Cu});
  auto check = as_bytes("123456789");
  cases.push_back({{check.begin(), check.end()}, 0xE3069283u});
  cases.push_back({{}, 0x00000000u});
  return cases;
}

TEST(crc32c, known_vectors_portable) {
  for (const auto& c : known_vectors())
    EXPECT_EQ(crc32c::extend_portable(0, c.data), c.crc);
}

TEST(crc32c, known_vectors_hardware) {
  if (!crc32c::has_hardware()) GTEST_SKIP() << "no SSE4.2 on this CPU";
  for (const auto& c : known_vectors())
    EXPECT_EQ(crc32c::extend_hardware(0, c.data), c.crc);
}

TEST(crc32c, paths_agree_and_extend_in_pieces) {
  std::vector<std::byte> data(1000);
  for (std::size_t i = 0; i < data.size(); ++i)
    data[i] = static_cast<std::byte>(i * 7 + 3);
  const std::uint32_t whole = crc32c::value(data);
  EXPECT_EQ(whole, crc32c::extend_portable(0, data));
  for (std::size_t split : {0u, 1u, 7u, 8u, 9u, 500u, 999u, 1000u}) {
    std::span<const std::byte> s(data);
    auto first = crc32c::extend(0, s.first(split));
    EXPECT_EQ(crc32c::extend(first, s.subspan(split)), whole) << "split " << split;
    auto pfirst = crc32c::extend_portable(0, s.first(split));
    EXPECT_EQ(crc32c::extend_portable(pfirst, s.subspan(split)), whole) << "split " << split;
  }
}

}  // namespace
}  // namespace caudal
