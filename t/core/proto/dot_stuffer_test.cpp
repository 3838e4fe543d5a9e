// dot_stuffer_test.cpp - tests core/proto/dot_stuffer.cpp: stuffing, line-end canonicalisation,
// the final CRLF, chunk independence, and a round trip through the server's own DataDecoder
// (the receiving side must get back exactly what was stuffed, ending where we ended it).
#include "core/proto/dot_stuffer.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/proto/data_decoder.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using asmtpd::proto::BareLfPolicy;
using asmtpd::proto::DataDecoder;
using asmtpd::proto::DataLimits;
using asmtpd::proto::DotStuffer;

namespace {

std::string stuff(std::string_view in) {
    DotStuffer s;
    std::string out;
    s.feed(in, out);
    s.finish(out);
    return out;
}

// The same input fed in pieces of `step` octets.
std::string stuff_in_pieces(std::string_view in, std::size_t step) {
    DotStuffer s;
    std::string out;
    for (std::size_t i = 0; i < in.size(); i += step) s.feed(in.substr(i, step), out);
    s.finish(out);
    return out;
}

// What a receiver following RFC 5321 makes of the wire form: content, and where it ended.
struct Received {
    std::string content;
    std::size_t consumed = 0;
    bool done = false;
    bool bare = false;
};
Received receive(std::string_view wire) {
    DataDecoder d(DataLimits{1u << 30, 0, BareLfPolicy::Reject});
    Received r;
    r.consumed = d.feed(wire, r.content);
    r.done = d.done();
    r.bare = d.bare_line_ending();
    return r;
}

std::string pseudo_random(std::size_t n, std::uint32_t seed) {
    static const char kAlphabet[] = {'.', '.', '\r', '\n', '\n', 'a', ' ', '\0', '\xff', 'x', '\r'};
    std::string s;
    std::uint32_t x = seed * 2654435761u + 7;
    for (std::size_t i = 0; i < n; ++i) {
        x = x * 1103515245u + 12345u;
        s += kAlphabet[(x >> 16) % sizeof kAlphabet];
    }
    return s;
}

}  // namespace

TEST_CASE("DotStuffer: the end marker and the final CRLF") {
    CHECK(stuff("") == ".\r\n");                      // empty message: just the dot
    CHECK(stuff("a\r\n") == "a\r\n.\r\n");
    CHECK(stuff("a") == "a\r\n.\r\n");                // content always ends in CRLF before the dot
    CHECK(stuff("\r\n") == "\r\n.\r\n");
    CHECK(stuff("a\r\nb") == "a\r\nb\r\n.\r\n");
}

TEST_CASE("DotStuffer: a leading dot is doubled on every line, and only there") {
    CHECK(stuff(".") == "..\r\n.\r\n");
    CHECK(stuff(".\r\n") == "..\r\n.\r\n");
    CHECK(stuff("..\r\n") == "...\r\n.\r\n");
    CHECK(stuff("a.\r\n.b\r\n") == "a.\r\n..b\r\n.\r\n");
    CHECK(stuff(" .x\r\n") == " .x\r\n.\r\n");
    CHECK(stuff("x\r\n.\r\n.\r\n") == "x\r\n..\r\n..\r\n.\r\n");
    CHECK(stuff("a.b.c") == "a.b.c\r\n.\r\n");
}

TEST_CASE("DotStuffer: bare LF becomes CRLF and starts a line") {
    CHECK(stuff("a\nb\n") == "a\r\nb\r\n.\r\n");
    CHECK(stuff("\n.\n") == "\r\n..\r\n.\r\n");
    CHECK(stuff("\n\n") == "\r\n\r\n.\r\n");
    CHECK(stuff("a\r\n\n.") == "a\r\n\r\n..\r\n.\r\n");
}

TEST_CASE("DotStuffer: bare CR stays data, but a dot after it is doubled") {
    CHECK(stuff("a\rb\r\n") == "a\rb\r\n.\r\n");
    CHECK(stuff("\r.\r\n") == "\r..\r\n.\r\n");
    CHECK(stuff("x\r") == "x\r\r\n.\r\n");
    CHECK(stuff("\r\r\n") == "\r\r\n.\r\n");
}

