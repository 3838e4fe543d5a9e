// from_domain.cpp - the author domain of a From field (see from_domain.hpp).
#include "core/proto/from_domain.hpp"

#include <vector>

#include "core/proto/text.hpp"

namespace asmtpd::proto {

namespace {

// The value with each comment replaced by a space (it separates what is around it: "ex(c)ample"
// is two words, not "example") and each quoted string by '""' (kept so a display name is not
// mistaken for an address). nullopt when a comment or quoted string is not closed.
std::optional<std::string> strip_comments_and_quotes(std::string_view v) {
    std::string out;
    out.reserve(v.size());
    std::size_t depth = 0;
    bool quoted = false;
    for (std::size_t i = 0; i < v.size(); ++i) {
        const char c = v[i];
        if (c == '\\' && (quoted || depth > 0)) {   // quoted-pair: the next byte is literal
            ++i;
            continue;
        }
        if (quoted) {
            if (c == '"') {
                quoted = false;
                out += '"';
            }
            continue;
        }
        if (c == '(') {
            ++depth;
        } else if (c == ')') {
            if (depth == 0) return std::nullopt;
            if (--depth == 0) out += ' ';
        } else if (depth == 0) {
            if (c == '"') quoted = true;
            out += c;   // the opening '"' (the closing one is added above)
        }
    }
    if (quoted || depth > 0) return std::nullopt;
    return out;
}

std::string_view trim(std::string_view s) {
    const auto b = s.find_first_not_of(" \t\r\n");
    if (b == std::string_view::npos) return {};
    return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

}  // namespace

bool valid_host_domain(std::string_view d) {
    if (d.empty() || d.size() > 253) return false;
    std::size_t label = 0;
    for (char c : d) {
        if (c == '.') {
            if (label == 0) return false;
            label = 0;
        } else if (is_alnum(c) || c == '-' || c == '_') {
            if (++label > 63) return false;
        } else {
            return false;
        }
    }
    return label > 0;
}

std::optional<std::string> from_domain(std::string_view value) {
    auto stripped = strip_comments_and_quotes(value);
    if (!stripped) return std::nullopt;
    std::string_view s = *stripped;
    // Several mailboxes or a group: a ',' or ':' or ';' outside quotes and comments (inside an
    // angle address only a route "@a,@b:" could have them, which we refuse too).
    if (s.find_first_of(",:;") != std::string_view::npos) return std::nullopt;
    std::string_view addr;
    if (auto open = s.find('<'); open != std::string_view::npos) {
        const auto close = s.find('>', open);
        if (close == std::string_view::npos || s.find('<', open + 1) != std::string_view::npos ||
            s.find('>', close + 1) != std::string_view::npos || !trim(s.substr(close + 1)).empty())
            return std::nullopt;
        addr = trim(s.substr(open + 1, close - open - 1));
    } else {
        if (s.find('>') != std::string_view::npos) return std::nullopt;
        addr = trim(s);
        // An addr-spec alone: no white space may split it (that would be a display name).
        if (addr.find_first_of(" \t\r\n") != std::string_view::npos) return std::nullopt;
    }
    const auto at = addr.rfind('@');
    if (at == std::string_view::npos || at == 0) return std::nullopt;
    std::string_view domain = trim(addr.substr(at + 1));
    if (!domain.empty() && domain.back() == '.') domain.remove_suffix(1);
    if (!valid_host_domain(domain)) return std::nullopt;
    return to_lower(domain);
}

}  // namespace asmtpd::proto
