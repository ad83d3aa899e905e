#include "libchat/secure_handshake.hpp"

#include "detail/base64url.hpp"
#include "detail/crypto_state.hpp"
#include "detail/flat_json.hpp"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <cryptopp/base64.h>
#include <cryptopp/filters.h>
#include <cryptopp/misc.h>
#include <cryptopp/sha.h>
#include <cryptopp/xed25519.h>

#include <cstring>

namespace libchat {
namespace {

using CryptoPP::SecByteBlock;
constexpr std::size_t hash_bytes = 32;
constexpr std::string_view mix_label = "libchat mix";
constexpr std::string_view split_label = "libchat split";

boost::system::error_code bad() { return make_error_code(errc::bad_handshake); }

// The running transcript of a handshake, after the Noise framework: h hashes everything sent,
// ck chains every Diffie-Hellman result, k encrypts the handshake payloads.
class transcript {
 public:
  transcript(std::uint8_t operation, std::string_view room, const public_key& server_static) : ck_(hash_bytes) {
    CryptoPP::SHA256().CalculateDigest(h_.data(), reinterpret_cast<const CryptoPP::byte*>(handshake_protocol_name.data()),
                                       handshake_protocol_name.size());
    std::memcpy(ck_.data(), h_.data(), hash_bytes);
    // Prologue: the request's operation and room are bound into every key.
    std::vector<std::uint8_t> prologue{'T', 'C', 'R', 'P', operation, static_cast<std::uint8_t>(room.size())};
    prologue.insert(prologue.end(), room.begin(), room.end());
    mix_hash(prologue);
    mix_hash(server_static);
  }

  void mix_hash(byte_view data) {
    CryptoPP::SHA256 sha;
    sha.Update(h_.data(), h_.size());
    sha.Update(data.data(), data.size());
    sha.Final(h_.data());
  }

  void mix_key(const SecByteBlock& input) {
    SecByteBlock out(2 * hash_bytes);
    protocol_hkdf(byte_view(ck_.data(), ck_.size()), byte_view(input.data(), input.size()), mix_label,
                  mutable_byte_view(out.data(), out.size()));
    ck_.Assign(out, hash_bytes);
    k_.Assign(out + hash_bytes, hash_bytes);
  }

  /// AEAD under k with nonce n; ad = h; then h absorbs the ciphertext.
  std::vector<std::uint8_t> encrypt(std::uint64_t n, byte_view plaintext) {
    std::vector<std::uint8_t> out(plaintext.size() + aead_tag_bytes);
    std::uint8_t nonce[12];
    make_nonce(n, nonce);
    CryptoPP::GCM<CryptoPP::AES>::Encryption cipher;
    cipher.SetKeyWithIV(k_, k_.size(), nonce, sizeof nonce);
    cipher.EncryptAndAuthenticate(out.data(), out.data() + plaintext.size(), aead_tag_bytes, nonce, sizeof nonce,
                                  h_.data(), h_.size(), plaintext.data(), plaintext.size());
    mix_hash(out);
    return out;
  }

  std::optional<std::string> decrypt(std::uint64_t n, byte_view sealed) {
    if (sealed.size() < aead_tag_bytes) return std::nullopt;
    std::string out(sealed.size() - aead_tag_bytes, '\0');
    std::uint8_t nonce[12];
    make_nonce(n, nonce);
    CryptoPP::GCM<CryptoPP::AES>::Decryption cipher;
    cipher.SetKeyWithIV(k_, k_.size(), nonce, sizeof nonce);
    const bool ok = cipher.DecryptAndVerify(reinterpret_cast<CryptoPP::byte*>(out.data()),
                                            sealed.data() + out.size(), aead_tag_bytes, nonce, sizeof nonce,
                                            h_.data(), h_.size(), sealed.data(), out.size());
    if (!ok) return std::nullopt;
    mix_hash(sealed);
    return out;
  }

  /// The two datagram keys: client → server, then server → client.
  std::pair<SecByteBlock, SecByteBlock> split() const {
    SecByteBlock out(2 * hash_bytes);
    protocol_hkdf(byte_view(ck_.data(), ck_.size()), {}, split_label, mutable_byte_view(out.data(), out.size()));
    return {SecByteBlock(out, hash_bytes), SecByteBlock(out + hash_bytes, hash_bytes)};
  }

