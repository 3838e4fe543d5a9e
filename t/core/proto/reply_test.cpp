// reply_test.cpp - tests core/proto/reply.cpp: line splitting, wire framing, enhanced codes,
// and that no plugin text can ever inject a line, a control or a fake code onto the wire.
#include "core/proto/reply.hpp"

#include <doctest/doctest.h>

#include "t/fuzz/fuzz_check.hpp"

#include <algorithm>
#include <string>

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using asmtpd::proto::esc_matches;
using asmtpd::proto::Reply;
using asmtpd::proto::sanitize_reply_text;

namespace {

// Every wire line must be "DDD" + ("-" | " ") + printable ASCII + CRLF, at most 512 octets,
// with "-" on all lines but the last.
void check_well_formed(const std::string& wire) {
    REQUIRE(wire.size() >= 6);
    REQUIRE(wire.substr(wire.size() - 2) == "\r\n");
    std::size_t pos = 0;
    while (pos < wire.size()) {
        auto end = wire.find("\r\n", pos);
        REQUIRE(end != std::string::npos);
        std::string line = wire.substr(pos, end - pos);
        CHECK(line.size() + 2 <= 512);
        REQUIRE(line.size() >= 4);
        for (int k = 0; k < 3; ++k) CHECK((line[k] >= '0' && line[k] <= '9'));
        const bool last = end + 2 == wire.size();
        CHECK(line[3] == (last ? ' ' : '-'));
        // Printable ASCII, or well-formed UTF-8 (RFC 6531): never a control character.
        CHECK(asmtpd::fuzz::printable_utf8(line));
        pos = end + 2;
    }
}

}  // namespace

TEST_CASE("Reply::make splits on LF") {
    auto r = Reply::make(250, "2.0.0", "one\ntwo\nthree");
    CHECK(r.code == 250);
    CHECK(r.esc == "2.0.0");
    REQUIRE(r.lines.size() == 3);
    CHECK(r.lines[0] == "one");
    CHECK(r.lines[2] == "three");

    CHECK(Reply::make(250, "", "x\n").lines.size() == 1);         // trailing LF adds nothing
    CHECK(Reply::make(250, "", "x\n\n").lines.size() == 2);       // but an empty line in between counts
    CHECK(Reply::make(250, "", "").lines.size() == 1);            // empty text is one empty line
    CHECK(Reply::make(250, "", "\n").lines == std::vector<std::string>{""});
    CHECK(Reply::make(250, "", "\na").lines == std::vector<std::string>{"", "a"});
}

TEST_CASE("Reply predicates") {
    CHECK(Reply::make(250, "", "").positive());
    CHECK(Reply::make(354, "", "").positive());
    CHECK(Reply::make(451, "", "").transient());
    CHECK(Reply::make(550, "", "").permanent());
    CHECK(!Reply::make(550, "", "").transient());
    CHECK(Reply::make(421, "", "").klass() == 4);
}

TEST_CASE("wire: single and multi-line framing") {
    CHECK(Reply::make(250, "2.1.0", "Sender OK").wire(false) == "250 Sender OK\r\n");
    CHECK(Reply::make(250, "2.1.0", "Sender OK").wire(true) == "250 2.1.0 Sender OK\r\n");
    CHECK(Reply::make(220, "", "mx ESMTP").wire(true) == "220 mx ESMTP\r\n");
    auto ehlo = Reply::make(250, "", "mx\nPIPELINING\nSIZE 1000");
    CHECK(ehlo.wire(false) == "250-mx\r\n250-PIPELINING\r\n250 SIZE 1000\r\n");
    auto multi = Reply::make(550, "5.7.1", "a\nb");
    CHECK(multi.wire(true) == "550-5.7.1 a\r\n550 5.7.1 b\r\n");
    check_well_formed(multi.wire(true));
    Reply empty;  // no lines at all still frames one line
    empty.code = 250;
    CHECK(empty.wire(false) == "250 \r\n");
}

TEST_CASE("wire: enhanced code sanity") {
    // A 354 never carries an enhanced code (RFC 3463 has no class 3).
    CHECK(Reply::make(354, "2.0.0", "go ahead").wire(true) == "354 go ahead\r\n");
    // A class mismatch from a plugin is replaced, never sent as is.
    CHECK(Reply::make(550, "2.1.0", "no").wire(true) == "550 5.0.0 no\r\n");
    CHECK(Reply::make(451, "garbage", "x").wire(true) == "451 4.0.0 x\r\n");
    CHECK(Reply::make(250, "2.1.0\r\n250 fake", "x").wire(true) == "250 2.0.0 x\r\n");
    CHECK(Reply::make(250, "2.1.0\r\n250 fake", "x").wire(false) == "250 x\r\n");
}

TEST_CASE("wire: bad codes never reach the client") {
    for (int code : {0, -1, 1, 99, 199, 600, 999, 1000, 2500}) {
        auto w = Reply::make(code, "5.0.0", "x").wire(true);
        CHECK(w.substr(0, 4) == "451 ");
        check_well_formed(w);
    }
    CHECK(Reply::make(200, "", "x").wire(false) == "200 x\r\n");
    CHECK(Reply::make(599, "", "x").wire(false) == "599 x\r\n");
}

