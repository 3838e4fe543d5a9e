// spf_limits_test.cpp - tests the processing limits of RFC 7208 §4.6.4 (and §11.1's reasons
// for them) in core/proto/spf_eval.cpp / spf_mechanisms.cpp: 10 DNS-querying terms, 2 void
// lookups, 10 MX names, 10 PTR names, and include/redirect loops ending as permerror.
#include <doctest/doctest.h>

#include <string>

#include "t/core/proto/spf_zone.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace spf_test;

namespace {
// "v=spf1 a:h1.example.net ... a:hN.example.net -all" with every host resolving elsewhere.
std::string a_terms(int n, std::string tail = "-all") {
    std::string rec = "v=spf1";
    for (int i = 1; i <= n; ++i) rec += " a:h" + std::to_string(i) + ".example.net";
    return rec + " " + tail;
}
void hosts(Zone& z, int n) {
    for (int i = 1; i <= n; ++i) z.a("h" + std::to_string(i) + ".example.net", {"203.0.113." + std::to_string(i)});
}
}  // namespace

TEST_CASE("§4.6.4 ten DNS-querying terms are fine, the eleventh is permerror") {
    Zone z;
    hosts(z, 11);
    z.txt("ten.example.com", {a_terms(10)});
    z.txt("eleven.example.com", {a_terms(11)});
    auto ten = check(z, "192.0.2.1", "u@ten.example.com");
    CHECK(ten.result == Result::Fail);
    CHECK(ten.lookups == 10);
    auto eleven = check(z, "192.0.2.1", "u@eleven.example.com");
    CHECK(eleven.result == Result::PermError);
    CHECK(eleven.problem.find("10") != std::string::npos);
    // The limit is only reached when evaluation gets there: a match before it wins.
    z.txt("early.example.com", {"v=spf1 ip4:192.0.2.1 " + a_terms(11).substr(7)});
    CHECK(result(z, "192.0.2.1", "u@early.example.com") == Result::Pass);
}

TEST_CASE("§4.6.4 all, ip4, ip6 and exp= do not count; include, a, mx, ptr, exists, redirect do") {
    Zone z;
    hosts(z, 10);
    z.txt("free.example.com", {a_terms(10, "ip4:198.51.100.0/24 ip6:2001:db8::/32 -all exp=e.example.com")});
    z.txt("e.example.com", {"nope"});
    CHECK(result(z, "198.51.100.1", "u@free.example.com") == Result::Pass);
    CHECK(result(z, "192.0.2.1", "u@free.example.com") == Result::Fail);

    z.txt("inc.example.com", {a_terms(9, "include:leaf.example.com -all")});
    z.txt("leaf.example.com", {"v=spf1 a:h10.example.net -all"});   // 9 + include + 1 = 11
    CHECK(result(z, "192.0.2.1", "u@inc.example.com") == Result::PermError);

    z.txt("red.example.com", {a_terms(10, "redirect=leaf2.example.com")});
    z.txt("leaf2.example.com", {"v=spf1 ip4:192.0.2.1 -all"});   // 10 + redirect = 11
    CHECK(result(z, "192.0.2.1", "u@red.example.com") == Result::PermError);

    for (const char* mech : {"mx:h1.example.net", "ptr", "exists:h1.example.net"}) {
        CAPTURE(std::string(mech));
        z.rr.erase({"m.example.com", QType::TXT});
        z.txt("m.example.com", {a_terms(10, std::string(mech) + " -all")});
        CHECK(result(z, "192.0.2.1", "u@m.example.com") == Result::PermError);
    }
}

TEST_CASE("§4.6.4 include and redirect loops end as permerror") {
    Zone z;
    z.txt("loop.example.com", {"v=spf1 include:loop.example.com -all"});
    CHECK(result(z, "192.0.2.1", "u@loop.example.com") == Result::PermError);
    z.txt("r1.example.com", {"v=spf1 redirect=r2.example.com"});
    z.txt("r2.example.com", {"v=spf1 redirect=r1.example.com"});
    CHECK(result(z, "192.0.2.1", "u@r1.example.com") == Result::PermError);
}

TEST_CASE("§4.6.4 two void lookups are fine, the third is permerror") {
    Zone z;
    z.txt("two.example.com", {"v=spf1 a:nx1.example.net a:nx2.example.net ip4:192.0.2.1 -all"});
    z.txt("three.example.com", {"v=spf1 a:nx1.example.net a:nx2.example.net mx:nx3.example.net ip4:192.0.2.1 -all"});
    z.txt("nodata.example.net", {"not spf"});   // exists with other types: NODATA is void too
    z.txt("mixed.example.com", {"v=spf1 a:nx1.example.net exists:nodata.example.net a:nx2.example.net +all"});
    auto two = check(z, "192.0.2.1", "u@two.example.com");
    CHECK(two.result == Result::Pass);
    CHECK(two.void_lookups == 2);
    auto three = check(z, "192.0.2.1", "u@three.example.com");
    CHECK(three.result == Result::PermError);
    CHECK(three.problem.find("void") != std::string::npos);
    CHECK(result(z, "192.0.2.1", "u@mixed.example.com") == Result::PermError);
}

TEST_CASE("§4.6.4 more than 10 MX names is permerror; 10 is fine") {
    Zone z;
    std::vector<std::string> ten, eleven;
    for (int i = 1; i <= 11; ++i) {
        std::string h = "mx" + std::to_string(i) + ".example.com";
        z.a(h, {"203.0.113." + std::to_string(i)});
        (i <= 10 ? ten : eleven).push_back(h);
    }
    eleven.insert(eleven.begin(), ten.begin(), ten.end());
    z.mx("ten.example.com", ten);
    z.mx("eleven.example.com", eleven);
    z.txt("ten.example.com", {"v=spf1 mx -all"});
    z.txt("eleven.example.com", {"v=spf1 mx -all"});
    CHECK(result(z, "203.0.113.10", "u@ten.example.com") == Result::Pass);
    CHECK(result(z, "203.0.113.1", "u@eleven.example.com") == Result::PermError);
}

TEST_CASE("§4.6.4 only the first 10 PTR names are looked at") {
    Zone z;
    std::vector<std::string> names;
    for (int i = 1; i <= 11; ++i) {
        std::string h = "n" + std::to_string(i) + ".example.com";
        z.a(h, {i == 11 ? "192.0.2.1" : "203.0.113.1"});
        names.push_back(h);
    }
    z.ptr("1.2.0.192.in-addr.arpa", names);
    z.txt("example.com", {"v=spf1 ptr ?all"});
    auto o = check(z, "192.0.2.1", "u@example.com");
    CHECK(o.result == Result::Neutral);
    CHECK(z.count("n11.example.com", QType::A) == 0);
}

}  // namespace ASMTPD_TEST_UNIT