TEST_CASE("DotStuffer: no input can put CRLF.CRLF on the wire before the end") {
    for (std::uint32_t seed = 1; seed <= 300; ++seed) {
        std::string in = pseudo_random(1 + seed % 97, seed);
        std::string wire = stuff(in);
        auto first = wire.find("\r\n.\r\n");
        bool at_start = wire.rfind(".\r\n", 0) == 0;
        // The only end-of-data marker is the one finish() wrote.
        if (at_start) CHECK(wire == ".\r\n");
        else CHECK(first == wire.size() - 5);
        // Nor a dot line after a bare CR (for receivers that misread CR as a line end).
        for (std::size_t p = wire.find("\r.\r"); p != std::string::npos; p = wire.find("\r.\r", p + 1))
            CHECK(p + 5 == wire.size());
    }
}

TEST_CASE("DotStuffer: every split of the input gives the same output") {
    for (std::uint32_t seed = 1; seed <= 40; ++seed) {
        std::string in = pseudo_random(200, seed);
        std::string whole = stuff(in);
        for (std::size_t step : {1u, 2u, 3u, 7u, 64u, 199u})
            CHECK(stuff_in_pieces(in, step) == whole);
    }
}

TEST_CASE("DotStuffer: round trip through the server's DataDecoder") {
    // With CRLF-only content the receiver gets back exactly the content, plus a final CRLF
    // when the content lacked one, and stops exactly at the end of the wire form.
    std::vector<std::string> inputs = {"", "a", ".", "..", ".\r\n.\r\n", "x\r\n.\r\n..\r\ny", "\r\n\r\n",
                                       std::string(5000, '.'), "Subject: t\r\n\r\n.leading\r\n"};
    for (std::uint32_t seed = 1; seed <= 100; ++seed) {
        std::string s = pseudo_random(150, seed);
        std::string clean;
        for (std::size_t i = 0; i < s.size(); ++i) {   // CRLF only: drop lone CR and LF
            if (s[i] == '\r' && i + 1 < s.size() && s[i + 1] == '\n') {
                clean += "\r\n";
                ++i;
            } else if (s[i] != '\r' && s[i] != '\n') {
                clean += s[i];
            }
        }
        inputs.push_back(clean);
    }
    for (const auto& in : inputs) {
        std::string wire = stuff(in);
        Received r = receive(wire + "MAIL FROM:<after@x>\r\n");
        INFO("input: ", in);
        CHECK(r.done);
        CHECK_FALSE(r.bare);
        CHECK(r.consumed == wire.size());
        std::string expect = in;
        if (!expect.empty() && expect.substr(expect.size() >= 2 ? expect.size() - 2 : 0) != "\r\n") expect += "\r\n";
        CHECK(r.content == expect);
    }
}

TEST_CASE("DotStuffer: bare line ends arrive canonical, never as an early end") {
    std::string in = "a\n.\nb\r.\r\nMAIL FROM:<x@y>\n.\r\n";
    std::string wire = stuff(in);
    Received r = receive(wire);
    CHECK(r.done);
    CHECK(r.consumed == wire.size());
    CHECK(r.bare);   // the bare CR is passed on as data (the decoder flags it)...
    for (std::size_t p = wire.find('\n'); p != std::string::npos; p = wire.find('\n', p + 1))
        CHECK((p > 0 && wire[p - 1] == '\r'));   // ...but no bare LF reaches the next hop
    CHECK(r.content == "a\r\n.\r\nb\r..\r\nMAIL FROM:<x@y>\r\n.\r\n");
}

TEST_CASE("DotStuffer: fed() counts content octets and finish() starts over") {
    DotStuffer s;
    std::string out;
    s.feed(".a\n", out);
    CHECK(s.fed() == 3);
    s.finish(out);
    CHECK(s.fed() == 0);
    s.feed(".", out);
    s.finish(out);
    CHECK(out == "..a\r\n.\r\n..\r\n.\r\n");
}

}  // namespace ASMTPD_TEST_UNIT
