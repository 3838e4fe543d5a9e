// milter_packet_test.cpp - tests core/proto/milter_packet.cpp: the packets asmtpd sends (byte
// for byte as libmilter expects them), packets taken off a byte stream in pieces, and every
// reply a filter may send, including the malformed ones that must fail rather than be guessed.
#include "core/proto/milter_packet.hpp"

#include <doctest/doctest.h>

#include <string>

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd::proto::milter;
using namespace std::string_literals;

namespace {

Reply reply_of(char cmd, std::string data) {
    std::string error;
    auto r = parse_reply(Packet{cmd, std::move(data)}, error);
    REQUIRE_MESSAGE(r, error);
    return *r;
}

std::string error_of(char cmd, std::string data) {
    std::string error;
    auto r = parse_reply(Packet{cmd, std::move(data)}, error);
    CHECK(!r);
    return error;
}

}  // namespace

TEST_CASE("milter: encoded commands") {
    CHECK(packet('A') == "\0\0\0\1A"s);
    CHECK(optneg(6, 0x1ff, 0x1fffff) == "\0\0\0\x0dO\0\0\0\x06\0\0\x01\xff\0\x1f\xff\xff"s);
    CHECK(connect("mx.example", '4', 25, "192.0.2.1") == "\0\0\0\x19" "Cmx.example\0" "4\0\x19" "192.0.2.1\0"s);
    CHECK(connect("unknown", 'U', 0, "") == "\0\0\0\x0a" "Cunknown\0U"s);
    CHECK(helo("client") == "\0\0\0\x08Hclient\0"s);
    CHECK(envelope('M', "<a@b>", {"SIZE=10"}) == "\0\0\0\x0f" "M<a@b>\0SIZE=10\0"s);
    CHECK(envelope('R', "<>", {}) == "\0\0\0\x04R<>\0"s);
    CHECK(macros('C', {{"j", "mx"}, {"{client_addr}", "1.2.3.4"}}) ==
          "\0\0\0\x1d" "DCj\0mx\0{client_addr}\0" "1.2.3.4\0"s);
    CHECK(header("Subject", " hi") == "\0\0\0\x0dLSubject\0 hi\0"s);
    CHECK(unknown("XYZZY") == "\0\0\0\x07UXYZZY\0"s);
    // A NUL inside a string would end it early on the other side: it is cut there.
    CHECK(helo("a\0b"s) == "\0\0\0\x03Ha\0"s);
}

TEST_CASE("milter: body chunks are at most 65535 octets") {
    CHECK(body("").empty());
    std::string big(kMaxBodyChunk * 2 + 10, 'x');
    auto wire = body(big);
    CHECK(wire.size() == big.size() + 3 * 5);
    Packet p;
    std::size_t used = 0;
    std::string err;
    std::string_view rest = wire;
    std::size_t sizes[3] = {};
    for (auto& s : sizes) {
        REQUIRE(take_packet(rest, p, used, err) == Need::Packet);
        CHECK(p.command == 'B');
        s = p.data.size();
        rest.remove_prefix(used);
    }
    CHECK(rest.empty());
    CHECK(sizes[0] == kMaxBodyChunk);
    CHECK(sizes[1] == kMaxBodyChunk);
    CHECK(sizes[2] == 10);
}

TEST_CASE("milter: packets taken off a stream in any pieces") {
    std::string wire = packet('c') + packet('h', "X-A\0v\0"s);
    Packet p;
    std::size_t used = 0;
    std::string err;
    for (std::size_t cut = 0; cut < 5; ++cut) CHECK(take_packet(std::string_view(wire).substr(0, cut), p, used, err) == Need::More);
    REQUIRE(take_packet(wire, p, used, err) == Need::Packet);
    CHECK(p.command == 'c');
    CHECK(used == 5);
    std::string_view rest = std::string_view(wire).substr(used);
    CHECK(take_packet(rest.substr(0, rest.size() - 1), p, used, err) == Need::More);
    REQUIRE(take_packet(rest, p, used, err) == Need::Packet);
    CHECK(p.command == 'h');
    CHECK(p.data == "X-A\0v\0"s);

    CHECK(take_packet("\0\0\0\0c"s, p, used, err) == Need::Error);
    CHECK(take_packet("\x7f\0\0\0c"s, p, used, err) == Need::Error);
    CHECK(err.find("over") != std::string::npos);
    CHECK(take_packet("\0\0\0\x09" "b"s, p, used, err, 8) == Need::Error);
}

TEST_CASE("milter: simple replies") {
    CHECK(reply_of('a', "").kind == ReplyKind::Accept);
    CHECK(reply_of('c', "").kind == ReplyKind::Continue);
    CHECK(reply_of('d', "").kind == ReplyKind::Discard);
    CHECK(reply_of('r', "").kind == ReplyKind::Reject);
    CHECK(reply_of('t', "").kind == ReplyKind::Tempfail);
    CHECK(reply_of('s', "").kind == ReplyKind::Skip);
    auto p = reply_of('p', "");
    CHECK(p.kind == ReplyKind::Progress);
    CHECK(!p.final());
    CHECK(reply_of('c', "").final());
    CHECK(error_of('Z', "") == "unknown reply 'Z'");
    CHECK(error_of('\x01', "") == "unknown reply 0x1");
}

