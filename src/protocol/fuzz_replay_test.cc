// Goal: the fuzz target's checks hold for its committed corpus and for a frame of every
// request at every version, so its regressions run in every GCC build, not only under
// clang with libFuzzer.
// Method: calls LLVMFuzzerTestOneInput (request_fuzz.cc) on each file in
// fuzz_corpus/request/ and on frames built from generated/testing.h values, whole and cut
// at every length. A failed check aborts with the message and the input's name in the log.

#include "protocol/codec.h"
#include "protocol/generated/api_table.h"
#include "protocol/generated/request_header.h"
#include "protocol/generated/testing.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace caudal::protocol {
namespace {

void run(const std::vector<std::byte>& input) {
  LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(input.data()), input.size());
}

TEST(fuzz_replay, committed_corpus) {
  std::filesystem::path dir = CAUDAL_PROTOCOL_FUZZ_CORPUS "/request";
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    std::ifstream in(entry.path(), std::ios::binary);
    std::vector<char> raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::vector<std::byte> input(raw.size());
    std::memcpy(input.data(), raw.data(), raw.size());
    SCOPED_TRACE(entry.path().filename().string());
    run(input);
    ++files;
  }
  EXPECT_GT(files, 0);
}

TEST(fuzz_replay, every_request_at_every_version) {
  for (const auto& api : all_apis()) {
    std::string name = std::string(api.name) + "Request";
    for (const auto& c : testing::message_cases()) {
      if (c.name != name) continue;
      for (auto v = c.version_min; v <= c.version_max; ++v) {
        request_header header;
        header.request_api_key = static_cast<std::int16_t>(api.key);
        header.request_api_version = v;
        header.correlation_id = 17;
        header.client_id = "replay";
        writer out;
        header.encode(out, request_header_version(api, v));
        out.write_raw(c.encode_filled(v, 0));
        auto frame = out.release();
        for (std::size_t n = 0; n <= frame.size(); ++n) {
          run(std::vector<std::byte>(frame.begin(), frame.begin() + static_cast<long>(n)));
        }
      }
    }
  }
}

}  // namespace
}  // namespace caudal::protocol
