#include "terminal.hpp"

#include "input_line.hpp"
#include "notice_text.hpp"
#include "terminal_text.hpp"
#include "time_text.hpp"
#include "utf8_codec.hpp"

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/signal_set.hpp>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <cwchar>
#include <deque>
#include <exception>
#include <iostream>
#include <vector>

#include <sys/ioctl.h>
#include <unistd.h>

// ncurses defines function-like macros (clear, erase, timeout, …) that collide with C++ names:
// keep them out, and include it last.
#define NCURSES_NOMACROS 1
#define NCURSES_WIDECHAR 1
#include <curses.h>

namespace chat_cli {
namespace {

namespace asio = boost::asio;
static_assert(sizeof(wchar_t) == sizeof(char32_t), "the view keeps text as UTF-32 in wchar_t");

constexpr std::size_t history_limit = 5000;  // lines kept for scrolling back
constexpr std::wstring_view prompt = L"> ";

// Whether the screen is in curses mode, for the terminate handler: it has no other way to know.
std::atomic<bool> curses_active{false};
std::terminate_handler previous_terminate = nullptr;

[[noreturn]] void end_curses_and_terminate() {
  if (curses_active.exchange(false)) endwin();
  if (previous_terminate) previous_terminate();
  std::abort();
}

// Columns a character takes; one the locale cannot print is drawn as U+FFFD, one column.
int columns(wchar_t c) {
  const int w = wcwidth(c);
  return w < 0 ? 1 : w;
}

std::wstring to_wide(std::string_view utf8) {
  std::wstring out;
  for (char32_t cp : decode_utf8(utf8)) {
    const auto c = static_cast<wchar_t>(cp);
    out.push_back(wcwidth(c) < 0 ? static_cast<wchar_t>(replacement_character) : c);
  }
  return out;
}

int code_point_columns(char32_t c) {
  return columns(static_cast<wchar_t>(c));
}

// Splits a display line into screen rows of at most `cols` columns (a row always takes at least
// one character, so a very narrow screen still makes progress).
std::vector<std::wstring_view> wrap(std::wstring_view line, int cols) {
  std::vector<std::wstring_view> rows;
  std::size_t start = 0;
  int width = 0;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const int w = columns(line[i]);
    if (width + w > cols && i > start) {
      rows.push_back(line.substr(start, i - start));
      start = i;
      width = 0;
    }
    width += w;
  }
  rows.push_back(line.substr(start));
  return rows;
}

}  // namespace

struct terminal_view::impl {
  impl(asio::io_context& io, std::string server_text, std::string room_name, std::string user_name, bool is_host)
      : server(std::move(server_text)),
        room(std::move(room_name)),
        user(std::move(user_name)),
        host(is_host),
        keys(io),
        resize(io, SIGWINCH) {}

  ~impl() { end_curses(); }

  bool open() {
    screen = newterm(nullptr, stdout, stdin);
    if (screen == nullptr) return false;
    curses_active = true;
    previous_terminate = std::set_terminate(end_curses_and_terminate);
    cbreak();  // keys at once; Ctrl-C still raises SIGINT, which the session handles
    noecho();
    nonl();
    keypad(stdscr, TRUE);
    nodelay(stdscr, TRUE);
    set_escdelay(25);
    curs_set(1);
    add(notice_lines(clock_text(std::chrono::system_clock::now()), "waiting for the server to answer on UDP..."));
    redraw();
    return true;
  }

  void end_curses() {
    if (screen == nullptr) return;
    boost::system::error_code ignored;
    resize.cancel(ignored);
    keys.cancel(ignored);
    keys.close(ignored);
    curses_active = false;
    endwin();
    delscreen(screen);
    screen = nullptr;
    std::set_terminate(previous_terminate);
  }

  void start(input_sink& s) {
    sink = &s;
    // A duplicate, because closing the descriptor must not close ncurses' fd 0.
    const int fd = ::dup(STDIN_FILENO);
    boost::system::error_code ec;
    if (fd >= 0) keys.assign(fd, ec);
    if (fd >= 0 && !ec) wait_for_keys();
    wait_for_resize();
  }

  // --- the message pane -------------------------------------------------------------------

  void add(const std::vector<std::string>& lines) {
    if (screen == nullptr) return;
    for (const std::string& line : lines) {
      history.push_back(to_wide(line));
      // Someone reading back keeps the same lines in view while new ones arrive below.
      if (scroll > 0) scroll += wrap(history.back(), COLS).size();
    }
    while (history.size() > history_limit) history.pop_front();
    redraw();
  }

