// spf_record_test.cpp - tests core/proto/spf_record.cpp: RFC 7208 §4.5 record selection
// text, §4.6 term syntax, §5 mechanism arguments, §6 modifiers, and the syntax errors that
// make a record a permerror.
#include "core/proto/spf_record.hpp"

#include <doctest/doctest.h>

#include <string>

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd::proto::spf;

namespace {
Record ok(std::string_view txt) {
    auto p = parse_record(txt);
    INFO(std::string(txt), " -> ", p.error);
    REQUIRE(p.record);
    return *p.record;
}
void bad(std::string_view txt) {
    CAPTURE(std::string(txt));
    auto p = parse_record(txt);
    CHECK_FALSE(p.record);
    CHECK_FALSE(p.error.empty());
}
}  // namespace

TEST_CASE("§4.5 version: exactly v=spf1, ended by SP or the end, any case") {
    CHECK(is_spf_record("v=spf1"));
    CHECK(is_spf_record("v=spf1 -all"));
    CHECK(is_spf_record("V=SPF1 -all"));
    CHECK_FALSE(is_spf_record("v=spf10 -all"));
    CHECK_FALSE(is_spf_record("v=spf1-all"));
    CHECK_FALSE(is_spf_record(" v=spf1 -all"));
    CHECK_FALSE(is_spf_record("spf2.0/pra -all"));
    CHECK_FALSE(is_spf_record("v=spf"));
    CHECK(ok("v=spf1").directives.empty());
    CHECK(ok("v=spf1   ").directives.empty());
}

TEST_CASE("§4.6.1/§4.6.2 qualifiers and default +") {
    auto r = ok("v=spf1 all +all -all ~all ?all");
    REQUIRE(r.directives.size() == 5);
    CHECK(r.directives[0].qualifier == Result::Pass);
    CHECK(r.directives[1].qualifier == Result::Pass);
    CHECK(r.directives[2].qualifier == Result::Fail);
    CHECK(r.directives[3].qualifier == Result::SoftFail);
    CHECK(r.directives[4].qualifier == Result::Neutral);
    bad("v=spf1 =all");
    bad("v=spf1 --all");
    bad("v=spf1 !all");
}

TEST_CASE("§5 mechanism names are case-insensitive; terms split on one or more SP") {
    auto r = ok("v=spf1  MX   A:Example.COM  IP4:192.0.2.0/24 Include:_spf.example.net ~ALL");
    REQUIRE(r.directives.size() == 5);
    CHECK(r.directives[0].mechanism == Mechanism::Mx);
    CHECK(r.directives[1].mechanism == Mechanism::A);
    CHECK(r.directives[1].domain_spec == "Example.COM");
    CHECK(r.directives[2].mechanism == Mechanism::Ip4);
    CHECK(r.directives[3].mechanism == Mechanism::Include);
    CHECK(r.directives[4].mechanism == Mechanism::All);
    CHECK(r.directives[3].text == "Include:_spf.example.net");
}

TEST_CASE("§5 unknown mechanisms and malformed arguments are permerrors") {
    for (const char* t : {"v=spf1 foo", "v=spf1 all:x", "v=spf1 all/24", "v=spf1 include", "v=spf1 include:",
                          "v=spf1 exists", "v=spf1 exists:", "v=spf1 a:", "v=spf1 mx:", "v=spf1 ptr:",
                          "v=spf1 ip4", "v=spf1 ip4:", "v=spf1 ip6:", "v=spf1 a:example.com:8080",
                          "v=spf1 a,mx", "v=spf1 a:foo", "v=spf1 ptr/24", "v=spf1 exists:%{d}/24x",
                          "v=spf1 include:example.com/24", "v=spf1 mx:%{q}.example.com",
                          "v=spf1 -a:example.com\t-all", "v=spf1 a:caf\xc3\xa9.example"})
        bad(t);
}

