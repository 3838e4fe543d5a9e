// dns_message_test.cpp - the DNS answer parser and the answer interpretation (RFC 1035, 2308).
#include "core/proto/dns_message.hpp"

#include <doctest/doctest.h>

#include <string>

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd::proto;
using namespace std::string_literals;

namespace {

// A minimal answer builder: header, one question, then RRs given as already-encoded bytes.
std::string u16(unsigned v) { return {static_cast<char>(v >> 8 & 0xff), static_cast<char>(v & 0xff)}; }
std::string u32(unsigned v) { return u16(v >> 16) + u16(v & 0xffff); }

std::string wire_name(const std::string& dotted) {
    std::string out;
    std::size_t start = 0;
    while (start < dotted.size()) {
        std::size_t dot = dotted.find('.', start);
        if (dot == std::string::npos) dot = dotted.size();
        out += static_cast<char>(dot - start);
        out += dotted.substr(start, dot - start);
        start = dot + 1;
    }
    return out + '\0';
}

std::string rr(const std::string& owner, DnsType type, unsigned ttl, const std::string& rdata) {
    return owner + u16(static_cast<unsigned>(type)) + u16(1) + u32(ttl) + u16(static_cast<unsigned>(rdata.size())) + rdata;
}

std::string message(unsigned rcode, const std::string& qname, DnsType qtype, const std::string& answers, unsigned an,
                    const std::string& authority = "", unsigned ns = 0) {
    return u16(0x1234) + u16(0x8180 | rcode) + u16(1) + u16(an) + u16(ns) + u16(0) + wire_name(qname) +
           u16(static_cast<unsigned>(qtype)) + u16(1) + answers + authority;
}

const std::string kQname = "\xc0\x0c";   // pointer to the question's name at offset 12

std::string soa(unsigned ttl, unsigned minimum) {
    return rr("\xc0\x0c", DnsType::soa, ttl,
              wire_name("ns.example.test") + wire_name("hostmaster.example.test") + u32(1) + u32(3600) + u32(600) +
                  u32(86400) + u32(minimum));
}

}  // namespace

TEST_CASE("dns_message: A answer with address text and TTL") {
    auto wire = message(0, "example.test", DnsType::a, rr(kQname, DnsType::a, 300, "\xc0\x00\x02\x01"s) +
                                                           rr(kQname, DnsType::a, 60, "\xc0\x00\x02\x02"s), 2);
    auto m = parse_dns_message(wire);
    REQUIRE(m);
    CHECK(m->id == 0x1234);
    CHECK(m->response);
    CHECK(m->qname == "example.test");
    CHECK(m->qtype == 1);
    auto r = dns_result(*m, "EXAMPLE.test.", DnsType::a);
    CHECK(r.status == DnsStatus::answer);
    REQUIRE(r.records.size() == 2);
    CHECK(r.records[0].value == "192.0.2.1");
    CHECK(r.records[0].ttl == 300);
    CHECK(r.records[1].value == "192.0.2.2");
    CHECK(r.ttl == 60);
}

TEST_CASE("dns_message: AAAA, MX, TXT, PTR rdata") {
    std::string v6(16, '\0');
    v6[0] = '\x20', v6[1] = '\x01', v6[2] = '\x0d', v6[3] = '\xb8', v6[15] = '\x01';
    auto m = parse_dns_message(message(0, "x.test", DnsType::aaaa, rr(kQname, DnsType::aaaa, 5, v6), 1));
    REQUIRE(m);
    CHECK(dns_result(*m, "x.test", DnsType::aaaa).records.at(0).value == "2001:db8::1");

    m = parse_dns_message(message(0, "x.test", DnsType::mx,
                                  rr(kQname, DnsType::mx, 5, u16(10) + wire_name("mx1.x.test")) +
                                      rr(kQname, DnsType::mx, 5, u16(0) + "\x01." + "\xc0\x0c"), 2));
    REQUIRE(m);
    auto r = dns_result(*m, "x.test", DnsType::mx);
    REQUIRE(r.records.size() == 2);
    CHECK(r.records[0].preference == 10);
    CHECK(r.records[0].value == "mx1.x.test");
    CHECK(r.records[1].preference == 0);
    CHECK(r.records[1].value == "\\046.x.test");   // a '.' inside a label stays one label

    m = parse_dns_message(message(0, "x.test", DnsType::txt, rr(kQname, DnsType::txt, 5, "\x07v=spf1 \x04-all"), 1));
    REQUIRE(m);
    CHECK(dns_result(*m, "x.test", DnsType::txt).records.at(0).value == "v=spf1 -all");

    m = parse_dns_message(message(0, "1.2.0.192.in-addr.arpa", DnsType::ptr,
                                  rr(kQname, DnsType::ptr, 5, wire_name("host.x.test")), 1));
    REQUIRE(m);
    CHECK(dns_result(*m, "1.2.0.192.in-addr.arpa", DnsType::ptr).records.at(0).value == "host.x.test");
}

