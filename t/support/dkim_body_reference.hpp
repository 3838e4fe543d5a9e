// dkim_body_reference.hpp - RFC 6376 §3.4.3 / §3.4.4 body canonicalization written the plain
// way (whole body, split into lines, each rewritten), as the oracle that the streaming
// core/proto/dkim_body.cpp is held to by its unit test and its fuzz target. Slow on purpose:
// nothing in it is clever enough to share a bug with the fast one.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/proto/dkim_signature.hpp"

namespace asmtpd::test {

inline std::string reference_canonical_body(proto::dkim::Canon canon, std::string_view body) {
    std::vector<std::string> lines;   // only CRLF ends a line; a last line without one counts
    for (std::size_t pos = 0; pos < body.size();) {
        const auto end = body.find("\r\n", pos);
        if (end == std::string_view::npos) {
            lines.emplace_back(body.substr(pos));
            break;
        }
        lines.emplace_back(body.substr(pos, end - pos));
        pos = end + 2;
    }
    if (canon == proto::dkim::Canon::Relaxed) {
        for (auto& line : lines) {
            std::string squeezed;   // every WSP run becomes one SP ...
            for (char c : line) {
                const bool wsp = c == ' ' || c == '\t';
                if (wsp && !squeezed.empty() && squeezed.back() == ' ') continue;
                squeezed += wsp ? ' ' : c;
            }
            while (!squeezed.empty() && squeezed.back() == ' ') squeezed.pop_back();   // ... none at the end
            line = squeezed;
        }
    }
    while (!lines.empty() && lines.back().empty()) lines.pop_back();
    std::string out;
    for (const auto& line : lines) out += line + "\r\n";
    if (canon == proto::dkim::Canon::Simple && out.empty()) out = "\r\n";
    return out;
}

}  // namespace asmtpd::test
