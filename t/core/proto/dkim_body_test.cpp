// dkim_body_test.cpp - tests core/proto/dkim_body.cpp: the RFC 6376 §3.4.5 body example,
// empty bodies, trailing empty lines, l=, and that any chunking gives the same bytes.
#include "core/proto/dkim_body.hpp"

#include <doctest/doctest.h>

#include <random>
#include <string>

#include "t/support/dkim_body_reference.hpp"

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

// The streaming canonicalizer passes runs of unchanged lines through uncopied and rewrites the
// others: random bodies of the characters that matter, in random chunks, against the plain
// reference (t/support/dkim_body_reference.hpp), with long clean lines so that runs form.
TEST_CASE("streaming canonicalization equals the plain reference on random bodies and chunkings") {
    std::mt19937 rng(6376);
    const std::string pieces[] = {"\r\n", "\r", "\n", " ", "\t", "  ", "a", "word ", "x\ty",
                                  std::string(40, 'L') + "\r\n", std::string(1500, 'M') + "\r\n"};
    for (int round = 0; round < 2000; ++round) {
        std::string body;
        const int n = static_cast<int>(rng() % 30);
        for (int i = 0; i < n; ++i) body += pieces[rng() % std::size(pieces)];
        for (Canon canon : {Canon::Simple, Canon::Relaxed}) {
            const std::string want = asmtpd::test::reference_canonical_body(canon, body);
            std::string got;
            BodyCanonicalizer c(canon, std::nullopt, [&got](std::string_view b) { got.append(b); });
            for (std::size_t at = 0; at < body.size();) {
                const std::size_t len = 1 + rng() % (rng() % 2 ? 8 : 4000);
                const std::string piece = body.substr(at, len);   // a copy: the canonicalizer keeps no view
                at += len;
                c.feed(piece);
            }
            c.finish();
            CAPTURE(body);
            CHECK(got == want);
            CHECK(c.canonical_length() == want.size());
        }
    }
}

}  // namespace ASMTPD_TEST_UNIT
