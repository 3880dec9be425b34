#include "raft/driver/errc.h"

#include <string>

namespace caudal::raft {
namespace {

class category final : public std::error_category {
 public:
  [[nodiscard]] const char* name() const noexcept override { return "raft.driver"; }
  [[nodiscard]] std::string message(int e) const override {
    switch (static_cast<driver_errc>(e)) {
      case driver_errc::truncated:
        return "truncated input";
      case driver_errc::corrupt:
        return "corrupt input";
      case driver_errc::unsupported_version:
        return "unsupported wire version";
      case driver_errc::frame_too_large:
        return "frame too large";
      case driver_errc::proposal_lost:
        return "proposal overwritten by another leader";
      case driver_errc::unknown_group:
        return "unknown group";
      case driver_errc::stopped:
        return "driver stopped";
      case driver_errc::outcome_unknown:
        return "proposal outcome unknown: a snapshot replaced the log";
    }
    return "unknown raft driver error";
  }
};

}  // namespace

const std::error_category& driver_error_category() noexcept {
  static const category c;
  return c;
}

}  // namespace caudal::raft
