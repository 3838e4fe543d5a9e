// http_response.hpp - the framing of one HTTP/1.x response (RFC 9112): status line, header
// fields, and a body delimited by Content-Length, by chunked transfer coding, or by the close
// of the connection. For clients that ask one question per connection (rspamd's /checkv2).
//
// Grammar accepted (the request is ours, so only the response is parsed):
//   response     = status-line *( field-line CRLF ) CRLF [ body ]
//   status-line  = "HTTP/" DIGIT "." DIGIT SP 3DIGIT [ SP reason ] CRLF
//   field-line   = field-name ":" OWS value OWS     ; names case-insensitive, kept as sent
//   chunked      = *( chunk-size [ ";" ext ] CRLF data CRLF ) "0" [ ";" ext ] CRLF
//                  *( trailer-field CRLF ) CRLF
// A bare LF ends a line too (tolerant reading, RFC 9112 §2.2). Obsolete line folding, a
// control character other than HTAB inside a line (a bare CR), a field line without ':', white space before the ':', several differing Content-Length values, a
// Content-Length beside Transfer-Encoding, a transfer coding other than chunked, a chunk size
// over 15 hex digits, and more than kMaxFields fields are errors: the caller treats them like
// the server being down. 1xx interim responses (100 Continue) are skipped.
// Pure: no I/O, no logging; never reads past the input. Sizes are the caller's to cap.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace asmtpd::proto {

struct HttpField {
    std::string name;
    std::string value;   // leading and trailing white space removed
};

struct HttpResponse {
    int version_minor = 1;     // HTTP/1.x
    int status = 0;            // 200, 404, ...
    std::string reason;
    std::vector<HttpField> fields;
    std::string body;          // decoded: chunk framing removed

    // The first field of that name (case-insensitive), or nullopt.
    std::optional<std::string_view> field(std::string_view name) const;
};

enum class HttpParse {
    Complete,     // out holds the whole response
    Incomplete,   // more bytes are needed (or, for a body that runs to the close, at_eof)
    Invalid,      // error says why
};

inline constexpr std::size_t kMaxHttpFields = 100;

// Parses `in`, the bytes received so far. at_eof: the server closed the connection, so a body
// without Content-Length or chunking ends here (anything else still missing is Invalid).
HttpParse parse_http_response(std::string_view in, bool at_eof, HttpResponse& out, std::string& error);

}  // namespace asmtpd::proto
