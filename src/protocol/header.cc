#include "protocol/header.h"

#include "base/assert.h"
#include "base/bytes.h"
#include "protocol/errc.h"
#include "protocol/generated/response_header.h"

#include <limits>

namespace caudal::protocol {

result<request_header_info> decode_request_header(reader& r) {
  // The key and version sit at fixed offsets in every header version.
  auto head = r.rest();
  if (head.size() < 4) return errc::truncated;
  auto key = load_be<std::int16_t>(head.data());
  auto version = load_be<std::int16_t>(head.data() + 2);
  const api_info* api = find_api(key);
  if (api == nullptr) return errc::unknown_api_key;

  request_header_info info;
  info.api = api;
  info.header_version = request_header_version(*api, version);
  info.version_supported = version >= api->version_min && version <= api->version_max;
  CAUDAL_TRY(info.header.decode(r, info.header_version));
  return info;
}

void encode_response_header(writer& w, const api_info& api, std::int16_t version,
                            std::int32_t correlation_id) {
  response_header header;
  header.correlation_id = correlation_id;
  header.encode(w, response_header_version(api, version));
}

void finish_frame(writer& w, std::size_t size_position) {
  CAUDAL_ASSERT(w.size() >= size_position + 4, "frame size prefix at {} past the end {}",
                size_position, w.size());
  auto size = w.size() - size_position - 4;
  CAUDAL_ASSERT(size <= static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max()),
                "frame too large: {} bytes", size);
  w.patch_int32(size_position, static_cast<std::int32_t>(size));
}

}  // namespace caudal::protocol
