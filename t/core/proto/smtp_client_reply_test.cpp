// smtp_client_reply_test.cpp - tests core/proto/smtp_client_reply.cpp: single and multi-line
// replies, enhanced codes, every way of splitting the input, and the hostile cases (junk,
// code changes inside a reply, over-long lines and replies) that must stop the stream.
#include "core/proto/smtp_client_reply.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using asmtpd::proto::ClientReplyLimits;
using asmtpd::proto::ClientReplyParser;
using asmtpd::proto::Reply;
using asmtpd::proto::split_esc;
using Status = ClientReplyParser::Status;

namespace {

// All replies in `wire`, fed in one piece; the last event's status in `end`.
std::vector<Reply> parse_all(std::string_view wire, Status* end = nullptr, ClientReplyLimits lim = {}) {
    ClientReplyParser p(lim);
    p.feed(wire);
    std::vector<Reply> out;
    while (true) {
        auto ev = p.next();
        if (ev.status != Status::Complete) {
            if (end) *end = ev.status;
            return out;
        }
        out.push_back(ev.reply);
    }
}

// The same, one octet at a time.
std::vector<Reply> parse_bytewise(std::string_view wire, Status* end = nullptr) {
    ClientReplyParser p;
    std::vector<Reply> out;
    Status last = Status::NeedMore;
    for (char c : wire) {
        p.feed(std::string_view(&c, 1));
        while (true) {
            auto ev = p.next();
            last = ev.status;
            if (ev.status != Status::Complete) break;
            out.push_back(ev.reply);
        }
        if (last == Status::Malformed) break;
    }
    if (end) *end = last;
    return out;
}

}  // namespace

TEST_CASE("ClientReplyParser: one-line replies") {
    Status end;
    auto r = parse_all("250 2.1.0 Ok\r\n", &end);
    REQUIRE(r.size() == 1);
    CHECK(end == Status::NeedMore);
    CHECK(r[0].code == 250);
    CHECK(r[0].esc == "2.1.0");
    CHECK(r[0].lines == std::vector<std::string>{"Ok"});

    r = parse_all("220 mx.example ESMTP\r\n");
    REQUIRE(r.size() == 1);
    CHECK(r[0].esc.empty());
    CHECK(r[0].lines == std::vector<std::string>{"mx.example ESMTP"});

    r = parse_all("354\r\n");   // no text at all
    REQUIRE(r.size() == 1);
    CHECK(r[0].code == 354);
    CHECK(r[0].lines == std::vector<std::string>{""});

    r = parse_all("250 \r\n");
    REQUIRE(r.size() == 1);
    CHECK(r[0].lines == std::vector<std::string>{""});

    r = parse_all("550 5.1.1\r\n");   // enhanced code only
    REQUIRE(r.size() == 1);
    CHECK(r[0].esc == "5.1.1");
    CHECK(r[0].lines == std::vector<std::string>{""});
}

TEST_CASE("ClientReplyParser: multi-line replies (EHLO) and enhanced codes on each line") {
    auto r = parse_all("250-mx.example\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250 8BITMIME\r\n");
    REQUIRE(r.size() == 1);
    CHECK(r[0].code == 250);
    CHECK(r[0].lines == std::vector<std::string>{"mx.example", "PIPELINING", "SIZE 10240000", "8BITMIME"});

    r = parse_all("550-5.7.1 first\r\n550-5.7.1 second\r\n550 5.7.1 third\r\n");
    REQUIRE(r.size() == 1);
    CHECK(r[0].esc == "5.7.1");
    CHECK(r[0].lines == std::vector<std::string>{"first", "second", "third"});

    // A different-looking prefix on a later line is text, not stripped.
    r = parse_all("550-5.7.1 first\r\n550 4.0.0 not ours\r\n");
    REQUIRE(r.size() == 1);
    CHECK(r[0].lines[1] == "4.0.0 not ours");
}

TEST_CASE("ClientReplyParser: an enhanced code of the wrong class stays text") {
    auto r = parse_all("550 4.1.1 mismatched\r\n");
    REQUIRE(r.size() == 1);
    CHECK(r[0].esc.empty());
    CHECK(r[0].lines[0] == "4.1.1 mismatched");
    r = parse_all("250 2.0 short\r\n");
    CHECK(r[0].esc.empty());
    r = parse_all("250 2.0.0.0 long\r\n");
    CHECK(r[0].esc.empty());
    r = parse_all("250 2.0.0x\r\n");
    CHECK(r[0].esc.empty());
}

TEST_CASE("ClientReplyParser: pipelined replies come out in order, however they are split") {
    const std::string wire = "250 2.1.0 sender ok\r\n250 2.1.5 rcpt 1\r\n550-5.1.1 no\r\n550 5.1.1 such user\r\n"
                             "250 2.1.5 rcpt 3\r\n354 go ahead\r\n";
    Status a, b;
    auto whole = parse_all(wire, &a);
    auto bytes = parse_bytewise(wire, &b);
    CHECK(a == Status::NeedMore);
    CHECK(b == Status::NeedMore);
    REQUIRE(whole.size() == 5);
    REQUIRE(bytes.size() == 5);
    std::vector<int> codes;
    for (std::size_t i = 0; i < whole.size(); ++i) {
        codes.push_back(whole[i].code);
        CHECK(whole[i].code == bytes[i].code);
        CHECK(whole[i].esc == bytes[i].esc);
        CHECK(whole[i].lines == bytes[i].lines);
    }
    CHECK(codes == std::vector<int>{250, 250, 550, 250, 354});
    CHECK(whole[2].lines == std::vector<std::string>{"no", "such user"});
}

