// http_response_test.cpp - tests core/proto/http_response.cpp: rspamd 3.4's real reply framing,
// chunked bodies (extensions, trailers), bodies that run to the close, 1xx interim responses,
// every prefix of a reply being Incomplete, and the ambiguous or broken framings refused.
#include "core/proto/http_response.hpp"

#include <doctest/doctest.h>

#include <string>

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd::proto;

namespace {

// What rspamd 3.4 answered on loopback to POST /checkv2 (plain message).
const std::string kBody =
    R"({"is_skipped":false,"score":0.0,"required_score":15.0,"action":"no action","symbols":{},"messages":{},)"
    R"("message-id":"undef","time_real":0.000551})";
const std::string kReply = "HTTP/1.1 200 OK\r\nConnection: close\r\nServer: rspamd/3.4\r\n"
                           "Date: Wed, 02 Dec 2026 20:05:18 GMT\r\nContent-Length: " +
                           std::to_string(kBody.size()) + "\r\nContent-Type: application/json\r\n\r\n" + kBody;

HttpParse parse(const std::string& in, bool eof, HttpResponse& r) {
    std::string error;
    auto p = parse_http_response(in, eof, r, error);
    if (p == HttpParse::Invalid) CHECK_FALSE(error.empty());
    return p;
}

}  // namespace

TEST_CASE("http_response: rspamd's reply, and every prefix of it is incomplete") {
    HttpResponse r;
    REQUIRE(parse(kReply, false, r) == HttpParse::Complete);
    CHECK(r.status == 200);
    CHECK(r.reason == "OK");
    CHECK(r.version_minor == 1);
    CHECK(r.body == kBody);
    CHECK(r.field("content-type") == "application/json");
    CHECK(r.field("server") == "rspamd/3.4");
    CHECK_FALSE(r.field("X-None"));
    for (std::size_t n = 0; n < kReply.size(); ++n) {
        CAPTURE(n);
        HttpResponse part;
        CHECK(parse(kReply.substr(0, n), false, part) == HttpParse::Incomplete);
        CHECK(parse(kReply.substr(0, n), true, part) == HttpParse::Invalid);   // cut off by the close
    }
    // One octet more than announced: refused, never silently dropped.
    CHECK(parse(kReply + "x", false, r) == HttpParse::Invalid);
}

TEST_CASE("http_response: chunked, bare LF, body to the close, 1xx, 204") {
    HttpResponse r;
    const std::string chunked = "HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n"
                                "5;ext=1\r\nhello\r\n7\r\n, world\r\n0\r\nX-Trailer: t\r\n\r\n";
    REQUIRE(parse(chunked, false, r) == HttpParse::Complete);
    CHECK(r.body == "hello, world");
    CHECK(parse(chunked.substr(0, chunked.size() - 2), false, r) == HttpParse::Incomplete);
    CHECK(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nA\r\n0123456789\r\n0\r\n\r\n", false, r) ==
          HttpParse::Complete);
    CHECK(r.body == "0123456789");

    REQUIRE(parse("HTTP/1.0 200 OK\nContent-Length: 2\n\nhi", false, r) == HttpParse::Complete);
    CHECK(r.version_minor == 0);
    CHECK(r.body == "hi");

    CHECK(parse("HTTP/1.0 200 OK\r\n\r\n{\"a\":1}", false, r) == HttpParse::Incomplete);
    REQUIRE(parse("HTTP/1.0 200 OK\r\n\r\n{\"a\":1}", true, r) == HttpParse::Complete);
    CHECK(r.body == "{\"a\":1}");

    REQUIRE(parse("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 413 Too Large\r\nContent-Length: 0\r\n\r\n", false, r) ==
            HttpParse::Complete);
    CHECK(r.status == 413);
    CHECK(r.reason == "Too Large");
    REQUIRE(parse("HTTP/1.1 204 No Content\r\n\r\n", false, r) == HttpParse::Complete);
    CHECK(r.body.empty());
    REQUIRE(parse("HTTP/1.1 200\r\nContent-Length: 0\r\nContent-Length: 0\r\n\r\n", false, r) == HttpParse::Complete);
    CHECK(r.reason.empty());
}

TEST_CASE("http_response: garbage and ambiguous framing are invalid") {
    HttpResponse r;
    for (const std::string bad : {
             "SPAMD/1.1 0 EX_OK\r\n\r\n", "HTTP/2 200 OK\r\n\r\n", "HTTP/1.1 20 OK\r\n\r\n", "HTTP/1.1 200OK\r\n\r\n",
             "HTTP/1.1 200 OK\r\n folded: x\r\n\r\n", "HTTP/1.1 200 OK\r\nno colon\r\n\r\n",
             "HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n", "HTTP/1.1 200 OK\r\n: x\r\n\r\n",
             "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nx",
             "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", "HTTP/1.1 200 OK\r\nContent-Length: 1e3\r\n\r\n",
             "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n",
             "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n",
             "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
             "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
             "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1000000000000000\r\n",
             "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n", "GET / HTTP/1.1\r\n",
             "<html>"}) {
        CAPTURE(bad);
        CHECK(parse(bad, false, r) == HttpParse::Invalid);
    }
    std::string many = "HTTP/1.1 200 OK\r\n";
    for (std::size_t i = 0; i <= kMaxHttpFields; ++i) many += "X: y\r\n";
    CHECK(parse(many + "\r\n", false, r) == HttpParse::Invalid);
}

TEST_CASE("http_response: a bare CR inside a line is invalid (found by the http_response fuzz target)") {
    HttpResponse r;
    CHECK(parse("HTTP/1.1 200 OK\r\nX: a\rb\r\nContent-Length: 0\r\n\r\n", false, r) == HttpParse::Invalid);
    CHECK(parse("HTTP/1.1 200 O\rK\r\nContent-Length: 0\r\n\r\n", false, r) == HttpParse::Invalid);
    CHECK(parse("HTTP/1.1 200 OK\r\nX: a\tb\r\nContent-Length: 0\r\n\r\n", false, r) == HttpParse::Complete);
}

}  // namespace ASMTPD_TEST_UNIT
