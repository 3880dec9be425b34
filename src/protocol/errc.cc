#include "protocol/errc.h"

#include <string>

namespace caudal::protocol {
namespace {

class category final : public std::error_category {
 public:
  [[nodiscard]] const char* name() const noexcept override { return "protocol"; }
  [[nodiscard]] std::string message(int value) const override {
    switch (static_cast<errc>(value)) {
      case errc::truncated:
        return "message truncated";
      case errc::bad_varint:
        return "malformed varint";
      case errc::negative_length:
        return "negative length";
      case errc::non_nullable_null:
        return "null in a non-nullable field";
      case errc::array_too_long:
        return "array count larger than the remaining bytes";
      case errc::unknown_api_key:
        return "unknown api key";
      case errc::unsupported_version:
        return "unsupported api version";
    }
    return "unknown protocol error";
  }
};

}  // namespace

const std::error_category& error_category() noexcept {
  static const category instance;
  return instance;
}

}  // namespace caudal::protocol