TEST_CASE("ClientReplyParser: a bare LF ends a line; a partial line waits") {
    auto r = parse_all("250-a\n250 b\n");
    REQUIRE(r.size() == 1);
    CHECK(r[0].lines == std::vector<std::string>{"a", "b"});

    ClientReplyParser p;
    p.feed("250-first\r\n250 sec");
    CHECK(p.next().status == Status::NeedMore);
    CHECK(p.buffered() == 7);
    p.feed("ond\r\n");
    auto ev = p.next();
    REQUIRE(ev.status == Status::Complete);
    CHECK(ev.reply.lines == std::vector<std::string>{"first", "second"});
    CHECK(p.buffered() == 0);
}

TEST_CASE("ClientReplyParser: junk and code changes are malformed, and that is sticky") {
    for (const char* bad : {"hello\r\n", "25\r\n", "2500 x\r\n", "250x\r\n", "650 nope\r\n", "150 early\r\n",
                            "260 bad second digit\r\n", "\r\n", " 250 x\r\n", "250_x\r\n", "2a0 x\r\n"}) {
        Status end;
        auto r = parse_all(bad, &end);
        INFO(bad);
        CHECK(r.empty());
        CHECK(end == Status::Malformed);
    }
    Status end;
    auto r = parse_all("250-one\r\n251 two\r\n", &end);   // code changed inside a reply
    CHECK(r.empty());
    CHECK(end == Status::Malformed);

    ClientReplyParser p;
    p.feed("250 fine\r\njunk\r\n250 later\r\n");
    CHECK(p.next().status == Status::Complete);
    auto ev = p.next();
    CHECK(ev.status == Status::Malformed);
    CHECK(ev.error.find("junk") != std::string::npos);
    p.feed("250 more\r\n");
    CHECK(p.next().status == Status::Malformed);   // sticky: never resynchronised
    CHECK(p.malformed());
}

TEST_CASE("ClientReplyParser: limits on line length, line count and reply size") {
    ClientReplyLimits lim;
    lim.max_line = 64;
    lim.max_lines = 4;
    lim.max_bytes = 100;
    Status end;
    // Exactly at the line limit (CRLF included) is fine; one more octet is not.
    auto r = parse_all("250 " + std::string(58, 'x') + "\r\n", &end, lim);
    CHECK(r.size() == 1);
    r = parse_all("250 " + std::string(59, 'x') + "\r\n", &end, lim);
    CHECK(r.empty());
    CHECK(end == Status::Malformed);

    // No newline at all: refused as soon as the cap is reached, not buffered forever.
    ClientReplyParser p(lim);
    for (int i = 0; i < 10; ++i) p.feed(std::string(10, 'x'));
    CHECK(p.next().status == Status::Malformed);
    CHECK(p.buffered() == 0);

    r = parse_all("250-a\r\n250-b\r\n250-c\r\n250-d\r\n250 e\r\n", &end, lim);
    CHECK(r.empty());
    CHECK(end == Status::Malformed);
    r = parse_all("250-a\r\n250-b\r\n250-c\r\n250 d\r\n", &end, lim);
    CHECK(r.size() == 1);

    std::string big;
    for (int i = 0; i < 3; ++i) big += "250-" + std::string(40, 'y') + "\r\n";
    r = parse_all(big + "250 z\r\n", &end, lim);   // 3 x 46 octets > 100
    CHECK(r.empty());
    CHECK(end == Status::Malformed);
}

TEST_CASE("ClientReplyParser: defaults take an EHLO reply of normal size and stop a flood") {
    std::string ehlo = "250-mx\r\n";
    for (int i = 0; i < 20; ++i) ehlo += "250-EXT" + std::to_string(i) + "\r\n";
    ehlo += "250 HELP\r\n";
    CHECK(parse_all(ehlo).size() == 1);

    ClientReplyParser p;
    std::string flood;
    for (int i = 0; i < 300; ++i) flood += "250-x\r\n";
    p.feed(flood);
    CHECK(p.next().status == Status::Malformed);
}

TEST_CASE("ClientReplyParser: clear() forgets a partial reply") {
    ClientReplyParser p;
    p.feed("250-half\r\n250");
    CHECK(p.next().status == Status::NeedMore);
    p.clear();
    CHECK(p.buffered() == 0);
    p.feed("221 bye\r\n");
    auto ev = p.next();
    REQUIRE(ev.status == Status::Complete);
    CHECK(ev.reply.code == 221);
    CHECK(ev.reply.lines == std::vector<std::string>{"bye"});
}

TEST_CASE("split_esc") {
    std::string esc, text;
    split_esc(250, "2.0.0 Ok: queued", esc, text);
    CHECK(esc == "2.0.0");
    CHECK(text == "Ok: queued");
    split_esc(451, "4.3.0", esc, text);
    CHECK(esc == "4.3.0");
    CHECK(text.empty());
    split_esc(451, "5.3.0 wrong class", esc, text);
    CHECK(esc.empty());
    CHECK(text == "5.3.0 wrong class");
    split_esc(250, "", esc, text);
    CHECK(esc.empty());
    CHECK(text.empty());
}

}  // namespace ASMTPD_TEST_UNIT
