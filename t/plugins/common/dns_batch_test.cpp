// dns_batch_test.cpp - tests plugins/common/dns_batch.cpp: the DNS budget, loopback clients,
// outcome classes, and the no-question batch.
#include <doctest/doctest.h>

#include "plugins/common/dns_batch.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd;
using namespace std::chrono_literals;

TEST_CASE("dns_deadline_ms: the configured timeout, always below the plugin timeout") {
    CHECK(plugins::dns_deadline_ms(30000ms, std::nullopt) == 5000);
    CHECK(plugins::dns_deadline_ms(30000ms, 1000) == 1000);
    CHECK(plugins::dns_deadline_ms(3000ms, std::nullopt) == 2750);
    CHECK(plugins::dns_deadline_ms(3000ms, 10000) == 2750);
    CHECK(plugins::dns_deadline_ms(100ms, std::nullopt) == 50);
}

TEST_CASE("is_loopback_client") {
    CHECK(plugins::is_loopback_client("127.0.0.1"));
    CHECK(plugins::is_loopback_client("127.9.8.7"));
    CHECK(plugins::is_loopback_client("::1"));
    CHECK(plugins::is_loopback_client("::ffff:127.0.0.1"));
    CHECK_FALSE(plugins::is_loopback_client("192.0.2.7"));
    CHECK_FALSE(plugins::is_loopback_client("::2"));
    CHECK_FALSE(plugins::is_loopback_client("junk"));
}

TEST_CASE("outcome classes") {
    proto::DnsResult r;
    r.status = proto::DnsStatus::answer;
    CHECK(plugins::dns_found(r));
    r.status = proto::DnsStatus::nodata;
    CHECK(plugins::dns_none(r));
    r.status = proto::DnsStatus::nxdomain;
    CHECK(plugins::dns_none(r));
    CHECK(plugins::dns_outcome(r) == "NXDOMAIN");
    r.status = proto::DnsStatus::timeout;
    CHECK(plugins::dns_failed(r));
    r.status = proto::DnsStatus::servfail;
    r.error = "server refused";
    CHECK(plugins::dns_failed(r));
    CHECK(plugins::dns_outcome(r) == "SERVFAIL (server refused)");
}

}  // namespace ASMTPD_TEST_UNIT