  int pane_rows() const { return std::max(0, LINES - 2); }

  void draw_pane() {
    const auto needed = static_cast<std::size_t>(pane_rows());
    std::vector<std::wstring_view> rows;  // newest first
    for (;;) {
      rows.clear();
      std::size_t skip = scroll;
      for (auto line = history.rbegin(); line != history.rend() && rows.size() < needed; ++line) {
        const auto wrapped = wrap(*line, COLS);
        for (auto row = wrapped.rbegin(); row != wrapped.rend() && rows.size() < needed; ++row) {
          if (skip > 0) {
            --skip;
          } else {
            rows.push_back(*row);
          }
        }
      }
      // Scrolled past the oldest line: come back until the pane is full or at the bottom.
      if (rows.size() < needed && scroll > 0) {
        scroll -= std::min(scroll, needed - rows.size());
        continue;
      }
      break;
    }
    int y = 0;
    for (auto row = rows.rbegin(); row != rows.rend(); ++row, ++y)
      mvaddnwstr(y, 0, row->data(), static_cast<int>(row->size()));
  }

  void draw_status() {
    if (LINES < 2) return;
    std::string text = " " + room + " | " + user + (host ? " (host)" : " (member)") + " | " + server;
    if (!connected) text += " | connecting...";
    if (connected) text += encrypted ? " | encrypted" : " | NOT encrypted";
    if (scroll > 0) text += " | more below: PageDown";
    std::wstring line = to_wide(neutralise(text));
    std::wstring cells;
    int width = 0;
    for (wchar_t c : line) {
      if (width + columns(c) > COLS) break;
      cells.push_back(c);
      width += columns(c);
    }
    cells.append(static_cast<std::size_t>(std::max(0, COLS - width)), L' ');
    attron(A_REVERSE);
    mvaddnwstr(LINES - 2, 0, cells.data(), static_cast<int>(cells.size()));
    attroff(A_REVERSE);
  }

  // Draws the input line, scrolled sideways so that the cursor stays visible. Returns the
  // cursor's column.
  int draw_input() {
    const int y = LINES - 1;
    const int room_for_text = std::max(1, COLS - static_cast<int>(prompt.size()) - 1);  // spare the last cell
    const std::u32string_view text = input.text();
    const std::size_t first = input.first_visible(room_for_text, code_point_columns);
    mvaddnwstr(y, 0, prompt.data(), static_cast<int>(prompt.size()));
    int x = static_cast<int>(prompt.size());
    int cursor_x = x;
    for (std::size_t i = first; i < text.size(); ++i) {
      const auto c = static_cast<wchar_t>(text[i]);
      if (x + columns(c) > COLS - 1) break;
      mvaddnwstr(y, x, &c, 1);
      x += columns(c);
      if (i + 1 == input.cursor()) cursor_x = x;
    }
    return cursor_x;
  }

  void redraw() {
    if (screen == nullptr) return;
    ::erase();
    draw_pane();
    draw_status();
    const int cursor_x = draw_input();
    ::move(LINES - 1, std::min(cursor_x, std::max(0, COLS - 1)));
    ::refresh();
  }

  // --- input ------------------------------------------------------------------------------

  void wait_for_keys() {
    keys.async_wait(asio::posix::descriptor_base::wait_read, [this](boost::system::error_code ec) {
      if (ec || screen == nullptr) return;
      read_keys();
      if (screen != nullptr) wait_for_keys();
    });
  }

  void read_keys() {
    wint_t ch = 0;
    int kind = 0;
    bool any = false;
    while (screen != nullptr && (kind = wget_wch(stdscr, &ch)) != ERR) {
      any = true;
      if (kind == KEY_CODE_YES) {
        on_key(ch);
      } else {
        on_char(ch);
      }
    }
    if (screen == nullptr) return;
    // fd 0 reads as ready yet yields nothing only when the terminal is gone (hang-up): leave
    // instead of spinning.
    idle_wakeups = any ? 0 : idle_wakeups + 1;
    if (idle_wakeups > 100 && sink != nullptr) return sink->end_of_input();
    redraw();
  }

  void on_char(wint_t c) {
    switch (c) {
      case L'\r':
      case L'\n': return submit();
      case 0x7F:
      case 0x08: return input.erase_before();
      case 0x04:  // Ctrl-D: leave on an empty line, delete under the cursor otherwise
        if (input.empty() && sink != nullptr) return sink->end_of_input();
        return input.erase_at();
      case 0x01: return input.home();            // Ctrl-A
      case 0x05: return input.end();             // Ctrl-E
      case 0x15: return input.kill_before();     // Ctrl-U
      case 0x0B: return input.kill_after();      // Ctrl-K
      case 0x0C: clearok(curscr, TRUE); return;  // Ctrl-L: repaint everything
      default: input.insert(static_cast<char32_t>(c)); return;
    }
  }

