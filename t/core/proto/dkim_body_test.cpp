// dkim_body_test.cpp - tests core/proto/dkim_body.cpp: the RFC 6376 §3.4.5 body example,
// empty bodies, trailing empty lines, l=, and that any chunking gives the same bytes.
#include "core/proto/dkim_body.hpp"

#include <doctest/doctest.h>

#include <string>

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd::proto::dkim;

namespace {
std::string chunked(Canon canon, std::string_view body, std::size_t step, std::optional<std::uint64_t> limit = {}) {
    std::string out;
    BodyCanonicalizer c(canon, limit, [&out](std::string_view b) { out.append(b); });
    for (std::size_t i = 0; i < body.size(); i += step) c.feed(body.substr(i, step));
    c.finish();
    c.feed("ignored after finish");
    return out;
}
}  // namespace

TEST_CASE("RFC 6376 §3.4.5 example: body canonicalization") {
    std::string_view body = " C \r\nD \t E\r\n\r\n\r\n";
    CHECK(canonicalize_body(Canon::Relaxed, body) == " C\r\nD E\r\n");
    CHECK(canonicalize_body(Canon::Simple, body) == " C \r\nD \t E\r\n");
}

TEST_CASE("§3.4.3/§3.4.4 empty bodies: simple is one CRLF, relaxed is empty") {
    CHECK(canonicalize_body(Canon::Simple, "") == "\r\n");
    CHECK(canonicalize_body(Canon::Simple, "\r\n\r\n") == "\r\n");
    CHECK(canonicalize_body(Canon::Relaxed, "") == "");
    CHECK(canonicalize_body(Canon::Relaxed, "\r\n \r\n\t\r\n") == "");
}

TEST_CASE("empty lines inside the body stay; a missing final CRLF is added") {
    CHECK(canonicalize_body(Canon::Simple, "a\r\n\r\n\r\nb\r\n\r\n") == "a\r\n\r\n\r\nb\r\n");
    CHECK(canonicalize_body(Canon::Relaxed, "a\r\n  \r\nb") == "a\r\n\r\nb\r\n");
    CHECK(canonicalize_body(Canon::Simple, "a") == "a\r\n");
}

TEST_CASE("only CRLF ends a line: bare CR and LF are content") {
    CHECK(canonicalize_body(Canon::Simple, "a\nb\rc\r\n") == "a\nb\rc\r\n");
    CHECK(canonicalize_body(Canon::Relaxed, "a \n b\r\n") == "a \n b\r\n");
}

TEST_CASE("every chunk size gives the same canonical body, CRLF split included") {
    const std::string body = "Hi.\r\n\r\nWe  lost\tthe game. \r\n\r\n \r\nJoe.\r\n\r\n\r\r\n\r\n";
    for (Canon canon : {Canon::Simple, Canon::Relaxed}) {
        const std::string whole = canonicalize_body(canon, body);
        for (std::size_t step = 1; step <= body.size(); ++step) {
            CAPTURE(step);
            CHECK(chunked(canon, body, step) == whole);
        }
    }
}

TEST_CASE("§3.5 l=: the sink gets at most l octets, the length keeps counting") {
    std::string out;
    BodyCanonicalizer c(Canon::Simple, 5, [&out](std::string_view b) { out.append(b); });
    c.feed("hello world\r\n");
    c.feed("appended\r\n\r\n");
    c.finish();
    CHECK(out == "hello");
    CHECK(c.hashed_length() == 5);
    CHECK(c.canonical_length() == 23);
    CHECK(chunked(Canon::Relaxed, "a  b\r\n", 1, 0) == "");
    CHECK(chunked(Canon::Relaxed, "a  b\r\n", 2, 100) == "a b\r\n");
    CHECK(chunked(Canon::Simple, "", 1, 1) == "\r");
}

}  // namespace ASMTPD_TEST_UNIT
