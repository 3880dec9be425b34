#pragma once

// Helpers shared by the storage tests: temporary directories and real batches.

#include "base/batch_builder.h"
#include "base/random.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

namespace caudal::storage::testing {

/// A fresh directory under the system temp dir, removed when the object dies.
class temp_dir {
 public:
  temp_dir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "caudal-test-XXXXXX").string();
    char* made = ::mkdtemp(pattern.data());
    EXPECT_NE(made, nullptr);
    _path = pattern;
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(_path, ec);
  }
  [[nodiscard]] const std::filesystem::path& path() const { return _path; }

 private:
  std::filesystem::path _path;
};

/// A batch of `records` records, each with a `value_bytes`-byte value derived from `seed`,
/// timestamps starting at `timestamp_ms`.
inline std::vector<std::byte> make_batch(int records, std::size_t value_bytes,
                                         std::int64_t timestamp_ms, std::uint64_t seed = 1) {
  random_source rng(seed);
  batch::builder b;
  std::vector<std::byte> value(value_bytes);
  for (int i = 0; i < records; ++i) {
    for (auto& byte : value)
      byte = static_cast<std::byte>(rng.next());
    const std::string key = "k" + std::to_string(i);
    b.add(as_bytes(key), std::span<const std::byte>(value), timestamp_ms + i);
  }
  return b.finish();
}

}  // namespace caudal::storage::testing
