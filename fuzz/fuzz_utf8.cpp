// fuzz_utf8: differential test of libchat's UTF-8 validator and naming rule.
//
// Input: any bytes. Oracles:
//   - libchat::is_valid_utf8 agrees with reference_valid_utf8 (fuzz/common.hpp, a decoder written
//     the textbook way) on the input and on each of its suffixes and prefixes cut by up to 7
//     bytes (the validator has an 8-byte ASCII fast path whose edges matter);
//   - libchat::check_name returns exactly what reference_check_name returns;
//   - where the bytes can sit inside a JSON string unescaped (no control byte, quote or
//     backslash), Boost.JSON's parser, which validates UTF-8 too, agrees as a third opinion.
#include "common.hpp"

#include "libchat/utf8.hpp"

#include <boost/json/parse.hpp>

#include <string>

namespace {

void compare_validators(libchat::byte_view text) {
  const bool ours = libchat::is_valid_utf8(text);
  const bool reference = fuzz::reference_valid_utf8(text);
  FUZZ_CHECK(ours == reference, "is_valid_utf8=" + std::to_string(ours) + " reference=" + std::to_string(reference) +
                                    " on " + fuzz::hex(text));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const libchat::byte_view input(data, size);

  compare_validators(input);
  for (std::size_t cut = 1; cut <= 7 && cut <= size; ++cut) {
    compare_validators(input.subspan(cut));
    compare_validators(input.first(size - cut));
  }

  const std::string_view name = libchat::as_text(input);
  const auto ours = libchat::check_name(name);
  const auto reference = fuzz::reference_check_name(name);
  FUZZ_CHECK(ours == reference, "check_name=" + fuzz::ec_text(ours) + " reference=" + fuzz::ec_text(reference) +
                                    " on " + fuzz::hex(input));

  bool json_safe = true;
  for (std::uint8_t b : input) json_safe = json_safe && b >= 0x20 && b != '"' && b != '\\';
  if (json_safe) {
    std::string quoted;
    quoted.reserve(size + 2);
    quoted += '"';
    quoted.append(name);
    quoted += '"';
    boost::system::error_code ec;
    (void)boost::json::parse(quoted, ec);
    FUZZ_CHECK(!ec == libchat::is_valid_utf8(input),
               "Boost.JSON says " + fuzz::ec_text(ec) + " on a string of " + fuzz::hex(input));
  }
  return 0;
}
