// uri_hosts.hpp - the host names and IPv4 addresses a text points at, as qpsmtpd's uribl plugin
// finds them, for URI block lists (SURBL, URIBL). The text is a message's decoded body parts.
//
// What is found (qpsmtpd's patterns, made linear):
//   scheme URIs   \w{3,16}:/+ [userinfo@] host [:port] - the host is taken whatever its
//                 top-level domain (http://example.xyz/ counts), or an IPv4 address written
//                 as a dotted quad (each octet decimal, 0-octal or 0x-hex: http://0x7f.0.0.1/)
//                 or as one integer of 7+ digits (http://3232235777/)
//   bare domains  [a-zA-Z0-9][a-zA-Z0-9.-]*\.TLD not followed by a word character, where TLD
//                 is a two-letter country code or one of aero arpa asia biz cat com coop edu
//                 gov info int jobs mil mobi museum name net org pro tel travel ("see
//                 www.example.com", "mail me at joe@example.org")
// Before scanning, qpsmtpd's de-obfuscation: %XX and =XX hex escapes are decoded, HTML
// character references &#NN; (2-3 digits) too, and ';' is removed ("exa;mple.com").
// Results are lower-cased, without a final dot, each once, in the order first seen. A host
// must be a plausible DNS name: labels of letters, digits, '-' and '_', 1..63 octets, 253 in
// all, at least two labels, the last alphabetic. At most max_names results (hosts and
// addresses together); the rest of the text is still read, nothing else is kept.
// Pure: no I/O, no DNS, no logging; time is linear in the text.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace asmtpd::proto {

struct UriHosts {
    std::vector<std::string> hosts;   // "www.example.com"
    std::vector<std::string> ipv4;    // "192.0.2.7" (forward order)
    bool truncated = false;           // max_names was reached
};

UriHosts find_uri_hosts(std::string_view text, std::size_t max_names);

// qpsmtpd's de-obfuscation alone (exposed for tests): %XX / =XX, &#NN;, ';' removed.
std::string uri_unmunge(std::string_view text);

// The name a URI block list is asked for an IPv4 address: its octets reversed ("7.2.0.192").
std::string reversed_ipv4(std::string_view dotted);

}  // namespace asmtpd::proto
