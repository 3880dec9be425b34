// Goal: file_log keeps what was synced across a reopen, cuts a torn or corrupt tail (what
// a crash mid-append leaves) without losing the records before it, and keeps term/vote
// apart from the log. Method: write through the API, damage the files by hand the ways a
// crash can, reopen and compare with what must survive.

#include "raft/driver/file_log.h"

#include "raft/driver/errc.h"
#include "storage/errc.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace caudal::raft {
namespace {

namespace fs = std::filesystem;

class file_log_test : public ::testing::Test {
 protected:
  void SetUp() override {
    _dir = fs::temp_directory_path() /
           fmt::format("caudal-file-log-{}-{}", ::testing::UnitTest::GetInstance()->random_seed(),
                       ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(_dir);
  }
  void TearDown() override { fs::remove_all(_dir); }

  std::unique_ptr<file_log> open() {
    auto log = file_log::open(_dir);
    EXPECT_TRUE(log) << log.error().message();
    return std::move(*log);
  }

  static entry make(std::int64_t term, std::int64_t index, std::size_t size = 10) {
    entry e{term_id(term), log_index(index), entry_kind::normal, {}};
    e.data.resize(size, std::byte(index & 0xff));
    return e;
  }

  static std::vector<entry> all(const file_log& log) {
    std::vector<entry> out;
    if (log.last_index()() > 0) log.read(log_index(1), log.last_index(), SIZE_MAX, out);
    return out;
  }

  static std::vector<entry> all_after(const file_log& log, std::int64_t first) {
    std::vector<entry> out;
    if (log.last_index()() >= first) log.read(log_index(first), log.last_index(), SIZE_MAX, out);
    return out;
  }

  fs::path log_path() const { return _dir / "raft.log"; }

  fs::path _dir;
};

TEST_F(file_log_test, a_new_log_is_empty_with_term_zero) {
  auto log = open();
  EXPECT_EQ(log->last_index(), log_index(0));
  EXPECT_EQ(log->term_at(log_index(0)), term_id(0));
  EXPECT_EQ(log->recovered_hard_state(), hard_state{});
  EXPECT_EQ(log->torn_bytes(), 0u);
}

TEST_F(file_log_test, entries_and_hard_state_survive_a_reopen) {
  std::vector<entry> written = {make(1, 1), make(1, 2, 0), make(2, 3, 3000)};
  written[1].kind = entry_kind::leader_noop;
  {
    auto log = open();
    ASSERT_TRUE(log->write(std::nullopt, written));
    ASSERT_TRUE(log->sync(hard_state{term_id(2), node_id(4)}));
    EXPECT_EQ(all(*log), written);
  }
  auto log = open();
  EXPECT_EQ(all(*log), written);
  EXPECT_EQ(log->term_at(log_index(3)), term_id(2));
  EXPECT_EQ(log->recovered_hard_state(), (hard_state{term_id(2), node_id(4)}));
  EXPECT_EQ(log->torn_bytes(), 0u);
}

TEST_F(file_log_test, truncation_replaces_the_tail_on_disk_too) {
  {
    auto log = open();
    ASSERT_TRUE(log->write(std::nullopt, {make(1, 1), make(1, 2), make(1, 3)}));
    ASSERT_TRUE(log->write(log_index(2), {make(3, 2, 50)}));
    ASSERT_TRUE(log->sync(std::nullopt));
    EXPECT_EQ(log->last_index(), log_index(2));
  }
  auto log = open();
  EXPECT_EQ(all(*log), (std::vector<entry>{make(1, 1), make(3, 2, 50)}));
}

TEST_F(file_log_test, read_stops_at_bytes_max_but_returns_one_entry) {
  auto log = open();
  ASSERT_TRUE(log->write(std::nullopt, {make(1, 1, 100), make(1, 2, 100), make(1, 3, 100)}));
  std::vector<entry> out;
  log->read(log_index(1), log_index(3), 150, out);
  EXPECT_EQ(out.size(), 1u);
  out.clear();
  log->read(log_index(2), log_index(3), 1, out);
  EXPECT_EQ(out.size(), 1u);
  out.clear();
  log->read(log_index(1), log_index(3), 200, out);
  EXPECT_EQ(out.size(), 2u);
}

// Every length a crash could leave the last record at: the records before it survive.
TEST_F(file_log_test, a_torn_last_record_is_cut_at_every_length) {
  std::uintmax_t two_records = 0;
  std::uintmax_t three_records = 0;
  {
    auto log = open();
    ASSERT_TRUE(log->write(std::nullopt, {make(1, 1), make(1, 2)}));
    ASSERT_TRUE(log->sync(std::nullopt));
    two_records = fs::file_size(log_path());
    ASSERT_TRUE(log->write(std::nullopt, {make(1, 3, 40)}));
    ASSERT_TRUE(log->sync(std::nullopt));
    three_records = fs::file_size(log_path());
  }
  for (std::uintmax_t size = three_records - 1; size >= two_records; --size) {
    fs::resize_file(log_path(), size);
    auto log = open();
    EXPECT_EQ(log->last_index(), log_index(2)) << "file cut to " << size;
    EXPECT_EQ(log->torn_bytes(), size - two_records);
    EXPECT_EQ(fs::file_size(log_path()), two_records);
    // Appending after the cut continues the log.
    ASSERT_TRUE(log->write(std::nullopt, {make(1, 3, 40)}));
    ASSERT_TRUE(log->sync(std::nullopt));
    ASSERT_EQ(fs::file_size(log_path()), three_records);
    if (size == two_records) break;
  }
}

TEST_F(file_log_test, a_corrupt_record_cuts_the_log_from_there) {
  std::uintmax_t one_record = 0;
  {
    auto log = open();
    ASSERT_TRUE(log->write(std::nullopt, {make(1, 1)}));
    one_record = fs::file_size(log_path());
    ASSERT_TRUE(log->write(std::nullopt, {make(1, 2), make(1, 3)}));
    ASSERT_TRUE(log->sync(std::nullopt));
  }
  {
    std::fstream f(log_path(), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(one_record + 30));
    f.put('\x5a');
  }
  auto log = open();
  EXPECT_EQ(log->last_index(), log_index(1));
  EXPECT_EQ(fs::file_size(log_path()), one_record);
}

// A truncation followed by appends, all unsynced, can reach the disk as the appends
// without the truncation: the old records beyond the new ones stay. Their index and term
// may look like a continuation; the CRC chain must still refuse them.
TEST_F(file_log_test, a_stale_record_after_a_lost_truncation_is_cut) {
  std::uintmax_t two_records = 0;
  std::vector<char> stale;
  {
    auto log = open();
    ASSERT_TRUE(log->write(std::nullopt, {make(1, 1), make(1, 2)}));
    two_records = fs::file_size(log_path());
    ASSERT_TRUE(log->write(std::nullopt, {make(3, 3)}));
    ASSERT_TRUE(log->sync(std::nullopt));
    std::ifstream f(log_path(), std::ios::binary);
    f.seekg(static_cast<std::streamoff>(two_records));
    stale.assign(std::istreambuf_iterator<char>(f), {});
  }
  {
    auto log = open();
    ASSERT_TRUE(log->write(log_index(2), {make(2, 2)}));  // same size as the old entry 2
    ASSERT_TRUE(log->sync(std::nullopt));
  }
  ASSERT_EQ(fs::file_size(log_path()), two_records);
  {
    std::ofstream f(log_path(), std::ios::binary | std::ios::app);
    f.write(stale.data(), static_cast<std::streamsize>(stale.size()));
  }
  auto log = open();
  EXPECT_EQ(log->last_index(), log_index(2));
  EXPECT_EQ(log->term_at(log_index(2)), term_id(2));
  EXPECT_EQ(log->torn_bytes(), stale.size());
}

std::shared_ptr<const snapshot> make_snapshot(std::int64_t index, std::int64_t term) {
  auto s = std::make_shared<snapshot>();
  s->index = log_index(index);
  s->term = term_id(term);
  s->membership = {{node_id(1), node_id(2), node_id(3)}, {}};
  s->data.resize(100, std::byte{7});
  return s;
}

TEST_F(file_log_test, compaction_keeps_the_tail_across_a_reopen) {
  {
    auto log = open();
    ASSERT_TRUE(log->write(std::nullopt, {make(1, 1), make(1, 2), make(2, 3), make(2, 4)}));
    ASSERT_TRUE(log->sync(std::nullopt));
    ASSERT_TRUE(log->compact(make_snapshot(2, 1)));
    EXPECT_EQ(log->last_index(), log_index(4));
    EXPECT_EQ(log->term_at(log_index(2)), term_id(1));
    EXPECT_EQ(all_after(*log, 3), (std::vector<entry>{make(2, 3), make(2, 4)}));
    // Appends and truncations go on above the snapshot.
    ASSERT_TRUE(log->write(log_index(4), {make(3, 4), make(3, 5)}));
    ASSERT_TRUE(log->sync(std::nullopt));
  }
  auto log = open();
  ASSERT_NE(log->latest_snapshot(), nullptr);
  EXPECT_EQ(*log->latest_snapshot(), *make_snapshot(2, 1));
  EXPECT_EQ(all_after(*log, 3), (std::vector<entry>{make(2, 3), make(3, 4), make(3, 5)}));
  EXPECT_EQ(log->torn_bytes(), 0u);
}

// Compacted records are rewritten away once they outweigh the live ones (and 4 MiB).
TEST_F(file_log_test, compaction_rewrites_a_file_mostly_compacted) {
  constexpr std::size_t big = 64 * 1024;
  {
    auto log = open();
    std::vector<entry> entries;
    for (int i = 1; i <= 100; ++i)
      entries.push_back(make(1, i, big));
    ASSERT_TRUE(log->write(std::nullopt, entries));
    ASSERT_TRUE(log->sync(std::nullopt));
    ASSERT_TRUE(log->compact(make_snapshot(30, 1)));
    EXPECT_GT(fs::file_size(log_path()), 100 * big);  // not yet: live records outweigh
    ASSERT_TRUE(log->compact(make_snapshot(90, 1)));
    EXPECT_LT(fs::file_size(log_path()), 11 * big);
    // The rewritten file goes on taking appends and truncations.
    ASSERT_TRUE(log->write(log_index(100), {make(2, 100), make(2, 101)}));
    ASSERT_TRUE(log->sync(std::nullopt));
  }
  auto log = open();
  EXPECT_EQ(log->torn_bytes(), 0u);
  EXPECT_EQ(log->latest_snapshot()->index, log_index(90));
  std::vector<entry> expected;
  for (int i = 91; i <= 99; ++i)
    expected.push_back(make(1, i, big));
  expected.push_back(make(2, 100));
  expected.push_back(make(2, 101));
  EXPECT_EQ(all_after(*log, 91), expected);
  EXPECT_FALSE(fs::exists(_dir / "raft.log.rewrite"));
}

TEST_F(file_log_test, an_install_replaces_the_log_across_a_reopen) {
  {
    auto log = open();
    ASSERT_TRUE(log->write(std::nullopt, {make(1, 1), make(1, 2)}));
    ASSERT_TRUE(log->sync(std::nullopt));
    ASSERT_TRUE(log->install(make_snapshot(10, 4)));
    EXPECT_EQ(log->last_index(), log_index(10));
    EXPECT_EQ(log->term_at(log_index(10)), term_id(4));
    ASSERT_TRUE(log->write(std::nullopt, {make(4, 11), make(5, 12)}));
    ASSERT_TRUE(log->sync(std::nullopt));
  }
  auto log = open();
  EXPECT_EQ(log->latest_snapshot()->index, log_index(10));
  EXPECT_EQ(all_after(*log, 11), (std::vector<entry>{make(4, 11), make(5, 12)}));
}

// A crash after the installed snapshot is durable but before the emptied log is: the old
// records do not hold the snapshot's last entry, so they are dropped, not continued.
TEST_F(file_log_test, old_records_after_a_crashed_install_are_dropped) {
  {
    auto log = open();
    ASSERT_TRUE(log->write(std::nullopt, {make(1, 1), make(1, 2), make(1, 3)}));
    ASSERT_TRUE(log->sync(std::nullopt));
  }
  const auto log_bytes = fs::file_size(log_path());
  {
    auto log = open();
    ASSERT_TRUE(log->install(make_snapshot(2, 2)));  // term 2 at index 2: not ours
  }
  fs::resize_file(log_path(), 0);
  {
    // Put the old records back as if the emptying never reached the disk.
    auto fresh = file_log::open(_dir / "old");
    ASSERT_TRUE(fresh);
    ASSERT_TRUE((*fresh)->write(std::nullopt, {make(1, 1), make(1, 2), make(1, 3)}));
    ASSERT_TRUE((*fresh)->sync(std::nullopt));
    fs::copy_file(_dir / "old" / "raft.log", log_path(), fs::copy_options::overwrite_existing);
  }
  ASSERT_EQ(fs::file_size(log_path()), log_bytes);
  auto log = open();
  EXPECT_EQ(log->last_index(), log_index(2));
  EXPECT_EQ(log->term_at(log_index(2)), term_id(2));
  ASSERT_TRUE(log->write(std::nullopt, {make(2, 3)}));
  ASSERT_TRUE(log->sync(std::nullopt));
  auto again = open();
  EXPECT_EQ(all_after(*again, 3), (std::vector<entry>{make(2, 3)}));
}

TEST_F(file_log_test, garbage_without_a_header_starts_an_empty_log) {
  fs::create_directories(_dir);
  {
    std::ofstream f(log_path(), std::ios::binary);
    f << "CRA";
  }
  auto log = open();
  EXPECT_EQ(log->last_index(), log_index(0));
  EXPECT_EQ(log->torn_bytes(), 3u);
}

TEST_F(file_log_test, a_damaged_hard_state_is_an_error_not_a_guess) {
  {
    auto log = open();
    ASSERT_TRUE(log->sync(hard_state{term_id(9), node_id(1)}));
  }
  {
    std::fstream f(_dir / "hard_state", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(8);
    f.put('\x01');
  }
  auto log = file_log::open(_dir);
  ASSERT_FALSE(log);
  EXPECT_EQ(log.error(), make_error_code(storage::errc::corrupt));
}

}  // namespace
}  // namespace caudal::raft
