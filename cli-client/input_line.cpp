#include "input_line.hpp"

#include "utf8_codec.hpp"

namespace chat_cli {
namespace {

bool is_typeable(char32_t c) noexcept {
  if (c < 0x20 || c == 0x7F || (c >= 0x80 && c <= 0x9F)) return false;
  if ((c >= 0x202A && c <= 0x202E) || (c >= 0x2066 && c <= 0x2069)) return false;
  return c <= 0x10FFFF && (c < 0xD800 || c > 0xDFFF);
}

}  // namespace

bool input_line::insert(char32_t c) {
  if (!is_typeable(c) || text_.size() >= max_code_points) return false;
  text_.insert(cursor_, 1, c);
  ++cursor_;
  return true;
}

void input_line::erase_before() {
  if (cursor_ > 0) text_.erase(--cursor_, 1);
}

void input_line::erase_at() {
  if (cursor_ < text_.size()) text_.erase(cursor_, 1);
}

void input_line::left() {
  if (cursor_ > 0) --cursor_;
}

void input_line::right() {
  if (cursor_ < text_.size()) ++cursor_;
}

void input_line::home() {
  cursor_ = 0;
}

void input_line::end() {
  cursor_ = text_.size();
}

void input_line::kill_before() {
  text_.erase(0, cursor_);
  cursor_ = 0;
}

void input_line::kill_after() {
  text_.erase(cursor_);
}

void input_line::clear() {
  text_.clear();
  cursor_ = view_start_ = 0;
}

std::string input_line::utf8() const {
  return encode_utf8(text_);
}

std::size_t input_line::first_visible(int columns, int (*width)(char32_t)) {
  if (view_start_ > cursor_) view_start_ = cursor_;
  // The cursor needs a cell of its own after the text before it.
  auto used = [&] {
    int w = 0;
    for (std::size_t i = view_start_; i < cursor_; ++i) w += width(text_[i]);
    return w;
  };
  while (view_start_ < cursor_ && used() >= columns) ++view_start_;
  return view_start_;
}

}  // namespace chat_cli
