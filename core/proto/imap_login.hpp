// imap_login.hpp - the little IMAP4rev1 (RFC 3501) an authentication check needs: the LOGIN
// command for a user and password, and the reading of the server's answer (its greeting, then
// untagged lines, then the tagged completion of LOGIN).
//
// LOGIN's arguments are quoted strings when they are printable 7-bit text (quoted-specials
// escaped), else non-synchronizing literals ("{N+}", RFC 7888 LITERAL+; Dovecot has it) so the
// whole command is sent at once without waiting for "+" continuations. NUL, CR and LF cannot be
// sent at all (RFC 3501 has no way to carry them in LOGIN).
// Pure: no I/O, no logging; the command holds the password, so the caller never logs it.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace asmtpd::proto {

// "<tag> LOGIN <user> <password>\r\n<tag2> LOGOUT\r\n"; nullopt when user or password holds
// NUL, CR or LF, or either is empty.
std::optional<std::string> imap_login_command(std::string_view tag, std::string_view logout_tag,
                                              std::string_view user, std::string_view password);

enum class ImapLoginStatus {
    Incomplete,   // more bytes needed
    Ok,           // tagged OK
    No,           // tagged NO (code says why: AUTHENTICATIONFAILED, UNAVAILABLE, ...)
    Bad,          // tagged BAD (the server did not understand LOGIN)
    Bye,          // the server said BYE before answering (greeting or later)
    Garbage,      // not IMAP: a greeting that is not "* OK", a line that is not a response
};

struct ImapLoginReply {
    ImapLoginStatus status = ImapLoginStatus::Incomplete;
    std::string code;   // the response code of the deciding line, upper case, without brackets
    std::string text;   // its human-readable text (at most 200 octets, for the log)
};

// Reads everything the server sent so far. Lines end in CRLF (a bare LF is accepted); an
// untagged line that ends in a literal "{N}" is followed by N octets, skipped. The first line
// must be the greeting "* OK"; "* PREAUTH" is Garbage (a server that logs everyone in cannot
// check a password). A temporary-failure code of RFC 5530 (UNAVAILABLE) keeps status No; the
// caller decides what it means.
ImapLoginReply read_imap_login_reply(std::string_view bytes, std::string_view tag);

// True for the RFC 5530 response codes that say the check could not be made (not that the
// credentials are wrong): UNAVAILABLE, SERVERBUG, LIMIT, INUSE.
bool imap_code_is_temporary(std::string_view code);

}  // namespace asmtpd::proto
