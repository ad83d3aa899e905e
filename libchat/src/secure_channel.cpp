#include "libchat/secure_channel.hpp"

#include "detail/crypto_state.hpp"
#include "libchat/datagram.hpp"
#include "libchat/limits.hpp"

#include <cryptopp/argnames.h>
#include <cryptopp/misc.h>

#include <cstring>
#include <stdexcept>
#include <typeinfo>

namespace libchat {

void make_nonce(std::uint64_t counter, std::uint8_t (&nonce)[12]) noexcept {
  std::memset(nonce, 0, 4);
  store_big_endian(counter, mutable_byte_view(nonce + 4, 8));
}

std::unique_ptr<secure_channel> channel_factory::make(channel_role role, std::uint64_t session_id,
                                                      const CryptoPP::SecByteBlock& send_key,
                                                      const CryptoPP::SecByteBlock& receive_key) {
  auto s = std::make_unique<secure_channel::state>();
  s->role = role;
  s->session_id = session_id;
  if (send_key.size() != s->send_key.size() || receive_key.size() != s->receive_key.size())
    throw std::invalid_argument("secure_channel: session keys are 32 bytes");
  std::memcpy(s->send_key.data(), send_key.data(), s->send_key.size());
  std::memcpy(s->receive_key.data(), receive_key.data(), s->receive_key.size());
  return std::unique_ptr<secure_channel>(new secure_channel(std::move(s)));
}

secure_channel::secure_channel(std::unique_ptr<state> s) : state_(std::move(s)) {}
secure_channel::~secure_channel() = default;

channel_role secure_channel::role() const noexcept { return state_->role; }
std::uint64_t secure_channel::session_id() const noexcept { return state_->session_id; }
std::uint64_t secure_channel::sent() const noexcept { return state_->next_send; }
std::uint64_t secure_channel::auth_failures() const noexcept { return state_->auth_failures; }
bool secure_channel::last_opened_newest() const noexcept {
  return state_->last_opened_newest;
}

namespace {

using session_key = CryptoPP::FixedSizeSecBlock<CryptoPP::byte, 32>;

// The nonce handed to SetKey without the heap: Crypto++'s own MakeParameters allocates, and this
// runs for every datagram.
class nonce_parameter final : public CryptoPP::NameValuePairs {
 public:
  nonce_parameter(const std::uint8_t* nonce, std::size_t size) : nonce_(nonce, size, false) {}
  bool GetVoidValue(const char* name, const std::type_info& type, void* value) const override {
    if (std::strcmp(name, CryptoPP::Name::IV()) != 0) return false;
    ThrowIfTypeMismatch(name, typeid(CryptoPP::ConstByteArrayParameter), type);
    *static_cast<CryptoPP::ConstByteArrayParameter*>(value) = nonce_;
    return true;
  }

