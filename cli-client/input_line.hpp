// The line being typed in the interactive view, as code points with a cursor: what each editing
// key does, and which part of a long line is shown. Pure (no curses), so it is unit-tested; the
// terminal view maps keys to these calls and draws the result.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace chat_cli {

class input_line {
 public:
  /// Longest line kept, in code points: past the longest datagram, and a bound on paste bombs.
  static constexpr std::size_t max_code_points = 8192;

  /// Inserts `c` at the cursor. Refuses (returns false) what a terminal would act on or reorder
  /// (C0, DEL, C1, bidi overrides), what is not a Unicode scalar value, and anything once full.
  bool insert(char32_t c);
  void erase_before();  ///< Backspace
  void erase_at();      ///< Delete
  void left();
  void right();
  void home();
  void end();
  void kill_before();  ///< Ctrl-U: erase from the start to the cursor
  void kill_after();   ///< Ctrl-K: erase from the cursor to the end
  void clear();

  bool empty() const noexcept { return text_.empty(); }
  std::u32string_view text() const noexcept { return text_; }
  std::size_t cursor() const noexcept { return cursor_; }
  std::string utf8() const;

  /// Which character to show first so that the cursor stays visible in `columns` columns, each
  /// character taking `width(c)` of them. Moves as little as possible from the last answer, so
  /// the line does not jump while the cursor moves inside the visible part.
  std::size_t first_visible(int columns, int (*width)(char32_t));

 private:
  std::u32string text_;
  std::size_t cursor_ = 0;
  std::size_t view_start_ = 0;
};

}  // namespace chat_cli
