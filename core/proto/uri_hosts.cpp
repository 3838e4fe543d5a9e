// uri_hosts.cpp - host names and IPv4 addresses in a text. See uri_hosts.hpp.
//
// Two scans over the de-obfuscated text, both single passes:
//   1. every ':' followed by '/' with 3..16 word characters before it starts a scheme URI; its
//      authority (to white space, '/', '?', '#', quotes or angle brackets) minus userinfo and
//      port is an address or a host;
//   2. every maximal run of [A-Za-z0-9.-] is a bare-domain candidate: the regex of qpsmtpd
//      ([a-zA-Z0-9][a-zA-Z0-9-.]+\.TLD(?!\w), greedy) matches from the run's first alphanumeric
//      to the rightmost '.' whose label is a known TLD and ends the run or stops at '.' or '-'.
//      Nothing to the right of that can match, so each run is read once.
#include "core/proto/uri_hosts.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <optional>
#include <set>

#include "core/proto/text.hpp"

namespace asmtpd::proto {

namespace {

constexpr std::array<std::string_view, 21> kGenericTlds = {
    "aero", "arpa", "asia", "biz",  "cat", "com", "coop", "edu", "gov", "info",  "int",
    "jobs", "mil",  "mobi", "museum", "name", "net", "org", "pro", "tel", "travel"};

bool is_word(char c) { return is_alnum(c) || c == '_'; }
bool is_host_char(char c) { return is_alnum(c) || c == '.' || c == '-'; }

bool known_tld(std::string_view label) {
    if (label.size() == 2) return is_alpha(label[0]) && is_alpha(label[1]);
    std::string l = to_lower(label);
    return std::find(kGenericTlds.begin(), kGenericTlds.end(), l) != kGenericTlds.end();
}

int hex_value(char c) {
    if (is_digit(c)) return c - '0';
    c = ascii_lower(c);
    return (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
}

// A plausible DNS name (see the header), lower-cased, final dot dropped; nullopt otherwise.
std::optional<std::string> clean_host(std::string_view h) {
    if (!h.empty() && h.back() == '.') h.remove_suffix(1);
    if (h.empty() || h.size() > 253) return std::nullopt;
    std::size_t labels = 0, start = 0;
    std::string_view last;
    while (start <= h.size()) {
        std::size_t dot = h.find('.', start);
        if (dot == std::string_view::npos) dot = h.size();
        std::string_view label = h.substr(start, dot - start);
        if (label.empty() || label.size() > 63) return std::nullopt;
        for (char c : label)
            if (!is_alnum(c) && c != '-' && c != '_') return std::nullopt;
        last = label;
        ++labels;
        start = dot + 1;
    }
    if (labels < 2 || last.size() < 2 || !std::all_of(last.begin(), last.end(), is_alpha)) return std::nullopt;
    return to_lower(h);
}

// One octet as qpsmtpd reads it: decimal, 0-prefixed octal, 0x-prefixed hex; at most 255.
std::optional<unsigned> octet(std::string_view s) {
    if (s.empty() || s.size() > 6) return std::nullopt;
    unsigned base = 10;
    if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s.remove_prefix(2);
    } else if (s.size() > 1 && s[0] == '0') {
        base = 8;
        s.remove_prefix(1);
    }
    unsigned v = 0;
    for (char c : s) {
        int d = hex_value(c);
        if (d < 0 || static_cast<unsigned>(d) >= base) return std::nullopt;
        v = v * base + static_cast<unsigned>(d);
    }
    if (v > 255) return std::nullopt;
    return v;
}

std::string dotted(const std::array<unsigned, 4>& o) {
    return std::to_string(o[0]) + "." + std::to_string(o[1]) + "." + std::to_string(o[2]) + "." + std::to_string(o[3]);
}

std::optional<std::string> address_of(std::string_view host) {
    if (host.size() >= 7 && host.size() <= 10 && std::all_of(host.begin(), host.end(), is_digit)) {
        std::uint64_t v = 0;
        for (char c : host) v = v * 10 + static_cast<unsigned>(c - '0');
        if (v > 0xffffffffu) return std::nullopt;
        return dotted({unsigned(v >> 24 & 0xff), unsigned(v >> 16 & 0xff), unsigned(v >> 8 & 0xff), unsigned(v & 0xff)});
    }
    std::array<unsigned, 4> o{};
    std::size_t start = 0;
    for (int i = 0; i < 4; ++i) {
        std::size_t dot = i < 3 ? host.find('.', start) : host.size();
        if (dot == std::string_view::npos) return std::nullopt;
        auto v = octet(host.substr(start, dot - start));
        if (!v) return std::nullopt;
        o[static_cast<std::size_t>(i)] = *v;
        start = dot + 1;
    }
    return dotted(o);
}

class Collector {
public:
    explicit Collector(std::size_t max) : max_(max) {}
    void host(std::string h) { add(std::move(h), out_.hosts); }
    void ip(std::string a) { add(std::move(a), out_.ipv4); }
    UriHosts take() { return std::move(out_); }

private:
    void add(std::string v, std::vector<std::string>& to) {
        if (seen_.count(v)) return;
        if (seen_.size() >= max_) {
            out_.truncated = true;
            return;
        }
        seen_.insert(v);
        to.push_back(std::move(v));
    }
    std::size_t max_;
    std::set<std::string> seen_;
    UriHosts out_;
};

void scan_schemes(std::string_view t, Collector& c) {
    for (std::size_t colon = t.find(":/"); colon != std::string_view::npos; colon = t.find(":/", colon + 1)) {
        std::size_t s = colon;
        while (s > 0 && colon - s < 16 && is_word(t[s - 1])) --s;
        if (colon - s < 3) continue;
        std::size_t a = colon + 1;
        while (a < t.size() && t[a] == '/') ++a;
        std::size_t e = a;
        while (e < t.size() && !std::isspace(static_cast<unsigned char>(t[e])) &&
               std::string_view("/?#\"'<>\\").find(t[e]) == std::string_view::npos)
            ++e;
        std::string_view auth = t.substr(a, e - a);
        if (auto at = auth.rfind('@'); at != std::string_view::npos) auth.remove_prefix(at + 1);
        if (auto port = auth.find(':'); port != std::string_view::npos) auth = auth.substr(0, port);
        if (auto ip = address_of(auth)) c.ip(std::move(*ip));
        else if (auto h = clean_host(auth)) c.host(std::move(*h));
    }
}

// The bare-domain match within run [b, e), or nothing.
void scan_run(std::string_view t, std::size_t b, std::size_t e, Collector& c) {
    while (b < e && !is_alnum(t[b])) ++b;
    // Dots from the right: the greedy regex takes the rightmost label that is a TLD.
    for (std::size_t d = e; d-- > b + 1;) {
        if (t[d] != '.') continue;
        std::size_t l = d + 1;
        while (l < e && is_alnum(t[l])) ++l;   // the label ends at '.', '-' or the run's end
        if (l == d + 1 || !known_tld(t.substr(d + 1, l - d - 1))) continue;
        if (l == e && l < t.size() && is_word(t[l])) continue;   // "(?!\w)": an '_' after the run
        if (auto h = clean_host(t.substr(b, l - b))) c.host(std::move(*h));
        return;
    }
}

void scan_bare(std::string_view t, Collector& c) {
    std::size_t i = 0;
    while (i < t.size()) {
        if (!is_host_char(t[i])) {
            ++i;
            continue;
        }
        std::size_t e = i;
        while (e < t.size() && is_host_char(t[e])) ++e;
        // A run glued to a word character on its left ("a_b.example.com") starts after it,
        // which the run already does: '_' is not a host character.
        scan_run(t, i, e, c);
        i = e;
    }
}

}  // namespace

std::string uri_unmunge(std::string_view t) {
    std::string out;
    out.reserve(t.size());
    for (std::size_t i = 0; i < t.size(); ++i) {
        char ch = t[i];
        if ((ch == '%' || ch == '=') && i + 2 < t.size() && hex_value(t[i + 1]) >= 0 && hex_value(t[i + 2]) >= 0) {
            out += static_cast<char>(hex_value(t[i + 1]) * 16 + hex_value(t[i + 2]));
            i += 2;
        } else if (ch == '&' && i + 3 < t.size() && t[i + 1] == '#' && is_digit(t[i + 2]) && is_digit(t[i + 3])) {
            std::size_t j = i + 2;
            unsigned v = 0;
            while (j < t.size() && j < i + 5 && is_digit(t[j])) v = v * 10 + static_cast<unsigned>(t[j++] - '0');
            if (j < t.size() && t[j] == ';') ++j;
            out += static_cast<char>(v & 0xff);   // Perl's chr() of 256..999 is not one byte; keep the low one
            i = j - 1;
        } else if (ch != ';') {
            out += ch;
        }
    }
    return out;
}

UriHosts find_uri_hosts(std::string_view text, std::size_t max_names) {
    const std::string t = uri_unmunge(text);
    Collector c(max_names);
    scan_schemes(t, c);
    scan_bare(t, c);
    return c.take();
}

std::string reversed_ipv4(std::string_view d) {
    std::string out;
    while (true) {
        std::size_t dot = d.rfind('.');
        if (!out.empty()) out += '.';
        if (dot == std::string_view::npos) return out += d;
        out += d.substr(dot + 1);
        d = d.substr(0, dot);
    }
}

}  // namespace asmtpd::proto
