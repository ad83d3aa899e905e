// "Grind" helpers: feed a byte stream at every split point and every truncation, as a socket
// might deliver it, and check that a parser's answer does not depend on how the bytes arrived.
#pragma once

#include "libchat/tcrp_reader.hpp"
#include "support/hex.hpp"

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <vector>

namespace chat_test {

/// What feeding a tcrp_reader did.
struct feed_result {
  std::size_t consumed = 0;         ///< bytes the reader took (the rest stays "in the socket")
  std::size_t largest_prepare = 0;  ///< the largest span prepare() offered
};

/// Feeds `data` to `reader` the way a stream read loop would: copy as much as prepare() offers,
/// commit, repeat until the data is used up or the reader stops asking.
inline feed_result feed(libchat::tcrp_reader& reader, libchat::byte_view data, feed_result so_far = {}) {
  while (!data.empty() && reader.state() == libchat::tcrp_reader::status::need_more) {
    const libchat::mutable_byte_view space = reader.prepare();
    so_far.largest_prepare = std::max(so_far.largest_prepare, space.size());
    if (space.empty()) break;
    const std::size_t n = std::min(space.size(), data.size());
    std::memcpy(space.data(), data.data(), n);
    reader.commit(n);
    so_far.consumed += n;
    data = data.subspan(n);
  }
  return so_far;
}

/// Feeds `data` one byte per read.
inline feed_result feed_bytewise(libchat::tcrp_reader& reader, libchat::byte_view data) {
  feed_result r;
  for (std::size_t i = 0; i < data.size(); ++i) r = feed(reader, data.subspan(i, 1), r);
  return r;
}

/// Calls f(first, second) for every way of cutting `data` in two, from (empty, all) to (all, empty).
template <class F>
void for_each_split(libchat::byte_view data, F&& f) {
  for (std::size_t cut = 0; cut <= data.size(); ++cut) f(data.first(cut), data.subspan(cut));
}

/// Calls f(prefix) for every strict prefix of `data`, from empty to all but the last byte.
template <class F>
void for_each_truncation(libchat::byte_view data, F&& f) {
  for (std::size_t n = 0; n < data.size(); ++n) f(data.first(n));
}

}  // namespace chat_test
