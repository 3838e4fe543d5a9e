// spp_parse_output_test.cpp - tests the parsing half of plugins/spp/spp_output.cpp: parse_output
// (the output language of SPP.md §2.1, terminators, the final line [D], the limits of §5.2.6),
// parse_reply_line and qmail-spp's failure replies.
#include "plugins/spp/spp_output.hpp"

#include <doctest/doctest.h>

#include <string>

#include "hooks/defaults.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd;
using namespace asmtpd::plugins::spp;

// ---- parse_output ---------------------------------------------------------------------

TEST_CASE("parse_output: lines up to the first terminator; empty lines skipped; CR kept") {
    auto p = parse_output("\nXfoo\nHX-A: 1\r\n\nN\nE550 never\n", false);
    REQUIRE(p.lines.size() == 3);
    CHECK(p.lines[0].cmd == 'X');
    CHECK(p.lines[0].arg == "foo");
    CHECK(p.lines[1].arg == "X-A: 1\r");
    CHECK(p.lines[2].cmd == 'N');
    CHECK(p.terminated);
    CHECK_FALSE(p.too_large);
    CHECK_FALSE(p.unterminated_last);

    for (char t : std::string("ANOERD")) {
        auto q = parse_output(std::string(1, t) + "\nP250-after\n", false);
        REQUIRE(q.lines.size() == 1);
        CHECK(q.terminated);
        CHECK(is_terminator(t));
    }
    for (char t : std::string("aneordPHCSULX0 ")) CHECK_FALSE(is_terminator(t));
}

TEST_CASE("parse_output: a final line without newline counts [D]; a cut line does not") {
    auto p = parse_output("E550 abc", false);
    REQUIRE(p.lines.size() == 1);
    CHECK(p.lines[0].arg == "550 abc");
    CHECK(p.unterminated_last);
    CHECK(p.terminated);
    auto a = parse_output("A", false);
    CHECK(a.terminated);
    // Truncated by the runner's byte cap: the partial line is dropped, and without a
    // terminator before it the output is too large.
    auto t = parse_output("HX: 1\nE550 ab", true);
    CHECK(t.lines.size() == 1);
    CHECK(t.too_large);
    auto t2 = parse_output("N\nxxxxxxxx", true);
    CHECK(t2.terminated);
    CHECK_FALSE(t2.too_large);
}

TEST_CASE("parse_output: line and count limits apply only before the terminator") {
    OutputLimits lim;
    lim.max_line = 10;
    lim.max_lines = 3;
    CHECK(parse_output("H012345678\n", false, lim).lines.size() == 1);         // 10 bytes: fits
    CHECK(parse_output("H0123456789\n", false, lim).too_large);                // 11 bytes
    CHECK(parse_output("H012345678\r\n", false, lim).too_large);              // the CR counts
    CHECK(parse_output("H1\nH2\nH3\n", false, lim).lines.size() == 3);
    CHECK(parse_output("H1\nH2\nH3\nH4\n", false, lim).too_large);
    CHECK(parse_output("\n\n\nH4\n", false, lim).too_large);                 // empty lines count
    auto ok = parse_output("N\nH0123456789ABCDEF\nH\nH\nH\n", false, lim);
    CHECK(ok.terminated);
    CHECK_FALSE(ok.too_large);
}

// ---- reply lines ----------------------------------------------------------------------

TEST_CASE("parse_reply_line: 3 digits 200..599 then space, dash or end") {
    auto r = parse_reply_line("550 5.7.1 no");
    REQUIRE(r);
    CHECK(r->code == 550);
    CHECK(r->text == "5.7.1 no");
    CHECK(parse_reply_line("250-note")->text == "note");
    CHECK(parse_reply_line("451")->text.empty());
    CHECK(parse_reply_line("451 ")->text.empty());
    CHECK(parse_reply_line("200 x"));
    CHECK(parse_reply_line("599 x"));
    for (const char* bad : {"", "55", "sorry", "5500 x", "55a x", "199 x", "600 x", "099 x", "550:x", " 550 x", "550\tx"})
        CHECK_MESSAGE(!parse_reply_line(bad), bad);
}

TEST_CASE("failure_reply: qmail-spp's exact text, no enhanced code") {
    auto r = failure_reply(":/bin/x -y", Failure::CantExecute);
    CHECK(r.wire(true) == "451 qmail-spp failure: :/bin/x -y: can't execute (#4.3.0)\r\n");
    CHECK(failure_reason(Failure::Crashed) == "child crashed");
    CHECK(failure_reason(Failure::Timeout) == "timeout");
    CHECK(failure_reason(Failure::TooLarge) == "output too large");
    CHECK(failure_reason(Failure::Malformed) == "malformed reply");
    CHECK(failure_reason(Failure::Busy) == "busy");
    CHECK(failure_reason(Failure::ForkFailed) == "fork() failed");
}

}  // namespace ASMTPD_TEST_UNIT
