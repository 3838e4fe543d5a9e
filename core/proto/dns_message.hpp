// dns_message.hpp - DNS answers as values: the result types every DNS user shares, and a pure
// parser of the wire-format answers the resolver receives (RFC 1035 §4, name compression).
//
// Pure: no I/O. The parser never trusts a length or a pointer: it returns nullopt for anything
// malformed (truncated, pointer loops, names over 255 octets, rdata of the wrong size).
// dns_result() turns a parsed answer into the five outcomes plugins decide on (answer,
// NXDOMAIN, no data, SERVFAIL; timeout comes from the resolver), with the time it may be
// cached: the smallest TTL of the answer chain, or for a negative answer min(SOA TTL, SOA
// minimum) from the authority section (RFC 2308 §5); 0 when it must not be cached.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace asmtpd::proto {

enum class DnsType : std::uint16_t { a = 1, ns = 2, cname = 5, soa = 6, ptr = 12, mx = 15, txt = 16, aaaa = 28 };
// "A", "MX", ...; "TYPE<n>" for others.
std::string dns_type_name(std::uint16_t type);

enum class DnsStatus { answer, nxdomain, nodata, servfail, timeout };
// "answer", "NXDOMAIN", "no data", "SERVFAIL", "timeout".
std::string_view dns_status_name(DnsStatus s);

struct DnsRecord {
    // a/aaaa: the address as text ("192.0.2.1", "2001:db8::1"); ptr/cname/ns/mx/soa: the host
    // name without the final dot; txt: the record's character-strings concatenated (RFC 7208
    // §3.3 reads SPF records this way).
    std::string value;
    std::uint16_t preference = 0;   // mx only
    std::uint32_t ttl = 0;
    bool operator==(const DnsRecord&) const = default;
};

struct DnsResult {
    DnsStatus status = DnsStatus::servfail;
    std::vector<DnsRecord> records;   // the records of the asked type (status answer only)
    std::uint32_t ttl = 0;            // seconds this result may be cached; 0: not at all
    std::string error;                // why, for servfail and timeout ("server refused", ...)
};

// One resource record as parsed. Names are in presentation form without the final dot, bytes
// outside letters/digits/'-'/'_'/'*' escaped as \DDD (so a label holding '.' stays one label).
struct DnsRr {
    std::string owner;
    std::uint16_t type = 0;
    std::uint32_t ttl = 0;
    DnsRecord data;                    // for types this parser knows (DnsType); empty otherwise
    std::uint32_t soa_minimum = 0;     // soa only: the MINIMUM field
};

struct DnsMessage {
    std::uint16_t id = 0;
    bool response = false;
    bool truncated = false;
    std::uint8_t rcode = 0;
    std::string qname;                 // the first question (empty if there is none)
    std::uint16_t qtype = 0;
    std::vector<DnsRr> answers;
    std::vector<DnsRr> authority;
};

std::optional<DnsMessage> parse_dns_message(std::string_view wire);

// The outcome of asking (qname, qtype), following CNAMEs inside the answer section.
DnsResult dns_result(const DnsMessage& m, std::string_view qname, DnsType qtype);

// Names compare ASCII case-insensitively and ignore one final dot.
bool dns_name_equal(std::string_view a, std::string_view b);

// "4.3.2.1.in-addr.arpa" for 1.2.3.4, the nibble form under ip6.arpa for IPv6 (an
// IPv4-mapped address gives the IPv4 name); nullopt for text that is no address.
std::optional<std::string> dns_reverse_name(std::string_view ip);

}  // namespace asmtpd::proto
