// dkim_tags.cpp - RFC 6376 §3.2 tag-list parsing.
#include "core/proto/dkim_tags.hpp"

#include "core/proto/text.hpp"

namespace asmtpd::proto::dkim {

namespace {

constexpr bool is_wsp(char c) { return c == ' ' || c == '\t'; }

// Skips FWS (= [*WSP CRLF] 1*WSP, applied repeatedly) from `pos`; a CRLF not followed by WSP
// is left in place for the caller to refuse.
std::size_t skip_fws(std::string_view s, std::size_t pos) {
    for (;;) {
        while (pos < s.size() && is_wsp(s[pos])) ++pos;
        if (pos + 2 < s.size() && s[pos] == '\r' && s[pos + 1] == '\n' && is_wsp(s[pos + 2])) {
            pos += 2;
            continue;
        }
        return pos;
    }
}

bool is_name_char(char c) { return is_alnum(c) || c == '_'; }

// VALCHAR, plus 8-bit octets (RFC 8616).
bool is_value_char(char c) {
    auto u = static_cast<unsigned char>(c);
    return (u >= 0x21 && u <= 0x7e && c != ';') || u >= 0x80;
}

TagList fail(std::string why) {
    TagList out;
    out.error = std::move(why);
    return out;
}

}  // namespace

const Tag* TagList::find(std::string_view name) const {
    for (const auto& t : tags) {
        if (t.name == name) return &t;
    }
    return nullptr;
}

TagList parse_tag_list(std::string_view s) {
    TagList out;
    out.tags.reserve(16);   // a DKIM-Signature has about a dozen tags
    std::size_t pos = 0;
    for (;;) {
        pos = skip_fws(s, pos);
        if (pos == s.size()) {
            // Only a trailing ";" may be followed by nothing; the list itself is never empty.
            if (out.tags.empty()) return fail("empty tag list");
            return out;
        }
        const std::size_t name_start = pos;
        if (!is_alpha(s[pos])) return fail("tag name must start with a letter");
        while (pos < s.size() && is_name_char(s[pos])) ++pos;
        std::string_view name = s.substr(name_start, pos - name_start);
        pos = skip_fws(s, pos);
        if (pos == s.size() || s[pos] != '=') return fail("tag " + std::string(name) + " has no '='");
        ++pos;
        const std::size_t after_equals = pos;
        pos = skip_fws(s, pos);
        const std::size_t value_start = pos;
        std::size_t value_end = pos;   // just past the last tval character seen
        while (pos < s.size() && s[pos] != ';') {
            if (is_value_char(s[pos])) {
                while (++pos < s.size() && is_value_char(s[pos])) {
                }
                value_end = pos;
                continue;
            }
            const std::size_t next = skip_fws(s, pos);
            if (next == pos) return fail("tag " + std::string(name) + ": invalid character in value");
            pos = next;
        }
        for (const auto& t : out.tags) {
            if (t.name == name) return fail("tag " + std::string(name) + " given twice");
        }
        out.tags.push_back({name, s.substr(value_start, value_end - value_start), after_equals});
        if (pos == s.size()) return out;
        ++pos;   // ';'
        const std::size_t next = skip_fws(s, pos);
        if (next < s.size() && s[next] == ';') return fail("empty tag-spec");
    }
}

// Branch-free: b= values are folded every few dozen characters, and a per-character append
// was the larger part of parsing a signature on the loop (bench load (j)).
std::string strip_fws(std::string_view value) {
    std::string out(value.size(), '\0');
    char* o = out.data();
    for (char c : value) {
        *o = c;
        o += !(is_wsp(c) || c == '\r' || c == '\n');
    }
    out.resize(static_cast<std::size_t>(o - out.data()));
    return out;
}

}  // namespace asmtpd::proto::dkim
