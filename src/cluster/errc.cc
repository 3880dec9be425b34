#include "cluster/errc.h"

namespace caudal::cluster {
namespace {

class category final : public std::error_category {
 public:
  [[nodiscard]] const char* name() const noexcept override { return "cluster"; }
  [[nodiscard]] std::string message(int value) const override {
    switch (static_cast<errc>(value)) {
      case errc::topic_already_exists:
        return "topic already exists";
      case errc::unknown_topic:
        return "unknown topic";
      case errc::invalid_topic:
        return "invalid topic";
      case errc::invalid_partitions:
        return "invalid partition count";
      case errc::invalid_replication_factor:
        return "invalid replication factor";
      case errc::invalid_config:
        return "invalid config";
      case errc::topic_deletion_disabled:
        return "topic deletion is disabled";
      case errc::corrupt_metadata:
        return "corrupt metadata log";
    }
    return "unknown cluster error";
  }
};

}  // namespace

const std::error_category& error_category() noexcept {
  static const category instance;
  return instance;
}

}  // namespace caudal::cluster
