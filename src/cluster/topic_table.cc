#include "cluster/topic_table.h"

#include "base/assert.h"

#include <fmt/format.h>

namespace caudal::cluster {

const topic_metadata* topic_table::find(std::string_view name) const {
  auto it = _topics.find(name);
  return it == _topics.end() ? nullptr : &it->second;
}

const topic_metadata* topic_table::find(const topic_id& id) const {
  auto it = _by_id.find(id);
  return it == _by_id.end() ? nullptr : find(it->second);
}

const properties& topic_table::broker_configs(std::string_view resource) const {
  static const properties none;
  auto it = _broker_configs.find(resource);
  return it == _broker_configs.end() ? none : it->second;
}

void topic_table::set_broker_configs(std::string resource, properties configs) {
  _broker_configs[std::move(resource)] = std::move(configs);
}

void topic_table::add(topic_metadata t) {
  CAUDAL_ASSERT(!_topics.contains(t.name), "topic {} added twice", t.name);
  CAUDAL_ASSERT(!_by_id.contains(t.id), "topic id {} added twice", t.id.to_string());
  _by_id[t.id] = t.name;
  std::string name = t.name;
  _topics.emplace(std::move(name), std::move(t));
}

void topic_table::remove(const topic_id& id) {
  auto it = _by_id.find(id);
  CAUDAL_ASSERT(it != _by_id.end(), "removing unknown topic id {}", id.to_string());
  _deleted[id] = it->second;
  _topics.erase(it->second);
  _by_id.erase(it);
}

void topic_table::set_partitions(const topic_id& id, std::int32_t partitions) {
  auto it = _by_id.find(id);
  CAUDAL_ASSERT(it != _by_id.end(), "unknown topic id {}", id.to_string());
  auto& t = _topics.at(it->second);
  CAUDAL_ASSERT(partitions > t.partitions, "partitions of {} go from {} to {}", t.name,
                t.partitions, partitions);
  t.partitions = partitions;
}

void topic_table::set_configs(const topic_id& id, properties configs) {
  auto it = _by_id.find(id);
  CAUDAL_ASSERT(it != _by_id.end(), "unknown topic id {}", id.to_string());
  _topics.at(it->second).configs = std::move(configs);
}

std::optional<std::string> check_topic_name(std::string_view name) {
  if (name.empty()) return std::string("Topic name is illegal, it can't be empty");
  if (name == "." || name == "..") return std::string("Topic name cannot be \".\" or \"..\"");
  if (name.size() > 249) {
    return fmt::format(
        "Topic name is illegal, it can't be longer than 249 characters, topic "
        "name: {}",
        name);
  }
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) {
      return fmt::format(
          "Topic name \"{}\" is illegal, it contains a character other than "
          "ASCII alphanumerics, '.', '_' and '-'",
          name);
    }
  }
  return std::nullopt;
}

bool names_collide(std::string_view a, std::string_view b) {
  if (a.size() != b.size() || a == b) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const char x = a[i] == '.' ? '_' : a[i];
    const char y = b[i] == '.' ? '_' : b[i];
    if (x != y) return false;
  }
  return true;
}

}  // namespace caudal::cluster
