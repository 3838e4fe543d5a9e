// http_request.hpp - the head of one HTTP/1.x request (RFC 9112), for the daemon's own small
// HTTP endpoint (GET /metrics). Only what it needs: the request line and the end of the field
// block; the fields themselves are checked for shape and otherwise ignored (a body is never
// expected: Content-Length or Transfer-Encoding on a request is refused).
//
//   request      = request-line *( field-line CRLF ) CRLF
//   request-line = method SP request-target SP "HTTP/1." DIGIT CRLF
// A bare LF ends a line too. A head longer than kMaxHttpRequestHead, a control character in a
// line, a field line without ':' or with white space before it, an empty method or target, or
// another HTTP version are errors (status 400, 431 for the size, 505 for the version).
// Pure: no I/O; never reads past the input.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace asmtpd::proto {

inline constexpr std::size_t kMaxHttpRequestHead = 8192;

struct HttpRequestHead {
    std::string method;          // as sent ("GET"; methods are case-sensitive)
    std::string target;          // "/metrics", "/metrics?x=1"
    std::string path;            // target without the query
    int version_minor = 1;
    bool keep_alive = true;      // HTTP/1.1 without "Connection: close"; 1.0 with keep-alive
    std::size_t consumed = 0;    // bytes of the head, its blank line included
};

struct HttpRequestParse {
    enum class Status { Complete, Incomplete, Invalid };
    Status status = Status::Incomplete;
    int error_status = 0;        // Invalid: 400, 431 or 505
    std::string error;           // Invalid: why
    HttpRequestHead head;
};

HttpRequestParse parse_http_request_head(std::string_view in);

}  // namespace asmtpd::proto
