// xclient_test.cpp - tests core/proto/xclient.cpp: Postfix's XCLIENT attributes, xtext,
// [UNAVAILABLE], and a precise error for every bad attribute.
#include "core/proto/xclient.hpp"

#include <doctest/doctest.h>

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd::proto;

TEST_CASE("xclient: attributes are decoded and checked") {
    auto p = parse_xclient("NAME=mail.example.org ADDR=192.0.2.7 port=4711 PROTO=esmtp HELO=client+2Eexample LOGIN=[UNAVAILABLE]");
    REQUIRE(p.error.empty());
    REQUIRE(p.attrs.size() == 6);
    CHECK(p.attrs[0].name == "NAME");
    CHECK(*p.attrs[0].value == "mail.example.org");
    CHECK(*p.attrs[1].value == "192.0.2.7");
    CHECK(p.attrs[2].name == "PORT");
    CHECK(*p.attrs[3].value == "ESMTP");
    CHECK(*p.attrs[4].value == "client.example");
    CHECK(!p.attrs[5].value);
    auto v6 = parse_xclient("ADDR=IPV6:2001:db8::7");
    REQUIRE(v6.error.empty());
    CHECK(*v6.attrs[0].value == "2001:db8::7");
}

TEST_CASE("xclient: errors name the attribute") {
    CHECK(parse_xclient("ADDR=999.1.1.1").error == "ADDR: not an IP address");
    CHECK(parse_xclient("PORT=70000").error == "PORT: not a port number");
    CHECK(parse_xclient("PROTO=LMTP").error == "PROTO: must be SMTP or ESMTP");
    CHECK(parse_xclient("COLOR=red").error == "unknown attribute COLOR");
    CHECK(parse_xclient("NAME").error == "attribute=value expected");
    CHECK(parse_xclient("HELO=a+0Db").error == "bad xtext in HELO");   // a CR never decodes
    CHECK(parse_xclient("NAME=+zz").error == "bad xtext in NAME");
    CHECK(parse_xclient("").error == "no attributes");
}

}  // namespace ASMTPD_TEST_UNIT
