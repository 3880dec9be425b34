#include "broker/errors.h"

#include "base/record_batch.h"
#include "cluster/errc.h"
#include "storage/errc.h"

namespace caudal::broker {

using protocol::error_code;

error_code to_kafka_error(std::error_code ec) {
  if (!ec) return error_code::none;
  if (ec.category() == storage::error_category()) {
    switch (static_cast<storage::errc>(ec.value())) {
      case storage::errc::offset_out_of_range:
        return error_code::offset_out_of_range;
      case storage::errc::batch_too_large:
        return error_code::message_too_large;
      case storage::errc::closed:
        return error_code::unknown_topic_or_partition;
      case storage::errc::invalid_argument:
        return error_code::invalid_request;
      case storage::errc::invalid_sequence:
        return error_code::invalid_record;
      case storage::errc::out_of_order_sequence:
        return error_code::out_of_order_sequence_number;
      case storage::errc::invalid_producer_epoch:
        return error_code::invalid_producer_epoch;
      case storage::errc::corrupt:
      case storage::errc::log_failed:
      case storage::errc::bad_checkpoint:
        return error_code::kafka_storage_error;
    }
  }
  if (ec.category() == batch::error_category()) {
    switch (static_cast<batch::errc>(ec.value())) {
      case batch::errc::bad_magic:
      case batch::errc::trailing_bytes:
        return error_code::invalid_record;
      default:
        return error_code::corrupt_message;
    }
  }
  if (ec.category() == cluster::error_category()) {
    switch (static_cast<cluster::errc>(ec.value())) {
      case cluster::errc::topic_already_exists:
        return error_code::topic_already_exists;
      case cluster::errc::unknown_topic:
        return error_code::unknown_topic_or_partition;
      case cluster::errc::invalid_topic:
        return error_code::invalid_topic_exception;
      case cluster::errc::invalid_partitions:
        return error_code::invalid_partitions;
      case cluster::errc::invalid_replication_factor:
        return error_code::invalid_replication_factor;
      case cluster::errc::invalid_config:
        return error_code::invalid_config;
      case cluster::errc::topic_deletion_disabled:
        return error_code::topic_deletion_disabled;
      case cluster::errc::corrupt_metadata:
        return error_code::kafka_storage_error;
    }
  }
  if (ec.category() == std::system_category()) return error_code::kafka_storage_error;
  return error_code::unknown_server_error;
}

}  // namespace caudal::broker
