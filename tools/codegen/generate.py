#!/usr/bin/env python3
"""Generates src/protocol/generated/ from Kafka's message schemas.

Usage (from anywhere):
    python3 tools/codegen/generate.py [--schemas DIR] [--out DIR]

Defaults: schemas from ../shared/kafka-protocol/messages (beside the repository), output to
src/protocol/generated/. The output is committed, so a build never needs the schemas; the
ctest protocol_codegen_fresh re-runs this script into a temporary directory and compares.
Standard library only. See tools/codegen/README.md.
"""
import argparse
import os
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import cpp  # noqa: E402
from schema import Message, load_json, snake  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parent.parent.parent
DEFAULT_SCHEMAS = ROOT.parent / "shared" / "kafka-protocol" / "messages"
DEFAULT_OUT = ROOT / "src" / "protocol" / "generated"

# The APIs Caudal speaks: (api key, name). Each has <Name>Request.json and
# <Name>Response.json. This is the one list to edit to add an API.
APIS = [
    (0, "Produce"),
    (1, "Fetch"),
    (2, "ListOffsets"),
    (3, "Metadata"),
    (8, "OffsetCommit"),
    (9, "OffsetFetch"),
    (10, "FindCoordinator"),
    (11, "JoinGroup"),
    (12, "Heartbeat"),
    (13, "LeaveGroup"),
    (14, "SyncGroup"),
    (15, "DescribeGroups"),
    (16, "ListGroups"),
    (17, "SaslHandshake"),
    (18, "ApiVersions"),
    (19, "CreateTopics"),
    (20, "DeleteTopics"),
    (21, "DeleteRecords"),
    (22, "InitProducerId"),
    (23, "OffsetForLeaderEpoch"),
    (24, "AddPartitionsToTxn"),
    (25, "AddOffsetsToTxn"),
    (26, "EndTxn"),
    (27, "WriteTxnMarkers"),
    (28, "TxnOffsetCommit"),
    (32, "DescribeConfigs"),
    (33, "AlterConfigs"),
    (36, "SaslAuthenticate"),
    (37, "CreatePartitions"),
    (42, "DeleteGroups"),
    (44, "IncrementalAlterConfigs"),
    (47, "OffsetDelete"),
    (60, "DescribeCluster"),
    (61, "DescribeProducers"),
    (65, "DescribeTransactions"),
    (66, "ListTransactions"),
]

# Schemas that are not request/response pairs: the two headers and the consumer-group
# blobs carried as bytes inside JoinGroup/SyncGroup.
OTHER_MESSAGES = [
    "RequestHeader",
    "ResponseHeader",
    "ConsumerProtocolSubscription",
    "ConsumerProtocolAssignment",
]

# Every ApiVersions response uses response header v0, whatever its version (README 3.2).
API_VERSIONS_KEY = 18

STD_INCLUDES = ["<cstdint>", "<limits>", "<optional>", "<string>", "<vector>"]


def load(schemas, name):
    return Message(load_json(schemas / f"{name}.json"))


def header_file(stem, messages, api_enum):
    lines = [cpp.HEADER_BANNER.rstrip(), "", "#pragma once", ""]
    lines += [f'#include "protocol/codec.h"']
    if api_enum:
        lines.append('#include "protocol/generated/api_table.h"')
    lines.append("")
    lines += [f"#include {i}" for i in STD_INCLUDES]
    lines += ["", "namespace caudal::protocol {", ""]
    for m in messages:
        lines += cpp.message_declaration(m, api_enum)
        lines.append("")
    lines += ["}  // namespace caudal::protocol"]
    return "\n".join(lines) + "\n"


def source_file(stem, messages):
    lines = [cpp.HEADER_BANNER.rstrip(), "", f'#include "protocol/generated/{stem}.h"', "",
             '#include "base/assert.h"', '#include "base/result.h"', '#include "protocol/errc.h"',
             "", "namespace caudal::protocol {", ""]
    for m in messages:
        lines += cpp.message_definition(m)
    lines += ["}  // namespace caudal::protocol"]
    return "\n".join(lines) + "\n"


