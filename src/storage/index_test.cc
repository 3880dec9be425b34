// Goal: the sparse indexes answer lookups at and between entries, truncate correctly, and
// reject index files that do not fit their segment (so recovery rebuilds them).

#include "storage/index.h"

#include <gtest/gtest.h>

namespace caudal::storage {
namespace {

TEST(offset_index, floor_at_and_between_entries) {
  offset_index idx;
  EXPECT_FALSE(idx.floor(0));
  idx.append({0, 0});
  idx.append({10, 4096});
  idx.append({25, 8200});
  EXPECT_EQ(idx.floor(0), (offset_entry{0, 0}));
  EXPECT_EQ(idx.floor(9), (offset_entry{0, 0}));
  EXPECT_EQ(idx.floor(10), (offset_entry{10, 4096}));
  EXPECT_EQ(idx.floor(24), (offset_entry{10, 4096}));
  EXPECT_EQ(idx.floor(25), (offset_entry{25, 8200}));
  EXPECT_EQ(idx.floor(1'000'000), (offset_entry{25, 8200}));
}

TEST(offset_index, truncation) {
  offset_index idx;
  idx.append({0, 0});
  idx.append({10, 4096});
  idx.append({25, 8200});
  auto copy = idx;
  idx.truncate_to_position(4096);
  EXPECT_EQ(idx.entries().size(), 1u);
  copy.truncate_to_offset(11);
  EXPECT_EQ(copy.entries().size(), 2u);
  copy.truncate_to_offset(0);
  EXPECT_TRUE(copy.entries().empty());
}

TEST(offset_index, encode_decode_and_rejections) {
  offset_index idx;
  idx.append({0, 0});
  idx.append({10, 4096});
  const auto bytes = idx.encode();
  ASSERT_EQ(bytes.size(), 2 * offset_entry_bytes);
  auto back = offset_index::decode(bytes, 5000);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->entries(), idx.entries());
  EXPECT_FALSE(offset_index::decode(bytes, 4096)) << "position past the data";
  EXPECT_FALSE(offset_index::decode(std::span(bytes).first(7), 5000)) << "partial entry";
  offset_index wrong_order;
  wrong_order.append({0, 0});
  auto swapped = wrong_order.encode();
  swapped.insert(swapped.end(), swapped.begin(), swapped.end());  // a repeated entry
  EXPECT_FALSE(offset_index::decode(swapped, 5000));
}

TEST(time_index, last_before_and_monotonic_append) {
  time_index idx;
  EXPECT_TRUE(idx.append({100, 0}));
  EXPECT_FALSE(idx.append({100, 5})) << "equal timestamps add nothing";
  EXPECT_TRUE(idx.append({200, 10}));
  EXPECT_TRUE(idx.append({300, 20}));
  EXPECT_FALSE(idx.last_before(100));
  EXPECT_EQ(idx.last_before(101), (time_entry{100, 0}));
  EXPECT_EQ(idx.last_before(200), (time_entry{100, 0}));
  EXPECT_EQ(idx.last_before(250), (time_entry{200, 10}));
  EXPECT_EQ(idx.last_before(1'000), (time_entry{300, 20}));
  idx.truncate_to_offset(10);
  EXPECT_EQ(idx.entries().size(), 1u);
  const auto bytes = idx.encode();
  auto back = time_index::decode(bytes, 1);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->entries(), idx.entries());
  EXPECT_FALSE(time_index::decode(bytes, 0)) << "offset past the segment";
}

}  // namespace
}  // namespace caudal::storage
