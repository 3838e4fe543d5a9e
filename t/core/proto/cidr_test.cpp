// cidr_test.cpp - tests core/proto/cidr.cpp: parsing, canonical text, matching across
// IPv4 / IPv6 / IPv4-mapped forms, and the inputs that must be refused.
#include "core/proto/cidr.hpp"

#include <doctest/doctest.h>

#include <arpa/inet.h>

#include <string>

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using asmtpd::proto::Cidr;
using asmtpd::proto::CidrList;
using asmtpd::proto::parse_cidr;
using asmtpd::proto::parse_ip;

TEST_CASE("IpAddress::to_string: every IPv4 octet value in every place, as inet_ntop writes it") {
    for (unsigned v = 0; v < 256; ++v)
        for (int place = 0; place < 4; ++place) {
            asmtpd::proto::IpAddress a;
            a.bytes[10] = a.bytes[11] = 0xff;
            for (int i = 0; i < 4; ++i) a.bytes[12 + i] = static_cast<std::uint8_t>(i == place ? v : 7 * i + 1);
            char want[INET_ADDRSTRLEN] = {};
            REQUIRE(inet_ntop(AF_INET, a.bytes.data() + 12, want, sizeof want));
            CHECK(a.to_string() == want);
        }
}

TEST_CASE("parse_ip: IPv4 and IPv6 literals") {
    auto a = parse_ip("192.0.2.7");
    REQUIRE(a);
    CHECK(a->is_v4());
    CHECK(a->to_string() == "192.0.2.7");

    auto m = parse_ip("::ffff:192.0.2.7");
    REQUIRE(m);
    CHECK(m->is_v4());
    CHECK(*m == *a);   // one representation for both spellings

    auto six = parse_ip("2001:DB8:0:0:0:0:0:1");
    REQUIRE(six);
    CHECK_FALSE(six->is_v4());
    CHECK(six->to_string() == "2001:db8::1");

    auto zone = parse_ip("fe80::1%eth0");
    REQUIRE(zone);
    CHECK(zone->to_string() == "fe80::1");

    CHECK(parse_ip("::")->to_string() == "::");
    CHECK(parse_ip("0.0.0.0")->to_string() == "0.0.0.0");
    CHECK(parse_ip("255.255.255.255"));
}

TEST_CASE("parse_ip: refuses everything that is not an address literal") {
    for (const char* bad : {"", " 1.2.3.4", "1.2.3.4 ", "1.2.3", "10.1", "1.2.3.4.5", "256.1.1.1",
                            "1.2.3.-1", "localhost", "example.com", "[::1]", "::1::2", "1.2.3.4%eth0",
                            "fe80::1%", ":::", "1.2.3.4/32", "0x7f.0.0.1", "gggg::1"}) {
        CAPTURE(std::string(bad));
        CHECK_FALSE(parse_ip(bad));
    }
    CHECK_FALSE(parse_ip(std::string_view("1.2.3.4\0", 8)));
    CHECK_FALSE(parse_ip(std::string(200, '1')));
}

TEST_CASE("parse_cidr: networks, single hosts and canonical text") {
    auto c = parse_cidr("10.0.0.0/8");
    REQUIRE(c);
    CHECK(c->to_string() == "10.0.0.0/8");
    CHECK(c->prefix == 104);

    auto host = parse_cidr("192.0.2.7");
    REQUIRE(host);
    CHECK(host->to_string() == "192.0.2.7/32");

    auto six = parse_cidr("::1/128");
    REQUIRE(six);
    CHECK(six->to_string() == "::1/128");
    CHECK(parse_cidr("::1")->to_string() == "::1/128");

    // Host bits under the mask are cleared, not an error.
    CHECK(parse_cidr("10.1.2.3/8")->to_string() == "10.0.0.0/8");
    CHECK(parse_cidr("2001:db8:ffff::1/32")->to_string() == "2001:db8::/32");
    CHECK(parse_cidr("172.16.0.0/12")->to_string() == "172.16.0.0/12");
    CHECK(parse_cidr("172.31.255.255/12")->to_string() == "172.16.0.0/12");
    CHECK(parse_cidr("0.0.0.0/0")->to_string() == "0.0.0.0/0");
    CHECK(parse_cidr("::/0")->to_string() == "::/0");
    CHECK(parse_cidr("10.0.0.0/08")->to_string() == "10.0.0.0/8");
}