def api_table_header():
    lines = [cpp.HEADER_BANNER.rstrip(), "", "#pragma once", "",
             "#include <cstdint>", "#include <span>", "#include <string_view>", "",
             "namespace caudal::protocol {", ""]
    lines += cpp.comment("The Kafka APIs Caudal implements, by api key (README section 6).", 0)
    lines.append("enum class api_key : std::int16_t {")
    for key, name in APIS:
        lines.append(f"  {snake(name)} = {key},")
    lines += ["};", ""]
    lines += cpp.comment("What the schemas say about one API: its valid versions (of request and "
                         "response alike) and the first flexible version.", 0)
    lines += ["struct api_info {", "  api_key key;", "  std::string_view name;",
              "  std::int16_t version_min;", "  std::int16_t version_max;",
              "  /// The first flexible version, or -1 if the API is never flexible.",
              "  std::int16_t flexible_version_min;", "};", ""]
    lines += cpp.comment("Every API in key order.", 0)
    lines += ["[[nodiscard]] std::span<const api_info> all_apis() noexcept;", ""]
    lines += cpp.comment("The API with key `key`, or nullptr if Caudal does not implement it.", 0)
    lines += ["[[nodiscard]] const api_info* find_api(std::int16_t key) noexcept;", ""]
    lines += cpp.comment(
        "Whether `version` of the API uses the flexible encoding. Versions above the maximum "
        "count as flexible when the API has a flexible version, as Kafka assumes when it "
        "reads the header of a too-new ApiVersions request.", 0)
    lines += ["[[nodiscard]] bool is_flexible(const api_info& api, std::int16_t version) "
              "noexcept;", ""]
    lines += cpp.comment(
        "The request header version of a request: 2 when the request version is flexible, "
        "else 1. (Header v0 exists only for ControlledShutdown v0, which Caudal does not "
        "implement.)", 0)
    lines += ["[[nodiscard]] std::int16_t request_header_version(const api_info& api,",
              "                                                  std::int16_t version) noexcept;",
              ""]
    lines += cpp.comment(
        "The response header version: 1 when the response version is flexible, else 0; "
        "ApiVersions responses always use 0 (README section 3.2).", 0)
    lines += ["[[nodiscard]] std::int16_t response_header_version(const api_info& api,",
              "                                                   std::int16_t version) noexcept;",
              ""]
    lines += ["}  // namespace caudal::protocol"]
    return "\n".join(lines) + "\n"


def api_table_source(pairs):
    lines = [cpp.HEADER_BANNER.rstrip(), "", '#include "protocol/generated/api_table.h"', "",
             "#include <array>", "", "namespace caudal::protocol {", "namespace {", "",
             f"constexpr std::array<api_info, {len(pairs)}> apis = {{{{"]
    for (key, name), (req, resp) in pairs:
        if (req.valid, req.flexible) != (resp.valid, resp.flexible):
            raise ValueError(f"{name}: request and response versions differ")
        flex = req.flexible.lo if not req.flexible.empty() else -1
        lines.append(f"    {{api_key::{snake(name)}, \"{name}\", {req.valid.lo}, {req.valid.hi}, "
                     f"{flex}}},")
    lines += ["}};", "", "}  // namespace", "",
              "std::span<const api_info> all_apis() noexcept {", "  return apis;", "}", "",
              "const api_info* find_api(std::int16_t key) noexcept {",
              "  for (const auto& api : apis) {",
              "    if (static_cast<std::int16_t>(api.key) == key) return &api;", "  }",
              "  return nullptr;", "}", "",
              "bool is_flexible(const api_info& api, std::int16_t version) noexcept {",
              "  return api.flexible_version_min >= 0 && version >= api.flexible_version_min;",
              "}", "",
              "std::int16_t request_header_version(const api_info& api, std::int16_t version) "
              "noexcept {",
              "  return is_flexible(api, version) ? 2 : 1;", "}", "",
              "std::int16_t response_header_version(const api_info& api, std::int16_t version) "
              "noexcept {",
              f"  if (api.key == api_key::{snake('ApiVersions')}) return 0;",
              "  return is_flexible(api, version) ? 1 : 0;", "}", "",
              "}  // namespace caudal::protocol"]
    return "\n".join(lines) + "\n"


def messages_header(stems):
    lines = [cpp.HEADER_BANNER.rstrip(), "", "#pragma once", "",
             "// Every generated message. Prefer including the one header you need: each API's "
             "header", "// is independent.", ""]
    lines += ['#include "protocol/generated/api_table.h"']
    lines += [f'#include "protocol/generated/{s}.h"' for s in stems]
    return "\n".join(lines) + "\n"


def sources_cmake(stems):
    lines = ["# Generated by tools/codegen. Do not edit.",
             "set(CAUDAL_PROTOCOL_GENERATED_SOURCES",
             "  ${CMAKE_CURRENT_LIST_DIR}/api_table.cc"]
    lines += [f"  ${{CMAKE_CURRENT_LIST_DIR}}/{s}.cc" for s in stems]
    lines += [")", ""]
    return "\n".join(lines)


