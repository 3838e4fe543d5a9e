// cidr.cpp - IP network parsing and matching (see cidr.hpp).
//
// inet_pton/inet_ntop are used because they are pure conversions (no resolver, no I/O) and
// stricter than anything hand-written here would be. Never accept a host name: a rule that
// silently resolved would make configuration depend on DNS at start-up.
#include "core/proto/cidr.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

namespace asmtpd::proto {
namespace {

constexpr unsigned kV4Offset = 96;   // IPv4 lives in the last 32 bits of ::ffff:0:0/96

// Strict decimal 0..999 without sign or spaces; leading zeros are tolerated ("/08").
std::optional<unsigned> parse_prefix(std::string_view s) {
    if (s.empty() || s.size() > 3) return std::nullopt;
    unsigned v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return std::nullopt;
        v = v * 10 + static_cast<unsigned>(c - '0');
    }
    return v;
}

IpAddress masked(IpAddress a, unsigned prefix) {
    for (unsigned i = 0; i < 16; ++i) {
        unsigned bits_here = prefix > i * 8 ? std::min(8u, prefix - i * 8) : 0;
        auto mask = static_cast<std::uint8_t>(bits_here == 0 ? 0 : (0xffu << (8 - bits_here)) & 0xffu);
        a.bytes[i] &= mask;
    }
    return a;
}

}  // namespace

bool IpAddress::is_v4() const {
    for (int i = 0; i < 10; ++i)
        if (bytes[i] != 0) return false;
    return bytes[10] == 0xff && bytes[11] == 0xff;
}

std::string IpAddress::to_string() const {
    if (is_v4()) {
        // By hand: glibc's inet_ntop formats IPv4 with sprintf, and the state plugins name
        // every key after the client's address (bench load (m)).
        std::string out;
        out.reserve(15);
        for (int i = 12; i < 16; ++i) {
            if (i > 12) out += '.';
            const unsigned v = bytes[i];
            if (v >= 100) out += static_cast<char>('0' + v / 100);
            if (v >= 10) out += static_cast<char>('0' + v / 10 % 10);
            out += static_cast<char>('0' + v % 10);
        }
        return out;
    }
    char buf[INET6_ADDRSTRLEN] = {};
    inet_ntop(AF_INET6, bytes.data(), buf, sizeof buf);
    return buf;
}

std::optional<IpAddress> parse_ip(std::string_view text) {
    // Longest IPv6 text plus a generous zone; anything longer is no address.
    if (text.empty() || text.size() > 80) return std::nullopt;
    bool v6 = text.find(':') != std::string_view::npos;
    if (auto pct = text.find('%'); pct != std::string_view::npos) {
        if (!v6 || pct + 1 == text.size()) return std::nullopt;
        text = text.substr(0, pct);
    }
    if (std::memchr(text.data(), '\0', text.size())) return std::nullopt;   // "1.2.3.4\0junk"
    char buf[81];
    std::memcpy(buf, text.data(), text.size());
    buf[text.size()] = '\0';

    IpAddress out;
    if (v6) {
        if (inet_pton(AF_INET6, buf, out.bytes.data()) != 1) return std::nullopt;
    } else {
        out.bytes[10] = out.bytes[11] = 0xff;
        if (inet_pton(AF_INET, buf, out.bytes.data() + 12) != 1) return std::nullopt;
    }
    return out;
}

bool Cidr::contains(const IpAddress& ip) const { return masked(ip, prefix) == network; }

bool Cidr::contains(std::string_view ip) const {
    auto a = parse_ip(ip);
    return a && contains(*a);
}

std::string Cidr::to_string() const {
    unsigned shown = network.is_v4() && prefix >= kV4Offset ? prefix - kV4Offset : prefix;
    return network.to_string() + "/" + std::to_string(shown);
}

std::optional<Cidr> parse_cidr(std::string_view text) {
    std::string_view addr = text, len;
    if (auto slash = text.find('/'); slash != std::string_view::npos) {
        addr = text.substr(0, slash);
        len = text.substr(slash + 1);
        if (len.empty()) return std::nullopt;
    }
    auto ip = parse_ip(addr);
    if (!ip) return std::nullopt;
    // The family is that of the text: "::ffff:1.2.3.4/120" is an IPv6 prefix.
    bool v4_text = addr.find(':') == std::string_view::npos;
    unsigned max = v4_text ? 32 : 128;
    unsigned prefix = max;
    if (!len.empty()) {
        auto p = parse_prefix(len);
        if (!p || *p > max) return std::nullopt;
        prefix = *p;
    }
    if (v4_text) prefix += kV4Offset;
    return Cidr{masked(*ip, prefix), prefix};
}

CidrList CidrList::parse(const std::vector<std::string>& texts, std::vector<std::string>* bad) {
    CidrList list;
    for (const auto& t : texts) {
        if (auto c = parse_cidr(t)) {
            list.add(*c);
        } else if (bad) {
            bad->push_back(t);
        }
    }
    return list;
}

bool CidrList::matches(const IpAddress& ip) const {
    return std::any_of(nets_.begin(), nets_.end(), [&](const Cidr& c) { return c.contains(ip); });
}

bool CidrList::matches(std::string_view ip) const {
    auto a = parse_ip(ip);
    return a && matches(*a);
}

}  // namespace asmtpd::proto
