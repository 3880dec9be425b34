// Goal: no input makes the Raft frame decoder crash, read out of bounds or allocate beyond
// what the input could hold, and every frame it accepts re-encodes to the same bytes (the
// format has one encoding per value). Method: libFuzzer (clang, CAUDAL_FUZZ=ON). The
// first input byte picks how the rest is used: odd, as a frame body that gets a correct
// size prefix and CRC (so mutations reach the structural checks behind the CRC); even,
// as raw bytes, prefix and CRC included. wire_test.cc also feeds this function random and
// damaged frames under GCC in the normal build.

#include "base/assert.h"
#include "base/bytes.h"
#include "base/crc32c.h"
#include "raft/driver/wire.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace {

void check(std::span<const std::byte> input) {
  using namespace caudal::raft;
  auto decoded = decode_frame(input);
  if (!decoded) return;  // rejecting input is fine
  frame_builder again(decoded->from);
  for (const addressed_message& m : decoded->messages)
    again.add(m.group, m.msg);
  const auto bytes = again.finish();
  CAUDAL_ASSERT(bytes.size() == input.size(), "re-encoded {} bytes from {}", bytes.size(),
                input.size());
  CAUDAL_ASSERT(std::equal(bytes.begin(), bytes.end(), input.begin()),
                "a decoded frame re-encodes to other bytes");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace caudal;
  const auto input = std::as_bytes(std::span(data, size));
  if (input.empty() || (data[0] & 1) == 0) {
    check(input);
    return 0;
  }
  const auto body = input.subspan(1);
  if (body.size() > raft::frame_bytes_max - 4) return 0;
  std::vector<std::byte> frame(raft::frame_header_bytes);
  store_be<std::uint32_t>(frame.data(), static_cast<std::uint32_t>(body.size() + 4));
  store_be<std::uint32_t>(frame.data() + 4, crc32c::value(body));
  frame.insert(frame.end(), body.begin(), body.end());
  check(frame);
  return 0;
}
