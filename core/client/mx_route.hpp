// mx_route.hpp - the pure half of routing mail by DNS (RFC 5321 §5.1, RFC 7505): recipients
// grouped by domain, MX records put in the order to try, null MX recognised, and a route (the
// addresses to try, or why there is none) judged from the answers.
//
// Pure: no I/O, no clock; the random tie-break for equal preferences comes in as a function,
// so tests can fix it. The asynchronous half that asks the resolver is route_lookup.hpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/proto/dns_message.hpp"

namespace asmtpd::client {

constexpr std::size_t kMaxMxHosts = 10;        // MX hosts tried per domain (Postfix: 5 addresses)
constexpr std::size_t kMaxRouteAddresses = 20;  // addresses tried per route

// The recipients ("<local@domain>", as Envelope holds them) of one domain, in envelope order.
struct RecipientGroup {
    std::string domain;                  // lower case; "[192.0.2.1]" for an address literal
    std::vector<std::size_t> indexes;    // into the envelope's recipients
};
std::vector<RecipientGroup> group_by_domain(const std::vector<std::string>& recipients);

// "example.org" of "<a@Example.ORG>" (lower case); empty when there is no domain.
std::string domain_of(std::string_view recipient);

// The address of a domain literal ("[192.0.2.1]", "[IPv6:2001:db8::1]"); nullopt otherwise.
std::optional<std::string> domain_literal_address(std::string_view domain);

// RFC 7505: the domain publishes a null MX ("0 ."): it accepts no mail. A "." among other
// records counts too (the domain says it takes no mail; resolvable_fromhost reads it alike).
bool is_null_mx(const std::vector<proto::DnsRecord>& mx);

// The MX host names in the order to try: ascending preference; equal preferences in random
// order (RFC 5321 §5.1: spread the load), `pick(n)` returning an index below n; duplicates
// dropped; at most kMaxMxHosts.
using PickIndex = std::function<std::size_t(std::size_t n)>;
std::vector<std::string> order_mx(std::vector<proto::DnsRecord> mx, const PickIndex& pick);

// Where one group of recipients (or the configured host) goes.
struct Route {
    enum class Status {
        Ok,         // addresses holds at least one address
        TempFail,   // SERVFAIL, timeout, or no address while some lookup failed: retry later
        NullMx,     // RFC 7505: the domain takes no mail
        NoRoute,    // the domain does not exist, or has neither MX nor address records
    };
    Status status = Status::TempFail;
    std::vector<std::string> addresses;   // IP literals, in the order to try
    std::string why;                      // for the log
};

// The route from the A and AAAA answers of each host, hosts in order: results[2*i] is host
// i's A answer, results[2*i+1] its AAAA. IPv4 first within a host (a host whose IPv6 path is
// broken then costs nothing); duplicates dropped; at most kMaxRouteAddresses. No address:
// TempFail when some lookup failed, else NoRoute.
Route route_from_addresses(const std::vector<std::string>& hosts, const std::vector<proto::DnsResult>& results);

}  // namespace asmtpd::client
