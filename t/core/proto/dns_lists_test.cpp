// dns_lists_test.cpp - tests core/proto/dns_lists.cpp: zone lines, query names, answers, RBLSMTPD.
#include <doctest/doctest.h>

#include "core/proto/dns_lists.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd::proto;

TEST_CASE("dnsbl_zones: zone, zone:message, malformed lines") {
    auto z = parse_dnsbl_zone("zen.spamhaus.org");
    REQUIRE(z);
    CHECK(z->zone == "zen.spamhaus.org");
    CHECK_FALSE(z->message);

    z = parse_dnsbl_zone("Bl.Example.:Listed, see http://bl.example/q?ip=%IP%");
    REQUIRE(z);
    CHECK(z->zone == "bl.example");
    CHECK(*z->message == "Listed, see http://bl.example/q?ip=%IP%");   // ':' after the first stays

    z = parse_dnsbl_zone("bl.example:");
    REQUIRE(z);
    CHECK_FALSE(z->message);

    for (const char* bad : {"", ":msg", "bl..example", "bl.example..", "bl example", "-bad label-.x/y", ".bl.example"}) {
        CAPTURE(bad);
        CHECK_FALSE(parse_dnsbl_zone(bad));
    }
    std::vector<std::string> rejected;
    auto all = parse_dnsbl_zones({"a.example", "b example", "c.example:msg"}, &rejected);
    REQUIRE(all.size() == 2);
    CHECK(all[1].zone == "c.example");
    CHECK(rejected == std::vector<std::string>{"b example"});
}

TEST_CASE("rhsbl_zones: zone and message split at white space") {
    auto z = parse_rhsbl_zone("dbl.example  is listed in dbl.example");
    REQUIRE(z);
    CHECK(z->zone == "dbl.example");
    CHECK(*z->message == "is listed in dbl.example");
    CHECK_FALSE(parse_rhsbl_zone("dbl.example")->message);
    CHECK_FALSE(parse_rhsbl_zone("a:b.example"));
}

TEST_CASE("is_dns_list_name: label and total limits") {
    CHECK(is_dns_list_name("a.b"));
    CHECK(is_dns_list_name("a.b."));
    CHECK(is_dns_list_name("_spf.example"));
    CHECK_FALSE(is_dns_list_name(std::string(64, 'a') + ".example"));
    CHECK(is_dns_list_name(std::string(63, 'a') + ".example"));
    std::string long_name;
    for (int i = 0; i < 64; ++i) long_name += "abc.";
    long_name += "x";   // 257 octets
    CHECK_FALSE(is_dns_list_name(long_name));
    CHECK_FALSE(is_dns_list_name("."));
    CHECK_FALSE(is_dns_list_name("a..b"));
    CHECK_FALSE(is_dns_list_name("a\\.b"));
}

TEST_CASE("dnsbl_query_name: IPv4, mapped IPv4, IPv6 nibbles") {
    CHECK(dnsbl_query_name("192.0.2.7", "bl.example") == "7.2.0.192.bl.example");
    CHECK(dnsbl_query_name("::ffff:192.0.2.7", "bl.example") == "7.2.0.192.bl.example");
    CHECK(dnsbl_query_name("2001:db8::1", "bl.example") ==
          "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.bl.example");
    CHECK_FALSE(dnsbl_query_name("not-an-ip", "bl.example"));
    CHECK_FALSE(dnsbl_query_name("192.0.2.7", std::string(250, 'a')));
}

TEST_CASE("rhsbl_query_name") {
    CHECK(rhsbl_query_name("Spammer.Example.", "dbl.example") == "spammer.example.dbl.example");
    CHECK_FALSE(rhsbl_query_name("[192.0.2.1]", "dbl.example"));
    CHECK_FALSE(rhsbl_query_name("", "dbl.example"));
}

TEST_CASE("classify_dns_list_answer: 127/8 lists, 127.255.255/24 refuses, others are ignored") {
    CHECK(classify_dns_list_answer("127.0.0.2") == DnsListAnswer::listed);
    CHECK(classify_dns_list_answer("127.0.1.4") == DnsListAnswer::listed);
    CHECK(classify_dns_list_answer("127.255.254.1") == DnsListAnswer::listed);
    CHECK(classify_dns_list_answer("127.255.255.254") == DnsListAnswer::refused);
    CHECK(classify_dns_list_answer("127.255.255.0") == DnsListAnswer::refused);
    CHECK(classify_dns_list_answer("192.0.2.1") == DnsListAnswer::ignored);
    CHECK(classify_dns_list_answer("128.0.0.2") == DnsListAnswer::ignored);
    CHECK(classify_dns_list_answer("::ffff:127.0.0.2") == DnsListAnswer::ignored);
    CHECK(classify_dns_list_answer("::1") == DnsListAnswer::ignored);
    CHECK(classify_dns_list_answer("") == DnsListAnswer::ignored);
}

TEST_CASE("expand_ip replaces every %IP%") {
    CHECK(expand_ip("see %IP% and %IP%", "192.0.2.7") == "see 192.0.2.7 and 192.0.2.7");
    CHECK(expand_ip("no mark", "1.2.3.4") == "no mark");
    CHECK(expand_ip("%IP", "1.2.3.4") == "%IP");
}

TEST_CASE("rblsmtpd_setting follows rblsmtpd(1)") {
    using K = RblsmtpdSetting::Kind;
    CHECK(rblsmtpd_setting({}).kind == K::check);
    CHECK(rblsmtpd_setting({{"RBLSMTPD", ""}}).kind == K::skip);
    auto perm = rblsmtpd_setting({{"RBLSMTPD", "-go away"}});
    CHECK(perm.kind == K::reject_perm);
    CHECK(perm.text == "go away");
    auto temp = rblsmtpd_setting({{"RBLSMTPD", "try later"}});
    CHECK(temp.kind == K::reject_temp);
    CHECK(temp.text == "try later");
}

}  // namespace ASMTPD_TEST_UNIT
