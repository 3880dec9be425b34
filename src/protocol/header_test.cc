// Goal: the bytes Caudal reads and writes are exactly Kafka's, for the requests real clients
// send first (ApiVersions v0 and v3, Metadata v1, Produce v3) and for the header rules of
// README section 3.2 (flexible headers, ApiVersions always answered with header v0).
// Method: byte vectors built by hand from the README's encoding tables, decoded and
// re-encoded byte for byte.

#include "protocol/header.h"

#include "protocol/errc.h"
#include "protocol/generated/api_versions.h"
#include "protocol/generated/metadata.h"
#include "protocol/generated/produce.h"

#include <gtest/gtest.h>

#include <initializer_list>
#include <vector>

namespace caudal::protocol {
namespace {

/// Bytes from a mix of numbers and string literals, e.g. {0, 4, "test"}.
class bytes_builder {
 public:
  bytes_builder& u8(int v) {
    _out.push_back(static_cast<std::byte>(v));
    return *this;
  }
  bytes_builder& i16(int v) { return u8((v >> 8) & 0xFF).u8(v & 0xFF); }
  bytes_builder& i32(std::int64_t v) {
    for (int shift = 24; shift >= 0; shift -= 8)
      u8(static_cast<int>((v >> shift) & 0xFF));
    return *this;
  }
  bytes_builder& text(std::string_view s) {
    for (char c : s)
      u8(static_cast<unsigned char>(c));
    return *this;
  }
  [[nodiscard]] std::vector<std::byte> build() const { return _out; }

 private:
  std::vector<std::byte> _out;
};

std::vector<std::byte> to_vector(std::span<const std::byte> s) {
  return {s.begin(), s.end()};
}

TEST(header, api_versions_v0_request) {
  // Header v1: key 18, version 0, correlation id 1, client id "test"; the v0 body is empty.
  auto frame = bytes_builder().i16(18).i16(0).i32(1).i16(4).text("test").build();
  reader in(frame);
  auto h = decode_request_header(in);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->header_version, 1);
  EXPECT_TRUE(h->version_supported);
  EXPECT_EQ(h->api->key, api_key::api_versions);
  EXPECT_EQ(h->header.correlation_id, 1);
  EXPECT_EQ(h->header.client_id, std::optional<std::string>("test"));
  api_versions_request body;
  ASSERT_TRUE(body.decode(in, 0));
  EXPECT_EQ(in.remaining(), 0u);

  writer out;
  h->header.encode(out, h->header_version);
  body.encode(out, 0);
  EXPECT_EQ(to_vector(out.bytes()), frame);
}

TEST(header, api_versions_v3_request_from_librdkafka) {
  // Header v2 keeps the classic int16 client id, then an empty tagged section; the body
  // uses compact strings and ends with its own tagged section.
  auto frame = bytes_builder()
                   .i16(18)
                   .i16(3)
                   .i32(7)
                   .i16(7)
                   .text("rdkafka")
                   .u8(0)
                   .u8(11)
                   .text("librdkafka")
                   .u8(6)
                   .text("2.0.2")
                   .u8(0)
                   .build();
  reader in(frame);
  auto h = decode_request_header(in);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->header_version, 2);
  EXPECT_EQ(h->header.client_id, std::optional<std::string>("rdkafka"));
  api_versions_request body;
  ASSERT_TRUE(body.decode(in, 3));
  EXPECT_EQ(in.remaining(), 0u);
  EXPECT_EQ(body.client_software_name, "librdkafka");
  EXPECT_EQ(body.client_software_version, "2.0.2");

  writer out;
  h->header.encode(out, 2);
  body.encode(out, 3);
  EXPECT_EQ(to_vector(out.bytes()), frame);
}

TEST(header, api_versions_v0_response) {
  api_versions_response resp;
  resp.api_keys.push_back({0, 0, 7});
  resp.api_keys.push_back({18, 0, 3});
  writer out;
  auto at = out.reserve_int32();
  encode_response_header(out, *find_api(18), 0, 5);
  resp.encode(out, 0);
  finish_frame(out, at);
  auto expected = bytes_builder()
                      .i32(4 + 2 + 4 + 12)
                      .i32(5)
                      .i16(0)
                      .i32(2)
                      .i16(0)
                      .i16(0)
                      .i16(7)
                      .i16(18)
                      .i16(0)
                      .i16(3)
                      .build();
  EXPECT_EQ(to_vector(out.bytes()), expected);
}

