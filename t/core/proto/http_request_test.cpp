// http_request_test.cpp - tests core/proto/http_request.cpp: complete and partial heads,
// keep-alive, and the errors (400, 431, 505) the metrics endpoint answers with.
#include "core/proto/http_request.hpp"

#include <doctest/doctest.h>

#include <string>

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd::proto;
using S = HttpRequestParse::Status;

TEST_CASE("http request: a complete GET") {
    const std::string in = "GET /metrics?x=1 HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: */*\r\n\r\nextra";
    const auto p = parse_http_request_head(in);
    REQUIRE(p.status == S::Complete);
    CHECK(p.head.method == "GET");
    CHECK(p.head.target == "/metrics?x=1");
    CHECK(p.head.path == "/metrics");
    CHECK(p.head.version_minor == 1);
    CHECK(p.head.keep_alive);
    CHECK(p.head.consumed == in.size() - 5);
}

TEST_CASE("http request: incomplete until the blank line; bare LF accepted") {
    CHECK(parse_http_request_head("").status == S::Incomplete);
    CHECK(parse_http_request_head("GET /metrics HTTP/1.1\r\nHost: x\r\n").status == S::Incomplete);
    CHECK(parse_http_request_head("GET /metrics HTTP/1.0\n\n").status == S::Complete);
    CHECK_FALSE(parse_http_request_head("GET / HTTP/1.0\n\n").head.keep_alive);
    CHECK_FALSE(parse_http_request_head("GET / HTTP/1.1\r\nConnection: close\r\n\r\n").head.keep_alive);
}

TEST_CASE("http request: malformed heads are 400") {
    for (const char* bad : {"NOT HTTP\r\n\r\n", "GET  /metrics HTTP/1.1\r\n\r\n", "GET /metrics\r\n\r\n",
                            "G(T / HTTP/1.1\r\n\r\n", "GET / HTTP/1.1\r\nNoColon\r\n\r\n",
                            "GET / HTTP/1.1\r\nA: b\r\n c\r\n\r\n", "GET / HTTP/1.1\r\nBad Name: x\r\n\r\n",
                            "GET / HTTP/1.1\r\nA: b\x01\r\n\r\n", "GET / HTTP/1.1\r\nContent-Length: 5\r\n\r\n",
                            "GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", "GET / HTTP/x.1\r\n\r\n"}) {
        CAPTURE(bad);
        const auto p = parse_http_request_head(bad);
        CHECK(p.status == S::Invalid);
        CHECK(p.error_status == 400);
        CHECK_FALSE(p.error.empty());
    }
}

TEST_CASE("http request: another version is 505, a long head 431") {
    CHECK(parse_http_request_head("GET / HTTP/2.0\r\n\r\n").error_status == 505);
    const std::string long_head = "GET / HTTP/1.1\r\nX: " + std::string(kMaxHttpRequestHead, 'a');
    const auto p = parse_http_request_head(long_head);
    CHECK(p.status == S::Invalid);
    CHECK(p.error_status == 431);
    CHECK(parse_http_request_head(std::string(kMaxHttpRequestHead + 1, 'G')).error_status == 431);
}

}  // namespace ASMTPD_TEST_UNIT
