// spf_mechanisms_test.cpp - tests core/proto/spf_mechanisms.cpp: every mechanism of RFC
// 7208 §5 and its DNS error rules, fed with answers from a spf_test::Zone.
#include <doctest/doctest.h>

#include "t/core/proto/spf_zone.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace spf_test;

TEST_CASE("§5.1 all always matches") {
    Zone z;
    z.txt("example.com", {"v=spf1 ~all"});
    CHECK(result(z, "192.0.2.1") == Result::SoftFail);
    CHECK(result(z, "2001:db8::1") == Result::SoftFail);
}

TEST_CASE("§5.2 include: pass matches, fail/softfail/neutral do not, errors propagate, none -> permerror") {
    Zone z;
    z.txt("pass.example.net", {"v=spf1 +all"});
    z.txt("fail.example.net", {"v=spf1 -all"});
    z.txt("soft.example.net", {"v=spf1 ~all"});
    z.txt("neutral.example.net", {"v=spf1 ?all"});
    z.txt("perm.example.net", {"v=spf1 moo"});
    z.fail("temp.example.net", QType::TXT);
    struct Row {
        const char* target;
        Result expect;
    };
    for (Row row : {Row{"pass", Result::Fail}, Row{"fail", Result::SoftFail}, Row{"soft", Result::SoftFail},
                    Row{"neutral", Result::SoftFail}, Row{"perm", Result::PermError},
                    Row{"temp", Result::TempError}, Row{"none", Result::PermError}}) {
        CAPTURE(std::string(row.target));
        z.rr.erase({"example.com", QType::TXT});
        z.txt("example.com", {std::string("v=spf1 -include:") + row.target + ".example.net ~all"});
        CHECK(result(z, "192.0.2.1") == row.expect);
    }
}

TEST_CASE("§5.2 include evaluates the target with its own <domain> for macros") {
    Zone z;
    z.txt("example.com", {"v=spf1 include:_spf.example.net -all"});
    z.txt("_spf.example.net", {"v=spf1 exists:%{d}.%{o}.check.example.org -all"});
    z.a("_spf.example.net.example.com.check.example.org", {"127.0.0.2"});
    CHECK(result(z, "192.0.2.1") == Result::Pass);
}

TEST_CASE("§5.3 a: the domain's addresses with CIDR lengths, the client's family only") {
    Zone z;
    z.txt("example.com", {"v=spf1 a -all"});
    z.a("example.com", {"192.0.2.1", "192.0.2.2"});
    z.aaaa("example.com", {"2001:db8::1"});
    CHECK(result(z, "192.0.2.2") == Result::Pass);
    CHECK(result(z, "192.0.2.3") == Result::Fail);
    CHECK(result(z, "2001:db8::1") == Result::Pass);
    CHECK(result(z, "2001:db8::2") == Result::Fail);

    z.txt("cidr.example.com", {"v=spf1 a:example.com/24//64 -all"});
    CHECK(result(z, "192.0.2.200", "u@cidr.example.com") == Result::Pass);
    CHECK(result(z, "192.0.3.1", "u@cidr.example.com") == Result::Fail);
    CHECK(result(z, "2001:db8::ffff:1", "u@cidr.example.com") == Result::Pass);
    CHECK(result(z, "2001:db8:1::1", "u@cidr.example.com") == Result::Fail);

    z.asked.clear();
    CHECK(result(z, "2001:db8::9") == Result::Fail);
    CHECK(z.count("example.com", QType::AAAA) == 1);
    CHECK(z.count("example.com", QType::A) == 0);
}

TEST_CASE("§5 DNS errors in a mechanism: SERVFAIL/timeout temperror, NXDOMAIN no match") {
    Zone z;
    z.txt("example.com", {"v=spf1 a:down.example.net ip4:192.0.2.1 -all"});
    z.fail("down.example.net", QType::A);
    CHECK(result(z, "192.0.2.1") == Result::TempError);
    z.fail("down.example.net", QType::A, DnsStatus::Timeout);
    CHECK(result(z, "192.0.2.1") == Result::TempError);
    z.rr.erase({"down.example.net", QType::A});
    CHECK(result(z, "192.0.2.1") == Result::Pass);   // NXDOMAIN: as no records, go on
}

TEST_CASE("§5.4 mx: the exchanges' addresses, CIDR lengths, errors") {
    Zone z;
    z.txt("example.com", {"v=spf1 mx mx:other.example.net/24 -all"});
    z.mx("example.com", {"mx1.example.com", "mx2.example.com"});
    z.a("mx1.example.com", {"192.0.2.1"});
    z.a("mx2.example.com", {"192.0.2.2"});
    z.mx("other.example.net", {"mx.other.example.net"});
    z.a("mx.other.example.net", {"198.51.100.1"});
    CHECK(result(z, "192.0.2.2") == Result::Pass);
    CHECK(result(z, "198.51.100.99") == Result::Pass);
    CHECK(result(z, "203.0.113.1") == Result::Fail);

    z.fail("mx2.example.com", QType::A);
    CHECK(result(z, "192.0.2.1") == Result::TempError);
    z.rr.erase({"mx2.example.com", QType::A});
    z.fail("example.com", QType::MX);
    CHECK(result(z, "192.0.2.1") == Result::TempError);
}

