#include "detail/flat_json.hpp"

#include <boost/json/basic_parser_impl.hpp>

namespace libchat::detail {
namespace {

namespace json = boost::json;
using boost::system::error_code;

// Requests are flat; a little nesting is allowed so that unknown keys can carry small structures.
constexpr std::size_t max_json_depth = 8;

struct flat_handler {
  static constexpr std::size_t max_object_size = std::size_t(-1);
  static constexpr std::size_t max_array_size = std::size_t(-1);
  static constexpr std::size_t max_key_size = std::size_t(-1);
  static constexpr std::size_t max_string_size = std::size_t(-1);

  flat_object result;
  std::size_t depth = 0;
  std::string key;
  std::string text;
  // The array at depth 1 being read, while every element so far is a string.
  json_strings* strings = nullptr;

  bool fail(error_code& ec, errc e) {
    ec = make_error_code(e);
    return false;
  }
  // A value at depth 1 belongs to the current key; a value at depth 0 means the document is not
  // an object.
  bool put(json_scalar value, error_code& ec) {
    if (depth == 0) return fail(ec, errc::not_an_object);
    if (depth == 1) result.fields.push_back({std::move(key), std::move(value)});
    if (depth == 2) not_only_strings();
    return true;
  }
  // The array being read holds something else than strings: it is kept as merely present.
  void not_only_strings() {
    if (strings == nullptr) return;
    strings = nullptr;
    result.fields.back().value = json_nested{};
  }

  bool on_document_begin(error_code&) { return true; }
  bool on_document_end(error_code&) { return true; }
  bool on_object_begin(error_code& ec) {
    if (depth == 1 && !put(json_nested{}, ec)) return false;
    if (depth == 2) not_only_strings();
    ++depth;
    return true;
  }
  bool on_object_end(std::size_t, error_code&) {
    --depth;
    return true;
  }
  bool on_array_begin(error_code& ec) {
    if (depth == 0) return fail(ec, errc::not_an_object);
    if (depth == 1) {
      if (!put(json_strings{}, ec)) return false;
      strings = &std::get<json_strings>(result.fields.back().value);
    }
    if (depth == 2) not_only_strings();
    ++depth;
    return true;
  }
  bool on_array_end(std::size_t, error_code&) {
    if (--depth == 1) strings = nullptr;
    return true;
  }
  bool on_key_part(json::string_view s, std::size_t, error_code&) {
    if (depth == 1) key.append(s.data(), s.size());
    return true;
  }
  bool on_key(json::string_view s, std::size_t, error_code& ec) {
    if (depth != 1) return true;
    key.append(s.data(), s.size());
    for (const auto& f : result.fields)
      if (f.key == key) return fail(ec, errc::duplicate_key);
    return true;
  }
  bool keeps_string() const noexcept { return depth <= 1 || (depth == 2 && strings != nullptr); }
  bool on_string_part(json::string_view s, std::size_t, error_code&) {
    if (keeps_string()) text.append(s.data(), s.size());
    return true;
  }
  bool on_string(json::string_view s, std::size_t, error_code& ec) {
    if (!keeps_string()) return true;
    text.append(s.data(), s.size());
    std::string value = std::move(text);
    text.clear();
    if (depth == 2) {
      strings->push_back(std::move(value));
      return true;
    }
    return put(std::move(value), ec);
  }
  bool on_number_part(json::string_view, error_code&) { return true; }
  bool on_int64(std::int64_t i, json::string_view, error_code& ec) { return put(i, ec); }
  bool on_uint64(std::uint64_t u, json::string_view, error_code& ec) { return put(u, ec); }
  bool on_double(double d, json::string_view, error_code& ec) { return put(d, ec); }
  bool on_bool(bool b, error_code& ec) { return put(b, ec); }
  bool on_null(error_code& ec) { return put(nullptr, ec); }
  bool on_comment_part(json::string_view, error_code&) { return true; }
  bool on_comment(json::string_view, error_code&) { return true; }
};

}  // namespace

const json_scalar* flat_object::find(std::string_view key) const noexcept {
  for (const auto& f : fields)
    if (f.key == key) return &f.value;
  return nullptr;
}

boost::system::result<std::optional<std::string_view>> flat_object::string_field(std::string_view key,
                                                                                 bool null_is_absent) const {
  const json_scalar* v = find(key);
  if (!v || (null_is_absent && std::holds_alternative<std::nullptr_t>(*v))) return std::nullopt;
  if (const auto* s = std::get_if<std::string>(v)) return std::string_view(*s);
  return make_error_code(errc::wrong_field_type);
}

boost::system::result<std::optional<std::int64_t>> flat_object::integer_field(std::string_view key,
                                                                              std::int64_t min,
                                                                              std::int64_t max) const {
  const json_scalar* v = find(key);
  if (!v) return std::nullopt;
  if (const auto* i = std::get_if<std::int64_t>(v); i && *i >= min && *i <= max) return *i;
  if (const auto* u = std::get_if<std::uint64_t>(v); u && max >= 0 && *u <= static_cast<std::uint64_t>(max) &&
                                                       static_cast<std::int64_t>(*u) >= min)
    return static_cast<std::int64_t>(*u);
  return make_error_code(errc::wrong_field_type);
}

boost::system::result<std::optional<bool>> flat_object::bool_field(std::string_view key) const {
  const json_scalar* v = find(key);
  if (!v) return std::nullopt;
  if (const auto* b = std::get_if<bool>(v)) return *b;
  // optional<bool> is constructible from error_code (explicitly), so say which side this is.
  return {boost::system::in_place_error, make_error_code(errc::wrong_field_type)};
}

boost::system::result<const json_strings*> flat_object::strings_field(std::string_view key) const {
  const json_scalar* v = find(key);
  if (!v) return nullptr;
  if (const auto* s = std::get_if<json_strings>(v)) return s;
  return make_error_code(errc::wrong_field_type);
}

boost::system::result<flat_object> parse_flat_object(std::string_view text) {
  json::parse_options options;
  options.max_depth = max_json_depth;
  json::basic_parser<flat_handler> parser(options);
  error_code ec;
  const std::size_t used = parser.write_some(false, text.data(), text.size(), ec);
  if (ec) {
    if (ec.category() == libchat_category()) return ec;
    return make_error_code(errc::invalid_json);
  }
  if (used != text.size() || !parser.done()) return make_error_code(errc::invalid_json);
  return std::move(parser.handler().result);
}

}  // namespace libchat::detail
