// dns_batch.hpp - what the DNS policy plugins share: several lookups at once with one
// continuation, and the deadline every lookup gets.
//
// Rules: the continuation runs once, from a loop callback, when every answer (or its
// deadline) is in; it never runs after the session ended (the session's DnsScope drops the
// callbacks). Owner: the DNS policy plugins (dnsbl, rhsbl, fcrdns, helo, resolvable_fromhost).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/io/resolver.hpp"
#include "core/proto/dns_message.hpp"

namespace asmtpd::plugins {

struct DnsQuestion {
    std::string name;
    proto::DnsType type;
};

using DnsBatchDone = std::function<void(std::vector<proto::DnsResult>)>;

// Asks every question; done gets the results in the order asked. No questions: done runs at
// once (inside the call).
void dns_lookup_all(io::DnsScope& dns, std::vector<DnsQuestion> questions, std::uint64_t deadline_ms,
                    DnsBatchDone done);

// The DNS budget of one hook call: `configured` (the plugin's "timeout" argument) when given,
// else 5 s, and always at least 250 ms below the plugin's own timeout, so a slow DNS server
// becomes the plugin's documented fail mode instead of the chain's "plugin timed out".
std::uint64_t dns_deadline_ms(std::chrono::milliseconds plugin_timeout, std::optional<std::uint64_t> configured);

// The outcomes a check acts on: found (answer), none (NXDOMAIN or no data), failed (SERVFAIL,
// timeout, refused).
inline bool dns_found(const proto::DnsResult& r) { return r.status == proto::DnsStatus::answer; }
inline bool dns_none(const proto::DnsResult& r) {
    return r.status == proto::DnsStatus::nxdomain || r.status == proto::DnsStatus::nodata;
}
inline bool dns_failed(const proto::DnsResult& r) { return !dns_found(r) && !dns_none(r); }
// qpsmtpd's is_localhost: 127.0.0.0/8, ::1 (and ::ffff:127.x). Such clients are never DNS-checked.
bool is_loopback_client(std::string_view ip);

// "SERVFAIL (server refused)", "timeout", "NXDOMAIN" for logs.
std::string dns_outcome(const proto::DnsResult& r);

}  // namespace asmtpd::plugins
