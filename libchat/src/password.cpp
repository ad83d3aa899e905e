#include "libchat/password.hpp"

#include <cryptopp/misc.h>
#include <cryptopp/scrypt.h>

namespace libchat {
namespace {

void derive(std::string_view password, const password_params& params, const std::array<std::uint8_t, 16>& salt,
            std::array<std::uint8_t, 32>& key) {
  CryptoPP::Scrypt scrypt;
  scrypt.DeriveKey(key.data(), key.size(), reinterpret_cast<const CryptoPP::byte*>(password.data()), password.size(),
                   salt.data(), salt.size(), CryptoPP::word64(1) << params.log2_cost, params.block_size,
                   params.parallelism);
}

}  // namespace

password_hash hash_password(std::string_view password, const password_params& params, random_source& random) {
  password_hash h;
  h.params = params;
  random.fill(h.salt);
  derive(password, params, h.salt, h.key);
  return h;
}

bool verify_password(std::string_view password, const password_hash& stored) {
  std::array<std::uint8_t, 32> key{};
  derive(password, stored.params, stored.salt, key);
  return CryptoPP::VerifyBufsEqual(key.data(), stored.key.data(), key.size());
}

}  // namespace libchat
