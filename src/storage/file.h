#pragma once

// A file descriptor with positional I/O that reports errors as values. All storage file
// access goes through here, so a fault-injecting variant has one place to hook in.

#include "base/result.h"

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <vector>

namespace caudal::storage {

/// Owns one open file descriptor. Positional reads and writes may run concurrently from
/// several threads (pread/pwrite do not share a file position).
class file {
 public:
  enum class mode { read_write_create, read_write, read_only };

  /// Opens `path`. read_write_create creates the file if missing.
  [[nodiscard]] static result<file> open(const std::filesystem::path& path, mode m);

  file() = default;
  file(file&& other) noexcept : _fd(other._fd) { other._fd = -1; }
  file& operator=(file&& other) noexcept;
  file(const file&) = delete;
  file& operator=(const file&) = delete;
  ~file();

  [[nodiscard]] int fd() const { return _fd; }
  [[nodiscard]] bool is_open() const { return _fd >= 0; }

  /// Reads up to out.size() bytes at `position`, retrying short reads. Returns the count
  /// read, which is less than out.size() only at the end of the file.
  [[nodiscard]] result<std::size_t> read_at(std::uint64_t position, std::span<std::byte> out) const;
  /// Writes all of `data` at `position`, retrying short writes.
  [[nodiscard]] result<void> write_at(std::uint64_t position,
                                      std::span<const std::byte> data) const;
  /// fdatasync(2): the data (and the size) are durable when this returns.
  [[nodiscard]] result<void> sync_data() const;
  /// Sets the file's size.
  [[nodiscard]] result<void> truncate(std::uint64_t size) const;
  /// The current size of the file.
  [[nodiscard]] result<std::uint64_t> size() const;
  /// Asks the kernel to start reading [position, position + length) into the page cache
  /// without waiting for it (posix_fadvise WILLNEED). A hint: failures are ignored.
  void advise_will_need(std::uint64_t position, std::uint64_t length) const;

 private:
  explicit file(int fd) : _fd(fd) {}
  int _fd = -1;
};

/// fsyncs a directory so that file creations, renames and deletions in it are durable.
[[nodiscard]] result<void> sync_directory(const std::filesystem::path& dir);

/// Writes `data` to `path` atomically: a temporary file, fsync, rename, directory fsync.
[[nodiscard]] result<void> write_file_atomic(const std::filesystem::path& path,
                                             std::span<const std::byte> data);

/// Reads a whole (small) file.
[[nodiscard]] result<std::vector<std::byte>> read_whole_file(const std::filesystem::path& path);

}  // namespace caudal::storage
