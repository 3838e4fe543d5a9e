// address.hpp - RFC 5321 reverse-path / forward-path values and their parser.
//
// Grammar (RFC 5321 §4.1.2, with RFC 6531 for UTF-8):
//   Path        = "<" [ A-d-l ":" ] Mailbox ">"       ; source route is accepted and dropped
//   Mailbox     = Local-part "@" ( Domain / address-literal )
//   Local-part  = Dot-string / Quoted-string          ; quoted strings may contain spaces
//   Domain      = sub-domain *("." sub-domain)
//   address-literal = "[" ( IPv4 / "IPv6:" IPv6 / tag ":" text ) "]"
// plus "<>" (null path) and the bare "<postmaster>" special case for RCPT.
// Fixes qpsmtpd quirks: the grammar is anchored (so "<foo bar@x>" is refused) and
// "<\"quoted user\"@x>" is accepted. Limits: local part 64, domain 255, path 256 octets.
// NUL, CR, LF and other controls are always refused (RELIABILITY P8).
#pragma once

#include <string>
#include <string_view>

#include "core/proto/expected.hpp"

namespace asmtpd::proto {

struct Address {
    std::string local;    // unquoted form ("quoted user" without the quotes, escapes removed)
    std::string domain;   // as given (case kept); empty for the null path and bare postmaster

    bool is_null() const { return local.empty() && domain.empty(); }
    // "<>" or "<local@domain>", re-quoting the local part when it needs quotes.
    std::string format() const;
    // The address without brackets ("local@domain", or "" for the null path), the local part
    // quoted exactly as format() does, so it is unambiguous.
    std::string bare() const;
    // Domain lower-cased, for comparisons against rcpthosts and the like.
    std::string domain_lower() const;
    bool operator==(const Address&) const = default;
};

struct AddressRules {
    bool allow_null = true;        // MAIL accepts "<>"; RCPT does not
    bool allow_bare_postmaster = false;  // RCPT TO:<postmaster>
    bool allow_utf8 = false;       // SMTPUTF8 given on MAIL
    bool recipient = false;        // picks the syntax reply: 501 5.1.3 (RCPT) vs 501 5.1.7 (MAIL)
};

// Ready-made rules for the two commands (MAIL: null path allowed; RCPT: postmaster allowed).
inline AddressRules sender_rules(bool utf8 = false) { return {true, false, utf8, false}; }
inline AddressRules recipient_rules(bool utf8 = false) { return {false, true, utf8, true}; }

// Parses a path including its angle brackets, e.g. "<a@b.example>". No surrounding spaces.
// Errors: 501 5.1.7 "Bad sender address syntax" / 501 5.1.3 "Bad recipient address syntax"
// (by rules.recipient; also for a refused "<>"), 553 5.6.7 for 8-bit without SMTPUTF8,
// 501 5.5.2 for invalid UTF-8 and for over-long parts (path 256, local part 64, domain 255).
// "<postmaster>" is returned as local "postmaster" (lower-cased), domain "".
Expected<Address> parse_path(std::string_view path, const AddressRules& rules);

}  // namespace asmtpd::proto
