// settings_dns_test.cpp - asmtpd.yaml's dns section (the resolver's fixed contract keys).
#include <doctest/doctest.h>

#include <string>

#include "core/smtp/settings.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd::smtp;

namespace {
std::vector<std::string> errors_of(const std::string& yaml) { return parse_settings(yaml, "conf/asmtpd.yaml").errors; }
}  // namespace

TEST_CASE("settings dns: defaults") {
    auto r = parse_settings("", "conf/asmtpd.yaml");
    CHECK(r.errors.empty());
    CHECK(r.settings.dns.servers.empty());   // /etc/resolv.conf
    CHECK(r.settings.dns.timeout == 5);
    CHECK(r.settings.dns.attempts == 2);
    CHECK(r.settings.dns.cache_entries == 10000);
    CHECK(r.settings.dns.max_in_flight == 1000);
}

TEST_CASE("settings dns: every key is read") {
    auto r = parse_settings("dns:\n  servers: [\"127.0.0.1:5353\", \"::1\", \"[::1]:53\", 192.0.2.53]\n"
                            "  timeout: 2\n  attempts: 3\n  cache_entries: 0\n  max_in_flight: 7\n",
                            "conf/asmtpd.yaml");
    REQUIRE(r.errors.empty());
    CHECK(r.settings.dns.servers == std::vector<std::string>{"127.0.0.1:5353", "::1", "[::1]:53", "192.0.2.53"});
    CHECK(r.settings.dns.timeout == 2);
    CHECK(r.settings.dns.attempts == 3);
    CHECK(r.settings.dns.cache_entries == 0);
    CHECK(r.settings.dns.max_in_flight == 7);
}

TEST_CASE("settings dns: bad values name the key and line") {
    auto e = errors_of("dns:\n  servers:\n    - 127.0.0.1:5353\n    - dns.example.test\n");
    REQUIRE(e.size() == 1);
    CHECK(e[0].rfind("conf/asmtpd.yaml:4: dns.servers[1]", 0) == 0);
    e = errors_of("dns:\n  timeout: 0\n");
    REQUIRE(e.size() == 1);
    CHECK(e[0].rfind("conf/asmtpd.yaml:2: dns.timeout", 0) == 0);
    e = errors_of("dns:\n  resolver: 1.2.3.4\n");
    REQUIRE(e.size() == 1);
    CHECK(e[0].find("dns.resolver: unknown key") != std::string::npos);
    CHECK(errors_of("dns:\n  servers: [\"127.0.0.1:99999\"]\n").size() == 1);
}

}  // namespace ASMTPD_TEST_UNIT