 private:
  CryptoPP::ConstByteArrayParameter nonce_;
};

// One cipher object per thread and direction, keyed afresh for each datagram: Crypto++'s keyed
// GCM objects are too big to keep one per member (see crypto_state.hpp). Nothing allocates here.
template <typename Cipher>
Cipher& keyed(const session_key& key, std::uint64_t counter) {
  thread_local Cipher cipher;
  std::uint8_t nonce[12];
  make_nonce(counter, nonce);
  cipher.SetKey(key.data(), key.size(), nonce_parameter(nonce, sizeof nonce));
  return cipher;
}

// Seals `plaintext` with counter `counter`: out = ciphertext ‖ tag. `out` holds plaintext + 16.
void seal(const session_key& key, std::uint64_t counter, byte_view ad, byte_view plaintext, std::uint8_t* out) {
  auto& cipher = keyed<CryptoPP::GCM<CryptoPP::AES>::Encryption>(key, counter);
  cipher.SpecifyDataLengths(ad.size(), plaintext.size(), 0);
  cipher.Update(ad.data(), ad.size());
  cipher.ProcessData(out, plaintext.data(), plaintext.size());
  cipher.TruncatedFinal(out + plaintext.size(), aead_tag_bytes);
}

// Opens `sealed` (ciphertext ‖ tag) into `out`; false if the tag does not verify (then `out`
// holds unauthenticated bytes that the caller must not use). Written out step by step rather
// than with DecryptAndVerify, which allocates a buffer for the computed tag on every call.
bool open(const session_key& key, std::uint64_t counter, byte_view ad, byte_view sealed, std::uint8_t* out) {
  auto& cipher = keyed<CryptoPP::GCM<CryptoPP::AES>::Decryption>(key, counter);
  const std::size_t n = sealed.size() - aead_tag_bytes;
  cipher.SpecifyDataLengths(ad.size(), n, 0);
  cipher.Update(ad.data(), ad.size());
  cipher.ProcessData(out, sealed.data(), n);
  std::uint8_t tag[aead_tag_bytes];
  cipher.TruncatedFinal(tag, sizeof tag);
  return CryptoPP::VerifyBufsEqual(tag, sealed.data() + n, aead_tag_bytes);
}

}  // namespace

boost::system::result<std::size_t> secure_channel::seal_client_datagram(std::string_view room, byte_view message,
                                                                        mutable_byte_view out) {
  if (room.empty() || room.size() > max_name_bytes) return make_error_code(errc::malformed);
  const std::size_t header = 2 + room.size() + session_id_bytes;
  const std::size_t size = header + counter_bytes + message.size() + aead_tag_bytes;
  if (size > max_client_datagram || size > out.size()) return make_error_code(errc::oversize);
  if (state_->next_send >= max_datagrams_per_key) return make_error_code(errc::key_limit);
  const std::uint64_t counter = state_->next_send++;
  out[0] = static_cast<std::uint8_t>(room.size());
  out[1] = static_cast<std::uint8_t>(session_id_bytes);
  std::memcpy(out.data() + 2, room.data(), room.size());
  store_big_endian(state_->session_id, out.subspan(2 + room.size(), session_id_bytes));
  store_big_endian(counter, out.subspan(header, counter_bytes));
  // The associated data is the whole clear header, counter included.
  seal(state_->send_key, counter, byte_view(out.data(), header + counter_bytes), message,
       out.data() + header + counter_bytes);
  return size;
}

boost::system::result<std::size_t> secure_channel::open_server_datagram(byte_view datagram, mutable_byte_view out) {
  if (datagram.size() < counter_bytes + aead_tag_bytes) return make_error_code(errc::malformed);
  const std::size_t n = datagram.size() - counter_bytes - aead_tag_bytes;
  if (n > out.size()) return make_error_code(errc::oversize);
  std::uint64_t counter = 0;
  (void)load_big_endian(datagram.first(counter_bytes), counter);
  if (!state_->window.check(counter)) return make_error_code(errc::replay);
  if (!open(state_->receive_key, counter, datagram.first(counter_bytes), datagram.subspan(counter_bytes), out.data())) {
    ++state_->auth_failures;
    return make_error_code(errc::auth_failed);
  }
  state_->window.accept(counter);  // only now: a forged counter never moves the window
  return n;
}

boost::system::result<std::size_t> secure_channel::open_client_message(byte_view header, byte_view sealed,
                                                                       mutable_byte_view out) {
  if (sealed.size() < counter_bytes + aead_tag_bytes) return make_error_code(errc::malformed);
  const std::size_t n = sealed.size() - counter_bytes - aead_tag_bytes;
  if (n > out.size()) return make_error_code(errc::oversize);
  std::uint64_t counter = 0;
  (void)load_big_endian(sealed.first(counter_bytes), counter);
  if (counter >= max_datagrams_per_key) return make_error_code(errc::key_limit);
  if (!state_->window.check(counter)) return make_error_code(errc::replay);
  // The associated data is the clear header followed by the counter, contiguous on the wire.
  if (header.data() + header.size() != sealed.data()) return make_error_code(errc::malformed);
  const byte_view ad(header.data(), header.size() + counter_bytes);
  if (!open(state_->receive_key, counter, ad, sealed.subspan(counter_bytes), out.data())) {
    ++state_->auth_failures;
    return make_error_code(errc::auth_failed);
  }
  state_->last_opened_newest = state_->window.ahead(counter);
  state_->window.accept(counter);
  return n;
}

boost::system::result<std::size_t> secure_channel::seal_server_datagram(byte_view plaintext, mutable_byte_view out) {
  const std::size_t size = sealed_server_size(plaintext.size());
  if (size > out.size()) return make_error_code(errc::oversize);
  if (state_->next_send >= max_datagrams_per_key) return make_error_code(errc::key_limit);
  const std::uint64_t counter = state_->next_send++;
  store_big_endian(counter, out.first(counter_bytes));
  seal(state_->send_key, counter, byte_view(out.data(), counter_bytes), plaintext, out.data() + counter_bytes);
  return size;
}

}  // namespace libchat
