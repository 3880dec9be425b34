#pragma once

// Kafka's error codes, the int16 values responses carry (Kafka's Errors.java; names in
// snake_case). Only broker/ and group/ put them on the wire (STYLE.md, "Error model"); this
// layer only defines them so generated responses and their tests can name them.

#include <cstdint>
#include <string_view>

namespace caudal::protocol {

enum class error_code : std::int16_t {
  unknown_server_error = -1,  ///< The server hit an unexpected error.
  none = 0,                   ///< Success.
  offset_out_of_range = 1,    ///< The requested offset is outside the range the server holds.
  /// A message failed its CRC, is too large, lacks a key on a compacted topic, or is otherwise
  /// corrupt.
  corrupt_message = 2,
  unknown_topic_or_partition = 3,  ///< This server does not host the topic-partition.
  invalid_fetch_size = 4,          ///< The requested fetch size is invalid.
  /// The partition has no leader right now (an election is in progress).
  leader_not_available = 5,
  /// This broker is not the leader (or not a replica) of the partition.
  not_leader_or_follower = 6,
  request_timed_out = 7,              ///< The request timed out.
  broker_not_available = 8,           ///< The broker is not available.
  replica_not_available = 9,          ///< The replica is not available for the partition.
  message_too_large = 10,             ///< A message is larger than the server accepts.
  stale_controller_epoch = 11,        ///< The controller moved to another broker.
  offset_metadata_too_large = 12,     ///< The metadata of an offset commit is too large.
  network_exception = 13,             ///< The server disconnected before a response was received.
  coordinator_load_in_progress = 14,  ///< The coordinator is still loading its state.
  coordinator_not_available = 15,     ///< The coordinator is not available.
  not_coordinator = 16,  ///< This broker is not the coordinator for the group or transaction.
  invalid_topic_exception = 17,  ///< The topic name or operation on the topic is invalid.
  record_list_too_large = 18,    ///< A batch is larger than the configured segment size.
  not_enough_replicas = 19,      ///< Fewer in-sync replicas than required; the write was rejected.
  not_enough_replicas_after_append = 20,  ///< Written, but to fewer in-sync replicas than required.
  invalid_required_acks = 21,             ///< The produce request's acks value is invalid.
  illegal_generation = 22,                ///< The group generation id is not valid.
  /// The member's protocols do not match the group's, or are empty.
  inconsistent_group_protocol = 23,
  invalid_group_id = 24,            ///< The group id is invalid.
  unknown_member_id = 25,           ///< The coordinator does not know this member.
  invalid_session_timeout = 26,     ///< The session timeout is outside the broker's allowed range.
  rebalance_in_progress = 27,       ///< The group is rebalancing; the member must rejoin.
  invalid_commit_offset_size = 28,  ///< The committed offset data size is invalid.
  topic_authorization_failed = 29,  ///< Not authorized for the topic.
  group_authorization_failed = 30,  ///< Not authorized for the group.
  cluster_authorization_failed = 31,  ///< Not authorized for the cluster.
  invalid_timestamp = 32,             ///< A message timestamp is outside the accepted range.
  unsupported_sasl_mechanism = 33,    ///< The broker does not support the SASL mechanism.
  illegal_sasl_state = 34,            ///< The request is not valid in the current SASL state.
  unsupported_version = 35,           ///< The API version is not supported.
  topic_already_exists = 36,          ///< A topic with this name already exists.
  invalid_partitions = 37,            ///< The partition count is invalid (below 1, say).
  /// The replication factor is below 1 or above the number of brokers.
  invalid_replication_factor = 38,
  invalid_replica_assignment = 39,  ///< The replica assignment is invalid.
  invalid_config = 40,              ///< A configuration is invalid.
  not_controller = 41,              ///< This broker is not the controller.
  invalid_request = 42,  ///< The request is malformed or was sent to an incompatible broker.
  /// The message format version does not support the request.
  unsupported_for_message_format = 43,
  policy_violation = 44,              ///< The request violates a configured policy.
  out_of_order_sequence_number = 45,  ///< The broker received an out-of-order sequence number.
  duplicate_sequence_number = 46,     ///< The broker received a duplicate sequence number.
  invalid_producer_epoch = 47,        ///< The producer's epoch is old.
  invalid_txn_state = 48,  ///< The transactional operation is invalid in the transaction's state.
  invalid_producer_id_mapping = 49,  ///< The producer id is not assigned to this transactional id.
  invalid_transaction_timeout = 50,  ///< The transaction timeout exceeds the broker's maximum.
  concurrent_transactions = 51,      ///< Another operation on the same transaction is in progress.
  /// The coordinator sending the marker is no longer current.
  transaction_coordinator_fenced = 52,
  transactional_id_authorization_failed = 53,  ///< Not authorized for the transactional id.
  security_disabled = 54,                      ///< Security features are disabled.
  /// The operation was not attempted because others in the batch failed.
  operation_not_attempted = 55,
  kafka_storage_error = 56,             ///< A disk error when accessing a log file.
  log_dir_not_found = 57,               ///< The log directory is not in the broker's configuration.
  sasl_authentication_failed = 58,      ///< SASL authentication failed.
  unknown_producer_id = 59,             ///< The broker has no state for the producer id.
  reassignment_in_progress = 60,        ///< A partition reassignment is in progress.
  delegation_token_auth_disabled = 61,  ///< Delegation tokens are not enabled.
  delegation_token_not_found = 62,      ///< The delegation token was not found.
  delegation_token_owner_mismatch = 63,  ///< The principal is not the token's owner or renewer.
  /// Delegation token requests are not allowed on this channel.
  delegation_token_request_not_allowed = 64,
  delegation_token_authorization_failed = 65,  ///< Delegation token authorization failed.
  delegation_token_expired = 66,               ///< The delegation token has expired.
  invalid_principal_type = 67,                 ///< The principal type is not supported.
  non_empty_group = 68,                        ///< The group is not empty.
  group_id_not_found = 69,                     ///< The group id does not exist.
  fetch_session_id_not_found = 70,             ///< The fetch session id was not found.
  invalid_fetch_session_epoch = 71,            ///< The fetch session epoch is invalid.
  listener_not_found = 72,  ///< The leader has no listener matching the one the request came in on.
  topic_deletion_disabled = 73,  ///< Topic deletion is disabled.
  fenced_leader_epoch = 74,      ///< The request's leader epoch is older than the broker's.
  unknown_leader_epoch = 75,     ///< The request's leader epoch is newer than the broker's.
  /// The client does not support the partition's compression type.
  unsupported_compression_type = 76,
  stale_broker_epoch = 77,    ///< The broker epoch has changed.
  offset_not_available = 78,  ///< The new leader's high watermark has not caught up yet.
  member_id_required = 79,    ///< The member must rejoin with the member id it was given (KIP-394).
  preferred_leader_not_available = 80,  ///< The preferred leader is not available.
  group_max_size_reached = 81,          ///< The group is at its maximum size.
  fenced_instance_id = 82,  ///< Another member registered with the same group.instance.id.
  eligible_leaders_not_available = 83,  ///< No eligible leader is available for the partition.
  election_not_needed = 84,             ///< No leader election is needed for the partition.
  no_reassignment_in_progress = 85,     ///< No partition reassignment is in progress.
  /// Offsets of a topic the group is subscribed to cannot be deleted.
  group_subscribed_to_topic = 86,
  invalid_record = 87,  ///< A record failed the broker's validation.
  /// Unstable (pending transactional) offsets must be resolved first.
  unstable_offset_commit = 88,
  throttling_quota_exceeded = 89,  ///< The throttling quota was exceeded.
  producer_fenced = 90,     ///< A newer producer with the same transactional id fenced this one.
  resource_not_found = 91,  ///< The request refers to a resource that does not exist.
  duplicate_resource = 92,  ///< The request refers to the same resource twice.
  unacceptable_credential = 93,  ///< The credential does not meet the acceptance criteria.
  inconsistent_voter_set = 94,   ///< The sender or receiver is not one of the expected voters.
  invalid_update_version = 95,   ///< The update version is invalid.
  feature_update_failed = 96,    ///< Finalized features could not be updated.
  /// The forwarded request's principal could not be deserialized.
  principal_deserialization_failure = 97,
  snapshot_not_found = 98,               ///< The requested snapshot was not found.
  position_out_of_range = 99,            ///< The position is outside the snapshot.
  unknown_topic_id = 100,                ///< This server does not host the topic id.
  duplicate_broker_registration = 101,   ///< The broker id is already in use.
  broker_id_not_registered = 102,        ///< The broker id is not registered.
  inconsistent_topic_id = 103,           ///< The log's topic id does not match the request's.
  inconsistent_cluster_id = 104,         ///< The request's cluster id does not match the server's.
  transactional_id_not_found = 105,      ///< The transactional id was not found.
  fetch_session_topic_id_error = 106,    ///< The fetch session uses topic ids inconsistently.
  ineligible_replica = 107,              ///< The new ISR contains an ineligible replica.
  new_leader_elected = 108,              ///< The partition was updated but its leader changed.
  offset_moved_to_tiered_storage = 109,  ///< The offset has moved to tiered storage.
  fenced_member_epoch = 110,             ///< The member epoch is fenced; the member must rejoin.
  unreleased_instance_id = 111,          ///< Another member still uses the instance id.
  unsupported_assignor = 112,            ///< The assignor or its version range is not supported.
  stale_member_epoch = 113,              ///< The member epoch is stale.
  mismatched_endpoint_type = 114,        ///< The request was sent to an endpoint of the wrong type.
  unsupported_endpoint_type = 115,       ///< The endpoint type is not supported yet.
  unknown_controller_id = 116,           ///< The controller id is not known.
  unknown_subscription_id = 117,         ///< The telemetry subscription id is invalid or outdated.
  telemetry_too_large = 118,             ///< The telemetry push is larger than the broker accepts.
  invalid_registration = 119,     ///< The controller considers the broker registration invalid.
  transaction_abortable = 120,    ///< The transaction failed; the client may abort it and continue.
  invalid_record_state = 121,     ///< The record state is invalid; the acknowledgement failed.
  share_session_not_found = 122,  ///< The share session was not found.
  invalid_share_session_epoch = 123,  ///< The share session epoch is invalid.
  fenced_state_epoch = 124,           ///< The share-group state epoch does not match.
  invalid_voter_key = 125,            ///< The voter key does not match the receiving replica's key.
  duplicate_voter = 126,              ///< The voter is already in the voter set.
  voter_not_found = 127,              ///< The voter is not in the voter set.
  invalid_regular_expression = 128,   ///< The regular expression is invalid.
  rebootstrap_required = 129,         ///< The client's metadata is stale; it must rebootstrap.
  streams_invalid_topology = 130,     ///< The streams topology is invalid.
  streams_invalid_topology_epoch = 131,  ///< The streams topology epoch is invalid.
  streams_topology_fenced = 132,         ///< The streams topology epoch is outdated.
  share_session_limit_reached = 133,     ///< The share session limit has been reached.
};

/// The Kafka name of `code` in snake_case ("unknown_topic_or_partition"), or "unknown" for a
/// value Kafka does not define.
[[nodiscard]] std::string_view error_name(error_code code) noexcept;

/// The error code with the raw wire value `value`, or unknown_server_error for a value Kafka
/// does not define (what Kafka clients do with codes they do not know).
[[nodiscard]] error_code to_error_code(std::int16_t value) noexcept;

}  // namespace caudal::protocol
