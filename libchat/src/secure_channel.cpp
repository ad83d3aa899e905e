#include "libchat/secure_channel.hpp"

#include "detail/crypto_state.hpp"
#include "libchat/datagram.hpp"
#include "libchat/limits.hpp"

#include <cryptopp/argnames.h>
#include <cryptopp/hkdf.h>
#include <cryptopp/misc.h>
#include <cryptopp/sha.h>

#include <bit>

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
                                                      const CryptoPP::SecByteBlock& receive_key,
                                                      std::uint64_t key_datagrams) {
  auto s = std::make_unique<secure_channel::state>();
  s->role = role;
  s->session_id = session_id;
  if (send_key.size() != s->send_key.size() || receive_key.size() != s->receive_key.size())
    throw std::invalid_argument("secure_channel: session keys are 32 bytes");
  if (!valid_key_datagrams(key_datagrams))
    throw std::invalid_argument("secure_channel: key_datagrams is a power of two from 2^11 to 2^26");
  s->key_shift = static_cast<std::uint8_t>(std::countr_zero(key_datagrams));
  std::memcpy(s->send_key.data(), send_key.data(), s->send_key.size());
  std::memcpy(s->receive_key.data(), receive_key.data(), s->receive_key.size());
  return std::unique_ptr<secure_channel>(new secure_channel(std::move(s)));
}

void protocol_hkdf(byte_view salt, byte_view ikm, std::string_view info, mutable_byte_view out) {
  CryptoPP::HKDF<CryptoPP::SHA256>().DeriveKey(out.data(), out.size(), ikm.data(), ikm.size(), salt.data(), salt.size(),
                                               reinterpret_cast<const CryptoPP::byte*>(info.data()), info.size());
}

secure_channel::secure_channel(std::unique_ptr<state> s) : state_(std::move(s)) {}
secure_channel::~secure_channel() = default;
secure_channel::secure_channel(secure_channel&&) noexcept = default;
secure_channel& secure_channel::operator=(secure_channel&&) noexcept = default;

channel_role secure_channel::role() const noexcept { return state_->role; }
std::uint64_t secure_channel::session_id() const noexcept { return state_->session_id; }
std::uint64_t secure_channel::sent() const noexcept { return state_->next_send; }
std::uint64_t secure_channel::auth_failures() const noexcept { return state_->auth_failures; }
std::uint64_t secure_channel::key_datagrams() const noexcept {
  return std::uint64_t{1} << state_->key_shift;
}
std::uint64_t secure_channel::send_key_updates() const noexcept {
  // The key in use is the one of the last counter sealed.
  return state_->next_send == 0 ? 0 : (state_->next_send - 1) >> state_->key_shift;
}
std::uint64_t secure_channel::receive_key_updates() const noexcept {
  return state_->receive_epoch;
}
bool secure_channel::last_opened_newest() const noexcept { return state_->last_opened_newest; }

namespace {

using session_key = CryptoPP::FixedSizeSecBlock<CryptoPP::byte, 32>;
constexpr std::string_view key_update_label = "libchat key update";

// next = the first half of HKDF(salt = key, ikm = "", "libchat key update"), the shape of the
// handshake's split; the old key cannot be computed from the new one.
void update_key(const session_key& key, session_key& next) {
  CryptoPP::FixedSizeSecBlock<CryptoPP::byte, 64> out;
  protocol_hkdf(byte_view(key.data(), key.size()), {}, key_update_label, mutable_byte_view(out.data(), out.size()));
  std::memcpy(next.data(), out.data(), next.size());
}

}  // namespace

boost::system::result<std::uint64_t> secure_channel::state::take_send_counter() {
  if (next_send == UINT64_MAX) return make_error_code(errc::key_limit);
  const std::uint64_t counter = next_send++;
  if (counter != 0 && (counter & ((std::uint64_t{1} << key_shift) - 1)) == 0) update_key(send_key, send_key);
  return counter;
}

// A genuine counter more than one key ahead would mean a whole key's worth of datagrams lost in
// a row. (The replay window has already refused anything more than one key behind.) The next
// key is derived once and kept, so forged datagrams that claim it cost no HKDF each.
const secure_channel::state::key* secure_channel::state::receive_key_for(std::uint64_t counter) {
  const std::uint64_t epoch = counter >> key_shift;
  if (epoch == receive_epoch) return &receive_key;
  if (epoch + 1 == receive_epoch) return &receive_previous;
  if (epoch != receive_epoch + 1) return nullptr;
  if (!has_next) {
    update_key(receive_key, receive_next);
    has_next = true;
  }
  return &receive_next;
}

// Only a next key that verified a datagram becomes the current one; the key before the previous
// is forgotten.
void secure_channel::state::accept_receive_key(const key* used) {
  if (used != &receive_next) return;
  std::memcpy(receive_previous.data(), receive_key.data(), receive_key.size());
  std::memcpy(receive_key.data(), receive_next.data(), receive_next.size());
  has_next = false;
  ++receive_epoch;
}

namespace {

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
  auto taken = state_->take_send_counter();
  if (!taken) return taken.error();
  const std::uint64_t counter = *taken;
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
  const session_key* key = state_->receive_key_for(counter);
  if (!key) return make_error_code(errc::key_limit);
  if (!open(*key, counter, datagram.first(counter_bytes), datagram.subspan(counter_bytes), out.data())) {
    ++state_->auth_failures;
    return make_error_code(errc::auth_failed);
  }
  // Only now: a forged counter never moves the window, nor the key.
  state_->accept_receive_key(key);
  state_->window.accept(counter);
  return n;
}

boost::system::result<std::size_t> secure_channel::open_client_message(byte_view header, byte_view sealed,
                                                                       mutable_byte_view out) {
  if (sealed.size() < counter_bytes + aead_tag_bytes) return make_error_code(errc::malformed);
  const std::size_t n = sealed.size() - counter_bytes - aead_tag_bytes;
  if (n > out.size()) return make_error_code(errc::oversize);
  std::uint64_t counter = 0;
  (void)load_big_endian(sealed.first(counter_bytes), counter);
  if (!state_->window.check(counter)) return make_error_code(errc::replay);
  // The associated data is the clear header followed by the counter, contiguous on the wire.
  if (header.data() + header.size() != sealed.data()) return make_error_code(errc::malformed);
  const session_key* key = state_->receive_key_for(counter);
  if (!key) return make_error_code(errc::key_limit);
  const byte_view ad(header.data(), header.size() + counter_bytes);
  if (!open(*key, counter, ad, sealed.subspan(counter_bytes), out.data())) {
    ++state_->auth_failures;
    return make_error_code(errc::auth_failed);
  }
  state_->accept_receive_key(key);
  state_->last_opened_newest = state_->window.ahead(counter);
  state_->window.accept(counter);
  return n;
}

boost::system::result<std::size_t> secure_channel::seal_server_datagram(byte_view plaintext, mutable_byte_view out) {
  const std::size_t size = sealed_server_size(plaintext.size());
  if (size > out.size()) return make_error_code(errc::oversize);
  auto taken = state_->take_send_counter();
  if (!taken) return taken.error();
  const std::uint64_t counter = *taken;
  store_big_endian(counter, out.first(counter_bytes));
  seal(state_->send_key, counter, byte_view(out.data(), counter_bytes), plaintext, out.data() + counter_bytes);
  return size;
}

}  // namespace libchat
