// Goal: no request frame, however malformed, makes the header or body decoders crash, read
// out of bounds or allocate beyond the input's size; and any frame they accept survives
// decode -> encode -> decode unchanged (structural equality: varints may be non-canonical).
// Method: libFuzzer (clang, CAUDAL_FUZZ=ON) feeds whole frames without the size prefix.

#include "base/assert.h"
#include "protocol/codec.h"
#include "protocol/generated/testing.h"
#include "protocol/header.h"

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace {

const caudal::protocol::testing::message_case* request_case(std::string_view api_name) {
  std::string name = std::string(api_name) + "Request";
  for (const auto& c : caudal::protocol::testing::message_cases()) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace protocol = caudal::protocol;
  std::span<const std::byte> frame(reinterpret_cast<const std::byte*>(data), size);
  protocol::reader in(frame);
  auto header = protocol::decode_request_header(in);
  if (!header || !header->version_supported) return 0;  // rejecting input is fine
  const auto* c = request_case(header->api->name);
  CAUDAL_ASSERT(c != nullptr, "no message case for {}", header->api->name);
  auto version = header->header.request_api_version;
  auto difference = c->redecode(in.rest(), version);
  CAUDAL_ASSERT(difference.empty(), "{} v{}: {}", c->name, version, difference);
  return 0;
}
