// UTF-8 to code points and back, for the terminal view (which edits and measures code points) and
// for the display sanitiser. libchat validates; this decodes, and never fails.
#pragma once

#include <string>
#include <string_view>

namespace chat_cli {

inline constexpr char32_t replacement_character = U'\uFFFD';

/// Decodes UTF-8. A byte that does not start a well-formed sequence (RFC 3629: no overlong forms,
/// no surrogates, nothing above U+10FFFF) becomes one U+FFFD, and decoding goes on after it.
std::u32string decode_utf8(std::string_view text);

/// Appends the UTF-8 form of `cp`; a surrogate or a value above U+10FFFF is written as U+FFFD.
void append_utf8(std::string& out, char32_t cp);

std::string encode_utf8(std::u32string_view text);

}  // namespace chat_cli
