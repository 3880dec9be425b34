#pragma once

// Format strings for `caudal produce` (how a line of input becomes a record) and `caudal
// consume` (how a record becomes a line of output), in the spirit of kcat's -f:
//
//     %k key   %v value   %h headers (k1=v1,k2=v2)   %t timestamp (ms)   %p partition
//     %o offset (output only)   %T topic (output only)   %% a percent sign
//     \t \n \r \\ the usual escapes
//
// A format describes one line; the newline after it is implied. Reading, each field takes
// the text up to the first occurrence of the literal text that follows it in the format,
// and the last field takes the rest of the line: with "%k %v", the line "a b c" is the key
// "a" and the value "b c". So two fields need literal text between them on input.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace caudal::cli {

/// One record header as text; a null value is shown as the bare key.
struct header_text {
  std::string key;
  std::optional<std::string> value;
  bool operator==(const header_text&) const = default;
};

/// A record as `caudal consume` shows it.
struct consumed_record {
  std::string topic;
  std::int32_t partition = 0;
  std::int64_t offset = 0;
  std::int64_t timestamp_ms = 0;
  std::optional<std::string> key;    // nullopt: a null key
  std::optional<std::string> value;  // nullopt: a null value (tombstone)
  std::vector<header_text> headers;
};

/// A record read from one line of `caudal produce` input. Fields the format lacks stay
/// empty (nullopt), and the producer fills them in (no key, the current time, ...).
struct produced_record {
  std::optional<std::string> key;
  std::optional<std::string> value;
  std::vector<header_text> headers;
  std::optional<std::int64_t> timestamp_ms;
  std::optional<std::int32_t> partition;
  bool operator==(const produced_record&) const = default;
};

/// The fields a format may name, by their letter.
enum class format_field : char {
  key = 'k',
  value = 'v',
  headers = 'h',
  timestamp = 't',
  partition = 'p',
  offset = 'o',
  topic = 'T',
};

/// A parsed format string. Immutable; cheap to use for every record.
class record_format {
 public:
  /// Whether the format reads input lines (produce) or writes output lines (consume).
  enum class direction { input, output };

  /// Parses `spec`. Throws a usage error for an unknown %x, a trailing %, a field the
  /// direction does not allow, or (input) two fields with no text between them.
  [[nodiscard]] static record_format parse(std::string_view spec, direction d);

  /// The fields named, in order.
  [[nodiscard]] std::vector<format_field> fields() const;

  /// Output: the line for `record`, without the newline. A null key or value prints as
  /// nothing. Requires: an output format.
  [[nodiscard]] std::string format(const consumed_record& record) const;

  /// Input: the record in `line` (without its newline). Throws a usage error when the line
  /// lacks the format's literal text or a number field is not a number. Requires: an input
  /// format.
  [[nodiscard]] produced_record parse_line(std::string_view line) const;

 private:
  struct token {
    std::optional<format_field> field;  // a field, or the literal text below
    std::string literal;
  };

  record_format(std::vector<token> tokens, direction d) : _tokens(std::move(tokens)), _d(d) {}

  std::vector<token> _tokens;
  direction _d;
};

/// `record` as one compact JSON object: {"topic", "partition", "offset", "timestamp",
/// "key", "value", "headers": [{"key", "value"}]}; null key or value as JSON null. Bytes
/// that are not UTF-8 are replaced by U+FFFD.
[[nodiscard]] std::string record_json(const consumed_record& record);

}  // namespace caudal::cli
