#include "name_table.hpp"

#include <cryptopp/osrng.h>
#include <cryptopp/siphash.h>

namespace chat_server {

name_hasher::name_hasher() { CryptoPP::OS_GenerateRandomBlock(false, key_.data(), key_.size()); }

std::uint64_t name_hasher::operator()(std::string_view name) const noexcept {
  CryptoPP::SipHash<2, 4, false> mac(key_.data(), static_cast<unsigned>(key_.size()));
  mac.Update(reinterpret_cast<const CryptoPP::byte*>(name.data()), name.size());
  std::uint64_t out = 0;
  mac.TruncatedFinal(reinterpret_cast<CryptoPP::byte*>(&out), sizeof out);
  return out;
}

}  // namespace chat_server
