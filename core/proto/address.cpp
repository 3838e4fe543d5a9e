// address.cpp - anchored RFC 5321 path parser (grammar in address.hpp) and canonical formatting.
//
// Every address a plugin, spool file or qmail-queue envelope ever sees came through here, so
// the parser must refuse rather than guess: the whole input must match the grammar, controls
// are refused everywhere (even quoted), 8-bit only with SMTPUTF8 and then only valid UTF-8.
// format() re-quotes the local part so that parse_path(format(a)) == a for every parsed a.
// Pure: no I/O, no logging.
#include "core/proto/address.hpp"

#include "core/proto/text.hpp"

namespace asmtpd::proto {

namespace {

constexpr std::size_t kMaxPath = 256;    // including "<" and ">" (RFC 5321 §4.5.3.1.3)
constexpr std::size_t kMaxLocal = 64;    // as sent, quotes included (§4.5.3.1.1)
constexpr std::size_t kMaxDomain = 255;  // §4.5.3.1.2
constexpr std::size_t kMaxLabel = 63;    // RFC 1035, for ASCII labels

Reply syntax_error(const AddressRules& rules) {
    return rules.recipient ? Reply::make(501, "5.1.3", "Bad recipient address syntax")
                           : Reply::make(501, "5.1.7", "Bad sender address syntax");
}

bool is_atext(char c, bool utf8) {
    if (is_alnum(c)) return true;
    if (is_8bit(c)) return utf8;  // UTF-8 validity was checked on the whole path already
    switch (c) {
        case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+':
        case '-': case '/': case '=': case '?': case '^': case '_': case '`': case '{':
        case '|': case '}': case '~':
            return true;
        default:
            return false;
    }
}

bool is_dot_string(std::string_view s, bool utf8) {
    if (s.empty()) return false;
    bool atom_empty = true;
    for (char c : s) {
        if (c == '.') {
            if (atom_empty) return false;
            atom_empty = true;
        } else if (is_atext(c, utf8)) {
            atom_empty = false;
        } else {
            return false;
        }
    }
    return !atom_empty;
}

// Let-dig / Ldh-str; 8-bit bytes count as letters of a U-label when SMTPUTF8 is on.
bool is_let_dig(char c, bool utf8) { return is_alnum(c) || (utf8 && is_8bit(c)); }

// Domain = sub-domain *("." sub-domain); sub-domain = Let-dig [Ldh-str]
bool is_domain(std::string_view s, bool utf8) {
    if (s.empty()) return false;
    std::size_t start = 0;
    while (true) {
        auto dot = s.find('.', start);
        std::string_view label = s.substr(start, dot == std::string_view::npos ? s.npos : dot - start);
        if (label.empty()) return false;
        if (!is_let_dig(label.front(), utf8) || !is_let_dig(label.back(), utf8)) return false;
        bool ascii = true;
        for (char c : label) {
            if (!is_let_dig(c, utf8) && c != '-') return false;
            if (is_8bit(c)) ascii = false;
        }
        if (ascii && label.size() > kMaxLabel) return false;
        if (dot == std::string_view::npos) return true;
        start = dot + 1;
    }
}

// Snum 3("." Snum), Snum = 1*3DIGIT with a value of 0..255
bool is_ipv4(std::string_view s) {
    int parts = 0;
    std::size_t i = 0;
    while (true) {
        std::size_t digits = 0;
        int value = 0;
        while (i < s.size() && is_digit(s[i]) && digits < 4) {
            value = value * 10 + (s[i] - '0');
            ++i;
            ++digits;
        }
        if (digits == 0 || digits > 3 || value > 255) return false;
        ++parts;
        if (i == s.size()) return parts == 4;
        if (s[i] != '.' || parts == 4) return false;
        ++i;
    }
}

// One side of an IPv6 address around "::": groups of 1..4 hex digits separated by ":",
// the last of which may be an IPv4 address (counted as two groups) when v4_ok.
bool ipv6_side(std::string_view s, bool v4_ok, int& groups) {
    groups = 0;
    if (s.empty()) return true;
    std::size_t start = 0;
    while (true) {
        auto colon = s.find(':', start);
        std::string_view g = s.substr(start, colon == std::string_view::npos ? s.npos : colon - start);
        if (colon == std::string_view::npos && v4_ok && g.find('.') != std::string_view::npos) {
            if (!is_ipv4(g)) return false;
            groups += 2;
            return true;
        }
        if (g.empty() || g.size() > 4) return false;
        for (char c : g) {
            if (!is_hex(c)) return false;
        }
        ++groups;
        if (colon == std::string_view::npos) return true;
        start = colon + 1;
    }
}

// RFC 5321 IPv6-addr (full, compressed, and both with an IPv4 tail), inet_pton's rules.
bool is_ipv6(std::string_view s) {
    auto dbl = s.find("::");
    int left = 0, right = 0;
    if (dbl == std::string_view::npos) return ipv6_side(s, true, left) && left == 8;
    if (s.find("::", dbl + 1) != std::string_view::npos) return false;
    return ipv6_side(s.substr(0, dbl), false, left) && ipv6_side(s.substr(dbl + 2), true, right) &&
           left + right <= 7;
}

// address-literal = "[" ( IPv4 / "IPv6:" IPv6 / Standardized-tag ":" 1*dcontent ) "]"
bool is_address_literal(std::string_view s) {
    if (s.size() < 3 || s.front() != '[' || s.back() != ']') return false;
    std::string_view in = s.substr(1, s.size() - 2);
    for (char c : in) {
        // dcontent = %d33-90 / %d94-126 (no "[", "\", "]", no space, no 8-bit)
        auto u = static_cast<unsigned char>(c);
        if (u < 33 || u > 126 || c == '[' || c == '\\' || c == ']') return false;
    }
    if (istarts_with(in, "IPv6:")) return is_ipv6(in.substr(5));
    if (!in.empty() && is_digit(in.front()) && in.find(':') == std::string_view::npos) {
        return is_ipv4(in);
    }
    auto colon = in.find(':');
    if (colon == std::string_view::npos || colon == 0 || colon + 1 == in.size()) return false;
    std::string_view tag = in.substr(0, colon);
    if (!is_alnum(tag.back())) return false;
    for (char c : tag) {
        if (!is_alnum(c) && c != '-') return false;
    }
    return true;
}

// Quoted-string = DQUOTE *( qtextSMTP / quoted-pairSMTP ) DQUOTE, starting at s[pos] == '"'.
// On success pos is past the closing quote and `out` holds the unescaped content.
bool parse_quoted(std::string_view s, std::size_t& pos, std::string& out, bool utf8) {
    ++pos;
    while (pos < s.size()) {
        char c = s[pos];
        if (c == '"') {
            ++pos;
            return true;
        }
        if (c == '\\') {
            if (pos + 1 >= s.size()) return false;
            char q = s[pos + 1];
            auto u = static_cast<unsigned char>(q);
            if (u < 32 || u > 126) return false;  // quoted-pairSMTP = "\" %d32-126
            out += q;
            pos += 2;
            continue;
        }
        auto u = static_cast<unsigned char>(c);
        // qtextSMTP = %d32-33 / %d35-91 / %d93-126, plus UTF-8 under SMTPUTF8
        if (u >= 0x80 ? !utf8 : (u < 32 || u > 126)) return false;
        out += c;
        ++pos;
    }
    return false;
}

// A-d-l = At-domain *( "," At-domain ) ":" ; consumed and ignored (RFC 5321 §4.1.2, C.)
bool skip_source_route(std::string_view s, std::size_t& pos, bool utf8) {
    while (true) {
        if (pos >= s.size() || s[pos] != '@') return false;
        ++pos;
        auto end = s.find_first_of(",:", pos);
        if (end == std::string_view::npos) return false;
        if (!is_domain(s.substr(pos, end - pos), utf8)) return false;
        pos = end + 1;
        if (s[end] == ':') return true;
    }
}

Reply too_long(std::string_view what) { return Reply::make(501, "5.5.2", std::string(what) + " too long"); }

std::string quote_local(std::string_view local) {
    if (is_dot_string(local, true)) return std::string(local);
    std::string q = "\"";
    for (char c : local) {
        if (c == '"' || c == '\\') q += '\\';
        q += c;
    }
    q += '"';
    return q;
}

}  // namespace

Expected<Address> parse_path(std::string_view path, const AddressRules& rules) {
    if (path.size() < 2 || path.front() != '<' || path.back() != '>') return syntax_error(rules);
    for (char c : path) {
        if (is_ctl(c)) return syntax_error(rules);
    }
    if (has_8bit(path)) {
        if (!rules.allow_utf8) {
            return Reply::make(553, "5.6.7", "Non-ASCII address requires SMTPUTF8");
        }
        if (!valid_utf8(path)) return Reply::make(501, "5.5.2", "Invalid UTF-8 in address");
    }
    if (path.size() > kMaxPath) return too_long("Path");

    const std::string_view in = path.substr(1, path.size() - 2);
    const bool utf8 = rules.allow_utf8;
    if (in.empty()) {
        if (rules.allow_null) return Address{};
        return syntax_error(rules);
    }
    if (rules.allow_bare_postmaster && iequals(in, "postmaster")) {
        return Address{"postmaster", ""};
    }

    std::size_t pos = 0;
    if (in.front() == '@' && !skip_source_route(in, pos, utf8)) return syntax_error(rules);

    Address a;
    const std::size_t local_start = pos;
    if (pos < in.size() && in[pos] == '"') {
        if (!parse_quoted(in, pos, a.local, utf8)) return syntax_error(rules);
    } else {
        auto at = in.find('@', pos);
        if (at == std::string_view::npos) return syntax_error(rules);
        std::string_view dot = in.substr(pos, at - pos);
        if (!is_dot_string(dot, utf8)) return syntax_error(rules);
        a.local = std::string(dot);
        pos = at;
    }
    const std::size_t local_len = pos - local_start;
    if (pos >= in.size() || in[pos] != '@') return syntax_error(rules);
    ++pos;

    std::string_view domain = in.substr(pos);
    const bool ok = !domain.empty() && domain.front() == '[' ? is_address_literal(domain)
                                                             : is_domain(domain, utf8);
    if (!ok) return syntax_error(rules);
    if (local_len > kMaxLocal) return too_long("Local part");
    if (domain.size() > kMaxDomain) return too_long("Domain");
    a.domain = std::string(domain);
    return a;
}

std::string Address::format() const {
    if (is_null()) return "<>";
    return "<" + bare() + ">";
}

std::string Address::bare() const {
    if (is_null()) return {};
    if (domain.empty()) return quote_local(local);
    return quote_local(local) + "@" + domain;
}

std::string Address::domain_lower() const { return to_lower(domain); }

}  // namespace asmtpd::proto
