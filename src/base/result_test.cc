// Goal: result<T> carries a value or an error, CAUDAL_TRY propagates errors, and misuse
// (reading the value of an error) aborts instead of returning garbage.

#include "base/result.h"

#include <gtest/gtest.h>

namespace caudal {
namespace {

result<int> parse_positive(int v) {
  if (v <= 0) return std::make_error_code(std::errc::invalid_argument);
  return v;
}

result<int> doubled(int v) {
  auto r = parse_positive(v);
  if (!r) return r.error();
  return *r * 2;
}

result<void> check(int v) {
  CAUDAL_TRY(parse_positive(v));
  return ok();
}

TEST(result, value_and_error) {
  auto good = doubled(21);
  ASSERT_TRUE(good);
  EXPECT_EQ(*good, 42);
  auto bad = doubled(-1);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error(), std::make_error_code(std::errc::invalid_argument));
  EXPECT_TRUE(check(1));
  EXPECT_FALSE(check(0));
}

TEST(result_death, value_of_error_aborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        auto r = parse_positive(-5);
        (void)r.value();
      },
      "value\\(\\) called on a result holding error");
}

TEST(assert_death, prints_values) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  int committed = 7;
  int target = 3;
  EXPECT_DEATH(CAUDAL_ASSERT(target >= committed, "commit went back: {} -> {}", committed, target),
               "commit went back: 7 -> 3");
}

}  // namespace
}  // namespace caudal