def testing_header(tops):
    lines = [cpp.HEADER_BANNER.rstrip(), "", "#pragma once", "",
             "// Test support, linked into tests only: fills every message with non-default "
             "values and", "// lists every message for round-trip tests.", "",
             '#include "protocol/generated/messages.h"', "", "#include <cstddef>",
             "#include <optional>", "#include <span>", "#include <string>", "#include <string_view>",
             "#include <vector>",
             "", "namespace caudal::protocol::testing {", ""]
    lines += cpp.comment(
        "Fills every field that `version` carries. variant 0: every field set to a non-default "
        "value, arrays with two elements; variant 1: nullable fields null (where `version` "
        "allows it) and arrays empty. Fields the version lacks keep their defaults, so the value "
        "survives an encode/decode round trip unchanged.", 0)
    for m in tops:
        lines.append(f"void fill({m.cpp_name}& v, std::int16_t version, int variant);")
    lines += [""]
    lines += cpp.comment("One message type, type-erased for table-driven tests.", 0)
    lines += ["struct message_case {", "  std::string_view name;", "  std::int16_t version_min;",
              "  std::int16_t version_max;",
              "  /// Fills a value, encodes, decodes, compares and re-encodes; returns \"\" on "
              "success,", "  /// else what went wrong.",
              "  std::string (*round_trip)(std::int16_t version, int variant);",
              "  /// The encoding of a filled value.",
              "  std::vector<std::byte> (*encode_filled)(std::int16_t version, int variant);",
              "  /// The encoding of a default-constructed value.",
              "  std::vector<std::byte> (*encode_default)(std::int16_t version);",
              "  /// Decodes `bytes` as this message; true if accepted with no bytes left over.",
              "  bool (*decode)(std::span<const std::byte> bytes, std::int16_t version);",
              "  /// Decodes `bytes`; if that succeeds, encodes the value and decodes it again.",
              "  /// Returns \"\" when the input is rejected or the second value equals the first,",
              "  /// else what differs. For fuzzing: any accepted input must survive this.",
              "  std::string (*redecode)(std::span<const std::byte> bytes, std::int16_t version);",
              "  /// Decodes `bytes` (all of them) and encodes the value again; nullopt if the",
              "  /// decode fails or leaves bytes over. For golden samples, which must re-encode",
              "  /// byte for byte.",
              "  std::optional<std::vector<std::byte>> (*reencode)(std::span<const std::byte> bytes,",
              "                                                   std::int16_t version);",
              "};", "", "[[nodiscard]] std::span<const message_case> message_cases();", "",
              "}  // namespace caudal::protocol::testing"]
    return "\n".join(lines) + "\n"


