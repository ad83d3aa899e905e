#include "libchat/tcrp_reader.hpp"

#include "libchat/utf8.hpp"

#include <cassert>

namespace libchat {
namespace {

// The room name bytes as they arrived. Precondition: the header is in and its room name too.
std::string_view raw_room(const std::vector<std::uint8_t>& buffer, const tcrp_header& header) noexcept {
  return {reinterpret_cast<const char*>(buffer.data()) + tcrp_header_size, header.room_name_size};
}

}  // namespace

tcrp_reader::tcrp_reader(tcrp_direction direction, std::size_t max_payload)
    : direction_(direction),
      max_payload_(max_payload),
      // A server reads one request per connection, so it asks for one byte beyond the frame: a
      // trailing byte that arrives with the request shows. A client reads a response and then a
      // completion on the same stream, so it must never take a byte of the next frame.
      spare_(direction == tcrp_direction::to_server ? 1 : 0) {
  buffer_.resize(tcrp_header_size + spare_);
}

mutable_byte_view tcrp_reader::prepare() {
  if (status_ != status::need_more) return {};
  return mutable_byte_view(buffer_).subspan(filled_, frame_size_ + spare_ - filled_);
}

void tcrp_reader::commit(std::size_t n) {
  assert(status_ == status::need_more && filled_ + n <= frame_size_ + spare_);
  filled_ += n;
  advance();
}

void tcrp_reader::advance() {
  if (!header_ && filled_ >= tcrp_header_size) {
    header_ = decode_header(std::span<const std::uint8_t, tcrp_header_size>(buffer_.data(), tcrp_header_size));
    if (auto ec = check_header(*header_, direction_, max_payload_)) return fail(ec);
    header_accepted_ = true;
    // Only now, with the sizes checked, does the buffer grow to hold the body.
    frame_size_ = tcrp_header_size + header_->room_name_size + static_cast<std::size_t>(header_->payload_size);
    buffer_.resize(frame_size_ + spare_);
  }
  if (!header_ || filled_ < frame_size_) return;
  if (filled_ > frame_size_) return fail(errc::trailing_bytes);
  // An empty room name is allowed only in an error response; it has nothing to check.
  const std::string_view name = raw_room(buffer_, *header_);
  if (!name.empty()) {
    if (auto ec = check_name(name)) return fail(ec);
  }
  status_ = status::frame_ready;
}

void tcrp_reader::fail(boost::system::error_code e) {
  status_ = status::failed;
  error_ = e;
}

std::string_view tcrp_reader::room() const noexcept {
  if (!header_accepted_ || filled_ < tcrp_header_size + header_->room_name_size) return {};
  const std::string_view name = raw_room(buffer_, *header_);
  // Callers echo this name in their reply; a name that breaks the naming rules would make that
  // reply a frame the peer's reader rejects, so it is withheld (the reply goes out with none).
  if (!name.empty() && check_name(name)) return {};
  return name;
}

std::string_view tcrp_reader::payload() const noexcept {
  if (status_ != status::frame_ready) return {};
  return {reinterpret_cast<const char*>(buffer_.data()) + tcrp_header_size + header_->room_name_size,
          static_cast<std::size_t>(header_->payload_size)};
}

}  // namespace libchat
