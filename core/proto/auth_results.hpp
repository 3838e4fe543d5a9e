// auth_results.hpp - the Authentication-Results header field (RFC 8601): reading the
// authserv-id of a field someone else wrote, and writing ours, folded.
//
//   authres-payload = [CFWS] authserv-id [ CFWS authres-version ]
//                     ( no-result / 1*resinfo ) [CFWS] CRLF
//   authserv-id     = value            ; RFC 2045: token / quoted-string
//   no-result       = [CFWS] ";" [CFWS] "none"
//   resinfo         = [CFWS] ";" methodspec [ CFWS reasonspec ] [ CFWS 1*propspec ]
// RFC 8601 §5: a receiver removes (here: renames) fields that claim its own authserv-id; the
// comparison is case-insensitive, and comments and quoting around the id do not change it.
// Pure: no I/O.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace asmtpd::proto {

// The authserv-id of an Authentication-Results value (after "Authentication-Results:",
// folded or not): leading CFWS and comments skipped, a quoted-string unquoted. Nothing when
// the value does not start with a token or a quoted-string.
std::optional<std::string> authserv_id(std::string_view value);

// Whether a field with this value claims `our_id` (case-insensitive, RFC 8601 §5).
bool claims_authserv_id(std::string_view value, std::string_view our_id);

// An RFC 2045 value: `text` itself when it is a token, else a quoted-string.
std::string mime_value(std::string_view text);

// "Authentication-Results: <id>; r1; r2" (or "<id>; none" with no results), one line when it
// fits in 78 columns; else folded: each result starts a new line ("\r\n\t"), and a result
// longer than a line is folded before one of its own spaces ("\r\n" + the space), so
// unfolding gives back the same text. No CRLF at the end.
std::string format_authentication_results(std::string_view authserv_id, const std::vector<std::string>& results);

}  // namespace asmtpd::proto