def testing_source(messages):
    lines = [cpp.HEADER_BANNER.rstrip(), "", '#include "protocol/generated/testing.h"', "",
             "#include <algorithm>", "#include <array>", "", "namespace caudal::protocol::testing {",
             "namespace {", "",
             "std::vector<std::byte> test_bytes(int seed) {",
             "  return {std::byte{1}, static_cast<std::byte>(seed), std::byte{3}};", "}", "",
             "// Stands in for record batches: the codec treats records as opaque bytes.",
             "record_set test_records() {",
             "  static const std::array<std::byte, 5> bytes = {",
             "      std::byte{9}, std::byte{8}, std::byte{7}, std::byte{6}, std::byte{5}};",
             "  return record_set(std::span<const std::byte>(bytes));", "}", ""]
    nested = []
    for m in messages:
        for s in m.structs:
            qual = f"{m.cpp_name}::{s.cpp_name}"
            lines += cpp.signature(f"void fill(", f"{qual}& v, std::int16_t version, int variant);")
            nested.append((m, s, qual))
    lines.append("")
    for m, s, qual in nested:
        lines += cpp.fill_function(m, s, qual)
    lines += ["template <class T>",
              "std::string round_trip(std::int16_t version, int variant) {",
              "  T first;", "  ::caudal::protocol::testing::fill(first, version, variant);", "  writer out;",
              "  first.encode(out, version);", "  reader in(out.bytes());", "  T second;",
              "  if (auto r = second.decode(in, version); !r) {",
              "    return \"decode failed: \" + r.error().message();", "  }",
              "  if (in.remaining() != 0) return \"bytes left after decode\";",
              "  if (!(first == second)) return \"decoded value differs\";",
              "  writer again;", "  second.encode(again, version);",
              "  auto a = out.bytes();", "  auto b = again.bytes();",
              "  if (!std::equal(a.begin(), a.end(), b.begin(), b.end())) {",
              "    return \"re-encoding differs\";", "  }", "  return {};", "}", "",
              "template <class T>",
              "std::vector<std::byte> encode_filled(std::int16_t version, int variant) {",
              "  T value;", "  ::caudal::protocol::testing::fill(value, version, variant);", "  writer out;",
              "  value.encode(out, version);", "  auto bytes = out.bytes();",
              "  return {bytes.begin(), bytes.end()};", "}", "",
              "template <class T>",
              "std::vector<std::byte> encode_default(std::int16_t version) {",
              "  writer out;", "  T{}.encode(out, version);", "  auto bytes = out.bytes();",
              "  return {bytes.begin(), bytes.end()};", "}", "",
              "template <class T>",
              "bool decode(std::span<const std::byte> bytes, std::int16_t version) {",
              "  reader in(bytes);", "  T value;", "  auto r = value.decode(in, version);",
              "  return r.has_value() && in.remaining() == 0;", "}", "",
              "template <class T>",
              "std::string redecode(std::span<const std::byte> bytes, std::int16_t version) {",
              "  reader in(bytes);", "  T first;",
              "  if (!first.decode(in, version)) return {};", "  writer out;",
              "  first.encode(out, version);", "  reader again(out.bytes());", "  T second;",
              "  if (auto r = second.decode(again, version); !r) {",
              "    return \"re-decode failed: \" + r.error().message();", "  }",
              "  if (again.remaining() != 0) return \"bytes left after re-decode\";",
              "  if (!(first == second)) return \"re-decoded value differs\";",
              "  return {};", "}", "",
              "template <class T>",
              "std::optional<std::vector<std::byte>> reencode(std::span<const std::byte> bytes,",
              "                                               std::int16_t version) {",
              "  reader in(bytes);", "  T value;",
              "  if (!value.decode(in, version) || in.remaining() != 0) return std::nullopt;",
              "  writer out;", "  value.encode(out, version);", "  return out.release();", "}",
              "",
              "}  // namespace", ""]
    for m in messages:
        lines += cpp.fill_function(m, m.body, m.cpp_name)
    lines += ["std::span<const message_case> message_cases() {",
              f"  static const std::array<message_case, {len(messages)}> cases = {{{{"]
    for m in messages:
        t = m.cpp_name
        lines += [f"      {{\"{m.name}\",", f"       {t}::version_min,", f"       {t}::version_max,",
                  f"       &round_trip<{t}>,", f"       &encode_filled<{t}>,",
                  f"       &encode_default<{t}>,", f"       &decode<{t}>,",
                  f"       &redecode<{t}>,", f"       &reencode<{t}>}},"]
    lines += ["  }};", "  return cases;", "}", "", "}  // namespace caudal::protocol::testing"]
    return "\n".join(lines) + "\n"


def generate(schemas, out):
    files = {}
    stems = []
    pairs = []
    tops = []
    for key, name in APIS:
        req = load(schemas, f"{name}Request")
        resp = load(schemas, f"{name}Response")
        for m, kind in ((req, "request"), (resp, "response")):
            if m.api_key != key or m.kind != kind:
                raise ValueError(f"{m.name}: expected api key {key} {kind}")
        stem = snake(name)
        stems.append(stem)
        pairs.append(((key, name), (req, resp)))
        tops += [req, resp]
        files[f"{stem}.h"] = header_file(stem, [req, resp], snake(name))
        files[f"{stem}.cc"] = source_file(stem, [req, resp])
    for name in OTHER_MESSAGES:
        m = load(schemas, name)
        stem = snake(name)
        stems.append(stem)
        tops.append(m)
        files[f"{stem}.h"] = header_file(stem, [m], None)
        files[f"{stem}.cc"] = source_file(stem, [m])
    files["api_table.h"] = api_table_header()
    files["api_table.cc"] = api_table_source(pairs)
    files["messages.h"] = messages_header(stems)
    files["sources.cmake"] = sources_cmake(stems)
    files["testing.h"] = testing_header(tops)
    files["testing.cc"] = testing_source(tops)

    out.mkdir(parents=True, exist_ok=True)
    for old in out.iterdir():
        if old.is_file() and old.name not in files:
            old.unlink()
    for name, text in sorted(files.items()):
        path = out / name
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
    return sorted(files)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--schemas", type=pathlib.Path, default=DEFAULT_SCHEMAS)
    p.add_argument("--out", type=pathlib.Path, default=DEFAULT_OUT)
    args = p.parse_args()
    if not args.schemas.is_dir():
        print(f"generate: no schemas at {args.schemas}", file=sys.stderr)
        return 2
    names = generate(args.schemas, args.out)
    print(f"generate: wrote {len(names)} files to {os.path.relpath(args.out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
