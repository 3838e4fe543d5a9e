// text.hpp - small byte-level text helpers shared by the proto parsers (ASCII case, UTF-8).
//
// Locale-free on purpose: SMTP keywords and domains are ASCII case-insensitive, and <cctype>
// would make results depend on the process locale and on the signedness of char.
// Pure: no I/O, no logging, no allocation except the returned strings.
#pragma once

#include <string>
#include <string_view>

namespace asmtpd::proto {

constexpr bool is_digit(char c) { return c >= '0' && c <= '9'; }
constexpr bool is_alpha(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }
constexpr bool is_alnum(char c) { return is_alpha(c) || is_digit(c); }
constexpr bool is_hex(char c) {
    return is_digit(c) || (c >= 'A' && c <= 'F') || (c >= 'a' && c <= 'f');
}
constexpr bool is_8bit(char c) { return static_cast<unsigned char>(c) >= 0x80; }
// C0 controls and DEL: never allowed in envelope data (RELIABILITY P8).
constexpr bool is_ctl(char c) {
    auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
}
constexpr char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c; }
constexpr char ascii_upper(char c) { return (c >= 'a' && c <= 'z') ? char(c - 'a' + 'A') : c; }

// Position of the first CR or LF at or after `from`, or npos. Two memchr scans instead of
// std::string_view::find_first_of, which libstdc++ implements as a memchr call per byte (it
// was 63% of the CPU spent on 1 MB messages).
std::size_t find_cr_or_lf(std::string_view s, std::size_t from);

std::string to_lower(std::string_view s);
std::string to_upper(std::string_view s);
bool iequals(std::string_view a, std::string_view b);
bool istarts_with(std::string_view s, std::string_view prefix);
bool has_8bit(std::string_view s);

// Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing above U+10FFFF, and no
// C1 controls (U+0080..U+009F), which are as dangerous in envelope data as C0 controls.
bool valid_utf8(std::string_view s);

}  // namespace asmtpd::proto
