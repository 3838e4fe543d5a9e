// dovecot_auth.hpp - the client side of Dovecot's authentication protocol 1.x (what Postfix's
// smtpd_sasl_type=dovecot speaks over Dovecot's auth socket): the lines the server sends, read
// into a struct, and the lines a client sends, written from one.
//
// The protocol (Dovecot's doc/auth-protocol): lines end with LF, fields are separated by TAB,
// values are tab-escaped (\001 -> \0011, TAB -> \001t, LF -> \001n, CR -> \001r). Client first:
// "VERSION\t1\t1" and "CPID\t<pid>"; the server answers VERSION, MECH lines, SPID, CUID,
// COOKIE and DONE. Requests: "AUTH\t<id>\t<mech>\tservice=smtp\t...\tresp=<base64>"; answers
// "OK\t<id>\t[params]", "FAIL\t<id>\t[params]" (the flag "temp" or "code=temp_fail" marks a
// temporary failure), "CONT\t<id>\t<base64>".
// Pure: no I/O, no secrets kept (the request line carries the password base64-encoded; the
// caller never logs it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace asmtpd::proto {

// Dovecot's own limit for one protocol line (AUTH_CLIENT_MAX_LINE_LENGTH is 16 KiB).
inline constexpr std::size_t kDovecotAuthMaxLine = 16384;
inline constexpr unsigned kDovecotAuthMajor = 1;

enum class DovecotAuthKind { Version, Mech, Spid, Cuid, Cookie, Done, Ok, Fail, Cont, Unknown };

struct DovecotAuthLine {
    DovecotAuthKind kind = DovecotAuthKind::Unknown;
    unsigned major = 0, minor = 0;                 // VERSION
    std::string mech;                              // MECH: the name, upper case as sent
    std::vector<std::string> flags;                // MECH: its flags (plaintext, anonymous...)
    std::uint32_t id = 0;                          // OK, FAIL, CONT
    std::string challenge;                         // CONT: base64 as sent
    // OK, FAIL: "key=value" parameters unescaped; a bare flag ("temp", "nologin") has value "".
    std::vector<std::pair<std::string, std::string>> params;
    bool temporary = false;                        // FAIL: "temp" or code=temp_fail
    std::string user;                              // OK, FAIL: user=
    std::string reason;                            // FAIL: reason= (may be shown to the user)

    const std::string* param(std::string_view key) const;
};

// One server line without its LF (a CR before it is dropped). nullopt with error for a line
// that is not well-formed: an id that is not a positive 32-bit number, a VERSION without two
// numbers, MECH without a name, a line over kDovecotAuthMaxLine. Unknown verbs parse as
// Unknown (the protocol lets a server add lines; the client ignores them).
std::optional<DovecotAuthLine> parse_dovecot_auth_line(std::string_view line, std::string& error);

std::string dovecot_tab_escape(std::string_view value);
// Undoes dovecot_tab_escape; an \001 followed by anything else (or nothing) is kept as it is.
std::string dovecot_tab_unescape(std::string_view value);

// What the client sends on connecting: "VERSION\t1\t1\nCPID\t<pid>\n".
std::string dovecot_auth_handshake(std::uint64_t pid);

struct DovecotAuthRequest {
    std::uint32_t id = 1;
    std::string mechanism = "PLAIN";
    std::string service = "smtp";
    std::string local_ip, remote_ip;     // lip=, rip= (omitted when empty)
    std::uint16_t local_port = 0, remote_port = 0;   // lport=, rport= (omitted when 0)
    bool secured = false;                // the client connection is TLS-protected
    std::string initial_response;        // raw bytes; sent base64-encoded as resp=
};

// "AUTH\t<id>\t<mech>\tservice=...\tnologin\t[lip=\trip=\tlport=\trport=]\t[secured]\tresp=...\n".
// nologin: asmtpd only verifies credentials (as Postfix does).
std::string dovecot_auth_request_line(const DovecotAuthRequest& r);

// PLAIN's message (RFC 4616) with an empty authzid: NUL user NUL password.
std::string dovecot_plain_response(std::string_view user, std::string_view password);

}  // namespace asmtpd::proto
