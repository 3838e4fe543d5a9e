// ip_list_test.cpp - tests core/proto/ip_list.cpp: hosts, networks, qmail prefixes.
#include <doctest/doctest.h>

#include "core/proto/ip_list.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd::proto;

TEST_CASE("parse_ip_entry: the three forms") {
    auto host = parse_ip_entry("192.0.2.7");
    REQUIRE(host);
    CHECK(host->contains("192.0.2.7"));
    CHECK_FALSE(host->contains("192.0.2.8"));

    auto net = parse_ip_entry("10.0.0.0/8");
    REQUIRE(net);
    CHECK(net->contains("10.200.3.4"));

    auto p1 = parse_ip_entry("192.168.");
    REQUIRE(p1);
    CHECK(p1->to_string() == "192.168.0.0/16");
    CHECK(parse_ip_entry("10.")->to_string() == "10.0.0.0/8");
    CHECK(parse_ip_entry("1.2.3.")->to_string() == "1.2.3.0/24");
    CHECK(parse_ip_entry("1.2.3.")->contains("1.2.3.255"));
    CHECK_FALSE(parse_ip_entry("1.2.3.")->contains("1.2.30.1"));

    auto v6 = parse_ip_entry("2001:db8:");
    REQUIRE(v6);
    CHECK(v6->contains("2001:db8::1"));
    CHECK(v6->contains("2001:0db8:ffff::1"));
    CHECK_FALSE(v6->contains("2001:db9::1"));
    CHECK(parse_ip_entry("2001:db8::"));             // a full address, not a prefix
    CHECK(parse_ip_entry("2001:db8::")->contains("2001:db8::"));
    CHECK_FALSE(parse_ip_entry("2001:db8::")->contains("2001:db8::1"));
}

TEST_CASE("parse_ip_entry: malformed entries") {
    for (const char* bad : {"", ".", ":", "256.", "1.2.3.4.", "1..", "a.b.", "1.2.3.4/33", "host.example",
                            "1.2.3.4 ", " 1.2.3.4", "12345:", "1:2:3:4:5:6:7:8:", "g:", "1.2.3.4-10",
                            "0001.", "-1."}) {
        CAPTURE(bad);
        CHECK_FALSE(parse_ip_entry(bad));
    }
}

TEST_CASE("IpList: parse collects bad entries, matches any entry, mapped peers") {
    std::vector<std::string> bad;
    auto list = IpList::parse({"127.0.0.1", "oops", "10.", "::1", "2001:db8::/32", "300.1.1.1"}, &bad);
    CHECK(list.size() == 4);
    REQUIRE(bad.size() == 2);
    CHECK(bad[0] == "oops");
    CHECK(bad[1] == "300.1.1.1");
    CHECK(list.matches("127.0.0.1"));
    CHECK(list.matches("10.9.8.7"));
    CHECK(list.matches("::ffff:10.9.8.7"));
    CHECK(list.matches("::1"));
    CHECK(list.matches("2001:db8:1::2"));
    CHECK_FALSE(list.matches("100.9.8.7"));
    CHECK_FALSE(list.matches("::2"));
    CHECK_FALSE(list.matches(""));
    CHECK_FALSE(list.matches("not an ip"));
    IpList empty;
    CHECK(empty.empty());
    CHECK_FALSE(empty.matches("127.0.0.1"));
    CHECK_FALSE(empty.add("nope"));
    CHECK(empty.add("127.0.0."));
    CHECK(empty.matches("127.0.0.99"));
}

}  // namespace ASMTPD_TEST_UNIT