TEST(header, api_versions_v3_response_uses_header_v0) {
  api_versions_response resp;
  resp.api_keys.push_back({18, 0, 3});
  resp.throttle_time_ms = 0;
  writer out;
  encode_response_header(out, *find_api(18), 3, 9);
  resp.encode(out, 3);
  // No tagged byte after the correlation id: ApiVersions responses always use header v0.
  auto expected = bytes_builder()
                      .i32(9)
                      .i16(0)
                      .u8(2)  // compact array: 1 element
                      .i16(18)
                      .i16(0)
                      .i16(3)
                      .u8(0)  // the element's tagged section
                      .i32(0)
                      .u8(0)  // the body's tagged section: every tagged field is default
                      .build();
  EXPECT_EQ(to_vector(out.bytes()), expected);

  reader in(out.bytes());
  in.skip(4).value();
  api_versions_response back;
  ASSERT_TRUE(back.decode(in, 3));
  EXPECT_EQ(back, resp);
}

TEST(header, known_tagged_fields_round_trip_and_unknown_ones_are_skipped) {
  api_versions_response resp;
  resp.finalized_features_epoch = 0x0102;
  resp.zk_migration_ready = true;
  writer out;
  resp.encode(out, 3);
  auto expected = bytes_builder()
                      .i16(0)
                      .u8(1)  // empty compact array
                      .i32(0)
                      .u8(2)  // two tagged fields, in tag order
                      .u8(1)
                      .u8(8)
                      .i32(0)
                      .i32(0x0102)
                      .u8(3)
                      .u8(1)
                      .u8(1)
                      .build();
  EXPECT_EQ(to_vector(out.bytes()), expected);

  // Add tags the schema does not know, 7 (3 bytes) and 9 (0 bytes): the reader skips them.
  auto with_unknown = bytes_builder()
                          .i16(0)
                          .u8(1)
                          .i32(0)
                          .u8(4)
                          .u8(1)
                          .u8(8)
                          .i32(0)
                          .i32(0x0102)
                          .u8(7)
                          .u8(3)
                          .u8(0xAA)
                          .u8(0xBB)
                          .u8(0xCC)
                          .u8(3)
                          .u8(1)
                          .u8(1)
                          .u8(9)
                          .u8(0)
                          .build();
  reader in(with_unknown);
  api_versions_response back;
  ASSERT_TRUE(back.decode(in, 3));
  EXPECT_EQ(in.remaining(), 0u);
  EXPECT_EQ(back, resp);
}

TEST(header, metadata_v1_request) {
  auto frame = bytes_builder()
                   .i16(3)
                   .i16(1)
                   .i32(2)
                   .i16(-1)  // null client id
                   .i32(2)
                   .i16(3)
                   .text("foo")
                   .i16(3)
                   .text("bar")
                   .build();
  reader in(frame);
  auto h = decode_request_header(in);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->header_version, 1);
  EXPECT_FALSE(h->header.client_id.has_value());
  metadata_request body;
  ASSERT_TRUE(body.decode(in, 1));
  ASSERT_TRUE(body.topics.has_value());
  ASSERT_EQ(body.topics->size(), 2u);
  EXPECT_EQ((*body.topics)[1].name, std::optional<std::string>("bar"));
  writer out;
  h->header.encode(out, 1);
  body.encode(out, 1);
  EXPECT_EQ(to_vector(out.bytes()), frame);

  // In v1 a null array means "all topics".
  auto all = bytes_builder().i32(-1).build();
  reader in_all(all);
  ASSERT_TRUE(body.decode(in_all, 1));
  EXPECT_FALSE(body.topics.has_value());
  // v0 has no null array: the same bytes are an error.
  reader in_v0(all);
  EXPECT_EQ(body.decode(in_v0, 0).error(), errc::non_nullable_null);
}

