#pragma once

// How a `caudal` client command fails. A command is a short-lived process in which every
// failure ends the command, which makes each one a start-up failure in STYLE.md's terms:
// an exception carries the message to commands.cc, which prints "caudal: <message>" on
// stderr and exits with the error's status. Nothing here is thrown across a half-updated
// data structure that outlives the command.

#include <stdexcept>
#include <string>

namespace caudal::cli {

/// Exit statuses of the client commands.
enum class exit_status : int {
  ok = 0,
  failure = 1,  // the broker refused, a topic does not exist, the cluster is unhealthy, ...
  usage = 2,    // the command line or its input is malformed
};

/// A failure that ends the command; what() is the message shown to the user, without the
/// "caudal: " prefix.
class error : public std::runtime_error {
 public:
  explicit error(const std::string& message, exit_status status = exit_status::failure)
      : std::runtime_error(message), _status(status) {}

  /// The status the process exits with.
  [[nodiscard]] exit_status status() const noexcept { return _status; }

 private:
  exit_status _status;
};

/// Throws error(message, exit_status::usage): bad flags or input the user must fix.
[[noreturn]] inline void usage_error(const std::string& message) {
  throw error(message, exit_status::usage);
}

}  // namespace caudal::cli
