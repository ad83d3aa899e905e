// Every failure libchat reports, as a boost::system error category, and the mapping from those
// failures to the error codes of the TCRP wire protocol.
#pragma once

#include "libchat/export.hpp"

#include <boost/system/error_code.hpp>

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <type_traits>

namespace libchat {

/// Which part of libchat reports an errc. Framing and payload failures are a client's malformed
/// request (answered bad_request); admission failures are a room's or the room table's decisions
/// (each has a TCRP error of its own); datagram and crypto failures are counted drops.
enum class error_layer : std::uint8_t { framing, payload, admission, datagram, crypto };

/// What went wrong: one enumerator per row of errors.def, in its order, from 1.
enum class errc : std::uint8_t {
#define LIBCHAT_ERRC(layer, name, message) name,
  none_ = 0,  // not an error: keeps the first real one at 1, as error_code requires
#include "libchat/errors.def"
#undef LIBCHAT_ERRC
};

LIBCHAT_EXPORT const boost::system::error_category& libchat_category() noexcept;

inline boost::system::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), libchat_category()};
}

/// A short snake_case name for an errc, as used in counters and logs ("port_mismatch").
LIBCHAT_EXPORT std::string_view errc_name(errc e) noexcept;
LIBCHAT_EXPORT error_layer layer_of(errc e) noexcept;
/// How many errc values there are, counting the unused 0 (for arrays indexed by errc).
inline constexpr std::size_t errc_count = 1
#define LIBCHAT_ERRC(layer, name, message) +1
#include "libchat/errors.def"
#undef LIBCHAT_ERRC
    ;

/// The error codes a TCRP error reply can carry (tcrp_errors.def). See docs/protocol.md.
enum class tcrp_error : std::uint8_t {
#define LIBCHAT_TCRP_ERROR(name, status) name,
#include "libchat/tcrp_errors.def"
#undef LIBCHAT_TCRP_ERROR
};

/// The code's spelling on the wire ("room_not_found").
LIBCHAT_EXPORT std::string_view wire_name(tcrp_error e) noexcept;
/// The HTTP-like status that accompanies the code (404 for room_not_found).
LIBCHAT_EXPORT int http_status(tcrp_error e) noexcept;
/// Parses a wire name; returns false for an unknown name.
LIBCHAT_EXPORT bool parse_wire_name(std::string_view name, tcrp_error& out) noexcept;

}  // namespace libchat

template <>
struct boost::system::is_error_code_enum<libchat::errc> : std::true_type {};
