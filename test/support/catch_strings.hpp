// How Catch prints libchat values in failure messages. Include after <catch2/catch.hpp> and
// before any assertion, in every test file (StringMaker specializations must be seen everywhere).
#pragma once

#include "libchat/address.hpp"
#include "libchat/error.hpp"
#include "libchat/room_output.hpp"
#include "support/hex.hpp"

#include <catch2/catch.hpp>

#include <boost/system/error_code.hpp>

#include <string>

namespace chat_test {

/// "relayed", "keepalive", "control" or "dropped: bad_token": easy to compare and to read.
inline std::string outcome_text(const libchat::datagram_outcome& o) {
  switch (o.what) {
    case libchat::datagram_outcome::kind::relayed: return "relayed";
    case libchat::datagram_outcome::kind::keepalive: return "keepalive";
    case libchat::datagram_outcome::kind::control: return "control";
    case libchat::datagram_outcome::kind::dropped: return "dropped: " + std::string(libchat::errc_name(o.reason));
  }
  return "?";
}

inline std::string dropped(libchat::errc why) { return "dropped: " + std::string(libchat::errc_name(why)); }

}  // namespace chat_test

namespace Catch {

template <>
struct StringMaker<libchat::errc> {
  static std::string convert(libchat::errc e) { return std::string(libchat::errc_name(e)); }
};

template <>
struct StringMaker<boost::system::error_code> {
  static std::string convert(const boost::system::error_code& ec) {
    if (!ec) return "success";
    if (ec.category() == libchat::libchat_category())
      return "libchat::errc::" + std::string(libchat::errc_name(static_cast<libchat::errc>(ec.value())));
    return std::string(ec.category().name()) + ":" + std::to_string(ec.value()) + " (" + ec.message() + ")";
  }
};

template <>
struct StringMaker<libchat::tcrp_error> {
  static std::string convert(libchat::tcrp_error e) { return std::string(libchat::wire_name(e)); }
};

template <>
struct StringMaker<libchat::peer_address> {
  static std::string convert(const libchat::peer_address& a) { return a.to_string(); }
};

template <>
struct StringMaker<chat_test::byte_vector> {
  static std::string convert(const chat_test::byte_vector& v) { return "[" + chat_test::to_hex(v) + "]"; }
};

}  // namespace Catch
