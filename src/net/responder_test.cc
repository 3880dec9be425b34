// Goal: the responder's contract without any socket: one completion per slot, copies
// share it, a dropped responder closes, and a completion_sink sees exactly what the
// handler answered. Method: a recording sink.

#include "net/responder.h"

#include <gtest/gtest.h>

#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace caudal::net {
namespace {

class recording_sink final : public completion_sink {
 public:
  void complete(std::uint64_t slot, completion c) noexcept override {
    std::lock_guard lock(mutex);
    seen.emplace_back(slot, std::move(c));
  }
  std::mutex mutex;
  std::vector<std::pair<std::uint64_t, completion>> seen;
};

std::vector<std::byte> bytes(std::string_view s) {
  std::vector<std::byte> out(s.size());
  for (std::size_t i = 0; i < s.size(); ++i)
    out[i] = std::byte(s[i]);
  return out;
}

TEST(responder, send_delivers_the_response_once) {
  auto sink = std::make_shared<recording_sink>();
  {
    responder r(sink, 7);
    EXPECT_EQ(r.slot(), 7U);
    EXPECT_FALSE(r.completed());
    response body(bytes("abc"));
    body.append(bytes("de"));
    EXPECT_EQ(body.size_bytes(), 5U);
    r.send(std::move(body));
    EXPECT_TRUE(r.completed());
  }
  ASSERT_EQ(sink->seen.size(), 1U);  // no close from the destructor
  EXPECT_EQ(sink->seen[0].first, 7U);
  EXPECT_EQ(sink->seen[0].second.kind, completion_kind::response);
  EXPECT_EQ(sink->seen[0].second.body.chunks().size(), 2U);
}

TEST(responder, copies_share_one_completion) {
  auto sink = std::make_shared<recording_sink>();
  {
    responder first(sink, 1);
    responder second = first;  // NOLINT(performance-unnecessary-copy-initialization)
    second.send_nothing();
    EXPECT_TRUE(first.completed());
  }
  ASSERT_EQ(sink->seen.size(), 1U);
  EXPECT_EQ(sink->seen[0].second.kind, completion_kind::nothing);
}

TEST(responder, dropping_the_last_copy_uncompleted_closes) {
  auto sink = std::make_shared<recording_sink>();
  {
    responder r(sink, 3);
    responder moved = std::move(r);
    std::thread([copy = moved] {}).join();  // a copy dropped elsewhere does not complete
    EXPECT_TRUE(sink->seen.empty());
  }
  ASSERT_EQ(sink->seen.size(), 1U);
  EXPECT_EQ(sink->seen[0].first, 3U);
  EXPECT_EQ(sink->seen[0].second.kind, completion_kind::close);
}

TEST(responder, completes_from_another_thread) {
  auto sink = std::make_shared<recording_sink>();
  responder r(sink, 0);
  std::thread([r] { r.close(); }).join();
  ASSERT_EQ(sink->seen.size(), 1U);
  EXPECT_EQ(sink->seen[0].second.kind, completion_kind::close);
}

TEST(responder_death, completing_twice_asserts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  auto sink = std::make_shared<recording_sink>();
  responder r(sink, 0);
  r.send_nothing();
  EXPECT_DEATH(r.send_nothing(), "completed twice");
}

TEST(response, drops_empty_chunks) {
  response r;
  r.append(std::vector<std::byte>{});
  r.append(file_range{0, 0, 0, nullptr});
  EXPECT_TRUE(r.chunks().empty());
  EXPECT_EQ(r.size_bytes(), 0U);
}

}  // namespace
}  // namespace caudal::net
