#include "storage/file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace caudal::storage {

result<file> file::open(const std::filesystem::path& path, mode m) {
  int flags = O_CLOEXEC;
  switch (m) {
    case mode::read_write_create:
      flags |= O_RDWR | O_CREAT;
      break;
    case mode::read_write:
      flags |= O_RDWR;
      break;
    case mode::read_only:
      flags |= O_RDONLY;
      break;
  }
  const int fd = ::open(path.c_str(), flags, 0644);
  if (fd < 0) return errno_error(errno);
  return file(fd);
}

file& file::operator=(file&& other) noexcept {
  if (this != &other) {
    if (_fd >= 0) ::close(_fd);
    _fd = other._fd;
    other._fd = -1;
  }
  return *this;
}

file::~file() {
  if (_fd >= 0) ::close(_fd);
}

result<std::size_t> file::read_at(std::uint64_t position, std::span<std::byte> out) const {
  std::size_t done = 0;
  while (done < out.size()) {
    const ssize_t n =
        ::pread(_fd, out.data() + done, out.size() - done, static_cast<off_t>(position + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error(errno);
    }
    if (n == 0) break;
    done += static_cast<std::size_t>(n);
  }
  return done;
}

result<void> file::write_at(std::uint64_t position, std::span<const std::byte> data) const {
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n =
        ::pwrite(_fd, data.data() + done, data.size() - done, static_cast<off_t>(position + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error(errno);
    }
    done += static_cast<std::size_t>(n);
  }
  return ok();
}

result<void> file::sync_data() const {
  if (::fdatasync(_fd) != 0) return errno_error(errno);
  return ok();
}

result<void> file::truncate(std::uint64_t size) const {
  if (::ftruncate(_fd, static_cast<off_t>(size)) != 0) return errno_error(errno);
  return ok();
}

result<std::uint64_t> file::size() const {
  struct stat st {};
  if (::fstat(_fd, &st) != 0) return errno_error(errno);
  return static_cast<std::uint64_t>(st.st_size);
}

void file::advise_will_need(std::uint64_t position, std::uint64_t length) const {
  (void)::posix_fadvise(_fd, static_cast<off_t>(position), static_cast<off_t>(length),
                        POSIX_FADV_WILLNEED);
}

result<void> sync_directory(const std::filesystem::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return errno_error(errno);
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) return errno_error(err);
  return ok();
}

result<void> write_file_atomic(const std::filesystem::path& path, std::span<const std::byte> data) {
  auto tmp = path;
  tmp += ".tmp";
  {
    auto f = file::open(tmp, file::mode::read_write_create);
    if (!f) return f.error();
    CAUDAL_TRY(f->truncate(0));
    CAUDAL_TRY(f->write_at(0, data));
    CAUDAL_TRY(f->sync_data());
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) return errno_error(errno);
  return sync_directory(path.parent_path());
}

result<std::vector<std::byte>> read_whole_file(const std::filesystem::path& path) {
  auto f = file::open(path, file::mode::read_only);
  if (!f) return f.error();
  auto size = f->size();
  if (!size) return size.error();
  std::vector<std::byte> out(*size);
  auto n = f->read_at(0, out);
  if (!n) return n.error();
  out.resize(*n);
  return out;
}

}  // namespace caudal::storage
