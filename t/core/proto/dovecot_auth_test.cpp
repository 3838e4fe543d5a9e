// dovecot_auth_test.cpp - tests core/proto/dovecot_auth.cpp: the server's handshake lines and
// answers as Dovecot 2.3 sends them, FAIL's temporary flags, tab-escaping both ways, the request
// line a client sends, and lines that must not parse (bad ids, short VERSION).
#include "core/proto/dovecot_auth.hpp"

#include <doctest/doctest.h>

#include <string>

#include "core/proto/sasl.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd::proto;
using K = DovecotAuthKind;

namespace {
DovecotAuthLine parse_ok(std::string_view line) {
    std::string error;
    auto r = parse_dovecot_auth_line(line, error);
    REQUIRE_MESSAGE(r.has_value(), error);
    return *r;
}
bool refused(std::string_view line) {
    std::string error;
    auto r = parse_dovecot_auth_line(line, error);
    return !r && !error.empty();
}
}  // namespace

TEST_CASE("dovecot auth: the handshake as Dovecot 2.3 sends it") {
    auto v = parse_ok("VERSION\t1\t2");
    CHECK(v.kind == K::Version);
    CHECK(v.major == 1);
    CHECK(v.minor == 2);
    auto m = parse_ok("MECH\tPLAIN\tplaintext");
    CHECK(m.kind == K::Mech);
    CHECK(m.mech == "PLAIN");
    REQUIRE(m.flags.size() == 1);
    CHECK(m.flags[0] == "plaintext");
    CHECK(parse_ok("MECH\tLOGIN\tplaintext").mech == "LOGIN");
    CHECK(parse_ok("SPID\t12345").kind == K::Spid);
    CHECK(parse_ok("CUID\t7").kind == K::Cuid);
    CHECK(parse_ok("COOKIE\t0123456789abcdef0123456789abcdef").kind == K::Cookie);
    CHECK(parse_ok("DONE").kind == K::Done);
    CHECK(parse_ok("DONE\r").kind == K::Done);
    CHECK(parse_ok("NOTIFY\twhatever").kind == K::Unknown);
}

TEST_CASE("dovecot auth: OK, FAIL and CONT answers") {
    auto ok = parse_ok("OK\t3\tuser=alice@example.test");
    CHECK(ok.kind == K::Ok);
    CHECK(ok.id == 3);
    CHECK(ok.user == "alice@example.test");
    auto fail = parse_ok("FAIL\t4\tuser=bob\treason=Password expired");
    CHECK(fail.kind == K::Fail);
    CHECK(fail.id == 4);
    CHECK_FALSE(fail.temporary);
    CHECK(fail.reason == "Password expired");
    REQUIRE(fail.param("user") != nullptr);
    CHECK(*fail.param("user") == "bob");
    CHECK(fail.param("nope") == nullptr);
    CHECK(parse_ok("FAIL\t5\ttemp").temporary);
    CHECK(parse_ok("FAIL\t5\tcode=temp_fail\tuser=x").temporary);
    CHECK_FALSE(parse_ok("FAIL\t5\tcode=authz_fail").temporary);
    auto bare = parse_ok("FAIL\t6");
    CHECK(bare.params.empty());
    auto cont = parse_ok("CONT\t7\tVXNlcm5hbWU6");
    CHECK(cont.kind == K::Cont);
    CHECK(cont.challenge == "VXNlcm5hbWU6");
    CHECK(parse_ok("OK\t4294967295").id == 4294967295u);
}

TEST_CASE("dovecot auth: malformed lines are refused") {
    CHECK(refused("OK"));
    CHECK(refused("OK\t"));
    CHECK(refused("OK\t0"));
    CHECK(refused("OK\t-1"));
    CHECK(refused("OK\t4294967296"));
    CHECK(refused("FAIL\t12x"));
    CHECK(refused("CONT\t 1"));
    CHECK(refused("VERSION\t1"));
    CHECK(refused("VERSION\tx\t2"));
    CHECK(refused("MECH"));
    CHECK(refused("MECH\t"));
    CHECK(refused("DONE" + std::string(kDovecotAuthMaxLine, 'x')));
}

TEST_CASE("dovecot auth: tab escaping round-trips and unescapes user= values") {
    const std::string nasty = "a\tb\nc\rd\001e\001";
    const auto esc = dovecot_tab_escape(nasty);
    CHECK(esc.find_first_of("\t\r\n") == std::string::npos);
    CHECK(esc == "a\001tb\001nc\001rd\0011e\0011");
    CHECK(dovecot_tab_unescape(esc) == nasty);
    CHECK(dovecot_tab_unescape("x\001") == "x\001");
    CHECK(dovecot_tab_unescape("x\001z") == "x\001z");
    CHECK(parse_ok("OK\t1\tuser=a\001tb").user == "a\tb");
}

TEST_CASE("dovecot auth: the client's lines") {
    CHECK(dovecot_auth_handshake(4242) == "VERSION\t1\t1\nCPID\t4242\n");
    DovecotAuthRequest r;
    r.id = 9;
    r.local_ip = "127.0.0.1";
    r.remote_ip = "192.0.2.7";
    r.local_port = 587;
    r.remote_port = 40000;
    r.secured = true;
    r.initial_response = dovecot_plain_response("alice", "pw\tx");
    CHECK(r.initial_response == std::string("\0alice\0pw\tx", 11));
    CHECK(dovecot_auth_request_line(r) ==
          "AUTH\t9\tPLAIN\tservice=smtp\tnologin\tlip=127.0.0.1\trip=192.0.2.7\tlport=587\trport=40000\tsecured\tresp=" +
              base64_encode(r.initial_response) + "\n");
    DovecotAuthRequest bare;
    bare.service = "sub\tmission";
    bare.initial_response = "x";
    CHECK(dovecot_auth_request_line(bare) == "AUTH\t1\tPLAIN\tservice=sub\001tmission\tnologin\tresp=eA==\n");
}

}  // namespace ASMTPD_TEST_UNIT
