// helo_rules.hpp - the checks of qpsmtpd's helo plugin that need no DNS, as pure functions,
// plus the "near match" rules its DNS checks use.
//
// Policies (qpsmtpd): lenient = badhelo, invalid localhost, forged literal, plain IP;
// rfc = lenient + not FQDN (+ the DNS checks: forward and reverse DNS exist);
// strict = rfc + any address literal (+ the DNS check: names match, forward or reverse).
// asmtpd adds to every policy: a client from outside that claims our own name or one of our
// addresses is lying (Postfix's reject_unknown_helo habit, Haraka's helo.checks "self").
// A badhelo line is a host name compared case-insensitively, or (when it holds one of
// {}[]()^$|*+?\!) a regular expression (ECMAScript, close to Perl's); a leading '!' negates it.
// Pure: no I/O, no DNS, no logging.
#pragma once

#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

namespace asmtpd::proto {

enum class HeloPolicy { lenient, rfc, strict };
std::optional<HeloPolicy> helo_policy_from_string(std::string_view s);

// What the client is told and what the log says (qpsmtpd's ($smtp_mess, $log_mess)).
struct HeloFailure {
    std::string reply;
    std::string log;
};

class BadHelo {
public:
    // Malformed regular expressions go to `bad` (if given) and are skipped.
    static BadHelo parse(const std::vector<std::string>& lines, std::vector<std::string>* bad);
    std::optional<HeloFailure> check(std::string_view host) const;
    bool empty() const { return names_.empty() && patterns_.empty(); }

private:
    struct Pattern {
        std::string text;
        std::regex re;
        bool negated = false;
    };
    std::vector<std::string> names_;   // lower case
    std::vector<Pattern> patterns_;
};

struct HeloFacts {
    std::string_view host;        // the HELO/EHLO argument
    std::string_view remote_ip;   // the client
    bool remote_is_local = false; // the client is on loopback (127.0.0.0/8, ::1)
    std::string_view me;          // our host name
    std::vector<std::string> my_ips;   // addresses we listen on / are reached at
};

// The checks of the policy that need no DNS, in qpsmtpd's order; the first failure wins.
std::optional<HeloFailure> helo_static_check(HeloPolicy policy, const HeloFacts& facts, const BadHelo& bad);

// "[1.2.3.4]" / "[IPv6:2001:db8::1]" -> the address text; nullopt for anything else.
std::optional<std::string> helo_address_literal(std::string_view host);
// True when the HELO name is worth resolving (no literal, no plain IP).
bool helo_is_name(std::string_view host);

// qpsmtpd's near matches: the same address, or the same /24 (IPv4) or /96 (IPv6).
bool helo_ip_near(std::string_view dns_ip, std::string_view remote_ip);
// The same name, or the same last two labels ("mx0.example.com" ~ "mx1.example.com").
bool helo_name_near(std::string_view dns_name, std::string_view helo);

}  // namespace asmtpd::proto