 private:
  std::array<std::uint8_t, hash_bytes> h_{};
  SecByteBlock ck_;
  SecByteBlock k_;
};

struct key_pair {
  SecByteBlock private_key{x25519_key_bytes};
  public_key public_half{};
};

key_pair pair_from(byte_view private_bytes) {
  key_pair kp;
  std::memcpy(kp.private_key.data(), private_bytes.data(), x25519_key_bytes);
  // RFC 7748 clamping, so that the stored key is the one actually used.
  kp.private_key[0] &= 248;
  kp.private_key[31] &= 127;
  kp.private_key[31] |= 64;
  // Deriving the public half draws no random bytes: NullRNG says so (it throws if used).
  CryptoPP::x25519().GeneratePublicKey(CryptoPP::NullRNG(), kp.private_key, kp.public_half.data());
  return kp;
}

// A private key is 32 random bytes, clamped: what Crypto++'s GeneratePrivateKey does as well.
key_pair generate_pair(random_source& random) {
  CryptoPP::SecByteBlock raw(x25519_key_bytes);
  random.fill(mutable_byte_view(raw.data(), raw.size()));
  return pair_from(byte_view(raw.data(), raw.size()));
}

// X25519 with the peer's key validated: small-order points make Agree() fail, and an all-zero
// result is refused as well.
std::optional<SecByteBlock> agree(const SecByteBlock& private_key, const public_key& peer) {
  SecByteBlock shared(x25519_key_bytes);
  if (!CryptoPP::x25519().Agree(shared, private_key, peer.data(), true)) return std::nullopt;
  std::uint8_t zero[x25519_key_bytes] = {};
  if (CryptoPP::VerifyBufsEqual(shared, zero, x25519_key_bytes)) return std::nullopt;
  return shared;
}

// A small-order point (order dividing 8, on the curve or its twist, in any of its encodings)
// gives an all-zero result with every clamped private key, which is a multiple of 8; any other
// point gives a non-zero one with every clamped key, which is 8·m with 0 < m below both large
// prime orders. So one agreement with a fixed key decides, with no list of points to keep right.
bool is_small_order(const public_key& key) {
  static constexpr std::uint8_t probe_bytes[x25519_key_bytes] = {1, 2, 3, 4, 5, 6, 7, 8};
  const SecByteBlock probe(probe_bytes, sizeof probe_bytes);
  return !agree(probe, key);
}

std::optional<public_key> key_from_text(std::string_view text) {
  auto bytes = detail::base64url_decode(text);
  if (!bytes || bytes->size() != x25519_key_bytes) return std::nullopt;
  public_key k;
  std::copy(bytes->begin(), bytes->end(), k.begin());
  return k;
}

std::optional<std::vector<std::uint8_t>> bytes_field(const detail::flat_object& o, std::string_view key) {
  auto field = o.string_field(key);
  if (!field || !*field) return std::nullopt;
  return detail::base64url_decode(**field);
}

}  // namespace

std::string key_fingerprint(const public_key& key) {
  std::array<std::uint8_t, 32> digest{};
  CryptoPP::SHA256().CalculateDigest(digest.data(), key.data(), key.size());
  std::string b64;
  CryptoPP::StringSource(digest.data(), digest.size(), true,
                         new CryptoPP::Base64Encoder(new CryptoPP::StringSink(b64), false));
  while (!b64.empty() && b64.back() == '=') b64.pop_back();
  return "SHA256:" + b64;
}

std::string encode_server_key_response(const public_key& key) {
  boost::json::object o;
  o["status"] = 200;
  o["key"] = detail::base64url_encode(key);
  o["fingerprint"] = key_fingerprint(key);
  return boost::json::serialize(o);
}

boost::system::result<public_key> parse_server_key_response(std::string_view payload) {
  auto object = detail::parse_flat_object(payload);
  if (!object) return object.error();
  auto status = object->integer_field("status", 100, 599);
  auto key_text = object->string_field("key");
  auto fingerprint = object->string_field("fingerprint");
  if (!status || !key_text || !fingerprint) return make_error_code(errc::wrong_field_type);
  if (!*status || !*key_text) return make_error_code(errc::missing_field);
  if (**status != 200) return make_error_code(errc::wrong_field_type);
  auto key = key_from_text(**key_text);
  if (!key) return make_error_code(errc::wrong_field_type);
  if (*fingerprint && **fingerprint != key_fingerprint(*key)) return make_error_code(errc::wrong_field_type);
  // Refused here, before a client pins it or seals anything to it: every secret agreed with a
  // small-order key is all zeros, so a request sealed to it could be read by anyone.
  if (is_small_order(*key)) return make_error_code(errc::weak_key);
  return *key;
}

std::optional<public_key> usable_key_from_text(std::string_view text) {
  auto key = key_from_text(text);
  if (!key || is_small_order(*key)) return std::nullopt;
  return key;
}

bool is_sealed_request(std::string_view payload) {
  auto o = detail::parse_flat_object(payload);
  return o && o->find("e") && o->find("ct");
}

// ---- server_key ----

struct server_key::impl {
  key_pair pair;
};

server_key::server_key(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
server_key::~server_key() = default;
server_key::server_key(server_key&&) noexcept = default;
server_key& server_key::operator=(server_key&&) noexcept = default;

server_key server_key::generate(random_source& random) {
  return server_key(std::make_unique<impl>(impl{generate_pair(random)}));
}

std::optional<server_key> server_key::from_private(byte_view private_key) {
  if (private_key.size() != x25519_key_bytes) return std::nullopt;
  return server_key(std::make_unique<impl>(impl{pair_from(private_key)}));
}

const public_key& server_key::public_half() const noexcept { return impl_->pair.public_half; }

void server_key::save(std::span<std::uint8_t, x25519_key_bytes> out) const noexcept {
  std::memcpy(out.data(), impl_->pair.private_key.data(), x25519_key_bytes);
}

// ---- server_handshake ----

struct server_handshake::impl {
  const server_key& key;
  transcript t;
  key_pair ephemeral;
  public_key client_ephemeral{};
  bool opened = false;
  bool responded = false;

  impl(const server_key& k, std::uint8_t op, std::string_view room, std::optional<byte_view> fixed)
      : key(k), t(op, room, k.public_half()), ephemeral(fixed ? pair_from(*fixed) : generate_pair(system_random())) {}
};

server_handshake::server_handshake(const server_key& key, std::uint8_t operation, std::string_view room,
                                   std::optional<byte_view> ephemeral_private)
    : impl_(std::make_unique<impl>(key, operation, room, ephemeral_private)) {}
server_handshake::~server_handshake() = default;

boost::system::result<room_request> server_handshake::open_request(std::string_view payload) {
  auto object = detail::parse_flat_object(payload);
  if (!object) return bad();
  auto e = object->string_field("e");
  auto ct = bytes_field(*object, "ct");
  if (!e || !*e || !ct) return bad();
  auto client_key = key_from_text(**e);
  if (!client_key) return bad();
  impl_->client_ephemeral = *client_key;
  impl_->t.mix_hash(*client_key);
  auto es = agree(impl_->key.impl_->pair.private_key, *client_key);
  if (!es) return bad();
  impl_->t.mix_key(*es);
  auto json = impl_->t.decrypt(0, *ct);
  if (!json) return bad();
  impl_->opened = true;
  return parse_room_request(*json);
}

const public_key& server_handshake::client_ephemeral() const noexcept {
  return impl_->client_ephemeral;
}

std::string server_handshake::seal_response(std::string_view json) {
  auto& s = *impl_;
  s.t.mix_hash(s.ephemeral.public_half);
  // open_request verified the client's key, so this agreement cannot fail on a small order; if
  // it ever did, the key is mixed from zeros rather than from uninitialised memory.
  auto ee = agree(s.ephemeral.private_key, s.client_ephemeral);
  s.t.mix_key(ee ? *ee : SecByteBlock(nullptr, x25519_key_bytes));
  const auto ct = s.t.encrypt(0, as_bytes(json));
  s.responded = true;
  boost::json::object o;
  o["e"] = detail::base64url_encode(s.ephemeral.public_half);
  o["ct"] = detail::base64url_encode(ct);
  return boost::json::serialize(o);
}

std::string server_handshake::seal_completion(std::string_view json) {
  const auto ct = impl_->t.encrypt(1, as_bytes(json));
  boost::json::object o;
  o["ct"] = detail::base64url_encode(ct);
  return boost::json::serialize(o);
}

std::unique_ptr<secure_channel> server_handshake::channel(std::uint64_t session_id, std::uint64_t key_datagrams) {
  auto [c2s, s2c] = impl_->t.split();
  return channel_factory::make(channel_role::server, session_id, s2c, c2s, key_datagrams);
}

struct session_keys::keys {
  SecByteBlock send, receive;
  std::uint64_t key_datagrams;
};

session_keys server_handshake::keys(std::uint64_t key_datagrams) const {
  auto [c2s, s2c] = impl_->t.split();
  return session_keys(std::make_shared<const session_keys::keys>(session_keys::keys{s2c, c2s, key_datagrams}));
}

std::unique_ptr<secure_channel> session_keys::make_channel(std::uint64_t session_id) const {
  return channel_factory::make(channel_role::server, session_id, keys_->send, keys_->receive, keys_->key_datagrams);
}

// ---- client_handshake ----

struct client_handshake::impl {
  public_key server;
  transcript t;
  key_pair ephemeral;
  bool responded = false;

  impl(const public_key& s, std::uint8_t op, std::string_view room, std::optional<byte_view> fixed)
      : server(s), t(op, room, s), ephemeral(fixed ? pair_from(*fixed) : generate_pair(system_random())) {}
};

client_handshake::client_handshake(const public_key& server, std::uint8_t operation, std::string_view room,
                                   std::optional<byte_view> ephemeral_private)
    : impl_(std::make_unique<impl>(server, operation, room, ephemeral_private)) {}
client_handshake::~client_handshake() = default;

boost::system::result<std::string> client_handshake::seal_request(const room_request& request) {
  auto& c = *impl_;
  // Nothing is sealed to a small-order server key: the request would be readable by anyone.
  auto es = agree(c.ephemeral.private_key, c.server);
  if (!es) return make_error_code(errc::weak_key);
  c.t.mix_hash(c.ephemeral.public_half);
  c.t.mix_key(*es);
  const std::string json = encode_room_request(request);
  const auto ct = c.t.encrypt(0, as_bytes(json));
  boost::json::object o;
  o["e"] = detail::base64url_encode(c.ephemeral.public_half);
  o["ct"] = detail::base64url_encode(ct);
  return boost::json::serialize(o);
}

boost::system::result<std::variant<accepted_response, error_response>> client_handshake::open_response(
    std::string_view payload) {
  auto object = detail::parse_flat_object(payload);
  if (!object) return bad();
  if (!object->find("ct")) {
    // A plaintext error: the server could not read the request. It cannot be authenticated, so
    // it is accepted only as an error, never as a 202.
    auto plain = parse_response(payload);
    if (!plain || !std::holds_alternative<error_response>(*plain)) return bad();
    return plain;
  }
  auto e = object->string_field("e");
  auto ct = bytes_field(*object, "ct");
  if (!e || !*e || !ct) return bad();
  auto server_ephemeral = key_from_text(**e);
  if (!server_ephemeral) return bad();
  auto& c = *impl_;
  c.t.mix_hash(*server_ephemeral);
  auto ee = agree(c.ephemeral.private_key, *server_ephemeral);
  if (!ee) return bad();
  c.t.mix_key(*ee);
  auto json = c.t.decrypt(0, *ct);
  if (!json) return bad();
  c.responded = true;
  auto response = parse_response(*json);
  if (!response) return bad();
  return response;
}

boost::system::result<std::variant<completion_response, error_response>> client_handshake::open_completion(
    std::string_view payload) {
  if (!impl_->responded) return bad();
  auto object = detail::parse_flat_object(payload);
  if (!object) return bad();
  auto ct = bytes_field(*object, "ct");
  if (!ct) return bad();
  auto json = impl_->t.decrypt(1, *ct);
  if (!json) return bad();
  auto final_reply = parse_final_response(*json);
  if (!final_reply) return bad();
  return final_reply;
}

std::unique_ptr<secure_channel> client_handshake::channel(std::uint64_t session_id, std::uint64_t key_datagrams) {
  auto [c2s, s2c] = impl_->t.split();
  return channel_factory::make(channel_role::client, session_id, c2s, s2c, key_datagrams);
}

}  // namespace libchat
