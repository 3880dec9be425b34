#include "base/random.h"

#include <random>

namespace caudal {

std::uint64_t entropy_seed() {
  std::random_device device;
  return (static_cast<std::uint64_t>(device()) << 32) ^ device();
}

}  // namespace caudal
