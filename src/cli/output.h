#pragma once

// How the client commands print: aligned text tables for people and JSON (-o json) for
// programs. Internal to src/cli/.

#include "protocol/codec.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace caudal::cli {

/// JSON objects keep their keys in insertion order, so output reads like the text form.
using json = nlohmann::ordered_json;

/// Prints `value` on stdout, indented, followed by a newline. Bytes that are not UTF-8 are
/// replaced by U+FFFD.
void print_json(const json& value);

/// Prints `rows` on stdout as left-aligned columns two spaces apart; the first row is the
/// header. Rows may be shorter than the header.
void print_table(const std::vector<std::vector<std::string>>& rows);

/// A Kafka UUID as Kafka prints it (Uuid.toString(): URL-safe base64 of the 16 bytes, no
/// padding, 22 characters).
[[nodiscard]] std::string uuid_text(const protocol::uuid& id);

/// The name of a DescribeConfigs config source (DYNAMIC_TOPIC_CONFIG, DEFAULT_CONFIG, ...).
[[nodiscard]] std::string config_source_name(std::int8_t source);

/// "1,2,3" for a list of broker ids.
[[nodiscard]] std::string join_ids(const std::vector<std::int32_t>& ids);

}  // namespace caudal::cli
