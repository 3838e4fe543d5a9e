// reply.hpp - an SMTP reply as a value: code, RFC 3463 enhanced status, text lines.
//
// Every byte the server sends to a client is framed here (Session::reply is the one choke
// point that calls wire()). Text from plugins is untrusted: wire() strips CR, LF and other
// control characters so a plugin can never inject a second reply line or a fake code.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace asmtpd::proto {

struct Reply {
    int code = 0;                     // three digits, 200..599
    std::string esc;                  // "5.7.1", or empty when none applies (greeting)
    std::vector<std::string> lines;   // at least one; multi-line replies use code-text framing

    // Splits text on '\n' into lines (a trailing newline adds no empty line).
    static Reply make(int code, std::string_view esc, std::string_view text);

    bool positive() const { return code >= 200 && code < 400; }
    bool transient() const { return code >= 400 && code < 500; }
    bool permanent() const { return code >= 500 && code < 600; }
    int klass() const { return code / 100; }

    // "250-first\r\n250 last\r\n"; with enhanced=true each line carries "esc " after the code.
    std::string wire(bool enhanced) const;

    // First line only, for logs: "550 5.7.1 Relaying denied".
    std::string summary() const;
};

// Removes CR, LF, NUL and other C0 controls (tab becomes a space), keeps well-formed UTF-8
// (an SMTPUTF8 address echoed back must not come back as "??"), turns any other byte over 0x7f
// into '?', and caps the length of one reply line at 510 octets minus the code (RFC 5321
// §4.5.3.1.5) without cutting a character.
std::string sanitize_reply_text(std::string_view text);
// The same, appended to out (no temporary string).
void append_sanitized(std::string& out, std::string_view text);

// True for a syntactically valid enhanced status code whose class digit matches the reply
// code's first digit ("5.7.1" for 550), as RFC 3463 requires.
bool esc_matches(std::string_view esc, int code);

}  // namespace asmtpd::proto