TEST_CASE("milter: replycode, one line and several") {
    auto r = reply_of('y', "554 5.7.1 go away\0"s);
    CHECK(r.kind == ReplyKind::ReplyCode);
    CHECK(r.code == 554);
    CHECK(r.esc == "5.7.1");
    REQUIRE(r.lines.size() == 1);
    CHECK(r.lines[0] == "go away");

    r = reply_of('y', "451-4.7.0 first\r\n451-4.7.0 second\r\n451 4.7.0 third\0"s);
    CHECK(r.code == 451);
    CHECK(r.esc == "4.7.0");
    CHECK(r.lines == std::vector<std::string>{"first", "second", "third"});

    r = reply_of('y', "550 no enhanced code");
    CHECK(r.esc.empty());
    CHECK(r.lines[0] == "no enhanced code");
    r = reply_of('y', "550 4.7.1 class mismatch");   // a 4.x.x esc on a 5xx is dropped
    CHECK(r.esc.empty());
    r = reply_of('y', "550");
    CHECK(r.lines == std::vector<std::string>{""});

    CHECK(error_of('y', "250 2.0.0 ok") == "replycode 250 is not 4xx or 5xx");
    CHECK(error_of('y', "55x nope").find("without a reply code") != std::string::npos);
    CHECK(error_of('y', "550-5.7.1 a\r\n450 4.7.1 b").find("different codes") != std::string::npos);
    CHECK(error_of('y', "550 5.7.1 a\r\n550 5.7.1 b").find("separator") != std::string::npos);
    CHECK(error_of('y', "").find("without a reply code") != std::string::npos);
    // Controls in the text never reach the client.
    r = reply_of('y', "550 5.7.1 a\tb\x01" "c");
    CHECK(r.lines[0] == "a bc");
}

TEST_CASE("milter: header modifications") {
    auto r = reply_of('h', "X-Milter\0yes\0"s);
    CHECK(r.kind == ReplyKind::AddHeader);
    CHECK(r.name == "X-Milter");
    CHECK(r.value == "yes");
    r = reply_of('m', "\0\0\0\x02Subject\0\0"s);
    CHECK(r.kind == ReplyKind::ChangeHeader);
    CHECK(r.index == 2);
    CHECK(r.name == "Subject");
    CHECK(r.value.empty());   // empty value: delete
    r = reply_of('i', "\0\0\0\0DKIM-Signature\0v=1;\n\tb=x\0"s);
    CHECK(r.kind == ReplyKind::InsertHeader);
    CHECK(r.index == 0);
    CHECK(r.value == "v=1;\n\tb=x");
    CHECK(!error_of('h', "X-Milter\0yes"s).empty());
    CHECK(!error_of('h', "\0yes\0"s).empty());
    CHECK(!error_of('h', "a\0b\0c\0"s).empty());
    CHECK(error_of('m', "\0\0\0") == "header reply without an index");
    CHECK(!error_of('i', "\0\0\0\0X\0"s).empty());
}

TEST_CASE("milter: envelope modifications, body, quarantine") {
    auto r = reply_of('+', "<new@example.org>\0"s);
    CHECK(r.kind == ReplyKind::AddRcpt);
    CHECK(r.name == "<new@example.org>");
    r = reply_of('2', "<p@example.org>\0NOTIFY=NEVER\0"s);
    CHECK(r.kind == ReplyKind::AddRcptPar);
    CHECK(r.value == "NOTIFY=NEVER");
    r = reply_of('-', "<old@example.org>\0"s);
    CHECK(r.kind == ReplyKind::DeleteRcpt);
    r = reply_of('e', "<from@example.org>\0"s);
    CHECK(r.kind == ReplyKind::ChangeFrom);
    CHECK(r.value.empty());
    r = reply_of('e', "<from@example.org>\0SIZE=1\0"s);
    CHECK(r.value == "SIZE=1");
    CHECK(!error_of('+', "<a@b>\0x\0"s).empty());
    CHECK(!error_of('-', "").empty());
    CHECK(!error_of('e', "<a@b>"s).empty());
    r = reply_of('b', "new body\r\n\0x"s);
    CHECK(r.kind == ReplyKind::ReplaceBody);
    CHECK(r.value == "new body\r\n\0x"s);
    r = reply_of('q', "held for review\0"s);
    CHECK(r.kind == ReplyKind::Quarantine);
    CHECK(r.value == "held for review");
    CHECK(!r.final());
}

TEST_CASE("milter: option negotiation with SETSYMLIST") {
    std::string d = "\0\0\0\x06\0\0\x01\x01\0\0\0\x10"s;
    d += "\0\0\0\x00{client_addr} j\0"s;
    d += "\0\0\0\x05i\0"s;
    d += "\0\0\0\x09ignored\0"s;   // an unknown stage is skipped
    auto r = reply_of('O', d);
    CHECK(r.kind == ReplyKind::OptNeg);
    CHECK(r.optneg.version == 6);
    CHECK(r.optneg.actions == (kAddHeaders | kSetSymList));
    CHECK(r.optneg.protocol == kNoBody);
    REQUIRE(r.optneg.macros[0]);
    CHECK(*r.optneg.macros[0] == "{client_addr} j");
    REQUIRE(r.optneg.macros[5]);
    CHECK(*r.optneg.macros[5] == "i");
    CHECK(!r.optneg.macros[1]);
    CHECK(error_of('O', "\0\0\0\x06"s) == "optneg shorter than 12 octets");
    CHECK(!error_of('O', d.substr(0, 14)).empty());
    CHECK(!error_of('O', "\0\0\0\x06\0\0\0\0\0\0\0\0\0\0\0\0x"s).empty());
}

}  // namespace ASMTPD_TEST_UNIT
