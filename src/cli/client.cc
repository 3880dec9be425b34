#include "cli/client.h"

#include "cli/error.h"
#include "protocol/error_code.h"
#include "protocol/generated/api_versions.h"
#include "protocol/generated/request_header.h"
#include "protocol/generated/response_header.h"
#include "protocol/header.h"

#include <algorithm>
#include <cctype>

namespace caudal::cli {

struct client::peer {
  broker_address address;
  std::unique_ptr<connection> conn;
  /// The broker's [min, max] version per api key, from ApiVersions.
  std::map<std::int16_t, std::pair<std::int16_t, std::int16_t>> versions;
  std::int32_t next_correlation_id = 1;
};

namespace {

const protocol::api_info& api_of(protocol::api_key api) {
  const auto* info = protocol::find_api(static_cast<std::int16_t>(api));
  CAUDAL_ASSERT(info != nullptr, "api key {} missing from the generated table",
                static_cast<int>(api));
  return *info;
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

std::string kafka_error_text(std::int16_t code, const std::optional<std::string>& message) {
  std::string out = upper(protocol::error_name(protocol::to_error_code(code)));
  if (out == "UNKNOWN") out += " (error code " + std::to_string(code) + ")";
  if (message && !message->empty()) out += ": " + *message;
  return out;
}

client::client(std::vector<broker_address> bootstrap, client_options options)
    : _bootstrap(std::move(bootstrap)), _options(std::move(options)) {
  CAUDAL_ASSERT(!_bootstrap.empty(), "a client needs at least one bootstrap broker");
  for (std::size_t i = 0; i < _bootstrap.size(); ++i) {
    auto p = std::make_unique<peer>();
    p->address = _bootstrap[i];
    _peers.emplace(-1 - static_cast<node_id>(i), std::move(p));
  }
}

client::~client() = default;

std::string client::describe(node_id node) const {
  const auto it = _peers.find(node);
  const std::string where = it == _peers.end() ? "" : " at " + it->second->address.to_string();
  return node >= 0 ? "broker " + std::to_string(node) + where : "broker" + where;
}

client::response_frame client::exchange(node_id node, protocol::api_key api, std::int16_t version,
                                        const protocol::writer& body, std::int64_t wait_ms,
                                        expect e) {
  peer& p = connected(node);
  const auto& info = api_of(api);
  protocol::writer w;
  const auto size_at = w.reserve_int32();
  protocol::request_header header;
  header.request_api_key = static_cast<std::int16_t>(api);
  header.request_api_version = version;
  header.correlation_id = p.next_correlation_id++;
  header.client_id = _options.client_id;
  header.encode(w, protocol::request_header_version(info, version));
  w.append(body);
  protocol::finish_frame(w, size_at);
  p.conn->send(w.bytes(), _options.request_timeout_ms);
  if (e == expect::nothing) return {};

  response_frame f;
  f.bytes = p.conn->receive(_options.request_timeout_ms + wait_ms, _options.response_bytes_max);
  protocol::reader r(f.bytes);
  protocol::response_header rh;
  if (!rh.decode(r, protocol::response_header_version(info, version))) {
    malformed(node, api, version);
  }
  if (rh.correlation_id != header.correlation_id) {
    throw error(describe(node) + " answered correlation id " + std::to_string(rh.correlation_id) +
                " to request " + std::to_string(header.correlation_id));
  }
  f.body_position = r.position();
  return f;
}

void client::negotiate(node_id node, peer& p) {
  const auto& ours = api_of(protocol::api_key::api_versions);
  std::int16_t v = ours.version_max;
  for (int attempt = 0; attempt < 2; ++attempt) {
    protocol::api_versions_request request;
    request.client_software_name = "caudal-cli";
    request.client_software_version = CAUDAL_VERSION;
    protocol::writer body;
    request.encode(body, v);
    const auto f = exchange(node, protocol::api_key::api_versions, v, body, 0, expect::answer);
    const auto rest = std::span<const std::byte>(f.bytes).subspan(f.body_position);
    protocol::api_versions_response response;
    protocol::reader r(rest);
    const bool decoded = static_cast<bool>(response.decode(r, v));
    const auto unsupported = static_cast<std::int16_t>(protocol::error_code::unsupported_version);
    if (!decoded || response.error_code == unsupported) {
      // A broker older than our ApiVersions answers in the v0 layout with what it supports
      // (README 3.8): retry at its highest version.
      protocol::reader r0(rest);
      if (!response.decode(r0, 0)) malformed(node, protocol::api_key::api_versions, v);
    }
    if (response.error_code == unsupported) {
      const auto it = std::find_if(response.api_keys.begin(), response.api_keys.end(),
                                   [](const auto& k) { return k.api_key == 18; });
      if (it == response.api_keys.end() || attempt > 0) {
        throw error(describe(node) + " does not accept any ApiVersions version we send");
      }
      v = std::min(it->max_version, v);
      continue;
    }
    if (response.error_code != 0) {
      throw error(describe(node) +
                  " refused ApiVersions: " + kafka_error_text(response.error_code));
    }
    for (const auto& k : response.api_keys) {
      p.versions[k.api_key] = {k.min_version, k.max_version};
    }
    return;
  }
}

client::peer& client::connected(node_id node) {
  const auto it = _peers.find(node);
  if (it == _peers.end()) throw error("no address known for broker " + std::to_string(node));
  peer& p = *it->second;
  if (!p.conn) {
    p.conn = std::make_unique<connection>(p.address, _options.connect_timeout_ms);
    p.versions.clear();
    p.next_correlation_id = 1;
    try {
      negotiate(node, p);
    } catch (...) {
      p.conn.reset();
      throw;
    }
  }
  return p;
}

node_id client::any_node() {
  for (const auto& [id, p] : _peers) {
    if (p->conn) return id;
  }
  std::string failures;
  for (std::size_t i = 0; i < _bootstrap.size(); ++i) {
    const node_id id = -1 - static_cast<node_id>(i);
    try {
      connected(id);
      return id;
    } catch (const error& e) {
      if (!failures.empty()) failures += "; ";
      failures += e.what();
    }
  }
  throw error(failures);
}

node_id client::controller_node() {
  if (_controller && _peers.count(*_controller) != 0) return *_controller;
  return any_node();
}

protocol::metadata_response client::metadata(const std::optional<std::vector<std::string>>& topics,
                                             auto_create create) {
  const node_id node = any_node();
  // v1 is the first version where a null topic list means "every topic".
  const auto v = version(node, protocol::api_key::metadata, 1);
  protocol::metadata_request request;
  if (topics) {
    request.topics.emplace();
    for (const auto& name : *topics) {
      protocol::metadata_request::metadata_request_topic t;
      t.name = name;
      request.topics->push_back(std::move(t));
    }
  } else {
    request.topics.reset();
  }
  request.allow_auto_topic_creation = create == auto_create::yes;
  auto response = call<protocol::metadata_response>(node, request, v);

  for (const auto& b : response.brokers) {
    broker_address address{b.host, b.port};
    auto& slot = _peers[b.node_id];
    if (!slot) {
      slot = std::make_unique<peer>();
      slot->address = address;
    }
    if (slot->conn) continue;
    // Reuse the bootstrap connection that reached this broker, if any.
    for (auto& [id, p] : _peers) {
      if (id < 0 && p->conn && p->address == address) {
        slot->conn = std::move(p->conn);
        slot->versions = std::move(p->versions);
        slot->next_correlation_id = p->next_correlation_id;
        break;
      }
    }
  }
  if (response.controller_id >= 0) _controller = response.controller_id;
  return response;
}

void client::add_broker(node_id node, const broker_address& address) {
  auto& slot = _peers[node];
  if (slot) return;
  slot = std::make_unique<peer>();
  slot->address = address;
}

bool client::supports(node_id node, protocol::api_key api, std::int16_t version_min) {
  const peer& p = connected(node);
  const auto& ours = api_of(api);
  const auto it = p.versions.find(static_cast<std::int16_t>(api));
  if (it == p.versions.end()) return false;
  const auto high = std::min(ours.version_max, it->second.second);
  const auto low = std::max({ours.version_min, it->second.first, version_min});
  return high >= low;
}

std::int16_t client::version(node_id node, protocol::api_key api, std::int16_t version_min) {
  const peer& p = connected(node);
  const auto& ours = api_of(api);
  const auto it = p.versions.find(static_cast<std::int16_t>(api));
  if (it == p.versions.end()) {
    throw error(describe(node) + " does not support the " + std::string(ours.name) + " API");
  }
  const auto high = std::min(ours.version_max, it->second.second);
  const auto low = std::max({ours.version_min, it->second.first, version_min});
  if (high < low) {
    throw error(describe(node) + " supports " + std::string(ours.name) + " versions " +
                std::to_string(it->second.first) + "-" + std::to_string(it->second.second) +
                ", none of which this client can use (it needs " + std::to_string(low) + "-" +
                std::to_string(ours.version_max) + ")");
  }
  return high;
}

void client::malformed(node_id node, protocol::api_key api, std::int16_t version) const {
  throw error(describe(node) + " sent a malformed " + std::string(api_of(api).name) + " v" +
              std::to_string(version) + " response");
}

}  // namespace caudal::cli
