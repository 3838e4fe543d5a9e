// route_lookup.hpp - the asynchronous half of routing by DNS: a next-hop host name's A and
// AAAA records, or a recipient domain's MX hosts (implicit MX when there is none, RFC 5321
// §5.1; null MX, RFC 7505) and their addresses, as a Route (mx_route.hpp).
//
// Rules: uses the caller's DnsScope (a session's, so everything is dropped when the session
// ends: done then never runs); done runs exactly once otherwise, possibly at once inside the
// call when no lookup is needed (an IP literal, a domain literal). Every lookup shares one
// deadline_ms, so the whole route costs at most that long; a lookup cut by it is TempFail.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "core/client/mx_route.hpp"
#include "core/io/resolver.hpp"

namespace asmtpd::client {

using RouteDone = std::function<void(Route)>;

// A and AAAA of host (IP literal or localhost: no lookup). No address: TempFail (a configured
// relay that does not resolve is an operator's problem, never the message's).
void lookup_host_route(io::DnsScope& dns, const std::string& host, std::uint64_t deadline_ms, RouteDone done);

// MX of domain, then A and AAAA of its hosts in order_mx() order; a domain literal routes to
// its address without a lookup. NXDOMAIN, or neither MX nor address records: NoRoute.
void lookup_mx_route(io::DnsScope& dns, const std::string& domain, std::uint64_t deadline_ms, PickIndex pick,
                     RouteDone done);

}  // namespace asmtpd::client
