#include "net/server_config.h"

#include <charconv>
#include <system_error>

namespace caudal::net {
namespace {

std::error_code invalid() {
  return std::make_error_code(std::errc::invalid_argument);
}

}  // namespace

result<endpoint> parse_endpoint(std::string_view text) {
  endpoint e;
  if (const auto scheme = text.find("://"); scheme != std::string_view::npos) {
    e.name = std::string(text.substr(0, scheme));
    if (e.name.empty()) return invalid();
    text.remove_prefix(scheme + 3);
  }
  std::string_view host;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {  // "[v6]:port"
    const auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return invalid();
    }
    host = text.substr(1, close - 1);
    if (host.empty()) return invalid();
    port = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return invalid();
    host = text.substr(0, colon);
    if (host.find(':') != std::string_view::npos) return invalid();  // v6 needs []
    port = text.substr(colon + 1);
  }
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value > 65535) {
    return invalid();
  }
  e.host = std::string(host);
  e.port = static_cast<std::uint16_t>(value);
  return e;
}

}  // namespace caudal::net