TEST_CASE("§5.3/§5.4 a and mx: optional domain, dual CIDR lengths") {
    auto r = ok("v=spf1 a a/24 a//64 a/24//64 a:example.com/0//0 mx:%{d}/32//128 mx/16");
    REQUIRE(r.directives.size() == 7);
    CHECK(r.directives[0].domain_spec.empty());
    CHECK((r.directives[0].cidr4 == 32 && r.directives[0].cidr6 == 128));
    CHECK((r.directives[1].cidr4 == 24 && r.directives[1].cidr6 == 128));
    CHECK((r.directives[2].cidr4 == 32 && r.directives[2].cidr6 == 64));
    CHECK((r.directives[3].cidr4 == 24 && r.directives[3].cidr6 == 64));
    CHECK(r.directives[4].domain_spec == "example.com");
    CHECK((r.directives[4].cidr4 == 0 && r.directives[4].cidr6 == 0));
    CHECK(r.directives[5].domain_spec == "%{d}");
    CHECK(r.directives[6].cidr4 == 16);
    for (const char* t : {"v=spf1 a/33", "v=spf1 a//129", "v=spf1 a/024", "v=spf1 a//064", "v=spf1 a/",
                          "v=spf1 a//", "v=spf1 mx/24/64", "v=spf1 a/-1", "v=spf1 mx:example.com/33"})
        bad(t);
}

TEST_CASE("§5.6 ip4 and ip6 networks") {
    auto r = ok("v=spf1 ip4:192.0.2.1 ip4:192.0.2.0/24 ip4:10.0.0.0/8 ip6:2001:db8::/32 ip6:::1 ip6:::ffff:1.2.3.4/128");
    REQUIRE(r.directives.size() == 6);
    CHECK(r.directives[0].network.to_string() == "192.0.2.1/32");
    CHECK(r.directives[1].cidr4 == 24);
    CHECK(r.directives[3].network.to_string() == "2001:db8::/32");
    CHECK(r.directives[3].cidr6 == 32);
    // Host bits under the mask are allowed and ignored.
    CHECK(ok("v=spf1 ip4:192.0.2.77/24").directives[0].network.to_string() == "192.0.2.0/24");
    for (const char* t : {"v=spf1 ip4:192.0.2", "v=spf1 ip4:192.0.2.256", "v=spf1 ip4:192.0.02.1",
                          "v=spf1 ip4:192.0.2.1/33", "v=spf1 ip4:192.0.2.1//24", "v=spf1 ip4:2001:db8::1",
                          "v=spf1 ip6:192.0.2.1", "v=spf1 ip6:2001:db8::/129", "v=spf1 ip6:2001:db8:::1",
                          "v=spf1 ip6:fe80::1%eth0", "v=spf1 ip4:example.com", "v=spf1 ip4:192.0.2.1/",
                          "v=spf1 ip6:2001:db8::/032", "v=spf1 ip4:1.2.3.4/24//64"})
        bad(t);
}

TEST_CASE("§6 modifiers: redirect and exp at most once, unknown ones ignored but checked") {
    auto r = ok("v=spf1 -all exp=explain._spf.%{d} redirect=_spf.example.com moo=%{l}x foo.bar-baz_q=");
    CHECK(r.directives.size() == 1);
    REQUIRE(r.redirect);
    CHECK(*r.redirect == "_spf.example.com");
    REQUIRE(r.exp);
    CHECK(*r.exp == "explain._spf.%{d}");
    CHECK(ok("v=spf1 Redirect=example.com").redirect);
    bad("v=spf1 redirect=a.example.com redirect=b.example.com");
    bad("v=spf1 exp=a.example.com exp=b.example.com");
    bad("v=spf1 redirect=");
    bad("v=spf1 exp=");
    bad("v=spf1 redirect=example");
    bad("v=spf1 moo=%{x}");
    bad("v=spf1 moo=%");
    bad("v=spf1 1moo=x");     // not a name, so a directive, and an unknown one
}

}  // namespace ASMTPD_TEST_UNIT
