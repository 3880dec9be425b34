#include "broker/topic_helpers.h"

#include "base/logging.h"

namespace caudal::broker {

void reconcile_partitions(broker_services& services) {
  if (auto r = services.partitions.reconcile(*services.metadata.topics()); !r) {
    spdlog::error("bringing partition logs in line with the metadata failed: {}",
                  r.error().message());
  }
}

std::vector<std::optional<cluster::op_error>> auto_create_topics(
    broker_services& services, const std::vector<std::string>& names) {
  std::vector<std::optional<cluster::op_error>> out;
  bool created = false;
  for (const auto& name : names) {
    if (services.metadata.topics()->find(name)) {
      out.emplace_back();
      continue;
    }
    cluster::new_topic t;
    t.name = name;
    t.partitions = static_cast<std::int32_t>(services.config.integer("num.partitions"));
    t.replication_factor =
        static_cast<std::int16_t>(services.config.integer("default.replication.factor"));
    auto r = services.metadata.create_topic(t);
    if (r.index() == 1) {
      // Lost a race with another creator: the topic exists, which is what was wanted.
      if (std::get<1>(r).code == cluster::errc::topic_already_exists) {
        out.emplace_back();
      } else {
        out.emplace_back(std::get<1>(std::move(r)));
      }
    } else {
      created = true;
      out.emplace_back();
    }
  }
  if (created) reconcile_partitions(services);
  return out;
}

}  // namespace caudal::broker
