// proxy_header.cpp - PROXY protocol v1/v2 parser (HAProxy's proxy-protocol.txt).
//
// Must never: read beyond `buffered`, accept a header it had to guess about, or turn an
// Error or Done into something else when more bytes arrive (every early check looks only at
// bytes that are already final). Pure; no allocation beyond the returned strings.
#include "core/proto/proxy_header.hpp"

#include <array>
#include <optional>

#include "core/proto/cidr.hpp"
#include "core/proto/text.hpp"

namespace asmtpd::proto {

namespace {

constexpr std::string_view kV1Prefix = "PROXY ";

ProxyParse error(std::string why) {
    ProxyParse p;
    p.status = ProxyParse::Status::Error;
    p.error = std::move(why);
    return p;
}

ProxyParse done(ProxyHeader h) {
    ProxyParse p;
    p.status = ProxyParse::Status::Done;
    p.header = std::move(h);
    return p;
}

ProxyParse need_more() { return ProxyParse{}; }

// Decimal 0..65535 without sign, spaces or leading zeros ("0" itself is fine).
std::optional<std::uint16_t> parse_port(std::string_view s) {
    if (s.empty() || s.size() > 5 || (s.size() > 1 && s[0] == '0')) return std::nullopt;
    unsigned v = 0;
    for (char c : s) {
        if (!is_digit(c)) return std::nullopt;
        v = v * 10 + static_cast<unsigned>(c - '0');
    }
    if (v > 65535) return std::nullopt;
    return static_cast<std::uint16_t>(v);
}

// Exactly four decimal numbers 0..255 joined by single dots, no leading zeros (they would
// read as octal elsewhere). Returns the text unchanged: it is already canonical.
bool strict_ipv4(std::string_view s) {
    int parts = 0;
    while (true) {
        std::size_t n = 0;
        while (n < s.size() && is_digit(s[n])) ++n;
        if (n == 0 || n > 3 || (n > 1 && s[0] == '0')) return false;
        unsigned v = 0;
        for (std::size_t i = 0; i < n; ++i) v = v * 10 + static_cast<unsigned>(s[i] - '0');
        if (v > 255) return false;
        ++parts;
        s.remove_prefix(n);
        if (s.empty()) return parts == 4;
        if (s[0] != '.' || parts == 4) return false;
        s.remove_prefix(1);
    }
}

// An IPv6 literal as inet_ntop would print it (hex groups, one "::", optional dotted tail);
// no zone, no brackets. Canonical text comes back (IPv4-mapped as IPv4).
std::optional<std::string> strict_ipv6(std::string_view s) {
    if (s.find(':') == std::string_view::npos) return std::nullopt;
    for (char c : s)
        if (!is_hex(c) && c != ':' && c != '.') return std::nullopt;
    auto ip = parse_ip(s);
    if (!ip) return std::nullopt;
    return ip->to_string();
}

// ---- v1 ----------------------------------------------------------------------------------------

ProxyParse parse_v1_line(std::string_view line, std::size_t consumed) {
    // line: without "PROXY " and without CRLF.
    ProxyHeader h;
    h.version = 1;
    h.consumed = consumed;
    if (line == "UNKNOWN" || line.substr(0, 8) == "UNKNOWN ") {
        h.local = true;   // the rest of an UNKNOWN line is ignored, as the spec says
        return done(h);
    }
    const bool v4 = line.substr(0, 5) == "TCP4 ";
    const bool v6 = line.substr(0, 5) == "TCP6 ";
    if (!v4 && !v6) return error("PROXY v1: protocol is not TCP4, TCP6 or UNKNOWN");
    line.remove_prefix(5);

    std::array<std::string_view, 4> f;
    for (std::size_t i = 0; i < f.size(); ++i) {
        std::size_t sp = line.find(' ');
        if (i + 1 < f.size()) {
            if (sp == std::string_view::npos) return error("PROXY v1: missing fields");
            f[i] = line.substr(0, sp);
            line.remove_prefix(sp + 1);
        } else {
            if (sp != std::string_view::npos) return error("PROXY v1: extra fields");
            f[i] = line;
        }
        if (f[i].empty()) return error("PROXY v1: empty field (two spaces in a row?)");
    }
    for (int i = 0; i < 2; ++i) {
        std::string_view a = f[static_cast<std::size_t>(i)];
        std::string& out = i == 0 ? h.src_ip : h.dst_ip;
        if (v4) {
            if (!strict_ipv4(a)) return error(std::string("PROXY v1: bad IPv4 ") + (i == 0 ? "source" : "destination"));
            out = std::string(a);
        } else {
            auto t = strict_ipv6(a);
            if (!t) return error(std::string("PROXY v1: bad IPv6 ") + (i == 0 ? "source" : "destination"));
            out = std::move(*t);
        }
    }
    auto sp = parse_port(f[2]);
    auto dp = parse_port(f[3]);
    if (!sp) return error("PROXY v1: bad source port");
    if (!dp) return error("PROXY v1: bad destination port");
    h.src_port = *sp;
    h.dst_port = *dp;
    return done(h);
}

ProxyParse parse_v1(std::string_view b) {
    const std::size_t n = std::min(b.size(), kV1Prefix.size());
    if (b.substr(0, n) != kV1Prefix.substr(0, n)) return error("not a PROXY protocol header");
    const std::size_t scan = std::min(b.size(), kProxyV1MaxSize);
    for (std::size_t i = 0; i < scan; ++i) {
        char c = b[i];
        if (c == '\n') {
            if (i == 0 || b[i - 1] != '\r') return error("PROXY v1: LF without CR");
            return parse_v1_line(b.substr(kV1Prefix.size(), i - 1 - kV1Prefix.size()), i + 1);
        }
        if (c == '\r') {
            // Judged only inside the window: a CR in the last allowed byte is a length error,
            // whatever follows, so a prefix and the whole input fail for the same reason.
            if (i + 1 < scan && b[i + 1] != '\n') return error("PROXY v1: CR without LF");
            continue;
        }
        if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e)
            return error("PROXY v1: control or 8-bit character");
    }
    if (b.size() >= kProxyV1MaxSize) return error("PROXY v1: no CRLF within 107 bytes");
    return need_more();
}

// ---- v2 ----------------------------------------------------------------------------------------

std::uint16_t be16(std::string_view b, std::size_t at) {
    return static_cast<std::uint16_t>((static_cast<unsigned char>(b[at]) << 8) | static_cast<unsigned char>(b[at + 1]));
}

std::string ip_text(const unsigned char* bytes, bool v4) {
    IpAddress a;
    if (v4) {
        a.bytes[10] = a.bytes[11] = 0xff;
        for (int i = 0; i < 4; ++i) a.bytes[static_cast<std::size_t>(12 + i)] = bytes[i];
    } else {
        for (std::size_t i = 0; i < 16; ++i) a.bytes[i] = bytes[i];
    }
    return a.to_string();
}

constexpr unsigned char kFamTcp4 = 0x11;
constexpr unsigned char kFamTcp6 = 0x21;

ProxyParse parse_v2(std::string_view b) {
    const std::size_t n = std::min(b.size(), kProxyV2Signature.size());
    if (b.substr(0, n) != kProxyV2Signature.substr(0, n)) return error("not a PROXY protocol header");
    if (b.size() < 13) return need_more();
    const auto ver_cmd = static_cast<unsigned char>(b[12]);
    if ((ver_cmd >> 4) != 2) return error("PROXY v2: version is not 2");
    const unsigned cmd = ver_cmd & 0x0f;
    if (cmd > 1) return error("PROXY v2: command is neither LOCAL nor PROXY");
    const bool local = cmd == 0;
    if (b.size() < 14) return need_more();
    const auto fam = static_cast<unsigned char>(b[13]);
    if (!local && fam != kFamTcp4 && fam != kFamTcp6)
        return error("PROXY v2: address family/transport is not TCP over IPv4 or IPv6");
    if (b.size() < 16) return need_more();
    const std::size_t len = be16(b, 14);
    const std::size_t total = 16 + len;
    if (total > kProxyV2MaxSize) return error("PROXY v2: header longer than 2048 bytes");
    const std::size_t addr_len = local ? 0 : (fam == kFamTcp4 ? 12 : 36);
    if (len < addr_len) return error("PROXY v2: address block too short for its family");
    if (b.size() < total) return need_more();

    ProxyHeader h;
    h.version = 2;
    h.consumed = total;
    if (local) {
        h.local = true;   // the block, family included, is ignored (spec 2.2)
        return done(h);
    }
    const auto* p = reinterpret_cast<const unsigned char*>(b.data()) + 16;
    const bool v4 = fam == kFamTcp4;
    const std::size_t alen = v4 ? 4 : 16;
    h.src_ip = ip_text(p, v4);
    h.dst_ip = ip_text(p + alen, v4);
    h.src_port = be16(b, 16 + 2 * alen);
    h.dst_port = be16(b, 16 + 2 * alen + 2);

    // TLVs: type(1) length(2) value; they must tile the rest exactly.
    std::size_t at = 16 + addr_len;
    while (at < total) {
        if (total - at < 3) return error("PROXY v2: truncated TLV header");
        const std::size_t vlen = be16(b, at + 1);
        if (total - at - 3 < vlen) return error("PROXY v2: TLV runs past the header");
        at += 3 + vlen;
    }
    return done(h);
}

}  // namespace

ProxyParse parse_proxy_header(std::string_view buffered) {
    if (buffered.empty()) return need_more();
    if (buffered[0] == 'P') return parse_v1(buffered);
    if (buffered[0] == '\r') return parse_v2(buffered);
    return error("not a PROXY protocol header");
}

}  // namespace asmtpd::proto
