// ip_list.hpp - peer-address lists of qmail/qpsmtpd control files (relayclients,
// norelayclients, hosts_allow): a host ("192.0.2.7", "::1"), a network ("10.0.0.0/8",
// "2001:db8::/32") or a qmail tcprules prefix ending in '.' or ':' ("192.168." = 192.168/16,
// "2001:db8:" = 2001:db8::/32).
//
// Prefixes are turned into networks at parse time, so matching is one code path
// (proto::Cidr, which also matches IPv4-mapped peers "::ffff:a.b.c.d" against IPv4 entries).
// Pure: no I/O, no DNS; host names are refused, never resolved.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/proto/cidr.hpp"

namespace asmtpd::proto {

// One entry in any of the three forms above; nullopt when malformed.
std::optional<proto::Cidr> parse_ip_entry(std::string_view text);

class IpList {
public:
    // Malformed entries are appended to `bad` (if given) and skipped.
    static IpList parse(const std::vector<std::string>& entries, std::vector<std::string>* bad = nullptr);
    bool add(std::string_view entry);     // false when malformed
    bool matches(std::string_view ip) const { return nets_.matches(ip); }
    bool empty() const { return nets_.empty(); }
    std::size_t size() const { return nets_.size(); }

private:
    proto::CidrList nets_;
};

}  // namespace asmtpd::proto
