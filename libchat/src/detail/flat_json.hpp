// A strict reader for the flat JSON objects of the protocol's payloads. One pass over the text,
// no DOM: it keeps the top-level keys with their scalar values (and arrays of strings, which the
// members notice needs), rejects a key that appears twice, and skips (but still validates) other
// nested values, whose depth is capped. What it keeps is bounded by the text's size.
#pragma once

#include "libchat/error.hpp"

#include <boost/system/result.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace libchat::detail {

/// A nested object or array, kept only as "present" (unknown keys may hold anything).
struct json_nested {};
/// A top-level array whose elements are all strings (possibly none).
using json_strings = std::vector<std::string>;
using json_scalar =
    std::variant<std::nullptr_t, bool, std::int64_t, std::uint64_t, double, std::string, json_nested, json_strings>;

class flat_object {
 public:
  struct field {
    std::string key;
    json_scalar value;
  };

  const json_scalar* find(std::string_view key) const noexcept;

  /// A string field: nullopt when absent; wrong_field_type when present with another type
  /// (null counts as absent when null_is_absent).
  boost::system::result<std::optional<std::string_view>> string_field(std::string_view key,
                                                                      bool null_is_absent = false) const;
  /// An integer field in [min, max]: nullopt when absent; wrong_field_type otherwise.
  boost::system::result<std::optional<std::int64_t>> integer_field(std::string_view key, std::int64_t min,
                                                                   std::int64_t max) const;
  boost::system::result<std::optional<bool>> bool_field(std::string_view key) const;
  /// An array of strings: nullptr when absent; wrong_field_type when present with another type.
  boost::system::result<const json_strings*> strings_field(std::string_view key) const;

  std::vector<field> fields;
};

/// Parses `text` as one JSON object. Errors: invalid_json (syntax, invalid UTF-8, lone surrogate
/// escapes, too deep), not_an_object, duplicate_key.
boost::system::result<flat_object> parse_flat_object(std::string_view text);

}  // namespace libchat::detail
