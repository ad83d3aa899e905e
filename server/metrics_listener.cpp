#include "metrics_listener.hpp"

#include "metrics_text.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <array>
#include <optional>

namespace chat_server {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

struct metrics_listener::shared_state {
  render_function render;
  metrics_limits limits;
  std::atomic<std::size_t> open{0};
};

namespace {

constexpr std::chrono::milliseconds accept_backoff{50};
// After an answer that ends the connection, how long (and how much) we read what the client still
// sends, so that closing with unread bytes does not reset the connection and lose the answer.
constexpr std::chrono::milliseconds linger_time{1000};
constexpr std::size_t max_lingered_bytes = 64u << 10;

using request = http::request<http::empty_body>;
using response = http::response<http::string_body>;

response plain_answer(http::status status, unsigned version, std::string text) {
  response r{status, version};
  r.set(http::field::content_type, "text/plain; charset=utf-8");
  r.body() = std::move(text);
  r.prepare_payload();
  return r;
}

// The whole of what the endpoint serves: /metrics to GET and HEAD, 404 and 405 otherwise.
response answer(const request& req, const metrics_listener::render_function& render) {
  auto path = req.target();
  if (const auto query = path.find('?'); query != beast::string_view::npos) path = path.substr(0, query);
  if (path != "/metrics") return plain_answer(http::status::not_found, req.version(), "not found; try /metrics\n");
  if (req.method() != http::verb::get && req.method() != http::verb::head) {
    auto r = plain_answer(http::status::method_not_allowed, req.version(), "only GET and HEAD\n");
    r.set(http::field::allow, "GET, HEAD");
    return r;
  }
  std::string text = render();
  response r{http::status::ok, req.version()};
  r.set(http::field::content_type, std::string(metrics_content_type));
  if (req.method() == http::verb::head) {
    r.content_length(text.size());
  } else {
    r.body() = std::move(text);
    r.prepare_payload();
  }
  return r;
}

// What a request the parser gave up on is answered with.
http::status refusal_for(const boost::system::error_code& ec) {
  if (ec == http::error::header_limit || ec == http::error::buffer_overflow) {
    return http::status::request_header_fields_too_large;
  }
  if (ec == http::error::body_limit || ec == http::error::unexpected_body) return http::status::payload_too_large;
  return http::status::bad_request;
}

bool is_parse_error(const boost::system::error_code& ec) {
  return ec.category() == make_error_code(http::error::bad_method).category();
}

class metrics_connection : public std::enable_shared_from_this<metrics_connection> {
 public:
  metrics_connection(std::shared_ptr<metrics_listener::shared_state> shared, tcp::socket socket)
      : shared_(std::move(shared)), stream_(std::move(socket)), buffer_(shared_->limits.max_request_bytes) {
    shared_->open.fetch_add(1, std::memory_order_relaxed);
  }
  ~metrics_connection() { shared_->open.fetch_sub(1, std::memory_order_relaxed); }

  void start() {
    asio::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->read_request(); });
  }

 private:
  void read_request() {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(shared_->limits.max_request_bytes));
    parser_->body_limit(0);  // a scrape has no body; any body is refused before it is read
    // One deadline for the whole request, idle time before it included: a byte every few seconds
    // does not extend it.
    stream_.expires_after(shared_->limits.read_deadline);
    http::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](const boost::system::error_code& ec, std::size_t) { self->on_read(ec); });
  }

  void on_read(const boost::system::error_code& ec) {
    if (ec == http::error::end_of_stream) return close();  // closed between requests: a normal end
    if (ec && is_parse_error(ec)) {
      response_ = plain_answer(refusal_for(ec), 11, "request refused\n");
      response_.keep_alive(false);
      return write();
    }
    if (ec) return close();  // the deadline passed (Beast closed the socket), or a reset
    ++served_;
    const request& req = parser_->get();
    response_ = answer(req, shared_->render);
    response_.keep_alive(parser_->keep_alive() && served_ < shared_->limits.max_requests_per_connection);
    write();
  }

  void write() {
    stream_.expires_after(shared_->limits.write_deadline);
    http::async_write(stream_, response_,
                      [self = shared_from_this()](const boost::system::error_code& ec, std::size_t) {
                        if (ec) return self->close();
                        if (!self->response_.keep_alive()) return self->linger();
                        self->read_request();
                      });
  }

  void linger() {
    boost::system::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.expires_after(linger_time);
    discard();
  }

  void discard() {
    stream_.async_read_some(asio::buffer(discard_),
                            [self = shared_from_this()](const boost::system::error_code& ec, std::size_t n) {
                              self->lingered_ += n;
                              if (!ec && self->lingered_ < max_lingered_bytes) return self->discard();
                              self->close();
                            });
  }

  void close() {
    stream_.cancel();
    stream_.close();
  }

  std::shared_ptr<metrics_listener::shared_state> shared_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;  // its limit bounds what a request can make us hold
  std::optional<http::request_parser<http::empty_body>> parser_;
  response response_;
  unsigned served_ = 0;
  std::array<char, 1024> discard_{};
  std::size_t lingered_ = 0;
};

}  // namespace

metrics_listener::metrics_listener(asio::io_context& io, const tcp::endpoint& bind, render_function render,
                                   const metrics_limits& limits)
    : io_(io),
      shared_(std::make_shared<shared_state>()),
      acceptor_(asio::make_strand(io)),
      backoff_(acceptor_.get_executor()) {
  shared_->render = std::move(render);
  shared_->limits = limits;
  acceptor_.open(bind.protocol());
  if (bind.address().is_v6()) acceptor_.set_option(asio::ip::v6_only(false));
  acceptor_.set_option(asio::socket_base::reuse_address(true));
  acceptor_.bind(bind);
  acceptor_.listen(asio::socket_base::max_listen_connections);
}

metrics_listener::~metrics_listener() = default;

void metrics_listener::start() {
  accept();
}

void metrics_listener::stop() {
  // The acceptor lives on its strand; closing it from another thread would race its handler.
  asio::post(acceptor_.get_executor(), [this] {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    backoff_.cancel();
  });
}

void metrics_listener::accept() {
  acceptor_.async_accept(asio::make_strand(io_), [this](const boost::system::error_code& ec, tcp::socket socket) {
    on_accept(ec, std::move(socket));
  });
}

void metrics_listener::on_accept(const boost::system::error_code& ec, tcp::socket socket) {
  if (!acceptor_.is_open() || ec == asio::error::operation_aborted) return;
  if (ec) {
    if (ec == asio::error::no_descriptors || ec.value() == ENFILE || ec == asio::error::no_buffer_space ||
        ec == asio::error::no_memory) {
      // Out of file descriptors: pause instead of spinning on the same error.
      backoff_.expires_after(accept_backoff);
      backoff_.async_wait([this](const boost::system::error_code& e) {
        if (!e) accept();
      });
      return;
    }
    return accept();  // e.g. the client reset before we took it
  }
  if (shared_->open.load(std::memory_order_relaxed) >= shared_->limits.max_connections) {
    boost::system::error_code ignored;
    socket.close(ignored);  // over the cap: no reply, no read, nothing held
  } else {
    std::make_shared<metrics_connection>(shared_, std::move(socket))->start();
  }
  accept();
}

}  // namespace chat_server
