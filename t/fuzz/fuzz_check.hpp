// fuzz_check.hpp - the one assertion the libFuzzer targets use: an invariant violation must
// crash loudly (abort with the failed expression), whatever NDEBUG says.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string_view>

#define FUZZ_CHECK(cond)                                                               \
    do {                                                                               \
        if (!(cond)) {                                                                 \
            std::fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
            std::abort();                                                              \
        }                                                                              \
    } while (0)

namespace asmtpd::fuzz {

inline bool has_ctl(std::string_view s) {
    for (char c : s) {
        auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7f) return true;
    }
    return false;
}

// True when `s` has no control characters and every byte over 0x7f belongs to a well-formed
// UTF-8 character (decoded to its code point: shortest form, no surrogate, <= U+10FFFF).
inline bool printable_utf8(std::string_view s) {
    for (std::size_t i = 0; i < s.size();) {
        auto u = static_cast<unsigned char>(s[i]);
        if (u < 0x80) {
            if (u < 0x20 || u == 0x7f) return false;
            ++i;
            continue;
        }
        std::size_t n = u >= 0xf0 ? 4 : u >= 0xe0 ? 3 : u >= 0xc0 ? 2 : 0;
        if (n == 0 || u > 0xf4 || i + n > s.size()) return false;
        unsigned long cp = u & (0x7f >> n);
        for (std::size_t k = 1; k < n; ++k) {
            auto b = static_cast<unsigned char>(s[i + k]);
            if ((b & 0xc0) != 0x80) return false;
            cp = (cp << 6) | (b & 0x3f);
        }
        const unsigned long min = n == 2 ? 0x80 : n == 3 ? 0x800 : 0x10000;
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
        i += n;
    }
    return true;
}

// A framed reply: "DDD-" / "DDD " lines of printable text (ASCII or well-formed UTF-8), each
// ending in CRLF, <= 512 octets.
inline bool well_formed_wire(std::string_view w) {
    if (w.size() < 6) return false;
    while (!w.empty()) {
        auto end = w.find("\r\n");
        if (end == std::string_view::npos || end < 4 || end + 2 > 512) return false;
        std::string_view line = w.substr(0, end);
        for (int k = 0; k < 3; ++k) {
            if (line[k] < '0' || line[k] > '9') return false;
        }
        const bool last = end + 2 == w.size();
        if (line[3] != (last ? ' ' : '-')) return false;
        if (!printable_utf8(line)) return false;
        w.remove_prefix(end + 2);
    }
    return true;
}

}  // namespace asmtpd::fuzz
