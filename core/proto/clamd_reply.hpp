// clamd_reply.hpp - reading clamd's answer to zINSTREAM (clamd(8), "INSTREAM").
//
// Grammar (one reply; clamd closes the connection after a z-command without IDSESSION):
//   reply   = [ id ": " ] ( "stream: " result / text SP "ERROR" ) [ NUL / LF ]
//   result  = "OK" / name SP "FOUND" / text SP "ERROR"
//   id      = 1*10DIGIT                              ; only inside an IDSESSION
// e.g. "stream: OK\0", "stream: Eicar-Test-Signature FOUND\0",
//      "INSTREAM size limit exceeded. ERROR\0", "stream: Can't allocate memory ERROR\0".
// Virus names are printable ASCII without spaces in every ClamAV signature format; a name with
// control or 8-bit characters, or longer than kMaxVirusName, is refused so that it can go into
// an SMTP reply and a log line as it is. Anything else is Malformed, with a short reason.
// Pure: no I/O, no logging.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace asmtpd::proto {

inline constexpr std::size_t kMaxVirusName = 200;

struct ClamdReply {
    enum class Kind { Clean, Found, Error, Malformed };
    Kind kind = Kind::Malformed;
    std::string text;   // Found: the signature name; Error: clamd's text; Malformed: why
};

ClamdReply parse_clamd_reply(std::string_view in);

std::string_view to_string(ClamdReply::Kind k);

}  // namespace asmtpd::proto
