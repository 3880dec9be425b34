#include "broker/respond.h"

namespace caudal::broker {

net::response to_net_response(protocol::writer& w, std::span<const net::file_range> externals) {
  if (!w.has_external()) return net::response(w.release());
  net::response out;
  for (const auto& c : w.chunks()) {
    if (const auto* bytes = std::get_if<std::span<const std::byte>>(&c)) {
      out.append(std::vector<std::byte>(bytes->begin(), bytes->end()));
    } else {
      const auto& ext = std::get<protocol::external_chunk>(c);
      CAUDAL_ASSERT(ext.id < externals.size(), "external chunk {} of {}", ext.id, externals.size());
      const net::file_range& range = externals[ext.id];
      CAUDAL_ASSERT(range.length == ext.size, "external chunk size {} != file range {}", ext.size,
                    range.length);
      out.append(range);
    }
  }
  return out;
}

}  // namespace caudal::broker

namespace caudal::broker {

const cluster::listener& advertised_for(const request_context& ctx) {
  const auto& all = ctx.services->advertised;
  CAUDAL_ASSERT(!all.empty(), "no advertised listener");
  for (const auto& l : all) {
    if (l.name == ctx.listener_name) return l;
  }
  return all.front();
}

}  // namespace caudal::broker
