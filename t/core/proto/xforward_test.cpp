// xforward_test.cpp - tests core/proto/xforward.cpp: Postfix's XFORWARD attributes, xtext,
// [UNAVAILABLE] / [TEMPUNAVAIL], and a precise error for every bad attribute.
#include "core/proto/xforward.hpp"

#include <doctest/doctest.h>

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd::proto;

TEST_CASE("xforward: what Postfix's smtp client sends is decoded and checked") {
    auto p = parse_xforward("NAME=mail.example.org ADDR=192.0.2.7 port=4711 PROTO=esmtp HELO=client+2Eexample "
                            "IDENT=4Xyz1Q2w3 source=remote");
    REQUIRE(p.error.empty());
    REQUIRE(p.attrs.size() == 7);
    CHECK(p.attrs[0].name == "NAME");
    CHECK(*p.attrs[0].value == "mail.example.org");
    CHECK(*p.attrs[1].value == "192.0.2.7");
    CHECK(p.attrs[2].name == "PORT");
    CHECK(*p.attrs[2].value == "4711");
    CHECK(*p.attrs[3].value == "ESMTP");
    CHECK(*p.attrs[4].value == "client.example");
    CHECK(*p.attrs[5].value == "4Xyz1Q2w3");
    CHECK(p.attrs[6].name == "SOURCE");
    CHECK(*p.attrs[6].value == "REMOTE");
    auto v6 = parse_xforward("ADDR=IPV6:2001:db8::7  PROTO=SMTP");
    REQUIRE(v6.error.empty());
    REQUIRE(v6.attrs.size() == 2);
    CHECK(*v6.attrs[0].value == "2001:db8::7");
}

TEST_CASE("xforward: unavailable values") {
    auto p = parse_xforward("NAME=[TEMPUNAVAIL] ADDR=[unavailable] HELO=[UNAVAILABLE]");
    REQUIRE(p.error.empty());
    REQUIRE(p.attrs.size() == 3);
    CHECK(!p.attrs[0].value);
    CHECK(p.attrs[0].temporary);
    CHECK(!p.attrs[1].value);
    CHECK(!p.attrs[1].temporary);
    CHECK(!p.attrs[2].value);
}

TEST_CASE("xforward: errors name the attribute") {
    CHECK(parse_xforward("ADDR=999.1.1.1").error == "ADDR: not an IP address");
    CHECK(parse_xforward("PORT=70000").error == "PORT: not a port number");
    CHECK(parse_xforward("PORT=-1").error == "PORT: not a port number");
    CHECK(parse_xforward("NAME=bad+2Fname").error == "NAME: not a host name");
    CHECK(parse_xforward("SOURCE=ELSEWHERE").error == "SOURCE: must be LOCAL or REMOTE");
    CHECK(parse_xforward("PROTO=" + std::string(65, 'X')).error == "PROTO: must be a word of at most 64 printable characters");
    CHECK(parse_xforward("HELO=a+20b").error == "HELO: must be printable ASCII without spaces");
    CHECK(parse_xforward("LOGIN=joe").error == "unknown attribute LOGIN");   // XCLIENT's, not XFORWARD's
    CHECK(parse_xforward("X\x01=1").error == "unknown attribute");
    CHECK(parse_xforward("NAME").error == "attribute=value expected");
    CHECK(parse_xforward("=x").error == "attribute=value expected");
    CHECK(parse_xforward("IDENT=a+0Db").error == "bad xtext in IDENT");   // a CR never decodes
    CHECK(parse_xforward("NAME=+zz").error == "bad xtext in NAME");
    CHECK(parse_xforward("ADDR=").error == "ADDR: not an IP address");
    CHECK(parse_xforward("").error == "no attributes");
    CHECK(parse_xforward("   ").error == "no attributes");
}

}  // namespace ASMTPD_TEST_UNIT
