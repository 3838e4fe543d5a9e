// spf_header.hpp - what an SPF result leaves behind: the Received-SPF header field (RFC 7208
// §9.1) and the one-line transaction note other plugins (DMARC, Authentication-Results)
// read back with parse_spf_note().
//
// Received-SPF: RESULT (COMMENT) client-ip=IP; envelope-from="..."; helo=NAME;
//     receiver=NAME; identity=mailfrom|helo; [mechanism="..."; ] [problem="..."; ]
// Values are dot-atoms when they can be, quoted-strings otherwise; control bytes and 8-bit
// bytes are replaced by '?', parentheses and backslashes are kept out of the comment, so the
// field is always one well-formed line of printable ASCII.
// The note ("spf" in the transaction notes):  RESULT identity=ID domain=DOMAIN reason=TEXT
// with reason last (it may contain spaces, never CR or LF).
// Pure: no I/O.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/proto/spf_eval.hpp"

namespace asmtpd::proto::spf {

struct HeaderFacts {
    std::string client_ip;
    std::string envelope_from;   // the MAIL FROM path as given ("" for <>)
    std::string helo;
    std::string receiver;        // this host's name
};

// The field value after "Received-SPF: " (no CRLF).
std::string received_spf(const Outcome& o, const HeaderFacts& f);

// The human reason for a result: the explanation of a fail, the problem of an error, else the
// matching mechanism.
std::string reason(const Outcome& o);

std::string spf_note(const Outcome& o);

struct SpfNote {
    Result result = Result::None;
    Identity identity = Identity::MailFrom;
    std::string domain;
    std::string reason;
};
std::optional<SpfNote> parse_spf_note(std::string_view note);
std::optional<Result> result_from_string(std::string_view s);

}  // namespace asmtpd::proto::spf
