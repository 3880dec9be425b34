#include "base/assert.h"

#include <execinfo.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

namespace caudal::detail {

void assert_failed(std::string_view condition, std::string_view file, int line,
                   std::string_view message) noexcept {
  std::fprintf(stderr, "caudal: assertion failed at %.*s:%d: %.*s: %.*s\n",
               static_cast<int>(file.size()), file.data(), line, static_cast<int>(condition.size()),
               condition.data(), static_cast<int>(message.size()), message.data());
  void* frames[64];
  int depth = ::backtrace(frames, 64);
  ::backtrace_symbols_fd(frames, depth, STDERR_FILENO);
  std::fflush(stderr);
  std::abort();
}

}  // namespace caudal::detail
