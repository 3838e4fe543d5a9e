// command.hpp - splitting a command line into verb and arguments, and the MAIL/RCPT argument
// grammar with ESMTP parameters (RFC 5321 §4.1.1.2-3, RFC 1869/5321 §4.1.2 esmtp-param).
//
//   command      = verb [ SP args ]            ; verb = 1*12 (ALPHA / DIGIT)
//   mail-args    = "FROM:" [SP] Reverse-path *( SP esmtp-param )
//   rcpt-args    = "TO:" [SP] Forward-path *( SP esmtp-param )
//   esmtp-param  = esmtp-keyword ["=" esmtp-value]
//   esmtp-keyword= (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")
//   esmtp-value  = 1*(%d33-60 / %d62-126 / UTF-8 non-ASCII)   ; no "=", SP, controls
// "FROM:" and "TO:" match case-insensitively. The path is found by its angle brackets, so a
// quoted local part containing spaces works. An empty "MAIL FROM:" is the null sender.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/proto/expected.hpp"

namespace asmtpd::proto {

struct Command {
    std::string verb;   // upper-cased; empty for an empty line
    std::string args;   // everything after the first space, trailing spaces removed
    bool valid_verb = true;  // false when the first word is not 1..12 letters/digits
};

// Total: never fails. The line has its CRLF already removed.
Command parse_command(std::string_view line);

struct EsmtpParam {
    std::string keyword;                  // upper-cased
    std::optional<std::string> value;     // as sent
};

struct PathArgs {
    std::string path;                     // the raw path text including "<" ">" (may be rewritten by *_pre)
    std::vector<EsmtpParam> params;
    const EsmtpParam* find(std::string_view keyword) const;  // case-insensitive
};

// For MAIL: args must start with "FROM:" (else 501 5.5.4). For RCPT: "TO:".
// Missing brackets -> 501 5.5.4; bad parameter syntax -> 501 5.5.4.
Expected<PathArgs> parse_mail_args(std::string_view args);
Expected<PathArgs> parse_rcpt_args(std::string_view args);

// Decodes RFC 3461 xtext ("+2B" -> "+"); nullopt for bad escapes or resulting controls.
std::optional<std::string> decode_xtext(std::string_view xtext);

}  // namespace asmtpd::proto
