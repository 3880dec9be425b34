// Goal: server.properties files as Kafka operators write them parse the way Kafka's
// Java Properties loader reads them.

#include "base/properties.h"

#include <gtest/gtest.h>

namespace caudal {
namespace {

properties parse_ok(std::string_view text) {
  auto r = parse_properties(text);
  EXPECT_EQ(r.index(), 0u);
  return r.index() == 0 ? std::get<0>(r) : properties{};
}

TEST(properties, separators_comments_and_whitespace) {
  auto p = parse_ok(
      "# a comment\n"
      "! another\n"
      "\n"
      "node.id=1\n"
      "  log.dirs = /var/lib/caudal  \n"
      "listeners: PLAINTEXT://127.0.0.1:9092\n"
      "num.partitions 3\r\n"
      "empty=\n"
      "node.id=2\n");
  EXPECT_EQ(p.size(), 5u);
  EXPECT_EQ(p["node.id"], "2");
  EXPECT_EQ(p["log.dirs"], "/var/lib/caudal");
  EXPECT_EQ(p["listeners"], "PLAINTEXT://127.0.0.1:9092");
  EXPECT_EQ(p["num.partitions"], "3");
  EXPECT_EQ(p["empty"], "");
}

TEST(properties, continuation_and_escapes) {
  auto p = parse_ok(
      "listeners=PLAINTEXT://a:1,\\\n"
      "    PLAINTEXT://b:2\n"
      "odd\\=key=v\\tx\n"
      "backslash=ends\\\\\n"
      "next=1\n");
  EXPECT_EQ(p["listeners"], "PLAINTEXT://a:1,PLAINTEXT://b:2");
  EXPECT_EQ(p["odd=key"], "v\tx");
  EXPECT_EQ(p["backslash"], "ends\\");
  EXPECT_EQ(p["next"], "1");
}

TEST(properties, malformed_lines_name_their_line) {
  auto r = parse_properties("a=1\n=2\n");
  ASSERT_EQ(r.index(), 1u);
  EXPECT_EQ(std::get<1>(r).line, 2);
  auto u = parse_properties("a=\\u0041\n");
  ASSERT_EQ(u.index(), 1u);
  EXPECT_EQ(std::get<1>(u).line, 1);
}

}  // namespace
}  // namespace caudal