  void on_key(wint_t key) {
    const std::size_t page = static_cast<std::size_t>(std::max(1, pane_rows() - 1));
    switch (key) {
      case KEY_ENTER: return submit();
      case KEY_BACKSPACE: return input.erase_before();
      case KEY_DC: return input.erase_at();
      case KEY_LEFT: return input.left();
      case KEY_RIGHT: return input.right();
      case KEY_HOME: return input.home();
      case KEY_END: return input.end();
      case KEY_PPAGE: scroll += page; return;  // draw_pane() stops at the oldest line
      case KEY_NPAGE: scroll -= std::min(scroll, page); return;
      default: return;
    }
  }

  void submit() {
    if (sink == nullptr) return;
    // The session may end during this call (for /quit): touch nothing that needs curses after.
    if (sink->submit_line(input.utf8()) && screen != nullptr) {
      input.clear();
      scroll = 0;  // sending brings the newest lines back into view
    }
  }

  // ncurses' own SIGWINCH handler is not installed (asio's signal_set owns the signal), so the
  // new size is read here and given to ncurses.
  void wait_for_resize() {
    resize.async_wait([this](boost::system::error_code ec, int) {
      if (ec || screen == nullptr) return;
      winsize size{};
      if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_row > 0 && size.ws_col > 0)
        resize_term(size.ws_row, size.ws_col);
      redraw();
      wait_for_resize();
    });
  }

  std::string server;
  std::string room;
  std::string user;
  bool host = false;
  asio::posix::stream_descriptor keys;
  asio::signal_set resize;
  SCREEN* screen = nullptr;
  input_sink* sink = nullptr;
  bool connected = false;
  bool encrypted = false;
  std::deque<std::wstring> history;  // display lines, already neutralised
  std::size_t scroll = 0;            // screen rows scrolled back from the newest
  input_line input;
  unsigned idle_wakeups = 0;
};

terminal_view::terminal_view(asio::io_context& io, std::string server, std::string room, std::string user, bool host)
    : impl_(std::make_unique<impl>(io, std::move(server), std::move(room), std::move(user), host)) {}

terminal_view::~terminal_view() = default;

bool terminal_view::open() {
  return impl_->open();
}

void terminal_view::start(input_sink& sink) {
  impl_->start(sink);
}

void terminal_view::connected(const session_info& info) {
  impl_->connected = true;
  impl_->encrypted = info.encrypted;
  std::string text = "you are in " + info.room + " as " + info.user;
  text += info.host ? (info.created ? ", its host (you created it)" : ", its host") : "";
  text += info.encrypted ? "; the connection to the server is encrypted"
                         : "; NOT encrypted: anyone on the network can read and alter what you say";
  impl_->add(notice_lines(clock_text(std::chrono::system_clock::now()), text + ". /help lists the commands."));
}

void terminal_view::message(std::string_view from, std::string_view text, wall_time at) {
  impl_->add(message_lines(clock_text(at), from, text));
}

void terminal_view::own_message(std::string_view text, wall_time at) {
  impl_->add(message_lines(clock_text(at), impl_->user, text));
}

void terminal_view::notice(const libchat::notice& n, std::string_view, wall_time at) {
  const std::string text = describe_notice(n);
  if (!text.empty()) impl_->add(notice_lines(clock_text(at), text));
}

void terminal_view::info(std::string_view text) {
  impl_->add(notice_lines(clock_text(std::chrono::system_clock::now()), text));
}

void terminal_view::refused(std::string_view, std::string_view text) {
  info(text);
}

void terminal_view::closed(close_reason reason, std::string_view why) {
  impl_->end_curses();
  // The room ended under the user: what was said stays readable (and in the scrollback) on the
  // normal screen. Someone who left on purpose gets the terminal back as they had it.
  if (reason != close_reason::left) {
    for (const std::wstring& line : impl_->history) {
      std::string utf8;
      for (wchar_t c : line) append_utf8(utf8, static_cast<char32_t>(c));
      std::cout << utf8 << '\n';
    }
    std::cout.flush();
  }
  if (!why.empty()) std::cerr << "chat-client: " << neutralise(why) << '\n';
}

}  // namespace chat_cli
