// Goal: no input makes decompress() or validate_records() crash, read out of bounds or
// allocate beyond their output limit; anything decompress() accepts survives compress ->
// decompress unchanged, and a batch validate_records() accepts iterates exactly recordsCount
// records. Method: libFuzzer (clang, CAUDAL_FUZZ=ON); the first input byte picks the target
// (even: decompress with codec byte 1 % 5; odd: the rest is a batch). batch_records_test.cc
// replays fuzz_corpus/batch/ through this function under GCC in the normal build.

#include "base/assert.h"
#include "base/record_batch.h"
#include "protocol/batch_records.h"
#include "protocol/compression.h"

#include <cstddef>
#include <cstdint>
#include <span>

namespace {

constexpr std::size_t output_max = 1 << 20;

void fuzz_decompress(std::uint8_t codec_byte, std::span<const std::byte> input) {
  namespace protocol = caudal::protocol;
  const auto codec = *protocol::to_compression_codec(codec_byte % 5);
  auto out = protocol::decompress(codec, input, output_max);
  if (!out) return;  // rejecting input is fine
  CAUDAL_ASSERT(codec != protocol::compression_codec::none, "codec none decompressed");
  CAUDAL_ASSERT(out->size() <= output_max, "{} bytes out, limit {}", out->size(), output_max);
  auto again = protocol::compress(codec, *out);
  CAUDAL_ASSERT(again.has_value(), "compress failed after decompress");
  auto back = protocol::decompress(codec, *again, output_max);
  CAUDAL_ASSERT(back.has_value() && *back == *out, "{} round trip differs",
                protocol::compression_codec_name(codec));
}

void fuzz_batch(std::span<const std::byte> batch) {
  namespace protocol = caudal::protocol;
  if (!protocol::validate_records(batch, output_max)) return;
  std::int32_t count = 0;
  auto walked = protocol::for_each_record(batch, output_max,
                                          [&count](const caudal::batch::record_view&) { ++count; });
  CAUDAL_ASSERT(walked.has_value(), "a validated batch failed to iterate");
  const auto expected = caudal::batch::header_view(batch).records_count();
  CAUDAL_ASSERT(count == expected, "iterated {} records of {}", count, expected);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  std::span<const std::byte> input(reinterpret_cast<const std::byte*>(data), size);
  if (data[0] % 2 == 0) {
    fuzz_decompress(data[1], input.subspan(2));
  } else {
    fuzz_batch(input.subspan(1));
  }
  return 0;
}