TEST_CASE("dns_message: CNAME chains are followed and the smallest TTL wins") {
    auto answers = rr(kQname, DnsType::cname, 100, wire_name("b.test")) +
                   rr(wire_name("b.test"), DnsType::cname, 50, wire_name("c.test")) +
                   rr(wire_name("c.test"), DnsType::a, 200, "\x7f\x00\x00\x02"s);
    auto m = parse_dns_message(message(0, "a.test", DnsType::a, answers, 3));
    REQUIRE(m);
    auto r = dns_result(*m, "a.test", DnsType::a);
    CHECK(r.status == DnsStatus::answer);
    REQUIRE(r.records.size() == 1);
    CHECK(r.records[0].value == "127.0.0.2");
    CHECK(r.ttl == 50);
    // Asking for the CNAME itself gives the CNAME.
    CHECK(dns_result(*m, "a.test", DnsType::cname).records.at(0).value == "b.test");
    // A chain that ends without the type is no data.
    auto only_cname = parse_dns_message(message(0, "a.test", DnsType::a, rr(kQname, DnsType::cname, 100, wire_name("b.test")), 1));
    REQUIRE(only_cname);
    CHECK(dns_result(*only_cname, "a.test", DnsType::a).status == DnsStatus::nodata);
}

TEST_CASE("dns_message: negative answers cache for min(SOA TTL, SOA minimum) (RFC 2308)") {
    auto nx = parse_dns_message(message(3, "nope.test", DnsType::a, "", 0, soa(3600, 60), 1));
    REQUIRE(nx);
    auto r = dns_result(*nx, "nope.test", DnsType::a);
    CHECK(r.status == DnsStatus::nxdomain);
    CHECK(r.ttl == 60);
    CHECK(r.records.empty());

    auto nodata = parse_dns_message(message(0, "x.test", DnsType::aaaa, "", 0, soa(30, 600), 1));
    REQUIRE(nodata);
    r = dns_result(*nodata, "x.test", DnsType::aaaa);
    CHECK(r.status == DnsStatus::nodata);
    CHECK(r.ttl == 30);

    auto no_soa = parse_dns_message(message(3, "nope.test", DnsType::a, "", 0));
    REQUIRE(no_soa);
    CHECK(dns_result(*no_soa, "nope.test", DnsType::a).ttl == 0);   // no SOA: not cached
}

TEST_CASE("dns_message: SERVFAIL, REFUSED and other rcodes are servfail") {
    for (unsigned rcode : {2u, 4u, 5u}) {
        auto m = parse_dns_message(message(rcode, "x.test", DnsType::a, "", 0));
        REQUIRE(m);
        auto r = dns_result(*m, "x.test", DnsType::a);
        CHECK(r.status == DnsStatus::servfail);
        CHECK(!r.error.empty());
        CHECK(r.ttl == 0);
    }
}

TEST_CASE("dns_message: malformed input is refused, never read past") {
    const auto good = message(0, "example.test", DnsType::a, rr(kQname, DnsType::a, 300, "\xc0\x00\x02\x01"s), 1);
    REQUIRE(parse_dns_message(good));
    for (std::size_t n = 0; n < good.size(); ++n) CHECK_FALSE(parse_dns_message(good.substr(0, n)));
    // A wrong rdlength for A.
    CHECK_FALSE(parse_dns_message(message(0, "x.test", DnsType::a, rr(kQname, DnsType::a, 1, "\x01\x02\x03"), 1)));
    // A pointer to itself (a loop) and a forward pointer.
    std::string loop = u16(1) + u16(0x8180) + u16(1) + u16(0) + u16(0) + u16(0) + "\xc0\x0c" + u16(1) + u16(1);
    CHECK_FALSE(parse_dns_message(loop));
    std::string fwd = u16(1) + u16(0x8180) + u16(1) + u16(0) + u16(0) + u16(0) + "\xc0\x20" + u16(1) + u16(1);
    CHECK_FALSE(parse_dns_message(fwd));
    // A name over 255 octets.
    std::string label = "\x3f" + std::string(63, 'a');
    std::string long_name = label + label + label + label + '\0';
    CHECK_FALSE(parse_dns_message(u16(1) + u16(0x8180) + u16(1) + u16(0) + u16(0) + u16(0) + long_name + u16(1) + u16(1)));
    // TXT character-string longer than the rdata.
    CHECK_FALSE(parse_dns_message(message(0, "x.test", DnsType::txt, rr(kQname, DnsType::txt, 5, "\x09short"), 1)));
    // The top bit of a TTL means 0 (RFC 2181 §8).
    auto m = parse_dns_message(message(0, "x.test", DnsType::a, rr(kQname, DnsType::a, 0x80000001u, "\x01\x02\x03\x04"), 1));
    REQUIRE(m);
    CHECK(m->answers.at(0).ttl == 0);
}

TEST_CASE("dns_message: names and types") {
    CHECK(dns_name_equal("Example.TEST.", "example.test"));
    CHECK_FALSE(dns_name_equal("example.test", "example.tes"));
    CHECK(dns_type_name(15) == "MX");
    CHECK(dns_type_name(99) == "TYPE99");
    CHECK(dns_status_name(DnsStatus::nxdomain) == "NXDOMAIN");
}

TEST_CASE("dns_message: reverse names") {
    CHECK(dns_reverse_name("192.0.2.1") == "1.2.0.192.in-addr.arpa");
    CHECK(dns_reverse_name("::ffff:192.0.2.1") == "1.2.0.192.in-addr.arpa");
    CHECK(dns_reverse_name("2001:db8::1") ==
          "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa");
    CHECK_FALSE(dns_reverse_name("host.example"));
}

}  // namespace ASMTPD_TEST_UNIT
