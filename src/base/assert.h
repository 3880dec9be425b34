#pragma once

// Always-on assertions. A failed check is a bug in Caudal, never bad input: input from
// the network or the disk is rejected with an error value instead (see STYLE.md,
// "Error model"). A crash beats serving a corrupt log, so these stay on in release.

#include <fmt/format.h>

#include <string_view>

namespace caudal::detail {

/// Logs the failed condition, the message and a backtrace to stderr, then aborts.
[[noreturn]] void assert_failed(std::string_view condition, std::string_view file, int line,
                                std::string_view message) noexcept;

}  // namespace caudal::detail

/// Checks `cond` in every build. On failure prints `fmt`-formatted values and aborts:
/// CAUDAL_ASSERT(o >= _committed, "commit went back: {} -> {}", _committed, o);
#define CAUDAL_ASSERT(cond, ...)                                                              \
  do {                                                                                        \
    if (!(cond)) [[unlikely]] {                                                               \
      ::caudal::detail::assert_failed(#cond, __FILE__, __LINE__, ::fmt::format(__VA_ARGS__)); \
    }                                                                                         \
  } while (0)

/// Like CAUDAL_ASSERT, for checks too costly for production (O(n) scans). On in debug
/// (no NDEBUG) and sim builds, compiled out otherwise; the condition is never evaluated
/// when off.
#if !defined(NDEBUG) || defined(CAUDAL_SIM)
#define CAUDAL_DASSERT(cond, ...) CAUDAL_ASSERT(cond, __VA_ARGS__)
#else
#define CAUDAL_DASSERT(cond, ...) \
  do {                            \
    if (false) {                  \
      (void)(cond);               \
    }                             \
  } while (0)
#endif