TEST_CASE("parse_cidr: refuses bad prefixes and junk") {
    for (const char* bad : {"10.0.0.0/", "10.0.0.0/33", "::/129", "10.0.0.0/-1", "10.0.0.0/+8",
                            "10.0.0.0/8/8", "10.0.0.0/ 8", "10.0.0.0/8 ", "/8", "10/8", "10.0.0.0/1000",
                            "host.example/24", "10.0.0.0/a", ""}) {
        CAPTURE(std::string(bad));
        CHECK_FALSE(parse_cidr(bad));
    }
}

TEST_CASE("Cidr::contains: boundaries") {
    auto c = *parse_cidr("192.168.1.0/24");
    CHECK(c.contains("192.168.1.0"));
    CHECK(c.contains("192.168.1.255"));
    CHECK_FALSE(c.contains("192.168.0.255"));
    CHECK_FALSE(c.contains("192.168.2.0"));
    CHECK_FALSE(c.contains("not an ip"));
    CHECK_FALSE(c.contains(""));

    auto odd = *parse_cidr("10.0.0.128/25");
    CHECK(odd.contains("10.0.0.200"));
    CHECK_FALSE(odd.contains("10.0.0.127"));

    auto v6 = *parse_cidr("2001:db8::/32");
    CHECK(v6.contains("2001:db8:1234::5"));
    CHECK(v6.contains("2001:DB8::"));
    CHECK_FALSE(v6.contains("2001:db9::1"));
    CHECK_FALSE(v6.contains("32.1.13.184"));   // same leading bytes, other family
}

TEST_CASE("Cidr::contains: IPv4-mapped IPv6 clients match IPv4 rules") {
    auto c = *parse_cidr("1.2.3.0/24");
    CHECK(c.contains("::ffff:1.2.3.4"));
    CHECK(c.contains("::FFFF:1.2.3.250"));
    CHECK(c.contains("::ffff:102:304"));   // the same address in hex
    CHECK_FALSE(c.contains("::ffff:1.2.4.4"));
    CHECK_FALSE(c.contains("::1.2.3.4"));  // IPv4-compatible (deprecated) is not mapped

    // An IPv4 rule never matches a native IPv6 address.
    auto all4 = *parse_cidr("0.0.0.0/0");
    CHECK(all4.contains("8.8.8.8"));
    CHECK(all4.contains("::ffff:8.8.8.8"));
    CHECK_FALSE(all4.contains("::1"));
    CHECK_FALSE(all4.contains("2001:db8::1"));

    // And ::/0 matches everything, IPv4 included (they are all in the 16-byte space).
    auto all = *parse_cidr("::/0");
    CHECK(all.contains("::1"));
    CHECK(all.contains("127.0.0.1"));

    auto loop = *parse_cidr("::1/128");
    CHECK(loop.contains("::1"));
    CHECK_FALSE(loop.contains("127.0.0.1"));
}

TEST_CASE("Cidr: an IPv6-written mapped prefix covers the IPv4 range") {
    auto c = *parse_cidr("::ffff:10.0.0.0/104");
    CHECK(c.contains("10.20.30.40"));
    CHECK_FALSE(c.contains("11.0.0.1"));
    CHECK(c.to_string() == "10.0.0.0/8");
}

TEST_CASE("CidrList: any match, bad entries reported") {
    std::vector<std::string> bad;
    auto list = CidrList::parse({"127.0.0.0/8", "::1", "bogus", "10.0.0.0/33", "192.0.2.1"}, &bad);
    CHECK(list.size() == 3);
    REQUIRE(bad.size() == 2);
    CHECK(bad[0] == "bogus");
    CHECK(bad[1] == "10.0.0.0/33");

    CHECK(list.matches("127.5.5.5"));
    CHECK(list.matches("::ffff:127.0.0.1"));
    CHECK(list.matches("::1"));
    CHECK(list.matches("192.0.2.1"));
    CHECK_FALSE(list.matches("192.0.2.2"));
    CHECK_FALSE(list.matches("::2"));
    CHECK_FALSE(list.matches(""));

    CidrList empty;
    CHECK(empty.empty());
    CHECK_FALSE(empty.matches("127.0.0.1"));
}

}  // namespace ASMTPD_TEST_UNIT
