#include "libchat/random.hpp"

#include <cryptopp/osrng.h>

namespace libchat {
namespace {

class os_random final : public random_source {
 public:
  void fill(mutable_byte_view out) override { CryptoPP::OS_GenerateRandomBlock(false, out.data(), out.size()); }
};

}  // namespace

random_source& system_random() noexcept {
  static os_random source;
  return source;
}

}  // namespace libchat
