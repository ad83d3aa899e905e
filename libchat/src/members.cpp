#include "libchat/members.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <stdexcept>

namespace libchat {
namespace {

constexpr std::string_view head = R"({"event":"members","part":)";
constexpr std::string_view parts_key = R"(,"parts":)";
constexpr std::string_view host_key = R"(,"host":)";
constexpr std::string_view users_key = R"(,"users":[)";
constexpr std::string_view tail = "]}";

std::size_t digits(std::size_t n) noexcept {
  std::size_t d = 1;
  while (n >= 10) {
    n /= 10;
    ++d;
  }
  return d;
}

// Names hold no control characters (check_name), so only '"' and '\' need escaping; anything
// below U+0020 is still written as \u00XX, so that the output is JSON whatever the input.
std::size_t quoted_size(std::string_view s) noexcept {
  std::size_t n = 2;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    n += (c == '"' || c == '\\') ? 2 : u < 0x20 ? 6 : 1;
  }
  return n;
}

class writer {
 public:
  explicit writer(std::span<char> out) noexcept : out_(out) {}
  void raw(std::string_view s) noexcept {
    std::copy(s.begin(), s.end(), out_.begin() + static_cast<std::ptrdiff_t>(size_));
    size_ += s.size();
  }
  void number(std::size_t n) noexcept {
    auto [end, ec] = std::to_chars(out_.data() + size_, out_.data() + out_.size(), n);
    (void)ec;  // the layout reserved its digits
    size_ = static_cast<std::size_t>(end - out_.data());
  }
  void quoted(std::string_view s) noexcept {
    constexpr std::string_view hex = "0123456789abcdef";
    raw("\"");
    for (char c : s) {
      const auto u = static_cast<unsigned char>(c);
      if (c == '"' || c == '\\') {
        const std::array<char, 2> escaped{'\\', c};
        raw({escaped.data(), escaped.size()});
      } else if (u < 0x20) {
        const std::array<char, 6> escaped{'\\', 'u', '0', '0', hex[u >> 4], hex[u & 0xF]};
        raw({escaped.data(), escaped.size()});
      } else {
        out_[size_++] = c;
      }
    }
    raw("\"");
  }
  std::size_t size() const noexcept { return size_; }

 private:
  std::span<char> out_;
  std::size_t size_ = 0;
};

// One part, laid out as §6.6 says; `names` holds the part's names (string_view or string).
template <class Names>
void write_part(writer& w, std::size_t part, std::size_t parts, std::string_view host, const Names& names) {
  w.raw(head);
  w.number(part);
  w.raw(parts_key);
  w.number(parts);
  if (!host.empty()) {
    w.raw(host_key);
    w.quoted(host);
  }
  w.raw(users_key);
  bool first = true;
  for (const auto& name : names) {
    if (!first) w.raw(",");
    first = false;
    w.quoted(name);
  }
  w.raw(tail);
}

}  // namespace

std::string encode_members_part(std::uint32_t part, std::uint32_t parts, std::string_view host,
                                std::span<const std::string> users) {
  std::size_t size = head.size() + digits(part) + parts_key.size() + digits(parts) + users_key.size() + tail.size();
  if (!host.empty()) size += host_key.size() + quoted_size(host);
  for (const auto& u : users) size += quoted_size(u) + 1;
  std::string out(size, '\0');
  writer w(out);
  write_part(w, part, parts, host, users);
  out.resize(w.size());
  return out;
}

members_notice::members_notice(std::span<const std::string_view> users, std::string_view host)
    : users_(users), host_(host) {
  // Longer names would not fit a part: the room holds only names that passed check_name.
  const auto too_long = [](std::string_view name) { return name.size() > max_name_bytes; };
  if (too_long(host) || std::any_of(users.begin(), users.end(), too_long))
    throw std::length_error("members_notice: a name longer than 255 bytes");
  const std::size_t host_bytes = host.empty() ? 0 : host_key.size() + quoted_size(host);
  // The numbers' width depends on how many parts there are: lay out with room for `width`
  // digits, and again with more if the count turned out wider. Names are at most 255 bytes
  // (510 escaped), so one always fits beside the host.
  for (std::size_t width = 1;; ++width) {
    const std::size_t fixed =
        head.size() + width + parts_key.size() + width + host_bytes + users_key.size() + tail.size();
    starts_.assign(1, 0);
    std::size_t used = fixed;
    std::size_t in_part = 0;
    for (std::size_t i = 0; i < users.size(); ++i) {
      const std::size_t cost = quoted_size(users[i]) + (in_part > 0 ? 1 : 0);
      if (in_part > 0 && used + cost > max_notice_json) {
        starts_.push_back(i);
        used = fixed;
        in_part = 0;
        --i;  // again, as the first name of the new part
        continue;
      }
      used += cost;
      ++in_part;
    }
    if (digits(starts_.size()) <= width) return;
  }
}

std::size_t members_notice::encode(std::size_t index, std::span<char, max_notice_json> out) const noexcept {
  const std::size_t first = starts_[index];
  const std::size_t end = index + 1 < starts_.size() ? starts_[index + 1] : users_.size();
  writer w(out);
  write_part(w, index + 1, starts_.size(), host_, users_.subspan(first, end - first));
  return w.size();
}

bool member_roster::apply(const notice& n) {
  switch (n.event) {
    case notice_event::joined:
      if (names_.size() >= max_roster_names) return false;
      return names_.insert(n.user).second;
    case notice_event::left: return names_.erase(n.user) > 0;
    case notice_event::members: break;
    default: return false;
  }
  if (n.parts == 0 || n.part == 0 || n.part > n.parts) return false;  // parse_notice never gives these
  // Another count, or a part seen already, means a newer list (an answer to a request): its
  // parts are counted afresh. Names are merged either way; joined/left keep them current.
  if (n.parts != expected_parts_ || seen_[n.part - 1]) {
    expected_parts_ = n.parts;
    seen_.assign(n.parts, false);
    parts_seen_ = 0;
  }
  seen_[n.part - 1] = true;
  ++parts_seen_;
  if (!n.host.empty()) host_ = n.host;
  for (const auto& user : n.users) {
    if (names_.size() >= max_roster_names) break;
    names_.insert(user);
  }
  return true;
}

}  // namespace libchat
