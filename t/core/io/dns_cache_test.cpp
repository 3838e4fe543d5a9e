// dns_cache_test.cpp - the per-loop DNS cache: TTLs, negative entries, caps, LRU eviction.
#include "core/io/dns_cache.hpp"

#include <doctest/doctest.h>

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd;
using proto::DnsResult;
using proto::DnsStatus;
using proto::DnsType;

namespace {
DnsResult result(DnsStatus s, std::uint32_t ttl, std::string value = "192.0.2.1") {
    DnsResult r;
    r.status = s;
    r.ttl = ttl;
    if (s == DnsStatus::answer) r.records.push_back({value, 0, ttl});
    return r;
}
}  // namespace

TEST_CASE("dns_cache: keys ignore case and the final dot, and include the type") {
    CHECK(io::DnsCache::key("Example.TEST.", DnsType::mx) == "example.test/15");
    CHECK(io::DnsCache::key("example.test", DnsType::a) != io::DnsCache::key("example.test", DnsType::aaaa));
}

TEST_CASE("dns_cache: an answer lives for its TTL and reports the time left") {
    io::DnsCache c(10);
    c.store("a/1", result(DnsStatus::answer, 60), 1000);
    auto hit = c.find("a/1", 31000);
    REQUIRE(hit);
    CHECK(hit->status == DnsStatus::answer);
    CHECK(hit->records.at(0).value == "192.0.2.1");
    CHECK(hit->ttl == 30);
    CHECK(c.find("a/1", 60999));
    CHECK_FALSE(c.find("a/1", 61000));   // expired at exactly 60 s
    CHECK(c.size() == 0);                // and dropped
}

TEST_CASE("dns_cache: negative answers are kept, failures and TTL 0 are not") {
    io::DnsCache c(10);
    c.store("nx/1", result(DnsStatus::nxdomain, 30), 0);
    c.store("nd/1", result(DnsStatus::nodata, 30), 0);
    c.store("sf/1", result(DnsStatus::servfail, 30), 0);
    c.store("to/1", result(DnsStatus::timeout, 30), 0);
    c.store("zero/1", result(DnsStatus::answer, 0), 0);
    CHECK(c.find("nx/1", 1000)->status == DnsStatus::nxdomain);
    CHECK(c.find("nd/1", 1000)->status == DnsStatus::nodata);
    CHECK_FALSE(c.find("sf/1", 1000));
    CHECK_FALSE(c.find("to/1", 1000));
    CHECK_FALSE(c.find("zero/1", 0));
}

TEST_CASE("dns_cache: TTLs are capped (a day for answers, three hours for negative ones)") {
    io::DnsCache c(10);
    c.store("a/1", result(DnsStatus::answer, 0x7fffffff), 0);
    c.store("nx/1", result(DnsStatus::nxdomain, 86400), 0);
    CHECK(c.find("a/1", 86399000));
    CHECK_FALSE(c.find("a/1", 86400000));
    CHECK(c.find("nx/1", 10799000));
    CHECK_FALSE(c.find("nx/1", 10800000));
}

TEST_CASE("dns_cache: the least recently used entry goes when full; capacity 0 keeps nothing") {
    io::DnsCache c(2);
    c.store("a/1", result(DnsStatus::answer, 60, "192.0.2.1"), 0);
    c.store("b/1", result(DnsStatus::answer, 60, "192.0.2.2"), 0);
    CHECK(c.find("a/1", 1));   // a is now the most recent
    c.store("c/1", result(DnsStatus::answer, 60, "192.0.2.3"), 2);
    CHECK(c.size() == 2);
    CHECK(c.find("a/1", 3));
    CHECK_FALSE(c.find("b/1", 3));
    CHECK(c.find("c/1", 3));
    // Storing an existing key replaces it in place.
    c.store("a/1", result(DnsStatus::answer, 60, "192.0.2.9"), 4);
    CHECK(c.size() == 2);
    CHECK(c.find("a/1", 5)->records.at(0).value == "192.0.2.9");

    io::DnsCache off(0);
    off.store("a/1", result(DnsStatus::answer, 60), 0);
    CHECK(off.size() == 0);
}

}  // namespace ASMTPD_TEST_UNIT
