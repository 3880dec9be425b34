// The pure parts of the CLI: the Java-compatible partitioner (against the vectors of
// Kafka's UtilsTest and a librdkafka/kafkajs cross-check), format strings in both
// directions, --from values, --brokers lists, how UUIDs print, the range assignor and the
// consumer protocol's bytes. The commands themselves
// are tested end to end against a real broker in tests/integration/test_cli.py.

#include "cli/connection.h"
#include "cli/error.h"
#include "cli/group_client.h"
#include "cli/offset_spec.h"
#include "cli/output.h"
#include "cli/partitioner.h"
#include "cli/record_format.h"

#include <gtest/gtest.h>

#include <string>

namespace caudal::cli {
namespace {

std::span<const std::byte> bytes(const std::string& s) {
  return std::as_bytes(std::span<const char>(s.data(), s.size()));
}

TEST(Murmur2, MatchesKafkaUtilsTest) {
  // org.apache.kafka.common.utils.UtilsTest#testMurmur2.
  EXPECT_EQ(murmur2(bytes("21")), -973932308);
  EXPECT_EQ(murmur2(bytes("foobar")), -790332482);
  EXPECT_EQ(murmur2(bytes("a-little-bit-long-string")), -985981536);
  EXPECT_EQ(murmur2(bytes("a-little-bit-longer-string")), -1486304829);
  EXPECT_EQ(murmur2(bytes("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8")), -58897971);
  EXPECT_EQ(murmur2(bytes("abc")), 479470107);
}

TEST(Murmur2, CoversEveryTailLength) {
  // Values the Java implementation gives (also in kafkajs's murmur2 tests): tails of 0-3.
  EXPECT_EQ(murmur2(bytes("1")), -1993445489);
  EXPECT_EQ(murmur2(bytes("12")), 126087238);
  EXPECT_EQ(murmur2(bytes("123")), -267702483);
  EXPECT_EQ(murmur2(bytes("1234")), -1614185708);
  EXPECT_EQ(murmur2(bytes("12345")), -1188365604);
  EXPECT_EQ(murmur2(bytes("")), 275646681);
}

TEST(Partitioner, KeysGoWhereJavaPutsThem) {
  // toPositive(-973932308) = 1173551340, so "21" goes to partition 0 of 3 and 3 of 7.
  EXPECT_EQ(partition_for_key(bytes("21"), 3), 0);
  EXPECT_EQ(partition_for_key(bytes("21"), 7), 3);
  EXPECT_EQ(partition_for_key(bytes("foobar"), 1), 0);
  for (const char* key : {"a", "bb", "ccc", "dddd", "orders-17"}) {
    const auto p = partition_for_key(bytes(key), 5);
    EXPECT_GE(p, 0);
    EXPECT_LT(p, 5);
  }
}

TEST(Partitioner, StickyMovesOnWhenItsBatchIsDone) {
  sticky_partitioner s(3);
  EXPECT_EQ(s.current(), 0);
  s.batch_done(2);  // another partition's batch: no move
  EXPECT_EQ(s.current(), 0);
  s.batch_done(0);
  EXPECT_EQ(s.current(), 1);
  s.batch_done(1);
  s.batch_done(2);
  EXPECT_EQ(s.current(), 0);
}

TEST(RecordFormat, SplitsAnInputLineAtTheLiteralText) {
  const auto f = record_format::parse("%k %v", record_format::direction::input);
  const auto r = f.parse_line("user-1 hello there");
  EXPECT_EQ(r.key, "user-1");
  EXPECT_EQ(r.value, "hello there");
  EXPECT_TRUE(r.headers.empty());
  EXPECT_FALSE(r.partition.has_value());
}

TEST(RecordFormat, ReadsHeadersTimestampAndPartition) {
  const auto f = record_format::parse("%p|%t|%h|%k\\t%v", record_format::direction::input);
  const auto r = f.parse_line("2|1700000000123|a=1,b,c=x=y|key\tthe value");
  EXPECT_EQ(r.partition, 2);
  EXPECT_EQ(r.timestamp_ms, 1700000000123);
  ASSERT_EQ(r.headers.size(), 3u);
  EXPECT_EQ(r.headers[0], (header_text{"a", "1"}));
  EXPECT_EQ(r.headers[1], (header_text{"b", std::nullopt}));
  EXPECT_EQ(r.headers[2], (header_text{"c", "x=y"}));
  EXPECT_EQ(r.key, "key");
  EXPECT_EQ(r.value, "the value");
}

TEST(RecordFormat, ValueOnlyTakesTheWholeLine) {
  const auto f = record_format::parse("%v", record_format::direction::input);
  EXPECT_EQ(f.parse_line("a b\tc").value, "a b\tc");
  EXPECT_EQ(f.parse_line("").value, "");
  EXPECT_FALSE(f.parse_line("x").key.has_value());
}

TEST(RecordFormat, RejectsBadFormatsAndLines) {
  using d = record_format::direction;
  EXPECT_THROW(static_cast<void>(record_format::parse("%k%v", d::input)), error);
  EXPECT_THROW(static_cast<void>(record_format::parse("%x", d::output)), error);
  EXPECT_THROW(static_cast<void>(record_format::parse("%v %", d::output)), error);
  EXPECT_THROW(static_cast<void>(record_format::parse("%o %v", d::input)), error);
  const auto f = record_format::parse("%k=%v", d::input);
  EXPECT_THROW(static_cast<void>(f.parse_line("no separator")), error);
  const auto t = record_format::parse("%t %v", d::input);
  EXPECT_THROW(static_cast<void>(t.parse_line("soon value")), error);
  try {
    static_cast<void>(f.parse_line("nope"));
    FAIL() << "no throw";
  } catch (const error& e) {
    EXPECT_EQ(e.status(), exit_status::usage);
  }
}

TEST(RecordFormat, FormatsEveryOutputField) {
  consumed_record r;
  r.topic = "orders";
  r.partition = 3;
  r.offset = 42;
  r.timestamp_ms = 1700000000000;
  r.key = "k";
  r.value = "v";
  r.headers = {{"h1", "x"}, {"h2", std::nullopt}};
  const auto f =
      record_format::parse("%T/%p@%o %t %k=%v [%h] 100%%\\n", record_format::direction::output);
  EXPECT_EQ(f.format(r), "orders/3@42 1700000000000 k=v [h1=x,h2] 100%\n");
  r.key.reset();
  r.value.reset();
  EXPECT_EQ(record_format::parse("<%k><%v>", record_format::direction::output).format(r), "<><>");
}

TEST(RecordFormat, RoundTripsThroughProduceAndConsume) {
  const auto in = record_format::parse("%k\\t%v", record_format::direction::input);
  const auto out = record_format::parse("%k\\t%v", record_format::direction::output);
  const auto p = in.parse_line("a\tb c");
  consumed_record r;
  r.key = p.key;
  r.value = p.value;
  EXPECT_EQ(out.format(r), "a\tb c");
}

TEST(RecordJson, HasEveryFieldAndNulls) {
  consumed_record r;
  r.topic = "t";
  r.partition = 1;
  r.offset = 7;
  r.timestamp_ms = 5;
  r.value = "say \"hi\"\n";
  r.headers = {{"h", std::nullopt}};
  EXPECT_EQ(record_json(r), R"({"topic":"t","partition":1,"offset":7,"timestamp":5,"key":null,)"
                            R"("value":"say \"hi\"\n","headers":[{"key":"h","value":null}]})");
  r.value = std::string("\xff", 1);  // not UTF-8: replaced, not an exception
  EXPECT_NE(record_json(r).find("\"value\":\"\xEF\xBF\xBD\""), std::string::npos);
}

TEST(OffsetSpec, ParsesEveryForm) {
  using k = offset_spec::kind;
  EXPECT_EQ(parse_offset_spec("beginning"), (offset_spec{k::beginning, 0}));
  EXPECT_EQ(parse_offset_spec("end"), (offset_spec{k::end, 0}));
  EXPECT_EQ(parse_offset_spec("42"), (offset_spec{k::offset, 42}));
  EXPECT_EQ(parse_offset_spec("0"), (offset_spec{k::offset, 0}));
  EXPECT_EQ(parse_offset_spec("-10"), (offset_spec{k::from_end, 10}));
  EXPECT_EQ(parse_offset_spec("@1700000000000"), (offset_spec{k::timestamp, 1700000000000}));
  for (const char* bad : {"", "soon", "@", "@-1", "12x", "@abc", "+-1"}) {
    EXPECT_THROW(static_cast<void>(parse_offset_spec(bad)), error) << bad;
  }
}

TEST(BrokerList, ParsesHostsPortsAndDefaults) {
  const auto list = parse_broker_list("127.0.0.1:9092, example.com:19092,[::1]:9093,solo");
  ASSERT_EQ(list.size(), 4u);
  EXPECT_EQ(list[0], (broker_address{"127.0.0.1", 9092}));
  EXPECT_EQ(list[1], (broker_address{"example.com", 19092}));
  EXPECT_EQ(list[2], (broker_address{"::1", 9093}));
  EXPECT_EQ(list[3], (broker_address{"solo", 9092}));
  EXPECT_EQ(list[2].to_string(), "[::1]:9093");
  for (const char* bad : {"", ",", "h:0", "h:99999", "h:x", "h:", "[::1"}) {
    EXPECT_THROW(static_cast<void>(parse_broker_list(bad)), error) << bad;
  }
}

TEST(UuidText, MatchesKafkaUuidToString) {
  // Uuid(0x0123456789abcdef, 0xfedcba9876543210).toString() in Java.
  EXPECT_EQ(uuid_text({0x0123456789abcdefULL, 0xfedcba9876543210ULL}), "ASNFZ4mrze_-3LqYdlQyEA");
  EXPECT_EQ(uuid_text({}), "AAAAAAAAAAAAAAAAAAAAAA");
}

TEST(RangeAssignor, GivesContiguousRangesInMemberOrder) {
  // Kafka's RangeAssignor javadoc: C0 and C1 on t0 and t1 of 3 partitions each.
  const auto a = assign_range({{"C1", {"t0", "t1"}}, {"C0", {"t0", "t1"}}}, {{"t0", 3}, {"t1", 3}});
  using parts = std::map<std::string, std::vector<std::int32_t>>;
  EXPECT_EQ(a.at("C0"), (parts{{"t0", {0, 1}}, {"t1", {0, 1}}}));
  EXPECT_EQ(a.at("C1"), (parts{{"t0", {2}}, {"t1", {2}}}));
}

TEST(RangeAssignor, LeavesExtraMembersEmptyAndSkipsUnknownTopics) {
  const auto a = assign_range({{"a", {"t"}}, {"b", {"t"}}, {"c", {"t", "gone"}}}, {{"t", 2}});
  EXPECT_EQ(a.at("a").at("t"), (std::vector<std::int32_t>{0}));
  EXPECT_EQ(a.at("b").at("t"), (std::vector<std::int32_t>{1}));
  EXPECT_TRUE(a.at("c").empty());
}

TEST(ConsumerProtocol, RoundTripsSubscriptionAndAssignment) {
  const auto s = encode_subscription({"orders", "payments"});
  EXPECT_EQ(decode_subscription(s), (std::vector<std::string>{"orders", "payments"}));
  const std::map<std::string, std::vector<std::int32_t>> parts{{"orders", {0, 2}}, {"x", {1}}};
  EXPECT_EQ(decode_assignment(encode_assignment(parts)), parts);
  EXPECT_EQ(decode_assignment({}), (std::map<std::string, std::vector<std::int32_t>>{}));
  const std::byte junk[] = {std::byte{0}, std::byte{0}, std::byte{0xff}};
  EXPECT_FALSE(decode_assignment(junk).has_value());
  EXPECT_FALSE(decode_subscription(junk).has_value());
}

}  // namespace
}  // namespace caudal::cli
