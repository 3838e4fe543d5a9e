// spf_macro.hpp - SPF macro strings (RFC 7208 §7): syntax check and expansion.
//
// A macro string is literal text with "%{letter digits r delimiters}", "%%", "%_" and "%-"
// expansions. Letters: s l o d i p h v everywhere, and c r t only in the explanation text
// fetched for exp= (§7.2). An uppercase letter expands like its lowercase one and is then URL
// escaped (every byte outside RFC 3986's unreserved set becomes %XX). A digit transformer
// keeps that many right-hand parts (after the optional reversal); it must be non-zero.
// Domain-specs (include:, a:, redirect= ...) must also end in a macro or "." toplabel (§7.1).
// Pure: no I/O, no DNS (the caller finds %{p} beforehand: uses_validated_name()).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace asmtpd::proto::spf {

// The values the macro letters stand for, set by the evaluator for one check_host() call.
struct MacroValues {
    std::string sender;         // s: local-part@domain (local-part "postmaster" if none)
    std::string local_part;     // l
    std::string sender_domain;  // o
    std::string domain;         // d: the domain whose record is being evaluated
    std::string ip_dotted;      // i: dotted quad, or 32 dot-separated lowercase nibbles (IPv6)
    std::string ip_readable;    // c: dotted quad or RFC 5952 text
    bool ipv6 = false;          // v: "ip6" or "in-addr"
    std::string helo;           // h
    std::string validated;      // p: validated domain name of the client, or "unknown"
    std::string receiver;       // r: the checking host's name
    std::string timestamp;      // t: seconds since the epoch, as decimal text
};

enum class MacroUse {
    DomainSpec,    // a domain-spec of a mechanism or modifier: no c/r/t, no spaces, domain-end
    Modifier,      // the value of an unknown modifier: a macro-string (no c/r/t, no spaces)
    Explanation,   // the TXT text exp= points at: c/r/t and spaces allowed
};

// nullopt when `text` is well-formed for `use`, else what is wrong.
std::optional<std::string> macro_syntax_error(std::string_view text, MacroUse use);

// True when the text contains a %{p} (or %{P}) expansion, which needs DNS lookups first.
bool uses_validated_name(std::string_view text);

// Expands a text that passed macro_syntax_error(). For DomainSpec, a trailing dot is dropped
// and an expansion over 253 octets loses labels on the left until it fits (§7.3).
// nullopt only when the text is not well-formed.
std::optional<std::string> expand_macros(std::string_view text, MacroUse use, const MacroValues& v);

// The %{i} form of an address: "192.0.2.1", or "2.0.0.1.0.d.b.8...." style nibbles for IPv6.
std::string dotted_ip(std::string_view ip_text);

}  // namespace asmtpd::proto::spf
