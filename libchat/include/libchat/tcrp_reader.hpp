// Incremental reader for one TCRP frame arriving over a byte stream.
//
// Flow: read into prepare(), report the count with commit(n), then look at status(). A reader of
// requests (to_server) asks for one byte more than the frame still needs, so that a byte after the
// declared payload that arrives with the request is seen (errc::trailing_bytes). A reader of
// replies (to_client) asks for exactly what the frame still needs, so that frames that follow
// each other on one stream can be read with one reader each. The header is checked as soon
// as its 32 bytes are in, before any room name or payload is buffered: an oversized
// OperationPayloadSize fails without allocating the body.
#pragma once

#include "libchat/error.hpp"
#include "libchat/export.hpp"
#include "libchat/tcrp.hpp"

#include <optional>
#include <string_view>
#include <vector>

namespace libchat {

class LIBCHAT_EXPORT tcrp_reader {
 public:
  enum class status { need_more, frame_ready, failed };

  tcrp_reader(tcrp_direction direction, std::size_t max_payload);

  /// Space for the next read. Empty once the reader has a frame or has failed.
  mutable_byte_view prepare();
  /// Records that the first `n` bytes of prepare()'s span were filled.
  void commit(std::size_t n);

  status state() const noexcept { return status_; }
  /// Why the frame was rejected (valid when state() == failed).
  boost::system::error_code error() const noexcept { return error_; }

  /// The header as far as it was read: set once 32 bytes arrived, even if they were rejected.
  const std::optional<tcrp_header>& header() const noexcept { return header_; }
  /// The room name once it is in, for echoing in a reply. Empty if the header was rejected, or
  /// if the name is not a valid name (invalid UTF-8 or a control character).
  std::string_view room() const noexcept;
  /// The payload (valid when state() == frame_ready).
  std::string_view payload() const noexcept;

 private:
  void advance();
  void fail(boost::system::error_code e);

  tcrp_direction direction_;
  std::size_t max_payload_;
  std::size_t spare_;
  std::vector<std::uint8_t> buffer_;
  std::size_t filled_ = 0;
  std::size_t frame_size_ = tcrp_header_size;  // bytes the frame needs, known once the header is in
  std::optional<tcrp_header> header_;
  bool header_accepted_ = false;
  status status_ = status::need_more;
  boost::system::error_code error_;
};

}  // namespace libchat
