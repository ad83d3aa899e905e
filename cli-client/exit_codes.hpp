// chat-client's exit status, as --help documents it. Scripts rely on these numbers.
#pragma once

namespace chat_cli::exit_code {

inline constexpr int left = 0;             ///< the user left (/quit, EOF, Ctrl-C)
inline constexpr int refused = 1;          ///< the server refused the handshake
inline constexpr int usage = 2;            ///< bad flags, or something missing without a terminal
inline constexpr int network = 3;          ///< cannot connect, timeout, malformed reply, no UDP answer
inline constexpr int ended_by_server = 4;  ///< room closed, timed out, server shutdown or silent
inline constexpr int unpinned = 5;         ///< first contact, but the key could not be pinned
inline constexpr int internal = 70;        ///< a bug in chat-client (an unexpected exception)

}  // namespace chat_cli::exit_code
