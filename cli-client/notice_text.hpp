// How a server notice reads for a person ("bob joined", "the room was closed: the host left").
// Shared by the TUI and plain modes; pure, so that it is unit-tested.
#pragma once

#include <libchat/control.hpp>

#include <string>

namespace chat_cli {

/// The sentence for a notice, without the "* " marker. Empty for a pong, which is not shown.
/// Names in the result are raw: the caller neutralises the whole line before display.
std::string describe_notice(const libchat::notice& n);

/// True for the notices after which this client is no longer in the room.
bool ends_session(libchat::notice_event e) noexcept;

}  // namespace chat_cli