TEST_CASE("wire: injection attempts are neutralised") {
    const char* evil[] = {
        "ok\r\n250 fake",         "ok\r250 fake",   "a\0b",  "\x1b[31mred",
        "tab\there",              "del\x7f",        "\r\n",  "\xc3\xa9t\xc3\xa9",
    };
    for (const char* e : evil) {
        std::string text(e, e == evil[2] ? 3 : std::char_traits<char>::length(e));
        auto r = Reply::make(550, "5.7.1", text);
        auto w = r.wire(true);
        check_well_formed(w);
        // one CR and one LF per line of the reply, nothing more
        CHECK(std::count(w.begin(), w.end(), '\r') == static_cast<long>(r.lines.size()));
        CHECK(std::count(w.begin(), w.end(), '\n') == static_cast<long>(r.lines.size()));
    }
    // LF splits into lines (make), CR alone is removed (wire)
    auto w = Reply::make(550, "5.7.1", "ok\r\n550 fake").wire(false);
    CHECK(w == "550-ok\r\n550 550 fake\r\n");
}

TEST_CASE("wire: lines are capped at 512 octets") {
    std::string huge(5000, 'x');
    auto w = Reply::make(550, "5.7.1", huge).wire(true);
    check_well_formed(w);
    CHECK(w.size() == 512);
    auto w2 = Reply::make(550, "5.7.1", huge + "\n" + huge).wire(true);
    check_well_formed(w2);
    CHECK(w2.size() == 1024);
}

TEST_CASE("sanitize_reply_text") {
    CHECK(sanitize_reply_text("plain text") == "plain text");
    CHECK(sanitize_reply_text("a\tb") == "a b");
    CHECK(sanitize_reply_text("a\r\nb") == "ab");
    CHECK(sanitize_reply_text(std::string("a\0b", 3)) == "ab");
    CHECK(sanitize_reply_text("\x01\x02\x1f\x7f") == "");
    // Well-formed UTF-8 is kept (RFC 6531 replies); anything else that is not ASCII is '?'.
    CHECK(sanitize_reply_text("caf\xc3\xa9") == "caf\xc3\xa9");
    CHECK(sanitize_reply_text("<\xc3\xbc@ex.org>") == "<\xc3\xbc@ex.org>");
    CHECK(sanitize_reply_text("\xf0\x9f\x93\xa7 \xe2\x82\xac") == "\xf0\x9f\x93\xa7 \xe2\x82\xac");
    CHECK(sanitize_reply_text("caf\xc3") == "caf?");                 // cut sequence
    CHECK(sanitize_reply_text("\xc0\xaf") == "??");                 // overlong '/'
    CHECK(sanitize_reply_text("\xed\xa0\x80") == "???");           // surrogate
    CHECK(sanitize_reply_text("\xf4\x90\x80\x80") == "????");     // past U+10FFFF
    CHECK(sanitize_reply_text("\xff\xfe") == "??");
    // The length limit never cuts a character in half.
    const std::string euros = [] { std::string e; for (int i = 0; i < 300; ++i) e += "\xe2\x82\xac"; return e; }();
    const std::string cut = sanitize_reply_text(euros);
    CHECK(cut.size() <= 506);
    CHECK(cut.size() % 3 == 0);
    CHECK(sanitize_reply_text(std::string(600, 'y')).size() == 506);
    CHECK(sanitize_reply_text(std::string(600, '\n')).empty());
    // all printable ASCII survives
    std::string printable;
    for (int c = 0x20; c < 0x7f; ++c) printable += static_cast<char>(c);
    CHECK(sanitize_reply_text(printable) == printable);
}

TEST_CASE("summary") {
    CHECK(Reply::make(550, "5.7.1", "Relaying denied\nmore").summary() == "550 5.7.1 Relaying denied");
    CHECK(Reply::make(220, "", "hello").summary() == "220 hello");
    CHECK(Reply::make(250, "2.0.0", "").summary() == "250 2.0.0");
    CHECK(Reply::make(250, "", "a\r\x01").summary() == "250 a");
}

TEST_CASE("esc_matches") {
    CHECK(esc_matches("5.7.1", 550));
    CHECK(esc_matches("4.7.0", 421));
    CHECK(esc_matches("2.0.0", 250));
    CHECK(esc_matches("5.123.999", 554));
    CHECK(esc_matches("5.0.12", 500));
    CHECK_FALSE(esc_matches("5.7.1", 450));   // class mismatch
    CHECK_FALSE(esc_matches("4.7.1", 250));
    CHECK_FALSE(esc_matches("3.0.0", 354));   // no class 3
    CHECK_FALSE(esc_matches("2.0.0", 354));
    CHECK_FALSE(esc_matches("5.7.1", 650));
    CHECK_FALSE(esc_matches("5.7.1", 99));
    CHECK_FALSE(esc_matches("", 550));
    CHECK_FALSE(esc_matches("5", 550));
    CHECK_FALSE(esc_matches("5.7", 550));
    CHECK_FALSE(esc_matches("5.7.", 550));
    CHECK_FALSE(esc_matches("5..1", 550));
    CHECK_FALSE(esc_matches("5.1234.1", 550));
    CHECK_FALSE(esc_matches("5.1.1234", 550));
    CHECK_FALSE(esc_matches("5.7.1 ", 550));
    CHECK_FALSE(esc_matches(" 5.7.1", 550));
    CHECK_FALSE(esc_matches("5.7.1.1", 550));
    CHECK_FALSE(esc_matches("5.a.1", 550));
    CHECK_FALSE(esc_matches("5-7-1", 550));
    CHECK_FALSE(esc_matches("55.7.1", 550));
    CHECK_FALSE(esc_matches(std::string("5.7\0.1", 6), 550));
}

TEST_CASE("wire: the line limit never cuts a UTF-8 character") {
    std::string euros;
    for (int i = 0; i < 300; ++i) euros += "\xe2\x82\xac";
    for (std::size_t pad = 0; pad < 4; ++pad) {
        auto w = Reply::make(550, "5.7.1", std::string(pad, 'x') + euros).wire(true);
        check_well_formed(w);
        CHECK(w.size() <= 512);
    }
}

}  // namespace ASMTPD_TEST_UNIT
