#pragma once

// Request and response headers (../shared/kafka-protocol/README.md section 3.2): the step
// between a frame from the network layer and a generated request body.
//
// Decoding a request frame (the 4-byte size prefix already removed by net/):
//
//     protocol::reader in(frame);
//     auto header = protocol::decode_request_header(in);
//     if (!header) { close the connection; }
//     // header->api points at the API; header->header.request_api_version is its version.
//     protocol::metadata_request body;
//     auto r = body.decode(in, header->header.request_api_version);
//
// Encoding the response:
//
//     protocol::writer out;
//     auto size_at = out.reserve_int32();
//     protocol::encode_response_header(out, *header->api, version, correlation_id);
//     response.encode(out, version);
//     protocol::finish_frame(out, size_at);   // patches the size prefix
//     // send out.chunks() in order (owned bytes and external record chunks)

#include "base/result.h"
#include "protocol/codec.h"
#include "protocol/generated/api_table.h"
#include "protocol/generated/request_header.h"

#include <cstddef>
#include <cstdint>

namespace caudal::protocol {

/// A parsed request header and what it implies.
struct request_header_info {
  request_header header;
  /// The API named by the header's api key; never null.
  const api_info* api = nullptr;
  /// The request header version used (1 or 2).
  std::int16_t header_version = 0;
  /// Whether the api version is inside [api->version_min, api->version_max]. When it is
  /// not, Kafka closes the connection, except for ApiVersions, which it answers in the v0
  /// layout (README 3.8); the body must not be decoded then.
  bool version_supported = false;
};

/// Reads the api key and version first (fixed offsets 0 and 2), derives the header version
/// from the API table, then reads the rest of the header, leaving `r` at the body.
/// Fails with errc::unknown_api_key for an API Caudal does not implement and with a codec
/// error on a malformed header. A version outside the API's range is not an error here (see
/// request_header_info::version_supported); the body decoder rejects it.
[[nodiscard]] result<request_header_info> decode_request_header(reader& r);

/// Appends the response header for `api` at response `version`: the correlation id, then
/// an empty tagged-field section when the header version is 1 (never for ApiVersions).
void encode_response_header(writer& w, const api_info& api, std::int16_t version,
                            std::int32_t correlation_id);

/// Patches the int32 size prefix reserved at `size_position` (writer::reserve_int32) with
/// the number of bytes written after it, external chunks included. Requires: no external
/// chunk was written before the reservation (reserve the prefix first).
void finish_frame(writer& w, std::size_t size_position);

}  // namespace caudal::protocol
