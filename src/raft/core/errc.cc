#include "raft/core/errc.h"

#include <string>

namespace caudal::raft {
namespace {

class category final : public std::error_category {
 public:
  [[nodiscard]] const char* name() const noexcept override { return "raft"; }
  [[nodiscard]] std::string message(int e) const override {
    switch (static_cast<errc>(e)) {
      case errc::not_leader:
        return "not the leader";
      case errc::transfer_in_progress:
        return "leadership transfer in progress";
      case errc::leader_not_ready:
        return "leader has not committed an entry of its term yet";
      case errc::proposal_too_large:
        return "proposal too large";
      case errc::unknown_node:
        return "unknown node";
      case errc::queue_full:
        return "queue full";
      case errc::change_in_progress:
        return "membership change in progress";
      case errc::learner_behind:
        return "learner has not caught up";
      case errc::invalid_change:
        return "invalid membership change";
      case errc::not_applied:
        return "compaction past the applied index";
      case errc::snapshot_too_large:
        return "snapshot too large";
    }
    return "unknown raft error";
  }
};

}  // namespace

const std::error_category& error_category() noexcept {
  static const category c;
  return c;
}

}  // namespace caudal::raft