TEST_CASE("§5.4 mx with an IPv6 client: AAAA of each exchange, //cidr6") {
    Zone z;
    z.txt("example.com", {"v=spf1 mx//64 -all"});
    z.mx("example.com", {"mx.example.com"});
    z.a("mx.example.com", {"192.0.2.1"});
    z.aaaa("mx.example.com", {"2001:db8:1::25"});
    CHECK(result(z, "2001:db8:1::ffff") == Result::Pass);
    CHECK(result(z, "2001:db8:2::25") == Result::Fail);
    CHECK(z.count("mx.example.com", QType::A) == 0);
}

TEST_CASE("§5.5 ptr: only validated names match, the domain or a subdomain of it") {
    Zone z;
    z.txt("example.com", {"v=spf1 ptr -all"});
    z.ptr("1.2.0.192.in-addr.arpa", {"mail.example.com", "liar.example.com", "other.example.net"});
    z.a("mail.example.com", {"192.0.2.1"});
    z.a("liar.example.com", {"203.0.113.5"});
    z.a("other.example.net", {"192.0.2.1"});
    CHECK(result(z, "192.0.2.1") == Result::Pass);

    z.ptr("2.2.0.192.in-addr.arpa", {"liar.example.com"});   // claims example.com, not validated
    CHECK(result(z, "192.0.2.2") == Result::Fail);

    z.txt("ptrspec.example.com", {"v=spf1 ptr:example.net -all"});
    CHECK(result(z, "192.0.2.1", "u@ptrspec.example.com") == Result::Pass);
    z.txt("notsuffix.example.com", {"v=spf1 ptr:ample.com -all"});
    CHECK(result(z, "192.0.2.1", "u@notsuffix.example.com") == Result::Fail);
}

TEST_CASE("§5.5 ptr: a PTR error is no match; an address lookup error skips that name") {
    Zone z;
    z.txt("example.com", {"v=spf1 ptr ?all"});
    z.fail("1.2.0.192.in-addr.arpa", QType::PTR);
    CHECK(result(z, "192.0.2.1") == Result::Neutral);
    z.ptr("3.2.0.192.in-addr.arpa", {"broken.example.com", "good.example.com"});
    z.fail("broken.example.com", QType::A);
    z.a("good.example.com", {"192.0.2.3"});
    CHECK(result(z, "192.0.2.3") == Result::Pass);
}

TEST_CASE("§5.5 ptr with an IPv6 client uses ip6.arpa and AAAA") {
    Zone z;
    z.txt("example.com", {"v=spf1 ptr -all"});
    z.ptr(*asmtpd::proto::dns_reverse_name("2001:db8::25"), {"mail.example.com"});
    z.aaaa("mail.example.com", {"2001:db8::25"});
    CHECK(result(z, "2001:db8::25") == Result::Pass);
}

TEST_CASE("§5.6 ip4/ip6: prefix match, never across families") {
    Zone z;
    z.txt("example.com", {"v=spf1 ip4:192.0.2.0/25 ip6:2001:db8::/48 ip6:::ffff:0:0/96 -all"});
    CHECK(result(z, "192.0.2.127") == Result::Pass);
    CHECK(result(z, "192.0.2.128") == Result::Fail);
    CHECK(result(z, "2001:db8:0:ffff::1") == Result::Pass);
    CHECK(result(z, "2001:db8:1::1") == Result::Fail);
    z.txt("zero.example.com", {"v=spf1 ip4:0.0.0.0/0 -all"});
    CHECK(result(z, "203.0.113.1", "u@zero.example.com") == Result::Pass);
    CHECK(result(z, "2001:db8::1", "u@zero.example.com") == Result::Fail);
    CHECK(z.asked.size() == 6);   // ip4/ip6 ask no DNS: only the TXT lookups
}

TEST_CASE("§5.7 exists: any A record matches, A even for IPv6 clients") {
    Zone z;
    z.txt("example.com", {"v=spf1 exists:%{ir}.%{v}.bl.example.net -all"});
    z.a("1.2.0.192.in-addr.bl.example.net", {"127.0.0.2"});
    CHECK(result(z, "192.0.2.1") == Result::Pass);
    CHECK(result(z, "192.0.2.2") == Result::Fail);
    std::string six = "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.bl.example.net";
    z.a(six, {"127.0.0.2"});
    z.asked.clear();
    CHECK(result(z, "2001:db8::1") == Result::Pass);
    CHECK(z.count(six, QType::A) == 1);
}

TEST_CASE("§7.3 %{p}: the validated name, preferring <domain> and its subdomains") {
    Zone z;
    z.txt("example.com", {"v=spf1 exists:%{p}.allow.example.net -all"});
    z.ptr("1.2.0.192.in-addr.arpa", {"a.example.org", "mail.example.com"});
    z.a("a.example.org", {"192.0.2.1"});
    z.a("mail.example.com", {"192.0.2.1"});
    z.a("mail.example.com.allow.example.net", {"127.0.0.2"});
    CHECK(result(z, "192.0.2.1") == Result::Pass);
    z.a("unknown.allow.example.net", {"127.0.0.2"});
    z.txt("nop.example.com", {"v=spf1 exists:%{p}.allow.example.net -all"});
    CHECK(result(z, "192.0.2.9", "u@nop.example.com") == Result::Pass);   // no PTR: "unknown"
}

TEST_CASE("domain-specs that expand to no valid name are void, not a query") {
    Zone z;
    z.txt("example.com", {"v=spf1 a:%{l}.example.com ?all"});
    auto o = check(z, "192.0.2.1", "a..b@example.com");
    CHECK(o.result == Result::Neutral);
    CHECK(o.void_lookups == 1);
    CHECK(z.asked.size() == 1);
}

}  // namespace ASMTPD_TEST_UNIT
