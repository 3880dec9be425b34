#include "storage/errc.h"

#include <string>

namespace caudal::storage {
namespace {

class category final : public std::error_category {
 public:
  [[nodiscard]] const char* name() const noexcept override { return "storage"; }
  [[nodiscard]] std::string message(int value) const override {
    switch (static_cast<errc>(value)) {
      case errc::offset_out_of_range:
        return "offset out of range";
      case errc::batch_too_large:
        return "record batch larger than max.message.bytes";
      case errc::corrupt:
        return "corrupt data in the log";
      case errc::log_failed:
        return "the log failed an earlier write and is read-only";
      case errc::closed:
        return "the log is closed";
      case errc::bad_checkpoint:
        return "checkpoint file unreadable";
      case errc::invalid_argument:
        return "invalid argument";
      case errc::invalid_sequence:
        return "a producer's batch has a negative epoch or sequence";
      case errc::out_of_order_sequence:
        return "out of order sequence number";
      case errc::invalid_producer_epoch:
        return "the producer's epoch is older than its current one";
    }
    return "unknown storage error";
  }
};

}  // namespace

const std::error_category& error_category() noexcept {
  static const category instance;
  return instance;
}

}  // namespace caudal::storage
