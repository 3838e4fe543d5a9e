// cidr.hpp - IP networks ("10.0.0.0/8", "::1/128", "192.0.2.7") and matching a peer address.
//
// Pure: no I/O, no DNS, no logging; host names are never resolved. Every address is held as
// 16 IPv6 bytes, IPv4 as the IPv4-mapped form ::ffff:a.b.c.d with the prefix moved up by 96,
// so a client reaching a dual-stack listener as "::ffff:1.2.3.4" matches "1.2.3.0/24" rules
// (qpsmtpd #315 was exactly this bug). Host bits set under the mask are ignored (10.1.2.3/8
// means 10.0.0.0/8). A zone suffix ("fe80::1%eth0") is ignored when matching.
// Used by settings (bare_lf_normalize_from, trusted_proxies) and by plugins (hosts_allow, relay).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace asmtpd::proto {

// One address in the unified 16-byte form.
struct IpAddress {
    std::array<std::uint8_t, 16> bytes{};
    bool is_v4() const;   // IPv4-mapped (::ffff:0:0/96)
    // Canonical text: dotted quad for IPv4 (mapped or not), RFC 5952 form for IPv6.
    std::string to_string() const;
    bool operator==(const IpAddress&) const = default;
};

// "1.2.3.4", "::1", "::ffff:1.2.3.4", "fe80::1%eth0" (zone dropped). Nothing else: no
// brackets, no white space, no shorthand IPv4 ("10.1").
std::optional<IpAddress> parse_ip(std::string_view text);

struct Cidr {
    IpAddress network;        // host bits cleared
    unsigned prefix = 128;    // in the 16-byte space: an IPv4 /24 is stored as 120

    bool contains(const IpAddress& ip) const;
    bool contains(std::string_view ip) const;   // false for text that is no address
    // "10.0.0.0/8", "::1/128"; IPv4 networks are printed with their IPv4 prefix.
    std::string to_string() const;
    bool operator==(const Cidr&) const = default;
};

// "addr" (a single host) or "addr/len" with len 0..32 for IPv4, 0..128 for IPv6.
std::optional<Cidr> parse_cidr(std::string_view text);

// An ordered set of networks; matches if any contains the address.
class CidrList {
public:
    CidrList() = default;
    explicit CidrList(std::vector<Cidr> nets) : nets_(std::move(nets)) {}
    // Parses every entry; entries that fail are returned in `bad` (if given) and skipped.
    static CidrList parse(const std::vector<std::string>& texts, std::vector<std::string>* bad = nullptr);

    void add(const Cidr& c) { nets_.push_back(c); }
    bool matches(std::string_view ip) const;
    bool matches(const IpAddress& ip) const;
    bool empty() const { return nets_.empty(); }
    std::size_t size() const { return nets_.size(); }
    const std::vector<Cidr>& nets() const { return nets_; }

private:
    std::vector<Cidr> nets_;
};

}  // namespace asmtpd::proto
