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

// A framed reply: "DDD-" / "DDD " lines of printable ASCII, each ending in CRLF, <= 512 octets.
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
        for (char c : line) {
            auto u = static_cast<unsigned char>(c);
            if (u < 0x20 || u >= 0x7f) return false;
        }
        w.remove_prefix(end + 2);
    }
    return true;
}

}  // namespace asmtpd::fuzz
