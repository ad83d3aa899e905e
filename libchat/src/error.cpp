#include "libchat/error.hpp"

#include <array>
#include <string>

namespace libchat {
namespace {

struct errc_row {
  std::string_view name;
  error_layer layer;
  const char* message;
};

// Row i describes errc value i; row 0 is the unused none_.
constexpr std::array<errc_row, errc_count> errc_table{{
    {"unknown", error_layer::framing, "unknown libchat error"},
#define LIBCHAT_ERRC(layer, name, message) {#name, error_layer::layer, message},
#include "libchat/errors.def"
#undef LIBCHAT_ERRC
}};

const errc_row* row_of(errc e) noexcept {
  const auto i = static_cast<std::size_t>(e);
  return i > 0 && i < errc_table.size() ? &errc_table[i] : nullptr;
}

class category final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "libchat"; }

  std::string message(int value) const override {
    const errc_row* row = value > 0 && value < 256 ? row_of(static_cast<errc>(value)) : nullptr;
    return row ? row->message : "unknown libchat error";
  }
};

struct wire_row {
  std::string_view name;
  int status;
};

constexpr std::array wire_table{
#define LIBCHAT_TCRP_ERROR(name, status) wire_row{#name, status},
#include "libchat/tcrp_errors.def"
#undef LIBCHAT_TCRP_ERROR
};

const wire_row* row_of(tcrp_error e) noexcept {
  const auto i = static_cast<std::size_t>(e);
  return i < wire_table.size() ? &wire_table[i] : nullptr;
}

}  // namespace

const boost::system::error_category& libchat_category() noexcept {
  static const category instance;
  return instance;
}

std::string_view errc_name(errc e) noexcept {
  const errc_row* row = row_of(e);
  return row ? row->name : "unknown";
}

error_layer layer_of(errc e) noexcept {
  const errc_row* row = row_of(e);
  return row ? row->layer : error_layer::framing;
}

std::string_view wire_name(tcrp_error e) noexcept {
  const wire_row* row = row_of(e);
  return row ? row->name : "internal_error";
}

int http_status(tcrp_error e) noexcept {
  const wire_row* row = row_of(e);
  return row ? row->status : 500;
}

bool parse_wire_name(std::string_view name, tcrp_error& out) noexcept {
  for (std::size_t i = 0; i < wire_table.size(); ++i) {
    if (wire_table[i].name == name) {
      out = static_cast<tcrp_error>(i);
      return true;
    }
  }
  return false;
}


}  // namespace libchat
