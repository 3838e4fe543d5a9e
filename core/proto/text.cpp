// text.cpp - ASCII case helpers and the strict UTF-8 validator used by the proto parsers.
//
// Must stay total and allocation-light: these run on every byte of envelope input.
#include "core/proto/text.hpp"

#include <cstring>

namespace asmtpd::proto {

std::string to_lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = ascii_lower(c);
    return out;
}

std::string to_upper(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = ascii_upper(c);
    return out;
}

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
    }
    return true;
}

bool istarts_with(std::string_view s, std::string_view prefix) {
    return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

bool has_8bit(std::string_view s) {
    for (char c : s) {
        if (is_8bit(c)) return true;
    }
    return false;
}

bool valid_utf8(std::string_view s) {
    std::size_t i = 0;
    const std::size_t n = s.size();
    while (i < n) {
        auto b0 = static_cast<unsigned char>(s[i]);
        if (b0 < 0x80) {
            ++i;
            continue;
        }
        std::size_t len;
        char32_t cp;
        if (b0 >= 0xC2 && b0 <= 0xDF) {
            len = 2;
            cp = b0 & 0x1F;
        } else if (b0 >= 0xE0 && b0 <= 0xEF) {
            len = 3;
            cp = b0 & 0x0F;
        } else if (b0 >= 0xF0 && b0 <= 0xF4) {
            len = 4;
            cp = b0 & 0x07;
        } else {
            return false;  // continuation byte first, C0/C1 overlong lead, or > U+10FFFF lead
        }
        if (n - i < len) return false;
        for (std::size_t k = 1; k < len; ++k) {
            auto b = static_cast<unsigned char>(s[i + k]);
            if ((b & 0xC0) != 0x80) return false;
            cp = (cp << 6) | (b & 0x3F);
        }
        if (len == 3 && cp < 0x800) return false;               // overlong
        if (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) return false;
        if (cp >= 0xD800 && cp <= 0xDFFF) return false;         // surrogate
        if (cp >= 0x80 && cp <= 0x9F) return false;             // C1 control
        i += len;
    }
    return true;
}

std::size_t find_cr_or_lf(std::string_view s, std::size_t from) {
    if (from >= s.size()) return std::string_view::npos;
    const char* base = s.data();
    const std::size_t n = s.size();
    const void* lf = std::memchr(base + from, '\n', n - from);
    const std::size_t limit = lf ? static_cast<std::size_t>(static_cast<const char*>(lf) - base) : n;
    const void* cr = std::memchr(base + from, '\r', limit - from);
    if (cr) return static_cast<std::size_t>(static_cast<const char*>(cr) - base);
    return lf ? limit : std::string_view::npos;
}

}  // namespace asmtpd::proto