TEST(header, produce_v3_request_keeps_records_in_place) {
  auto frame = bytes_builder()
                   .i16(0)
                   .i16(3)
                   .i32(0x01020304)
                   .i16(7)
                   .text("sarama1")
                   .i16(-1)  // transactional id: null
                   .i16(-1)  // acks = all
                   .i32(30000)
                   .i32(1)
                   .i16(6)
                   .text("orders")
                   .i32(1)
                   .i32(0)  // partition 0
                   .i32(4)  // records: 4 bytes
                   .i32(0x0A0B0C0D)
                   .build();
  reader in(frame);
  auto h = decode_request_header(in);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->header.request_api_key, 0);
  EXPECT_EQ(h->header.request_api_version, 3);
  EXPECT_EQ(h->header.correlation_id, 0x01020304);
  EXPECT_EQ(h->header_version, 1);
  EXPECT_EQ(h->header.client_id, std::optional<std::string>("sarama1"));
  produce_request body;
  ASSERT_TRUE(body.decode(in, 3));
  EXPECT_EQ(body.acks, -1);
  ASSERT_EQ(body.topic_data.size(), 1u);
  const auto& records = body.topic_data[0].partition_data[0].records;
  ASSERT_TRUE(records.has_value());
  EXPECT_EQ(records->bytes().data(), frame.data() + frame.size() - 4);
  writer out;
  h->header.encode(out, 1);
  body.encode(out, 3);
  EXPECT_EQ(to_vector(out.bytes()), frame);
}

TEST(header, unknown_api_key_and_unsupported_versions) {
  auto unknown = bytes_builder().i16(4).i16(0).i32(1).i16(0).build();  // LeaderAndIsr
  reader in(unknown);
  EXPECT_EQ(decode_request_header(in).error(), errc::unknown_api_key);

  // A too-new ApiVersions request still has a readable header (v2, flexible), so the
  // broker can answer it in the v0 layout (README 3.8).
  auto too_new = bytes_builder().i16(18).i16(99).i32(1).i16(1).text("x").u8(0).build();
  reader in2(too_new);
  auto h = decode_request_header(in2);
  ASSERT_TRUE(h);
  EXPECT_FALSE(h->version_supported);
  EXPECT_EQ(h->header_version, 2);
  EXPECT_EQ(in2.remaining(), 0u);
  api_versions_request body;
  EXPECT_EQ(body.decode(in2, 99).error(), errc::unsupported_version);

  auto short_header = bytes_builder().i16(18).build();
  reader in3(short_header);
  EXPECT_EQ(decode_request_header(in3).error(), errc::truncated);
}

TEST(header, response_header_versions) {
  writer flexible;
  encode_response_header(flexible, *find_api(3), 9, 1);
  EXPECT_EQ(to_vector(flexible.bytes()), bytes_builder().i32(1).u8(0).build());
  writer classic;
  encode_response_header(classic, *find_api(3), 8, 1);
  EXPECT_EQ(to_vector(classic.bytes()), bytes_builder().i32(1).build());
  writer api_versions;
  encode_response_header(api_versions, *find_api(18), 4, 1);
  EXPECT_EQ(to_vector(api_versions.bytes()), bytes_builder().i32(1).build());
}

TEST(header, api_table_matches_the_schemas) {
  const auto* produce = find_api(0);
  ASSERT_NE(produce, nullptr);
  EXPECT_EQ(produce->name, "Produce");
  EXPECT_EQ(produce->version_max, 11);
  EXPECT_EQ(produce->flexible_version_min, 9);
  const auto* offset_delete = find_api(47);
  ASSERT_NE(offset_delete, nullptr);
  EXPECT_EQ(offset_delete->flexible_version_min, -1);
  EXPECT_EQ(request_header_version(*offset_delete, 0), 1);
  EXPECT_EQ(find_api(4), nullptr);
  EXPECT_EQ(all_apis().size(), 36u);
  for (std::size_t i = 1; i < all_apis().size(); ++i) {
    EXPECT_LT(all_apis()[i - 1].key, all_apis()[i].key);
  }
}

TEST(header, fetch_response_frame_with_external_records) {
  // The network layer sends chunks in order; the size prefix counts the external bytes.
  writer out;
  auto at = out.reserve_int32();
  encode_response_header(out, *find_api(1), 4, 3);
  out.write_records(record_set(external_chunk{1, 100}), false);
  finish_frame(out, at);
  EXPECT_EQ(out.size(), 4u + 4u + 4u + 100u);
  auto chunks = out.chunks();
  ASSERT_EQ(chunks.size(), 2u);
  EXPECT_EQ(to_vector(std::get<0>(chunks[0])), bytes_builder().i32(108).i32(3).i32(100).build());
}

}  // namespace
}  // namespace caudal::protocol
