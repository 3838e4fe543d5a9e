// from_header.hpp - the author domains of an RFC 5322 From field (RFC 7489 §6.6.1: the
// RFC5322.From domain is DMARC's Author Domain).
//
//   from         = mailbox-list / address-list        (RFC 5322 §3.6.2; groups: RFC 6854)
//   mailbox      = name-addr / addr-spec               name-addr = [display-name] angle-addr
//   angle-addr   = [CFWS] "<" [obs-route] addr-spec ">" [CFWS]
//   group        = display-name ":" [group-list] ";" [CFWS]
//   addr-spec    = local-part "@" domain               (dot-atom / quoted-string local part)
// Comments (nested), quoted strings (with quoted-pairs) and folding are skipped wherever
// CFWS may stand. The domain must be a dot-atom that could be a DNS name (no domain literal:
// DMARC cannot look one up); it is returned lower-cased (ASCII) and without a final dot.
// A field that breaks the grammar (an unterminated quote, comment or angle bracket, an
// address without '@', an empty label, text after an address) is an error: the caller's
// result is permerror, never a guess at what a mail reader would show.
// Pure: no I/O.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace asmtpd::proto {

struct FromAuthors {
    std::vector<std::string> domains;   // one per mailbox, in order (duplicates kept)
    std::string error;                  // non-empty: the field does not parse
    bool ok() const { return error.empty(); }
};

// `value`: the field value after "From:", folding included.
FromAuthors parse_from_field(std::string_view value);

// The Author Domains of a whole header block (CRLF or LF lines, up to the empty line):
// the From fields are found leniently (a line starting with SP/HTAB continues the field
// above; a line without a colon is skipped, as mail readers do), then RFC 7489 §6.6.1:
enum class AuthorProblem { None, NoFrom, SeveralFrom, Unparseable, NoDomain };
struct Authors {
    AuthorProblem problem = AuthorProblem::None;
    std::vector<std::string> domains;   // distinct, in order of appearance; empty on a problem
    std::string detail;                 // the parse error for Unparseable
};
Authors author_domains(std::string_view header_block);
std::string_view to_string(AuthorProblem p);   // "no From field", "multiple From fields", ...

}  // namespace asmtpd::proto
